"""Numba kernels of the CR transport (private; see transport.py for the equations and the public API).

Axis order everywhere: (n_species, n_z, n_E). Units: cgs, energies in GeV, rates in s^-1.
"""

import numpy as np
from numba import njit

_TINY = 1e-300
_SLOPE_MAX = 8.0


@njit(cache=True)
def _thomas(a, b, c, d, x):
    """Solve the tridiagonal system a_j x_{j-1} + b_j x_j + c_j x_{j+1} = d_j (a_0, c_{n-1} ignored)."""
    n = b.size
    cp = np.empty(n)
    dp = np.empty(n)
    cp[0] = c[0] / b[0]
    dp[0] = d[0] / b[0]
    for j in range(1, n):
        m = b[j] - a[j] * cp[j - 1]
        cp[j] = c[j] / m
        dp[j] = (d[j] - a[j] * dp[j - 1]) / m
    x[n - 1] = dp[n - 1]
    for j in range(n - 2, -1, -1):
        x[j] = dp[j] - cp[j] * x[j + 1]


@njit(cache=True)
def _powerlaw_J(s, rho):
    """J(s) = int_1^rho u^s du: integral of a power law over one bin in units of its lower edge."""
    if abs(s + 1.0) < 1e-8:
        return np.log(rho)
    return (rho ** (s + 1.0) - 1.0) / (s + 1.0)


@njit(cache=True)
def loss_out_rate(nbar_lo, nbar_hi, lnE_lo, lnE_hi, E_lo, rho, b_lo):
    """Rate [s^-1] at which particles of a bin cross its lower edge under continuous losses.

    The bin holds a power law n ~ E^s (piecewise power-law scheme, cf. Girichidis et al. 2020, MNRAS 491, 993),
    with s from the neighbouring bin averages; the face density is n(E_lo) = N E_lo^s / int E^s dE, so the
    out-rate is b(E_lo) / (E_lo J(s)). This makes the upwind loss flux second-order accurate for smooth spectra.
    """
    if nbar_lo > _TINY and nbar_hi > _TINY:
        s = np.log(nbar_hi / nbar_lo) / (lnE_hi - lnE_lo)
        if s > _SLOPE_MAX:
            s = _SLOPE_MAX
        elif s < -_SLOPE_MAX:
            s = -_SLOPE_MAX
    else:
        s = 0.0
    return b_lo / (E_lo * _powerlaw_J(s, rho))


@njit(cache=True, inline="always")
def loss_out_factor(N_old, N_new, s, j, i, E_edges, lnE, rho):
    """Loss out-rate of bin i per unit loss rate, r_out / b(E_lo) [GeV^-1]: the bin's power-law slope from its
    neighbours (the new bin above, the old bin below; for the lowest bin the two new bins above it, so that
    its out-rate does not depend on its own old content, which made it alternate between steps; see
    :func:`loss_out_rate`); rho = E_edges[i+1]/E_edges[i]
    (hoisted by the caller). Used by :func:`implicit_sweep` and the coupled sweep; with ``inline="always"``
    the call costs nothing measurable (empirical law 0.104 s against 0.106 s with a hand-inlined copy).
    """
    n_E = lnE.size
    if i < n_E - 1:
        nhi = N_new[s, j, i + 1] / (E_edges[i + 2] - E_edges[i + 1])
        lhi = lnE[i + 1]
    else:
        nhi = N_old[s, j, i] / (E_edges[i + 1] - E_edges[i])
        lhi = lnE[i]
    if i > 0:
        nlo = N_old[s, j, i - 1] / (E_edges[i] - E_edges[i - 1])
        llo = lnE[i - 1]
    elif n_E > 2:           # lowest bin: the slope of the two new bins above it
        nlo = N_new[s, j, 1] / (E_edges[2] - E_edges[1])
        llo = lnE[1]
        nhi = N_new[s, j, 2] / (E_edges[3] - E_edges[2])
        lhi = lnE[2]
    else:
        nlo = N_old[s, j, i] / (E_edges[i + 1] - E_edges[i])
        llo = lnE[i]
    if lhi == llo:
        return 1.0 / (E_edges[i] * _powerlaw_J(0.0, rho))
    return loss_out_rate(nlo, nhi, llo, lhi, E_edges[i], rho, 1.0)


