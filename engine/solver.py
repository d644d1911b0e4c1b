"""engine.solve: one point of parameter space -> CR spectra and observables at the Sun [docs/interfaces.md]."""

import time
from dataclasses import dataclass

import numpy as np

from . import _transport_kernels as _k
from .acceleration import SlowModeExtrapolation
from .errors import ConfigError, check_choice, check_range
from .galaxy import as_galaxy_config, build_galaxy, Galaxy
from .losses import adiabatic_rate
from .grid import as_grid_config, build_grid
from .laws import law_class, make_law
from .observables import intensity, observables_from_spectra
from .outcome import outcome_bands, settling_of_window
from .result import Result
from .species import INJECTION_PARAMS, SPECIES, SPECIES_NAMES, kinematics
from .transport import Evolution, SteadyStateCriterion, build_problem, _interp_index
from .units import C_LIGHT, EV_ERG, GEV_ERG, KPC_CM, MYR_S

__all__ = ["solve", "prepare", "INITIAL_CONDITIONS"]

INITIAL_CONDITIONS = ("normal", "low", "high")
REFERENCE_NU0, REFERENCE_DELTA = 1e-9, 0.6   # the seed's Fig. 1 law, used only to build the "normal" start


def _split_params(params, law_cls):
    params = dict(params or {})
    allowed = list(law_cls.PARAMS) + list(INJECTION_PARAMS)
    for k in params:
        if k not in allowed:
            check_choice(f"params.{k}", k, allowed)
    inj = {}
    for k, (default, lo, hi, unit, _doc) in INJECTION_PARAMS.items():
        inj[k] = check_range(f"params.{k}", params.pop(k, default), lo, hi, unit)
    if inj["inj_slope"] == 1.0 or inj["inj_slope_e"] == 1.0:
        raise ConfigError("params.inj_slope = 1 is not allowed (the energy integral diverges logarithmically)")
    return params, inj


def initial_state(kind, problem, grid, galaxy):
    """Initial CR state [physics spec Sec. 11 [S]; H22 Sec. 4.4.2].

    ``normal``: a law-independent, observed-like start: the thin-disk slab estimate N(z) = N_mid (1 - z/H)
    with N_mid from a leaky box with the seed's Fig. 1 law (nu0 = 1e-9 s^-1, delta = 0.6) and the static
    losses, secondaries built from it in production order. ``low``: 1e-3 x normal. ``high``: spatially flat,
    with 10x the column CR content of normal.
    """
    check_choice("initial", kind, INITIAL_CONDITIONS)
    H = grid.halo_height
    n_s, n_z, n_E = problem.shape
    N = np.zeros((n_s, n_z, n_E))
    q_col = (problem.Q * grid.dz[None, :, None]).sum(1)          # per side [cm^-2 s^-1]
    prof = 1.0 - grid.z / H
    mid = np.zeros((n_s, n_E))
    for s in problem.order:
        sp = SPECIES[s]
        k = kinematics(sp, grid.E)
        nu = REFERENCE_NU0 * k["beta"] * k["R"] ** (-REFERENCE_DELTA)
        D = galaxy.geometry_factor * (k["beta"] * C_LIGHT) ** 2 / (3 * nu)
        t_esc = H * H / (2 * D)
        src = q_col[s] / H
        for kk in range(problem.sec_child.size):
            if problem.sec_child[kk] == s:
                src = src + problem.sec_rate[kk, 0] * mid[problem.sec_parent[kk]] * 0.5
        for kk in range(problem.prod_parent.size):
            if problem.prod_child[kk] == s:
                p = problem.prod_parent[kk]
                q = problem.prod_rate[kk, 0] * mid[p] * 0.5
                for i in np.flatnonzero(problem.prod_bin[kk] >= 0):
                    tb = problem.prod_bin[kk, i]
                    src[tb] += problem.prod_w[kk, i] * q[i]
                    if tb + 1 < n_E:
                        src[tb + 1] += (1 - problem.prod_w[kk, i]) * q[i]
        E_lo = grid.E_edges[:-1]
        t_loss = (grid.E_edges[1:] - E_lo) / np.maximum(problem.b_static[s, 0], 1e-300) * 0.5
        rate = 1 / t_esc + 1 / t_loss + 0.5 * problem.lam[s, 0]
        mid[s] = src / rate
    N[:] = mid[:, None, :] * prof[None, :, None]
    if kind == "low":
        N *= 1e-3
    elif kind == "high":
        col = (N * grid.dz[None, :, None]).sum(1)
        N[:] = 10.0 * col[:, None, :] / H
    return N


