"""CR transport in the disk + halo column: the operator, its time integration and the steady-state search
[physics spec Sec. 2 (Eq. 10-11), Sec. 10-11].

For every species s the engine evolves N_s(z, E), the number density in energy bin E (cm^-3), under

    dN/dt = d/dz (D_zz dN/dz) - d/dz ((u + v_st) N) - d/dE (Edot N) + reacceleration
            - N (lambda_frag + lambda_decay + lambda_ann) + Q_primary + Q_secondary

in z in [0, H] (symmetric about the midplane, N = 0 at the free-escape boundary z = H).
Integration is implicit (backward Euler). Diffusion, advection, continuous losses, catastrophic
losses and sources are solved *unsplit* by an energy sweep (see ``_transport_kernels.implicit_sweep``);
reacceleration and adiabatic gains are split (Lie) into a second tridiagonal step in ln p.
The scattering law is evaluated every step from the current CR state (the hook of ``engine.laws``).
"""

from dataclasses import dataclass, field

import numpy as np

from . import _transport_kernels as _k
from .errors import ConfigError, check_range
from .cross_sections import (LEPTON_ENERGY_FRACTION, LEPTON_RATE_FRACTION, PARTIAL_SPALLATION,
                             PBAR_ENERGY_FRACTION, PIONIC_RATE_CM3_S, annihilation_rate_coeff,
                             he_target_factor, sigma_inel_nucleus, sigma_inel_pp, sigma_pbar_loss,
                             sigma_pbar_production)
from .losses import static_loss_rate
from .species import SPECIES, SOLVE_ORDER, kinematics
from .units import C_LIGHT, GEV_ERG, LN2, MB_CM2, MYR_S

__all__ = ["TransportProblem", "SteadyStateCriterion", "Evolution", "build_problem", "injection_spectra"]


@dataclass
class TransportProblem:
    """Everything the transport kernels need, as arrays (cgs; axis order (n_species, n_z, n_E)).

    Static parts (grid, losses, cross sections, sources) are built once by :func:`build_problem`;
    D_face, V_face, b_lo, K_reacc and gain are refreshed from the law every step.
    A test can build one by hand (e.g. a pure-diffusion slab) and call :meth:`step`.
    """

    dz: np.ndarray
    h_face: np.ndarray
    z: np.ndarray
    H: float
    E_edges: np.ndarray
    lam: np.ndarray
    b_static: np.ndarray
    Q: np.ndarray
    D_face: np.ndarray
    V_face: np.ndarray
    order: np.ndarray
    sec_parent: np.ndarray = None
    sec_child: np.ndarray = None
    sec_rate: np.ndarray = None
    prod_parent: np.ndarray = None
    prod_child: np.ndarray = None
    prod_rate: np.ndarray = None
    prod_bin: np.ndarray = None
    prod_w: np.ndarray = None
    E_kin_tot: np.ndarray = None
    K_reacc: np.ndarray = None
    gain: np.ndarray = None
    x_edges: np.ndarray = None
    b_lo: np.ndarray = None
    escape: np.ndarray = field(default=None)

    def __post_init__(self):
        n_s, n_z, n_E = self.lam.shape
        if self.sec_parent is None:
            self.sec_parent = np.zeros(0, np.int64)
            self.sec_child = np.zeros(0, np.int64)
            self.sec_rate = np.zeros((0, n_z, n_E))
        if self.prod_parent is None:
            self.prod_parent = np.zeros(0, np.int64)
            self.prod_child = np.zeros(0, np.int64)
            self.prod_rate = np.zeros((0, n_z, n_E))
            self.prod_bin = np.zeros((0, n_E), np.int64)
            self.prod_w = np.zeros((0, n_E))
        if self.E_kin_tot is None:
            self.E_kin_tot = np.broadcast_to(np.sqrt(self.E_edges[1:] * self.E_edges[:-1]), (n_s, n_E)).copy()
        if self.b_lo is None:
            self.b_lo = self.b_static.copy()
        if self.K_reacc is None:
            self.K_reacc = np.zeros((n_s, n_z, n_E))
            self.gain = np.zeros((n_s, n_z, n_E))
        if self.x_edges is None:
            self.x_edges = np.broadcast_to(np.log(self.E_edges), (n_s, n_E + 1)).copy()
        self.escape = np.zeros(n_s)

    @property
    def shape(self):
        return self.lam.shape

    def reacceleration_rate(self, N):
        """dN/dt [cm^-3 s^-1 per bin] of diffusive reacceleration and adiabatic gains (the momentum-space
        operator, physics spec Eq. 10) at N with the current K_reacc and gain; None if they vanish."""
        if not (self.K_reacc.any() or self.gain.any()):
            return None
        out = np.empty_like(N)
        _k.momentum_diffusion_rate(N, self.K_reacc, self.gain, self.x_edges, out)
        return out

    def step(self, N, dt, reacceleration=True):
        """Advance N (n_s, n_z, n_E) [cm^-3] by dt [s]; returns (N_new, escaping energy flux [GeV cm^-2 s^-1]).

        Balanced splitting (Speth et al. 2013): the (z, E) sweep (transport, losses, sources) carries the
        momentum-space rate B N of the step's start as a source, and the backward-Euler momentum step solves
        (1 - dt B) N_new = N' - dt B N. A steady state of the step is then one of the full operator for any dt
        (plain Lie splitting biases it by O(dt): new_damping's p(0.1 GV) by -23 % with 5 Myr steps)."""
        N_new = np.empty_like(N)
        Q = self.Q
        r_old = self.reacceleration_rate(N) if reacceleration else None
        if r_old is not None:
            Q = Q + r_old
        e_esc = _k.implicit_sweep(N, N_new, dt, self.order, self.dz, self.h_face, self.D_face, self.V_face,
                                  self.lam, self.b_lo, self.E_edges, Q, self.sec_parent, self.sec_child,
                                  self.sec_rate, self.prod_parent, self.prod_child, self.prod_rate,
                                  self.prod_bin, self.prod_w, self.E_kin_tot, self.escape)
        if r_old is not None:
            N_new -= dt * r_old
            _k.momentum_diffusion_step(N_new, dt, self.K_reacc, self.gain, self.x_edges)
        return N_new, e_esc


