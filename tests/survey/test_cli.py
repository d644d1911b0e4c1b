"""Tests for survey/cli.py (typer app) and the cluster launcher configs."""

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from survey.cli import app, parse_sets, survey_status

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
TOML = """
[survey]
name = "clitoy"
preset = "empirical"
model = "toymodels:gaussian"
[sampler]
nwalkers = 8
nsteps = 12
ensembles = 2
[resources]
n_agents = 0
"""


def test_run_status_resume_plot(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(TOML)
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", str(cfg), "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["run", str(cfg), "--out", str(out), "--quiet"])
    assert r.exit_code == 2 and "--overwrite" in r.output
    r = runner.invoke(app, ["run", str(cfg), "--out", str(out), "--overwrite", "--quiet"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["resume", str(out), "--steps", "16", "--quiet"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["status", str(out)])
    assert r.exit_code == 0 and "16 / 16" in r.output and "split R-hat" in r.output
    s = survey_status(out)     # outcomes, proposals outside the prior and failures partition the evaluations
    assert None not in s["outcomes"]
    assert sum(s["outcomes"].values()) + s["outside_prior"] + s["failures"] == s["evaluations"]
    cfg.write_text(TOML.replace("nwalkers = 8", "nwalkers = 10"))
    r = runner.invoke(app, ["resume", str(out), "--config", str(cfg), "--quiet"])
    assert r.exit_code == 2 and "sampler.nwalkers" in r.output
    r = runner.invoke(app, ["plot", str(out)])
    assert r.exit_code == 0, r.output
    for f in ("trace.png", "corner.png", "summary.csv"):
        assert (out / "plots" / f).stat().st_size > 0
    assert "r_hat" in (out / "plots" / "summary.csv").read_text()


def test_bad_config_exits_with_message(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(TOML.replace("nwalkers", "nwalker"))
    r = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "sampler.nwalker" in r.output and "nwalkers" in r.output


def test_model_command_writes_parquet_and_png(tmp_path):
    pytest.importorskip("engine")
    r = runner.invoke(app, ["model", "--law", "empirical", "--set", "nu0=1e-9", "--set", "delta=0.6",
                            "--grid", "n_z=24", "--grid", "bins_per_decade=4", "--out", str(tmp_path), "--plot"])
    assert r.exit_code == 0, r.output
    assert "B/C" in r.output and "outcome bands" in r.output
    import pyarrow.parquet as pq

    t = pq.read_table(tmp_path / "result.parquet")
    assert t.num_rows == 1 and "obs.B/C.y" in t.column_names
    assert (tmp_path / "result.png").stat().st_size > 0
    r = runner.invoke(app, ["model", "--law", "empirical", "--set", "delat=0.6"])
    assert r.exit_code == 2 and "delat" in r.output


def test_model_command_says_why_a_stalled_run_is_not_scored(monkeypatch):
    engine = pytest.importorskip("engine")
    real = engine.solve

    def stalled(*a, **kw):     # a real Result, relabelled as a live run the engine stopped at 2 Myr
        res = real({}, law="empirical", grid={"n_z": 24, "bins_per_decade": 4})
        res.status, res.t_end_myr, res.t_max_myr = "not-converged", 2.0, 10000.0
        res.message = "stalled at t = 2 Myr: after 300 steps ..."
        return res
    monkeypatch.setattr(engine, "solve", stalled)
    r = runner.invoke(app, ["model", "--law", "new_damping"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "ln L (default datasets, phi=0.6 GV): -inf (result ended at t = 2 Myr" in out, out


def test_parse_sets():
    assert parse_sets(["a=1e-9", "b = 2", "c=x"]) == {"a": 1e-9, "b": 2, "c": "x"}
    assert isinstance(parse_sets(["n=24"])["n"], int)
    with pytest.raises(ValueError):
        parse_sets(["novalue"])


@pytest.mark.parametrize("path", ["cluster.yaml", "examples/cluster-local.yaml"])
def test_cluster_yaml_validates_against_ray_schema(path):
    pytest.importorskip("jsonschema")
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = yaml.safe_load((ROOT / path).read_text())
    cfg = prepare_config(copy.deepcopy(raw))
    validate_config(cfg)
    assert any("crsurvey" in c or "-e ~/crsurvey" in c for c in cfg["setup_commands"])
    assert any("warmup" in c for c in cfg["setup_commands"])
    bad = copy.deepcopy(raw)
    bad["bogus_field"] = 1
    with pytest.raises(Exception, match="bogus_field"):
        validate_config(prepare_config(bad))


def test_model_command_takes_a_step_budget():
    pytest.importorskip("engine")
    grid = ["--grid", "n_z=12", "--grid", "bins_per_decade=3"]
    r = runner.invoke(app, ["model", "--law", "empirical", *grid, "--max-steps", "10"])
    assert r.exit_code == 0, r.output
    assert "step budget (10) exhausted" in " ".join(r.output.split())
    r = runner.invoke(app, ["model", "--law", "empirical", *grid, "--max-steps", "3"])
    assert r.exit_code == 2 and "max_steps = 3 is out of range" in " ".join(r.output.split())


def test_survey_engine_model_passes_the_step_budget():
    """``[engine] max_steps`` reaches engine.solve in every evaluation (agents and in-process alike)."""
    pytest.importorskip("engine")
    from survey.agents import EngineModel
    from survey.config import SurveyConfig

    d = {"survey": {"name": "b", "preset": "empirical"}, "sampler": {"nwalkers": 8, "nsteps": 1},
         "engine": {"grid": {"n_z": 12, "bins_per_decade": 3}, "max_steps": 11}}
    res = EngineModel(SurveyConfig.from_dict(d)).solve({})
    assert res.n_steps == 11 and res.message.startswith("step budget (11) exhausted"), res.message
    d["engine"]["max_steps"] = 0                     # the engine's own budget: the empirical law settles
    assert EngineModel(SurveyConfig.from_dict(d)).solve({}).status == "steady"


def test_status_counts_runs_the_likelihood_did_not_score(tmp_path):
    """Engine runs with ln L = -inf (e.g. stalled live runs) are counted and grouped by the engine's message."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(TOML + "[model_options]\nunscored_if_delta_above = 0.6\n")
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", str(cfg), "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    s = survey_status(out)
    import pyarrow.parquet as pq
    import glob

    rows = [rec for f in glob.glob(str(out / "evals" / "*.parquet")) for rec in pq.read_table(f).to_pylist()]
    n = sum(rec["status"] == "ok" and rec["log_like"] == float("-inf") for rec in rows)
    assert n > 0 and s["unscored"] == n and s["unscored_reasons"] == {"stalled": n}
    r = runner.invoke(app, ["status", str(out)])
    assert r.exit_code == 0 and f"{n} x stalled" in r.output and "unscored" in r.output, r.output
