"""Damping terms Gamma(k_par, e_A, eps_cr) of gyro-resonant Alfven waves [physics spec Sec. 6, 8; Hopkins+22 Sec. 2.5, Table 2].

Each term is a short class with validated coefficients that lowers itself to a kernel code and a
float64 row (:meth:`engine.waves.Term.lower`); the switch is
:func:`engine._wave_kernels._damping_term`. Register new terms with :func:`register_damping`.
Rates are per wave energy: Q = Gamma e_A. Everywhere k_par = 1/r_g and x = e_A/e_B.
"""

import math

from . import _wave_kernels as _k
from .laws import ParamSpec
from .units import AU_CM
from .waves import Term, term_registry

__all__ = ["DampingTerm", "IonNeutral", "Dust", "NonlinearLandau", "TurbulentGS95", "CascadeK41",
           "CascadeKraichnan", "NewDamping", "DAMPING_TERMS", "register_damping"]

DAMPING_TERMS = {}
#: class decorator: register a DampingTerm subclass in DAMPING_TERMS under ``cls.name``
register_damping = term_registry(DAMPING_TERMS)


class DampingTerm(Term):
    """Base class of damping terms (Gamma [s^-1], Q = Gamma e_A)."""

    kind = "damping"


@register_damping
class IonNeutral(DampingTerm):
    """Ion-neutral damping [physics spec Sec. 6; H22 Sec. 2.5, Table 2].

    Gamma_in = (alpha_iH + alpha_iHe)/(2 rho_i) ~ C f_neutral T_1000^{1/2} rho_-24,  C = 1e-9 s^-1;
    (xi_k, xi_A, xi_cr) = (0, 0, 0). rho is the total gas density of the phase, f_neutral = 1 - f_ion.

    Notes
    -----
    The GIZMO form 5.77e-11 n (0.97 x_HI + 0.03 x_HeI) T^{1/2} s^-1 agrees within ~30 % [R].
    """

    name = "ion_neutral"
    code = _k.D_ION_NEUTRAL
    exponents = (0.0, 0.0, 0.0)
    COEFFS = {"C": ParamSpec(1e-9, 0.0, 1e-6, "s^-1", "rate at f_neutral T_1000^1/2 rho_-24 = 1")}

    def _row(self):
        return [self.C]


@register_damping
class Dust(DampingTerm):
    """Charged-dust damping [physics spec Sec. 6, Sec. 15 item 2; H22 Sec. 2.5 after Squire+21].

    Gamma_dust = C k_par v_A,eff f_dg (k_par/k_d)^{-xi_d},  C = 0.02,
    k_d = k_d0 n_1^{1/2} psi_d, k_d0 = 7.4e-11 cm^-1, psi_d ~ 1.

    ``convention`` fixes the spec's ambiguity (Sec. 15 item 2):

    * ``"text"`` (default, H22 text): xi_d = 1/4 for k < k_d (R >~ 4 MV B_uG, most CRs; Gamma ~ k^{3/4})
      and 1/2 for k > k_d (Gamma ~ k^{1/2});
    * ``"code"`` (GIZMO [R]): the two exponents swapped (k^{3/4} at low R, k^{1/2} above).

    Explicit ``xi_low_k`` / ``xi_high_k`` override the convention. The dust-to-gas ratio f_dg comes from
    the ISM (already scaled by metallicity). (xi_k, xi_A, xi_cr) = (0.5 -> 0.75, 0, 0).
    """

    name = "dust"
    code = _k.D_DUST
    exponents = (0.75, 0.0, 0.0)
    COEFFS = {
        "C": ParamSpec(0.02, 0.0, 10.0, "", "normalisation"),
        "k_d0": ParamSpec(7.4e-11, 1e-15, 1e-5, "cm^-1", "k_d at n = 1 cm^-3, psi_d = 1"),
        "psi_d": ParamSpec(1.0, 1e-3, 1e3, "", "grain property factor psi_d"),
        "xi_low_k": ParamSpec(-1.0, -1.0, 1.0, "", "xi_d for k < k_d (-1: from convention)"),
        "xi_high_k": ParamSpec(-1.0, -1.0, 1.0, "", "xi_d for k > k_d (-1: from convention)"),
    }
    OPTIONS = {"convention": ("text", ("text", "code"))}

    @property
    def xi_d(self):
        """(xi_d for k < k_d, xi_d for k > k_d) actually used."""
        lo, hi = (0.25, 0.5) if self.convention == "text" else (0.5, 0.25)
        return (self.xi_low_k if self.xi_low_k >= 0 else lo, self.xi_high_k if self.xi_high_k >= 0 else hi)

    def _row(self):
        lo, hi = self.xi_d
        return [self.C, self.k_d0, self.psi_d, lo, hi]


