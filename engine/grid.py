"""Numerical grids: the vertical column z in [0, H] and the energy / rigidity grids [physics spec Sec. 10-11]."""

from dataclasses import dataclass

import numpy as np

from .errors import ConfigError, check_range, dataclass_from_dict
from .units import KPC_CM, M_P_GEV

__all__ = ["GridConfig", "Grid", "build_grid", "as_grid_config", "wave_rigidities"]


@dataclass(frozen=True)
class GridConfig:
    """Resolution of a run (edge units).

    Attributes
    ----------
    n_z : number of cells between the midplane and the halo boundary (the column is symmetric).
    dz_min_pc : width of the first cell at the midplane [pc]; cells grow smoothly (sinh stretching).
    E_min_GeV, E_max_GeV : range of kinetic energy per nucleon (nuclei) and kinetic energy (leptons) [GeV].
    bins_per_decade : energy bins per decade (8-16 recommended).
    """

    n_z: int = 48
    dz_min_pc: float = 20.0
    E_min_GeV: float = 1e-3
    E_max_GeV: float = 2e4
    bins_per_decade: float = 8.0

    def __post_init__(self):
        if not isinstance(self.n_z, (int, np.integer)) or not 4 <= self.n_z <= 2000:
            raise ConfigError(f"grid.n_z = {self.n_z!r} is out of range: expected an integer 4 <= n_z <= 2000")
        check_range("grid.dz_min_pc", self.dz_min_pc, 0.1, 1000.0, "pc")
        check_range("grid.E_min_GeV", self.E_min_GeV, 1e-5, 1.0, "GeV")
        check_range("grid.E_max_GeV", self.E_max_GeV, 10.0, 1e7, "GeV")
        check_range("grid.bins_per_decade", self.bins_per_decade, 2.0, 64.0)

    @classmethod
    def from_dict(cls, d):
        """Build from a dict, rejecting unknown keys with a suggestion."""
        return dataclass_from_dict(cls, d, "grid")


def as_grid_config(grid):
    """Normalise ``None`` / dict / GridConfig into a GridConfig."""
    if grid is None:
        return GridConfig()
    if isinstance(grid, GridConfig):
        return grid
    if isinstance(grid, dict):
        return GridConfig.from_dict(grid)
    raise ConfigError(f"grid = {grid!r} must be None, a dict or an engine.GridConfig")


@dataclass(frozen=True)
class Grid:
    """The discretisation used by the transport kernels (cgs).

    Spatial cells are finite volumes on z in [0, H] (the galaxy is symmetric about z = 0):
    ``z_faces`` (n_z + 1,) [cm] with z_faces[0] = 0 and z_faces[-1] = H, centres ``z`` (n_z,),
    widths ``dz`` (n_z,) and centre-to-centre distances ``h_face`` (n_z,) across each upper face
    (the last one is the distance from the last centre to the free-escape boundary).
    Energy: ``E_edges`` (n_E + 1,) and log-centres ``E`` (n_E,) [GeV] (per nucleon for nuclei).
    Waves: ``R_waves`` (n_R,) [GV], the common rigidity grid of e_A, nu_s and kappa.

    A 2-D (R, z) galaxy would add a radial axis to the cell arrays; operators only use
    face areas/widths per axis, so they can be applied direction by direction.
    """

    z_faces: np.ndarray
    z: np.ndarray
    dz: np.ndarray
    h_face: np.ndarray
    E_edges: np.ndarray
    E: np.ndarray
    R_waves: np.ndarray

    @property
    def n_z(self):
        return self.z.size

    @property
    def n_E(self):
        return self.E.size

    @property
    def halo_height(self):
        return float(self.z_faces[-1])


def _stretched_faces(n, H, dz_min):
    """Faces z_k = H sinh(s k/n)/sinh(s), with s chosen so that z_1 = dz_min (uniform if dz_min >= H/n)."""
    xi = np.linspace(0.0, 1.0, n + 1)
    if dz_min >= H / n:
        return H * xi
    lo, hi = 1e-6, 50.0
    for _ in range(200):  # bisection on s: first-cell width decreases monotonically with s
        s = 0.5 * (lo + hi)
        w = H * np.sinh(s / n) / np.sinh(s)
        lo, hi = (s, hi) if w > dz_min else (lo, s)
    s = 0.5 * (lo + hi)
    return H * np.sinh(s * xi) / np.sinh(s)


def wave_rigidities(E, R_min, R_max):
    """The wave rigidity grid [GV]: the proton rigidities at the energy-bin centres E [GeV], extended with the
    end spacings in ln R down to R_min and up to R_max (leptons at E_min, nuclei with A/Z <= 2.5 at E_max).

    Protons carry most of the CR pressure at a given rigidity, so putting the law's nodes exactly on their
    bins lets the implicit coupling (engine.coupling) solve each proton bin with the scattering rate of its
    own rigidity, with no interpolation between nodes [docs/physics.md, "Coupling to the transport"].
    """
    R_p = np.sqrt(E * (E + 2.0 * M_P_GEV))
    lo = np.log(R_p[0])
    d_lo = np.log(R_p[1]) - lo
    below = lo - d_lo * np.arange(int(np.ceil((lo - np.log(R_min)) / d_lo)), 0, -1)
    hi = np.log(R_p[-1])
    d_hi = hi - np.log(R_p[-2])
    above = hi + d_hi * np.arange(1, int(np.ceil((np.log(R_max) - hi) / d_hi)) + 1)
    return np.exp(np.concatenate([below, np.log(R_p), above]))


def build_grid(config: GridConfig, halo_height_kpc: float) -> Grid:
    """Build the Grid for a GridConfig and a halo height [kpc]."""
    H = halo_height_kpc * KPC_CM
    zf = _stretched_faces(config.n_z, H, config.dz_min_pc * 1e-3 * KPC_CM)
    z = 0.5 * (zf[1:] + zf[:-1])
    dz = np.diff(zf)
    h = np.empty_like(z)
    h[:-1] = np.diff(z)
    h[-1] = H - z[-1]
    n_dec = np.log10(config.E_max_GeV / config.E_min_GeV)
    n_E = int(round(n_dec * config.bins_per_decade))
    E_edges = np.logspace(np.log10(config.E_min_GeV), np.log10(config.E_max_GeV), n_E + 1)
    E = np.sqrt(E_edges[1:] * E_edges[:-1])
    R_waves = wave_rigidities(E, config.E_min_GeV, 2.5 * 1.1 * config.E_max_GeV)
    return Grid(zf, z, dz, h, E_edges, E, R_waves)