class _Prepared:
    """A solve's static set-up (grid, galaxy, law, problem, interpolation tables, work arrays)."""

    def __init__(self, params, law, galaxy, grid):
        law_params, inj = _split_params(params, law_class(law))
        self.law = make_law(law, law_params)
        gcfg = as_galaxy_config(galaxy) if not isinstance(galaxy, Galaxy) else None
        self.grid_cfg = as_grid_config(grid)
        if isinstance(galaxy, Galaxy):
            H_kpc = galaxy.halo_height / KPC_CM
        else:
            H_kpc = gcfg.halo_height_kpc
        self.grid = build_grid(self.grid_cfg, H_kpc)
        self.galaxy = galaxy if isinstance(galaxy, Galaxy) else build_galaxy(gcfg, self.grid)
        if self.galaxy.z.shape != self.grid.z.shape or not np.allclose(self.galaxy.z, self.grid.z):
            raise ConfigError("galaxy.z does not match the grid's cell centres: build the Galaxy with "
                              "engine.galaxy.build_galaxy(config, grid) on the same grid")
        self.params = dict(self.law.params) | inj
        self.law.bind(self.galaxy, self.grid)
        g = self.grid
        self.problem = build_problem(g, self.galaxy, inj)
        n_s, n_z, n_E = self.problem.shape
        kin = [kinematics(sp, g.E) for sp in SPECIES]
        kin_edges = [kinematics(sp, g.E_edges) for sp in SPECIES]
        self.beta = np.array([k["beta"] for k in kin])
        self.v = self.beta * C_LIGHT
        self.R = np.array([k["R"] for k in kin])
        lnRw = np.log(g.R_waves)
        self.ridx = np.zeros((n_s, n_E), np.int64)
        self.rw = np.zeros((n_s, n_E))
        for s in range(n_s):
            i, w = _interp_index(lnRw, np.log(self.R[s]))
            if np.any(i < 0):
                raise ConfigError("grid: the wave rigidity grid does not cover every species' rigidity")
            self.ridx[s], self.rw[s] = i, w
        self.widx = np.zeros((n_s, g.R_waves.size), np.int64)
        self.ww = np.zeros((n_s, g.R_waves.size))
        for s in range(n_s):
            self.widx[s], self.ww[s] = _interp_index(np.log(self.R[s]), lnRw)
        self.dlnR = np.array([np.diff(np.log(k["R"])) for k in kin_edges])
        self.E_kin_erg = np.array([sp.A * g.E for sp in SPECIES]) * GEV_ERG
        self.pv_erg = np.array([sp.A * k["p"] * k["beta"] for sp, k in zip(SPECIES, kin)]) * GEV_ERG
        self.D_cap = self.v * g.halo_height / 3.0
        self.adiab = np.array([adiabatic_rate(g.E_edges[:-1], sp.mass_GeV) for sp in SPECIES])
        n_R, n_ph = g.R_waves.size, self.galaxy.ism.shape[1]
        self.eps_cr = np.zeros((n_z, n_R))
        self.P_cr = np.zeros((n_z, n_R))
        self.dPdz = np.zeros((n_z, n_R))
        self.nuob = np.zeros((n_z, n_R))
        self.vst = np.zeros((n_z, n_R))
        self.vbar = np.zeros((n_z, n_R))
        self.x = np.zeros((n_ph, n_z, n_R))
        self.flag = np.zeros((n_z, n_R), np.int8)
        self.a3 = np.ones((n_s, n_z, n_E))
        zs = self.galaxy.z_sun
        self.sun = np.flatnonzero(g.z_faces[1:] <= max(zs, g.z_faces[1]))
        self.sun_w = g.dz[self.sun] / g.dz[self.sun].sum()

    def evaluate_law(self, N):
        """Evaluate the law on the CR state N: fills nuob, vst, x, flag, vbar (the per-step hook of engine.laws).
        Returns False if the law returned non-finite values."""
        self.cr_state(N)
        self.law.evaluate(self.eps_cr, self.dPdz, self.nuob, self.vst, self.x, self.flag, self.vbar)
        return bool(np.all(np.isfinite(self.nuob)) and np.all(np.isfinite(self.vst)) and np.all(self.nuob > 0))

    def cr_state(self, N):
        """Fill eps_cr, P_cr and dPdz (n_z, n_R) at the cell faces from the CR state N (the law's inputs)."""
        g = self.grid
        _k.cr_state(N, self.E_kin_erg, self.pv_erg, self.dlnR, self.widx, self.ww, g.h_face,
                    self.eps_cr, self.P_cr, self.dPdz)

    def set_coefficients(self, nuob, vst, N, slopes_from=None):
        """Refresh the transport coefficients (D, V, losses, reacceleration) from nu_s/beta, v_st and the law's
        wave imbalance ``self.vbar`` on (z, R);
        the streaming terms also need the CR state N: its gradients (streaming loss) and spectral slopes (of
        ``slopes_from`` if given, else of N) (physics spec Eq. 10)."""
        p, g = self.problem, self.grid
        _k.spectral_factor(N if slopes_from is None else slopes_from, p.x_edges, self.a3)
        _k.transport_coefficients(nuob, vst, self.vbar, self.ridx, self.rw, self.beta, self.v,
                                  self.galaxy.geometry_factor, self.D_cap, self.galaxy.u_wind, self.galaxy.vA_eff,
                                  float(self.law.reacceleration), g.dz, g.h_face, N, self.a3,
                                  p.b_static, self.adiab, p.D_face, p.V_face, p.b_lo, p.K_reacc, p.gain)

    def update_scattering(self, N):
        """Evaluate the law on N and refresh the transport coefficients (explicit coupling)."""
        if not self.evaluate_law(N):
            return False
        self.set_coefficients(self.nuob, self.vst, N)
        return True

    def relevant(self, floor=1e-6):
        """Mask (n_z, n_R) of cells holding CRs that matter (eps_cr > ``floor`` of the column maximum at that R)."""
        e = self.eps_cr
        return e > floor * np.maximum(e.max(axis=0, keepdims=True), 1e-300)

    def sun_average(self, N):
        return np.tensordot(self.sun_w, N[:, self.sun, :], axes=([0], [1]))


