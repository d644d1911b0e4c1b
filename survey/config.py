"""Survey configuration: TOML -> validated, resolved :class:`SurveyConfig` [style guide Sec. 7]."""

from __future__ import annotations

import copy
import math
import tomllib
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from priors import ENGINE_LAWS, PARAMETERS, PRESETS, Parameter, ParameterSpace, PriorError, nearest

try:  # share the engine's error hierarchy when the engine is importable
    from engine.errors import ConfigError as _ConfigBase
except Exception:  # pragma: no cover - engine not written yet / broken
    _ConfigBase = ValueError

__all__ = [
    "ConfigError",
    "SurveyConfig",
    "SurveySection",
    "SamplerSection",
    "DesignSection",
    "LikelihoodSection",
    "EngineSection",
    "ResourcesSection",
    "MOVES",
    "load_config",
    "config_diff",
]


class ConfigError(_ConfigBase):
    """Bad survey configuration. The message names the field, the value and what is allowed."""


#: emcee moves a config may name (all red-blue moves, so walkers can be tracked per evaluation).
MOVES = ("stretch", "de", "desnooker", "walk", "kde")
MODES = ("mcmc", "design")
DESIGN_METHODS = ("lhs", "grid")
INITS = ("prior", "ball")
PARAM_FIELDS = ("prior", "lo", "hi", "value", "mu", "sigma", "unit", "target", "doc")


def _engine_laws() -> tuple[str, ...]:
    try:
        from engine.laws import PRESETS as ENGINE_PRESETS  # noqa: N811
        from engine.laws import _load_wave_laws

        _load_wave_laws()  # the live laws register themselves on import
        return tuple(ENGINE_PRESETS)
    except Exception:
        return ENGINE_LAWS


def _engine_extra_params() -> set:
    """Non-law parameters engine.solve accepts (injection/nuisance), if the engine publishes them."""
    try:
        import engine

        return set(engine.SOLVE_PARAMS)
    except Exception:
        return set()


def _known_datasets():
    try:
        from survey.likelihood import DATASETS

        return tuple(DATASETS)
    except Exception:
        return None


def _check_keys(section: str, given: dict, cls) -> None:
    allowed = [f.name for f in fields(cls)]
    for k in given:
        if k not in allowed:
            raise ConfigError(
                f"{section}.{k} is not a valid field{nearest(k, allowed)}; allowed: {', '.join(allowed)}"
            )


def _typed(section: str, name: str, value, kinds, what: str):
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(f"{section}.{name} = {value!r} is not {what}")
    if not isinstance(value, kinds):
        raise ConfigError(f"{section}.{name} = {value!r} is not {what}")
    return value


# === Sections === #


@dataclass(frozen=True)
class SurveySection:
    name: str = "survey"
    preset: str | None = None
    law: str | None = None
    mode: str = "mcmc"
    model: str = "engine"  # "engine" or "module:function" (a factory, see survey.agents)
    description: str = ""

    def __post_init__(self):
        if self.preset is not None and self.preset not in PRESETS:
            raise ConfigError(
                f"survey.preset = {self.preset!r} is not a preset: expected one of "
                f"{', '.join(PRESETS)}{nearest(self.preset, PRESETS)}"
            )
        if self.preset is None and self.law is None:
            raise ConfigError("survey: give preset = ... or law = ... (presets: " + ", ".join(PRESETS) + ")")
        if self.law is not None:
            allowed = PRESETS[self.preset].laws if self.preset else _engine_laws()
            if self.law not in allowed:
                raise ConfigError(
                    f"survey.law = {self.law!r} is not allowed"
                    + (f" for preset {self.preset!r}" if self.preset else "")
                    + f": expected one of {', '.join(allowed)}{nearest(self.law, allowed)}"
                )
        if self.mode not in MODES:
            raise ConfigError(f"survey.mode = {self.mode!r}: expected one of {', '.join(MODES)}{nearest(self.mode, MODES)}")
        if self.model != "engine" and ":" not in self.model:
            raise ConfigError(f"survey.model = {self.model!r}: expected 'engine' or 'module:function'")

    @property
    def engine_law(self) -> str:
        return self.law or PRESETS[self.preset].law


