"""Disk + halo galaxy at the Solar circle: multiphase ISM profiles along z [physics spec Sec. 11]."""

from dataclasses import dataclass, field, fields, replace

import numpy as np

from .errors import ConfigError, check_choice, check_range
from .units import EV_ERG, K_B, KM_S, KPC_CM, M_P_G, MICROGAUSS, MYR_S, PC_CM

__all__ = [
    "Phase", "GalaxyConfig", "Galaxy", "build_galaxy", "as_galaxy_config", "PRESETS", "ISM_FIELDS",
    "F_V", "N_H", "T", "F_ION", "F_DG", "B", "RHO", "CS", "VA_IDEAL", "VA_ION", "L_A", "DV", "N_E", "M_A",
]

# Row indices of Galaxy.ism, shape (N_ISM_FIELDS, n_phase, n_z); all cgs.
F_V, N_H, T, F_ION, F_DG, B, RHO, CS, VA_IDEAL, VA_ION, L_A, DV, N_E, M_A = range(14)
ISM_FIELDS = ("f_V", "n_H [cm^-3]", "T [K]", "f_ion", "f_dg", "B [G]", "rho [g cm^-3]", "c_s [cm/s]",
              "vA_ideal [cm/s]", "vA_ion [cm/s]", "l_A [cm]", "dv [cm/s]", "n_e [cm^-3]", "M_A")

MU_MASS = 1.4  # mass per H nucleus in units of m_p (He by mass, Y ~ 0.28)


@dataclass(frozen=True)
class Phase:
    """One ISM phase [physics spec Sec. 11 table]: midplane volume filling fraction, density, temperature,
    ionised mass fraction, dust-to-gas ratio, and the exponential scale height of its filling fraction.
    The last phase of a galaxy is the volume-filling hot/halo phase: it fills whatever the others leave,
    and its density falls as ``n exp(-|z|/scale_height)`` down to ``n_floor_cm3``."""

    name: str
    f_V0: float
    n_cm3: float
    T_K: float
    f_ion: float
    f_dg: float
    scale_height_kpc: float
    n_floor_cm3: float = 0.0

    def __post_init__(self):
        p = f"galaxy.phases[{self.name}]"
        check_range(f"{p}.f_V0", self.f_V0, 0.0, 1.0)
        check_range(f"{p}.n_cm3", self.n_cm3, 1e-8, 1e6, "cm^-3", lo_open=True)
        check_range(f"{p}.T_K", self.T_K, 1.0, 1e9, "K")
        check_range(f"{p}.f_ion", self.f_ion, 1e-8, 1.0)
        check_range(f"{p}.f_dg", self.f_dg, 0.0, 0.1)
        check_range(f"{p}.scale_height_kpc", self.scale_height_kpc, 1e-3, 1e3, "kpc")
        check_range(f"{p}.n_floor_cm3", self.n_floor_cm3, 0.0, 1e6, "cm^-3")


MILKY_WAY_PHASES = (
    Phase("CNM", 0.02, 30.0, 100.0, 1e-3, 0.01, 0.1),
    Phase("WNM", 0.35, 0.5, 8000.0, 0.05, 0.01, 0.4),
    Phase("WIM", 0.25, 0.2, 8000.0, 0.9, 0.005, 1.0),
    Phase("hot", 0.38, 3e-3, 1.5e6, 1.0, 1e-4, 4.55, 1e-4),
)


