"""Micro-benchmark of the live scattering laws: evaluate() calls per second at the default grid.

What it computes: for every live preset (engine.wave_laws.WAVE_LAWS) the law is bound to the default
``milky_way`` galaxy on the default GridConfig (n_z = 48, 8 bins/decade), then ``evaluate()`` is timed
on a plausible CR state, (a) warm-started from the previous call (the transport's situation) and
(b) after resetting the root finder's warm start. The JIT compile (cold) time is reported separately.
A validator first checks finiteness and the closed-form delta_s of the generic law before timing.

Run:  .venv/bin/python bench/waves.py [--json out.json]     (~30 s)
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

# bench/engine.py would shadow the engine package: import from the repository root instead
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import numba  # noqa: E402

from engine import laws  # noqa: E402
from engine.galaxy import GalaxyConfig, build_galaxy  # noqa: E402
from engine.grid import GridConfig, build_grid  # noqa: E402
from engine.units import EV_ERG  # noqa: E402
from engine.wave_laws import WAVE_LAWS  # noqa: E402


# === Input generator === #
def make_inputs():
    grid = build_grid(GridConfig(), GalaxyConfig().halo_height_kpc)
    galaxy = build_galaxy(GalaxyConfig(), grid)
    R, H = grid.R_waves, grid.halo_height
    prof = np.maximum(1 - grid.z / H, 1e-3)[:, None]
    eps = 0.5 * EV_ERG * np.minimum(R, 1.0) * np.maximum(R, 1.0) ** -0.7 * prof
    dPdz = -np.broadcast_to(eps[0:1] / 3 / H, eps.shape).copy()
    return galaxy, grid, eps, dPdz


def outputs(galaxy, grid):
    n_z, n_R, n_p = grid.n_z, grid.R_waves.size, galaxy.ism.shape[1]
    return (np.empty((n_z, n_R)), np.empty((n_z, n_R)), np.empty((n_p, n_z, n_R)), np.empty((n_z, n_R), np.int8))


# === Validator === #
def validate(galaxy, grid, eps, dPdz):
    law = laws.make_law("generic")
    law.bind(galaxy, grid)
    out = outputs(galaxy, grid)
    law.evaluate(eps, dPdz, *out)
    R = grid.R_waves
    sel = (R > 1) & (R < 100)
    d = -np.polyfit(np.log(R[sel]), np.log(out[0][0, sel]), 1)[0]
    assert abs(d - 0.5) < 0.02, f"generic law delta_s = {d:.3f}, expected 0.5"
    assert np.all(np.isfinite(out[0]))


# === Timing === #
def bench(name, galaxy, grid, eps, dPdz, n_min=50, t_min=0.5):
    t0 = time.perf_counter()
    law = laws.make_law(name)
    law.bind(galaxy, grid)
    out = outputs(galaxy, grid)
    law.evaluate(eps, dPdz, *out)
    cold = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    # warm: small step-to-step changes, as in a transport run
    n, t0 = 0, time.perf_counter()
    while n < n_min or time.perf_counter() - t0 < t_min:
        f = 1 + 0.01 * rng.standard_normal()
        law.evaluate(eps * f, dPdz * f, *out)
        n += 1
    warm = (time.perf_counter() - t0) / n
    n2, t0 = 0, time.perf_counter()
    while n2 < n_min // 5 or time.perf_counter() - t0 < t_min / 2:
        law.balance.reset()
        law.evaluate(eps, dPdz, *out)
        n2 += 1
    fresh = (time.perf_counter() - t0) / n2
    return dict(law=name, cold_s=cold, warm_ms=1e3 * warm, evals_per_s=1 / warm, fresh_ms=1e3 * fresh,
                n_terms=len(law.damping) + len(law.driving), n_groups=law.balance._coef.shape[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    galaxy, grid, eps, dPdz = make_inputs()
    validate(galaxy, grid, eps, dPdz)
    n_cells = galaxy.ism.shape[1] * grid.n_z * grid.R_waves.size
    rows = [bench(n, galaxy, grid, eps, dPdz) for n in sorted(WAVE_LAWS)]
    print(f"grid: n_phase x n_z x n_R = {galaxy.ism.shape[1]} x {grid.n_z} x {grid.R_waves.size} = {n_cells} balances")
    print(f"{'law':28s} {'terms':>5s} {'groups':>6s} {'cold s':>7s} {'warm ms':>8s} {'evals/s':>8s} {'fresh ms':>9s}"
          f" {'ns/balance':>10s}")
    for r in rows:
        print(f"{r['law']:28s} {r['n_terms']:5d} {r['n_groups']:6d} {r['cold_s']:7.2f} {r['warm_ms']:8.3f} "
              f"{r['evals_per_s']:8.0f} {r['fresh_ms']:9.3f} {1e6 * r['warm_ms'] / n_cells:10.1f}")
    if a.json:
        meta = dict(cpu=platform.processor() or platform.machine(), python=platform.python_version(),
                    numpy=np.__version__, numba=numba.__version__, n_cpu=os.cpu_count(), n_balances=n_cells)
        with open(a.json, "w") as fh:
            json.dump({"meta": meta, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
