"""Driving terms S(k_par, e_A, eps_cr) of gyro-resonant Alfven waves [physics spec Sec. 7, 8; Hopkins+22 Sec. 2.6-2.7, 3.5.2, Eq. 9, 13].

Same plug-in pattern as :mod:`engine.damping`: each class lowers to a kernel code and a float64
row; the switch is :func:`engine._wave_kernels._driving_term`. Register new terms with
:func:`register_driving`. Rates are energy injection per volume S [erg cm^-3 s^-1]; the kernels
carry S/e_B [s^-1]. Everywhere k_par = 1/r_g and x = e_A/e_B.
"""

from . import _wave_kernels as _k
from .laws import ParamSpec
from .units import AU_CM
from .waves import Term, term_registry

__all__ = ["DrivingTerm", "SelfConfinement", "ExtrinsicGS95", "ExtrinsicIsotropic", "ExtrinsicYL04",
           "NewSource", "DRIVING_TERMS", "register_driving"]

DRIVING_TERMS = {}
#: class decorator: register a DrivingTerm subclass in DRIVING_TERMS under ``cls.name``
register_driving = term_registry(DRIVING_TERMS)


class DrivingTerm(Term):
    """Base class of driving terms (S [erg cm^-3 s^-1])."""

    kind = "driving"


@register_driving
class SelfConfinement(DrivingTerm):
    """Self-confinement (streaming instability) driving [physics spec Sec. 5, 7; H22 Eq. 9, Sec. 2.6].

    In local flux steady state S_sc -> v_A,eff |b.grad P'|; only the wave running down the gradient
    is driven. With tangled fields |b.grad P'| ~ |grad P'|/2 (physics spec Sec. 2 [S]):

        S_sc = A (v_A,eff/2) |dP'/dz|,

    with P' the CR pressure per ln R summed over all species at the same rigidity (the transport
    passes dP'/dz). (zeta_k, zeta_A, zeta_cr) = (0, 0, 1). ``A`` rescales S_sc (H22 Fig. 6 uses 0.01).
    The O(v_A^2/c^2) diffusive-reacceleration term of H22 App. B (h~) is neglected.
    """

    name = "self_confinement"
    code = _k.S_SC
    exponents = (0.0, 0.0, 1.0)
    COEFFS = {"A": ParamSpec(1.0, 0.0, 1e3, "", "multiplier of S_sc")}

    def _row(self):
        return [self.A]


@register_driving
class ExtrinsicGS95(DrivingTerm):
    """Extrinsic turbulence, anisotropic GS95 / critical balance [physics spec Sec. 7, 10; H22 Sec. 2.7].

    S_et = alpha_t e_B Gamma_turb (k_par l_A)^{-1},  Gamma_turb = [(v_A,ideal + c_cs c_s)/l_A](k_par l_A)^{xi_t},
    alpha_t = mult * C_alpha (v_A,eff/v) ln(k_par l_A)  (Chandran 2000; C_alpha = 7, v = c; the log is
    floored at 1) or, if ``alpha_fixed`` > 0, alpha_t = mult * alpha_fixed.
    (zeta_k, zeta_A, zeta_cr) = (xi_t - 1, 0, 0): delta_s <= 0 for damping as steep as Gamma_turb
    (exactly 0 with fixed alpha_t and Gamma_turb alone; the Chandran log adds +1/ln(k l_A) ~ 0.06).
    """

    name = "et_gs95"
    code = _k.S_ET_GS95
    exponents = (-0.5, 0.0, 0.0)
    COEFFS = {
        "C_alpha": ParamSpec(7.0, 0.0, 1e3, "", "Chandran prefactor of alpha_t"),
        "mult": ParamSpec(1.0, 0.0, 1e9, "", "multiplier of alpha_t (H22 Fig. 4: 1e3-1e6)"),
        "alpha_fixed": ParamSpec(0.0, 0.0, 10.0, "", "fixed alpha_t (0: Chandran form)"),
        "C_turb": ParamSpec(1.0, 0.0, 1e3, "", "normalisation of Gamma_turb"),
        "xi_t": ParamSpec(0.5, 0.0, 1.0, "", "k exponent of Gamma_turb"),
        "c_cs": ParamSpec(0.4, 0.0, 10.0, "", "weight of c_s in Gamma_turb"),
    }

    def _row(self):
        return [self.C_alpha, self.mult, self.alpha_fixed, self.C_turb, self.xi_t, self.c_cs]


@register_driving
class ExtrinsicIsotropic(DrivingTerm):
    """Isotropic ("naive") extrinsic cascade source [physics spec Sec. 7; H22 Sec. 2.7, 3.2].

    S_et = A e_B v_A,ideal/l_A: the scale-independent cascade rate rho delta v^3/(2 l_A) with
    delta v = v_A,ideal at l_A. Pair it with :class:`engine.damping.CascadeK41` (e_A = e_B (k l_A)^{-2/3},
    delta_s = 1/3) or :class:`engine.damping.CascadeKraichnan` (e_A = e_B (k l_A)^{-1/2}, delta_s = 1/2).
    (zeta_k, zeta_A, zeta_cr) = (0, 0, 0).
    """

    name = "et_isotropic"
    code = _k.S_ET_ISO
    exponents = (0.0, 0.0, 0.0)
    COEFFS = {"A": ParamSpec(1.0, 0.0, 1e6, "", "multiplier of the cascade rate")}

    def _row(self):
        return [self.A]


