"""``crsurvey reproduce``: H22's model comparison as a report, and each model's verdict against the paper.

Fast tests check the measurements against ground truth (the empirical law's delta_s is its exponent) and
build the report for the empirical model on the session's Ray.  The slow test runs the whole quick
comparison once (module fixture) and checks every model's measured verdict against the paper's
(physics spec Sec. 14); a disagreement fails with the numbers, or is an xfail listed in
``KNOWN_DISAGREEMENTS`` with the numbers measured when it was listed.
"""

import math
import re

import numpy as np
import pytest

import engine
from survey import reproduce as rp

QUICK = rp.QUICK_GRID
DELTA_TOL = 1e-6        # delta_s of a pure power law is exact up to round-off in the fit
REL_SELF = 1e-12        # a run measured against itself


@pytest.fixture(scope="module")
def empirical_run():
    res = engine.solve(grid=QUICK)
    prep = engine.prepare(grid=QUICK)
    return res, prep


# === Measurements (no Ray) === #

def test_band_fraction_by_hand():
    bands = [(0.1, 1.0, "steady"), (1.0, 10.0, "bottleneck"), (10.0, 1000.0, "free-streaming")]
    assert rp.band_fraction(bands, "bottleneck", 1.0, 10.0) == pytest.approx(1.0)
    assert rp.band_fraction(bands, "bottleneck", 1.0, 100.0) == pytest.approx(0.5)
    assert rp.band_fraction(bands, ("bottleneck", "free-streaming"), 0.1, 1000.0) == pytest.approx(0.75)
    assert rp.band_fraction(bands, "free-streaming", 0.1, 1.0) == 0.0


@pytest.mark.parametrize("delta", [0.3, 0.6])
def test_delta_s_of_the_empirical_law_is_its_exponent(delta):
    res = engine.solve({"delta": delta}, grid=QUICK, t_max_myr=1.0)  # nu_s is fixed: no need to relax
    m = rp.measure(res, engine.prepare({"delta": delta}, grid=QUICK))
    assert abs(m["delta_s"] - delta) < DELTA_TOL, m["delta_s"]


def test_measure_and_environments(empirical_run):
    res, prep = empirical_run
    m = rp.measure(res, prep)
    assert m["status"] == "steady"
    # LISM CR energy density ~ 1 eV cm^-3 (README: 0.93 for the calibrated milky_way)
    assert 0.3 < m["e_cr_sun"] < 3.0, m["e_cr_sun"]
    assert m["gamma_abs"] > 0 and math.isfinite(m["gamma_abs"])
    assert set(rp.GROUP_ORDER) <= set(m["chi2dof"]), m["chi2dof"]
    envs = rp.environments(res, prep)
    zs = [z for z, _ in envs]
    assert len(envs) >= 3 and zs == sorted(zs) and zs[0] < 0.05 and 0.8 < zs[-1] <= 1.2, zs
    # the band is a real spread: local B/C differs between heights
    bc = [e.at("B/C", 10.0) for _, e in envs]
    assert np.ptp(np.log(bc)) > 0, bc


def test_start_spread_and_verdict_numbers(empirical_run):
    res, _ = empirical_run
    c = rp.CaseResult("empirical", "normal", res, metrics={"BC10_ratio": 0.5, "BC100_ratio": 1.0,
                                                           "delta_s": 0.6, "status": "steady"})
    assert rp.start_spread({"normal": c, "low": rp.CaseResult("empirical", "low", res)})[0] < REL_SELF
    passed, nums = rp.VERDICTS["empirical"].check({"normal": c}, c)
    assert not passed and nums["B/C(10)/data"] == 0.5
    passed, nums = rp.VERDICTS["sc_reference"].check({"normal": c}, c)  # missing starts are reported
    assert not passed and set(nums["missing_or_failed"]) == {"low", "high"}


def test_every_model_has_a_verdict_and_a_preset():
    assert [m.name for m in rp.MODELS] == list(rp.VERDICTS)
    assert rp.MODELS[0].name == "empirical"


# === The report on Ray (one session) === #

def test_empirical_report_has_table_png_and_agrees(ray_local, tmp_path):
    rep = rp.reproduce(tmp_path, quick=True, models=["empirical"])
    s = rep.html_path.read_text()
    assert "<table" in s and "Paper verdict" in s
    assert len(re.findall(r"src='data:image/png;base64,[A-Za-z0-9+/=]{1000,}'", s)) >= 2
    assert "http://" not in s and "https://" not in s       # self-contained
    assert [(r["model"], r["start"]) for r in rep.rows] == [("empirical", "normal")]
    row = rep.rows[0]
    assert row["e_cr_rel"] == pytest.approx(1.0) and row["gamma_rel"] == pytest.approx(1.0)
    assert abs(row["delta_s"] - 0.6) < DELTA_TOL
    v = rep.verdicts["empirical"]
    assert v.passed, f"empirical model no longer fits AMS-02 B/C: {v.numbers}"
    assert rep.json_path.exists()


