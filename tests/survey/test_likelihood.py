"""Tests of survey/likelihood.py against fake results built from the data themselves or power laws."""

import math

import numpy as np
import pytest

from engine import datasets as D
from engine.errors import ConfigError
from engine.species import SPECIES
from survey import likelihood as L

TOL_EXACT = 1e-9        # chi2 of a model equal to the data: floating-point round-off only
RTOL_CHI2 = 1e-10       # analytic chi2 of a scaled model
_SP = {s.name: s for s in SPECIES}
_MODEL_AXIS = {"B/C": "rigidity", "pbar/p": "rigidity", "10Be/9Be": "Ekn", "e+/(e+ + e-)": "energy",
               "e-": "energy", "e+": "energy"}


class FakeResult:
    """Test double of engine.Result: ``observables``, ``status``, ``message``, ``modulated(phi_GV)``.

    ``modulate(obs, phi)`` defaults to the identity; every call is recorded.
    """

    def __init__(self, observables, status="steady", modulate=None, message=""):
        self.observables = observables
        self.status = status
        self.message = message
        self._modulate = modulate or (lambda obs, phi: obs)
        self.phi_calls = []

    def modulated(self, phi_GV):
        self.phi_calls.append(phi_GV)
        return self._modulate(self.observables, phi_GV)


def _to_model_axis(d):
    """Data points of ``d`` on the model's axis (independent inverse of the Ekn conversion)."""
    if d.x_kind == _MODEL_AXIS.get(d.quantity, "rigidity"):
        return d.x, d.y
    sp = _SP[d.quantity]                   # nuclear flux per GeV/n -> per GV
    p_n = np.sqrt(d.x * (d.x + 2 * sp.mass_GeV))
    beta = p_n / (d.x + sp.mass_GeV)
    return sp.A / sp.Z * p_n, d.y * beta * sp.Z / sp.A


def matched(names=L.DATASETS, factor=None):
    """Observables passing exactly through every data point of ``names`` (times ``factor[quantity]``)."""
    pts = {}
    for n in names:
        d = D.load(n)
        x, y = _to_model_axis(d)
        pts.setdefault(d.quantity, []).append((x, y))
    obs = {}
    for q, lst in pts.items():
        x = np.concatenate([a for a, _ in lst])
        y = np.concatenate([b for _, b in lst])
        o = np.argsort(x, kind="stable")
        obs[q] = (x[o], y[o] * (factor or {}).get(q, 1.0))
    return obs


def _expected_chi2(d, f, s_mod=0.1):
    return math.log(f) ** 2 * float(np.sum(1.0 / ((d.sigma / d.y) ** 2 + s_mod ** 2)))


# --- maximum at the data; exact chi2 for a scaled model ---

def test_data_against_itself_is_the_maximum():
    res = FakeResult(matched())
    b = L.breakdown(res)
    assert set(b) == set(L.DATASETS) | {"total"}
    for n in L.DATASETS:
        assert b[n]["chi2"] == pytest.approx(0.0, abs=TOL_EXACT)
        assert b[n]["n"] == b[n]["dof"] == D.load(n).n and b[n]["n_outside"] == 0
        assert {"chi2", "dof", "n", "weight"} <= set(b[n])
    assert b["total"]["n"] == sum(D.load(n).n for n in L.DATASETS)
    lnL0 = L.loglike(res)
    assert lnL0 == pytest.approx(0.0, abs=TOL_EXACT) and lnL0 <= 0.0
    for q, i, f in (("B/C", 10, 1.01), ("p", 0, 0.98), ("10Be/9Be", 1, 1.05), ("e+/(e+ + e-)", 30, 0.99)):
        obs = matched()
        x, y = obs[q]
        y = y.copy()
        y[i] *= f
        obs[q] = (x, y)
        assert L.loglike(FakeResult(obs)) < lnL0 - 1e-6, q


