"""Numba kernels of the gyro-resonant wave balance [physics spec Sec. 3-8; Hopkins+22 Eq. 5-9].

Only ``@njit(cache=True)`` functions and the integer constants they switch on live here, in ONE
file, because numba's on-disk cache does not notice edits to jitted callees in other files.

Axis order (stated once, used everywhere in this module):

* static ISM arrays handed to :func:`term_tables`: ``cell`` (N_CELL, n_phase, n_z) with rows C_*;
* per-rigidity static arrays: (n_phase, n_z, n_R);
* lowered coefficient tables of the solver: (n_z, n_R, n_phase, n_group) so the innermost loop
  over groups of one cell is contiguous;
* CR state from the transport: (n_z, n_R).

The damping / driving terms of :mod:`engine.damping` and :mod:`engine.driving` lower themselves
to an integer code and a float64 row of length N_PAR. :func:`_damping_term` and
:func:`_driving_term` are the switches that turn (code, row, local ISM, k) into a static
prefactor plus the exponents of e_A/e_B and of the CR input. The per-step solver
:func:`solve_balance` then only sees sums of power laws in x = e_A/e_B.
"""

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------- layout of the ``cell`` array
C_B, C_RHO, C_NH, C_T, C_FION, C_FDG, C_CS, C_VAI, C_LA, C_MA, C_DV = range(11)
N_CELL = 11

# ---------------------------------------------------------------- term codes and row length
N_PAR = 8
# damping codes (Gamma [s^-1])
D_ION_NEUTRAL, D_DUST, D_NLL, D_TURB, D_NEW, D_CASCADE = 0, 1, 2, 3, 4, 5
# driving codes (S / e_B [s^-1])
S_SC, S_ET_GS95, S_ET_ISO, S_YL04, S_NEW = 0, 1, 2, 3, 4
# how a term depends on the CR state
CR_NONE, CR_EPS, CR_GRAD = 0, 1, 2
# per-phase root outcome (combined into engine.laws.FLAG_* by solve_balance)
R_ROOT, R_CAP, R_FLOOR, R_NOROOT = 0, 1, 2, 3
# output flags; equal to engine.laws.FLAG_* (checked by tests/engine/test_waves.py)
FL_STEADY, FL_BOTTLENECK, FL_FREE, FL_NOROOT = 0, 1, 2, 3

C_LIGHT = 2.99792458e10          # [cm s^-1]
AU_CM = 1.495978707e13           # [cm]
KPC_CM = 3.0856775814913673e21   # [cm]
KM_S = 1e5                       # [cm s^-1]
TOL_U = 1e-10                    # Newton tolerance on ln x: 1e-10 relative in e_A (far below any slope test)
MAXIT = 200
SCAN_DU = 0.25                   # ln-x step of the downward scan for non-monotone balances


# =============================================================== Eq. 5: Alfven speed =========== #

@njit(cache=True)
def va_eff(va_ideal, f_ion, psi_in):
    """Alfven speed of gyro-resonant waves in partially ionised gas [physics spec Sec. 3; H22 Eq. 5].

    v_A,eff^2 = v_A,ideal^2 [1 + 1/(psi_ion [1 + psi_ion (psi_ion + 1/4) psi_in^2])],
    psi_ion = f_ion/(1 - f_ion). Written with 1/psi_ion so that f_ion = 1 is exact (v_A,ideal).
    """
    if f_ion >= 1.0:
        return va_ideal
    inv_psi = (1.0 - f_ion) / f_ion
    psi = f_ion / (1.0 - f_ion)
    term = inv_psi / (1.0 + psi * (psi + 0.25) * psi_in * psi_in)
    return va_ideal * math.sqrt(1.0 + term)


