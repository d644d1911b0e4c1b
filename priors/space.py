"""The sampled parameter space: an ordered set of free parameters plus fixed ones."""

from __future__ import annotations

import math

import numpy as np

from .registry import Parameter

__all__ = ["ParameterSpace"]


class ParameterSpace:
    """Ordered free parameters (the sampler's theta) and fixed parameters.

    ``theta`` is always in sampling coordinates (see :class:`priors.Parameter`).
    """

    def __init__(self, parameters):
        params = list(parameters)
        self.free = [p for p in params if p.free]
        self.fixed = [p for p in params if not p.free]
        self.ndim = len(self.free)

    @classmethod
    def from_dicts(cls, dicts) -> "ParameterSpace":
        return cls(Parameter(**d) for d in dicts)

    def to_dicts(self) -> list[dict]:
        return [p.to_dict() for p in self.free + self.fixed]

    @property
    def names(self) -> list[str]:
        """Physical parameter names of theta, in order."""
        return [p.name for p in self.free]

    @property
    def sample_names(self) -> list[str]:
        """Sampling-coordinate names of theta (``log10_x`` for loguniform)."""
        return [p.sample_name for p in self.free]

    @property
    def bounds(self) -> np.ndarray:
        return np.array([p.sample_bounds for p in self.free], float).reshape(-1, 2)

    def log_prior(self, theta) -> float:
        total = 0.0
        for p, u in zip(self.free, theta):
            lp = p.log_prior(float(u))
            if lp == -math.inf:
                return -math.inf
            total += lp
        return total

    def values(self, theta) -> dict[str, float]:
        """All parameters (free and fixed) in physical units."""
        out = {p.name: p.to_value(float(u)) for p, u in zip(self.free, theta)}
        out.update({p.name: float(p.value) for p in self.fixed})
        return out

    def split(self, theta) -> tuple[dict, dict]:
        """(engine params, nuisance params) in physical units."""
        vals = self.values(theta)
        by_target = {p.name: p.target for p in self.free + self.fixed}
        eng = {k: v for k, v in vals.items() if by_target[k] == "engine"}
        nui = {k: v for k, v in vals.items() if by_target[k] == "nuisance"}
        return eng, nui

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``(n, ndim)`` prior draws in sampling coordinates."""
        return np.column_stack([p.draw(rng, n) for p in self.free]) if self.free else np.zeros((n, 0))

    def from_unit(self, q: np.ndarray) -> np.ndarray:
        """Unit-cube design ``(n, ndim)`` -> sampling coordinates."""
        q = np.atleast_2d(q)
        return np.column_stack([p.from_unit(q[:, i]) for i, p in enumerate(self.free)])
