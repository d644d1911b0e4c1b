"""Parameter registry: names, units, bounds and prior families of the survey space [physics spec Sec. 8, 13]."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "ENGINE_LAW_SPECS",
    "LAW_PARAMETERS",
    "PRIOR_FAMILIES",
    "TARGETS",
    "Parameter",
    "PARAMETERS",
    "PriorError",
    "get_parameter",
    "nearest",
]

#: Prior families a parameter may use.
PRIOR_FAMILIES = ("uniform", "loguniform", "normal", "fixed")

#: Where a parameter goes: ``engine`` -> ``engine.solve(params)``; ``nuisance`` -> the likelihood.
TARGETS = ("engine", "nuisance")


class PriorError(ValueError):
    """A parameter or prior specification is invalid (names the field, value and what is allowed)."""


def nearest(name: str, choices) -> str:
    """Return a ``" (did you mean 'x'?)"`` hint for a misspelt key, or ``""``."""
    m = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" (did you mean {m[0]!r}?)" if m else ""


@dataclass(frozen=True)
class Parameter:
    """One dimension of the survey space.

    The sampler works in *sampling coordinates*: the value itself for ``uniform`` and ``normal``,
    ``log10(value)`` for ``loguniform`` (so the prior is flat there). ``fixed`` parameters are not
    sampled and always take ``value``.

    Attributes
    ----------
    name : str
        Parameter name as the engine (or the likelihood, for nuisance parameters) knows it.
    unit : str
        Unit at the interface ("" if dimensionless), e.g. "s^-1", "GV".
    lo, hi : float
        Bounds of the support (physical units). ``normal`` priors are truncated to them.
    prior : str
        One of :data:`PRIOR_FAMILIES`.
    value : float
        Default / fixed value (physical units).
    mu, sigma : float
        Mean and width of a ``normal`` prior (physical units).
    target : str
        One of :data:`TARGETS`.
    doc : str
        One-line description with its source.
    """

    name: str
    unit: str = ""
    lo: float = -math.inf
    hi: float = math.inf
    prior: str = "uniform"
    value: float | None = None
    mu: float | None = None
    sigma: float | None = None
    target: str = "engine"
    doc: str = ""

    def __post_init__(self):
        where = f"parameters.{self.name}"
        if self.prior not in PRIOR_FAMILIES:
            raise PriorError(
                f"{where}.prior = {self.prior!r} is not a prior family: expected one of "
                f"{', '.join(PRIOR_FAMILIES)}{nearest(self.prior, PRIOR_FAMILIES)}"
            )
        if self.target not in TARGETS:
            raise PriorError(f"{where}.target = {self.target!r}: expected one of {', '.join(TARGETS)}")
        for key in ("lo", "hi", "value", "mu", "sigma"):
            v = getattr(self, key)
            if v is not None and not isinstance(v, (int, float)):
                raise PriorError(f"{where}.{key} = {v!r} is not a number")
            if v is not None and math.isnan(v):
                raise PriorError(f"{where}.{key} = nan is not allowed")
        if self.prior == "fixed":
            if self.value is None:
                raise PriorError(f"{where}: prior 'fixed' needs a value (add value = ...)")
            return
        if not self.lo < self.hi:
            raise PriorError(f"{where}: lo = {self.lo} must be < hi = {self.hi}")
        if self.prior in ("uniform", "loguniform") and not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            raise PriorError(f"{where}: a {self.prior} prior needs finite lo and hi (got lo={self.lo}, hi={self.hi})")
        if self.prior == "loguniform" and self.lo <= 0:
            raise PriorError(f"{where}.lo = {self.lo} must be > 0 for a loguniform prior")
        if self.prior == "normal":
            if self.mu is None or self.sigma is None:
                raise PriorError(f"{where}: a normal prior needs mu and sigma")
            if not self.sigma > 0:
                raise PriorError(f"{where}.sigma = {self.sigma} must be > 0")
        if self.value is not None and not (self.lo <= self.value <= self.hi):
            raise PriorError(
                f"{where}.value = {self.value} is out of range: expected {self.lo} <= {self.name} <= {self.hi}"
            )

    # --- sampling coordinates ---------------------------------------------------------------
    @property
    def free(self) -> bool:
        return self.prior != "fixed"

    @property
    def sample_name(self) -> str:
        """Name of the sampling coordinate (``log10_<name>`` for loguniform priors)."""
        return f"log10_{self.name}" if self.prior == "loguniform" else self.name

    @property
    def sample_bounds(self) -> tuple[float, float]:
        if self.prior == "loguniform":
            return math.log10(self.lo), math.log10(self.hi)
        return self.lo, self.hi

    def to_value(self, u: float) -> float:
        """Sampling coordinate -> physical value."""
        return float(10.0**u) if self.prior == "loguniform" else float(u)

    def to_sample(self, x: float) -> float:
        """Physical value -> sampling coordinate."""
        return math.log10(x) if self.prior == "loguniform" else float(x)

    def log_prior(self, u: float) -> float:
        """Log prior density in sampling coordinates (normalised; -inf outside the support)."""
        lo, hi = self.sample_bounds
        if not (lo <= u <= hi) or not math.isfinite(u):
            return -math.inf
        if self.prior in ("uniform", "loguniform"):
            return -math.log(hi - lo)
        # truncated normal: the truncation constant does not matter for sampling; keep it simple
        z = (u - self.mu) / self.sigma
        return -0.5 * z * z - math.log(self.sigma * math.sqrt(2.0 * math.pi))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` sampling coordinates from the prior."""
        lo, hi = self.sample_bounds
        if self.prior == "normal":
            out = rng.normal(self.mu, self.sigma, n)
            bad = (out < lo) | (out > hi)
            while bad.any():
                out[bad] = rng.normal(self.mu, self.sigma, bad.sum())
                bad = (out < lo) | (out > hi)
            return out
        return rng.uniform(lo, hi, n)

    def from_unit(self, q: np.ndarray) -> np.ndarray:
        """Map points of the unit cube (a Latin-hypercube design) to sampling coordinates."""
        lo, hi = self.sample_bounds
        if self.prior == "normal":
            from scipy.stats import truncnorm

            a, b = (lo - self.mu) / self.sigma, (hi - self.mu) / self.sigma
            return truncnorm.ppf(q, a, b, loc=self.mu, scale=self.sigma)
        return lo + (hi - lo) * np.asarray(q)

    def with_(self, **changes) -> "Parameter":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = {"name": self.name, "unit": self.unit, "prior": self.prior, "target": self.target, "doc": self.doc}
        for k in ("lo", "hi", "value", "mu", "sigma"):
            v = getattr(self, k)
            if v is not None and math.isfinite(v):
                d[k] = float(v)
        return d


