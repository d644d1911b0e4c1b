"""Implicit live coupling of a wave law to the CR transport [docs/physics.md, "Coupling to the transport"].

The waves are in local steady state with the CRs, so the scattering rate that moves the CRs during a step must
be the one their own new pressure gradient sustains. The species that carry the CR pressure are therefore
solved bin by bin (top down in energy) together with the wave balance at the bin's own rigidity
(:func:`engine._coupling_kernels.coupled_species_sweep`):

* protons, on the wave grid itself (``engine.grid.wave_rigidities`` puts a node on every proton bin);
* electrons, which carry most of the pressure below ~0.3 GV, on a second wave balance bound at the
  electron bins' rigidities.

Each of them sees the other species' pressure at the same rigidity from the latest available state (protons:
start of the step; electrons: the protons' new state). All species are then advanced with the resulting
coefficients by the ordinary linear step, which reproduces the Newton solutions up to the momentum-space
step (reacceleration and gains); the other species take nu_s interpolated in ln R between wave nodes.
"""

import numpy as np

from . import _coupling_kernels as _ck
from . import _transport_kernels as _k
from .species import SPECIES_NAMES
from .transport import _interp_index
from .waves import WaveBalance

__all__ = ["ImplicitCoupling"]

_NO_RATES = np.empty((0, 1, 1))     # no given face rates: the carrier solves the law


class _Carrier:
    """One species solved implicitly with the wave balance at its own bin rigidities."""

    def __init__(self, prep, name, balance, node):
        self.s = SPECIES_NAMES.index(name)
        self.balance = balance
        self.node = np.ascontiguousarray(node, dtype=np.int64)
        s = self.s
        self.cP = prep.pv_erg[s] / (3.0 * prep.dlnR[s])
        self.cE = prep.E_kin_erg[s] / prep.dlnR[s]
        lnRc = np.log(balance.R_waves)
        n_s = prep.problem.shape[0]
        self.idx = np.full((n_s, lnRc.size), -1, np.int64)
        self.w = np.zeros((n_s, lnRc.size))
        for k in range(n_s):
            if k != s:
                self.idx[k], self.w[k] = _interp_index(np.log(prep.R[k]), lnRc)
        self.cP_all = prep.pv_erg / (3.0 * prep.dlnR)
        self.cE_all = prep.E_kin_erg / prep.dlnR
        n_E = prep.grid.n_E
        self.bin_res = np.zeros(n_E)
        self.bin_its = np.zeros(n_E, np.int64)
        n_z = prep.grid.n_z
        self.jac = np.zeros((n_E, 3, n_z))          # each bin's last Jacobian (transport part), for chord steps
        self.jac_ok = np.zeros(n_E, np.int8)
        n_p, n_z, n_c = balance.shape
        self.nuob = np.zeros((n_z, n_c))
        self.vst = np.zeros((n_z, n_c))
        self.vbar = np.zeros((n_z, n_c))
        self.x = np.zeros((n_p, n_z, n_c))
        self.flag = np.zeros((n_z, n_c), np.int8)

    def other_pressure(self, prep, N):
        """Cell-centred P' and eps per ln R (n_z, n_cols) of every other species at this carrier's balance
        rigidities (linear interpolation in ln R of each species' bins) [erg cm^-3]."""
        n_c = self.balance.R_waves.size
        P = np.empty((N.shape[1], n_c))
        E = np.empty((N.shape[1], n_c))
        _ck.other_pressure(N, self.s, self.idx, self.w, self.cP_all, self.cE_all, P, E)
        return P, E

    def production(self, prep, N):
        """Source of this species from the others [cm^-3 s^-1] (n_z, n_E): same-energy secondaries and
        off-grid products (as in engine._transport_kernels.implicit_sweep)."""
        pr = prep.problem
        n_s, n_z, n_E = N.shape
        src = np.zeros((n_z, n_E))
        for k in range(pr.sec_child.size):
            if pr.sec_child[k] == self.s:
                src += pr.sec_rate[k] * N[pr.sec_parent[k]]
        for k in range(pr.prod_parent.size):
            if pr.prod_child[k] == self.s:
                q = pr.prod_rate[k] * N[pr.prod_parent[k]]
                ok = pr.prod_bin[k] >= 0
                tb, w = pr.prod_bin[k][ok], pr.prod_w[k][ok]
                np.add.at(src, (slice(None), tb), w * q[:, ok])
                up = tb + 1 < n_E
                np.add.at(src, (slice(None), tb[up] + 1), ((1.0 - w) * q[:, ok])[:, up])
        return src

    def sweep(self, prep, N_old, N_src, N_out, dt, tol, maxit, min_share=0.05, Q=None, rates=None,
              rates_share=0.0):
        """Newton sweep of this species from N_old; other species' pressure from N_src; writes N_out[s].
        ``Q`` (n_s, n_z, n_E): the sources [cm^-3 s^-1], default the problem's injection. ``rates``: another
        carrier bound at the same rigidities whose face rates (nu_s/beta, v_st, vbar) are taken instead of
        solving the law in the bins where this species' pressure is below ``rates_share`` of the total in every
        cell (there it does not drive its waves; this carrier's wave amplitudes ``x`` and ``flag`` are then not
        set on those columns: the other carrier holds them)."""
        pr, g, wb, s = prep.problem, prep.grid, self.balance, self.s
        Pc_o, Ec_o = self.other_pressure(prep, N_src)
        stats = np.zeros(4)
        fixed = _NO_RATES if rates is None else np.stack([rates.nuob, rates.vst, rates.vbar])
        _ck.coupled_species_sweep(N_old, N_out, dt, s, self.node, self.cP, self.cE, Pc_o, Ec_o, fixed, rates_share,
                                  g.dz, g.h_face, prep.galaxy.u_wind, prep.beta[s], prep.v[s],
                                  prep.galaxy.geometry_factor, prep.D_cap[s], pr.lam, pr.b_static, prep.adiab,
                                  prep.a3, g.E_edges, pr.Q if Q is None else Q, self.production(prep, N_src),
                                  pr.D_face, pr.V_face,
                                  wb._coef, wb._g_bexp, wb._g_crkind, wb._g_crexp, wb._g_dir, wb._g_sign, wb._fV,
                                  wb._nuob_unit, wb._u_floor, wb._vae, wb._e_B, wb._monotone, wb._u_cap,
                                  wb._geom, wb._mfp_free, wb._l_reg, wb._u_state,
                                  self.nuob, self.vst, self.x, self.flag, self.vbar, tol, maxit, min_share, stats,
                                  self.bin_res, self.bin_its, self.jac, self.jac_ok)
        return stats