# === The whole quick comparison (slow) === #

#: Models whose measured verdict disagrees with H22, with the numbers measured when listed (quick grid).
#: Do not weaken a check to make a model pass: list it here with the reason (task: issue 6).
KNOWN_DISAGREEMENTS: dict[str, str] = {
    # numbers measured 2026-11-27 (seventh session) on the quick grid with the implicit live coupling and the
    # balanced splitting of reacceleration (docs/physics.md, "Coupling to the transport"); non-steady runs
    # report time averages over their last 100 Myr
    "sc_reference": (
        "H22 Figs 2-3: low start unconfined, normal start bottleneck at 1-30 GV and free above, high start "
        "bottleneck. Measured: the three starts reach the same state at 10 Gyr: B/C(10) = 1.75x data from "
        "every start, e_cr = 2.5x empirical, no bottleneck band at 1-30 GV at the Sun, free streaming over "
        "34-44 % of 10-1000 GV; not-converged. A column with steady sources has one attractor (H22 App. A: the "
        "flux self-confinement with linear damping carries does not depend on e'; docs/physics.md)"),
    "et_gs95": (
        "H22 Fig. 4: B/C flat or rising (slope >= -0.05 over 10-300 GV). Measured: slope -0.070, delta_s = 0.062, "
        "B/C(10) = 0.013x data (secondaries negligible, as H22 says for favoured ET); steady. "
        "delta_s = 0.06 is what Chandran's alpha_t ~ ln(k l_A) of the spec adds, 1/ln(k l_A) ~ 0.05 at 10-100 GV "
        "(engine.driving.ExtrinsicGS95); H22's delta_s <= 0 drops the log"),
    "new_damping_plus_standard": (
        "H22 Sec. 5.2: restoring the standard damping swamps the new term and collapse returns. Measured: at the "
        "Sun the standard terms damp 2x (1 GV) to 10x (30 GV) more than the calibrated new term (log10 A = 3), "
        "yet all three starts reach the same steady state (to 5e-4 in ln) at 1.2-1.3 Gyr and nothing is "
        "bottlenecked or free streaming at 1-100 GV. Same root as sc_reference: the engine's converged "
        "self-confinement balance does not collapse in a start-dependent way"),
    "new_linear": (
        "H22 Fig. 6: fits all data. Measured: B/C slope over 10-200 GV = +0.25 (expected -0.7..-0.3), "
        "B/C(10) = 0.78-0.87x data, chi2/dof = 3.7e3-5.1e3; not-converged at 0.5-1.0 Gyr. Psi_0 = 1e-12 s^-1 "
        "saturated by NLL scatters ~300x the empirical rate (docs/physics.md)"),
    "new_external": (
        "H22 Fig. 7: fits all diagnostics. Measured: B/C slope over 10-200 GV = +0.25 (expected -0.7..-0.3), "
        "B/C(10) = 2.2x data, chi2/dof = 1.6e3; not-converged at 9.4-9.6 Gyr (the full S_sc bottlenecks the halo "
        "over Gyr; with S_sc x 0.01 the slope is -0.41, tests/engine/test_collapse.py)"),
}


@pytest.fixture(scope="module")
def quick_report(ray_local, tmp_path_factory):
    return rp.reproduce(tmp_path_factory.mktemp("reproduce"), quick=True)


@pytest.mark.slow
def test_quick_report_has_every_model(quick_report):
    rows = {(r["model"], r["start"]) for r in quick_report.rows}
    want = {(m.name, s) for m in rp.MODELS for s in m.starts}
    assert rows == want, f"missing runs: {sorted(want - rows)}"
    s = quick_report.html_path.read_text()
    for m in rp.MODELS:
        assert f"id='{m.name}'" in s
    failed = [(r["model"], r["start"], r["error"]) for r in quick_report.rows if r["error"]]
    assert not failed, failed


@pytest.mark.slow
@pytest.mark.parametrize("model", [m.name for m in rp.MODELS])
def test_measured_verdict_matches_the_paper(quick_report, model):
    v = quick_report.verdicts[model]
    if model in KNOWN_DISAGREEMENTS:
        if v.passed:
            pytest.fail(f"{model} now agrees with H22 ({v.numbers}): remove it from KNOWN_DISAGREEMENTS")
        pytest.xfail(f"{KNOWN_DISAGREEMENTS[model]} | now measured: {v.numbers}")
    assert v.passed, (f"{model} disagrees with H22 {v.figure}: paper: {v.paper} | check: {v.criterion} | "
                      f"measured: {v.numbers}")
