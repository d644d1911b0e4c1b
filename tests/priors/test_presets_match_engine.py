"""The survey's parameter registry, presets and example configs against the engine's live law ParamSpecs.

priors/ does not import the engine: its copy of the law parameters (priors.ENGINE_LAW_SPECS) is checked
here against engine.laws, and every preset and example config is resolved and handed to the engine.
"""

import glob
import math
from pathlib import Path

import pytest

from priors import ENGINE_LAW_SPECS, ENGINE_LAWS, LAW_PARAMETERS, PARAMETERS, PRESETS

laws = pytest.importorskip("engine.laws")
laws._load_wave_laws()
from engine.species import INJECTION_PARAMS  # noqa: E402

from survey.config import SurveyConfig, load_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(glob.glob(str(ROOT / "examples" / "*.toml")))
ENGINE = laws.PRESETS


def _inside(p, spec):
    return spec.lo <= p.lo and p.hi <= spec.hi


def _preset_parameters(preset):
    """The preset's free parameters as priors resolves them (registry entry + preset override)."""
    return [PARAMETERS[n].with_(**preset.overrides.get(n, {})) for n in preset.free]


# === the registry's copy of the engine ParamSpecs === #

def test_registry_knows_exactly_the_engine_laws():
    assert list(ENGINE_LAWS) == list(ENGINE_LAW_SPECS) == list(LAW_PARAMETERS)
    assert set(ENGINE_LAWS) == set(ENGINE)


@pytest.mark.parametrize("law", sorted(ENGINE))
def test_law_parameters_are_the_engine_paramspecs(law):
    specs = ENGINE[law].PARAMS
    assert list(LAW_PARAMETERS[law]) == list(specs)
    for name, spec in specs.items():
        assert ENGINE_LAW_SPECS[law][name] == (spec.default, spec.lo, spec.hi, spec.unit, spec.doc), (law, name)
        p = LAW_PARAMETERS[law][name]
        assert (p.lo, p.hi, p.value, p.unit, p.doc) == (spec.lo, spec.hi, spec.default, spec.unit, spec.doc)
        assert p.target == "engine" and p.free
        # exponents and log10_* normalisations: uniform in the value itself; the rate nu0: log-uniform
        assert p.prior == ("loguniform" if name == "nu0" else "uniform"), (law, name)


def test_every_engine_law_parameter_is_in_the_registry():
    for law, cls in ENGINE.items():
        for name, spec in cls.PARAMS.items():
            p = PARAMETERS[name]
            assert p.target == "engine" and p.unit == spec.unit and p.doc, (law, name)


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_registry_bounds_inside_the_engine_range(name):
    """A name-level registry prior lies inside the engine range of the law it was taken from (the widest);
    laws with a narrower range for the same name get theirs through their preset (tested below)."""
    p = PARAMETERS[name]
    owners = {law: cls.PARAMS[name] for law, cls in ENGINE.items() if name in cls.PARAMS}
    if owners:
        assert any(_inside(p, s) for s in owners.values()), (name, (p.lo, p.hi), owners)
        assert p.lo >= min(s.lo for s in owners.values()) and p.hi <= max(s.hi for s in owners.values())
        assert any(s.lo <= p.value <= s.hi for s in owners.values())
    elif p.target == "engine":  # not a law parameter: an injection parameter of engine.solve
        _default, lo, hi, unit, _doc = INJECTION_PARAMS[name]
        assert lo <= p.lo and p.hi <= hi and p.unit == unit
    else:
        assert p.target == "nuisance"


# === presets === #

@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_parameters_are_accepted_by_its_laws(name):
    preset = PRESETS[name]
    assert "phi_AMS02" in preset.free and PARAMETERS["phi_AMS02"].target == "nuisance"
    params = _preset_parameters(preset)
    for law in preset.laws:
        specs = ENGINE[law].PARAMS
        engine_params = [p for p in params if p.target == "engine"]
        assert engine_params, (name, law)
        for p in engine_params:
            assert p.name in specs, f"preset {name!r}: law {law!r} has no parameter {p.name!r}"
            s = specs[p.name]
            assert _inside(p, s), (name, law, p.name, (p.lo, p.hi), (s.lo, s.hi))
            assert s.lo <= p.value <= s.hi
            for u in (p.sample_bounds[0], 0.5 * sum(p.sample_bounds), p.sample_bounds[1]):
                laws.make_law(law, {p.name: p.to_value(u)})
        centre = {p.name: p.to_value(0.5 * sum(p.sample_bounds)) for p in engine_params}
        assert laws.make_law(law, centre).params == {**{k: s.default for k, s in specs.items()}, **centre}
        for n, v in preset.fixed.items():
            laws.make_law(law, {n: v})


@pytest.mark.parametrize("name, law", [(n, law) for n, pr in sorted(PRESETS.items()) for law in pr.laws])
def test_preset_configs_pass_the_engine_check(name, law):
    cfg = SurveyConfig.from_dict({"survey": {"name": "t", "preset": name, "law": law},
                                  "sampler": {"nwalkers": 32, "nsteps": 2}})
    assert cfg.survey.engine_law == law
    assert cfg.space.names == list(PRESETS[name].free)
    specs = ENGINE[law].PARAMS
    for p in cfg.parameters:
        if p.target == "engine":
            assert _inside(p, specs[p.name]), (name, law, p.name)
    eng, nui = cfg.space.split(cfg.space.bounds.mean(axis=1))
    laws.make_law(law, eng)
    assert set(nui) == {"phi_AMS02"}


def test_preset_with_a_law_lacking_a_parameter_is_rejected():
    with pytest.raises(Exception) as e:
        SurveyConfig.from_dict({"survey": {"preset": "sc", "law": "sc_only"}, "sampler": {"nwalkers": 8}})
    assert "survey.law" in str(e.value)


# === example configs === #

@pytest.mark.parametrize("path", EXAMPLES, ids=[Path(p).name for p in EXAMPLES])
def test_example_config_loads_against_the_engine(path):
    cfg = load_config(path)  # strict: unknown names, ranges and engine parameters all raise
    assert cfg.survey.model == "engine" and cfg.space.ndim >= 1
    law = cfg.survey.engine_law
    specs = ENGINE[law].PARAMS
    for p in cfg.parameters:
        if p.target == "engine":
            assert p.name in specs, (path, p.name)
            if p.free:
                assert _inside(p, specs[p.name]), (path, p.name)
    eng, _ = cfg.space.split(cfg.space.bounds.mean(axis=1))
    made = laws.make_law(law, eng)
    assert all(math.isfinite(v) for v in made.params.values())
    assert SurveyConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()


def test_quick_example_is_the_readme_demo():
    cfg = load_config(ROOT / "examples" / "quick.toml")
    assert cfg.survey.engine_law == "empirical"
    assert cfg.space.sample_names == ["log10_nu0", "delta", "phi_AMS02"]