@pytest.mark.parametrize("f", [1.3, 0.5])
def test_scaled_model_chi2_is_lnf_squared_over_variance(f):
    res = FakeResult(matched(factor={q: f for q in D.QUANTITIES}))
    b = L.breakdown(res)
    total = 0.0
    for n in L.DATASETS:
        exp = _expected_chi2(D.load(n), f)
        assert b[n]["chi2"] == pytest.approx(exp, rel=RTOL_CHI2)
        total += b[n]["weight"] * exp
    assert L.loglike(res) == pytest.approx(-0.5 * total, rel=RTOL_CHI2)
    # only B/C scaled: B/C group weight = N_ref / (67 AMS-02 + 9 Voyager B points)
    res = FakeResult(matched(factor={"B/C": f}))
    b = L.breakdown(res, datasets=["AMS-02 B/C", "Voyager B"])
    w = 10.0 / (67 + 9)
    assert b["AMS-02 B/C"]["weight"] == pytest.approx(w) and b["Voyager B"]["chi2"] == pytest.approx(0, abs=TOL_EXACT)
    assert b["total"]["loglike"] == pytest.approx(-0.5 * w * _expected_chi2(D.load("AMS-02 B/C"), f))


def test_group_weights_sum_to_n_ref_and_can_be_switched_off():
    b = L.breakdown(FakeResult(matched()))
    groups = {}
    for n in L.DATASETS:
        groups[b[n]["group"]] = groups.get(b[n]["group"], 0.0) + b[n]["weight"] * b[n]["n"]
    assert set(groups) == {"p", "He", "CNO", "B/C", "pbar/p", "e-", "e+", "10Be/9Be"}
    assert all(v == pytest.approx(10.0) for v in groups.values())
    b = L.breakdown(FakeResult(matched()), config={"n_ref": None})
    assert all(b[n]["weight"] == 1.0 for n in L.DATASETS)
    b = L.breakdown(FakeResult(matched()), config={"n_ref": 5.0, "groups": {"Voyager B": "Voyager B"}})
    assert b["Voyager B"]["weight"] == pytest.approx(5.0 / 9) and b["AMS-02 B/C"]["weight"] == pytest.approx(5.0 / 67)


def test_s_mod_enters_in_quadrature():
    res = FakeResult(matched(factor={"B/C": 1.2}))
    for s_mod in (0.0, 0.1, 0.3):
        b = L.breakdown(res, datasets=["AMS-02 B/C"], config={"s_mod": s_mod})
        assert b["AMS-02 B/C"]["chi2"] == pytest.approx(_expected_chi2(D.load("AMS-02 B/C"), 1.2, s_mod))


def test_time_band_enters_in_quadrature_like_s_mod():
    # a run that did not settle carries the min-max band of its last snapshots (Result.time_band): a band
    # of constant ln width 2 s_t must score exactly like s_mod -> sqrt(s_mod^2 + s_t^2)
    obs = matched(factor={"B/C": 1.2})
    x, y = obs["B/C"]
    for s_t in (0.0, 0.2, 0.5):
        res = FakeResult(obs, status="not-converged")
        res.time_band = {"B/C": (x, y * math.exp(-s_t), y * math.exp(s_t))}
        b = L.breakdown(res, datasets=["AMS-02 B/C"])
        s_eff = math.sqrt(0.1 ** 2 + s_t ** 2)
        assert b["AMS-02 B/C"]["chi2"] == pytest.approx(_expected_chi2(D.load("AMS-02 B/C"), 1.2, s_eff), rel=1e-9)
    # a band on another observable does not touch B/C; a steady result has none
    res = FakeResult(obs)
    res.time_band = {"p": (x, y * 0.1, y * 10)}
    assert L.breakdown(res, datasets=["AMS-02 B/C"])["AMS-02 B/C"]["chi2"] == pytest.approx(
        _expected_chi2(D.load("AMS-02 B/C"), 1.2), rel=1e-9)


# --- bad models ---

@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.0, -1.0])
def test_bad_model_value_where_data_exist_gives_minus_inf(bad):
    obs = matched()
    x, y = obs["B/C"]
    y = y.copy()
    y[20] = bad
    obs["B/C"] = (x, y)
    res = FakeResult(obs)
    lnL = L.loglike(res)
    assert lnL == -math.inf and not math.isnan(lnL)
    b = L.breakdown(res)
    assert b["total"]["loglike"] == -math.inf and "AMS-02 B/C" in b["total"]["reason"]
    assert "non-finite or non-positive" in b["AMS-02 B/C"]["flag"]


def test_nan_model_outside_the_data_is_harmless():
    obs = matched()
    x, y = obs["B/C"]
    obs["B/C"] = (np.append(x, [5e3, 1e4]), np.append(y, [np.nan, -1.0]))
    assert L.loglike(FakeResult(obs)) == pytest.approx(0.0, abs=TOL_EXACT)