def prepare(params=None, *, law="empirical", galaxy=None, grid=None):
    """Validate inputs and build the static set-up of a solve (exposed for tests and benchmarks)."""
    return _Prepared(params, law, galaxy, grid)


@dataclass(frozen=True)
class Coupling:
    """Coupling of a live law to the transport (docs/physics.md, "Coupling to the transport").

    The waves are in local steady state with the CRs (their equilibration time ~30 yr R^1/2 is far below any
    transport time, physics spec Sec. 5), so the scattering rate that moves the CRs in a step must be the one
    the CRs' own new state sustains. Every step solves the proton spectrum bin by bin together with the wave
    balance at the proton's rigidity, and likewise the electrons, which carry the pressure below ~0.3 GV
    (:class:`engine.coupling.ImplicitCoupling`: Newton on each bin's column aiming at ``newton_tol``, at most
    ``newton_maxit`` iterations, a stalled bin accepted up to ``newton_tol_accept``; 1e-4 instead of 1e-6
    saves 15-20 % of a run and moved new_damping's steady spectra by < 1.5e-4, MeV positrons by 1e-4); a step
    in which a bin ends above ``newton_tol_accept`` is rejected and retried with half the time step (down to
    ``dt_min_myr``, below which it is accepted and the run's message says so). The other species follow with
    the same coefficients. The step size also follows the wave field: a step that moves ln nu by more than
    ``dlnu_reject`` in a cell that controls the step (below) is retried with half the step, and the step grows only while
    the largest move stays below ``dlnu_grow`` (with larger steps the low-energy disk cells, where losses
    are fast, once showed excursions of e^3 that dt = 1 and 0.25 Myr did not have; 0.6 instead of 0.3 since
    the balanced splitting of reacceleration: the first ~1 Myr, where the wave field settles on the CRs by
    0.2-0.4 in ln nu per step whatever the step, takes half the steps; 500 Myr states within 0.6 % (the
    10 Myr steps' own error is ~1-2 %), steady states within 1e-5; new_damping 184 -> 146 steps to steady,
    sc_reference 146 -> 84 to 500 Myr). Only cells that hold more than ``dlnu_floor`` of the largest CR energy
    density at their rigidity in the column control the step: the halo top at 27-31 kpc, where 0.01-0.4 GV
    CRs hardly arrive (eps_cr < 1e-3 of the midplane's), moves its ln nu by 0.7-0.9 per step for the first
    ~5 Myr and by 0.1-0.3 per 10 Myr step for ~800 Myr under new_damping_plus_standard; with 1e-3 instead of
    1e-6 that run takes 127 instead of 221 steps to the same steady state (within 2e-3, as close as its low
    and high starts' steady states are to each other), sc_only stops at the same 1008 Myr in 159 instead of
    204 steps, sc_reference stops at 1613 instead of 1598 Myr (its time averages within 3 %), and new_damping,
    new_linear, new_external and sc_reference to 500 Myr take the same steps to within 1 (measured 2026-11-28;
    1e-2 moved the stopping times of sc_reference and sc_only by 370-550 Myr).

    A run is steady only when, besides the spectra, no cell holding more than ``dlnu_floor`` of its column's
    CRs moves its rate by more than ``osc_dlnu`` (in ln nu) per step. It is oscillating when, over its last
    ``osc_window`` steps, some cell holding CRs (eps_cr > 1e-6 of the column maximum) moved back and forth by
    more than ``osc_amp`` in ln nu (sum |d ln nu| - |net d ln nu|, twice the reversed amplitude: a front that
    sweeps through a cell, or a slow drift, does not count); if that
    lasts for ``stop_window`` steps once t >= ``stop_after_myr`` the run is stopped there (it will not
    settle). Before ``project_after_myr`` no slow mode is projected toward t_max (the transient is not one
    mode; engine.acceleration, ``SteadyStateCriterion.project``). The spectra and observables of a live run
    that ends without reaching a steady state are time
    averages over its last ``avg_myr`` (H22 Sec. 5.4 compare the last snapshots), with the band of the
    snapshots in ``Result.time_band``.

    Such a run may still have settled in part of its rigidity range: ``Result.outcome`` labels a rigidity
    ``steady`` when, between the two halves of the last ``avg_myr``, the time-averaged Sun spectra of every
    bin at that rigidity moved by less than ``band_tol`` (fraction) and ln nu at the Sun swung around its net
    drift by less than ``osc_amp``; ``oscillating`` when it swung by more; else ``not-converged`` (see
    :func:`engine.outcome.settling_labels`). Fields outside ``RANGES`` raise ConfigError naming the field.
    """

    newton_tol: float = 1e-4
    newton_tol_accept: float = 1e-2
    dlnu_reject: float = 1.0
    dlnu_grow: float = 0.6
    newton_maxit: int = 30
    dt_min_myr: float = 1e-2
    osc_dlnu: float = 0.1
    osc_amp: float = 0.5
    osc_window: int = 10
    stop_after_myr: float = 1000.0
    project_after_myr: float = 1000.0
    stop_window: int = 50
    avg_myr: float = 100.0
    band_tol: float = 0.01
    min_evolve_myr: float = 100.0
    stall_after_steps: int = 300
    dlnu_floor: float = 1e-3

    #: allowed ranges of the fields (name -> (lo, hi, unit)); integers are checked to be integers
    RANGES = {"newton_tol": (1e-12, 1e-2, ""), "newton_tol_accept": (1e-12, 1.0, ""),
              "dlnu_reject": (1e-3, 100.0, "ln nu"), "dlnu_grow": (1e-3, 100.0, "ln nu"),
              "newton_maxit": (1, 1000, ""), "dt_min_myr": (1e-8, 1e3, "Myr"), "osc_dlnu": (0.0, 100.0, "ln nu"),
              "osc_amp": (0.0, 100.0, "ln nu"), "osc_window": (2, 10000, "steps"),
              "stop_after_myr": (0.0, 1e6, "Myr"), "project_after_myr": (0.0, 1e6, "Myr"),
              "stop_window": (1, 100000, "steps"),
              "avg_myr": (0.0, 1e6, "Myr"), "band_tol": (1e-8, 1.0, ""),
              "min_evolve_myr": (0.0, 1e6, "Myr"), "stall_after_steps": (100, 100000, "steps"),
              "dlnu_floor": (0.0, 0.5, "")}

    def __post_init__(self):
        for name, (lo, hi, unit) in self.RANGES.items():
            value = getattr(self, name)
            check_range(f"coupling.{name}", value, lo, hi, unit)
            if isinstance(lo, int) and int(value) != value:
                raise ConfigError(f"coupling.{name} = {value!r} must be an integer ({lo} <= {name} <= {hi})")
        if self.newton_tol_accept < self.newton_tol:
            raise ConfigError(f"coupling.newton_tol_accept = {self.newton_tol_accept!r} must be >= "
                              f"coupling.newton_tol = {self.newton_tol!r}")
        if self.dlnu_grow > self.dlnu_reject:
            raise ConfigError(f"coupling.dlnu_grow = {self.dlnu_grow!r} must be <= "
                              f"coupling.dlnu_reject = {self.dlnu_reject!r}")


