"""Numba kernel of the implicit live coupling: each proton energy bin is solved by Newton together with the
wave balance at its own rigidity [docs/physics.md, "Coupling to the transport"].

Only ``@njit(cache=True)`` functions live here; the Python driver is :mod:`engine.coupling`.
"""

import numpy as np
from numba import njit

from ._transport_kernels import _thomas, add_transport, loss_out_factor, streaming_face_loss
from ._wave_kernels import solve_balance

_TINY = 1e-300


@njit(cache=True)
def other_pressure(N, skip, idx, w, cP, cE, P, E):
    """P' and eps per ln R (n_z, n_c) of every species but ``skip`` at a carrier's balance rigidities, by linear
    interpolation in ln R between each species' bins idx[s, c], idx[s, c] + 1 with weight w[s, c] (idx < 0:
    outside the species' grid) [erg cm^-3]. cP = pv/(3 dlnR), cE = E_kin/dlnR per bin (n_s, n_E)."""
    n_s, n_z, _ = N.shape
    n_c = idx.shape[1]
    for j in range(n_z):
        for c in range(n_c):
            P[j, c] = 0.0
            E[j, c] = 0.0
    for s in range(n_s):
        if s == skip:
            continue
        for c in range(n_c):
            i = idx[s, c]
            if i < 0:
                continue
            wk = w[s, c]
            for j in range(n_z):
                lo = N[s, j, i]
                hi = N[s, j, i + 1]
                P[j, c] += (1.0 - wk) * (lo * cP[s, i]) + wk * (hi * cP[s, i + 1])
                E[j, c] += (1.0 - wk) * (lo * cE[s, i]) + wk * (hi * cE[s, i + 1])


@njit(cache=True)
def _face_law(xl, xr, i, r, cP, cE, Pc_o, Ec_o, fixed, h_face,
              coef, g_bexp, g_crkind, g_crexp, g_dir, g_sign, fV, nuob_unit, u_floor, vae, e_B,
              monotone, u_cap, geomw, mfp_free, l_reg, u_state,
              eps_f, g_f, nuob_f, vst_f, xw_f, fl_f, vb_f):
    """Law at every face of column r for proton bin i [cm^-3]: face j sees xl[j] in the cell below and
    xr[j + 1] in the cell above (xl = xr = x for the state itself; one of them perturbed for the Jacobian).
    Other species enter through their cell-centred pressure / energy density per ln R (Pc_o, Ec_o : (n_z, n_R)).
    eps_cr at a face is the upwind cell's (higher P'), as in engine._transport_kernels.cr_state.
    ``fixed`` (3, n_z, n_R), if not empty, holds given face rates (nu_s/beta, v_st, vbar) that are used instead
    of the law (a species whose own pressure does not drive the waves; xw_f and fl_f are then left as they are)."""
    n_z = xl.size
    if fixed.shape[0] > 0:
        for j in range(n_z):
            nuob_f[j, 0] = fixed[0, j, r]
            vst_f[j, 0] = fixed[1, j, r]
            vb_f[j, 0] = fixed[2, j, r]
        return
    for j in range(n_z):
        Pl = Pc_o[j, r] + cP[i] * xl[j]
        El = Ec_o[j, r] + cE[i] * xl[j]
        if j < n_z - 1:
            Pr = Pc_o[j + 1, r] + cP[i] * xr[j + 1]
            Er = Ec_o[j + 1, r] + cE[i] * xr[j + 1]
        else:
            Pr = 0.0
            Er = 0.0
        eps_f[j, 0] = El if Pl >= Pr else Er
        g_f[j, 0] = (Pr - Pl) / h_face[j]
    solve_balance(coef[:, r:r + 1], g_bexp, g_crkind, g_crexp, g_dir, g_sign, fV, nuob_unit[:, :, r:r + 1],
                  u_floor[:, :, r:r + 1], vae[:, :, r:r + 1], e_B, eps_f, g_f, monotone, u_cap, geomw, mfp_free,
                  l_reg, u_state[:, :, r:r + 1], nuob_f, vst_f, xw_f, fl_f, vb_f)


