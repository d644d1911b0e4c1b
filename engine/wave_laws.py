"""Live scattering laws: nu_s from the local wave balance S = Q, and the H22 presets
[physics spec Sec. 4-10, 14; Hopkins+22 Sec. 2-5, Table 2, Figs 2-7].

A :class:`WaveLaw` is a named set of damping and driving terms whose coefficients depend on the
law's parameters (``PARAMS``, validated ranges). ``bind`` lowers the terms once into static tables
(:class:`engine.waves.WaveBalance`); ``evaluate`` is one numba call per transport step. Every preset
registers itself with :func:`engine.laws.register_law`, so ``engine.laws.make_law(name, params)``
finds it.
"""

from .damping import (CascadeK41, CascadeKraichnan, Dust, IonNeutral, NewDamping, NonlinearLandau,
                      TurbulentGS95)
from .driving import ExtrinsicGS95, ExtrinsicIsotropic, ExtrinsicYL04, NewSource, SelfConfinement
from .errors import check_choice
from .laws import ParamSpec, ScatteringLaw, register_law
from .waves import WaveBalance

__all__ = ["WaveLaw", "SCReference", "SCOnly", "ETGS95", "ETYL04", "ETYL04Cutoff", "ETK41", "ETKraichnan",
           "NewDampingLaw", "NewDampingPlusStandard", "NewLinear", "NewExternal", "GenericLaw", "WAVE_LAWS"]

WAVE_LAWS = {}


def _register(cls):
    WAVE_LAWS[cls.name] = cls
    return register_law(cls)


# parameters shared by several presets
LOG10_F_SC = ParamSpec(0.0, -3.0, 1.0, "dex", "log10 of the multiplier A of S_sc (H22 Sec. 5.1.1, 5.3)")
LOG10_ALPHA_T = ParamSpec(0.0, -3.0, 6.0, "dex",
                          "log10 multiplier of Chandran's alpha_t (H22 Fig. 4 'anisotropic' runs: ~2.5-6)")
XI_TURB = ParamSpec(0.5, 0.4, 0.5, "", "k exponent of Gamma_turb/LL (Table 2: 0.4-0.5)")


class WaveLaw(ScatteringLaw):
    """Base of live laws: subclasses set ``name``, ``PARAMS`` and fill :meth:`terms`.

    Options (not survey parameters, keyword arguments of the constructor):

    * ``dust_convention``: ``"text"`` (default) or ``"code"`` (physics spec Sec. 15 item 2);
    * ``x_cap``, ``mfp_floor_kpc``, ``free_mfp_fraction``, ``grad_length``: see :class:`engine.waves.WaveBalance`
      (``grad_length`` defaults to the law parameter ``log10_grad_length_kpc`` where the law has one, new damping:
      0.3 kpc, else to the class's ``GRAD_LENGTH``, the halo height).
    """

    name = "wave_law"
    live = True
    PARAMS: dict = {}
    #: default ``grad_length`` of this law (see :class:`engine.waves.WaveBalance`)
    GRAD_LENGTH = "halo"

    def __init__(self, params=None, *, dust_convention="text", x_cap=1.0, mfp_floor_kpc=1000.0,
                 free_mfp_fraction=0.03, grad_length=None):
        super().__init__(params)
        self.dust_convention = check_choice("law.dust_convention", dust_convention, ["text", "code"])
        if grad_length is None:
            lg = self.params.get("log10_grad_length_kpc")
            grad_length = self.GRAD_LENGTH if lg is None else 10.0 ** lg
        self._balance_opts = dict(x_cap=x_cap, mfp_floor_kpc=mfp_floor_kpc, free_mfp_fraction=free_mfp_fraction,
                                  grad_length=grad_length)
        self.damping, self.driving = self.terms()
        self.balance = WaveBalance(self.damping, self.driving, **self._balance_opts)  # validates options

    def terms(self):
        """Return (list of DampingTerm, list of DrivingTerm) for ``self.params``."""
        raise NotImplementedError

    def standard_damping(self):
        """Ion-neutral, dust, turbulent/linear Landau (GS95) and non-linear Landau damping (H22 Sec. 2.5, 4.3)."""
        return [IonNeutral(), Dust(convention=self.dust_convention),
                TurbulentGS95(xi_t=self.params.get("xi_turb", 0.5)), NonlinearLandau()]

    def bind(self, galaxy, grid):
        super().bind(galaxy, grid)
        self.balance.bind(galaxy, grid.R_waves)

    @property
    def cr_dependent(self):
        """Whether the bound law depends on the CR state (see :attr:`engine.waves.WaveBalance.cr_dependent`)."""
        return self.balance.cr_dependent

    def evaluate(self, eps_cr, dPdz, out_nu_over_beta, out_vst, out_x, out_flag, out_vbar=None):
        self.balance.solve(eps_cr, dPdz, out_nu_over_beta, out_vst, out_x, out_flag, out_vbar)

    def describe(self):
        """Terms and coefficients actually used (for records and docs)."""
        return {"law": self.name, "params": dict(self.params),
                "damping": [repr(t) for t in self.damping], "driving": [repr(t) for t in self.driving]}


