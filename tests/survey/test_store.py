"""Tests for survey/store.py and the in-process survey loop: Parquet evaluations, exact resume, lock, design."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.dataset as ds
import pytest

import survey
from survey.store import LockError, RunLock, records_to_table, write_parquet_atomic

TOY = {"survey": {"name": "toy", "preset": "empirical", "model": "toymodels:gaussian"},
       "sampler": {"nwalkers": 8, "nsteps": 20, "ensembles": 2, "seed": 11},
       "resources": {"n_agents": 0}}


def _cfg(**sampler):
    d = json.loads(json.dumps(TOY))
    d["sampler"].update(sampler)
    return d


def _keys(t):
    return list(zip(t["ensemble"].to_pylist(), t["step"].to_pylist(), t["walker"].to_pylist()))


def test_evaluations_are_parquet_with_one_row_per_evaluation(tmp_path):
    run = survey.run_survey(_cfg(), tmp_path / "r", progress=False)
    t = run.evaluations()
    assert t.num_rows == 2 * 8 * (1 + 20)  # initial ensemble + one proposal per walker and step
    assert len(set(_keys(t))) == t.num_rows
    for col in ("theta", "p.nu0", "p.delta", "p.phi_AMS02", "log_like", "log_prior", "log_prob", "status",
                "step", "walker", "ensemble", "run", "session", "t_start", "t_end", "obs.B/C.y"):
        assert col in t.column_names
    # pyarrow.dataset and pandas read the parts directly
    d = ds.dataset(str(tmp_path / "r" / "evals"), format="parquet")
    assert d.count_rows() == t.num_rows
    assert len(run.dataset().to_table().to_pandas()) == t.num_rows
    ch = run.chains()
    assert set(ch) == {0, 1} and ch[0].shape == (20, 8, 3)
    # accepted chain positions are evaluated points (every stored state came through the store)
    lp = run.log_prob()[0][-1]
    assert np.all(np.isin(np.round(lp, 12), np.round(t["log_prob"].to_numpy(), 12)))


def test_resume_matches_uninterrupted_run_bit_for_bit(tmp_path):
    full = survey.run_survey(_cfg(), tmp_path / "full", progress=False)
    part = survey.run_survey(_cfg(nsteps=9), tmp_path / "part", progress=False)
    # simulate a crash after the evaluations of step 9 were published but before the chain step was
    orphan = tmp_path / "part" / "evals" / "e0-s00000009.parquet"
    write_parquet_atomic(records_to_table([{"ensemble": 0, "step": 9, "walker": 0, "log_prob": 1.0}]), orphan)
    (tmp_path / "part" / "evals" / ".e1-s00000009.parquet.123.tmp").write_bytes(b"torn")
    resumed = survey.resume_survey(tmp_path / "part", steps=20, progress=False)
    for k in (0, 1):
        np.testing.assert_array_equal(resumed.chains()[k], full.chains()[k])
        np.testing.assert_array_equal(resumed.log_prob()[k], full.log_prob()[k])
    a, b = full.evaluations(), resumed.evaluations()
    assert sorted(_keys(a)) == sorted(_keys(b)) and len(set(_keys(b))) == b.num_rows
    key_lp = lambda t: dict(zip(_keys(t), t["log_prob"].to_pylist()))  # noqa: E731
    assert key_lp(a) == key_lp(b)
    assert len(set(b["session"].to_pylist())) == 2


def test_resume_refuses_changed_config_unless_allowed(tmp_path):
    survey.run_survey(_cfg(nsteps=3), tmp_path / "r", progress=False)
    with pytest.raises(survey.SurveyError) as e:
        survey.resume_survey(tmp_path / "r", config=_cfg(nsteps=3, seed=12), progress=False)
    assert "sampler.seed" in str(e.value) and "--allow-changes" in str(e.value)
    run = survey.resume_survey(tmp_path / "r", config=_cfg(nsteps=3, seed=12), allow_changes=True, steps=5,
                               progress=False)
    assert run.chains()[0].shape[0] == 5  # --steps is the total


def test_resume_of_a_run_written_before_a_config_field_existed(tmp_path):
    """A field added to the config since a run was written (here engine.max_steps, at its default) is not a
    change; a real change still is."""
    survey.run_survey(_cfg(nsteps=3), tmp_path / "r", progress=False)
    path = tmp_path / "r" / "config.resolved.json"
    d = json.loads(path.read_text())
    del d["engine"]["max_steps"]
    path.write_text(json.dumps(d))
    run = survey.resume_survey(tmp_path / "r", config=_cfg(nsteps=3), steps=4, progress=False)
    assert run.chains()[0].shape[0] == 4
    changed = json.loads(json.dumps(_cfg(nsteps=3)))
    changed.setdefault("engine", {})["max_steps"] = 50
    with pytest.raises(survey.SurveyError, match="engine.max_steps"):
        survey.resume_survey(tmp_path / "r", config=changed, progress=False)


def test_new_run_refuses_existing_directory(tmp_path):
    survey.run_survey(_cfg(nsteps=2), tmp_path / "r", progress=False)
    with pytest.raises(survey.SurveyError, match="--overwrite"):
        survey.run_survey(_cfg(nsteps=2), tmp_path / "r", progress=False)
    survey.run_survey(_cfg(nsteps=3), tmp_path / "r", overwrite=True, progress=False)
    assert survey.open_run(tmp_path / "r").chains()[0].shape[0] == 3


def test_lock_blocks_a_second_writer_and_stale_lock_is_taken_over(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(LockError, match="locked by pid"):
            RunLock(tmp_path).acquire()
    # a lock left by a dead process (a child that exited) is stale
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".lock").write_text(json.dumps({"pid": int(p.stdout), "host": os.uname().nodename, "started": 0}))
    with RunLock(tmp_path) as lock:
        assert lock.held


def test_crashing_evaluation_is_flagged_and_survey_goes_on(tmp_path):
    d = _cfg(nsteps=10)
    d["model_options"] = {"fail_if_delta_above": 0.8}
    run = survey.run_survey(d, tmp_path / "r", progress=False)
    t = run.evaluations()
    bad = [r for r, s in zip(t["reason"].to_pylist(), t["status"].to_pylist()) if s == "error"]
    assert bad and all("FloatingPointError: toy model blew up" in r for r in bad)
    assert all(lp == -np.inf for lp, s in zip(t["log_prob"].to_pylist(), t["status"].to_pylist()) if s == "error")
    assert run.chains()[0].shape[0] == 10
    assert survey.survey_status(tmp_path / "r")["failures"] == len(bad)


def test_design_mode_lhs_records_viability_and_resumes(tmp_path):
    d = {"survey": {"name": "des", "preset": "generic", "mode": "design", "model": "toymodels:gaussian"},
         "design": {"method": "lhs", "n": 20, "batch": 8, "seed": 1}, "resources": {"n_agents": 0}}
    run = survey.run_survey(d, tmp_path / "r", progress=False)
    t = run.evaluations()
    assert t.num_rows == 20 and sorted(t["walker"].to_pylist()) == list(range(20))
    assert "chi2_dof" in t.column_names and "outcome" in t.column_names
    X = survey.design_points(run.config)
    np.testing.assert_allclose(np.array(t.sort_by("walker")["theta"].to_pylist()), X)
    # the 8-D LHS: every parameter stratified (one point per 1/n bin)
    q = (X - run.config.space.bounds[:, 0]) / np.ptp(run.config.space.bounds, axis=1)
    for j in range(X.shape[1]):
        assert sorted(np.floor(q[:, j] * 20).astype(int)) == list(range(20))
    (tmp_path / "r" / "evals" / "d-b000001.parquet").unlink()
    run = survey.resume_survey(tmp_path / "r", progress=False)
    assert run.evaluations().num_rows == 20


def test_posterior_datatree_in_chain_draw_order(tmp_path):
    run = survey.run_survey(_cfg(nsteps=30), tmp_path / "r", progress=False)
    dt = run.posterior(burn=10)
    assert dict(dt.posterior.sizes) == {"chain": 16, "draw": 20}
    assert list(dt.posterior.data_vars) == ["log10_nu0", "delta", "phi_AMS02"]
    np.testing.assert_array_equal(dt.posterior["delta"].values[8:], run.chains()[1][10:, :, 1].T)


def test_stops_early_on_convergence_but_not_before(tmp_path):
    """With sampler.convergence on, a run stops once N > tau_factor * tau and split R-hat < rhat_max, before
    the step budget; with an unreachable tau_factor it runs the whole budget (toy Gaussian posterior)."""
    loose = survey.run_survey(_cfg(nsteps=400, nwalkers=16, convergence=True, tau_factor=5.0, rhat_max=1.2,
                                   check_every=10), tmp_path / "loose", progress=False)
    n_loose = loose.chains()[0].shape[0]
    assert n_loose < 400 and n_loose % 10 == 0
    strict = survey.run_survey(_cfg(nsteps=60, nwalkers=16, convergence=True, tau_factor=1e6, check_every=10),
                               tmp_path / "strict", progress=False)
    assert strict.chains()[0].shape[0] == 60