def _p(name, unit, lo, hi, prior="uniform", value=None, target="engine", doc=""):
    return Parameter(name=name, unit=unit, lo=lo, hi=hi, prior=prior, value=value, target=target, doc=doc)


# === Engine law parameters ================================================================== #
# A copy of the ``PARAMS`` (ParamSpec: default, lo, hi, unit, doc) of every law in ``engine.laws.PRESETS``
# (engine/laws.py, engine/wave_laws.py). ``priors`` does not import the engine; the copy is checked
# against the engine's ParamSpecs by tests/priors/test_presets_match_engine.py. Shared specs mirror the
# engine's shared constants (LOG10_F_SC, LOG10_ALPHA_T, XI_TURB, NEW_DAMPING_PARAMS).
_LOG10_F_SC = (0.0, -3.0, 1.0, "dex", "log10 of the multiplier A of S_sc (H22 Sec. 5.1.1, 5.3)")
_LOG10_ALPHA_T = (0.0, -3.0, 6.0, "dex",
                  "log10 multiplier of Chandran's alpha_t (H22 Fig. 4 'anisotropic' runs: ~2.5-6)")
_XI_TURB = (0.5, 0.4, 0.5, "", "k exponent of Gamma_turb/LL (Table 2: 0.4-0.5)")
_YL04_A = (0.0, -3.0, 3.0, "dex", "log10 multiplier of the YL04 source")
_CASCADE_A = (0.0, -3.0, 3.0, "dex", "log10 multiplier of the cascade rate")
_NEW_DAMPING = {
    "log10_A_gamma": (3.0, -2.0, 6.0, "dex",
                      "log10 A_Gamma in Gamma_new = A_Gamma (v_A/l_A)(k l_A)^xi_k (eps_cr/e_B); default "
                      "calibrated: B/C(~10 GV) 0.29 vs AMS-02 0.28 (quick grid, 2 Gyr, 2026-11-27)"),
    "xi_k": (0.25, 0.0, 1.0, "", "k exponent (Table 2: ~0.1-0.4; Fig. 5: 1/4)"),
    "log10_grad_length_kpc": (-0.5228787452803376, -1.5, 1.5, "dex kpc",
                              "log10 of the largest CR gradient length l [kpc] the SC driving sees, |dP'/dz| >= P'/l "
                              "(default 0.3 kpc; degenerate with A_Gamma where that floor holds, docs/physics.md)"),
}

