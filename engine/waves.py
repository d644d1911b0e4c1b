"""Gyro-resonant Alfven waves: e_A from the local balance S = Q, and the scattering it implies
[physics spec Sec. 3-5, 8, 11; Hopkins+22 Eq. 5-9, App. B].

:class:`WaveBalance` takes a list of damping terms (:mod:`engine.damping`) and driving terms
(:mod:`engine.driving`), lowers them once per galaxy (``bind``) into static coefficient tables,
and then, every transport step, solves ``G(x) = sum_j S_j(x) - sum_i Gamma_i(x) x = 0`` for
x = e_A/e_B in every phase, cell and rigidity bin with ONE numba kernel
(:func:`engine._wave_kernels.solve_balance`).
"""

import numpy as np

from . import _wave_kernels as _k
from .errors import ConfigError, check_choice, check_range
from .units import C_LIGHT, KPC_CM, MICROGAUSS

__all__ = ["Term", "WaveBalance", "gyroradius_cm", "nu_over_beta", "alfven_speed_eff", "psi_in_tilde",
           "RG_CM_PER_GV_G", "NU_HAT", "term_rate", "term_registry"]

#: r_g [cm] = RG_CM_PER_GV_G * R [GV] / B [G]  (r_g = R/B in Gaussian units; 1 GV = 1e17/c statvolt)
RG_CM_PER_GV_G = 1e17 / C_LIGHT
#: grey pitch-angle scattering normalisation nu_hat_s [H22 Sec. 2.4, Eq. 6]
NU_HAT = 0.75

# ISM rows of engine.galaxy handed to the kernels, in the kernel's own C_* order
_CELL_ROWS = ("B", "RHO", "N_H", "T", "F_ION", "F_DG", "CS", "VA_IDEAL", "L_A", "M_A", "DV")


def gyroradius_cm(R_GV, B_G):
    """Gyro-radius r_g = R/B [cm] (= 3.34e12 cm R_GV / B_uG) [physics spec Sec. 1]; resonance k_par = 1/r_g."""
    return RG_CM_PER_GV_G * np.asarray(R_GV, dtype=float) / np.asarray(B_G, dtype=float)


def nu_over_beta(x, R_GV, B_G):
    """Scattering rate over beta, nu_s/beta = (pi/4) nu_hat (c/r_g) e_A/e_B = (3 pi/16)(c/r_g) x [s^-1]
    [physics spec Sec. 4; H22 Eq. 6]."""
    return 0.25 * np.pi * NU_HAT * C_LIGHT / gyroradius_cm(R_GV, B_G) * np.asarray(x, dtype=float)


def psi_in_tilde(f_ion, rho, T, B_G, R_GV):
    """psi~_in = nu_in/(k_par v_A,ideal) at k_par = 1/r_g [physics spec Sec. 3]:
    0.01 (1 - f_ion) rho_-24^{3/2} R_GV T_1000^{1/2} B_uG^-2 (rho [g cm^-3], T [K], B [G])."""
    f_ion, rho, T, B_G, R_GV = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (f_ion, rho, T, B_G, R_GV)))
    return 0.01 * (1 - f_ion) * (rho * 1e24) ** 1.5 * R_GV * np.sqrt(T * 1e-3) / (B_G / MICROGAUSS) ** 2


def alfven_speed_eff(va_ideal, f_ion, psi_in):
    """Alfven speed of gyro-resonant waves in partially ionised gas [physics spec Sec. 3; H22 Eq. 5].

    v_A,eff^2 = v_A,ideal^2 [1 + 1 / (psi_ion [1 + psi_ion (psi_ion + 1/4) psi~_in^2])],
    psi_ion = rho_ion/rho_neutral = f_ion/(1 - f_ion).

    Parameters
    ----------
    va_ideal : array [cm/s], (B^2/4 pi rho)^1/2
    f_ion : array, ionised mass fraction (0, 1]
    psi_in : array, psi~_in = nu_in/(k_par v_A,ideal) (see :func:`psi_in_tilde`)

    Returns
    -------
    v_A,eff [cm/s], broadcast shape. Limits: psi~_in -> 0 gives v_A,ion = v_A,ideal/sqrt(f_ion);
    psi~_in -> inf gives v_A,ideal.
    """
    va, fi, ps = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (va_ideal, f_ion, psi_in)))
    out = np.empty(va.shape)
    flat = out.reshape(-1)
    for i, (a, b, c) in enumerate(zip(va.ravel(), fi.ravel(), ps.ravel())):
        flat[i] = _k.va_eff(a, b, c)
    return out