@dataclass(frozen=True)
class GalaxyConfig:
    """Parameters of the analytic disk + halo column (edge units). See README "Galaxy model".

    The ``milky_way`` defaults follow physics spec Sec. 11 [S] except the halo height, which is
    calibrated so that the seed's Fig. 1 empirical law reproduces AMS-02 B/C (README, "Calibration").
    """

    preset: str = "milky_way"
    halo_height_kpc: float = 33.0
    geometry_factor: float = 1.0 / 3.0   # D_zz = geometry_factor * kappa_par (1/3: tangled field, H22 fn. 9)
    phases: tuple = MILKY_WAY_PHASES
    B0_uG: float = 5.0
    B_scale_kpc: float = 5.0
    dv_kms: float = 10.0
    l_drive_pc: float = 100.0
    l_A_min_pc: float = 1.0
    l_A_max_pc: float = 100.0
    urad_cmb_eV: float = 0.26
    urad_disk_eV: float = 0.97
    urad_scale_kpc: float = 3.0
    wind_kms: float = 0.0
    wind_scale_kpc: float = 1.0
    sn_rate_kpc2_myr: float = 20.0
    sn_scale_height_kpc: float = 0.1
    metallicity: float = 1.0
    z_sun_kpc: float = 0.1   # spectra "at the Sun" are averaged over |z| <= z_sun_kpc

    def __post_init__(self):
        check_range("galaxy.halo_height_kpc", self.halo_height_kpc, 0.5, 100.0, "kpc")
        check_range("galaxy.geometry_factor", self.geometry_factor, 0.01, 1.0)
        check_range("galaxy.B0_uG", self.B0_uG, 1e-3, 1e3, "uG")
        check_range("galaxy.B_scale_kpc", self.B_scale_kpc, 0.01, 1e3, "kpc")
        check_range("galaxy.dv_kms", self.dv_kms, 1e-3, 1e4, "km/s")
        check_range("galaxy.l_drive_pc", self.l_drive_pc, 0.1, 1e5, "pc")
        check_range("galaxy.l_A_min_pc", self.l_A_min_pc, 1e-6, 1e5, "pc")
        check_range("galaxy.l_A_max_pc", self.l_A_max_pc, self.l_A_min_pc, 1e5, "pc")
        check_range("galaxy.urad_cmb_eV", self.urad_cmb_eV, 0.0, 1e3, "eV cm^-3")
        check_range("galaxy.urad_disk_eV", self.urad_disk_eV, 0.0, 1e3, "eV cm^-3")
        check_range("galaxy.urad_scale_kpc", self.urad_scale_kpc, 0.01, 1e3, "kpc")
        check_range("galaxy.wind_kms", self.wind_kms, 0.0, 3e3, "km/s")
        check_range("galaxy.wind_scale_kpc", self.wind_scale_kpc, 0.01, 1e3, "kpc")
        check_range("galaxy.sn_rate_kpc2_myr", self.sn_rate_kpc2_myr, 0.0, 1e4, "kpc^-2 Myr^-1")
        check_range("galaxy.sn_scale_height_kpc", self.sn_scale_height_kpc, 0.005, 10.0, "kpc")
        check_range("galaxy.metallicity", self.metallicity, 0.0, 10.0, "Z_sun")
        check_range("galaxy.z_sun_kpc", self.z_sun_kpc, 0.0, 5.0, "kpc")
        if not self.phases:
            raise ConfigError("galaxy.phases is empty: expected at least one Phase (the last is volume-filling)")
        phases = tuple(p if isinstance(p, Phase) else Phase(**p) for p in self.phases)
        object.__setattr__(self, "phases", phases)
        if sum(p.f_V0 for p in phases[:-1]) > 1.0:
            raise ConfigError("galaxy.phases: the filling fractions f_V0 of the non-volume-filling phases "
                              f"sum to {sum(p.f_V0 for p in phases[:-1]):.3g}: expected <= 1")

    @classmethod
    def from_dict(cls, d):
        """Build from a dict (unknown keys are rejected with a suggestion)."""
        from .errors import dataclass_from_dict
        return dataclass_from_dict(cls, d, "galaxy")


PRESETS = {"milky_way": GalaxyConfig()}


def as_galaxy_config(galaxy):
    """Normalise ``None`` / preset name / dict / GalaxyConfig into a GalaxyConfig."""
    if galaxy is None:
        return PRESETS["milky_way"]
    if isinstance(galaxy, GalaxyConfig):
        return galaxy
    if isinstance(galaxy, str):
        return PRESETS[check_choice("galaxy", galaxy, list(PRESETS))]
    if isinstance(galaxy, dict):
        d = dict(galaxy)
        preset = check_choice("galaxy.preset", d.pop("preset", "milky_way"), list(PRESETS))
        names = [f.name for f in fields(GalaxyConfig)]
        for k in d:
            check_choice(f"galaxy.{k}", k, names)      # unknown key: error with the nearest field
        return replace(PRESETS[preset], **d)
    raise ConfigError(f"galaxy = {galaxy!r} must be None, a preset name, a dict or an engine.GalaxyConfig")


