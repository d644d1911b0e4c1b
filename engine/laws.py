"""Scattering laws: the hook through which transport gets nu_s(z, R, t) and the streaming speed [physics spec Sec. 4, 8, 9].

A law is bound once to a galaxy and grid (static arrays are precomputed), then evaluated every
transport step with the current CR state. Live laws (wave balance) are defined in
:mod:`engine.wave_laws` and registered here under their preset names.
"""

from dataclasses import dataclass

import numpy as np

from .errors import ConfigError, check_choice, check_range

__all__ = ["ParamSpec", "ScatteringLaw", "EmpiricalLaw", "PRESETS", "register_law", "make_law",
           "FLAG_STEADY", "FLAG_BOTTLENECK", "FLAG_FREE", "FLAG_NOROOT", "law_class"]

# Per-(z, R) outcome flags written by ScatteringLaw.evaluate into out_flag.
FLAG_STEADY = 0        # a stable root of the wave balance (or a fixed law)
FLAG_BOTTLENECK = 1    # e_A at the cap (over-confined, streaming-limited)
FLAG_FREE = 2          # e_A at the floor (unconfined, free streaming)
FLAG_NOROOT = 3        # no stable root found (runaway / failure)


@dataclass(frozen=True)
class ParamSpec:
    """One law parameter: default value, allowed range, unit and meaning."""

    default: float
    lo: float
    hi: float
    unit: str = ""
    doc: str = ""


class ScatteringLaw:
    """Base class: subclasses define ``name``, ``PARAMS`` (dict of ParamSpec), ``live`` and ``evaluate``.

    ``evaluate(eps_cr, dPdz, out_nu_over_beta, out_vst, out_x, out_flag, out_vbar=None)`` fills, for every cell z and
    wave rigidity R (grid.R_waves):

    * ``out_nu_over_beta`` (n_z, n_R) [s^-1]: nu_s / beta. Since nu_s = (3 pi/16) Omega e_A/e_B and
      Omega / beta = c / r_g depends only on R and B, nu_s / beta is species independent.
    * ``out_vst`` (n_z, n_R) [cm/s]: signed streaming speed along +z (isotropically averaged, physics spec Sec. 2 [S]).
    * ``out_x`` (n_phase, n_z, n_R): e_A / e_B per phase (NaN for laws without waves).
    * ``out_flag`` (n_z, n_R) int8: FLAG_* outcome of the local balance.
    * ``out_vbar`` (n_z, n_R) [cm/s], if given: |vbar_A|, the imbalance of the waves that sets diffusive
      reacceleration (v_A,eff^2 - vbar_A^2)/(9 kappa); 2 |v_st| except where a wave law regularises the
      streaming direction at an extremum of P' (:class:`engine.waves.WaveBalance`).

    Inputs: ``eps_cr`` (n_z, n_R) [erg cm^-3], CR kinetic energy per ln R summed over species at the same R;
    ``dPdz`` (n_z, n_R) [erg cm^-4], vertical gradient of the CR pressure per ln R.
    """

    name = "base"
    PARAMS: dict = {}
    live = False
    #: multiplies the diffusive-reacceleration rate (v_A,eff^2 - vbar_A^2)/(9 kappa) [physics spec Eq. 10]
    reacceleration = 1.0
    #: largest time step [Myr] of engine.solve for this law; None: 10 for CR-dependent laws (with the balanced
    #: splitting of reacceleration their spectra at 500 Myr agree with 1 Myr steps to <= 1.5 %: docs/physics.md,
    #: "Coupling to the transport"), 250 otherwise (40 with reacceleration: engine.solver._evolve)
    DT_MAX_MYR = None

    @property
    def unique_attractor(self):
        """Whether the law's CR-dependent balance has one steady state for a given injection, i.e. collapse
        index q < 1 [physics spec Sec. 8, "Collapse index": scaling e' -> lambda e' scales the diffusive flux
        as lambda^(1-q), q = (zeta_cr - xi_cr)/D]. Only such a law's slow approach is projected toward t_max
        (engine.acceleration); False unless a law knows better (self-confinement with linear damping has q = 1)."""
        return False

    def __init__(self, params=None):
        params = dict(params or {})
        for k in params:
            if k not in self.PARAMS:
                check_choice(f"params.{k}", k, list(self.PARAMS) or ["(this law has no parameters)"])
        self.params = {}
        for k, spec in self.PARAMS.items():
            v = params.get(k, spec.default)
            self.params[k] = check_range(f"params.{k}", v, spec.lo, spec.hi, spec.unit)
        self.galaxy = None
        self.grid = None

    def bind(self, galaxy, grid):
        """Precompute static arrays for ``galaxy`` on ``grid`` (called once per solve)."""
        self.galaxy, self.grid = galaxy, grid

    def evaluate(self, eps_cr, dPdz, out_nu_over_beta, out_vst, out_x, out_flag, out_vbar=None):
        raise NotImplementedError