#: ordinary steps (at the cap) a run takes after a projection of its slowest mode, at least
_KEEP_STEPS = 10


def _rel_change(s_old, s_new, criterion):
    """Largest fractional change of the Sun's spectra (bins above ``criterion.floor`` of their peak)."""
    peak = s_new.max(axis=1, keepdims=True)
    mask = s_new > criterion.floor * np.maximum(peak, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.where(mask, np.abs(s_new - s_old) / s_new, 0.0).max())


def _evolve(prep, N, t_max_myr, criterion, coupling=None, dt0_myr=1e-3, dt_max_myr=None, max_steps=None):
    """Integrate to steady state or t_max (see SteadyStateCriterion and Coupling)."""
    g = prep.grid
    # a law whose terms do not depend on the CRs (e.g. extrinsic turbulence alone) gives a fixed nu_s(z, R):
    # it is stepped like the empirical law, with the law evaluated once
    live = prep.law.live and getattr(prep.law, "cr_dependent", True)
    coupling = coupling or Coupling()
    growth = 1.3 if live else 1.6
    if max_steps is None:
        max_steps = DEFAULT_MAX_STEPS["live" if live else "fixed"]
    dt = dt0_myr
    t = 0.0
    hist = {"t_myr": [], "E_cr_erg_cm2": [], "escape_flux": [], "max_rel_change": [], "max_dlnu": [],
            "reversal": [], "where_dlnu": [], "where_reversal": []}
    recent = []                                     # per-cell d ln nu of the last osc_window steps
    ok_count = 0
    n_steps = 0
    n_rejected = 0
    n_forced = 0
    status, message = "not-converged", f"t_max = {t_max_myr:g} Myr reached before the steady-state criterion"
    E_col = lambda N: float((N * prep.E_kin_erg[:, None, :] * g.dz[None, :, None]).sum())
    if not prep.update_scattering(N):
        return Evolution(N, "failed", "the scattering law returned non-finite values", t, n_steps, hist)
    if dt_max_myr is None:
        # a fixed law is linear and time independent: backward Euler may take long steps toward the steady
        # state; with reacceleration the balanced splitting (TransportProblem.step) has the exact steady state
        # at any dt but approaches it more slowly at long steps (a mode decaying at rate alpha in the sweep and
        # beta in the momentum step shrinks per step by (1 + h^2 alpha beta)/(1 + h alpha + h beta + h^2 alpha
        # beta), h = dt, which tends to 1 for long steps): 40 Myr reaches the criterion in 130-270 steps, 250 Myr
        # not within 10 Gyr (measured 2026-11-27)
        reacc = bool(prep.problem.K_reacc.any() or prep.problem.gain.any())
        dt_max_myr = prep.law.DT_MAX_MYR or (10.0 if live else (40.0 if reacc else 250.0))
    if live:
        from .coupling import ImplicitCoupling
        implicit = ImplicitCoupling(prep, tol=coupling.newton_tol, maxit=coupling.newton_maxit,
                                    tol_accept=coupling.newton_tol_accept)
    lnu = np.log(prep.nuob)
    # projections of the slowest mode toward t_max only for live laws (a fixed law is cheap to step), only
    # after the transient (engine.acceleration)
    # and only for a law with one steady state (collapse index q < 1, ScatteringLaw.unique_attractor): on the
    # quick grid a projection moved sc_reference (q = 1) into an oscillation its plain run does not reach
    extrap = SlowModeExtrapolation(project=live and criterion.project and prep.law.unique_attractor,
                                   project_after_myr=coupling.project_after_myr)
    s_old, e_old = prep.sun_average(N), E_col(N)
    snaps = []                          # (t, dt, Sun-averaged N, ln nu/beta at the Sun) over the last avg_myr
    while t < t_max_myr * (1 - 1e-12) and n_steps < max_steps:
        dt = min(dt, t_max_myr - t)
        if live:
            N_new, e_esc = implicit.step(N, dt * MYR_S)
            bad = implicit.last_stats[1] > 0 or not np.all(np.isfinite(N_new)) or not np.all(prep.nuob > 0)
            ctrl = prep.relevant(coupling.dlnu_floor)       # the cells that control the step (new state)
            jump = not bad and np.where(ctrl, np.abs(np.log(prep.nuob) - lnu), 0.0).max() > coupling.dlnu_reject
            if (bad or jump) and dt > coupling.dt_min_myr:      # retry with half the step
                dt *= 0.5
                n_rejected += 1
                continue
            n_forced += bad
        else:
            N_new, e_esc = prep.problem.step(N, dt * MYR_S)
        if not np.all(np.isfinite(N_new)):
            return Evolution(N, "failed", f"non-finite CR densities at t = {t:.3g} Myr", t, n_steps, hist)
        s_new, e_new = prep.sun_average(N_new), E_col(N_new)
        rel = _rel_change(s_old, s_new, criterion)
        rel = max(rel, abs(e_new - e_old) / max(e_new, 1e-300)) / dt
        s_old, e_old = s_new, e_new
        dN = N_new - N
        N = N_new
        t += dt
        n_steps += 1
        dlnu_max = dlnu_ctrl = 0.0
        if live:
            snaps.append((t, dt, s_new, np.log(prep.nuob[prep.sun[0]])))
            while snaps and snaps[0][0] < t - coupling.avg_myr:
                snaps.pop(0)
            if not (np.all(np.isfinite(prep.nuob)) and np.all(prep.nuob > 0)):
                return Evolution(N, "failed", f"the scattering law returned non-finite values at t = {t:.3g} Myr",
                                 t, n_steps, hist)
            lnu_new = np.log(prep.nuob)
            mask = prep.relevant()
            d = np.where(mask, lnu_new - lnu, 0.0)
            dlnu_max = float(np.abs(d).max())
            dlnu_ctrl = float(np.abs(np.where(ctrl, d, 0.0)).max())
            where_d = np.unravel_index(int(np.abs(d).argmax()), d.shape)
            lnu = lnu_new
            recent.append(d)
            if len(recent) > coupling.osc_window:
                recent.pop(0)
            rev_zr = np.abs(recent).sum(axis=0) - np.abs(np.sum(recent, axis=0))
            rev = float(rev_zr.max())
            where_r = np.unravel_index(int(rev_zr.argmax()), rev_zr.shape)
        hist["t_myr"].append(t)
        hist["E_cr_erg_cm2"].append(e_new)
        hist["escape_flux"].append(e_esc * GEV_ERG)
        hist["max_rel_change"].append(rel)
        hist["max_dlnu"].append(dlnu_max)
        hist["reversal"].append(rev if live else 0.0)
        if live:     # (z [kpc], R [GV]) of the cell with the largest move and the largest reversal
            hist["where_dlnu"].append((g.z[where_d[0]] / KPC_CM, g.R_waves[where_d[1]]))
            hist["where_reversal"].append((g.z[where_r[0]] / KPC_CM, g.R_waves[where_r[1]]))
        at_cap = dt >= 0.999 * min(dt_max_myr, t_max_myr)
        if (rel < criterion.tol_per_myr and dlnu_ctrl < coupling.osc_dlnu and t >= criterion.t_min_myr
                and (at_cap or rel * dt < 1e-8)):
            ok_count += 1
            if ok_count >= criterion.n_consecutive:
                status, message = "steady", (f"steady: max fractional change {rel:.2e} per Myr "
                                             f"< {criterion.tol_per_myr:g} at t = {t:.0f} Myr")
                break
        else:
            ok_count = 0
        if criterion.extrapolate and at_cap and ok_count == 0 and dlnu_ctrl < coupling.osc_dlnu:
            # a projection leaves t_keep of ordinary steps: the faster modes it excites decay there, and a live
            # run that ends unsteady is averaged over its last avg_myr of them
            t_keep = max(_KEEP_STEPS * dt, coupling.avg_myr if live else 0.0)
            jump = extrap.propose(N, dN, dt, rel, criterion.tol_per_myr, t, t_max_myr, t_keep)
            if jump is not None:
                N, advance = jump
                t += advance
                s_old, e_old = prep.sun_average(N), E_col(N)
        else:
            extrap.reset()
        if live and t >= coupling.stop_after_myr and len(hist["reversal"]) >= coupling.stop_window:
            if min(hist["reversal"][-coupling.stop_window:]) > coupling.osc_amp:
                message = f"stopped at t = {t:.0f} Myr"
                break
        if live and n_steps >= coupling.stall_after_steps and n_steps % 25 == 0:
            target = min(coupling.min_evolve_myr, t_max_myr)
            pace = float(np.diff(hist["t_myr"][-101:]).max())
            if t + (max_steps - n_steps) * pace < target:
                message = (f"stalled at t = {t:.3g} Myr: after {n_steps} steps its largest step of the last 100 is "
                           f"{pace:.2g} Myr, too short to reach {target:g} Myr within the {max_steps}-step budget")
                break
        if not live or dlnu_ctrl < coupling.dlnu_grow:
            dt = min(dt * growth, dt_max_myr)
    if n_steps >= max_steps and status != "steady":
        message = f"step budget ({max_steps}) exhausted at t = {t:.4g} Myr"
    if live and status != "steady":
        if len(hist["reversal"]) >= coupling.osc_window and hist["reversal"][-1] > coupling.osc_amp:
            message += (f"; oscillating: nu_s moved back and forth by {hist['reversal'][-1]:.2g} in ln "
                        f"(> {coupling.osc_amp:g}) over the last {coupling.osc_window} steps")
    message += extrap.summary()
    if n_forced:
        message += (f"; {n_forced} steps accepted at dt = {coupling.dt_min_myr:g} Myr with bins whose implicit "
                    f"coupling did not converge")
    if not live:
        prep.update_scattering(N)
    settling = (settling_of_window(prep, snaps, criterion.floor, coupling.band_tol, coupling.osc_amp)
                if live and status != "steady" else None)
    return Evolution(N, status, message, t, n_steps, {k: np.asarray(v) for k, v in hist.items()}, snaps,
                     n_rejected, settling)