class ImplicitCoupling:
    """Per-solve state of the implicit coupling (built from an ``engine.solver._Prepared``).

    ``step(N, dt)`` advances the CR state; ``last_stats`` holds (Newton iterations, bins whose residual stayed
    above ``tol_accept``, largest final residual, bins accepted between ``tol`` and ``tol_accept``) of the step,
    over both carriers and the positrons (swept after the electrons, every bin iterated: their streaming loss
    is then implicit; where they carry less than ``positron_fixed_share`` of the pressure at their rigidity in
    every cell, above ~1 GV, they take the electrons' face rates instead of solving the law). Newton aims at
    ``tol``; a bin that stalls (the law's regime switches make the residual only piecewise smooth) is
    accepted up to ``tol_accept`` (relative to the largest term of its balance).
    A carrier bin whose pressure is below ``min_share`` of the total at its rigidity everywhere (electrons
    above a few GV, protons far below 0.1 GV) is not iterated: its own pressure hardly drives its waves.
    """

    def __init__(self, prep, tol=1e-6, maxit=30, tol_accept=1e-2, min_share=0.05, positron_fixed_share=1e-2):
        self.prep = prep
        self.tol, self.maxit, self.tol_accept = float(tol), int(maxit), float(tol_accept)
        self.min_share = float(min_share)
        self.positron_fixed_share = float(positron_fixed_share)
        law = prep.law
        lnRw = np.log(prep.grid.R_waves)
        lnRp = np.log(prep.R[SPECIES_NAMES.index("p")])
        node = np.argmin(np.abs(lnRw[None, :] - lnRp[:, None]), axis=1)
        if np.max(np.abs(lnRw[node] - lnRp)) > 1e-6:
            raise RuntimeError("the wave grid does not contain the proton rigidities (engine.grid.wave_rigidities)")
        self.protons = _Carrier(prep, "p", law.balance, node)
        R_e = prep.R[SPECIES_NAMES.index("e-")]
        bal_e = WaveBalance(law.damping, law.driving, **law._balance_opts).bind(prep.galaxy, R_e)
        self.electrons = _Carrier(prep, "e-", bal_e, np.arange(R_e.size))
        # positrons hardly drive waves, but their streaming loss depends on their own gradient: solved like the
        # carriers (Newton on every bin, rates from the total pressure) it is implicit instead of lagged, which
        # had them alternate by 3-10 % per step at 1-5 MeV in the disk under new_damping (docs/physics.md); the
        # balance is bound separately from the electrons' (same rigidities) so its root-finder warm starts
        # do not disturb theirs. Where they carry < positron_fixed_share (1 %) of the pressure (above ~1 GV) the
        # law with their new pressure is the electrons' to < 1e-3 and their sweep takes the electrons' face
        # rates: 1.7-2.2 instead of 3.7 ms per step (new_damping_plus_standard). Taken in every bin, the rates of
        # the 5 % of the pressure they carry at 0.1-0.2 GV lag by a step and a strongly confined run (new_damping,
        # log10_A_gamma = 2, 500 Myr) ended with e+(1 GeV) 23 % below its 1 Myr step reference (6 % with the law)
        R_pos = prep.R[SPECIES_NAMES.index("e+")]
        bal_pos = WaveBalance(law.damping, law.driving, **law._balance_opts).bind(prep.galaxy, R_pos)
        self.positrons = _Carrier(prep, "e+", bal_pos, np.arange(R_pos.size))
        # wave nodes below the proton range hold only leptons: they take the electron carrier's rates
        # (interpolated in ln R between electron bins) instead of an explicit evaluation
        self._low = np.flatnonzero(lnRw < lnRp[0] - 1e-9)
        self._low_idx, self._low_w = _interp_index(np.log(R_e), lnRw[self._low])
        ok = self._low_idx >= 0
        self._low, self._low_idx, self._low_w = self._low[ok], self._low_idx[ok], self._low_w[ok]
        # the remaining nodes (above the proton range, below the electrons') are evaluated explicitly
        self._rest = np.setdiff1d(np.arange(lnRw.size), np.concatenate([node, self._low]))
        n_E = prep.grid.n_E
        self._ridx_e = np.arange(n_E, dtype=np.int64)[None, :]
        self._rw_e = np.zeros((1, n_E))
        self.last_stats = np.zeros(3)
        self._dx2 = (np.diff(prep.problem.x_edges, axis=1) ** 2)[:, None, :]     # (n_s, 1, n_E), ln p bin widths

    def step(self, N, dt):
        """Advance N (n_s, n_z, n_E) by dt [s]; returns (N_new, escaping energy flux [GeV cm^-2 s^-1]).
        Leaves the law's nu_s/beta, v_st, x and flags of the new state on the wave grid in prep.nuob, prep.vst,
        prep.x, prep.flag."""
        prep = self.prep
        pr = prep.problem
        _k.spectral_factor(N, pr.x_edges, prep.a3)          # alpha/3 of the step's start (lagged)
        N_mix = N.copy()
        # the momentum-space rate of the step's start (with the last step's K) as a source, as in the balanced
        # splitting of TransportProblem.step, so that the carriers' Newton states include reacceleration; damped
        # by 1/(1 + dt K/dx^2) where the momentum diffusion is stiff within the step. Undamped, it destabilised
        # strongly confined runs (new_damping at log10_A_gamma = 2: ln nu_s of MeV electrons in the disk swung by
        # ~2 every step, 119 Myr in 1200 steps; damped: 500 Myr in 314 steps); without it the Newton states
        # lack reacceleration and 10 Myr steps are off by up to 5 % (new_external e+ at 1 GeV). The transport
        # step itself (pr.step) keeps the exact balanced splitting, so the steady state is unaffected.
        r_old = pr.reacceleration_rate(N)
        if r_old is not None:
            r_old /= 1.0 + dt * pr.K_reacc / self._dx2
        Q = pr.Q if r_old is None else pr.Q + r_old
        st = self.protons.sweep(prep, N, N, N_mix, dt, self.tol, self.maxit, self.min_share, Q)
        st_e = self.electrons.sweep(prep, N, N_mix, N_mix, dt, self.tol, self.maxit, self.min_share, Q)
        st_pos = self.positrons.sweep(prep, N, N_mix, N_mix, dt, self.tol, self.maxit, 0.0, Q, rates=self.electrons,
                                      rates_share=self.positron_fixed_share)
        self.n_minor = int(st[3] + st_e[3])
        res = np.concatenate([self.protons.bin_res, self.electrons.bin_res, self.positrons.bin_res])
        self.last_stats = np.array([st[0] + st_e[0] + st_pos[0], float((res > self.tol_accept).sum()), res.max(),
                                    float(((res > self.tol) & (res <= self.tol_accept)).sum())])
        # the law's inputs on every wave node from the new carriers; the rates of the protons' nodes from their
        # Newton solve, of the lepton-only nodes from the electrons', of the rest by an explicit evaluation
        prep.cr_state(N_mix)
        prep.law.balance.solve_columns(self._rest, prep.eps_cr, prep.dPdz, prep.nuob, prep.vst, prep.x, prep.flag,
                                       prep.vbar)
        c = self.protons
        cols = c.node
        prep.nuob[:, cols] = c.nuob[:, cols]
        prep.vst[:, cols] = c.vst[:, cols]
        prep.vbar[:, cols] = c.vbar[:, cols]
        prep.x[:, :, cols] = c.x[:, :, cols]
        prep.flag[:, cols] = c.flag[:, cols]
        e, lo, i, w = self.electrons, self._low, self._low_idx, self._low_w
        if lo.size:
            prep.nuob[:, lo] = np.exp((1 - w) * np.log(np.maximum(e.nuob[:, i], 1e-300))
                                      + w * np.log(np.maximum(e.nuob[:, i + 1], 1e-300)))
            prep.vst[:, lo] = (1 - w) * e.vst[:, i] + w * e.vst[:, i + 1]
            prep.vbar[:, lo] = (1 - w) * e.vbar[:, i] + w * e.vbar[:, i + 1]
            prep.x[:, :, lo] = (1 - w) * e.x[:, :, i] + w * e.x[:, :, i + 1]
            prep.flag[:, lo] = np.where(w < 0.5, e.flag[:, i], e.flag[:, i + 1])
        prep.set_coefficients(prep.nuob, prep.vst, N_mix, slopes_from=N)
        self._electron_coefficients(N_mix)
        self.N_newton = N_mix
        return pr.step(N, dt)

    def _electron_coefficients(self, N_mix):
        """Electron transport coefficients from the electrons' own wave balance (not interpolated)."""
        prep, g, e = self.prep, self.prep.grid, self.electrons
        pr, s = prep.problem, e.s
        sl = slice(s, s + 1)
        nuob = np.concatenate([e.nuob, e.nuob[:, -1:]], axis=1)
        vst = np.concatenate([e.vst, e.vst[:, -1:]], axis=1)
        vbar = np.concatenate([e.vbar, e.vbar[:, -1:]], axis=1)
        _k.transport_coefficients(nuob, vst, vbar, self._ridx_e, self._rw_e, prep.beta[sl], prep.v[sl],
                                  prep.galaxy.geometry_factor, prep.D_cap[sl], prep.galaxy.u_wind,
                                  prep.galaxy.vA_eff, float(prep.law.reacceleration), g.dz, g.h_face,
                                  N_mix[sl], prep.a3[sl], pr.b_static[sl], prep.adiab[sl], pr.D_face[sl],
                                  pr.V_face[sl], pr.b_lo[sl], pr.K_reacc[sl], pr.gain[sl])