@register_driving
class ExtrinsicYL04(DrivingTerm):
    """Fast-mode extrinsic turbulence with dissipation, Yan & Lazarian 2004 [physics spec Sec. 7; H22 Sec. 2.7, 5.1.2].

    Simulation approximation nu_s ~ c/(3 l_A f_turb), f_turb ~ min[0.04 c_s/v_A,ideal,
    M_A (nu_v/(v_A,ideal l_A))^{1/3} (k l_A)^{1/6}], written as a source balanced by Gamma_turb:

        S_yl = A e_B Gamma_turb x_YL,  x_YL = (16/9 pi)/(k l_A f_turb),

    so that Gamma_turb alone gives exactly nu_s = c/(3 l_A f_turb) (Eq. 6). nu_v = f_ion nu_ion +
    (1 - f_ion) nu_neutral with nu_ion = 0.6e18 T_4^{5/2}/n_1 and nu_neutral = 3e20 T_4^{1/2}/n_1 cm^2/s.
    The source is switched off (the "super-exponential cut-off") where beta_pl > 1 (v_A,ideal <= c_s) or
    f_neutral > f_crit_coef (v_A,ideal^2/(n_1 c_s^2))^{3/4} (c_s/10 km/s)^{1/4} (kpc/(R_GV l_A))^{1/2},
    unless ``force`` = 1 (H22 Fig. 4 "forced to beta_pl < 1").
    """

    name = "et_yl04"
    code = _k.S_YL04
    exponents = (-0.5, 0.0, 0.0)
    COEFFS = {
        "A": ParamSpec(1.0, 0.0, 1e6, "", "multiplier"),
        "force": ParamSpec(0.0, 0.0, 1.0, "", "1: ignore the beta_pl / neutral-fraction cut-offs"),
        "C_turb": ParamSpec(1.0, 0.0, 1e3, "", "normalisation of Gamma_turb"),
        "xi_t": ParamSpec(0.5, 0.0, 1.0, "", "k exponent of Gamma_turb"),
        "c_cs": ParamSpec(0.4, 0.0, 10.0, "", "weight of c_s in Gamma_turb"),
        "f_crit_coef": ParamSpec(1e-3, 0.0, 1.0, "", "neutral-fraction threshold prefactor"),
    }

    def __init__(self, **kw):
        super().__init__(**kw)
        if self.force not in (0.0, 1.0):
            from .errors import ConfigError
            raise ConfigError(f"driving.et_yl04.force = {self.force!r} is out of range: expected 0 or 1")

    def _row(self):
        return [self.A, self.force, self.C_turb, self.xi_t, self.c_cs, self.f_crit_coef]


@register_driving
class NewSource(DrivingTerm):
    """Proposed new wave source / generic power-law source [physics spec Sec. 7, 8 [S]; H22 Sec. 3.5.2, 5.3, Eq. 13].

    S_new = A rate e_B (k_par/k_0)^{zeta_k} (e_A/e_B)^{zeta_A} (eps_cr/e_B)^{zeta_cr} f_ISM

    * ``rate = "vA_lA"``: v_A,ideal/l_A (physics spec Sec. 8 pivots); ``"per_s"``: 1 s^-1 (Eq. 13 / Fig. 6).
    * ``pivot``: k_0 = 1/au (Eq. 13, default) or 1/l_A (Fig. 7) (physics spec Sec. 15 item 6).
    * ``f_ism``: ``"none"``; ``"fig6"`` = (1 + M_A)(v_fast/10 km/s), v_fast = (v_A,ideal^2 + c_s^2)^{1/2};
      ``"fig7"`` = v_A,ideal/(0.007 c).

    H22 Fig. 6 (linear): A = 1e-12, rate per_s, pivot au, f_ism fig6, zeta_k = 2/3, zeta_A = 1.
    H22 Fig. 7 (external): A = 1, rate vA_lA, pivot l_A, f_ism fig7, zeta_k = -1/6, zeta_A = 0.
    The source is unpolarised (drives both directions), so it does not add streaming.
    """

    name = "new_source"
    code = _k.S_NEW
    COEFFS = {
        "A": ParamSpec(1.0, 0.0, 1e20, "", "A_S"),
        "zeta_k": ParamSpec(0.0, -3.0, 3.0, "", "k exponent"),
        "zeta_A": ParamSpec(0.0, 0.0, 3.0, "", "e_A exponent"),
        "zeta_cr": ParamSpec(0.0, 0.0, 2.0, "", "eps_cr exponent"),
    }
    OPTIONS = {"pivot": ("au", ("au", "l_A")), "rate": ("vA_lA", ("vA_lA", "per_s")),
               "f_ism": ("none", ("none", "fig6", "fig7"))}

    @property
    def exponents(self):
        return (self.zeta_k, self.zeta_A, self.zeta_cr)

    def _row(self):
        k0 = 1.0 / AU_CM if self.pivot == "au" else 0.0
        rate = 0.0 if self.rate == "vA_lA" else 1.0
        fism = {"none": 0.0, "fig6": 1.0, "fig7": 2.0}[self.f_ism]
        return [self.A, self.zeta_k, self.zeta_A, self.zeta_cr, k0, rate, fism]