def _time_average(E_edges, E, snapshots):
    """Time-weighted mean LIS intensity over the snapshots (t, dt, N_sun) and, for every observable, the band
    (min, max over the snapshots). Returns (J_mean, observables of J_mean, {name: (x, lo, hi)}, (t0, t1))."""
    Js = [intensity(snap[2], E_edges) for snap in snapshots]
    w = np.array([snap[1] for snap in snapshots])
    w = w / w.sum()
    J = {k: sum(wi * Ji[k] for wi, Ji in zip(w, Js)) for k in Js[0]}
    obs = observables_from_spectra(E, J, 0.0)
    per = [observables_from_spectra(E, Ji, 0.0) for Ji in Js]
    band = {}
    for name, (x, _y) in obs.items():
        ys = np.array([o[name][1] for o in per])
        band[name] = (x.copy(), ys.min(axis=0), ys.max(axis=0))
    t0 = snapshots[0][0] - snapshots[0][1]
    return J, obs, band, (float(t0), float(snapshots[-1][0]))


#: step budget of one solve when ``engine.solve(max_steps=None)``: a live law's step costs 10-40 ms and a run
#: that has not settled in 1200 steps is oscillating or flickering (README, "Speed"); a fixed law's ~3 ms
DEFAULT_MAX_STEPS = {"live": 1200, "fixed": 4000}
#: allowed range of ``max_steps``
MAX_STEPS_RANGE = (10, 1_000_000)


