"""crsurvey engine: multi-species galaxy CR transport with live, law-driven scattering (numba)."""

from .errors import ConfigError, ConvergenceError, CrsurveyError, SolutionCollapse
from .galaxy import Galaxy, GalaxyConfig, Phase, build_galaxy
from .grid import Grid, GridConfig, build_grid
from .laws import PRESETS as LAWS, ScatteringLaw, make_law
from .result import Result
from .solver import prepare, solve
from .species import INJECTION_PARAMS, SPECIES, SPECIES_NAMES

#: Parameters engine.solve accepts besides the law's own (injection and source nuisances).
SOLVE_PARAMS = tuple(INJECTION_PARAMS)

__all__ = ["solve", "prepare", "Result", "GalaxyConfig", "Galaxy", "Phase", "build_galaxy", "GridConfig",
           "Grid", "build_grid", "LAWS", "ScatteringLaw", "make_law", "SPECIES", "SPECIES_NAMES",
           "ConfigError", "ConvergenceError", "CrsurveyError", "SolutionCollapse", "warmup", "SOLVE_PARAMS"]


def warmup():
    """Compile (or load from the numba cache) every kernel with a tiny run."""
    solve(grid=GridConfig(n_z=6, bins_per_decade=3), t_max_myr=1.0)
