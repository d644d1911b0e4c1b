"""Driving terms against physics spec Sec. 7 / H22 Sec. 2.6-2.7, 3.5.2 (expected values computed here)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from engine import galaxy as G
from engine.damping import TurbulentGS95
from engine.driving import (DRIVING_TERMS, ExtrinsicGS95, ExtrinsicIsotropic, ExtrinsicYL04, NewSource,
                            SelfConfinement)
from engine.errors import ConfigError
from engine.units import AU_CM, C_LIGHT, KM_S, PC_CM
from engine.waves import RG_CM_PER_GV_G, WaveBalance, term_rate

from test_damping import ism_cell

RTOL_EXACT = 1e-10   # same closed form, floating point only
RTOL_PAPER = 0.1     # "alpha_t ~ 4e-3", "~0.005": one significant digit in the spec


def rate(term, ism, R, x=0.0, eps=0.0, dPdz=0.0):
    return term_rate(term, ism, R, x=x, eps_cr=eps, dPdz=dPdz)[0, 0]


def e_B(B_uG=5.0):
    return (B_uG * 1e-6) ** 2 / (8 * math.pi)


@pytest.mark.parametrize("name", sorted(DRIVING_TERMS))
def test_every_registered_term_lowers_and_is_finite(name):
    term = DRIVING_TERMS[name]()
    code, row = term.lower()
    assert isinstance(code, int) and row.shape == (8,)
    R = np.logspace(-2, 4, 13)
    for ism in (ism_cell(), ism_cell(n=30, T=100, f_ion=1e-3), ism_cell(n=3e-3, T=1.5e6, f_ion=1.0, f_dg=1e-4)):
        s = rate(term, ism, R, x=1e-6, eps=1e-12, dPdz=-1e-33)
        assert np.all(np.isfinite(s)) and np.all(s >= 0)


def test_self_confinement_is_vA_eff_half_gradient():
    # S_sc -> v_A,eff |b.grad P'|, |b.grad P'| ~ |grad P'|/2 (physics spec Sec. 2, 5)
    ism = ism_cell(f_ion=1.0)
    vA = ism[G.VA_IDEAL, 0, 0]
    for g in (-3e-33, 3e-33):
        s = rate(SelfConfinement(), ism, [1.0, 100.0], x=1e-5, dPdz=g)
        assert s * e_B() == pytest.approx(0.5 * vA * 3e-33 * np.ones(2), rel=RTOL_EXACT)
    assert rate(SelfConfinement(A=0.01), ism, [1.0], dPdz=1e-33)[0] == pytest.approx(
        0.01 * rate(SelfConfinement(), ism, [1.0], dPdz=1e-33)[0], rel=RTOL_EXACT)


def test_chandran_alpha_t_value():
    # alpha_t = 7 (v_A,eff/v) ln(k l_A) ~ 4e-3 at v_A = 10 km/s and 1 GV (physics spec Sec. 7 [D])
    B_uG = 1.0
    ism = ism_cell(n=1.0, f_ion=1.0, B_uG=B_uG, l_A_pc=30.0)
    ism[G.VA_IDEAL] = 10 * KM_S   # pin v_A to the quoted value
    lA = 30 * PC_CM
    k = B_uG * 1e-6 / (RG_CM_PER_GV_G * 1.0)
    gt = rate(TurbulentGS95(), ism, [1.0])[0]
    alpha = rate(ExtrinsicGS95(), ism, [1.0])[0] * (k * lA) / gt
    assert alpha == pytest.approx(7 * 10 * KM_S / C_LIGHT * math.log(k * lA), rel=RTOL_EXACT)
    assert alpha == pytest.approx(4e-3, rel=RTOL_PAPER)
    fixed = rate(ExtrinsicGS95(alpha_fixed=1.0), ism, [1.0])[0] * (k * lA) / gt
    assert fixed == pytest.approx(1.0, rel=RTOL_EXACT)


def test_isotropic_cascade_source():
    ism = ism_cell(f_ion=1.0, l_A_pc=10.0)
    s = rate(ExtrinsicIsotropic(), ism, [0.1, 10.0])
    assert s == pytest.approx(ism[G.VA_IDEAL, 0, 0] / (10 * PC_CM) * np.ones(2), rel=RTOL_EXACT)


def test_yl04_gives_prescribed_nu_with_turbulent_damping_and_cuts_off_at_high_beta():
    # nu_s ~ c/(3 l_A f_turb) (physics spec Sec. 7): low-beta, fully ionised hot gas
    ism = ism_cell(n=1e-3, T=1e5, f_ion=1.0, B_uG=5.0, l_A_pc=100.0)
    vA, cs, lA, MA = (ism[r, 0, 0] for r in (G.VA_IDEAL, G.CS, G.L_A, G.M_A))
    assert vA > cs
    R = np.array([1.0, 10.0, 100.0])
    wb = WaveBalance([TurbulentGS95()], [ExtrinsicYL04()]).bind(SimpleNamespace(ism=ism), R)
    nuob, vst, x, flag = wb.solve_arrays(np.zeros((1, 3)), np.zeros((1, 3)))
    k = 5e-6 / (RG_CM_PER_GV_G * R)
    T4, n = 10.0, 1e-3
    nu_v = 0.6e18 * T4 ** 2.5 / n
    f_turb = np.minimum(0.04 * cs / vA, MA * (nu_v / (vA * lA)) ** (1 / 3) * (k * lA) ** (1 / 6))
    assert nuob[0] == pytest.approx(C_LIGHT / (3 * lA * f_turb), rel=1e-8)
    # beta_pl > 1 (v_A < c_s) cuts the fast modes off, unless forced (H22 Fig. 4)
    hot = ism_cell(n=1e-2, T=1e7, f_ion=1.0, B_uG=1.0)
    assert hot[G.VA_IDEAL, 0, 0] < hot[G.CS, 0, 0]
    assert np.all(rate(ExtrinsicYL04(), hot, R) == 0.0)
    assert np.all(rate(ExtrinsicYL04(force=1.0), hot, R) > 0.0)
    # a neutral fraction above the threshold cuts it off too
    wnm = ism_cell(n=0.5, T=8000.0, f_ion=0.05, B_uG=20.0)
    assert wnm[G.VA_IDEAL, 0, 0] > wnm[G.CS, 0, 0]
    assert np.all(rate(ExtrinsicYL04(), wnm, R) == 0.0)


def test_new_source_fig6_linear_form():
    # Psi_new = 1e-12 s^-1 (k au)^{2/3} (1 + M_A)(v_fast/10 km/s), S = Psi e_A
    ism = ism_cell(n=0.2, f_ion=1.0)
    vA, cs, MA = (ism[r, 0, 0] for r in (G.VA_IDEAL, G.CS, G.M_A))
    R = np.array([1.0, 10.0])
    k = 5e-6 / (RG_CM_PER_GV_G * R)
    t = NewSource(A=1e-12, zeta_k=2 / 3, zeta_A=1.0, rate="per_s", pivot="au", f_ism="fig6")
    psi = 1e-12 * (k * AU_CM) ** (2 / 3) * (1 + MA) * math.hypot(vA, cs) / (10 * KM_S)
    x = 3e-7
    assert rate(t, ism, R, x=x) == pytest.approx(psi * x, rel=RTOL_EXACT)


def test_new_source_fig7_external_form():
    # S = (v_A/0.007c)(v_A/l_A)(k l_A)^{-1/6} e_B, i.e. ~0.005 (v_A/l_A) e_B (k l_A)^{-1/6} at 10 km/s
    ism = ism_cell(n=1.0, f_ion=1.0, l_A_pc=10.0)
    ism[G.VA_IDEAL] = 10 * KM_S
    lA = 10 * PC_CM
    R = np.array([1.0, 30.0])
    k = 5e-6 / (RG_CM_PER_GV_G * R)
    t = NewSource(A=1.0, zeta_k=-1 / 6, pivot="l_A", f_ism="fig7")
    s = rate(t, ism, R)
    assert s == pytest.approx(10 * KM_S / (0.007 * C_LIGHT) * 10 * KM_S / lA * (k * lA) ** (-1 / 6), rel=RTOL_EXACT)
    assert s / (10 * KM_S / lA * (k * lA) ** (-1 / 6)) == pytest.approx(0.005, rel=RTOL_PAPER)


def test_new_source_generic_cr_dependence():
    ism = ism_cell(f_ion=1.0, l_A_pc=10.0)
    vA, lA = ism[G.VA_IDEAL, 0, 0], 10 * PC_CM
    R = np.array([1.0])
    k = 5e-6 / (RG_CM_PER_GV_G * R)
    t = NewSource(A=2.0, zeta_k=0.3, zeta_A=0.5, zeta_cr=1.0)
    s = rate(t, ism, R, x=1e-6, eps=0.5 * e_B())
    assert s == pytest.approx(2.0 * vA / lA * (k * AU_CM) ** 0.3 * 1e-3 * 0.5, rel=1e-9)


def test_bad_driving_parameters():
    with pytest.raises(ConfigError, match=r"driving\.et_yl04\.force = 0\.5 .*expected 0 or 1"):
        ExtrinsicYL04(force=0.5)
    with pytest.raises(ConfigError, match=r"driving\.self_confinement\.A = nan .*expected 0\.0 <= A <= 1000\.0"):
        SelfConfinement(A=float("nan"))
    with pytest.raises(ConfigError, match=r"driving\.new_source\.pivot"):
        NewSource(pivot="pc")