@njit(cache=True, inline="always")
def add_transport(a, b, c, D, V, dz, h_face):
    """Add diffusion (D [cm^2 s^-1] at the upper face of each cell) and upwind advection (V [cm/s], outward)
    to the tridiagonal rows (a, b, c) of a backward-Euler column; the last face is the free-escape boundary
    (N = 0 outside) and the midplane face carries no flux."""
    n_z = b.size
    for j in range(n_z):
        kd = D[j] / (h_face[j] * dz[j])
        b[j] += kd
        if j < n_z - 1:
            c[j] -= kd
            a[j + 1] -= D[j] / (h_face[j] * dz[j + 1])
            b[j + 1] += D[j] / (h_face[j] * dz[j + 1])
        v = V[j]
        if v > 0.0:
            b[j] += v / dz[j]
            if j < n_z - 1:
                a[j + 1] -= v / dz[j + 1]
        elif v < 0.0 and j < n_z - 1:
            c[j] += v / dz[j]
            b[j + 1] -= v / dz[j + 1]


@njit(cache=True)
def implicit_sweep(N_old, N_new, dt, order, dz, h_face, D_face, V_face, lam, b_lo, E_edges, Q,
                   sec_parent, sec_child, sec_rate, prod_parent, prod_child, prod_rate, prod_bin, prod_w,
                   E_kin_tot, escape):
    """One backward-Euler step of diffusion + advection + continuous losses + catastrophic losses + sources,
    unsplit, for every species (physics spec Eq. 10 in 1-D, finite volumes).

    Continuous losses move particles only to lower energy, so at the new time level bin i depends only on
    bins >= i. Sweeping energy from the top down, each bin is one tridiagonal solve in z with the loss
    inflow from bin i+1 already known: the implicit step is exact for the coupled (z, E) operator.
    Species are solved in ``order`` so that parents precede their spallation / decay / pair products;
    a parent solved later (10Be -> B) enters lagged by one step.

    Parameters (n_s species, n_z cells, n_E bins)
    ----------
    N_old, N_new : (n_s, n_z, n_E) number density in each energy bin [cm^-3]
    dz, h_face : (n_z,) cell widths and centre distances across upper faces [cm]
    D_face, V_face : (n_s, n_z, n_E) diffusion coefficient [cm^2/s] and velocity (outward, [cm/s]) at the
        upper face of each cell; the last face is the free-escape boundary (N = 0 outside)
    lam : (n_s, n_z, n_E) catastrophic loss rate [s^-1]
    b_lo : (n_s, n_z, n_E) continuous loss rate -dE/dt at the lower edge of each bin [GeV/s]
    E_edges : (n_E + 1,) bin edges [GeV]; Q : (n_s, n_z, n_E) primary source [cm^-3 s^-1]
    sec_* : same-energy production child += sec_rate[k] * N[parent] ([s^-1] per parent particle)
    prod_* : off-grid production (pbar, e+-): parent bin i deposits prod_rate[k, :, i] * N[parent, :, i]
        into child bins prod_bin[k, i] (fraction prod_w) and prod_bin[k, i] + 1 (1 - prod_w)
    E_kin_tot : (n_s, n_E) kinetic energy per particle [GeV] (for the escape energy flux)
    escape : (n_s,) output: particle flux through the halo boundary per unit area [cm^-2 s^-1]
    Returns the escaping kinetic-energy flux [GeV cm^-2 s^-1].
    """
    n_s, n_z, n_E = N_old.shape
    a = np.empty(n_z)
    b = np.empty(n_z)
    c = np.empty(n_z)
    d = np.empty(n_z)
    x = np.empty(n_z)
    r_in = np.empty(n_z)          # loss out-rate of the bin above (its outflow is this bin's inflow)
    solved = np.zeros(n_s, dtype=np.bool_)
    prod_src = np.zeros((n_s, n_z, n_E))
    lnE = np.log(np.sqrt(E_edges[1:] * E_edges[:-1]))
    e_escape = 0.0
    for oi in range(n_s):
        s = order[oi]
        escape[s] = 0.0
        for i in range(n_E - 1, -1, -1):
            rho = E_edges[i + 1] / E_edges[i]
            for j in range(n_z):
                r_out = b_lo[s, j, i] * loss_out_factor(N_old, N_new, s, j, i, E_edges, lnE, rho)
                b[j] = 1.0 / dt + lam[s, j, i] + r_out
                a[j] = 0.0
                c[j] = 0.0
                src = N_old[s, j, i] / dt + Q[s, j, i] + prod_src[s, j, i]
                if i < n_E - 1:
                    src += r_in[j] * N_new[s, j, i + 1]
                for k in range(sec_child.size):
                    if sec_child[k] == s:
                        p = sec_parent[k]
                        if solved[p]:
                            src += sec_rate[k, j, i] * N_new[p, j, i]
                        else:
                            src += sec_rate[k, j, i] * N_old[p, j, i]
                d[j] = src
                r_in[j] = r_out          # becomes the inflow rate for bin i-1 (used after this solve)
            add_transport(a, b, c, D_face[s, :, i], V_face[s, :, i], dz, h_face)
            _thomas(a, b, c, d, x)
            for j in range(n_z):
                N_new[s, j, i] = x[j] if x[j] > 0.0 else 0.0
            jl = n_z - 1
            fl = (D_face[s, jl, i] / h_face[jl] + max(V_face[s, jl, i], 0.0)) * N_new[s, jl, i]
            escape[s] += fl
            e_escape += fl * E_kin_tot[s, i]
        solved[s] = True
        # off-grid products of this parent (children are later in the order)
        for k in range(prod_parent.size):
            if prod_parent[k] == s:
                ch = prod_child[k]
                for i in range(n_E):
                    tb = prod_bin[k, i]
                    if tb < 0:
                        continue
                    w = prod_w[k, i]
                    for j in range(n_z):
                        q = prod_rate[k, j, i] * N_new[s, j, i]
                        prod_src[ch, j, tb] += w * q
                        if tb + 1 < n_E:
                            prod_src[ch, j, tb + 1] += (1.0 - w) * q
    return e_escape


