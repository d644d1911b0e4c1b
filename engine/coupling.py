"""Implicit live coupling of a wave law to the CR transport [docs/physics.md, "Coupling to the transport"].

Every step, the proton spectrum is solved bin by bin (top down in energy) together with the wave balance at
the proton's own rigidity (:func:`engine._coupling_kernels.coupled_proton_sweep`): the scattering rate that
moves the protons is the one their own new pressure gradient sustains. All species are then advanced with
those coefficients by the ordinary linear step (which reproduces the protons' Newton solution, and moves
the other species with nu_s interpolated in ln R between proton nodes).
"""

import numpy as np

from . import _coupling_kernels as _ck
from . import _transport_kernels as _k
from .species import SPECIES_NAMES

__all__ = ["ImplicitCoupling"]


class ImplicitCoupling:
    """Per-solve state of the implicit coupling (built from an ``engine.solver._Prepared``)."""

    def __init__(self, prep, tol=1e-6, maxit=30):
        self.prep = prep
        self.tol, self.maxit = float(tol), int(maxit)
        g = prep.grid
        self.sp = SPECIES_NAMES.index("p")
        lnRw = np.log(g.R_waves)
        lnRp = np.log(prep.R[self.sp])
        self.node = np.argmin(np.abs(lnRw[None, :] - lnRp[:, None]), axis=1).astype(np.int64)
        if np.max(np.abs(lnRw[self.node] - lnRp)) > 1e-6:
            raise RuntimeError("the wave grid does not contain the proton rigidities (engine.grid.wave_rigidities)")
        s = self.sp
        self.cP = prep.pv_erg[s] / (3.0 * prep.dlnR[s])
        self.cE = prep.E_kin_erg[s] / prep.dlnR[s]
        self.others = [k for k in range(prep.problem.shape[0]) if k != s]
        self.stats = np.zeros(3)
        self.bin_res = np.zeros(prep.grid.n_E)
        self.bin_its = np.zeros(prep.grid.n_E, np.int64)

    def other_pressure(self, N):
        """Cell-centred P' and eps per ln R (n_z, n_R) of every species but protons [erg cm^-3]."""
        prep = self.prep
        n_z, n_R = prep.eps_cr.shape
        P = np.zeros((n_z, n_R))
        E = np.zeros((n_z, n_R))
        for s in self.others:
            i, w = prep.widx[s], prep.ww[s]
            ok = i >= 0
            ii = i[ok]
            wk = w[ok]
            for arr, c in ((P, prep.pv_erg[s] / (3.0 * prep.dlnR[s])), (E, prep.E_kin_erg[s] / prep.dlnR[s])):
                v = N[s] * c[None, :]
                arr[:, ok] += (1.0 - wk) * v[:, ii] + wk * v[:, ii + 1]
        return P, E

    def step(self, N, dt):
        """Advance N by dt [s]; returns (N_new, escaping energy flux [GeV cm^-2 s^-1]). Leaves the law's
        nu_s/beta, v_st, x and flags of the new state in prep.nuob, prep.vst, prep.x, prep.flag."""
        prep = self.prep
        pr = prep.problem
        g = prep.grid
        wb = prep.law.balance
        s = self.sp
        Pc_o, Ec_o = self.other_pressure(N)
        _k.spectral_factor(N, pr.x_edges, prep.a3)          # alpha/3 of the step's start (lagged)
        N_p = N.copy()
        nuob_k = np.zeros_like(prep.nuob)
        vst_k = np.zeros_like(prep.vst)
        x_k = np.zeros_like(prep.x)
        fl_k = np.zeros_like(prep.flag)
        stats = np.zeros(3)
        _ck.coupled_proton_sweep(N, N_p, dt, s, self.node, self.cP, self.cE, Pc_o, Ec_o,
                                 g.dz, g.h_face, prep.galaxy.u_wind, prep.beta[s], prep.v[s],
                                 prep.galaxy.geometry_factor, prep.D_cap[s], pr.lam, pr.b_static, prep.adiab, prep.a3, g.E_edges, pr.Q,
                                 pr.D_face, pr.V_face,
                                 wb._coef, wb._g_bexp, wb._g_crkind, wb._g_crexp, wb._g_dir, wb._g_sign, wb._fV,
                                 wb._nuob_unit, wb._u_floor, wb._vae, wb._e_B, wb._monotone, wb._u_cap,
                                 wb._geom, wb._mfp_free, wb._l_reg, wb._u_state,
                                 nuob_k, vst_k, x_k, fl_k, self.tol, self.maxit, stats, self.bin_res, self.bin_its)
        self.stats += stats
        self.last_stats = stats
        # law on every node from the new proton state, then the protons' own nodes from the Newton solve
        prep.evaluate_law(N_p)
        cols = self.node
        prep.nuob[:, cols] = nuob_k[:, cols]
        prep.vst[:, cols] = vst_k[:, cols]
        prep.x[:, :, cols] = x_k[:, :, cols]
        prep.flag[:, cols] = fl_k[:, cols]
        prep.set_coefficients(prep.nuob, prep.vst, N_p, slopes_from=N)
        N_new, e_esc = pr.step(N, dt)
        self.N_newton = N_p
        return N_new, e_esc