class EmpiricalLaw(ScatteringLaw):
    """Empirical scattering law nu_s = nu0 beta (R/GV)^-delta, uniform in space and time
    [physics spec Sec. 9; Hopkins+22 Fig. 1 (nu0 = 1e-9 s^-1, delta = 0.6)].

    Streaming: ``stream`` multiplies the isotropically averaged maximal streaming speed v_A,eff/2
    (physics spec Sec. 2 [S]); 0 (default) reproduces the seed's Fig. 1 model, which has no streaming term.
    Reacceleration: ``reacc`` multiplies the diffusive-reacceleration rate v_A,eff^2/(9 kappa); the default 0
    matches the seed's Fig. 1 model and the DRAGON2 calibration of physics spec Sec. 11 (no reacceleration).
    With reacc = 1 and the volume-filling hot gas (v_A ~ 100 km/s) reacceleration is strong in a 15-25 kpc halo.
    """

    name = "empirical"
    live = False
    PARAMS = {
        "nu0": ParamSpec(1e-9, 1e-13, 1e-5, "s^-1", "scattering rate at 1 GV"),
        "delta": ParamSpec(0.6, 0.0, 1.5, "", "rigidity slope delta_s"),
        "stream": ParamSpec(0.0, 0.0, 1.0, "", "streaming at stream * v_A,eff/2"),
        "reacc": ParamSpec(0.0, 0.0, 1.0, "", "diffusive reacceleration at reacc * v_A,eff^2/(9 kappa)"),
    }

    def __init__(self, params=None):
        super().__init__(params)
        self.reacceleration = self.params["reacc"]

    def bind(self, galaxy, grid):
        super().bind(galaxy, grid)
        nuob = self.params["nu0"] * grid.R_waves ** (-self.params["delta"])
        self._nuob = np.broadcast_to(nuob, (grid.n_z, grid.R_waves.size)).copy()
        self._vst = np.broadcast_to((0.5 * self.params["stream"] * galaxy.vA_eff)[:, None],
                                    self._nuob.shape).copy()

    def evaluate(self, eps_cr, dPdz, out_nu_over_beta, out_vst, out_x, out_flag, out_vbar=None):
        out_nu_over_beta[:] = self._nuob
        # stream down the CR pressure gradient (outward for a disk source)
        out_vst[:] = -np.sign(dPdz) * self._vst
        if out_vbar is not None:
            out_vbar[:] = 2.0 * self._vst
        out_x[:] = np.nan
        out_flag[:] = FLAG_STEADY


PRESETS = {}


def register_law(cls):
    """Class decorator: register a ScatteringLaw subclass under ``cls.name``."""
    PRESETS[cls.name] = cls
    return cls


register_law(EmpiricalLaw)


def law_class(name):
    """The ScatteringLaw class of preset ``name`` (unknown names suggest the nearest)."""
    _load_wave_laws()
    if not isinstance(name, str):
        raise ConfigError(f"law = {name!r} must be a preset name (str): one of {sorted(PRESETS)}")
    check_choice("law", name, list(PRESETS))
    return PRESETS[name]


def make_law(name, params=None):
    """Instantiate the preset ``name`` with ``params`` (validated; unknown names suggest the nearest)."""
    return law_class(name)(params)


def _load_wave_laws():
    try:  # live laws register themselves on import
        from . import wave_laws  # noqa: F401
    except ImportError as e:  # pragma: no cover - only while wave_laws is absent
        if "wave_laws" not in str(e):
            raise