@dataclass(frozen=True)
class SamplerSection:
    nwalkers: int = 16
    nsteps: int = 100
    ensembles: int = 2
    seed: int = 0
    moves: list = field(default_factory=lambda: [["de", 0.8], ["desnooker", 0.2]])
    init: str = "prior"
    init_ball: float = 0.01  # relative width (of the prior range) of the "ball" init around prior centres
    convergence: bool = False  # stop early when N > tau_factor * tau and R-hat < rhat_max
    tau_factor: float = 50.0
    rhat_max: float = 1.05
    check_every: int = 10
    min_steps: int = 0

    def __post_init__(self):
        s = "sampler"
        for k in ("nwalkers", "nsteps", "ensembles", "seed", "check_every", "min_steps"):
            _typed(s, k, getattr(self, k), (int,), "an integer")
        if self.nwalkers < 2 or self.nwalkers % 2:
            raise ConfigError(f"sampler.nwalkers = {self.nwalkers} must be an even number >= 2")
        if self.nsteps < 1:
            raise ConfigError(f"sampler.nsteps = {self.nsteps} must be >= 1")
        if not 1 <= self.ensembles <= 64:
            raise ConfigError(f"sampler.ensembles = {self.ensembles} out of range: expected 1 <= ensembles <= 64")
        if self.seed < 0:
            raise ConfigError(f"sampler.seed = {self.seed} must be >= 0")
        if self.init not in INITS:
            raise ConfigError(f"sampler.init = {self.init!r}: expected one of {', '.join(INITS)}{nearest(self.init, INITS)}")
        moves = self.moves if not isinstance(self.moves, str) else [[self.moves, 1.0]]
        if not isinstance(moves, list) or not moves:
            raise ConfigError(f"sampler.moves = {self.moves!r}: expected a move name or a list of [name, weight]")
        norm = []
        for m in moves:
            name, w = (m, 1.0) if isinstance(m, str) else (tuple(m) + (None,))[:2]
            if name not in MOVES:
                raise ConfigError(f"sampler.moves: {name!r} is not a move: expected one of {', '.join(MOVES)}{nearest(name, MOVES)}")
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not w > 0:
                raise ConfigError(f"sampler.moves: weight of {name!r} = {w!r} must be a number > 0")
            norm.append([name, float(w)])
        object.__setattr__(self, "moves", norm)
        for k in ("tau_factor", "rhat_max", "init_ball"):
            v = _typed(s, k, getattr(self, k), (int, float), "a number")
            if not v > 0:
                raise ConfigError(f"sampler.{k} = {v} must be > 0")


@dataclass(frozen=True)
class DesignSection:
    method: str = "lhs"
    n: int = 64
    levels: int = 3
    seed: int = 0
    batch: int = 16

    def __post_init__(self):
        if self.method not in DESIGN_METHODS:
            raise ConfigError(
                f"design.method = {self.method!r}: expected one of {', '.join(DESIGN_METHODS)}{nearest(self.method, DESIGN_METHODS)}"
            )
        for k in ("n", "levels", "seed", "batch"):
            _typed("design", k, getattr(self, k), (int,), "an integer")
        if self.n < 1 or self.levels < 2 or self.batch < 1:
            raise ConfigError(f"design: need n >= 1, levels >= 2, batch >= 1 (got n={self.n}, levels={self.levels}, batch={self.batch})")


@dataclass(frozen=True)
class LikelihoodSection:
    datasets: list | None = None
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.datasets is None:
            return
        if not isinstance(self.datasets, list) or not all(isinstance(d, str) for d in self.datasets):
            raise ConfigError(f"likelihood.datasets = {self.datasets!r}: expected a list of dataset names")
        known = _known_datasets()
        if known is not None:
            for d in self.datasets:
                if d not in known:
                    raise ConfigError(
                        f"likelihood.datasets: {d!r} is not a dataset{nearest(d, known)}; known: {', '.join(known)}"
                    )


