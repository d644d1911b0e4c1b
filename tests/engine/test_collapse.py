"""Transport-coupled outcomes of the live laws against H22 (physics spec Sec. 14 items 2-3, 6-8).

These run engine.solve end to end for 500 Myr, as H22 did, and take tens of seconds each (marked slow).
Measured status (docs/physics.md, "Coupling to the transport"): with the implicit coupling the
self-confinement runs are dt-converged and sc_reference reaches the same state from every start, so H22's
start-dependent collapse is not what the engine's converged solution does; new_damping is start independent
and near the data, as in H22. The tests keep H22's physics as the assertion; those the engine does not
reproduce are strict xfails with the measured numbers, so they fail loudly once they pass.
"""

import numpy as np
import pytest

# H22's outcomes are not reproduced (README, "Live laws: status and known limits"). Each test keeps the
# paper's assertion; strict xfail makes it fail loudly once it passes.
LIVE_SC_UNRESOLVED = pytest.mark.xfail(strict=True, reason=(
    "H22 outcomes not reproduced (measured 2026-11-27, eighth session, implicit coupling, balanced splitting "
    "of reacceleration, default grid, t = 500 Myr, time averages over the last 100 Myr): sc_reference is "
    "start independent, B/C(10 GV) = 0.253 low / 0.255 normal / 0.281 high start (AMS-02 0.284), B/C slope "
    "over 10-200 GV -0.11 to -0.08, free streaming above 109-146 GV, no bottleneck at 1-30 GV at the Sun (the "
    "halo above ~5 kpc is bottlenecked there); a column with steady sources has one attractor (H22 App. A, "
    "docs/physics.md); B/C slopes over 10-200 GV: new_linear +0.23 (1200-step budget at 202 Myr, "
    "oscillating), new_external -0.21 (B/C(10) 0.47; with S_sc x 0.01 -0.41, tested below)"))

engine = pytest.importorskip("engine")
if not hasattr(engine, "solve"):  # pragma: no cover - before the transport core existed
    pytest.skip("engine.solve is not available yet", allow_module_level=True)

T_MAX_MYR = 500.0          # H22 ran ~500 Myr; the calibrated 33 kpc halo relaxes in ~2 Gyr at 1 GV
BC_FAR = 3.0               # "far below/above the data": a factor >= 3 at 10 GV (H22 Figs 2-3: ~10x)
RTOL_IC = 0.05             # "the same steady state ... within a few %" (H22 Fig. 5)


def bc_data(R0):
    tab = np.loadtxt(_path("AMS-02_B_C_rigidity.txt"), comments="#")   # columns: R [GV], B/C, errors
    return float(np.interp(np.log(R0), np.log(tab[:, 0]), tab[:, 1]))


def _path(name):
    from pathlib import Path
    return Path(engine.__file__).resolve().parent / "data" / "ams02" / name


def bc(res, R0):
    x, y = res.observables["B/C"]
    return float(np.exp(np.interp(np.log(R0), np.log(x), np.log(y))))


def labels_between(res, lo, hi):
    return {lab for a, b, lab in res.outcome if b > lo and a < hi}


@pytest.fixture(scope="module")
def runs():
    cache = {}

    def get(law, initial, params=None):
        key = (law, initial, tuple(sorted((params or {}).items())))
        if key not in cache:
            cache[key] = engine.solve(params, law=law, initial=initial, t_max_myr=T_MAX_MYR)
        return cache[key]
    return get


def test_data_reference_value():
    # AMS-02 B/C(10 GV) ~ 0.28 (the brief's anchor)
    assert bc_data(10.0) == pytest.approx(0.28, rel=0.1)


@pytest.mark.slow
@LIVE_SC_UNRESOLVED
def test_sc_reference_low_start_collapses_to_free_streaming(runs):
    r = runs("sc_reference", "low")
    assert bc(r, 10.0) < bc_data(10.0) / BC_FAR, (r.status, r.message, bc(r, 10.0))
    assert "bottleneck" not in labels_between(r, 1.0, 1000.0), r.outcome


@pytest.mark.slow
@LIVE_SC_UNRESOLVED
def test_sc_reference_high_start_bottlenecks(runs):
    r = runs("sc_reference", "high")
    assert bc(r, 10.0) > BC_FAR * bc_data(10.0), (r.status, r.message, bc(r, 10.0))
    assert "bottleneck" in labels_between(r, 1.0, 10.0), r.outcome


@pytest.mark.slow
@LIVE_SC_UNRESOLVED
def test_sc_reference_normal_start_bottleneck_then_free(runs):
    r = runs("sc_reference", "normal")
    assert "bottleneck" in labels_between(r, 1.0, 30.0), r.outcome
    assert "free-streaming" in labels_between(r, 100.0, 1000.0), r.outcome
    assert bc(r, 3.0) > bc_data(3.0) and bc(r, 300.0) < bc_data(300.0), (bc(r, 3.0), bc(r, 300.0))


@pytest.mark.slow
def test_new_damping_is_independent_of_the_start_and_near_the_data(runs):
    """H22 Fig. 5: new damping alone reaches the same state from every start and fits B/C."""
    vals = {ic: bc(runs("new_damping", ic), 10.0) for ic in ("low", "normal", "high")}
    ref = vals["normal"]
    assert all(abs(v / ref - 1) < RTOL_IC for v in vals.values()), vals
    assert abs(np.log(ref / bc_data(10.0))) < np.log(1.5), (ref, bc_data(10.0))


@pytest.mark.slow
@LIVE_SC_UNRESOLVED
def test_sc_reference_depends_on_the_start(runs):
    """H22 Sec. 5.1.1: sc_reference does not reach the same state from the low and high starts."""
    sc = {ic: bc(runs("sc_reference", ic), 10.0) for ic in ("low", "high")}
    assert sc["high"] / sc["low"] > 10.0, sc


@pytest.mark.slow
@LIVE_SC_UNRESOLVED
@pytest.mark.parametrize("law", ["new_linear", "new_external"])
def test_new_sources_give_observed_bc_slopes(runs, law):
    r = runs(law, "normal")
    x, y = r.observables["B/C"]
    sel = (x > 10) & (x < 200)
    s = np.polyfit(np.log(x[sel]), np.log(y[sel]), 1)[0]
    assert -0.7 <= s <= -0.3, (r.status, r.message, s)


def test_new_external_with_weaker_self_confinement_gives_the_observed_bc_slope(runs):
    """H22 Sec. 5.3.2: the external source fits once S_sc is reduced 10-100x (their remedy for the high start).
    With the full S_sc (the preset, above) self-confinement dominates the driving at z >~ 3 kpc (S_sc/S_new
    ~10-20 at 10-30 GV, z = 10-24 kpc, measured 2026-11-27) and flattens B/C; with S_sc x 0.01 the external
    source's delta_s shows: measured slope -0.41, B/C(10 GV) 0.41 (1.44x AMS-02) in 82 steps."""
    r = runs("new_external", "normal", {"log10_f_sc": -2.0})
    x, y = r.observables["B/C"]
    sel = (x > 10) & (x < 200)
    s = np.polyfit(np.log(x[sel]), np.log(y[sel]), 1)[0]
    assert -0.7 <= s <= -0.3, (r.message, s)
    assert abs(np.log(bc(r, 10.0) / bc_data(10.0))) < np.log(2.0), bc(r, 10.0)
