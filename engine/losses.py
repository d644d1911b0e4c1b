"""Continuous energy losses -dE/dt of CRs in the ISM [physics spec Sec. 10].

Rates are per nucleon for nuclei (the grid is kinetic energy per nucleon) and per particle for
leptons, in GeV s^-1, positive for a loss. Static losses (Coulomb, ionisation, bremsstrahlung,
synchrotron, inverse Compton) depend only on the galaxy; adiabatic losses depend on the live
streaming speed and are added by the transport every step (:func:`adiabatic_rate`).
"""

import numpy as np

from .galaxy import F_V, N_E, N_H, F_ION, T
from .units import EV_ERG, M_E_GEV

__all__ = ["ionisation_coulomb_nucleus", "lepton_loss_rate", "static_loss_rate", "adiabatic_rate"]


def ionisation_coulomb_nucleus(Z, A, beta, galaxy):
    """Ionisation + Coulomb losses of a nucleus per nucleon, -dE_n/dt [GeV s^-1], shape (n_z, n_E)
    (Mannheim & Schlickeiser 1994, A&A 286, 983, eqs. 4.22 and 4.24).

    ionisation: 1.82e-7 eV/s Z^2 n_HI (1 + 0.0185 ln beta H(beta - 0.01)) 2 beta^2 / (1e-6 + 2 beta^3)
    Coulomb:    3.08e-7 eV/s Z^2 n_e beta^2 / (x_m^3 + beta^3),  x_m = 0.0286 (T_e / 2e6 K)^{1/2},
    summed over phases with their volume filling fractions (each phase has its own T_e).
    """
    b = np.asarray(beta)[None, :]
    ism = galaxy.ism
    fv = ism[F_V]                                                # (n_phase, n_z)
    n_HI = (fv * ism[N_H] * (1 - ism[F_ION])).sum(0)[:, None]
    ion = 1.82e-7 * n_HI * (1 + 0.0185 * np.log(b) * (b > 0.01)) * 2 * b ** 2 / (1e-6 + 2 * b ** 3)
    xm = 0.0286 * np.sqrt(ism[T] / 2e6)                          # (n_phase, n_z)
    coul = 3.08e-7 * (fv[:, :, None] * ism[N_E][:, :, None] * b[None] ** 2
                      / (xm[:, :, None] ** 3 + b[None] ** 3)).sum(0)
    return Z * Z / A * (ion + coul) * 1e-9


def lepton_loss_rate(E, galaxy):
    """Losses of e+/e-, -dE/dt [GeV s^-1], shape (n_z, n_E), E kinetic energy [GeV].

    * Coulomb + ionisation: [6.4e-16 n_e + 3.6e-16 n_HI (1 + 0.07 ln E_GeV)] GeV/s (physics spec Sec. 10 [R];
      cf. 2 pi r_e^2 m_e c^3 n ln Lambda).
    * Bremsstrahlung, ionised gas: 1.39e-16 n_e (ln 2 gamma - 1/3) E s^-1 (Blumenthal & Gould 1970, eq. 3.59);
      neutral gas (strong screening): 4 alpha r_e^2 c Z(Z+1)(ln(183 Z^{-1/3}) + 1/18) n E = 7.3e-16 n_HI E s^-1
      for H, times 1.3 for He (BG70 eq. 3.83).
    * Synchrotron + inverse Compton (Thomson): 5.2e-20 gamma (U_B + U_rad)/(eV cm^-3) E s^-1
      (4/3 sigma_T c gamma^2 U; Klein-Nishina neglected, <~15 % below 1e5 GeV).
    """
    E = np.asarray(E, dtype=float)[None, :]
    gamma = 1.0 + E / M_E_GEV
    n_e = galaxy.n_e[:, None]
    n_HI = galaxy.n_HI[:, None]
    coul = 6.4e-16 * n_e + 3.6e-16 * n_HI * (1 + 0.07 * np.log(E))
    brems = (1.39e-16 * n_e * np.maximum(np.log(2 * gamma) - 1.0 / 3.0, 0.0) + 7.3e-16 * 1.3 * n_HI) * E
    U = (galaxy.U_B + galaxy.U_rad)[:, None] / EV_ERG
    sync_ic = 5.2e-20 * gamma * U * E
    return np.maximum(coul, 0.0) + brems + sync_ic


def static_loss_rate(sp, E, beta, galaxy):
    """-dE/dt [GeV s^-1] (per nucleon for nuclei) of species ``sp`` on energies ``E``, shape (n_z, n_E)."""
    if sp.lepton:
        return lepton_loss_rate(E, galaxy)
    return ionisation_coulomb_nucleus(sp.Z, sp.A, beta, galaxy)


def adiabatic_rate(E, mass_GeV):
    """Momentum-loss factor for adiabatic losses: -dE/dt = adiabatic_rate(E, m) * div(u)/3 [GeV s^-1 per s^-1],
    i.e. p v = E (E + 2m)/(E + m) per nucleon (dp/dt = -p div(u)/3, physics spec Eq. 10)."""
    E = np.asarray(E, dtype=float)
    return E * (E + 2 * mass_GeV) / (E + mass_GeV)