@_register
class SCReference(WaveLaw):
    """H22's reference ("theoretically favoured") model [physics spec Sec. 10; H22 Sec. 4.3, Fig. 2-3]:
    S = S_sc + S_et (GS95 with Chandran alpha_t), Q = (Gamma_in + Gamma_dust + Gamma_turb/LL) e + Gamma0_nll (e/e_B) e."""

    name = "sc_reference"
    PARAMS = {"log10_f_sc": LOG10_F_SC, "log10_alpha_t": LOG10_ALPHA_T, "xi_turb": XI_TURB}
    #: 20 Myr steps are converged here: at 500 Myr, dt_max 20 / 5 / 1 Myr give B/C(1 GV) 0.1063 / 0.1063 /
    #: 0.1064 and the Sun's p (0.1 GV), e- and e+ (0.05-1 GeV) within 0.3 % (measured 2026-11-27)
    DT_MAX_MYR = 20.0

    def terms(self):
        p = self.params
        return (self.standard_damping(),
                [SelfConfinement(A=10 ** p["log10_f_sc"]),
                 ExtrinsicGS95(mult=10 ** p["log10_alpha_t"], xi_t=p["xi_turb"])])


@_register
class SCOnly(WaveLaw):
    """Pure self-confinement with all standard damping [physics spec Sec. 7-8; H22 Sec. 3.4, 5.1.1]."""

    name = "sc_only"
    PARAMS = {"log10_f_sc": LOG10_F_SC, "xi_turb": XI_TURB}
    #: converged at 20 Myr: dt_max 20 vs 2 Myr at 500 Myr agree to 0.7 % (measured 2026-11-27)
    DT_MAX_MYR = 20.0

    def terms(self):
        return self.standard_damping(), [SelfConfinement(A=10 ** self.params["log10_f_sc"])]


@_register
class ETGS95(WaveLaw):
    """Pure extrinsic turbulence, anisotropic GS95 / critical balance, all standard damping
    [physics spec Sec. 7; H22 Sec. 2.7, 5.1.2, Fig. 4]. delta_s <= 0."""

    name = "et_gs95"
    PARAMS = {"log10_alpha_t": LOG10_ALPHA_T, "xi_turb": XI_TURB}

    def terms(self):
        p = self.params
        return self.standard_damping(), [ExtrinsicGS95(mult=10 ** p["log10_alpha_t"], xi_t=p["xi_turb"])]