def _interp_index(x_from, x_to):
    """Index i and weight w with x_to = (1-w) x_from[i] + w x_from[i+1] (log grids); i = -1 outside.
    Points on a node of x_from (including both ends) are inside and get that node with w = 0 (w = 1 at the
    last node)."""
    i = np.searchsorted(x_from, x_to, side="right") - 1
    inside = (x_to >= x_from[0]) & (x_to <= x_from[-1])
    i = np.clip(i, 0, x_from.size - 2)
    w = (x_to - x_from[i]) / (x_from[i + 1] - x_from[i])
    return np.where(inside, i, -1), np.where(inside, w, 0.0)


def injection_spectra(params, grid, galaxy):
    """Primary source Q (n_s, n_z, n_E) [cm^-3 s^-1]: power laws in rigidity dN/dR ~ R^-inj_slope at equal-R
    abundances (physics spec Sec. 10: j ~ R^-4.2, i.e. dN/dR ~ R^-2.2), normalised so that nuclei carry
    eps_inj of the SN energy (E_SN = 1e51 erg at the galaxy's SN rate) and leptons lepton_fraction of that,
    distributed in z with the galaxy's source profile (which integrates to 1/2 on z >= 0)."""
    n_E = grid.n_E
    Q = np.zeros((len(SPECIES), grid.n_z, n_E))
    abund = {"p": 1.0, "He": params["src_He"], "C": params["src_C"], "N": params["src_N"],
             "O": params["src_O"], "e-": 1.0}
    shapes = {}
    e_nuc = 0.0
    for s, sp in enumerate(SPECIES):
        if sp.name not in abund:
            continue
        kin_lo = kinematics(sp, grid.E_edges[:-1])
        kin_hi = kinematics(sp, grid.E_edges[1:])
        alpha = params["inj_slope_e"] if sp.lepton else params["inj_slope"]
        Rlo, Rhi = kin_lo["R"], kin_hi["R"]
        num = (Rlo ** (1 - alpha) - Rhi ** (1 - alpha)) / (alpha - 1)     # int_bin R^-alpha dR
        num = abund[sp.name] * num
        shapes[s] = num
        if not sp.lepton:
            e_nuc += np.sum(num * sp.A * np.sqrt(grid.E_edges[1:] * grid.E_edges[:-1])) * GEV_ERG
    e_flux = params["eps_inj"] * galaxy.sn_energy_flux   # erg cm^-2 s^-1 (both sides of the disk)
    norm_nuc = e_flux / e_nuc
    for s, num in shapes.items():
        sp = SPECIES[s]
        if sp.lepton:
            e_lep = np.sum(num * np.sqrt(grid.E_edges[1:] * grid.E_edges[:-1])) * GEV_ERG
            norm = params["lepton_fraction"] * e_flux / e_lep
        else:
            norm = norm_nuc
        Q[s] = norm * num[None, :] * galaxy.source[:, None]
    return Q