def test_all_nan_model_and_nan_modulation_give_minus_inf():
    obs = {q: (x, np.full_like(y, np.nan)) for q, (x, y) in matched().items()}
    assert L.loglike(FakeResult(obs)) == -math.inf
    nan_mod = FakeResult(matched(), modulate=lambda o, phi: {q: (x, y * np.nan) for q, (x, y) in o.items()})
    assert L.loglike(nan_mod) == -math.inf


def test_failed_and_not_converged_status():
    res = FakeResult(matched(factor={"B/C": 1.2}), status="failed", message="collapse")
    b = L.breakdown(res)
    assert L.loglike(res) == -math.inf and "failed" in b["total"]["reason"]
    good = L.loglike(FakeResult(matched(factor={"B/C": 1.2})))
    nc = FakeResult(matched(factor={"B/C": 1.2}), status="not-converged")
    assert L.loglike(nc) == pytest.approx(good)
    assert "not-converged" in L.breakdown(nc)["total"]["flags"][0]
    assert L.loglike(nc, config={"not_converged_penalty": 3.0}) == pytest.approx(good - 3.0)
    assert L.loglike(nc, config={"not_converged": "reject"}) == -math.inf


def test_a_run_that_ended_before_min_t_is_not_scored():
    """A not-converged run that stopped (stalled, or out of steps) before min(min_t_myr, t_max) still shows its
    initial state: -inf with the reason. A run that reached its own shorter t_max, or 100 Myr, is scored."""
    good = L.loglike(FakeResult(matched(factor={"B/C": 1.2})))

    def nc(t_end, t_max):
        r = FakeResult(matched(factor={"B/C": 1.2}), status="not-converged", message="stalled at t = 1.4 Myr")
        r.t_end_myr, r.t_max_myr = t_end, t_max
        return r

    early = nc(1.4, 10000.0)
    assert L.loglike(early) == -math.inf
    reason = L.breakdown(early)["total"]["reason"]
    assert "t = 1.4 Myr" in reason and "min_t_myr" in reason and "stalled" in reason
    assert L.loglike(nc(99.0, 10000.0)) == -math.inf
    assert L.loglike(nc(100.0, 10000.0)) == pytest.approx(good)     # reached min_t_myr
    assert L.loglike(nc(20.0, 20.0)) == pytest.approx(good)         # reached the t_max it was asked for
    assert L.loglike(nc(20.0, 10000.0), config={"min_t_myr": 10.0}) == pytest.approx(good)
    steady = FakeResult(matched(factor={"B/C": 1.2}))
    steady.t_end_myr, steady.t_max_myr = 5.0, 10000.0                # steady early: a real steady state
    assert L.loglike(steady) == pytest.approx(good)


# --- modulation: which data see which model ---

def test_toa_data_see_the_modulated_model_voyager_the_lis():
    f = lambda phi: 1.0 + phi   # noqa: E731
    res = FakeResult(matched(), modulate=lambda o, phi: {q: (x, y * f(phi)) for q, (x, y) in o.items()})
    nuis = {"phi_AMS02": 0.7, "phi_ACE": 0.5, "phi_ISOMAX": 0.3}
    b = L.breakdown(res, nuisance=nuis)
    assert sorted(res.phi_calls) == [0.3, 0.5, 0.7]       # one modulated() call per distinct phi
    for n in L.DATASETS:
        d = D.load(n)
        if d.experiment == "Voyager 1":
            assert b[n]["phi_GV"] is None and b[n]["chi2"] == pytest.approx(0, abs=TOL_EXACT)
        else:
            phi = nuis[L.PHI_KEYS[d.experiment]]
            assert b[n]["phi_GV"] == phi
            assert b[n]["chi2"] == pytest.approx(_expected_chi2(d, f(phi)), rel=RTOL_CHI2)
    assert L.breakdown(res, nuisance={k: 0.0 for k in nuis})["total"]["chi2"] == pytest.approx(0, abs=TOL_EXACT)
    assert L.breakdown(res)["AMS-02 p"]["phi_GV"] == L.NUISANCE_DEFAULTS["phi_AMS02"] == 0.6