@njit(cache=True)
def psi_in_tilde(f_ion, rho, T, B, R_GV):
    """psi~_in = nu_in/(k_par v_A,ideal) at k_par r_g = 1 [physics spec Sec. 3, numeric form of H22 Sec. 2.3]:
    0.01 (1 - f_ion) rho_-24^{3/2} R_GV T_1000^{1/2} B_uG^-2."""
    b_uG = B * 1e6
    return 0.01 * (1.0 - f_ion) * (rho * 1e24) ** 1.5 * R_GV * math.sqrt(T * 1e-3) / (b_uG * b_uG)


@njit(cache=True)
def va_eff_table(cell, R_GV, out):
    """Fill out (n_phase, n_z, n_R) with v_A,eff [cm/s] (Eq. 5) for every phase, cell and rigidity."""
    n_p, n_z = cell.shape[1], cell.shape[2]
    for p in range(n_p):
        for z in range(n_z):
            fi = cell[C_FION, p, z]
            for r in range(R_GV.size):
                psi = psi_in_tilde(fi, cell[C_RHO, p, z], cell[C_T, p, z], cell[C_B, p, z], R_GV[r])
                out[p, z, r] = va_eff(cell[C_VAI, p, z], fi, psi)


# =============================================================== the term switches ============= #

@njit(cache=True)
def _gamma_turb(row0, xi_t, cs_coef, va_i, cs, l_A, k):
    """GS95 turbulent + linear Landau rate C [(v_A,ideal + c cs)/l_A] (k l_A)^xi_t [physics spec Sec. 6]."""
    return row0 * (va_i + cs_coef * cs) / l_A * (k * l_A) ** xi_t


@njit(cache=True)
def _damping_term(code, row, cl, p, z, k, R_GV, vae):
    """Switch over damping codes: (static Gamma prefactor [s^-1], x exponent, CR kind, CR exponent).

    Gamma = prefactor * x^xexp * (eps_cr/e_B)^crexp  (CR_EPS) [physics spec Sec. 6, 8].
    """
    fion = cl[C_FION, p, z]
    if code == D_ION_NEUTRAL:
        # Gamma_in = C f_neutral T_1000^1/2 rho_-24
        g = row[0] * (1.0 - fion) * math.sqrt(cl[C_T, p, z] * 1e-3) * cl[C_RHO, p, z] * 1e24
        return g, 0.0, CR_NONE, 0.0
    elif code == D_DUST:
        # Gamma_dust = C k v_A,eff f_dg (k/k_d)^-xi_d, k_d = k_d0 n^1/2 psi_d (Squire+21)
        kd = row[1] * math.sqrt(cl[C_NH, p, z]) * row[2]
        xi = row[3] if k < kd else row[4]
        g = row[0] * k * vae * cl[C_FDG, p, z] * (k / kd) ** (-xi)
        return g, 0.0, CR_NONE, 0.0
    elif code == D_NLL:
        # Gamma_nll = C c_s k (e_A/e_B)
        return row[0] * cl[C_CS, p, z] * k, 1.0, CR_NONE, 0.0
    elif code == D_TURB:
        g = _gamma_turb(row[0], row[1], row[2], cl[C_VAI, p, z], cl[C_CS, p, z], cl[C_LA, p, z], k)
        return g, 0.0, CR_NONE, 0.0
    elif code == D_NEW:
        # Gamma_new = A (v_A,ideal/l_A) (k/k0)^xi_k x^xi_A (eps/e_B)^xi_cr ; k0 = row[4] or 1/l_A
        lA = cl[C_LA, p, z]
        k0 = row[4] if row[4] > 0.0 else 1.0 / lA
        g = row[0] * cl[C_VAI, p, z] / lA * (k / k0) ** row[1]
        kind = CR_EPS if row[3] != 0.0 else CR_NONE
        return g, row[2], kind, row[3]
    elif code == D_CASCADE:
        # isotropic cascade "damping" Gamma = C k v_A,ideal x^xi_A (K41: 1/2, Kraichnan: 1)
        return row[0] * k * cl[C_VAI, p, z], row[1], CR_NONE, 0.0
    return math.nan, 0.0, CR_NONE, 0.0