def build_problem(grid, galaxy, params):
    """Assemble the static TransportProblem for the engine's species on ``grid`` in ``galaxy``."""
    n_s, n_z, n_E = len(SPECIES), grid.n_z, grid.n_E
    E = grid.E
    names = [sp.name for sp in SPECIES]
    kin = [kinematics(sp, E) for sp in SPECIES]
    kin_lo = [kinematics(sp, grid.E_edges[:-1]) for sp in SPECIES]
    beta = np.array([k["beta"] for k in kin])
    nH = galaxy.n_H[:, None]
    lam = np.zeros((n_s, n_z, n_E))
    b_static = np.zeros((n_s, n_z, n_E))
    for s, sp in enumerate(SPECIES):
        bc = beta[s] * C_LIGHT
        if sp.name == "p":
            sig = sigma_inel_pp(E) * he_target_factor(1.0)
        elif sp.name == "pbar":
            sig = sigma_pbar_loss(E) * he_target_factor(1.0)
        elif sp.lepton:
            sig = np.zeros_like(E)
        else:
            sig = sigma_inel_nucleus(sp.A, E) * he_target_factor(sp.A)
        lam[s] = nH * sig * MB_CM2 * bc
        if sp.half_life_myr > 0:
            lam[s] += LN2 / (sp.half_life_myr * MYR_S * kin[s]["gamma"])[None, :]
        if sp.name == "e+":
            lam[s] += galaxy.n_e[:, None] * annihilation_rate_coeff(kin[s]["gamma"])[None, :]
        b_static[s] = static_loss_rate(sp, grid.E_edges[:-1], kin_lo[s]["beta"], galaxy)
    # same-energy-per-nucleon production: spallation and 10Be -> 10B decay
    sp_par, sp_ch, sp_rate = [], [], []
    for (pa, ch), sig in PARTIAL_SPALLATION.items():
        ip, ic = names.index(pa), names.index(ch)
        sp_par.append(ip)
        sp_ch.append(ic)
        sp_rate.append(nH * sig * MB_CM2 * he_target_factor(SPECIES[ip].A) * beta[ip][None, :] * C_LIGHT)
    i10, iB = names.index("10Be"), names.index("B")
    sp_par.append(i10)
    sp_ch.append(iB)
    sp_rate.append(np.broadcast_to(LN2 / (SPECIES[i10].half_life_myr * MYR_S * kin[i10]["gamma"]), (n_z, n_E)))
    # off-grid production: pbar (and nbar) from p and He, e+- from pions of p and He
    lnE = np.log(E)
    pr_par, pr_ch, pr_rate, pr_bin, pr_w = [], [], [], [], []
    for parent, A_par in (("p", 1.0), ("He", 4.0)):
        ip = names.index(parent)
        mult = A_par ** 0.8   # nucleon-number scaling of meson/pbar yields per E/n (pA ~ A^0.8)
        f_ism = 1.0 + 0.1 * 4.0 ** 0.8
        bc = beta[ip] * C_LIGHT
        for child, frac, rate in (
                ("pbar", PBAR_ENERGY_FRACTION, sigma_pbar_production(E) * MB_CM2 * bc),
                ("e+", LEPTON_ENERGY_FRACTION, LEPTON_RATE_FRACTION * PIONIC_RATE_CM3_S * (E > 0.28) * beta[ip]),
                ("e-", LEPTON_ENERGY_FRACTION, LEPTON_RATE_FRACTION * PIONIC_RATE_CM3_S * (E > 0.28) * beta[ip])):
            # a nucleon of kinetic energy E makes a child of kinetic energy frac * E (per nucleon for pbar)
            target = np.log(frac * E)
            k = (target - lnE[0]) / (lnE[1] - lnE[0])
            tb = np.floor(k).astype(np.int64)
            w = 1.0 - (k - tb)
            ok = (tb >= 0) & (tb < n_E)
            # keep number: the deposit is split between bins tb and tb+1 with weights w, 1-w
            pr_par.append(ip)
            pr_ch.append(names.index(child))
            pr_rate.append(nH * mult * f_ism * rate[None, :])
            pr_bin.append(np.where(ok, tb, -1))
            pr_w.append(np.where(ok, w, 0.0))
    E_kin_tot = np.array([sp.A * E for sp in SPECIES])
    x_edges = np.array([np.log(kinematics(sp, grid.E_edges)["p"]) for sp in SPECIES])
    Q = injection_spectra(params, grid, galaxy)
    zeros = np.zeros((n_s, n_z, n_E))
    return TransportProblem(
        dz=grid.dz, h_face=grid.h_face, z=grid.z, H=grid.halo_height, E_edges=grid.E_edges, lam=lam,
        b_static=b_static, Q=Q, D_face=zeros.copy(), V_face=zeros.copy(), order=np.array(SOLVE_ORDER, np.int64),
        sec_parent=np.array(sp_par, np.int64), sec_child=np.array(sp_ch, np.int64), sec_rate=np.array(sp_rate),
        prod_parent=np.array(pr_par, np.int64), prod_child=np.array(pr_ch, np.int64), prod_rate=np.array(pr_rate),
        prod_bin=np.array(pr_bin), prod_w=np.array(pr_w), E_kin_tot=E_kin_tot, x_edges=x_edges)