def term_registry(table):
    """Class decorator that registers a :class:`Term` subclass in ``table`` under ``cls.name``
    (:data:`engine.damping.DAMPING_TERMS`, :data:`engine.driving.DRIVING_TERMS`)."""

    def register(cls):
        table[cls.name] = cls
        return cls

    return register


class Term:
    """Common base of damping and driving terms: validated float coefficients and string options.

    Subclasses set ``name``, ``code`` (a kernel code), ``COEFFS`` (dict name -> ParamSpec-like with
    ``default, lo, hi, unit, doc``), optionally ``OPTIONS`` (dict name -> (default, allowed)) and fill
    :meth:`_row`, which returns the float parameter row the kernel switch reads.
    """

    name = "term"
    kind = "term"
    code = -1
    COEFFS: dict = {}
    OPTIONS: dict = {}
    #: nominal (k, e_A, CR) exponents of the term [physics spec Sec. 6-8 tables], for docs and tests
    exponents = (np.nan, np.nan, np.nan)

    def __init__(self, **kw):
        allowed = list(self.COEFFS) + list(self.OPTIONS)
        for key in kw:
            if key not in allowed:
                check_choice(f"{self.kind}.{self.name}.{key}", key,
                             allowed or ["(this term has no coefficients)"])
        for key, spec in self.COEFFS.items():
            v = kw.get(key, spec.default)
            setattr(self, key, check_range(f"{self.kind}.{self.name}.{key}", v, spec.lo, spec.hi, spec.unit))
        for key, (default, choices) in self.OPTIONS.items():
            setattr(self, key, check_choice(f"{self.kind}.{self.name}.{key}", kw.get(key, default), choices))

    def _row(self):
        raise NotImplementedError

    def lower(self):
        """Lower to (int code, float64 row of length N_PAR) for the kernel switch."""
        vals = [float(v) for v in self._row()]
        if len(vals) > _k.N_PAR:  # pragma: no cover - a programming error in a new term
            raise ConfigError(f"{self.kind}.{self.name}: {len(vals)} parameters > N_PAR = {_k.N_PAR}")
        row = np.zeros(_k.N_PAR)
        row[:len(vals)] = vals
        return int(self.code), row

    def describe(self):
        """Dict of the term's coefficients and options (for records and docs)."""
        d = {k: getattr(self, k) for k in self.COEFFS}
        d.update({k: getattr(self, k) for k in self.OPTIONS})
        return d

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"{type(self).__name__}({args})"


def _cell_array(ism):
    from . import galaxy as g
    return np.ascontiguousarray(np.stack([ism[getattr(g, r)] for r in _CELL_ROWS]), dtype=np.float64)


def _lower_all(damping, driving):
    terms = list(damping) + list(driving)
    codes = np.array([t.lower()[0] for t in terms], dtype=np.int64)
    rows = np.array([t.lower()[1] for t in terms], dtype=np.float64).reshape(len(terms), _k.N_PAR)
    is_drive = np.array([0] * len(damping) + [1] * len(driving), dtype=np.int64)
    return terms, codes, rows, is_drive


