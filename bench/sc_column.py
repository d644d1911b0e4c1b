"""Test bed for the coupling of self-confinement (SC) to the transport: one rigidity, one species, one column.

What it computes: the CR pressure P'(z, t) in the engine's default column (calibrated milky_way galaxy, its
stretched grid and v_A,eff(z)) under

    dP/dt = -dF/dz + q(z),   F = D(nu) (-dP/dz) + v_st P_upwind,   P = 0 beyond z = H (free escape),

with a closed-form SC law of the engine's structure (physics spec Sec. 8, H22 App. A): linear damping and
SC driving by the CR gradient above an extrinsic floor,

    nu = nu_ET + b g_eff,  g_eff = max(|dP/dz|, P/H)      (the engine's gradient floor, l_reg = H),
    D = c^2 / (9 nu),  v_st = (v_A,eff / 2) (b g_eff / nu) (-dP/dz) / g_eff   (down the gradient),

so the diffusive flux saturates at F_0 = c^2 / (9 b) (chosen below the injected flux: the bottleneck
regime) and streaming becomes a linear diffusion where the profile is flatter than P/H. Each scheme is
integrated with backward Euler steps (dt grows by 1.3 up to dt_max) to t_end, and the table reports the
final state: P'(0) relative to the finest-step run of the same scheme, the total variation of P'(z) over
its range (1 = monotone; a zig-zag gives more), the largest change of ln nu between the last two steps,
the number of steps and (Newton) the number of failed solves.

Schemes:
  lagged   nu and v_st from the previous state (the engine's explicit coupling without relaxation);
  newton   fully implicit: Newton on the nonlinear step with the exact tridiagonal Jacobian (each face flux
           depends on its two cells), backtracking line search on the scaled residual, dt halved and
           retried after 40 iterations without convergence.

Run:  .venv/bin/python bench/sc_column.py [--t-end 300] [--dt 1 0.25]      (~1 min)
"""

import argparse
import sys
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from engine.galaxy import GalaxyConfig, build_galaxy  # noqa: E402
from engine.grid import GridConfig, build_grid  # noqa: E402
from engine.units import C_LIGHT, KPC_CM, MYR_S  # noqa: E402

NU_ET = 1e-11           # extrinsic floor [s^-1]
SAT = 0.3               # F_0 / (injected flux per side) at the midplane
H_SRC = 0.1 * KPC_CM    # source scale height


class Column:
    """Grid, v_A,eff, source and SC coefficient of the test column (cgs)."""

    def __init__(self):
        cfg = GalaxyConfig()
        self.g = build_grid(GridConfig(), cfg.halo_height_kpc)
        gal = build_galaxy(cfg, self.g)
        self.H = self.g.halo_height
        self.z, self.dz, self.h = self.g.z, self.g.dz, self.g.h_face
        self.zf = self.g.z_faces[1:]
        self.vA = np.asarray(gal.vA_eff, float)[: self.z.size]
        self.q = np.exp(-self.z / H_SRC)                       # arbitrary units: P is relative
        F_inj = float((self.q * self.dz).sum())
        # saturation flux falling with height (rho_ion^1/2 Gamma_lin drops): the bottleneck regime
        F0 = SAT * F_inj / (1.0 + self.zf / KPC_CM)
        self.b = C_LIGHT ** 2 / (9.0 * F0)

    def face_flux(self, Pj, Pk, j):
        """Outward flux through face j from the pressures of its lower (Pj) and upper (Pk) cells, and nu."""
        h, H = self.h[j], self.H
        g = (Pk - Pj) / h
        Pb = 0.5 * (Pj + Pk)
        ge = np.maximum(np.abs(g), Pb / H)
        nu = NU_ET + self.b[j] * ge
        D = C_LIGHT ** 2 / (9.0 * nu)
        frac = self.b[j] * ge / nu
        v = 0.5 * self.vA[j] * frac * (-g) / np.where(ge > 0, ge, 1.0)   # outward > 0
        up = np.where(v > 0, Pj, Pk)
        return -D * g + v * up, nu

    def fluxes(self, P):
        Pk = np.append(P[1:], 0.0)
        return self.face_flux(P, Pk, np.arange(P.size))

    def residual(self, P, P_old, dt):
        F, nu = self.fluxes(P)
        F_lo = np.concatenate([[0.0], F[:-1]])
        r = self.dz * ((P - P_old) / dt - self.q) + F - F_lo
        scale = self.dz * (np.abs(P) + np.abs(P_old)) / dt + self.dz * self.q + np.abs(F) + np.abs(F_lo)
        return r, r / scale, nu


def _thomas(a, b, c, d):
    n = b.size
    cp, dp = np.empty(n), np.empty(n)
    cp[0], dp[0] = c[0] / b[0], d[0] / b[0]
    for j in range(1, n):
        m = b[j] - a[j] * cp[j - 1]
        cp[j] = c[j] / m
        dp[j] = (d[j] - a[j] * dp[j - 1]) / m
    x = np.empty(n)
    x[-1] = dp[-1]
    for j in range(n - 2, -1, -1):
        x[j] = dp[j] - cp[j] * x[j + 1]
    return x