@_register
class ETYL04(WaveLaw):
    """Pure fast-mode extrinsic turbulence (YL04) forced to beta_pl < 1 everywhere, as in H22 Fig. 4
    [physics spec Sec. 7; H22 Sec. 5.1.2], with all standard damping."""

    name = "et_yl04"
    PARAMS = {"log10_A": ParamSpec(0.0, -3.0, 3.0, "dex", "log10 multiplier of the YL04 source")}
    force = 1.0

    def terms(self):
        return self.standard_damping(), [ExtrinsicYL04(A=10 ** self.params["log10_A"], force=self.force)]


@_register
class ETYL04Cutoff(ETYL04):
    """YL04 fast modes with the physical cut-offs (beta_pl > 1 or too neutral: no scattering)
    [physics spec Sec. 7; H22 Sec. 2.7]."""

    name = "et_yl04_cutoff"
    force = 0.0


@_register
class ETK41(WaveLaw):
    """Isotropic, undamped K41 cascade ("naive" ET): e_A = e_B (k l_A)^-2/3, delta_s = 1/3
    [physics spec Sec. 7; H22 Sec. 2.7]. No other damping."""

    name = "et_k41"
    PARAMS = {"log10_A": ParamSpec(0.0, -3.0, 3.0, "dex", "log10 multiplier of the cascade rate")}

    def terms(self):
        return [CascadeK41()], [ExtrinsicIsotropic(A=10 ** self.params["log10_A"])]


@_register
class ETKraichnan(WaveLaw):
    """Isotropic, undamped Kraichnan/IK cascade: e_A = e_B (k l_A)^-1/2, delta_s = 1/2 but ~1e3 B_uG^1/2
    too much scattering [physics spec Sec. 7, 9, 14 item 5; H22 Sec. 3.2, 5.1.2]. No other damping."""

    name = "et_kraichnan"
    PARAMS = {"log10_A": ParamSpec(0.0, -3.0, 3.0, "dex", "log10 multiplier of the cascade rate")}

    def terms(self):
        return [CascadeKraichnan()], [ExtrinsicIsotropic(A=10 ** self.params["log10_A"])]


NEW_DAMPING_PARAMS = {
    "log10_A_gamma": ParamSpec(3.0, -2.0, 6.0, "dex",
                               "log10 A_Gamma in Gamma_new = A_Gamma (v_A/l_A)(k l_A)^xi_k (eps_cr/e_B); default "
                               "calibrated: B/C(~10 GV) 0.29 vs AMS-02 0.28 (quick grid, 2 Gyr, 2026-11-27)"),
    "xi_k": ParamSpec(0.25, 0.0, 1.0, "", "k exponent (Table 2: ~0.1-0.4; Fig. 5: 1/4)"),
    # log10(0.3 kpc): the regularisation length that keeps the wave field calm (NewDampingLaw)
    "log10_grad_length_kpc": ParamSpec(
        -0.5228787452803376, -1.5, 1.5, "dex kpc",
        "log10 of the largest CR gradient length l [kpc] the SC driving sees, |dP'/dz| >= P'/l "
        "(default 0.3 kpc; degenerate with A_Gamma where that floor holds, docs/physics.md)"),
}