class WaveBalance:
    """Local steady state of the gyro-resonant wave energy, S_+- = Q_+- [physics spec Sec. 5, 8 [S]].

    The closure solves for the total x = e_A/e_B with Q = sum_i Gamma_i(x) e_A (non-linear Landau
    enters as Gamma_nll = Gamma0_nll x, the "usable closure" of physics spec Sec. 5 / H22 App. A3, B3):

        G(x) = sum_j S_j(x)/e_B - sum_i Gamma_i(x) x = 0,  largest root with G'(x) < 0,

    capped at x <= ``x_cap`` and floored at the x whose mean free path c/(3 nu_s) is
    ``mfp_floor_kpc``. Self-confinement drives only the wave running down the CR pressure gradient,
    the other sources drive both; the signed streaming speed is therefore
    v_st = -sign(dP'/dz) (v_A,eff/2) S_sc/S_total (isotropic average, physics spec Sec. 2 [S]).

    Phase averaging [physics spec Sec. 11 [S]]: <nu_s> = sum_i f_V,i nu_s,i and
    <v_st> = sum_i f_V,i v_st,i with one macroscopic (eps_cr, dP'/dz) shared by all phases.

    Parameters
    ----------
    damping, driving : sequences of :class:`engine.damping.DampingTerm` / :class:`engine.driving.DrivingTerm`
    x_cap : float, cap on e_A/e_B (1: e_A = e_B, Bohm-like scattering)
    mfp_floor_kpc : float, mean free path at the floor [kpc] (default 1 Mpc, kappa_par ~ 1e35 cm^2/s)
    grad_length : "halo" (default) or float [kpc], regularisation of the CR gradient that drives
        self-confinement: |dP'/dz| -> max(|dP'/dz|, P'/l) with P' ~ eps_cr/3, i.e. the CR gradient length
        never exceeds l (the halo height by default). It only acts near extrema of P' (the midplane,
        plateaus), where S_sc -> 0 would otherwise send kappa -> infinity; 0 disables it. The streaming direction goes smoothly through zero there.
    free_mfp_fraction : float, a (z, R) cell is flagged FLAG_FREE when c/(3 <nu_s>) exceeds this
        fraction of the halo height (default 0.03, ~1 kpc for H = 33 kpc: the diffusive escape time
        1.5 H^2/(c lambda) is then <~ 50 light-crossing times, ~5 Myr, vs >~ 100 Myr for the empirical law)
    """

    def __init__(self, damping, driving, *, x_cap=1.0, mfp_floor_kpc=1000.0, free_mfp_fraction=0.03,
                 grad_length="halo"):
        from .damping import DampingTerm
        from .driving import DrivingTerm
        for t in damping:
            if not isinstance(t, DampingTerm):
                raise ConfigError(f"damping term {t!r} is not an engine.damping.DampingTerm")
        for t in driving:
            if not isinstance(t, DrivingTerm):
                raise ConfigError(f"driving term {t!r} is not an engine.driving.DrivingTerm")
        self.damping = tuple(damping)
        self.driving = tuple(driving)
        self.x_cap = check_range("waves.x_cap", x_cap, 1e-6, 1.0)
        self.mfp_floor_kpc = check_range("waves.mfp_floor_kpc", mfp_floor_kpc, 1.0, 1e6, "kpc")
        self.free_mfp_fraction = check_range("waves.free_mfp_fraction", free_mfp_fraction, 1e-3, 1e3)
        if grad_length != "halo":
            grad_length = check_range("waves.grad_length", grad_length, 0.0, 1e3, "kpc")
        self.grad_length = grad_length
        self.bound = False

    # ------------------------------------------------------------------ lowering (once per galaxy)
    def bind(self, galaxy, R_waves):
        """Lower the terms on ``galaxy`` (needs ``.ism`` (14, n_phase, n_z); optional ``.halo_height``
        [cm], ``.geometry_factor``) at wave rigidities ``R_waves`` [GV]."""
        from . import galaxy as g
        ism = np.asarray(galaxy.ism, dtype=np.float64)
        R = np.ascontiguousarray(R_waves, dtype=np.float64)
        if R.ndim != 1 or R.size == 0 or np.any(~np.isfinite(R)) or np.any(R <= 0):
            raise ConfigError("grid.R_waves must be a non-empty 1-D array of finite rigidities > 0 (GV)")
        cell = _cell_array(ism)
        n_p, n_z = cell.shape[1:]
        Bg = cell[_k.C_B]                                                   # (n_p, n_z) [G]
        rg = RG_CM_PER_GV_G * R[None, None, :] / Bg[:, :, None]              # (n_p, n_z, n_R)
        k = 1.0 / rg
        vae = np.empty_like(rg)
        _k.va_eff_table(cell, R, vae)
        e_B = Bg ** 2 / (8 * np.pi)
        terms, codes, rows, is_drive = _lower_all(self.damping, self.driving)
        n_t, n_R = len(terms), R.size
        coef = np.zeros((max(n_t, 1), n_z, n_R, n_p))
        bexp = np.zeros(max(n_t, 1))
        crexp = np.zeros(max(n_t, 1))
        crkind = np.zeros(max(n_t, 1), dtype=np.int64)
        gdir = np.zeros(max(n_t, 1), dtype=np.int64)
        if n_t:
            bad = _k.term_tables(is_drive, codes, rows, cell, R, np.ascontiguousarray(k), vae,
                                 np.ascontiguousarray(e_B), coef, bexp, crkind, crexp, gdir)
            if bad:
                t = terms[bad - 1]
                raise ConfigError(f"{t.kind}.{t.name}: non-finite or negative rate on this galaxy "
                                  f"(check the ISM: n, T, B, l_A > 0); coefficients {t.describe()}")
        # merge terms with identical structure into groups (fewer exponentials per Newton step)
        sign = np.where(is_drive == 1, 1, -1) if n_t else np.zeros(0, dtype=np.int64)
        groups = {}
        for t in range(n_t):
            key = (int(sign[t]), float(bexp[t]), int(crkind[t]), float(crexp[t]), int(gdir[t]))
            groups.setdefault(key, []).append(t)
        keys = list(groups)
        n_g = max(len(keys), 1)
        self._coef = np.zeros((n_z, n_R, n_p, n_g))
        self._g_sign = np.zeros(n_g, dtype=np.int64)
        self._g_bexp = np.zeros(n_g)
        self._g_crkind = np.zeros(n_g, dtype=np.int64)
        self._g_crexp = np.zeros(n_g)
        self._g_dir = np.zeros(n_g, dtype=np.int64)
        for i, key in enumerate(keys):
            self._g_sign[i], self._g_bexp[i], self._g_crkind[i], self._g_crexp[i], self._g_dir[i] = key
            self._coef[..., i] = coef[groups[key]].sum(axis=0)
        self._term_coef = coef[:n_t]
        self._term_bexp, self._term_crkind, self._term_crexp = bexp[:n_t], crkind[:n_t], crexp[:n_t]
        self._is_drive = is_drive
        self._monotone = bool(np.all(self._g_bexp[self._g_sign > 0] <= 0.0)
                              and np.all(self._g_bexp[self._g_sign < 0] >= 0.0))
        self._fV = np.ascontiguousarray(ism[g.F_V])
        self._nuob_unit = 0.25 * np.pi * NU_HAT * C_LIGHT / rg
        x_floor = np.minimum(16.0 / (9.0 * np.pi) * rg / (self.mfp_floor_kpc * KPC_CM), 0.1 * self.x_cap)
        self._u_floor = np.log(x_floor)
        self._u_cap = float(np.log(self.x_cap))
        self._vae, self._e_B, self._k, self._rg = vae, np.ascontiguousarray(e_B), k, rg
        H = float(getattr(galaxy, "halo_height", 8.0 * KPC_CM))
        self._mfp_free = self.free_mfp_fraction * H
        self._geom = float(getattr(galaxy, "geometry_factor", 1.0 / 3.0))
        self._l_reg = H if self.grad_length == "halo" else self.grad_length * KPC_CM
        self._u_state = np.full((n_p, n_z, n_R), np.log(1e-7))
        self.shape = (n_p, n_z, n_R)
        self.R_waves = R
        self.bound = True
        return self

    @property
    def monotone(self):
        """True if F = G/x is non-increasing in ln x for every term set (unique root, Newton path)."""
        return self._monotone

    @property
    def cr_dependent(self):
        """True if some bound term depends on the CRs (eps_cr or their gradient): then nu_s must be coupled
        to the transport; otherwise it is a fixed function of position and rigidity."""
        return bool(np.any(self._g_crkind[self._coef.reshape(-1, self._coef.shape[-1]).any(axis=0)]
                           != _k.CR_NONE))

    @property
    def vA_eff(self):
        """(n_phase, n_z, n_R) Alfven speed of the gyro-resonant waves [cm/s] (Eq. 5)."""
        return self._vae

    def reset(self, x0=1e-7):
        """Reset the warm-start state of the root finder."""
        self._u_state[:] = np.log(x0)

    # ------------------------------------------------------------------ per step
    def solve(self, eps_cr, dPdz, out_nu_over_beta, out_vst, out_x, out_flag, out_vbar=None):
        """Fill the outputs from the CR state (see :meth:`engine.laws.ScatteringLaw.evaluate`).

        eps_cr, dPdz : (n_z, n_R) [erg cm^-3], [erg cm^-4]. Returns the number of non-converged
        balances (0 in normal operation; non-finite inputs give FLAG_NOROOT).
        """
        eps = np.ascontiguousarray(eps_cr, dtype=np.float64)
        grad = np.ascontiguousarray(dPdz, dtype=np.float64)
        n_p, n_z, n_R = self.shape
        if eps.shape != (n_z, n_R) or grad.shape != (n_z, n_R):
            raise ConfigError(f"eps_cr {eps.shape} and dPdz {grad.shape} must have shape (n_z, n_R) = {(n_z, n_R)}")
        return _k.solve_balance(self._coef, self._g_bexp, self._g_crkind, self._g_crexp, self._g_dir,
                                self._g_sign, self._fV, self._nuob_unit, self._u_floor, self._vae, self._e_B,
                                eps, grad, self._monotone, self._u_cap, self._geom, self._mfp_free,
                                self._l_reg, self._u_state, out_nu_over_beta, out_vst, out_x, out_flag,
                                np.empty((n_z, n_R)) if out_vbar is None else out_vbar)

    def solve_columns(self, cols, eps_cr, dPdz, out_nu_over_beta, out_vst, out_x, out_flag, out_vbar=None):
        """:meth:`solve` on the rigidity columns ``cols`` only (the other columns of the outputs are left
        as they are); used by the implicit coupling for the wave nodes that no carrier solved."""
        c = np.asarray(cols, dtype=np.int64)
        if c.size == 0:
            return 0
        n_p, n_z, _n_R = self.shape
        u = self._u_state[:, :, c]
        nuob, vst, vbar = np.empty((n_z, c.size)), np.empty((n_z, c.size)), np.empty((n_z, c.size))
        x, flag = np.empty((n_p, n_z, c.size)), np.empty((n_z, c.size), dtype=np.int8)
        n_bad = _k.solve_balance(self._coef[:, c], self._g_bexp, self._g_crkind, self._g_crexp, self._g_dir,
                                 self._g_sign, self._fV, self._nuob_unit[:, :, c], self._u_floor[:, :, c],
                                 self._vae[:, :, c], self._e_B, np.ascontiguousarray(eps_cr[:, c], dtype=np.float64),
                                 np.ascontiguousarray(dPdz[:, c], dtype=np.float64), self._monotone, self._u_cap,
                                 self._geom, self._mfp_free, self._l_reg, u, nuob, vst, x, flag, vbar)
        self._u_state[:, :, c] = u
        out_nu_over_beta[:, c], out_vst[:, c], out_x[:, :, c], out_flag[:, c] = nuob, vst, x, flag
        if out_vbar is not None:
            out_vbar[:, c] = vbar
        return n_bad

    def solve_arrays(self, eps_cr, dPdz):
        """Convenience: allocate outputs and solve; returns (nu_over_beta, vst, x, flag)."""
        n_p, n_z, n_R = self.shape
        nuob = np.empty((n_z, n_R))
        vst = np.empty((n_z, n_R))
        x = np.empty((n_p, n_z, n_R))
        flag = np.empty((n_z, n_R), dtype=np.int8)
        self.solve(eps_cr, dPdz, nuob, vst, x, flag)
        return nuob, vst, x, flag

    # ------------------------------------------------------------------ diagnostics (not per step)
    def term_rates(self, x, eps_cr, dPdz):
        """Per-term rates at given x (n_phase, n_z, n_R) and CR state (n_z, n_R), for diagnostics.

        Returns a dict name -> (n_phase, n_z, n_R) array: Gamma_i [s^-1] for damping terms and
        S_j/e_B [s^-1] for driving terms (duplicate names get a ``#n`` suffix).
        """
        x = np.asarray(x, dtype=float)
        eps = np.maximum(np.asarray(eps_cr, dtype=float), 0.0)[None]
        grad = np.abs(np.asarray(dPdz, dtype=float))[None]
        if self._l_reg > 0:
            grad = np.maximum(grad, eps / (3 * self._l_reg))
        e_B = self._e_B[:, :, None]
        out = {}
        for t, term in enumerate(self.damping + self.driving):
            c = np.moveaxis(self._term_coef[t], -1, 0)  # (n_p, n_z, n_R)
            kind = self._term_crkind[t]
            if kind == _k.CR_EPS:
                c = c * (eps / e_B) ** self._term_crexp[t]
            elif kind == _k.CR_GRAD:
                c = c * grad
            xe = self._term_bexp[t] + (1.0 if self._is_drive[t] else 0.0)
            name = term.name
            while name in out:
                name += "#"
            out[name] = c * x ** xe
        return out


def term_rate(term, ism, R_GV, x=0.0, eps_cr=0.0, dPdz=0.0):
    """Rate of one term on an ISM array (14, n_phase, n_z) at rigidities R_GV and uniform (x, eps, dP/dz).

    Returns (n_phase, n_z, n_R): Gamma [s^-1] (damping) or S/e_B [s^-1] (driving).
    """
    from .damping import DampingTerm
    from types import SimpleNamespace
    R = np.atleast_1d(np.asarray(R_GV, dtype=float))
    gal = SimpleNamespace(ism=np.asarray(ism, dtype=float))
    if isinstance(term, DampingTerm):
        wb = WaveBalance([term], []).bind(gal, R)
    else:
        wb = WaveBalance([], [term]).bind(gal, R)
    n_p, n_z, n_R = wb.shape
    xs = np.broadcast_to(np.asarray(x, dtype=float), (n_p, n_z, n_R))
    return next(iter(wb.term_rates(xs, np.full((n_z, n_R), eps_cr), np.full((n_z, n_R), dPdz)).values()))