@njit(cache=True, inline="always")
def _ln_p_cells(x_edges, s, dx, xc):
    """Widths dx and centres xc of species s's bins in x = ln p (from its bin edges x_edges[s])."""
    for i in range(dx.size):
        dx[i] = x_edges[s, i + 1] - x_edges[s, i]
        xc[i] = 0.5 * (x_edges[s, i + 1] + x_edges[s, i])


@njit(cache=True, inline="always")
def _momentum_face(K, gain, s, j, i, dx, xc):
    """Coefficients (a_i, c_i) of N_i and N_i+1 in the momentum-space flux through face i+1/2 (numbers per bin,
    N_i = n_i dx_i): Phi = -Kf (n_i+1 - n_i)/h + 3 Kf (n_i + n_i+1)/2 + gain_i n_i (gain upwind from below)."""
    Kf = 0.5 * (K[s, j, i] + K[s, j, i + 1])
    h = xc[i + 1] - xc[i]
    return (Kf / h + 1.5 * Kf + gain[s, j, i]) / dx[i], (-Kf / h + 1.5 * Kf) / dx[i + 1]


@njit(cache=True)
def momentum_diffusion_step(N, dt, K, gain, x_edges):
    """Backward-Euler step of diffusive reacceleration and adiabatic gains in x = ln p, per species and cell
    (physics spec Eq. 10: (1/p^2) d/dp [p^2 D_pp df/dp], D_pp/p^2 = K; dp/dt = gain p for compression).

    In the number per ln p, n_x, the equation is d n_x/dt = d/dx [K (d n_x/dx - 3 n_x)] - d/dx [gain n_x];
    faces at the grid ends are closed. N is modified in place: (n_s, n_z, n_E) numbers per bin.
    K, gain : (n_s, n_z, n_E) [s^-1] at bin centres; x_edges : (n_s, n_E + 1) ln p at bin edges.
    """
    n_s, n_z, n_E = N.shape
    a = np.empty(n_E)
    b = np.empty(n_E)
    c = np.empty(n_E)
    d = np.empty(n_E)
    y = np.empty(n_E)
    dx = np.empty(n_E)
    xc = np.empty(n_E)
    for s in range(n_s):
        _ln_p_cells(x_edges, s, dx, xc)
        for j in range(n_z):
            active = False
            for i in range(n_E):
                if K[s, j, i] > 0.0 or gain[s, j, i] > 0.0:
                    active = True
                    break
            if not active:
                continue
            for i in range(n_E):
                a[i] = 0.0
                b[i] = 1.0 / dt
                c[i] = 0.0
                d[i] = N[s, j, i] / dt
            # flux through face i+1/2: Phi = ai N_i + ci N_i+1
            for i in range(n_E - 1):
                ai, ci = _momentum_face(K, gain, s, j, i, dx, xc)
                # dN_i/dt -= Phi ; dN_{i+1}/dt += Phi  (implicit: move to the left-hand side)
                b[i] += ai
                c[i] += ci
                a[i + 1] -= ai
                b[i + 1] -= ci
            _thomas(a, b, c, d, y)
            for i in range(n_E):
                N[s, j, i] = y[i] if y[i] > 0.0 else 0.0