def solve(params=None, *, law="empirical", galaxy=None, grid=None, initial="normal", t_max_myr=10000.0,
          criterion=None, max_steps=None):
    """Evolve the CR spectra of one point of parameter space to steady state (or t_max) and observe them.

    Parameters
    ----------
    params : dict or None
        Law parameters (see ``engine.laws.PRESETS[law].PARAMS``) and injection parameters
        (``engine.species.INJECTION_PARAMS``); missing ones take their defaults.
    law : str
        Scattering-law preset (``engine.laws.PRESETS``), default "empirical".
    galaxy : GalaxyConfig | dict | str | Galaxy | None
        The galaxy (default: the calibrated ``milky_way`` preset).
    grid : GridConfig | dict | None
        Resolution.
    initial : "normal" | "low" | "high"
        Initial CR state (see :func:`initial_state`).
    t_max_myr : float
        Maximum evolution time [Myr]. Default 10 Gyr (the age of the disk): the calibrated halo's slowest
        relaxation time at ~1 GV is 4 H^2/(pi^2 D) ~ 2 Gyr, so H22's 500 Myr is not a steady state here
        (README, "Time to steady state").
    criterion : SteadyStateCriterion, optional
    max_steps : int or None
        Step budget (``MAX_STEPS_RANGE``, 10 to 10^6). None: 1200 for a law that depends on the CR state,
        4000 for a fixed law (``DEFAULT_MAX_STEPS``). A run that uses it up ends ``not-converged`` with a
        message starting "step budget (N) exhausted" (a live run's observables are then time averages over its
        last ``Coupling.avg_myr``); a survey may set a lower budget to cap what one slow point costs
        (``[engine] max_steps``, README).

    Returns
    -------
    Result (status "steady", "not-converged" or "failed"); raises ConfigError for bad input only.
    """
    t0 = time.perf_counter()
    check_range("t_max_myr", t_max_myr, 1e-3, 1e5, "Myr")
    check_choice("initial", initial, INITIAL_CONDITIONS)
    if max_steps is not None:
        lo, hi = MAX_STEPS_RANGE
        check_range("max_steps", max_steps, lo, hi, "steps")
        if isinstance(max_steps, bool) or int(max_steps) != max_steps:
            raise ConfigError(f"max_steps = {max_steps!r} must be an integer ({lo} <= max_steps <= {hi})")
        max_steps = int(max_steps)
    prep = _Prepared(params, law, galaxy, grid)
    criterion = criterion or SteadyStateCriterion()
    N0 = initial_state(initial, prep.problem, prep.grid, prep.galaxy)
    ev = _evolve(prep, N0, t_max_myr, criterion, max_steps=max_steps)
    return _make_result(prep, ev, law, time.perf_counter() - t0, t_max_myr)


