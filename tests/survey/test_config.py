"""Tests for survey/config.py: every bad field names the field, the value and what is allowed."""

import glob
from pathlib import Path

import pytest

from survey.config import ConfigError, SurveyConfig, config_diff, load_config

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"survey": {"name": "t", "preset": "empirical", "model": "toymodels:gaussian"},
        "sampler": {"nwalkers": 8, "nsteps": 5}}


def _with(section, **kw):
    d = {k: dict(v) for k, v in GOOD.items()}
    d.setdefault(section, {}).update(kw)
    return d


@pytest.mark.parametrize("path", sorted(glob.glob(str(ROOT / "examples" / "*.toml"))))
def test_examples_load(path):
    try:
        cfg = load_config(path)
    except ConfigError as e:  # the engine does not ship every law yet: only that may fail
        assert "is not an engine law" in str(e) or "has no parameter" in str(e), str(e)
        return
    assert cfg.space.ndim >= 1
    assert SurveyConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()


@pytest.mark.parametrize("d, words", [
    ({**GOOD, "samplr": {}}, ["samplr", "did you mean 'sampler'"]),
    (_with("sampler", nwalker=8), ["sampler.nwalker", "did you mean 'nwalkers'"]),
    (_with("survey", preset="empirica"), ["survey.preset", "'empirica'", "did you mean 'empirical'"]),
    (_with("survey", law="sc_reference"), ["survey.law", "'sc_reference'", "empirical"]),
    (_with("survey", mode="mcmx"), ["survey.mode", "did you mean 'mcmc'"]),
    (_with("sampler", nwalkers=7), ["sampler.nwalkers = 7", "even"]),
    (_with("sampler", nwalkers=4), ["sampler.nwalkers = 4", "2*ndim = 6"]),
    (_with("sampler", nsteps=0), ["sampler.nsteps = 0", ">= 1"]),
    (_with("sampler", moves=[["stretsh", 1.0]]), ["'stretsh'", "did you mean 'stretch'"]),
    (_with("sampler", moves=[["de", -1]]), ["weight of 'de'", "> 0"]),
    (_with("sampler", nsteps="ten"), ["sampler.nsteps = 'ten'", "integer"]),
    (_with("parameters", delat={"lo": 0, "hi": 1, "prior": "uniform", "unit": ""} | {"sigam": 2}),
     ["parameters.delat.sigam", "did you mean 'sigma'"]),
    (_with("parameters", delat={}), ["parameters.delat", "did you mean 'delta'"]),
    (_with("parameters", delta={"lo": 0.9, "hi": 0.1}), ["lo = 0.9", "hi = 0.1"]),
    (_with("parameters", nu0={"prior": "loguniform", "lo": -1.0, "hi": 1.0}), ["parameters.nu0.lo = -1.0", "> 0"]),
    (_with("fixed", dleta=0.5), ["fixed.dleta", "did you mean 'delta'"]),
    (_with("resources", n_agents=-1), ["resources.n_agents = -1", ">= 0"]),
    (_with("resources", adress="auto"), ["resources.adress", "did you mean 'address'"]),
    (_with("design", method="lhc"), ["design.method = 'lhc'", "did you mean 'lhs'"]),
    (_with("engine", t_max_myr=-5), ["engine.t_max_myr = -5", "> 0"]),
    (_with("engine", max_steps=5), ["engine.max_steps = 5", "10 <= max_steps <= 1000000"]),
    (_with("engine", max_steps=100.0), ["engine.max_steps = 100.0", "integer"]),
    (_with("survey", model="toymodels.gaussian"), ["survey.model", "module:function"]),
])
def test_bad_config_messages(d, words):
    with pytest.raises(ConfigError) as e:
        SurveyConfig.from_dict(d)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_bad_dataset_name_suggests():
    pytest.importorskip("survey.likelihood")
    with pytest.raises(ConfigError) as e:
        SurveyConfig.from_dict(_with("likelihood", datasets=["AMS-02 B/D"]))
    assert "'AMS-02 B/D'" in str(e.value) and "AMS-02 B/C" in str(e.value)


def test_engine_rejects_unknown_law_parameter():
    pytest.importorskip("engine.laws")
    d = {"survey": {"name": "t", "law": "empirical"}, "parameters": {"xi_k": {}, "delta": {}},
         "sampler": {"nwalkers": 8, "nsteps": 2}}
    with pytest.raises(ConfigError) as e:
        SurveyConfig.from_dict(d)
    assert "parameters.xi_k" in str(e.value) and "delta" in str(e.value)


def test_preset_fills_free_parameters_of_its_engine_law():
    """new-linear frees the Fig. 6 law's parameters (zeta_A = 1, zeta_cr = 0 are built into engine new_linear)."""
    cfg = SurveyConfig.from_dict({"survey": {"preset": "new-linear", "model": "toymodels:gaussian"},
                                  "sampler": {"nwalkers": 8}})
    assert cfg.space.names == ["zeta_k", "log10_psi0", "log10_f_sc", "phi_AMS02"]
    assert not cfg.space.fixed
    assert cfg.survey.engine_law == "new_linear"


def test_live_law_without_preset_and_injection_parameter_are_accepted():
    cfg = SurveyConfig.from_dict({"survey": {"law": "et_yl04"}, "sampler": {"nwalkers": 8},
                                  "parameters": {"log10_A": {"prior": "uniform", "lo": -1, "hi": 1},
                                                 "eps_inj": {"prior": "uniform", "lo": 0.1, "hi": 0.4}}})
    assert cfg.survey.engine_law == "et_yl04"
    assert "eps_inj" in cfg.space.names


def test_fixed_shorthand_and_parameter_override():
    cfg = SurveyConfig.from_dict(_with("parameters", phi_AMS02={"prior": "fixed", "value": 0.55}) | {"fixed": {"delta": 0.6}})
    assert cfg.space.names == ["nu0"] or cfg.space.names == ["nu0"]  # only nu0 left free
    assert cfg.space.values([-9.0])["delta"] == 0.6 and cfg.space.values([-9.0])["phi_AMS02"] == 0.55


def test_config_diff_names_fields_and_ignores_runtime_knobs():
    a = SurveyConfig.from_dict(GOOD).to_dict()
    b = SurveyConfig.from_dict(_with("sampler", seed=9, nsteps=50) | {"resources": {"n_agents": 4}}).to_dict()
    assert config_diff(a, b) == ["sampler.seed"]
    c = SurveyConfig.from_dict(_with("parameters", delta={"lo": 0.1, "hi": 0.9})).to_dict()
    assert config_diff(a, c) == ["parameters.delta.hi", "parameters.delta.lo"]


def test_step_budget_range_is_the_engines():
    engine_solver = pytest.importorskip("engine.solver")
    from survey.config import MAX_STEPS_RANGE

    assert MAX_STEPS_RANGE == engine_solver.MAX_STEPS_RANGE