@njit(cache=True)
def momentum_diffusion_rate(N, K, gain, x_edges, out):
    """out = dN/dt of the operator of :func:`momentum_diffusion_step` applied explicitly to N [s^-1 per bin].

    The balanced splitting of ``TransportProblem.step`` adds this rate of the step's start to the sources of the
    (z, E) sweep and takes it back in the momentum step, so that a steady state of the split step is a steady
    state of the full operator (Speth, Green, MacNamara & Strang 2013, SIAM J. Numer. Anal. 51, 3084) whatever
    dt. Same discretisation as :func:`momentum_diffusion_step`; ``out`` (n_s, n_z, n_E) is overwritten.
    """
    n_s, n_z, n_E = N.shape
    dx = np.empty(n_E)
    xc = np.empty(n_E)
    for s in range(n_s):
        _ln_p_cells(x_edges, s, dx, xc)
        for j in range(n_z):
            for i in range(n_E):
                out[s, j, i] = 0.0
            for i in range(n_E - 1):
                ai, ci = _momentum_face(K, gain, s, j, i, dx, xc)
                phi = ai * N[s, j, i] + ci * N[s, j, i + 1]
                out[s, j, i] -= phi
                out[s, j, i + 1] += phi


@njit(cache=True)
def cr_state(N, E_kin_tot_erg, pv_erg, dlnR, idx, w, h_face, eps_cr, P_cr, dPdz):
    """CR kinetic energy density, pressure and pressure gradient per ln R at the cell faces, on the wave grid.

    The scattering law is evaluated where the fluxes are, at the upper face of every cell (face j lies between
    cells j and j+1; the last face is the free-escape boundary, with zero density beyond): a gradient at a
    face sees every grid-scale wiggle of P, which centred cell gradients cannot, and the lagged-diffusivity
    (Picard) coupling of gradient-driven laws then converges (cf. Vogel & Oman 1996 for the analogous TV flow).

    eps_cr[j, r]: kinetic energy per ln R summed over species at equal rigidity (physics spec Sec. 15 item 1),
    of the upwind cell (the one with the higher P', from which the CRs flow); P_cr: the same for the pressure
    (1/3) p v N / dlnR; dPdz = (P_{j+1} - P_j)/h_j. Upwind, because a law whose damping grows with eps_cr
    (new damping, Gamma ~ eps_cr) makes the diffusive flux ~ eps_cr sign(dP'/dz), an advection down the
    gradient: with the mean of the two cells the flux out of a cell grew with its lower neighbour's content
    (centred advection, not monotone: grid-scale zig-zags), with the upwind cell it is a monotone upwind flux.
    idx, w : (n_s, n_R) bin index (-1 = outside the species' range) and weight of the linear interpolation in
    ln R of each species onto the wave grid. Outputs have shape (n_z, n_R) [erg cm^-3, erg cm^-3, erg cm^-4].
    """
    n_s, n_z, n_E = N.shape
    n_R = idx.shape[1]
    ec = np.zeros(n_R)
    pc = np.zeros(n_R)
    en = np.zeros(n_R)
    pn = np.zeros(n_R)
    for j in range(n_z + 1):
        # cell-centred values of cell j (zero beyond the boundary)
        for r in range(n_R):
            e = 0.0
            p = 0.0
            if j < n_z:
                for s in range(n_s):
                    i = idx[s, r]
                    if i < 0:
                        continue
                    ww = w[s, r]
                    e += (1.0 - ww) * N[s, j, i] * E_kin_tot_erg[s, i] / dlnR[s, i]
                    e += ww * N[s, j, i + 1] * E_kin_tot_erg[s, i + 1] / dlnR[s, i + 1]
                    p += (1.0 - ww) * N[s, j, i] * pv_erg[s, i] / (3.0 * dlnR[s, i])
                    p += ww * N[s, j, i + 1] * pv_erg[s, i + 1] / (3.0 * dlnR[s, i + 1])
            en[r] = e
            pn[r] = p
        if j > 0:
            for r in range(n_R):
                up = pc[r] >= pn[r]
                eps_cr[j - 1, r] = ec[r] if up else en[r]
                P_cr[j - 1, r] = pc[r] if up else pn[r]
                dPdz[j - 1, r] = (pn[r] - pc[r]) / h_face[j - 1]
        for r in range(n_R):
            ec[r] = en[r]
            pc[r] = pn[r]