@njit(cache=True)
def _driving_term(code, row, cl, p, z, k, R_GV, vae, e_B):
    """Switch over driving codes: (static prefactor, x exponent, CR kind, CR exponent, directional).

    S/e_B [s^-1] = prefactor * x^xexp * cr_factor, with cr_factor = (eps_cr/e_B)^crexp (CR_EPS) or
    |dP'/dz| [erg cm^-4] (CR_GRAD) [physics spec Sec. 7, 8].
    """
    va_i = cl[C_VAI, p, z]
    lA = cl[C_LA, p, z]
    cs = cl[C_CS, p, z]
    if code == S_SC:
        # S_sc = A v_A,eff |grad P'| / 2 (local flux steady state, isotropic 1/2) [H22 Eq. 9, Sec. 2.6]
        return 0.5 * row[0] * vae / e_B, 0.0, CR_GRAD, 1.0, 1
    elif code == S_ET_GS95:
        # S_et = alpha_t e_B Gamma_turb (k l_A)^-1, alpha_t = 7 (v_A,eff/c) ln(k l_A) (Chandran 2000)
        kl = k * lA
        if row[2] > 0.0:
            alpha = row[2]
        else:
            alpha = row[0] * vae / C_LIGHT * max(math.log(kl), 1.0)
        alpha *= row[1]
        gt = _gamma_turb(row[3], row[4], row[5], va_i, cs, lA, k)
        return alpha * gt / kl, 0.0, CR_NONE, 0.0, 0
    elif code == S_ET_ISO:
        # isotropic cascade at the rate A v_A,ideal/l_A per e_B (delta v = v_A,ideal at l_A)
        return row[0] * va_i / lA, 0.0, CR_NONE, 0.0, 0
    elif code == S_YL04:
        # YL04 fast modes: e_A such that nu_s = c/(3 l_A f_turb) when balanced by Gamma_turb alone
        fion = cl[C_FION, p, z]
        n = cl[C_NH, p, z]
        T4 = cl[C_T, p, z] * 1e-4
        if row[1] == 0.0:
            if va_i <= cs:          # beta_pl > 1: fast modes damped (H22 Sec. 2.7)
                return 0.0, 0.0, CR_NONE, 0.0, 0
            fcrit = (row[5] * (va_i * va_i / (n * cs * cs)) ** 0.75 * (cs / (10.0 * KM_S)) ** 0.25
                     * math.sqrt(KPC_CM / (R_GV * lA)))
            if 1.0 - fion > fcrit:  # super-exponential cut-off above the neutral-fraction threshold
                return 0.0, 0.0, CR_NONE, 0.0, 0
        nu_v = fion * 0.6e18 * T4 ** 2.5 / n + (1.0 - fion) * 3e20 * math.sqrt(T4) / n
        f_turb = min(0.04 * cs / va_i,
                     cl[C_MA, p, z] * (nu_v / (va_i * lA)) ** (1.0 / 3.0) * (k * lA) ** (1.0 / 6.0))
        x_yl = 16.0 / (9.0 * math.pi) / (k * lA * f_turb)
        gt = _gamma_turb(row[2], row[3], row[4], va_i, cs, lA, k)
        return row[0] * gt * x_yl, 0.0, CR_NONE, 0.0, 0
    elif code == S_NEW:
        # S_new = A rate e_B (k/k0)^zeta_k x^zeta_A (eps/e_B)^zeta_cr f_ISM [physics spec Sec. 7-8]
        k0 = row[4] if row[4] > 0.0 else 1.0 / lA
        rate = va_i / lA if row[5] == 0.0 else 1.0
        fism = 1.0
        if row[6] == 1.0:    # Fig 6: (1 + M_A)(v_fast/10 km/s)
            fism = (1.0 + cl[C_MA, p, z]) * math.sqrt(va_i * va_i + cs * cs) / (10.0 * KM_S)
        elif row[6] == 2.0:  # Fig 7: v_A,ideal/(0.007 c)
            fism = va_i / (0.007 * C_LIGHT)
        kind = CR_EPS if row[3] != 0.0 else CR_NONE
        return row[0] * rate * (k / k0) ** row[1] * fism, row[2], kind, row[3], 0
    return math.nan, 0.0, CR_NONE, 0.0, 0