def _make_result(prep, ev, law, wall, t_max_myr=float("inf")):
    g = prep.grid
    N_sun = prep.sun_average(ev.N)
    J = intensity(N_sun, g.E_edges)
    energy = {sp.name: g.E.copy() for sp in SPECIES}
    rigidity = {sp.name: prep.R[s].copy() for s, sp in enumerate(SPECIES)}
    obs = observables_from_spectra(g.E, J, 0.0)
    extra = {"N": ev.N, "x": prep.x.copy()}
    band, window = {}, ()
    message = ev.message
    if ev.status != "steady" and len(ev.snapshots) >= 2:
        extra["spectra_final"], extra["observables_final"] = J, obs
        J, obs, band, window = _time_average(g.E_edges, g.E, ev.snapshots)
        message += (f"; spectra and observables are time averages over t = {window[0]:.0f}-{window[1]:.0f} Myr "
                    f"({len(ev.snapshots)} steps; band in Result.time_band)")
    R = g.R_waves
    beta_p = R / np.sqrt(R ** 2 + 0.938 ** 2)
    nu_s = prep.nuob * beta_p[None, :]
    kappa = (beta_p[None, :] * C_LIGHT) ** 2 / (3 * np.maximum(nu_s, 1e-300))
    status = ev.status
    if status != "failed" and not all(np.all(np.isfinite(y)) for _, y in obs.values()):
        status = "failed"
    eps_sun = np.tensordot(prep.sun_w, prep.eps_cr[prep.sun], axes=([0], [0])) / EV_ERG
    return Result(status=status, message=message, law=law, params=dict(prep.params), species=SPECIES_NAMES,
                  energy=energy, rigidity=rigidity, spectra=J, observables=obs, R_waves=R.copy(),
                  z_kpc=g.z_faces[1:] / KPC_CM, nu_s=nu_s, kappa=kappa, v_st=prep.vst.copy(), flags=prep.flag.copy(),
                  outcome=outcome_bands(prep, status, ev.settling), history=ev.history, eps_cr_sun=eps_sun,
                  wall_time_s=wall, n_steps=ev.n_steps, t_end_myr=ev.t_myr, t_max_myr=float(t_max_myr),
                  time_band=band, time_window_myr=window, extra=extra)