@_register
class NewDampingLaw(WaveLaw):
    """New damping Gamma_new ~ A (v_A,ideal/l_A)(k l_A)^{xi_k} (e_cr/e_B) with SC driving and the standard
    damping off [physics spec Sec. 8, 14 item 6; H22 Sec. 3.5.1, 5.2, Fig. 5]. Collapse index q = 0:
    stable and independent of the initial CR state; delta_s = 1 - xi_k.

    With damping ~ eps_cr and SC driving ~ |grad P'|, kappa ~ eps_cr/|grad P'|: the flux is an advection down
    the gradient whose direction is undefined on plateaus of P'. The gradient regularisation length is therefore
    0.3 kpc (``GRAD_LENGTH``; the other laws use the halo height): with the halo height the wave field
    flickers at converged steps (max d ln nu ~ 2.7 per 0.02 Myr step on the quick grid, measured 2026-11-27),
    with 0.3 kpc it is calm (~0.03) and both starts reach the same column CR energy to 0.1 %. In the calibrated
    steady state every cell holding CRs is at that floor (the real P'/|dP'/dz| is 3-7 kpc), so nu_s ~ 1/(A l):
    A_Gamma is degenerate with the 0.3 kpc (docs/physics.md, "What the 0.3 kpc floor means")."""

    name = "new_damping"
    PARAMS = dict(NEW_DAMPING_PARAMS)
    GRAD_LENGTH = 0.3
    #: the default 10 Myr: at 500 Myr, dt_max 20 / 10 / 5 Myr against 1 Myr give the Sun's spectra within
    #: 2.3 / 0.9 / 0.3 % (e+ at 0.16 GeV; measured 2026-11-27 with the balanced splitting of reacceleration;
    #: with the former Lie splitting 5 Myr steps had p(0.1 GV) -23 % and e+(0.16 GeV) +30 %)
    DT_MAX_MYR = None

    #: q = 0 (xi_cr = zeta_cr = 1 with D = 1): one steady state from every start (H22 Fig. 5; tested)
    unique_attractor = True

    def _new(self):
        p = self.params
        return NewDamping(A=10 ** p["log10_A_gamma"], xi_k=p["xi_k"], xi_A=0.0, xi_cr=1.0, pivot="l_A")

    def terms(self):
        return [self._new()], [SelfConfinement()]


@_register
class NewDampingPlusStandard(NewDampingLaw):
    """New damping plus the standard ion-neutral, dust, turbulent/LL and NLL damping: the standard terms swamp
    it and collapse returns [physics spec Sec. 14 item 6; H22 Sec. 5.2]."""

    name = "new_damping_plus_standard"
    PARAMS = dict(NEW_DAMPING_PARAMS, xi_turb=XI_TURB)
    #: where the standard (linear) damping dominates, SC driving has q = 1 again
    unique_attractor = False
    #: the default 10 Myr: at 500 Myr, dt_max 20 / 5 Myr against 1 Myr give the Sun's spectra within 0.3 %
    #: (measured 2026-11-27, balanced splitting)
    DT_MAX_MYR = None

    def terms(self):
        return [self._new()] + self.standard_damping(), [SelfConfinement()]


@_register
class NewLinear(WaveLaw):
    """New linear source (H22 Fig. 6): S = Psi_new e_A, Psi_new = 10^log10_psi0 s^-1 (k au)^zeta_k (1 + M_A)
    (v_fast/10 km/s); turbulent/LL and dust damping off (ion-neutral and NLL on, NLL saturates the linear
    growth), S_sc x 0.01, no ET [physics spec Sec. 7, 8, 14 item 7; H22 Sec. 3.5.2, 5.3.1]."""

    name = "new_linear"
    PARAMS = {
        "zeta_k": ParamSpec(2 / 3, 0.4, 0.9, "", "k exponent (Table 2 fits 0.6-0.9, analytic 0.4-0.75)"),
        "log10_psi0": ParamSpec(-12.0, -16.0, -10.0, "dex s^-1", "log10 Psi_new at k = 1/au (Fig. 6: -12)"),
        "log10_f_sc": ParamSpec(-2.0, -3.0, 1.0, "dex", "log10 multiplier of S_sc (Fig. 6: 0.01)"),
    }

    def terms(self):
        p = self.params
        return ([IonNeutral(), NonlinearLandau()],
                [SelfConfinement(A=10 ** p["log10_f_sc"]),
                 NewSource(A=10 ** p["log10_psi0"], zeta_k=p["zeta_k"], zeta_A=1.0, rate="per_s", pivot="au",
                           f_ism="fig6")])