#: allowed step budget of one evaluation, engine.solver.MAX_STEPS_RANGE (the config loads without the engine;
#: tests/survey/test_config.py checks that the two agree)
MAX_STEPS_RANGE = (10, 1_000_000)


@dataclass(frozen=True)
class EngineSection:
    grid: dict = field(default_factory=dict)
    galaxy: dict = field(default_factory=dict)
    t_max_myr: float = 10000.0
    initial: str = "normal"
    max_steps: int = 0  # step budget of one evaluation; 0 = the engine's (1200 live laws, 4000 fixed ones)

    def __post_init__(self):
        _typed("engine", "t_max_myr", self.t_max_myr, (int, float), "a number")
        if not self.t_max_myr > 0:
            raise ConfigError(f"engine.t_max_myr = {self.t_max_myr} must be > 0")
        _typed("engine", "max_steps", self.max_steps, (int,), "an integer")
        lo, hi = MAX_STEPS_RANGE
        if self.max_steps != 0 and not lo <= self.max_steps <= hi:
            raise ConfigError(f"engine.max_steps = {self.max_steps} is out of range: expected 0 (the engine's "
                              f"default budget) or {lo} <= max_steps <= {hi}")
        if self.initial not in ("normal", "low", "high"):
            raise ConfigError(f"engine.initial = {self.initial!r}: expected one of normal, low, high")
        for k in ("grid", "galaxy"):
            if not isinstance(getattr(self, k), dict):
                raise ConfigError(f"engine.{k} = {getattr(self, k)!r}: expected a table")


@dataclass(frozen=True)
class ResourcesSection:
    n_agents: int = 2  # 0 = evaluate in-process (no Ray)
    address: str = "local"  # local | auto | host:port | ray://host:port
    num_cpus: int = 0  # CPUs of the embedded local Ray (0 = n_agents)

    def __post_init__(self):
        _typed("resources", "n_agents", self.n_agents, (int,), "an integer")
        _typed("resources", "num_cpus", self.num_cpus, (int,), "an integer")
        if self.n_agents < 0:
            raise ConfigError(f"resources.n_agents = {self.n_agents} must be >= 0 (0 = in-process, no Ray)")
        if not isinstance(self.address, str) or not (
            self.address in ("local", "auto") or ":" in self.address
        ):
            raise ConfigError(f"resources.address = {self.address!r}: expected 'local', 'auto', 'host:port' or 'ray://host:port'")


_SECTIONS = {
    "survey": SurveySection,
    "sampler": SamplerSection,
    "design": DesignSection,
    "likelihood": LikelihoodSection,
    "engine": EngineSection,
    "resources": ResourcesSection,
}
_TOP = tuple(_SECTIONS) + ("parameters", "fixed", "model_options")


# === The configuration === #