@njit(cache=True)
def term_tables(is_drive, codes, rows, cell, R_GV, k, vae, e_B,
                out_coef, out_bexp, out_crkind, out_crexp, out_dir):
    """Evaluate every lowered term on every (z, R, phase): the static prefactor and exponents.

    Parameters
    ----------
    is_drive, codes : (n_t,) int64 ; rows : (n_t, N_PAR) float64
    cell : (N_CELL, n_phase, n_z) ; R_GV : (n_R,) ; k, vae : (n_phase, n_z, n_R) [cm^-1], [cm/s]
    e_B : (n_phase, n_z) [erg cm^-3]
    out_coef : (n_t, n_z, n_R, n_phase) prefactor [s^-1] (driving: of S/e_B)
    out_bexp : (n_t,) exponent of x in F(u) = G(x)/x  (driving: zeta_A - 1, damping: xi_A)
    out_crkind, out_dir : (n_t,) int64 ; out_crexp : (n_t,)

    Returns 0, or 1 + index of the first term with a non-finite or negative prefactor.
    """
    n_p, n_z = cell.shape[1], cell.shape[2]
    for t in range(codes.size):
        for z in range(n_z):
            for r in range(R_GV.size):
                for p in range(n_p):
                    kk = k[p, z, r]
                    if is_drive[t]:
                        c, xe, ck, ce, d = _driving_term(codes[t], rows[t], cell, p, z, kk, R_GV[r],
                                                         vae[p, z, r], e_B[p, z])
                        out_bexp[t] = xe - 1.0
                        out_dir[t] = d
                    else:
                        c, xe, ck, ce = _damping_term(codes[t], rows[t], cell, p, z, kk, R_GV[r], vae[p, z, r])
                        out_bexp[t] = xe
                        out_dir[t] = 0
                    if not (c >= 0.0) or not math.isfinite(c):
                        return 1 + t
                    out_coef[t, z, r, p] = c
                    out_crkind[t] = ck
                    out_crexp[t] = ce
    return 0


# =============================================================== the per-cell root ============= #

@njit(cache=True)
def _F(amp, bexp, ng, u):
    """F(u) = G(x)/x = sum_g amp_g exp(b_g u), u = ln x, and dF/du."""
    f = 0.0
    df = 0.0
    for i in range(ng):
        b = bexp[i]
        if b == 0.0:
            f += amp[i]
        else:
            t = amp[i] * math.exp(b * u)
            f += t
            df += b * t
    return f, df


@njit(cache=True)
def _newton(amp, bexp, ng, u, lo, hi, lo_ok, hi_ok):
    """Safeguarded Newton for the decreasing crossing of F in [lo, hi] (bounds verified lazily).

    Returns (u, status): R_ROOT, R_CAP (F(hi) >= 0 at the unverified upper bound), R_FLOOR
    (F(lo) <= 0 at the unverified lower bound) or R_NOROOT (no convergence).
    """
    u_lo0 = lo
    u_hi0 = hi
    for _ in range(MAXIT):
        f, df = _F(amp, bexp, ng, u)
        if f == 0.0:
            return u, R_ROOT
        if f > 0.0:
            lo = u
            lo_ok = True
        else:
            hi = u
            hi_ok = True
        if df < 0.0:
            un = u - f / df
        else:  # wrong-signed slope: head for the bracket end on the side of the root
            un = hi if f > 0.0 else lo
        if f > 0.0 and un >= hi:
            if not hi_ok:
                fc, _d = _F(amp, bexp, ng, u_hi0)
                if fc >= 0.0:
                    return u_hi0, R_CAP
                hi_ok = True
            un = 0.5 * (u + hi)
        elif f < 0.0 and un <= lo:
            if not lo_ok:
                ff, _d = _F(amp, bexp, ng, u_lo0)
                if ff <= 0.0:
                    return u_lo0, R_FLOOR
                lo_ok = True
            un = 0.5 * (u + lo)
        if abs(un - u) < TOL_U:
            return un, R_ROOT
        u = un
    return u, R_NOROOT