@dataclass(frozen=True)
class Galaxy:
    """ISM profiles on the spatial grid (cgs). Build with :func:`build_galaxy` or supply arrays yourself
    (they are validated: finite, right shapes, positive where physical).

    Attributes
    ----------
    z : (n_z,) cell centres [cm]
    ism : (14, n_phase, n_z) per-phase plasma quantities, rows indexed by the module constants
          F_V, N_H, T, F_ION, F_DG, B, RHO, CS, VA_IDEAL, VA_ION, L_A, DV, N_E, M_A (cgs).
    n_H, n_HI, n_e : (n_z,) volume-averaged densities for losses and spallation [cm^-3]
    U_rad : (n_z,) radiation energy density [erg cm^-3]; U_B (n_z,) magnetic energy density [erg cm^-3]
    u_wind : (n_z + 1,) wind speed at cell faces [cm/s] (outward, >= 0)
    source : (n_z,) CR source density profile [cm^-1], sum(source * dz) = 1/2 (one side of the disk)
    sn_energy_flux : total CR-accelerating SN kinetic energy per unit disk area and time [erg cm^-2 s^-1]
    vA_eff : (n_z,) volume-averaged Alfven speed of gyro-resonant waves (ion Alfven speed) [cm/s]
    geometry_factor, halo_height, metallicity, z_sun : scalars
    phase_names : tuple of str
    """

    z: np.ndarray
    ism: np.ndarray
    n_H: np.ndarray
    n_HI: np.ndarray
    n_e: np.ndarray
    U_rad: np.ndarray
    U_B: np.ndarray
    u_wind: np.ndarray
    source: np.ndarray
    sn_energy_flux: float
    vA_eff: np.ndarray
    geometry_factor: float
    halo_height: float
    metallicity: float
    z_sun: float
    phase_names: tuple = field(default=())

    def __post_init__(self):
        nz = self.z.size
        for name in ("n_H", "n_HI", "n_e", "U_rad", "U_B", "source", "vA_eff"):
            a = np.asarray(getattr(self, name), dtype=float)
            if a.shape != (nz,):
                raise ConfigError(f"galaxy.{name} has shape {a.shape}: expected ({nz},) like galaxy.z")
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                bad = np.flatnonzero(~np.isfinite(a) | (a < 0))[0]
                raise ConfigError(f"galaxy.{name}[{bad}] = {a[bad]!r}: expected a finite value >= 0")
        if np.any(self.n_H <= 0):
            raise ConfigError("galaxy.n_H must be > 0 everywhere (the gas density sets losses and spallation)")
        if self.ism.ndim != 3 or self.ism.shape[0] != len(ISM_FIELDS) or self.ism.shape[2] != nz:
            raise ConfigError(f"galaxy.ism has shape {self.ism.shape}: expected ({len(ISM_FIELDS)}, n_phase, {nz})")
        if not np.all(np.isfinite(self.ism)):
            raise ConfigError("galaxy.ism contains non-finite values")
        for row in (N_H, T, F_ION, B, RHO, CS, VA_IDEAL, VA_ION, L_A):
            if np.any(self.ism[row] <= 0):
                raise ConfigError(f"galaxy.ism[{ISM_FIELDS[row]}] must be > 0 in every phase and cell")
        if np.any(self.ism[F_V] < 0) or not np.allclose(self.ism[F_V].sum(axis=0), 1.0, rtol=1e-6):
            raise ConfigError("galaxy.ism[f_V] must be >= 0 and sum to 1 over phases in every cell")
        if self.u_wind.shape != (nz + 1,) or np.any(self.u_wind < 0) or not np.all(np.isfinite(self.u_wind)):
            raise ConfigError(f"galaxy.u_wind must have shape ({nz + 1},) (cell faces), finite and >= 0")

    @property
    def phase_average(self):
        """Volume-filling-weighted average of each ISM row over phases, shape (14, n_z)."""
        return np.einsum("pz,fpz->fz", self.ism[F_V], self.ism)