@dataclass(frozen=True)
class SurveyConfig:
    survey: SurveySection
    parameters: tuple  # tuple[Parameter]; free and fixed, in order
    sampler: SamplerSection = field(default_factory=SamplerSection)
    design: DesignSection = field(default_factory=DesignSection)
    likelihood: LikelihoodSection = field(default_factory=LikelihoodSection)
    engine: EngineSection = field(default_factory=EngineSection)
    resources: ResourcesSection = field(default_factory=ResourcesSection)
    model_options: dict = field(default_factory=dict)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d, *, warn: bool = False) -> "SurveyConfig":
        """Build from a (TOML-shaped or resolved) dict; every bad field raises :class:`ConfigError`."""
        if isinstance(d, SurveyConfig):
            return d
        if not isinstance(d, dict):
            raise ConfigError(f"survey config must be a table/dict, got {type(d).__name__}")
        d = copy.deepcopy(d)
        for k in d:
            if k not in _TOP:
                raise ConfigError(f"{k!r} is not a config section{nearest(k, _TOP)}; allowed: {', '.join(_TOP)}")
        sec = {}
        for name, klass in _SECTIONS.items():
            raw = d.get(name, {})
            if not isinstance(raw, dict):
                raise ConfigError(f"[{name}] must be a table, got {raw!r}")
            _check_keys(name, raw, klass)
            try:
                sec[name] = klass(**raw)
            except TypeError as e:  # pragma: no cover - defensive
                raise ConfigError(f"[{name}]: {e}") from None
        params = _resolve_parameters(sec["survey"], d.get("parameters", {}), d.get("fixed", {}))
        mo = d.get("model_options", {})
        if not isinstance(mo, dict):
            raise ConfigError(f"[model_options] must be a table, got {mo!r}")
        cfg = cls(parameters=tuple(params), model_options=mo, **sec)
        cfg._check_cross(warn)
        return cfg

    def _check_cross(self, warn: bool = False):
        space = self.space
        if space.ndim == 0:
            raise ConfigError("parameters: no free parameter to sample (every parameter is fixed)")
        if self.survey.mode == "mcmc":
            moves = [m for m, _ in self.sampler.moves]
            if self.sampler.nwalkers < 2 * space.ndim:
                raise ConfigError(
                    f"sampler.nwalkers = {self.sampler.nwalkers} is too small for {space.ndim} free parameters "
                    f"({', '.join(space.names)}): emcee's {moves[0]} move needs nwalkers >= 2*ndim = {2 * space.ndim}"
                )
            if warn and self.sampler.nwalkers < 4 * space.ndim:
                _warn_once(f"sampler.nwalkers = {self.sampler.nwalkers} is small for ndim = {space.ndim} "
                           "(>= 4*ndim recommended)")
        if self.survey.model == "engine":
            self._check_engine()
        if warn and self.resources.n_agents == 1:
            _warn_once("resources.n_agents = 1: evaluations run on a single agent (no parallelism)")

    def _check_engine(self):
        """With the real engine importable: the law exists and accepts every engine-target parameter."""
        try:
            from engine import laws
        except Exception:
            return
        loader = getattr(laws, "_load_wave_laws", None)
        if loader is not None:
            loader()
        law = self.survey.engine_law
        if law not in laws.PRESETS:
            raise ConfigError(
                f"survey.law = {law!r} is not an engine law: the engine has {', '.join(laws.PRESETS)}"
                f"{nearest(law, laws.PRESETS)}"
            )
        accepted = set(getattr(laws.PRESETS[law], "PARAMS", {}) or {})
        extra = _engine_extra_params()
        for p in self.parameters:
            if p.target == "engine" and accepted and p.name not in accepted and p.name not in extra:
                raise ConfigError(
                    f"parameters.{p.name}: engine law {law!r} has no parameter {p.name!r}"
                    f"{nearest(p.name, accepted)}; it accepts {', '.join(sorted(accepted))}"
                    + (f" (plus {', '.join(sorted(extra))})" if extra else "")
                )

    @property
    def space(self) -> ParameterSpace:
        return ParameterSpace(self.parameters)

    def to_dict(self) -> dict:
        """Resolved, JSON/TOML-able dict; ``SurveyConfig.from_dict(cfg.to_dict()) == cfg``."""
        out = {name: asdict(getattr(self, name)) for name in _SECTIONS}
        out["survey"]["law"] = self.survey.engine_law
        out["parameters"] = {p.name: {k: v for k, v in p.to_dict().items() if k != "name"} for p in self.parameters}
        out["model_options"] = copy.deepcopy(self.model_options)
        return out

    def replace_section(self, section: str, **changes) -> "SurveyConfig":
        d = self.to_dict()
        d[section].update(changes)
        return SurveyConfig.from_dict(d)


_WARNED: set = set()


def _warn_once(msg: str) -> None:
    """Warn on legal but suspicious input, once per message per process."""
    if msg not in _WARNED:
        _WARNED.add(msg)
        warnings.warn(msg, UserWarning, stacklevel=4)