@_register
class NewExternal(WaveLaw):
    """New external source added to the full reference model (H22 Fig. 7):
    S_new,ext = 10^log10_A_S (v_A,ideal/0.007c)(v_A,ideal/l_A)(k l_A)^zeta_k e_B
    [physics spec Sec. 7, 8, 14 item 8; H22 Sec. 3.5.2, 5.3.2]."""

    name = "new_external"
    PARAMS = {
        "zeta_k": ParamSpec(-1 / 6, -0.25, 0.25, "", "k exponent (Table 2 fits -0.25 to -0.1, analytic to 0.25)"),
        "log10_A_S": ParamSpec(0.0, -2.0, 2.0, "dex", "log10 multiplier of the Fig. 7 normalisation"),
        "log10_f_sc": LOG10_F_SC,
        "log10_alpha_t": LOG10_ALPHA_T,
        "xi_turb": XI_TURB,
    }

    def terms(self):
        p = self.params
        return (self.standard_damping(),
                [SelfConfinement(A=10 ** p["log10_f_sc"]),
                 ExtrinsicGS95(mult=10 ** p["log10_alpha_t"], xi_t=p["xi_turb"]),
                 NewSource(A=10 ** p["log10_A_S"], zeta_k=p["zeta_k"], zeta_A=0.0, rate="vA_lA", pivot="l_A",
                           f_ism="fig7")])


@_register
class GenericLaw(WaveLaw):
    """Generic power-law balance, the survey's 6-D space [physics spec Sec. 8; H22 Table 2]:

    Gamma = A_Gamma (v_A,ideal/l_A)(k au)^xi_k (e_A/e_B)^xi_A (eps_cr/e_B)^xi_cr + Gamma_nll,
    S     = A_S (v_A,ideal/l_A) e_B (k au)^zeta_k (e_A/e_B)^zeta_A (eps_cr/e_B)^zeta_cr.

    NLL is always on and e_A <= e_B (cap), so zeta_A >= 1 + xi_A cannot run away (Sec. 8 caveat). The pivot is
    k_0 = 1/au (Eq. 13) so the normalisations stay within a few decades over the exponent ranges; with equal
    pivots e_A/e_B = [(A_S/A_Gamma)(k au)^(zeta_k - xi_k)(eps/e_B)^(zeta_cr - xi_cr)]^(1/D), D = 1 + xi_A - zeta_A.
    The defaults give nu_s ~ 1e-9 beta R^-0.5 s^-1 (delta_s = 1/2).
    """

    name = "generic"
    PARAMS = {
        "xi_k": ParamSpec(0.0, 0.0, 2.0, "", "damping k exponent"),
        "xi_A": ParamSpec(0.0, 0.0, 1.0, "", "damping e_A exponent"),
        "xi_cr": ParamSpec(0.0, 0.0, 1.0, "", "damping eps_cr exponent"),
        "zeta_k": ParamSpec(-0.5, -2.0, 2.0, "", "source k exponent"),
        "zeta_A": ParamSpec(0.0, 0.0, 1.0, "", "source e_A exponent"),
        "zeta_cr": ParamSpec(0.0, 0.0, 1.0, "", "source eps_cr exponent"),
        "log10_A_gamma": ParamSpec(2.0, -4.0, 8.0, "dex", "log10 A_Gamma"),
        "log10_A_S": ParamSpec(-4.5, -16.0, 4.0, "dex", "log10 A_S"),
    }

    @property
    def unique_attractor(self):
        """Collapse index q = (zeta_cr - xi_cr)/D < 1 with D = 1 + xi_A - zeta_A > 0 (physics spec Sec. 8)."""
        p = self.params
        D = 1.0 + p["xi_A"] - p["zeta_A"]
        return D > 0.0 and (p["zeta_cr"] - p["xi_cr"]) / D < 1.0

    def terms(self):
        p = self.params
        return ([NewDamping(A=10 ** p["log10_A_gamma"], xi_k=p["xi_k"], xi_A=p["xi_A"], xi_cr=p["xi_cr"],
                            pivot="au"), NonlinearLandau()],
                [NewSource(A=10 ** p["log10_A_S"], zeta_k=p["zeta_k"], zeta_A=p["zeta_A"], zeta_cr=p["zeta_cr"],
                           pivot="au")])