@njit(cache=True)
def _closed_form_root(amp, bexp, ng, u_floor, u_cap):
    """Closed-form root of F(u) = G(x)/x = sum_g amp_g exp(b_g u) (u = ln x) of the multi-term balance
    [physics spec Sec. 8, multi-term balance [S]] for the two shapes the presets have, else
    (u, R_NOROOT, False) and the caller iterates. Either way F must decrease, so the root is unique;
    it is clamped to [u_floor, u_cap] with the statuses of :func:`_newton`.

    * Every non-zero group has b in {-1, 0, 1}: with y = x, F = A/y + B + C y, i.e. C y^2 + B y + A = 0,
      where A sums the b = -1 groups (sources independent of e_A: SC, ET, external), B the b = 0 ones
      (linear damping, linear sources) and C the b = 1 ones (non-linear Landau damping). It decreases when
      A >= 0 and C <= 0; the positive root is taken in its cancellation-free form.
    * One group with b = 0 and one with any other b (e.g. a generic power law Gamma e_A = S with xi_A,
      zeta_A in (0, 1)): F = a0 + a1 exp(b u) decreases when b a1 < 0, u = ln(-a0/a1)/b.
    """
    A = 0.0
    B = 0.0
    C = 0.0
    other = 0              # non-zero groups with b not in {-1, 0, 1}
    a_o = 0.0
    b_o = 0.0
    n0 = 0                 # non-zero groups with b = 0
    for i in range(ng):
        a = amp[i]
        if a == 0.0:
            continue
        b = bexp[i]
        if b == -1.0:
            A += a
        elif b == 0.0:
            B += a
            n0 += 1
        elif b == 1.0:
            C += a
        else:
            other += 1
            a_o = a
            b_o = b
    if other == 0:
        if A < 0.0 or C > 0.0 or (A == 0.0 and C == 0.0):
            return 0.0, R_NOROOT, False
        if A > 0.0 and C < 0.0:
            D = math.sqrt(B * B - 4.0 * A * C)
            y = (B + D) / (-2.0 * C) if B >= 0.0 else 2.0 * A / (D - B)
        elif A > 0.0:                     # no b = 1 group: B y + A = 0
            if B >= 0.0:
                return u_cap, R_CAP, True
            y = A / -B
        else:                             # no b = -1 group: C y + B = 0
            if B <= 0.0:
                return u_floor, R_FLOOR, True
            y = B / -C
        u = math.log(y)
    elif other == 1 and n0 == 1 and A == 0.0 and C == 0.0:
        r = -B / a_o
        if b_o * a_o >= 0.0 or not r > 0.0:
            return 0.0, R_NOROOT, False
        u = math.log(r) / b_o
    else:
        return 0.0, R_NOROOT, False
    if u >= u_cap:
        return u_cap, R_CAP, True
    if u <= u_floor:
        return u_floor, R_FLOOR, True
    return u, R_ROOT, True


@njit(cache=True)
def closed_form_shape(bexp, ng):
    """1 if :func:`_closed_form_root` can apply to a law with these group exponents (two groups, or every
    power of x -1, 0 or 1), else 0; computed once per call of :func:`solve_balance`."""
    if ng == 2:
        return 1
    for i in range(ng):
        b = bexp[i]
        if b != -1.0 and b != 0.0 and b != 1.0:
            return 0
    return 1