@dataclass(frozen=True)
class SteadyStateCriterion:
    """When is a run in steady state?

    The fractional change per Myr of every spectral bin at the Sun (bins holding more than ``floor`` of
    their species' peak), and of the column CR energy, must stay below ``tol_per_myr`` for ``n_consecutive``
    steps, with the time step at its cap (so that the slowest modes have been tested) and t >= t_min_myr.
    With backward Euler the change per step is dt x residual, so the remaining distance to the steady state
    is about tol x (slowest relaxation time); tol = 1e-5/Myr keeps it below ~2 % for relaxation times <~ 2 Gyr.

    With ``extrapolate`` the approach is sped up by Aitken jumps of its slowest mode
    (:class:`engine.acceleration.SlowModeExtrapolation`); the criterion itself is unchanged and must hold over
    ordinary steps after the last jump. With ``project`` as well, a live run that cannot meet the criterion
    before t_max at its present pace has that mode projected forward in time (after the transient, see
    ``engine.solver.Coupling.project_after_myr``), which advances t; only for laws with a unique steady
    state (``ScatteringLaw.unique_attractor``, collapse index q < 1): on the quick grid a projection moved
    sc_reference into an oscillation the plain run does not reach (docs/physics.md).
    """

    tol_per_myr: float = 1e-5
    n_consecutive: int = 3
    floor: float = 1e-6
    t_min_myr: float = 20.0
    extrapolate: bool = True
    project: bool = True

    def __post_init__(self):
        check_range("criterion.tol_per_myr", self.tol_per_myr, 0.0, 1.0, "per Myr", lo_open=True)
        check_range("criterion.n_consecutive", self.n_consecutive, 1, 1000, "steps")
        if int(self.n_consecutive) != self.n_consecutive:
            raise ConfigError(f"criterion.n_consecutive = {self.n_consecutive!r} must be an integer "
                              f"(1 <= n_consecutive <= 1000)")
        check_range("criterion.floor", self.floor, 0.0, 1.0, "of the peak", hi_open=True)
        check_range("criterion.t_min_myr", self.t_min_myr, 0.0, 1e6, "Myr")
        for name in ("extrapolate", "project"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"criterion.{name} = {getattr(self, name)!r} must be True or False")


@dataclass
class Evolution:
    """Outcome of :func:`engine.solve`'s time integration (internal)."""

    N: np.ndarray
    status: str
    message: str
    t_myr: float
    n_steps: int
    history: dict
    #: (t [Myr], dt [Myr], Sun-averaged N (n_s, n_E), ln(nu_s/beta) at the Sun (n_R,)) of the last steps of
    #: a live run (solver.Coupling.avg_myr)
    snapshots: list = field(default_factory=list)
    #: steps rejected and retried with half the time step (live laws: a bin's implicit coupling did not converge)
    n_rejected: int = 0
    #: live run without a steady state: per wave rigidity "steady" / "oscillating" / "not-converged" over its
    #: last window (engine.outcome.settling_labels), else None
    settling: list | None = None