#: law -> parameter -> (default, lo, hi, unit, doc), exactly the engine's ParamSpecs.
ENGINE_LAW_SPECS: dict[str, dict[str, tuple]] = {
    "empirical": {
        "nu0": (1e-9, 1e-13, 1e-5, "s^-1", "scattering rate at 1 GV"),
        "delta": (0.6, 0.0, 1.5, "", "rigidity slope delta_s"),
        "stream": (0.0, 0.0, 1.0, "", "streaming at stream * v_A,eff/2"),
        "reacc": (0.0, 0.0, 1.0, "", "diffusive reacceleration at reacc * v_A,eff^2/(9 kappa)"),
    },
    "sc_reference": {"log10_f_sc": _LOG10_F_SC, "log10_alpha_t": _LOG10_ALPHA_T, "xi_turb": _XI_TURB},
    "sc_only": {"log10_f_sc": _LOG10_F_SC, "xi_turb": _XI_TURB},
    "et_gs95": {"log10_alpha_t": _LOG10_ALPHA_T, "xi_turb": _XI_TURB},
    "et_yl04": {"log10_A": _YL04_A},
    "et_yl04_cutoff": {"log10_A": _YL04_A},
    "et_k41": {"log10_A": _CASCADE_A},
    "et_kraichnan": {"log10_A": _CASCADE_A},
    "new_damping": dict(_NEW_DAMPING),
    "new_damping_plus_standard": dict(_NEW_DAMPING, xi_turb=_XI_TURB),
    "new_linear": {
        "zeta_k": (2 / 3, 0.4, 0.9, "", "k exponent (Table 2 fits 0.6-0.9, analytic 0.4-0.75)"),
        "log10_psi0": (-12.0, -16.0, -10.0, "dex s^-1", "log10 Psi_new at k = 1/au (Fig. 6: -12)"),
        "log10_f_sc": (-2.0, -3.0, 1.0, "dex", "log10 multiplier of S_sc (Fig. 6: 0.01)"),
    },
    "new_external": {
        "zeta_k": (-1 / 6, -0.25, 0.25, "", "k exponent (Table 2 fits -0.25 to -0.1, analytic to 0.25)"),
        "log10_A_S": (0.0, -2.0, 2.0, "dex", "log10 multiplier of the Fig. 7 normalisation"),
        "log10_f_sc": _LOG10_F_SC,
        "log10_alpha_t": _LOG10_ALPHA_T,
        "xi_turb": _XI_TURB,
    },
    "generic": {
        "xi_k": (0.0, 0.0, 2.0, "", "damping k exponent"),
        "xi_A": (0.0, 0.0, 1.0, "", "damping e_A exponent"),
        "xi_cr": (0.0, 0.0, 1.0, "", "damping eps_cr exponent"),
        "zeta_k": (-0.5, -2.0, 2.0, "", "source k exponent"),
        "zeta_A": (0.0, 0.0, 1.0, "", "source e_A exponent"),
        "zeta_cr": (0.0, 0.0, 1.0, "", "source eps_cr exponent"),
        "log10_A_gamma": (2.0, -4.0, 8.0, "dex", "log10 A_Gamma"),
        "log10_A_S": (-4.5, -16.0, 4.0, "dex", "log10 A_S"),
    },
}


