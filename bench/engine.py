"""Benchmark of engine.solve: cold (JIT compile / cache load) and warm time to steady state, per preset.

Run:  python bench/engine.py [--presets all|empirical,...] [--repeat 3] [--json bench/engine.json]

Prints a table (case, status, steps, t_end, warm s, ms/step, the widest rigidity band labelled steady at the
Sun in Result.outcome; for laws that depend on the CRs also the warm time and steps to H22's 500 Myr) and
writes JSON with the CPU and library versions. Before anything is timed, each case is validated: the empirical law must reproduce
AMS-02 B/C at 10 GV within 10 % (the calibration), every other preset must return a finite Result.
Cold times are measured in fresh subprocesses: once with an empty numba cache (compile) and once with
the cache filled (what a warm Ray agent pays once per process).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import engine  # noqa: E402
from engine.laws import PRESETS, _load_wave_laws  # noqa: E402


def _cold(cache_dir, law):
    code = ("import time; t=time.perf_counter(); import engine; "
            f"r=engine.solve(law={law!r}); print(time.perf_counter()-t)")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def steady_band(outcome):
    """The widest (in ln R) band of Result.outcome labelled steady, as 'lo-hi' [GV], or '-'."""
    bands = [(lo, hi) for lo, hi, lab in outcome if lab == "steady" and hi > lo]
    if not bands:
        return "-"
    lo, hi = max(bands, key=lambda b: np.log(b[1] / b[0]))
    return f"{lo:.3g}-{hi:.3g}"


def validate(law, r):
    if law == "empirical":
        from engine.datasets import load
        bc = load("AMS-02 B/C")
        ref = float(np.exp(np.interp(np.log(10.0), np.log(bc.x), np.log(bc.y))))
        assert abs(r.at("B/C", 10.0) / ref - 1) < 0.1, "empirical law no longer reproduces AMS-02 B/C"
    assert all(np.all(np.isfinite(y)) for _, y in r.observables.values()), f"{law}: non-finite observables"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="all")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=os.path.join(HERE, "engine.json"))
    ap.add_argument("--no-cold", action="store_true", help="skip the subprocess cold-start measurements")
    a = ap.parse_args()
    _load_wave_laws()
    laws = sorted(PRESETS) if a.presets == "all" else a.presets.split(",")
    laws = ["empirical"] + [l for l in laws if l != "empirical"]
    cfg = engine.GridConfig()
    grid_s = f"n_z={cfg.n_z}, {cfg.bins_per_decade:g}/dec, {len(engine.SPECIES)} species"
    rows = []
    cold_compile = cold_cached = None
    if not a.no_cold:
        with tempfile.TemporaryDirectory() as d:
            cold_compile = _cold(d, "empirical")
            cold_cached = _cold(d, "empirical")
    engine.solve()  # warm this process
    for law in laws:
        r = engine.solve(law=law)
        validate(law, r)
        ts = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            r = engine.solve(law=law)
            ts.append(time.perf_counter() - t)
        warm = min(ts)
        row = {"case": law, "grid": grid_s, "status": r.status, "steps": r.n_steps,
               "t_end_myr": r.t_end_myr, "warm_s": warm, "ms_per_step": 1e3 * warm / max(r.n_steps, 1),
               "steady_GV": steady_band(r.outcome), "warm_500_s": None, "steps_500": None}
        law_obj = engine.prepare(law=law).law
        if law_obj.live and getattr(law_obj, "cr_dependent", True):   # H22 compare at 500 Myr
            ts = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                r5 = engine.solve(law=law, t_max_myr=500.0)
                ts.append(time.perf_counter() - t)
            row["warm_500_s"], row["steps_500"] = min(ts), r5.n_steps
        rows.append(row)
    print(f"\ncrsurvey engine benchmark ({platform.processor() or platform.machine()}, numba "
          f"{__import__('numba').__version__}, numpy {np.__version__}; one core, best of {a.repeat})")
    if cold_compile is not None:
        print(f"cold start, empirical (import + JIT compile + solve): {cold_compile:.2f} s; "
              f"with a filled numba cache: {cold_cached:.2f} s")
    hdr = (f"{'case':28s} {'status':14s} {'steps':>6s} {'t_end Myr':>10s} {'warm s':>8s} {'ms/step':>8s} "
           f"{'steady at [GV]':>16s} {'500 Myr: s':>11s} {'steps':>6s}")
    print(hdr)
    print("-" * len(hdr))
    for row in rows:
        t5 = f"{row['warm_500_s']:11.2f} {row['steps_500']:6d}" if row["warm_500_s"] is not None else f"{'-':>11s} {'-':>6s}"
        print(f"{row['case']:28s} {row['status']:14s} {row['steps']:6d} {row['t_end_myr']:10.0f} "
              f"{row['warm_s']:8.3f} {row['ms_per_step']:8.2f} {row['steady_GV']:>16s} {t5}")
    print(f"grid: {grid_s}")
    meta = {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
            "numba": __import__("numba").__version__, "numpy": np.__version__, "cold_compile_s": cold_compile,
            "cold_cached_s": cold_cached, "rows": rows}
    with open(a.json, "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
