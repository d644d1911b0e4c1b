"""Tests for priors/: registry ranges (H22 Table 2), prior families, presets, parameter space."""

import math

import numpy as np
import pytest

from priors import ENGINE_LAWS, PARAMETERS, PRESETS, Parameter, ParameterSpace, PriorError

# physics spec Sec. 8 survey ranges
TABLE2 = {"xi_k": (0, 2), "xi_A": (0, 1), "xi_cr": (0, 1), "zeta_k": (-2, 2), "zeta_A": (0, 1), "zeta_cr": (0, 1)}
RTOL_QUAD = 1e-3  # trapezoid on 20001 points


@pytest.mark.parametrize("name", sorted(TABLE2))
def test_exponent_ranges_follow_table2(name):
    p = PARAMETERS[name]
    assert (p.lo, p.hi) == TABLE2[name]
    assert p.prior == "uniform"


def test_nu0_loguniform_and_nuisance():
    nu0 = PARAMETERS["nu0"]
    assert nu0.prior == "loguniform" and (nu0.lo, nu0.hi) == (1e-10, 1e-8)
    assert nu0.sample_name == "log10_nu0" and nu0.sample_bounds == (-10, -8)
    assert PARAMETERS["phi_AMS02"].target == "nuisance" and (PARAMETERS["phi_AMS02"].lo, PARAMETERS["phi_AMS02"].hi) == (0.4, 0.9)
    assert (PARAMETERS["delta"].lo, PARAMETERS["delta"].hi) == (0, 1.2)


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_prior_is_normalised_and_round_trips(name):
    p = PARAMETERS[name]
    lo, hi = p.sample_bounds
    u = np.linspace(lo, hi, 20001)
    dens = np.exp([p.log_prior(x) for x in u])
    assert np.trapezoid(dens, u) == pytest.approx(1.0, rel=RTOL_QUAD)
    assert p.log_prior(hi + 1e-9) == -math.inf
    x = p.to_value(0.5 * (lo + hi))
    assert p.to_sample(x) == pytest.approx(0.5 * (lo + hi))


def test_normal_prior_truncated_draws():
    p = Parameter("eps_inj", lo=0.0, hi=0.2, prior="normal", mu=0.1, sigma=0.1)
    x = p.draw(np.random.default_rng(0), 5000)
    assert x.min() >= 0 and x.max() <= 0.2
    assert p.log_prior(0.1) > p.log_prior(0.19)


@pytest.mark.parametrize("kw, words", [
    ({"prior": "unifrom"}, ["unifrom", "uniform"]),
    ({"lo": 1.0, "hi": 0.0}, ["lo = 1.0", "hi = 0.0"]),
    ({"prior": "loguniform", "lo": 0.0, "hi": 1.0}, ["lo = 0.0", "loguniform"]),
    ({"prior": "normal", "lo": 0, "hi": 1}, ["mu", "sigma"]),
    ({"prior": "fixed"}, ["value"]),
])
def test_bad_parameter_messages(kw, words):
    base = {"name": "x", "lo": 0.0, "hi": 1.0}
    with pytest.raises(PriorError) as e:
        Parameter(**{**base, **kw})
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_consistent(name):
    pr = PRESETS[name]
    assert pr.law in pr.laws and set(pr.laws) <= set(ENGINE_LAWS)
    for n in list(pr.free) + list(pr.fixed):
        assert n in PARAMETERS
    assert not set(pr.free) & set(pr.fixed)


def test_space_split_and_design_mapping():
    sp = ParameterSpace([PARAMETERS["nu0"], PARAMETERS["delta"], PARAMETERS["phi_AMS02"],
                         PARAMETERS["xi_A"].with_(prior="fixed", value=0.0)])
    assert sp.sample_names == ["log10_nu0", "delta", "phi_AMS02"]
    eng, nui = sp.split([-9.0, 0.5, 0.6])
    assert eng == {"nu0": pytest.approx(1e-9), "delta": 0.5, "xi_A": 0.0} and nui == {"phi_AMS02": 0.6}
    x = sp.from_unit(np.array([[0.0, 0.5, 1.0]]))
    np.testing.assert_allclose(x, [[-10.0, 0.6, 0.9]])
    assert sp.log_prior([-11.0, 0.5, 0.6]) == -math.inf
