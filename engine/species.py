"""CR species, their kinematics on the energy grid, and injection parameters [physics spec Sec. 10]."""

from dataclasses import dataclass

import numpy as np

from .units import M_E_GEV, M_U_GEV, M_P_GEV

__all__ = ["Species", "SPECIES", "SPECIES_NAMES", "SOLVE_ORDER", "INJECTION_PARAMS", "kinematics",
           "species_index"]


@dataclass(frozen=True)
class Species:
    """A CR species.

    Attributes
    ----------
    name : str, e.g. "p", "10Be", "e+".
    Z : charge number (absolute value; rigidity R = p c / (|Z| e)).
    A : mass number (1 for pbar; 10.8 for B = 10B + 11B at the solar-system ratio).
    mass_GeV : rest energy per nucleon [GeV] (per particle for leptons).
    lepton : True for e-, e+ (energy grid = kinetic energy), False for nuclei (kinetic energy per nucleon).
    primary : injected by sources.
    half_life_myr : rest-frame half-life [Myr] (0 = stable).
    """

    name: str
    Z: int
    A: float
    mass_GeV: float
    lepton: bool = False
    primary: bool = True
    half_life_myr: float = 0.0


_M_N = M_U_GEV
SPECIES = (
    Species("p", 1, 1.0, M_P_GEV),
    Species("He", 2, 4.0, _M_N),
    Species("C", 6, 12.0, _M_N),
    Species("N", 7, 14.0, _M_N),
    Species("O", 8, 16.0, _M_N),
    Species("B", 5, 10.8, _M_N, primary=False),
    Species("7Be", 4, 7.0, _M_N, primary=False),   # 7Be decays only by electron capture: stable when stripped
    Species("9Be", 4, 9.0, _M_N, primary=False),
    Species("10Be", 4, 10.0, _M_N, primary=False, half_life_myr=1.39),  # Chmeleff+10 / Korschinek+10
    Species("pbar", 1, 1.0, M_P_GEV, primary=False),
    Species("e-", 1, 1.0, M_E_GEV, lepton=True),
    Species("e+", 1, 1.0, M_E_GEV, lepton=True, primary=False),
)
SPECIES_NAMES = tuple(s.name for s in SPECIES)

# Solve order of the implicit sweep: every parent (spallation, decay, pair/pbar production) is solved
# before its products, except 10Be -> B (decay), which is lagged by one step.
SOLVE_ORDER = tuple(SPECIES_NAMES.index(n) for n in
                    ("He", "O", "N", "C", "B", "10Be", "9Be", "7Be", "p", "pbar", "e-", "e+"))


def species_index(name):
    """Index of species ``name`` in SPECIES (ConfigError if unknown)."""
    from .errors import check_choice
    check_choice("species", name, SPECIES_NAMES)
    return SPECIES_NAMES.index(name)


def kinematics(sp: Species, E):
    """Kinematics of ``sp`` on the energy grid ``E`` [GeV (per nucleon for nuclei)].

    Returns dict with beta, gamma, p (momentum per nucleon, or per particle for leptons) [GeV/c],
    R (rigidity [GV] = A p / Z), dE_dR (dE/dR, [GeV per GV]), E_total_kin (kinetic energy per particle [GeV]).
    """
    m = sp.mass_GeV
    E = np.asarray(E, dtype=float)
    gamma = 1.0 + E / m
    beta = np.sqrt(1.0 - 1.0 / gamma ** 2)
    p = np.sqrt(E * (E + 2 * m))
    R = sp.A * p / sp.Z
    dE_dR = beta * sp.Z / sp.A          # dE_kn = beta dp_n, R = (A/Z) p_n
    return {"beta": beta, "gamma": gamma, "p": p, "R": R, "dE_dR": dE_dR, "E_total_kin": sp.A * E}


# Injection and source parameters (engine.solve params), with defaults and ranges [physics spec Sec. 10-11].
# Source abundances are number ratios to protons at equal rigidity.
INJECTION_PARAMS = {
    "eps_inj": (0.25, 1e-4, 1.0, "", "fraction of SN kinetic energy given to CR nuclei (calibrated: README)"),
    "lepton_fraction": (0.11, 0.0, 1.0, "", "lepton energy / nuclear CR energy at injection (calibrated: README)"),
    "inj_slope": (2.2, 1.5, 3.5, "", "nuclear injection dN/dR ~ R^-inj_slope (f ~ p^-4.2 -> 2.2, H22 Sec. 4.2)"),
    "inj_slope_e": (2.2, 1.5, 3.5, "", "electron injection dN/dR ~ R^-inj_slope_e"),
    "src_He": (0.25, 0.0, 1.0, "", "He/p at equal rigidity at the source"),
    "src_C": (9.7e-3, 0.0, 0.1, "", "C/p at equal rigidity at the source"),
    "src_N": (1.2e-3, 0.0, 0.1, "", "N/p at equal rigidity at the source"),
    "src_O": (1.2e-2, 0.0, 0.1, "", "O/p at equal rigidity at the source"),
}