@register_damping
class NonlinearLandau(DampingTerm):
    """Non-linear Landau damping [physics spec Sec. 6; H22 Sec. 2.5, Table 2].

    Gamma_nll = Gamma0_nll e_A/e_B,  Gamma0_nll = C c_s k_par,  C = sqrt(pi)/8;
    (xi_k, xi_A, xi_cr) = (1, 1, 0). Applied to the total e_A (the closure of H22 App. A3/B3).
    """

    name = "nonlinear_landau"
    code = _k.D_NLL
    exponents = (1.0, 1.0, 0.0)
    COEFFS = {"C": ParamSpec(math.sqrt(math.pi) / 8.0, 0.0, 1e6, "", "Gamma0_nll/(c_s k)")}

    def _row(self):
        return [self.C]


@register_damping
class TurbulentGS95(DampingTerm):
    """Turbulent + linear Landau damping, GS95 anisotropic cascade [physics spec Sec. 6, 10; H22 Sec. 2.5].

    Gamma_turb/LL = C [(v_A,ideal + c_cs c_s)/l_A] (k_par l_A)^{xi_t},  C = 1, c_cs = 0.4, xi_t = 1/2
    (0.4 for modified alignment / intermittency, H22 Sec. 4.4.1); (xi_k, xi_A, xi_cr) = (xi_t, 0, 0).
    """

    name = "turbulent"
    code = _k.D_TURB
    exponents = (0.5, 0.0, 0.0)
    COEFFS = {
        "C": ParamSpec(1.0, 0.0, 1e3, "", "normalisation"),
        "xi_t": ParamSpec(0.5, 0.0, 1.0, "", "k exponent xi_k of the cascade rate"),
        "c_cs": ParamSpec(0.4, 0.0, 10.0, "", "weight of c_s (linear Landau)"),
    }

    def _row(self):
        return [self.C, self.xi_t, self.c_cs]


@register_damping
class CascadeK41(DampingTerm):
    """Isotropic K41 cascade acting on the resonant modes ("naive" ET) [physics spec Sec. 7; H22 Sec. 2.7].

    Gamma_K41 ~ k |delta v(k)| with delta v(k)^2 = v_A,ideal^2 e_A/e_B, i.e.
    Gamma = C k_par v_A,ideal (e_A/e_B)^{1/2}; (xi_k, xi_A, xi_cr) = (1, 1/2, 0).
    With the constant cascade source (:class:`engine.driving.ExtrinsicIsotropic`) e_A = e_B (k l_A)^{-2/3}.
    """

    name = "cascade_k41"
    code = _k.D_CASCADE
    exponents = (1.0, 0.5, 0.0)
    COEFFS = {"C": ParamSpec(1.0, 1e-6, 1e6, "", "normalisation")}

    def _row(self):
        return [self.C, 0.5]


@register_damping
class CascadeKraichnan(DampingTerm):
    """Isotropic Kraichnan / IK cascade ("naive" ET) [physics spec Sec. 7; H22 Sec. 2.7, 3.2].

    Gamma_IK ~ k delta v(k)^2 / v_A = C k_par v_A,ideal e_A/e_B; (xi_k, xi_A, xi_cr) = (1, 1, 0).
    With the constant cascade source e_A = e_B (k l_A)^{-1/2} and delta_s = 1/2.
    """

    name = "cascade_kraichnan"
    code = _k.D_CASCADE
    exponents = (1.0, 1.0, 0.0)
    COEFFS = {"C": ParamSpec(1.0, 1e-6, 1e6, "", "normalisation")}

    def _row(self):
        return [self.C, 1.0]


@register_damping
class NewDamping(DampingTerm):
    """Proposed new damping / generic power-law damping [physics spec Sec. 6, 8 [S]; H22 Sec. 3.5.1, Table 2].

    Gamma_new = A_Gamma (v_A,ideal/l_A) (k_par/k_0)^{xi_k} (e_A/e_B)^{xi_A} (eps_cr/e_B)^{xi_cr},

    with the pivot k_0 = 1/l_A (``pivot="l_A"``, H22 Sec. 3.5.1 / 5.2 form) or 1/au (``pivot="au"``,
    Eq. 13 form; better conditioned over wide xi_k ranges). H22's Fig. 5 case is xi_k = 1/4, xi_A = 0,
    xi_cr = 1 (physics spec Sec. 15 item 5: the 1/l_A factor is included).
    """

    name = "new_damping"
    code = _k.D_NEW
    COEFFS = {
        "A": ParamSpec(1.0, 0.0, 1e20, "", "A_Gamma"),
        "xi_k": ParamSpec(0.25, -2.0, 3.0, "", "k exponent"),
        "xi_A": ParamSpec(0.0, -1.0, 5.0, "", "e_A exponent"),
        "xi_cr": ParamSpec(1.0, 0.0, 2.0, "", "eps_cr exponent"),
    }
    OPTIONS = {"pivot": ("l_A", ("l_A", "au"))}

    @property
    def exponents(self):
        return (self.xi_k, self.xi_A, self.xi_cr)

    def _row(self):
        k0 = 1.0 / AU_CM if self.pivot == "au" else 0.0
        return [self.A, self.xi_k, self.xi_A, self.xi_cr, k0]