def build_galaxy(config: GalaxyConfig, grid) -> Galaxy:
    """Evaluate the analytic profiles of ``config`` [physics spec Sec. 11 [S]] on ``grid``."""
    z = grid.z
    zk = z / KPC_CM
    phases = config.phases
    npz = len(phases)
    ism = np.zeros((14, npz, z.size))
    fv_rest = np.zeros(z.size)
    for i, ph in enumerate(phases[:-1]):
        ism[F_V, i] = ph.f_V0 * np.exp(-zk / ph.scale_height_kpc)
        fv_rest += ism[F_V, i]
    hot = phases[-1]
    ism[F_V, -1] = 1.0 - fv_rest
    for i, ph in enumerate(phases):
        if i == npz - 1:
            ism[N_H, i] = np.maximum(ph.n_cm3 * np.exp(-zk / ph.scale_height_kpc), ph.n_floor_cm3)
        else:
            ism[N_H, i] = ph.n_cm3
        ism[T, i] = ph.T_K
        ism[F_ION, i] = ph.f_ion
        ism[F_DG, i] = ph.f_dg * config.metallicity
    Bz = config.B0_uG * MICROGAUSS * np.exp(-zk / config.B_scale_kpc)
    ism[B] = Bz[None, :]
    ism[RHO] = MU_MASS * M_P_G * ism[N_H]
    mu_mol = 1.27 * (1 - ism[F_ION]) + 0.6 * ism[F_ION]            # mean molecular weight
    ism[CS] = np.sqrt(5.0 / 3.0 * K_B * ism[T] / (mu_mol * M_P_G))
    ism[VA_IDEAL] = ism[B] / np.sqrt(4 * np.pi * ism[RHO])
    ism[VA_ION] = ism[VA_IDEAL] / np.sqrt(ism[F_ION])
    ism[DV] = config.dv_kms * KM_S
    l_drive = config.l_drive_pc * PC_CM
    ism[L_A] = np.clip(l_drive * (ism[VA_IDEAL] / ism[DV]) ** 3, config.l_A_min_pc * PC_CM,
                       config.l_A_max_pc * PC_CM)
    ism[N_E] = ism[F_ION] * ism[N_H]
    ism[M_A] = ism[DV] / ism[VA_IDEAL]
    fv = ism[F_V]
    n_H = (fv * ism[N_H]).sum(0)
    n_e = (fv * ism[N_E]).sum(0)
    n_HI = (fv * ism[N_H] * (1 - ism[F_ION])).sum(0)
    U_rad = (config.urad_cmb_eV + config.urad_disk_eV * np.exp(-zk / config.urad_scale_kpc)) * EV_ERG
    U_B = Bz ** 2 / (8 * np.pi)
    zf = grid.z_faces / KPC_CM
    u_wind = config.wind_kms * KM_S * np.tanh(zf / config.wind_scale_kpc)
    src = np.exp(-zk / config.sn_scale_height_kpc)
    src = 0.5 * src / np.sum(src * grid.dz)
    sn_flux = config.sn_rate_kpc2_myr * 1e51 / (KPC_CM ** 2 * MYR_S)
    vA_eff = (fv * ism[VA_ION]).sum(0)
    return Galaxy(z=z, ism=ism, n_H=n_H, n_HI=n_HI, n_e=n_e, U_rad=U_rad, U_B=U_B, u_wind=u_wind,
                  source=src, sn_energy_flux=sn_flux, vA_eff=vA_eff, geometry_factor=config.geometry_factor,
                  halo_height=config.halo_height_kpc * KPC_CM, metallicity=config.metallicity,
                  z_sun=config.z_sun_kpc * KPC_CM, phase_names=tuple(p.name for p in phases))