@njit(cache=True)
def _fluxes(xl, xr, nuob_f, vst_f, beta, v, geom, D_cap, u_face, h_face, af, F, Lf):
    """Face fluxes F_j [cm^-2 s^-1] (outward) and streaming losses Lf_j [s^-1] of one proton bin for the law's
    nu_s/beta and v_st at the faces: diffusion with the free-streaming limiter and upwind advection by
    u_wind + v_st alpha/3 (af_j = alpha/3 at the face), the same discretisation as
    engine._transport_kernels.transport_coefficients + implicit_sweep."""
    n_z = xl.size
    for j in range(n_z):
        nu = beta * max(nuob_f[j, 0], _TINY)
        D = geom * v * v / (3.0 * nu)
        D = D * D_cap / (D + D_cap)
        V = u_face[j + 1] + vst_f[j, 0] * af[j]
        xu = xr[j + 1] if j < n_z - 1 else 0.0
        F[j] = D * (xl[j] - xu) / h_face[j] + (V * xl[j] if V > 0.0 else V * xu)
        Lf[j] = streaming_face_loss(vst_f[j, 0], xl[j], xu, h_face[j]) if j < n_z - 1 else 0.0


@njit(cache=True)
def _theta(Lf, th_w, j, n_z):
    """Cell rate dln p/dt (loss > 0): the wind's div(u)/3 plus the mean streaming loss of the cell's faces."""
    if j == 0:
        return th_w[0] + 0.5 * Lf[0]
    if j == n_z - 1:
        return th_w[j] + Lf[j - 1]
    return th_w[j] + 0.5 * (Lf[j - 1] + Lf[j])


@njit(cache=True)
def _residual(x, diag, rhs, F, Lf, th_w, kout, adiab_i, dz, res):
    """res_j = (diag_j + kout_j adiab_i max(theta_j, 0)) x_j - rhs_j + (F_j - F_{j-1}) / dz_j, F_{-1} = 0
    (midplane symmetry); theta_j from :func:`_theta` (net gains are left to the momentum step)."""
    n_z = x.size
    for j in range(n_z):
        Fl = F[j - 1] if j > 0 else 0.0
        th = _theta(Lf, th_w, j, n_z)
        ad = kout[j] * adiab_i * th if th > 0.0 else 0.0
        res[j] = (diag[j] + ad) * x[j] - rhs[j] + (F[j] - Fl) / dz[j]