@njit(cache=True)
def balance_root(amp, bexp, ng, u0, u_floor, u_cap, monotone, shape=-1):
    """Largest root with G' < 0 of G(x) = sum_j S_j(x) - sum_i Gamma_i(x) x, in u = ln x
    [physics spec Sec. 8, multi-term balance [S]].

    Sign convention: amp_g > 0 for sources, < 0 for damping; F = G/x, and G' < 0 at a root
    <=> dF/du < 0. ``monotone`` (all source exponents zeta_A <= 1, all damping xi_A >= 0) makes
    F non-increasing, so the root is unique and Newton starts from the warm guess ``u0``.
    Otherwise F is scanned downward from the cap for the first sign change.
    """
    nz = False
    for i in range(ng):
        if amp[i] != 0.0:
            nz = True
    if not nz:
        return u_floor, R_FLOOR   # nothing drives and nothing damps: no waves
    if shape != 0:
        u2, st2, found = _closed_form_root(amp, bexp, ng, u_floor, u_cap)
        if found:
            return u2, st2
    if monotone:
        u = min(max(u0, u_floor), u_cap)
        return _newton(amp, bexp, ng, u, u_floor, u_cap, False, False)
    fc, _d = _F(amp, bexp, ng, u_cap)
    if fc >= 0.0:
        return u_cap, R_CAP
    up = u_cap
    u = u_cap - SCAN_DU
    while u > u_floor:
        f, _d = _F(amp, bexp, ng, u)
        if f > 0.0:
            return _newton(amp, bexp, ng, 0.5 * (u + up), u, up, True, True)
        up = u
        u -= SCAN_DU
    f, _d = _F(amp, bexp, ng, u_floor)
    if f > 0.0:
        return _newton(amp, bexp, ng, 0.5 * (u_floor + up), u_floor, up, True, True)
    return u_floor, R_FLOOR