def step_lagged(col, P, dt):
    """Backward Euler with D, v_st (direction and size) frozen at the old state."""
    Pk = np.append(P[1:], 0.0)
    h, H = col.h, col.H
    g = (Pk - P) / h
    ge = np.maximum(np.abs(g), 0.5 * (P + Pk) / H)
    nu = NU_ET + col.b * ge
    D = C_LIGHT ** 2 / (9.0 * nu)
    v = 0.5 * col.vA * (col.b * ge / nu) * (-g) / np.where(ge > 0, ge, 1.0)
    # F_j = D_j (P_j - P_j+1)/h_j + max(v,0) P_j + min(v,0) P_j+1
    dFj = D / h + np.maximum(v, 0.0)         # dF_j/dP_j
    dFk = -D / h + np.minimum(v, 0.0)        # dF_j/dP_j+1
    n = P.size
    a = np.zeros(n)
    b = col.dz / dt + dFj
    c = dFk.copy()
    b[1:] -= dFk[:-1]
    a[1:] = -dFj[:-1]
    d = col.dz * (P / dt + col.q)
    return np.maximum(_thomas(a, b, c, d), 0.0), nu


def step_newton(col, P_old, dt, tol=1e-8, max_iter=40):
    """Newton with the exact (finite-difference, per face) Jacobian and backtracking; None if it fails."""
    P = P_old.copy()
    n = P.size
    for _ in range(max_iter):
        r, rs, nu = col.residual(P, P_old, dt)
        if np.abs(rs).max() < tol:
            return P, nu
        Pk = np.append(P[1:], 0.0)
        j = np.arange(n)
        F0, _ = col.face_flux(P, Pk, j)
        eps_j = 1e-7 * np.maximum(np.abs(P), 1e-30)
        eps_k = 1e-7 * np.maximum(np.abs(Pk), 1e-30)
        dFj = (col.face_flux(P + eps_j, Pk, j)[0] - F0) / eps_j
        dFk = (col.face_flux(P, Pk + eps_k, j)[0] - F0) / eps_k
        dFk[-1] = 0.0
        b = col.dz / dt + dFj
        b[1:] -= dFk[:-1]
        a = np.zeros(n)
        a[1:] = -dFj[:-1]
        c = dFk.copy()
        dx = _thomas(a, b, c, -r)
        norm0 = np.abs(rs).max()
        alpha = 1.0
        for _ls in range(30):
            P_try = np.maximum(P + alpha * dx, 0.0)
            if np.abs(col.residual(P_try, P_old, dt)[1]).max() < (1 - 1e-4 * alpha) * norm0:
                break
            alpha *= 0.5
        P = P_try
    return None, None


def run(col, scheme, dt_max, t_end):
    P = np.zeros(col.z.size)
    t, dt, n, fails = 0.0, 1e-3, 0, 0
    nu_prev = nu = None
    while t < t_end * (1 - 1e-12):
        dt = min(dt, t_end - t)
        if scheme == "lagged":
            P_new, nu_new = step_lagged(col, P, dt * MYR_S)
        else:
            P_new, nu_new = step_newton(col, P, dt * MYR_S)
            if P_new is None:
                fails += 1
                dt *= 0.5
                if dt < 1e-6:
                    raise RuntimeError(f"newton: dt < 1e-6 Myr at t = {t:.3g} Myr")
                continue
        P, t, n = P_new, t + dt, n + 1
        nu_prev, nu = nu, nu_new
        dt = min(1.3 * dt, dt_max)
    dlnu = float(np.abs(np.log(nu / nu_prev)).max()) if nu_prev is not None else 0.0
    tv = float(np.abs(np.diff(P)).sum() / max(P.max() - P.min(), 1e-300))
    return {"P0": float(P[0]), "TV": tv, "dlnu": dlnu, "steps": n, "fails": fails, "P": P}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t-end", type=float, default=300.0, help="end time [Myr]")
    ap.add_argument("--dt", type=float, nargs="+", default=[2.0, 0.5, 0.125], help="dt_max values [Myr]")
    ap.add_argument("--schemes", nargs="+", default=["lagged", "newton"])
    args = ap.parse_args(argv)
    if not args.t_end > 0 or not all(d > 0 for d in args.dt):
        ap.error(f"--t-end ({args.t_end}) and every --dt ({args.dt}) must be > 0 Myr")
    bad = set(args.schemes) - {"lagged", "newton"}
    if bad:
        ap.error(f"--schemes: unknown {sorted(bad)}; expected lagged and/or newton")
    col = Column()
    print(f"column: n_z = {col.z.size}, H = {col.H / KPC_CM:.0f} kpc, F_0/F_inj = {SAT} at z = 0, "
          f"t_end = {args.t_end:g} Myr")
    print(f"{'scheme':8} {'dt_max':>7} {'P(0)/ref':>9} {'TV':>6} {'dlnu':>7} {'steps':>6} {'fails':>5} {'wall s':>7}")
    for s in args.schemes:
        rows = []
        for dtm in args.dt:
            t0 = time.perf_counter()
            try:
                out = run(col, s, dtm, args.t_end)
            except RuntimeError as e:
                print(f"{s:8} {dtm:7.3g}  failed: {e}")
                continue
            rows.append((dtm, out, time.perf_counter() - t0))
        ref = rows[-1][1]["P0"] if rows else 1.0
        for dtm, o, w in rows:
            print(f"{s:8} {dtm:7.3g} {o['P0'] / ref:9.4f} {o['TV']:6.2f} {o['dlnu']:7.3f} {o['steps']:6d} "
                  f"{o['fails']:5d} {w:7.2f}")


if __name__ == "__main__":
    main()