def test_cut_mode_uses_the_lis_above_a_rigidity():
    res = FakeResult(matched(), modulate=lambda o, phi: pytest.fail("modulated() called in cut mode"))
    b = L.breakdown(res, config={"modulation": "cut"})
    p = D.load("AMS-02 p")
    assert b["AMS-02 p"]["n_cut"] == int(np.sum(p.x < 20.0)) and b["AMS-02 p"]["n"] == int(np.sum(p.x >= 20))
    e = D.load("AMS-02 e-")
    assert b["AMS-02 e-"]["n"] == int(np.sum(e.x >= 10.0 - 1e-6))
    assert b["ACE 10Be/9Be"]["n"] == 0 and "no data points" in b["ACE 10Be/9Be"]["flag"]
    assert b["Voyager p"]["n"] == D.load("Voyager p").n                  # LIS data are never cut
    b = L.breakdown(res, config={"modulation": "cut", "r_min_GV": {"AMS-02 p": 50.0}})
    assert b["AMS-02 p"]["n"] == int(np.sum(p.x >= 50.0))
    # weights follow the points that pass the cuts, so each group still weighs N_ref
    assert b["AMS-02 p"]["weight"] == pytest.approx(10.0 / (b["AMS-02 p"]["n"] + D.load("Voyager p").n))


def test_r_min_and_x_range_in_force_field_mode():
    res = FakeResult(matched(factor={"B/C": 1.1}))
    d = D.load("AMS-02 B/C")
    b = L.breakdown(res, datasets=["AMS-02 B/C"], config={"x_range": {"AMS-02 B/C": (10.0, 100.0)}})
    keep = (d.x >= 10) & (d.x <= 100)
    assert b["AMS-02 B/C"]["n"] == keep.sum() and b["AMS-02 B/C"]["n_cut"] == (~keep).sum()
    b = L.breakdown(res, datasets=["AMS-02 B/C"], config={"r_min_GV": {"AMS-02 B/C": 10.0}})
    assert b["AMS-02 B/C"]["n"] == int(np.sum(d.x >= 10))


def test_data_outside_the_model_range_are_excluded_and_counted():
    obs = matched()
    x, y = obs["B/C"]
    sel = (x >= 5.0) & (x <= 100.0)
    obs["B/C"] = (x[sel], y[sel] * 1.1)
    b = L.breakdown(FakeResult(obs), datasets=["AMS-02 B/C"])
    d = D.load("AMS-02 B/C")
    inside = (d.x >= x[sel][0]) & (d.x <= x[sel][-1])
    row = b["AMS-02 B/C"]
    assert row["n_outside"] == (~inside).sum() > 0 and row["n"] == inside.sum()
    assert "outside the model x range" in row["flag"]
    exp = math.log(1.1) ** 2 * np.sum(1 / ((d.sigma[inside] / d.y[inside]) ** 2 + 0.01))
    assert row["chi2"] == pytest.approx(exp)


def test_loglog_interpolation_of_a_power_law_is_exact():
    d = D.load("AMS-02 p")
    R = np.geomspace(0.5, 5e3, 40)
    res = FakeResult({"p": (R, 1.8e4 * R ** -2.7)})
    b = L.breakdown(res, datasets=["AMS-02 p"], config={"s_mod": 0.0})
    exp = np.sum((np.log(1.8e4 * d.x ** -2.7) - np.log(d.y)) ** 2 / (d.sigma / d.y) ** 2)
    assert b["AMS-02 p"]["chi2"] == pytest.approx(exp, rel=1e-9)


def test_rigidity_to_kinetic_energy_per_nucleon_by_hand():
    m = 0.93827208816                 # proton at R = 1 GV: p = 1 GeV/c
    E_tot = math.sqrt(1 + m * m)
    E, J = L.model_on_data_axis(np.array([1.0]), np.array([2.0]), "p", "Ekn")
    assert E[0] == pytest.approx(E_tot - m) and J[0] == pytest.approx(2.0 * E_tot)   # J_E = J_R / beta
    E, J = L.model_on_data_axis(np.array([2.0]), np.array([1.0]), "He", "Ekn")      # He: p/n = 1 GeV/c
    assert J[0] == pytest.approx(2.0 * math.sqrt(1 + _SP["He"].mass_GeV ** 2))
    with pytest.raises(ConfigError, match="cannot compare"):
        L.model_on_data_axis(np.array([1.0]), np.array([0.3]), "B/C", "Ekn")


# --- configuration errors ---

def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ConfigError, match="expected one of") as e:
        L.LikelihoodConfig(datasets=("AMS-02 B/C", "AMS02 pbar/p"))
    assert "'AMS-02 pbar/p'" in str(e.value)
    with pytest.raises(ConfigError, match="unknown"):
        L.loglike(FakeResult(matched()), datasets=["Voyager H"])