@njit(cache=True)
def solve_balance(coef, g_bexp, g_crkind, g_crexp, g_dir, g_sign,
                  fV, nuob_unit, u_floor, vae, e_B,
                  eps, dPdz, monotone, u_cap, geom, mfp_free, l_reg,
                  u_state, out_nuob, out_vst, out_x, out_flag, out_vbar):
    """Local steady state S_+- = Q_+- of every phase, cell and rigidity, and the phase-averaged
    scattering outputs [physics spec Sec. 4-5, 8, 11; H22 Eq. 6-9].

    Parameters
    ----------
    coef : (n_z, n_R, n_phase, n_g) merged static prefactors [s^-1] of the term groups
    g_bexp, g_crexp : (n_g,) ; g_crkind, g_dir, g_sign : (n_g,) int64 (sign +1 source, -1 damping)
    fV : (n_phase, n_z) volume filling fractions
    nuob_unit : (n_phase, n_z, n_R) (3 pi/16) c/r_g [s^-1]: nu_s/beta = nuob_unit * x
    u_floor : (n_phase, n_z, n_R) ln x at the floor ; vae : (n_phase, n_z, n_R) v_A,eff [cm/s]
    e_B : (n_phase, n_z) [erg cm^-3]
    eps, dPdz : (n_z, n_R) eps_cr [erg cm^-3] and dP'/dz [erg cm^-4] per ln R
    monotone : bool ; u_cap : ln x_cap ; geom : D_zz / kappa_par ; mfp_free : mean free path [cm]
        above which a cell counts as free streaming
    l_reg : [cm] regularisation length of the CR gradient: the gradient driving the waves is
        max(|dP'/dz|, P'/l_reg) with P' = eps/3, and the streaming direction -dP'/dz / max(...) goes
        smoothly through zero (Sharma, Colella & Martin 2010 in spirit); 0 disables it
    u_state : (n_phase, n_z, n_R) warm start, updated in place
    out_nuob, out_vst : (n_z, n_R) ; out_x : (n_phase, n_z, n_R) ; out_flag : (n_z, n_R) int8
    out_vbar : (n_z, n_R) [cm/s] the imbalance of the waves |vbar_A| = sum_phases f_V v_A,eff S_sc/S_total,
        unsigned and without the direction regularisation (for diffusive reacceleration, which needs waves
        running both ways at the same place: the region around an extremum of P' where they do is
        ~ v_A/Gamma <~ 0.01 pc wide, far below any cell, physics spec Sec. 5 timescales)

    Returns the number of (phase, cell, R) balances that did not converge.
    """
    n_z, n_R, n_p, n_g = coef.shape
    shape = closed_form_shape(g_bexp, n_g)
    amp = np.empty(n_g)
    pflag = np.empty(n_p, dtype=np.int64)
    n_bad = 0
    for z in range(n_z):
        for r in range(n_R):
            e = eps[z, r]
            g = dPdz[z, r]
            finite = math.isfinite(e) and math.isfinite(g)
            if not finite:
                e = 0.0
                g = 0.0
            e = max(e, 0.0)
            ag_raw = abs(g)
            ag = ag_raw
            if l_reg > 0.0:
                ag = max(ag_raw, e / (3.0 * l_reg))
            sgn = 0.0
            if ag > 0.0:
                sgn = g / ag
            nu_sum = 0.0
            vst_sum = 0.0
            vbar_sum = 0.0
            dom = -1
            dom_val = -1.0
            all_floor = True
            for p in range(n_p):
                fv = fV[p, z]
                eb = e_B[p, z]
                for i in range(n_g):
                    c = coef[z, r, p, i]
                    kind = g_crkind[i]
                    if kind == CR_EPS:
                        ce = g_crexp[i]
                        c *= (e / eb) if ce == 1.0 else (e / eb) ** ce
                    elif kind == CR_GRAD:
                        c *= ag
                    amp[i] = g_sign[i] * c
                u, st = balance_root(amp, g_bexp, n_g, u_state[p, z, r], u_floor[p, z, r], u_cap, monotone, shape)
                if not finite:
                    u = u_floor[p, z, r]
                    st = R_NOROOT
                if st == R_NOROOT:
                    n_bad += 1
                u_state[p, z, r] = u
                x = math.exp(u)
                out_x[p, z, r] = x
                pflag[p] = st
                if st != R_FLOOR and fv > 0.0:
                    all_floor = False
                # which fraction of the driving is directional (self-confinement)
                s_tot = 0.0
                s_dir = 0.0
                for i in range(n_g):
                    if g_sign[i] > 0:
                        b = g_bexp[i] + 1.0
                        s = amp[i] if b == 0.0 else amp[i] * math.exp(b * u)
                        s_tot += s
                        if g_dir[i] == 1:
                            s_dir += s
                vst = 0.0
                if s_tot > 0.0:
                    vst = -sgn * 0.5 * vae[p, z, r] * s_dir / s_tot
                    vbar_sum += fv * vae[p, z, r] * s_dir / s_tot
                nu = nuob_unit[p, z, r] * x
                nu_sum += fv * nu
                vst_sum += fv * vst
                if fv * nu > dom_val:
                    dom_val = fv * nu
                    dom = p
            out_nuob[z, r] = nu_sum
            out_vst[z, r] = vst_sum
            out_vbar[z, r] = vbar_sum
            # ---- per-(z, R) outcome flag (semantics: docs/physics.md, "Flags")
            fl = FL_STEADY
            if dom < 0 or nu_sum <= 0.0:
                fl = FL_NOROOT if not finite else FL_FREE
            elif not finite or pflag[dom] == R_NOROOT:
                fl = FL_NOROOT
            elif pflag[dom] == R_CAP:
                fl = FL_BOTTLENECK
            elif all_floor or C_LIGHT >= 3.0 * nu_sum * mfp_free:
                fl = FL_FREE
            elif e > 0.0 and ag_raw > 0.0:
                # streaming-dominated: diffusive speed D_zz |dP'/dz| / P' (P' ~ eps/3) below |v_st|
                v_diff = geom * C_LIGHT * C_LIGHT / (3.0 * nu_sum) * 3.0 * ag_raw / e
                if v_diff < abs(vst_sum):
                    fl = FL_BOTTLENECK
            out_flag[z, r] = fl
    return n_bad