@njit(cache=True)
def coupled_species_sweep(N_old, N_new, dt, sp, node, cP, cE, Pc_o, Ec_o, fixed, fixed_share,
                         dz, h_face, u_face, beta, v, geom, D_cap, lam, b_static, adiab, a3, E_edges, Q, Q_extra, D_lag, V_lag,
                         coef, g_bexp, g_crkind, g_crexp, g_dir, g_sign, fV, nuob_unit, u_floor, vae, e_B,
                         monotone, u_cap, geomw, mfp_free, l_reg, u_state,
                         out_nuob, out_vst, out_x, out_flag, out_vbar, tol, maxit, min_share, stats, bin_res,
                         bin_its, jac, jac_ok):
    """Backward-Euler step of one species' spectrum (index ``sp``) with the scattering law solved implicitly,
    bin by bin [physics spec Eq. 7, 9-10; docs/physics.md "Coupling to the transport"].

    The continuous losses move particles only downward in energy, so sweeping the bins from the top, bin i sees
    its loss inflow from bin i+1 at the new time (as in implicit_sweep). Its column x = N_sp(z, E_i) then
    satisfies the nonlinear tridiagonal system

        x_j (1/dt + lam + r_out(theta_j)) - rhs_j + (F_j(x_j, x_j+1) - F_j-1(x_j-1, x_j)) / dz_j = 0,

    where the face fluxes F_j and the streaming loss theta_j use the nu_s and v_st of the wave balance at the
    face, at the bin's own rigidity (column ``node[i]`` of the balance tables), for the CR pressure
    P' = P'_other + cP_i x. Newton with a finite-difference tridiagonal Jacobian (each face quantity depends
    on its two cells only) and Armijo backtracking on the scaled 2-norm of the residual solves it, starting
    from the linear solve with the lagged coefficients (D_lag, V_lag). The other species' pressure and energy
    density at the same rigidities (Pc_o, Ec_o : (n_z, n_cols)) are given; Q_extra (n_z, n_E) is the
    species' production by others (secondaries) [cm^-3 s^-1]. With ``fixed`` (3, n_z, n_cols) not empty, a bin
    whose pressure is below ``fixed_share`` of the total in every cell takes these face rates instead of
    solving the law (see :func:`_face_law`): Newton then makes only the species' own streaming loss implicit.

    A bin whose pressure is below ``min_share`` of the total in every cell is a minor carrier there: it
    keeps the lagged linear solution and the law is evaluated on it, without Newton.

    Each bin keeps the transport part of its last Jacobian (``jac`` (n_E, 3, n_z): sub-, main- and
    super-diagonal without ``diag``; ``jac_ok[i]`` = 1 once it holds one). A bin's first iteration of a step
    uses it (a chord step: one law evaluation, in the line search, instead of three); if that step is not
    accepted at full length with the residual at least halved, the Jacobian is recomputed by finite
    differences and the iteration repeated. Newton still stops only at ``tol``.

    Outputs: N_new[sp] ; out_nuob, out_vst, out_vbar (n_z, n_cols) and out_x, out_flag on the species' columns;
    stats[0] += Newton iterations, stats[1] += bins that did not reach ``tol``, stats[2] = max final residual,
    stats[3] += minor-carrier bins.
    Returns 0.
    """
    n_s, n_z, n_E = N_old.shape
    n_p = fV.shape[0]
    x = np.empty(n_z)
    xt = np.empty(n_z)
    xp = np.empty(n_z)
    diag = np.empty(n_z)
    rhs = np.empty(n_z)
    r_in = np.zeros(n_z)
    kout = np.empty(n_z)
    Lf = np.empty(n_z)
    LfL = np.empty(n_z)
    LfR = np.empty(n_z)
    Lft = np.empty(n_z)
    af = np.empty(n_z)
    th_w = np.empty(n_z)
    for j in range(n_z):
        th_w[j] = (u_face[j + 1] - u_face[j]) / (3.0 * dz[j])
    F = np.empty(n_z)
    Ft = np.empty(n_z)
    FL = np.empty(n_z)
    FR = np.empty(n_z)
    res = np.empty(n_z)
    scale = np.empty(n_z)
    rt = np.empty(n_z)
    a = np.empty(n_z)
    b = np.empty(n_z)
    c = np.empty(n_z)
    d = np.empty(n_z)
    dx = np.empty(n_z)
    eps_f = np.empty((n_z, 1))
    g_f = np.empty((n_z, 1))
    nuob_f = np.empty((n_z, 1))
    vst_f = np.empty((n_z, 1))
    nuob_p = np.empty((n_z, 1))
    vst_p = np.empty((n_z, 1))
    xw_f = np.empty((n_p, n_z, 1))
    fl_f = np.empty((n_z, 1), dtype=np.int8)
    vb_f = np.empty((n_z, 1))
    lnE = np.log(np.sqrt(E_edges[1:] * E_edges[:-1]))
    s = sp
    for i in range(n_E - 1, -1, -1):
        rho = E_edges[i + 1] / E_edges[i]
        for j in range(n_z):
            kout[j] = loss_out_factor(N_old, N_new, s, j, i, E_edges, lnE, rho)
            diag[j] = 1.0 / dt + lam[s, j, i] + kout[j] * b_static[s, j, i]
            rhs[j] = N_old[s, j, i] / dt + Q[s, j, i] + Q_extra[j, i]
            if i < n_E - 1:
                rhs[j] += r_in[j] * N_new[s, j, i + 1]
        # initial guess: the linear step with the lagged coefficients
        for j in range(n_z):
            a[j] = 0.0
            b[j] = diag[j]
            c[j] = 0.0
            d[j] = rhs[j]
        add_transport(a, b, c, D_lag[s, :, i], V_lag[s, :, i], dz, h_face)
        _thomas(a, b, c, d, x)
        for j in range(n_z):
            x[j] = max(x[j], 0.0)
        r = node[i]
        if r < 0:
            for j in range(n_z):
                N_new[s, j, i] = x[j]
                r_in[j] = kout[j] * b_static[s, j, i]
            continue
        ad_i = adiab[s, i]
        for j in range(n_z):
            af[j] = 0.5 * (a3[s, j, i] + a3[s, j + 1, i]) if j < n_z - 1 else a3[s, j, i]
        # a minor carrier at this rigidity (its pressure < min_share of the total in every cell) hardly drives
        # its own waves: the law is taken at the lagged linear solution, without Newton; below fixed_share
        # the given rates are taken instead of the law
        share = 0.0
        for j in range(n_z):
            pc = cP[i] * x[j]
            if pc + Pc_o[j, r] > 0.0:
                share = max(share, pc / (pc + Pc_o[j, r]))
        fx = fixed if share < fixed_share else fixed[:0]
        # the law, fluxes and residual at the initial guess
        _face_law(x, x, i, r, cP, cE, Pc_o, Ec_o, fx, h_face, coef, g_bexp, g_crkind, g_crexp, g_dir, g_sign, fV,
                  nuob_unit, u_floor, vae, e_B, monotone, u_cap, geomw, mfp_free, l_reg, u_state,
                  eps_f, g_f, nuob_f, vst_f, xw_f, fl_f, vb_f)
        _fluxes(x, x, nuob_f, vst_f, beta[i], v[i], geom, D_cap[i], u_face, h_face, af, F, Lf)
        _residual(x, diag, rhs, F, Lf, th_w, kout, ad_i, dz, res)
        xmax = 0.0
        for j in range(n_z):
            xmax = max(xmax, x[j])
        floor_x = 1e-12 * xmax + _TINY
        converged = False
        it = 0
        rn = 0.0
        minor = share < min_share
        if minor:
            stats[3] += 1
        chord = jac_ok[i] == 1        # first iteration with the bin's stored Jacobian
        at_x = True                   # the buffers of the last law evaluation (xw_f, fl_f, vb_f) are at x
        while not minor:
            # convergence: residual relative to the step's own scale, cell by cell (max norm); the line
            # search minimises the 2-norm of the residual scaled the same way (fixed within an iteration),
            # for which the Newton direction is a descent direction
            rn = 0.0
            r2 = 0.0
            for j in range(n_z):
                sc = rhs[j] + diag[j] * x[j] + (abs(F[j]) + (abs(F[j - 1]) if j > 0 else 0.0)) / dz[j]
                scale[j] = max(sc, diag[j] * floor_x)
                rn = max(rn, abs(res[j]) / scale[j])
                r2 += (res[j] / scale[j]) ** 2
            if rn < tol:
                converged = True
                break
            if it >= maxit:
                break
            it += 1
            at_x = False
            if chord:                     # direction from the bin's stored Jacobian
                for j in range(n_z):
                    a[j] = jac[i, 0, j]
                    b[j] = jac[i, 1, j] + diag[j]
                    c[j] = jac[i, 2, j]
                    d[j] = -res[j]
            else:
                # finite-difference derivatives of each face flux in its left and right cell
                for j in range(n_z):
                    dx[j] = 1e-7 * max(x[j], floor_x)
                    xp[j] = x[j] + dx[j]
                # left cell perturbed (face j sees x_j + dx_j, x_j+1), then the right one
                _face_law(xp, x, i, r, cP, cE, Pc_o, Ec_o, fx, h_face, coef, g_bexp, g_crkind, g_crexp,
                          g_dir, g_sign, fV, nuob_unit, u_floor, vae, e_B, monotone, u_cap, geomw, mfp_free,
                          l_reg, u_state, eps_f, g_f, nuob_p, vst_p, xw_f, fl_f, vb_f)
                _fluxes(xp, x, nuob_p, vst_p, beta[i], v[i], geom, D_cap[i], u_face, h_face, af, FL, LfL)
                _face_law(x, xp, i, r, cP, cE, Pc_o, Ec_o, fx, h_face, coef, g_bexp, g_crkind, g_crexp,
                          g_dir, g_sign, fV, nuob_unit, u_floor, vae, e_B, monotone, u_cap, geomw, mfp_free,
                          l_reg, u_state, eps_f, g_f, nuob_p, vst_p, xw_f, fl_f, vb_f)
                _fluxes(x, xp, nuob_p, vst_p, beta[i], v[i], geom, D_cap[i], u_face, h_face, af, FR, LfR)
                # Jacobian: dF_j/dx_j = (FL_j - F_j)/dx_j, dF_j/dx_j+1 = (FR_j - F_j)/dx_j+1
                for j in range(n_z):
                    a[j] = 0.0
                    c[j] = 0.0
                    b[j] = diag[j] + (FL[j] - F[j]) / dx[j] / dz[j]
                    if j < n_z - 1:
                        c[j] = (FR[j] - F[j]) / dx[j + 1] / dz[j]
                    if j > 0:
                        a[j] = -(FL[j - 1] - F[j - 1]) / dx[j - 1] / dz[j]
                        b[j] -= (FR[j - 1] - F[j - 1]) / dx[j] / dz[j]
                    d[j] = -res[j]
                    # streaming loss: theta_j depends on Lf_j-1 (x_j-1, x_j) and Lf_j (x_j, x_j+1)
                    th = _theta(Lf, th_w, j, n_z)
                    if th > 0.0 and ad_i > 0.0:
                        A = kout[j] * ad_i * x[j]
                        wl = 0.0 if j == 0 else (1.0 if j == n_z - 1 else 0.5)
                        wr = 0.0 if j == n_z - 1 else 0.5
                        b[j] += kout[j] * ad_i * th + A * wr * (LfL[j] - Lf[j]) / dx[j]
                        if j < n_z - 1:
                            c[j] += A * wr * (LfR[j] - Lf[j]) / dx[j + 1]
                        if j > 0:
                            b[j] += A * wl * (LfR[j - 1] - Lf[j - 1]) / dx[j]
                            a[j] += A * wl * (LfL[j - 1] - Lf[j - 1]) / dx[j - 1]
                for j in range(n_z):
                    jac[i, 0, j] = a[j]
                    jac[i, 1, j] = b[j] - diag[j]
                    jac[i, 2, j] = c[j]
                jac_ok[i] = 1
            _thomas(a, b, c, d, xt)   # xt = Newton direction
            # backtracking (Armijo on the scaled 2-norm), keeping x >= 0; a chord step is tried at full length
            # only and must at least halve the residual
            alpha = 1.0
            accepted = False
            for _ls in range(1 if chord else 40):
                for j in range(n_z):
                    xn = x[j] + alpha * xt[j]
                    xp[j] = xn if xn > 0.0 else 0.1 * x[j]
                _face_law(xp, xp, i, r, cP, cE, Pc_o, Ec_o, fx, h_face, coef, g_bexp, g_crkind, g_crexp, g_dir, g_sign,
                          fV, nuob_unit, u_floor, vae, e_B, monotone, u_cap, geomw, mfp_free, l_reg, u_state,
                          eps_f, g_f, nuob_p, vst_p, xw_f, fl_f, vb_f)
                _fluxes(xp, xp, nuob_p, vst_p, beta[i], v[i], geom, D_cap[i], u_face, h_face, af, Ft, Lft)
                _residual(xp, diag, rhs, Ft, Lft, th_w, kout, ad_i, dz, rt)
                rt2 = 0.0
                for j in range(n_z):
                    rt2 += (rt[j] / scale[j]) ** 2
                if rt2 <= (0.25 if chord else 1.0 - 1e-4 * alpha) * r2:
                    accepted = True
                    break
                alpha *= 0.5
            if not accepted and chord:    # the stored Jacobian no longer contracts: a fresh one at x
                chord = False
                continue
            chord = False
            if not accepted:
                break
            for j in range(n_z):
                x[j] = xp[j]
                F[j] = Ft[j]
                Lf[j] = Lft[j]
                res[j] = rt[j]
                nuob_f[j, 0] = nuob_p[j, 0]
                vst_f[j, 0] = vst_p[j, 0]
            at_x = True
        stats[0] += it
        if not converged and not minor:
            stats[1] += 1
        stats[2] = max(stats[2], rn)
        bin_res[i] = 0.0 if minor else rn
        bin_its[i] = it
        # the law at the accepted state (also fills x and the flags of this node), unless the last evaluation
        # was there (the accepted trial of an iteration, or the first evaluation when none was needed)
        if not at_x:
            _face_law(x, x, i, r, cP, cE, Pc_o, Ec_o, fx, h_face, coef, g_bexp, g_crkind, g_crexp, g_dir, g_sign,
                      fV, nuob_unit, u_floor, vae, e_B, monotone, u_cap, geomw, mfp_free, l_reg, u_state,
                      eps_f, g_f, nuob_f, vst_f, xw_f, fl_f, vb_f)
        for j in range(n_z):
            th = _theta(Lf, th_w, j, n_z)
            r_in[j] = kout[j] * (b_static[s, j, i] + (ad_i * th if th > 0.0 else 0.0))
            N_new[s, j, i] = x[j]
            out_nuob[j, r] = nuob_f[j, 0]
            out_vst[j, r] = vst_f[j, 0]
            out_vbar[j, r] = vb_f[j, 0]
            out_flag[j, r] = fl_f[j, 0]
            for p in range(n_p):
                out_x[p, j, r] = xw_f[p, j, 0]
    return 0
