"""Physical constants and unit conversions (cgs inside the engine; GV, GeV, kpc, Myr at the edges)."""

import math

__all__ = [
    "C_LIGHT", "M_P_GEV", "M_E_GEV", "M_P_G", "M_U_GEV", "GEV_ERG", "EV_ERG", "KPC_CM", "PC_CM",
    "AU_CM", "MYR_S", "YR_S", "KM_S", "MB_CM2", "K_B", "MICROGAUSS", "M2_CM2",
]

C_LIGHT = 2.99792458e10          # speed of light [cm s^-1]
M_P_GEV = 0.93827208816          # proton rest energy [GeV]
M_U_GEV = 0.93149410242          # atomic mass unit [GeV]; nucleus rest energy ~ A * M_U_GEV
M_E_GEV = 0.51099895e-3          # electron rest energy [GeV]
M_P_G = 1.67262192e-24           # proton mass [g]
GEV_ERG = 1.602176634e-3         # 1 GeV in erg
EV_ERG = 1.602176634e-12         # 1 eV in erg
PC_CM = 3.0856775814913673e18    # parsec [cm]
KPC_CM = 1e3 * PC_CM             # kiloparsec [cm]
AU_CM = 1.495978707e13           # astronomical unit [cm]
YR_S = 3.15576e7                 # Julian year [s]
MYR_S = 1e6 * YR_S               # megayear [s]
KM_S = 1e5                       # 1 km/s in [cm s^-1]
MB_CM2 = 1e-27                   # millibarn [cm^2]
K_B = 1.380649e-16               # Boltzmann constant [erg K^-1]
MICROGAUSS = 1e-6                # 1 microgauss in [G]
M2_CM2 = 1e4                     # 1 m^2 in [cm^2]
ERG_PER_SN = 1e51                # canonical supernova kinetic energy [erg]
LN2 = math.log(2.0)