@pytest.mark.parametrize("cfg, match", [
    ({"x_range": {"AMS-02 B/C": (100.0, 10.0)}}, r"x_range\['AMS-02 B/C'\]"),
    ({"x_range": {"AMS-02 B/C": (-1.0, 10.0)}}, r"x_range\['AMS-02 B/C'\]"),
    ({"x_range": {"AMS-02 B/C": "low"}}, r"x_range\['AMS-02 B/C'\]"),
    ({"r_min_GV": {"AMS-02 p": -5}}, r"r_min_GV\['AMS-02 p'\]"),
    ({"r_min_GV": {"AMS-02 q": 5}}, "r_min_GV: dataset 'AMS-02 q' is unknown"),
    ({"s_mod": -0.1}, "likelihood.s_mod"),
    ({"n_ref": 0.0}, "likelihood.n_ref"),
    ({"modulation": "forcefield"}, "likelihood.modulation"),
    ({"not_converged": "ignore"}, "likelihood.not_converged"),
    ({"min_t_myr": -1.0}, "likelihood.min_t_myr"),
    ({"smod": 0.2}, "Did you mean 's_mod'"),
    ({"datasets": ("AMS-02 10Be/9Be (preliminary)",)}, "validation-only"),
])
def test_bad_config_names_the_field(cfg, match):
    with pytest.raises(ConfigError, match=match):
        L.LikelihoodConfig.from_dict(cfg)


def test_validation_only_data_need_an_explicit_opt_in():
    name = "AMS-02 10Be/9Be (preliminary)"
    with pytest.raises(ConfigError, match="validation-only"):
        L.loglike(FakeResult(matched()), datasets=[name])
    res = FakeResult(matched([name]))
    assert L.loglike(res, config={"datasets": (name,), "allow_validation_only": True}) == pytest.approx(0, abs=1e-12)


def test_bad_nuisance_names_the_parameter():
    res = FakeResult(matched())
    with pytest.raises(ConfigError, match="Did you mean 'phi_AMS02'"):
        L.loglike(res, nuisance={"phi_AMS": 0.5})
    with pytest.raises(ConfigError, match="nuisance.phi_AMS02"):
        L.loglike(res, nuisance={"phi_AMS02": -0.1})
    assert all(lo <= L.NUISANCE_DEFAULTS[k] <= hi for k, (lo, hi) in L.NUISANCE_PRIOR_RANGES.items())
    assert L.NUISANCE_PRIOR_RANGES["phi_AMS02"] == (0.4, 0.9)


def test_missing_observable_is_a_config_error():
    obs = matched()
    del obs["B/C"]
    with pytest.raises(ConfigError, match="needs model observable 'B/C'"):
        L.loglike(FakeResult(obs))


# --- force-field modulation of the engine (docs/interfaces.md) ---

def _force_field():
    obs = pytest.importorskip("engine.observables", reason="engine.observables not written yet")
    if not hasattr(obs, "force_field"):
        pytest.skip("engine.observables.force_field not written yet")
    return obs.force_field


def test_force_field_is_identity_at_phi_zero():
    ff = _force_field()
    E = np.geomspace(1e-3, 1e3, 121)
    J = 1e4 * (E + 1.0) ** -2.7
    np.testing.assert_allclose(ff(E, J, 2, 4, 0.0), J, rtol=1e-12)


def test_force_field_hand_computed_power_law():
    ff = _force_field()
    E = np.geomspace(1e-2, 1e3, 201)     # power law in E: log-log interpolation is exact
    J = 1e4 * E ** -2.7
    m = _SP["p"].mass_GeV
    phi = 0.6
    i = np.argmin(abs(E - 1.0))
    e = E[i]
    Phi = 1 * phi / 1                 # |Z| e phi / A [GeV per nucleon]
    expected = 1e4 * (e + Phi) ** -2.7 * e * (e + 2 * m) / ((e + Phi) * (e + Phi + 2 * m))
    got = ff(E, J, 1, 1, phi, mass_GeV=m)
    assert got[i] == pytest.approx(expected, rel=1e-6)
    # He: Phi = Z phi / A = 0.3 GeV/n
    mHe = _SP["He"].mass_GeV
    expected = 1e4 * (e + 0.3) ** -2.7 * e * (e + 2 * mHe) / ((e + 0.3) * (e + 0.3 + 2 * mHe))
    assert ff(E, J, 2, 4, phi, mass_GeV=mHe)[i] == pytest.approx(expected, rel=1e-6)
