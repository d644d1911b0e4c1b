"""Survey throughput benchmark: evaluations/s with 1 and 2 Ray engine agents vs a plain serial loop.

Cases (same model, same points):
  * serial   -- a plain Python loop over EngineAgent.evaluate in this process (baseline)
  * 1 agent  -- AgentPool with one Ray actor, driven through pool.map like emcee does
  * 2 agents -- AgentPool with two Ray actors
Models: ``engine`` (engine.solve, empirical law, default grid) if the engine imports, and ``fixed1s``
(a CPU-bound model of ~1 s, to measure scheduling overhead per evaluation against a 1 s model).
Targets: 2 agents >= 1.8x one agent; overhead < 5 % of a 1 s model.

Run: ``.venv/bin/python bench/survey.py [--quick]`` (~2-3 min on 2 cores). Writes bench/survey.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import tempfile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# this file is named survey.py: keep bench/ off sys.path so ``import survey`` finds the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
MODELS_DIR = Path(tempfile.mkdtemp(prefix="crsurvey-bench-"))
sys.path.insert(0, str(MODELS_DIR))
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(MODELS_DIR), os.environ.get("PYTHONPATH", "")])
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


# --- a 1 s CPU-bound model, importable by Ray workers as "survey_bench_models:fixed" --------------------
MODELS_SRC = '''
import time

def fixed(config):
    """CPU-bound model using `seconds` of *CPU* time per evaluation (so CPU contention shows in wall time)."""
    sec = float(config.model_options.get("seconds", 1.0))

    def model(params, nuisance):
        t0 = time.process_time()
        x = 0.0
        while time.process_time() - t0 < sec:
            for i in range(1000):
                x += i * 1e-12
        return {"log_like": -0.5 * (params["delta"] - 0.6) ** 2}
    return model
'''


def _config(model: str, opts=None, nwalkers=8):
    from survey.config import SurveyConfig

    return SurveyConfig.from_dict({
        "survey": {"name": "bench", "preset": "empirical", "model": model},
        "sampler": {"nwalkers": nwalkers, "nsteps": 1}, "model_options": opts or {},
        "resources": {"n_agents": 2},
    })


def _points(cfg, n, seed=0):
    return cfg.space.draw(np.random.default_rng(seed), n)


def validate(cfg, pts):
    """Same answers serially and through the pool (checked before anything is timed)."""
    from survey.agents import AgentPool, EngineAgent

    a = EngineAgent(cfg)
    ref = [a.evaluate(p)["log_prob"] for p in pts[:2]]
    pool = AgentPool(cfg.to_dict(), 2)
    try:
        pool.warmup()
        got = pool.map(None, pts[:2])
    finally:
        pool.close()
    assert np.allclose(ref, got, equal_nan=True), (ref, got)
    return a


def bench_case(cfg, pts, agent):
    from survey.agents import AgentPool

    rows = {"n": len(pts)}
    agent.evaluate(pts[0])  # warm
    t0 = time.perf_counter()
    recs = [agent.evaluate(p) for p in pts]
    dt = time.perf_counter() - t0
    rows["serial"] = {"s": dt, "evals_per_s": len(pts) / dt, "model_s": float(np.mean([r["wall_s"] for r in recs]))}
    for n in (1, 2):
        pool = AgentPool(cfg.to_dict(), n)
        try:
            pool.warmup()
            pool.map(None, pts[:n])  # warm every agent's model
            e0 = pool.eval_time
            t0 = time.perf_counter()
            half = len(pts) // 2  # emcee maps half the ensemble at a time
            for i in range(0, len(pts), half):
                pool.map(None, pts[i:i + half])
            dt = time.perf_counter() - t0
            model_s = (pool.eval_time - e0) / len(pts)
        finally:
            pool.close()
        rows[f"{n} agent" + ("s" if n > 1 else "")] = {"s": dt, "evals_per_s": len(pts) / dt, "model_s": model_s,
                                                       "overhead_per_eval_s": dt * n / len(pts) - model_s}
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer evaluations")
    args = ap.parse_args(argv)
    import ray

    (MODELS_DIR / "survey_bench_models.py").write_text(MODELS_SRC)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=200 * 1024**2)
    results = {}
    try:
        try:
            import engine  # noqa: F401

            cfg = _config("engine", nwalkers=8)
            pts = _points(cfg, 16 if args.quick else 48)
            pts[:, 0] = np.clip(pts[:, 0], -9.5, -8.5)  # keep away from the slowest corners
            t0 = time.perf_counter()
            agent = validate(cfg, pts)
            results["engine (empirical, default grid)"] = {"cold_s": time.perf_counter() - t0,
                                                           **bench_case(cfg, pts, agent)}
        except ImportError as e:
            print(f"engine not importable ({e}): skipping the engine model", file=sys.stderr)
        cfg = _config("survey_bench_models:fixed", {"seconds": 1.0})
        pts = _points(cfg, 4 if args.quick else 8)
        agent = validate(cfg, pts[:2])
        results["fixed 1 s model"] = bench_case(cfg, pts, agent)
    finally:
        ray.shutdown()
        (MODELS_DIR / "survey_bench_models.py").unlink(missing_ok=True)
        MODELS_DIR.rmdir()

    print(f"{'model':34s} {'case':9s} {'evals':>6s} {'wall s':>8s} {'evals/s':>8s} {'model s':>8s} "
          f"{'overhead/eval':>13s} {'speed-up':>8s}")
    for model, rows in results.items():
        base = rows["1 agent"]["evals_per_s"]
        rows = dict(rows)
        n = rows.get("n")
        for case in ("serial", "1 agent", "2 agents"):
            r = rows[case]
            ov = r.get("overhead_per_eval_s")
            ovs = "-" if ov is None else f"{1e3 * ov:8.1f} ms"
            print(f"{model:34s} {case:9s} {n or '':>6} {r['s']:8.2f} {r['evals_per_s']:8.2f} {r['model_s']:8.3f} "
                  f"{ovs:>13s} {r['evals_per_s'] / base:7.2f}x")
    fx = results["fixed 1 s model"]
    verdict = {"2 agents / 1 agent (1 s model)": fx["2 agents"]["evals_per_s"] / fx["1 agent"]["evals_per_s"],
               "overhead / 1 s model (1 agent)": fx["1 agent"]["overhead_per_eval_s"] / fx["1 agent"]["model_s"]}
    if "engine (empirical, default grid)" in results:
        e = results["engine (empirical, default grid)"]
        verdict["2 agents / 1 agent (engine)"] = e["2 agents"]["evals_per_s"] / e["1 agent"]["evals_per_s"]
    print()
    for k, v in verdict.items():
        print(f"{k:36s} {v:.3f}" + ("   (target >= 1.8)" if "2 agents" in k else "   (target < 0.05)"))
    from survey.store import package_versions

    out = {"results": results, "verdict": verdict, "versions": package_versions(),
           "cpu": platform.processor() or platform.machine(), "ncpu": os.cpu_count(), "time": time.time()}
    (Path(__file__).resolve().parent / "survey.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