def _law_parameter(name: str, spec: tuple) -> Parameter:
    """Default prior of one engine law parameter: its engine range, uniform (log10_* parameters are
    uniform in the log10 value; the positive rate nu0 is log-uniform)."""
    default, lo, hi, unit, doc = spec
    prior = "loguniform" if name == "nu0" else "uniform"
    return _p(name, unit, lo, hi, prior=prior, value=default, doc=doc)


#: law -> parameter -> :class:`Parameter` with the law's engine range, default, unit and description.
#: Presets narrow the name-level :data:`PARAMETERS` to these (see :mod:`priors.presets`).
LAW_PARAMETERS: dict[str, dict[str, Parameter]] = {
    law: {n: _law_parameter(n, spec) for n, spec in specs.items()} for law, specs in ENGINE_LAW_SPECS.items()
}


#: One-line descriptions of names whose meaning differs between laws (else the widest law's ParamSpec doc).
_SHARED_DOCS = {
    "log10_A": "log10 multiplier of the YL04 source (et_yl04*) or of the cascade rate (et_k41, et_kraichnan)",
    "log10_A_S": "log10 A_S of the generic source; log10 multiplier of the Fig. 7 normalisation in new_external",
}


def _name_level() -> dict[str, Parameter]:
    """One entry per parameter name: the widest engine range among the laws that have it (first law wins
    ties). For the exponents and normalisations that is the generic law's range (H22 Table 2, physics
    spec Sec. 8); laws with a narrower range for the same name get it through their preset."""
    out: dict[str, Parameter] = {}
    laws: dict[str, list[str]] = {}
    for law, params in LAW_PARAMETERS.items():
        for n, p in params.items():
            laws.setdefault(n, []).append(law)
            if n not in out or (p.lo <= out[n].lo and p.hi >= out[n].hi and (p.lo, p.hi) != (out[n].lo, out[n].hi)):
                out[n] = p
    return {n: p.with_(doc=f"{_SHARED_DOCS.get(n, p.doc)} [engine: {', '.join(laws[n])}]") for n, p in out.items()}


#: Default priors, by name: every engine law parameter (see :func:`_name_level`) plus survey-only
#: parameters. Exponent ranges are the survey ranges of physics spec Sec. 8 (H22 Table 2).
PARAMETERS: dict[str, Parameter] = _name_level()
PARAMETERS.update({
    p.name: p
    for p in [
        # empirical law nu_s = nu0 beta R^-delta [spec Sec. 9]: the survey prior is the H22 Fig. 1 region,
        # inside the engine range (nu0 1e-13..1e-5 s^-1, delta 0..1.5; LAW_PARAMETERS["empirical"]).
        _p("nu0", "s^-1", 1e-10, 1e-8, prior="loguniform", value=1e-9, doc="empirical nu_s at 1 GV [spec Sec. 9; engine: empirical]"),
        _p("delta", "", 0.0, 1.2, value=0.6, doc="empirical rigidity slope delta_s [spec Sec. 9; engine: empirical]"),
        # nuisance
        _p("phi_AMS02", "GV", 0.4, 0.9, value=0.6, target="nuisance",
           doc="force-field potential for AMS-02 epochs [spec Sec. 13]"),
        _p("eps_inj", "", 0.01, 0.3, value=0.1, doc="CR injection efficiency (fraction of E_SN) [spec Sec. 11]"),
    ]
})


def get_parameter(name: str) -> Parameter:
    """Registry lookup with a nearest-name hint."""
    try:
        return PARAMETERS[name]
    except KeyError:
        raise PriorError(
            f"unknown parameter {name!r}{nearest(name, PARAMETERS)}; known: {', '.join(PARAMETERS)}"
        ) from None

