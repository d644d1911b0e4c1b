"""Survey on a local Ray (2 workers): end to end, actor replacement, SIGKILL of the survey + exact resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import survey
from survey.agents import AgentPool

ROOT = Path(__file__).resolve().parents[2]
TOY = {"survey": {"name": "toyray", "preset": "empirical", "model": "toymodels:gaussian"},
       "sampler": {"nwalkers": 8, "nsteps": 12, "ensembles": 2, "seed": 5},
       "resources": {"n_agents": 2}}
POLL_S = 0.05  # polling interval while waiting for the child to reach mid-run (not a timing assertion)


def _cfg(**kw):
    d = json.loads(json.dumps(TOY))
    for sec, v in kw.items():
        d.setdefault(sec, {}).update(v)
    return d


def _keys(t):
    return list(zip(t["ensemble"].to_pylist(), t["step"].to_pylist(), t["walker"].to_pylist()))


def test_quick_survey_on_two_agents_writes_parquet(ray_local, tmp_path):
    run = survey.run_survey(_cfg(), tmp_path / "r", progress=False)
    t = run.evaluations()
    assert t.num_rows == 2 * 8 * 13 and len(set(_keys(t))) == t.num_rows
    assert len(set(t["worker"].to_pylist())) == 2  # both agents worked
    prog = run.progress()[-1]
    assert prog["agents"] == 2 and prog["final"]
    # agents and the serial in-process loop compute the same chain
    serial = survey.run_survey(_cfg(resources={"n_agents": 0}), tmp_path / "s", progress=False)
    np.testing.assert_array_equal(run.chains()[1], serial.chains()[1])


def test_dead_actor_is_replaced_and_its_point_rerun(ray_local):
    cfg = survey.SurveyConfig.from_dict(_cfg())
    got = []
    pool = AgentPool(cfg.to_dict(), 2, on_records=got.extend)
    try:
        pool.warmup()
        ray_local.kill(pool.actors[0], no_restart=True)  # dies for good: Ray will not restart it
        thetas = [[-9.0, 0.5, 0.6], [-8.7, 0.55, 0.65], [-9.2, 0.6, 0.7], [-8.9, 0.4, 0.5]]
        lps = pool.map(None, thetas)
        assert pool.n_replaced == 1 and len(pool.actors) == 2
        assert all(np.isfinite(lps)) and [r["walker"] for r in got] == [0, 1, 2, 3]
    finally:
        pool.close()


def test_worker_process_dying_mid_evaluation_is_restarted(ray_local, tmp_path):
    marker = tmp_path / "died"
    run = survey.run_survey(_cfg(model_options={"die_once_marker": str(marker)},
                                 parameters={"delta": {"lo": 0.5, "hi": 1.0}}),
                            tmp_path / "r", progress=False)
    assert marker.exists()  # one worker did os._exit mid-evaluation
    t = run.evaluations()
    assert t.num_rows == 2 * 8 * 13 and set(t["status"].to_pylist()) <= {"ok", "prior"}


def _kill_session(proc):
    """SIGKILL the survey process and everything it started (its own session) -- by pid."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getsid(int(d)) == proc.pid:
                    pids.append(int(d))
            except OSError:
                pass
    for pid in [proc.pid] + [p for p in pids if p != proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def test_sigkill_mid_run_then_resume_equals_uninterrupted(ray_local, tmp_path):
    cfg = _cfg(sampler={"nsteps": 30}, model_options={"sleep": 0.01}, resources={"num_cpus": 2})
    path = tmp_path / "cfg.json"
    toml = tmp_path / "cfg.toml"
    path.write_text(json.dumps(cfg))
    # a TOML copy for the CLI (json -> toml by hand: flat tables only)
    lines = []
    for sec, tab in cfg.items():
        lines.append(f"[{sec}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in tab.items()]
    toml.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen([sys.executable, "-m", "survey.cli", "run", str(toml), "--out", str(tmp_path / "killed"),
                             "--quiet"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    steps = tmp_path / "killed" / "chains" / "e1"
    try:
        while proc.poll() is None and len(list(steps.glob("step-*.parquet"))) < 8:
            time.sleep(POLL_S)
    finally:
        _kill_session(proc)
    n_done = len(list(steps.glob("step-*.parquet")))
    assert 8 <= n_done < 30, proc.stderr.read().decode()[-2000:]
    resumed = survey.resume_survey(tmp_path / "killed", progress=False)
    full = survey.run_survey(cfg, tmp_path / "full", progress=False)
    for k in (0, 1):
        np.testing.assert_array_equal(resumed.chains()[k], full.chains()[k])
    a, b = full.evaluations(), resumed.evaluations()
    assert len(set(_keys(b))) == b.num_rows == a.num_rows == 2 * 8 * 31
    assert dict(zip(_keys(a), a["log_prob"].to_pylist())) == dict(zip(_keys(b), b["log_prob"].to_pylist()))