def _resolve_parameters(survey: SurveySection, given: dict, fixed: dict) -> list[Parameter]:
    if not isinstance(given, dict):
        raise ConfigError(f"[parameters] must be a table, got {given!r}")
    if not isinstance(fixed, dict):
        raise ConfigError(f"[fixed] must be a table of name = value, got {fixed!r}")
    preset = PRESETS.get(survey.preset) if survey.preset else None
    specs: dict[str, dict] = {}
    if preset is not None:
        for n in preset.free:
            specs[n] = dict(preset.overrides.get(n, {}))
        for n, v in preset.fixed.items():
            specs[n] = {"prior": "fixed", "value": v}
    for name, spec in given.items():
        if spec == "default" or spec is True:
            spec = {}
        if not isinstance(spec, dict):
            raise ConfigError(
                f"parameters.{name} = {spec!r}: expected a table like {{prior = \"uniform\", lo = 0, hi = 1}} or \"default\""
            )
        for k in spec:
            if k not in PARAM_FIELDS:
                raise ConfigError(
                    f"parameters.{name}.{k} is not a valid field{nearest(k, PARAM_FIELDS)}; allowed: {', '.join(PARAM_FIELDS)}"
                )
        if name not in PARAMETERS and not {"lo", "hi"} <= set(spec) and spec.get("prior") != "fixed":
            raise ConfigError(
                f"parameters.{name}: unknown parameter{nearest(name, PARAMETERS)}; known: {', '.join(PARAMETERS)} "
                "(a new parameter needs prior, lo and hi)"
            )
        # a table without 'prior' keeps the preset's override but a given prior resets ranges
        base = {} if "prior" in spec and spec["prior"] != specs.get(name, {}).get("prior") else specs.get(name, {})
        specs[name] = {**base, **spec}
    for name, v in fixed.items():
        if name not in PARAMETERS:
            raise ConfigError(f"fixed.{name}: unknown parameter{nearest(name, PARAMETERS)}; known: {', '.join(PARAMETERS)}")
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise ConfigError(f"fixed.{name} = {v!r}: expected a finite number")
        specs[name] = {"prior": "fixed", "value": float(v)}
    out = []
    for name, spec in specs.items():
        base = PARAMETERS.get(name)
        try:
            if base is None:
                p = Parameter(name=name, **spec)
            else:
                ch = dict(spec)
                if ch.get("prior") == "fixed":
                    # a fixed value need not respect the sampled range, but must be a number
                    ch.setdefault("value", base.value)
                p = base.with_(**ch)
        except PriorError as e:
            raise ConfigError(str(e)) from None
        except TypeError as e:  # pragma: no cover
            raise ConfigError(f"parameters.{name}: {e}") from None
        out.append(p)
    return out


def load_config(path_or_dict) -> SurveyConfig:
    """Load a survey config from a TOML file, a dict or a :class:`SurveyConfig`."""
    if isinstance(path_or_dict, (SurveyConfig, dict)):
        return SurveyConfig.from_dict(path_or_dict, warn=True)
    path = Path(path_or_dict)
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    raw.setdefault("survey", {}).setdefault("name", path.stem)
    return SurveyConfig.from_dict(raw, warn=True)


#: Fields that may differ on resume without --allow-changes (runtime knobs, not physics or statistics).
RUNTIME_FIELDS = ("resources.", "sampler.nsteps", "sampler.convergence", "sampler.check_every", "sampler.min_steps",
                  "sampler.tau_factor", "sampler.rhat_max", "survey.description")


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_diff(old: dict, new: dict, ignore=RUNTIME_FIELDS) -> list[str]:
    """Dotted names of fields that differ between two resolved configs (runtime knobs ignored)."""
    a, b = _flatten(old), _flatten(new)
    keys = sorted(set(a) | set(b))
    return [k for k in keys if a.get(k, "<missing>") != b.get(k, "<missing>") and not k.startswith(tuple(ignore))]
