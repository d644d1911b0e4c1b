"""Observables at the Sun: intensities, ratios and force-field solar modulation [physics spec Sec. 12].

Intensity J = v/(4 pi) dn/dE (physics spec Sec. 12), reported per m^2 s sr and per GeV/n (nuclei,
kinetic energy per nucleon), per GeV (leptons) or per GV (vs rigidity).
"""

import numpy as np

from .species import SPECIES, SPECIES_NAMES, kinematics
from .units import C_LIGHT, M2_CM2, M_E_GEV

__all__ = ["intensity", "force_field", "observables_from_spectra", "OBSERVABLE_NAMES", "RATIO_DEFS"]

OBSERVABLE_NAMES = ("B/C", "pbar/p", "10Be/9Be", "e+/(e+ + e-)", "p", "He", "C", "N", "O", "B", "pbar",
                    "e-", "e+")


def intensity(N_sun, E_edges):
    """Intensity J(E) [(m^2 s sr GeV)^-1, per nucleon for nuclei] of each species from the bin densities
    N_sun (n_s, n_E) [cm^-3] at the Sun: J = v n(E) / (4 pi), n(E) = N / dE."""
    dE = np.diff(E_edges)
    E = np.sqrt(E_edges[1:] * E_edges[:-1])
    out = {}
    for s, sp in enumerate(SPECIES):
        beta = kinematics(sp, E)["beta"]
        out[sp.name] = beta * C_LIGHT * N_sun[s] / dE / (4 * np.pi) * M2_CM2
    return out


def _loglog_interp(x_new, x, y):
    """Log-log interpolation of y(x) (y > 0) at x_new; zero outside the range or where y = 0."""
    good = y > 0
    if good.sum() < 2:
        return np.zeros_like(x_new)
    ly = np.interp(np.log(x_new), np.log(x[good]), np.log(y[good]), left=-np.inf, right=-np.inf)
    return np.exp(ly)


def force_field(E_kn_GeV, J_lis, Z, A, phi_GV, mass_GeV=None):
    """Force-field solar modulation (Gleeson & Axford 1968, ApJ 154, 1011).

    A particle of kinetic energy per nucleon E at Earth had E + Phi in the LIS, Phi = |Z| e phi / A [GeV/n], and
    J_toa(E) = J_lis(E + Phi) E (E + 2m) / ((E + Phi)(E + Phi + 2m)), m the rest energy per nucleon.

    Parameters
    ----------
    E_kn_GeV : (n,) kinetic energy per nucleon [GeV/n] (per particle for leptons, with A = 1)
    J_lis : (n,) LIS intensity on that grid (any unit per GeV/n)
    Z, A : charge and mass numbers; phi_GV : modulation potential [GV] (>= 0)
    mass_GeV : rest energy per nucleon [GeV]; default A-averaged nucleon mass (electron mass if A == 0)

    Returns J_toa on the same grid (log-log interpolation of J_lis; zero where E + Phi leaves the grid).
    """
    if phi_GV < 0 or not np.isfinite(phi_GV):
        from .errors import ConfigError
        raise ConfigError(f"phi_GV = {phi_GV!r} is out of range: expected 0 <= phi_GV (GV)")
    E = np.asarray(E_kn_GeV, dtype=float)
    J = np.asarray(J_lis, dtype=float)
    if phi_GV == 0:
        return J.copy()
    m = mass_GeV if mass_GeV is not None else 0.9315
    Phi = abs(Z) * phi_GV / A
    El = E + Phi
    Jl = _loglog_interp(El, E, J)
    return Jl * E * (E + 2 * m) / (El * (El + 2 * m))


RATIO_DEFS = {"B/C": ("B", "C", "R"), "pbar/p": ("pbar", "p", "R"), "10Be/9Be": ("10Be", "9Be", "Ekn"),
              "e+/(e+ + e-)": ("e+", None, "E")}


def observables_from_spectra(E, J, phi_GV=0.0):
    """Observables (name -> (x, y)) from LIS intensities J[species] on the common grid E [GeV(/n)].

    Each species is modulated with the force field (potential ``phi_GV``) before ratios are formed.
    Fluxes vs rigidity are dN/dR = J dE/dR [(m^2 s sr GV)^-1]; ratios at equal rigidity are formed by
    log-log interpolation onto the denominator's rigidity grid.
    """
    mod = {}
    R = {}
    dEdR = {}
    for sp in SPECIES:
        k = kinematics(sp, E)
        R[sp.name] = k["R"]
        dEdR[sp.name] = k["dE_dR"]
        mod[sp.name] = force_field(E, J[sp.name], sp.Z, sp.A if not sp.lepton else 1.0, phi_GV, sp.mass_GeV)
    obs = {}
    for name in ("p", "He", "C", "N", "O", "B", "pbar"):
        obs[name] = (R[name].copy(), mod[name] * dEdR[name])
    for name in ("e-", "e+"):
        obs[name] = (E.copy(), mod[name].copy())
    xC = R["C"]
    fB = _loglog_interp(xC, R["B"], mod["B"] * dEdR["B"])
    with np.errstate(divide="ignore", invalid="ignore"):
        obs["B/C"] = (xC.copy(), np.where(obs["C"][1] > 0, fB / obs["C"][1], 0.0))
        xp = R["p"]
        fpb = _loglog_interp(xp, R["pbar"], mod["pbar"] * dEdR["pbar"])
        obs["pbar/p"] = (xp.copy(), np.where(obs["p"][1] > 0, fpb / obs["p"][1], 0.0))
        obs["10Be/9Be"] = (E.copy(), np.where(mod["9Be"] > 0, mod["10Be"] / mod["9Be"], 0.0))
        tot = mod["e+"] + mod["e-"]
        obs["e+/(e+ + e-)"] = (E.copy(), np.where(tot > 0, mod["e+"] / tot, 0.0))
    return {k: obs[k] for k in OBSERVABLE_NAMES}