@njit(cache=True)
def spectral_factor(N, x_edges, a3):
    """alpha/3 per species, cell and bin, alpha = -d ln f/d ln p the local slope of the distribution function
    (from the number per ln p, n = N/dln p = 4 pi p^3 f: alpha = 3 - d ln n/d ln p, centred differences,
    one-sided at the ends). The streaming flux of a bin in physics spec Eq. 10 is (v_st/3)(-p df/dp)
    integrated over the bin, i.e. v_st (alpha/3) N. Bins with an empty neighbour get alpha/3 = 1; alpha/3 is
    kept in [0, 3]. x_edges : (n_s, n_E + 1) ln p at bin edges; a3 : (n_s, n_z, n_E) output."""
    n_s, n_z, n_E = N.shape
    for s in range(n_s):
        for j in range(n_z):
            for i in range(n_E):
                lo = i - 1 if i > 0 else i
                hi = i + 1 if i < n_E - 1 else i
                d_lo = x_edges[s, lo + 1] - x_edges[s, lo]
                d_hi = x_edges[s, hi + 1] - x_edges[s, hi]
                n_lo = N[s, j, lo] / d_lo
                n_hi = N[s, j, hi] / d_hi
                if n_lo > _TINY and n_hi > _TINY and hi > lo:
                    dx = 0.5 * (x_edges[s, hi + 1] + x_edges[s, hi] - x_edges[s, lo + 1] - x_edges[s, lo])
                    f = 1.0 - np.log(n_hi / n_lo) / (3.0 * dx)
                    a3[s, j, i] = min(max(f, 0.0), 3.0)
                else:
                    a3[s, j, i] = 1.0


@njit(cache=True)
def streaming_face_loss(vst_face, N_lo, N_hi, h):
    """Streaming loss across one face [s^-1]: dln p/dt = (1/3) v_st . grad ln f (physics spec Eq. 10, the
    p-space term -(v_st/3) b.grad f), from the bin's own density on both sides; positive (a loss) when the
    waves stream down this species' gradient. Zero if either side is empty."""
    if N_lo > _TINY and N_hi > _TINY:
        return -vst_face * np.log(N_hi / N_lo) / (3.0 * h)
    return 0.0


