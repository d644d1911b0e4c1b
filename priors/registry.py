"""Parameter registry: names, units, bounds and prior families of the survey space [physics spec Sec. 8, 13]."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = [
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


#: Default priors. Exponent ranges are the survey ranges of physics spec Sec. 8 (H22 Table 2).
PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in [
        # damping Gamma ~ A_Gamma k^xi_k e_A^xi_A eps_cr^xi_cr
        _p("xi_k", "", 0.0, 2.0, value=0.5, doc="damping k_par exponent [spec Sec. 8]"),
        _p("xi_A", "", 0.0, 1.0, value=0.0, doc="damping e_A exponent [spec Sec. 8]"),
        _p("xi_cr", "", 0.0, 1.0, value=0.0, doc="damping eps_cr exponent [spec Sec. 8]"),
        # driving S ~ A_S k^zeta_k e_A^zeta_A eps_cr^zeta_cr
        _p("zeta_k", "", -2.0, 2.0, value=0.0, doc="driving k_par exponent [spec Sec. 8]"),
        _p("zeta_A", "", 0.0, 1.0, value=0.0, doc="driving e_A exponent [spec Sec. 8]"),
        _p("zeta_cr", "", 0.0, 1.0, value=0.0, doc="driving eps_cr exponent [spec Sec. 8]"),
        # dimensionless normalisations of the pivoted generic law [spec Sec. 8 (S)]
        _p("log10_A_gamma", "", -8.0, 2.0, value=0.0, doc="log10 damping normalisation A_Gamma [spec Sec. 8]"),
        _p("log10_A_S", "", -8.0, 2.0, value=-2.0, doc="log10 driving normalisation A_S [spec Sec. 8]"),
        # empirical law nu_s = nu0 beta R^-delta [spec Sec. 9]
        _p("nu0", "s^-1", 1e-10, 1e-8, prior="loguniform", value=1e-9, doc="empirical nu_s at 1 GV [spec Sec. 9]"),
        _p("delta", "", 0.0, 1.2, value=0.6, doc="empirical rigidity slope delta_s [spec Sec. 9]"),
        # nuisance
        _p("phi_AMS02", "GV", 0.4, 0.9, value=0.6, target="nuisance",
           doc="force-field potential for AMS-02 epochs [spec Sec. 13]"),
        _p("eps_inj", "", 0.01, 0.3, value=0.1, doc="CR injection efficiency (fraction of E_SN) [spec Sec. 11]"),
    ]
}


def get_parameter(name: str) -> Parameter:
    """Registry lookup with a nearest-name hint."""
    try:
        return PARAMETERS[name]
    except KeyError:
        raise PriorError(
            f"unknown parameter {name!r}{nearest(name, PARAMETERS)}; known: {', '.join(PARAMETERS)}"
        ) from None