@njit(cache=True)
def transport_coefficients(nuob, vst, vbar, ridx, rw, beta, v, geometry, D_cap, u_face, vA_eff, reacc, dz, h_face,
                           N, a3, b_static, adiab, D_face, V_face, b_lo, K_reacc, gain):
    """Map the law's nu_s/beta and streaming speed at the cell faces (n_z, n_R) onto every species' bins and
    build the transport coefficients (physics spec Eq. 10-11, Sec. 2 [S]).

    D_zz = geometry * kappa_par at each face, kappa_par = v^2 / (3 nu_s), with a flux limiter
    D -> D D_cap/(D + D_cap), D_cap = v H / 3 (free streaming across the halo).
    Streaming is discretised as Eq. 10 writes it, so that no divergence of v_st appears (v_st switches sign
    at every extremum of P', and its divergence there is a grid-scale delta): the spatial flux of a bin is
    (u_wind + v_st alpha/3) N (alpha/3 from :func:`spectral_factor`, a3), and the streaming loss is the p-space
    rate dln p/dt = -(1/3) v_st . grad ln f (:func:`streaming_face_loss`, mean of the cell's two faces; the
    midplane face carries none by symmetry, the halo boundary none). The wind's adiabatic rate is
    div(u)/3. Net expansion and loss go to -dE/dt = b_static + adiab * theta (``b_lo``), net compression and
    gain to ``gain`` for the momentum step. Reacceleration at cell centres, from the mean of the adjacent
    faces' kappa and vbar_A^2: D_pp/p^2 = reacc (vA_eff^2 - vbar_A^2) / (9 kappa_par), with |vbar_A| = vbar
    (n_z, n_R) the law's wave imbalance (2 |v_st| unless the law regularises the streaming direction, see
    engine.laws.ScatteringLaw). ridx, rw : (n_s, n_E) wave-grid index and weight of each bin;
    N : (n_s, n_z, n_E) the CR state the streaming loss is evaluated on.
    """
    n_s, n_z, n_E = D_face.shape
    kap = np.empty(n_z)
    vf = np.empty(n_z)
    bf = np.empty(n_z)
    lf = np.empty(n_z)
    for s in range(n_s):
        for i in range(n_E):
            k = ridx[s, i]
            ww = rw[s, i]
            for j in range(n_z):
                lnu = (1.0 - ww) * np.log(max(nuob[j, k], _TINY)) + ww * np.log(max(nuob[j, k + 1], _TINY))
                nu = beta[s, i] * np.exp(lnu)
                kappa = v[s, i] * v[s, i] / (3.0 * nu)
                kap[j] = kappa
                D = geometry * kappa
                D_face[s, j, i] = D * D_cap[s, i] / (D + D_cap[s, i])
                vf[j] = (1.0 - ww) * vst[j, k] + ww * vst[j, k + 1]
                bf[j] = (1.0 - ww) * vbar[j, k] + ww * vbar[j, k + 1]
                if j < n_z - 1:
                    af = 0.5 * (a3[s, j, i] + a3[s, j + 1, i])
                    lf[j] = streaming_face_loss(vf[j], N[s, j, i], N[s, j + 1, i], h_face[j])
                else:
                    af = a3[s, j, i]
                    lf[j] = 0.0
                V_face[s, j, i] = u_face[j + 1] + vf[j] * af
            for j in range(n_z):
                kc = kap[j] if j == 0 else 0.5 * (kap[j] + kap[j - 1])
                # the imbalance of the waves is a property of each face: at an extremum of P' the two faces
                # stream in opposite directions, and a mean of signed speeds (zero) would count those two
                # one-directional wave fields as a balanced one; the mean of the squares does not
                vc2 = bf[j] * bf[j] if j == 0 else 0.5 * (bf[j] * bf[j] + bf[j - 1] * bf[j - 1])
                va2 = vA_eff[j] * vA_eff[j] - vc2
                K_reacc[s, j, i] = reacc * va2 / (9.0 * kc) if va2 > 0.0 else 0.0
                if j == 0:
                    th_st = 0.5 * lf[0]
                elif j == n_z - 1:
                    th_st = lf[j - 1]
                else:
                    th_st = 0.5 * (lf[j - 1] + lf[j])
                theta = (u_face[j + 1] - u_face[j]) / (3.0 * dz[j]) + th_st
                if theta > 0.0:
                    b_lo[s, j, i] = b_static[s, j, i] + adiab[s, i] * theta
                    gain[s, j, i] = 0.0
                else:
                    b_lo[s, j, i] = b_static[s, j, i]
                    gain[s, j, i] = -theta
