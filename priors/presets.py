"""Named survey presets: law families of H22 Table 2 mapped to engine law names and free parameters."""

from __future__ import annotations

from dataclasses import dataclass, field

from .registry import PriorError, nearest

__all__ = ["Preset", "PRESETS", "ENGINE_LAWS", "get_preset"]

#: Engine law names (``engine.laws.PRESETS``) the survey knows about.
ENGINE_LAWS = (
    "empirical",
    "sc_reference",
    "sc_only",
    "et_gs95",
    "et_yl04",
    "et_k41",
    "new_damping",
    "new_damping_plus_standard",
    "new_linear",
    "new_external",
    "generic",
)


@dataclass(frozen=True)
class Preset:
    """A survey preset.

    Attributes
    ----------
    name : str
        Preset name used in configs (``preset = "new-linear"``).
    law : str
        Default engine law name.
    laws : tuple[str]
        Engine laws this preset may be combined with (``law = ...`` in the config).
    free : tuple[str]
        Parameters sampled by default (priors from :data:`priors.PARAMETERS`).
    fixed : dict[str, float]
        Parameters pinned by default (the law's defining exponents, H22 Table 2).
    overrides : dict[str, dict]
        Prior changes relative to the registry (narrower ranges from physics spec Sec. 7-8).
    doc : str
    """

    name: str
    law: str
    laws: tuple[str, ...]
    free: tuple[str, ...]
    fixed: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    doc: str = ""


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("empirical", "empirical", ("empirical",), ("nu0", "delta", "phi_AMS02"),
               doc="nu_s = nu0 beta R^-delta [spec Sec. 9, H22 Fig 1]"),
        Preset("sc", "sc_reference", ("sc_reference", "sc_only"), ("log10_A_S", "eps_inj", "phi_AMS02"),
               doc="self-confinement driving, (zeta_k, zeta_A, zeta_cr) = (0,0,1) [spec Sec. 7]"),
        Preset("et", "et_gs95", ("et_gs95", "et_yl04", "et_k41"), ("log10_A_S", "phi_AMS02"),
               doc="extrinsic turbulence, zeta_A = zeta_cr = 0 [spec Sec. 7]"),
        Preset("new-damping", "new_damping", ("new_damping", "new_damping_plus_standard"),
               ("xi_k", "log10_A_gamma", "phi_AMS02"), fixed={"xi_A": 0.0, "xi_cr": 1.0},
               overrides={"xi_k": {"lo": 0.0, "hi": 1.0}},
               doc="Gamma_new ~ k^xi_k e_cr/e_B with SC driving [spec Sec. 6, 8]"),
        Preset("new-linear", "new_linear", ("new_linear",), ("zeta_k", "log10_A_S", "phi_AMS02"),
               fixed={"zeta_A": 1.0, "zeta_cr": 0.0}, overrides={"zeta_k": {"lo": -0.5, "hi": 1.5}},
               doc="S_new,lin ~ e_A (k au)^zeta_k [spec Sec. 7, Eq. 13]"),
        Preset("new-external", "new_external", ("new_external",), ("zeta_k", "log10_A_S", "phi_AMS02"),
               fixed={"zeta_A": 0.0, "zeta_cr": 0.0}, overrides={"zeta_k": {"lo": -1.0, "hi": 0.5}},
               doc="S_new,ext ~ e_B (k au)^zeta_k [spec Sec. 7, Eq. 13]"),
        Preset("generic", "generic", ("generic",),
               ("xi_k", "xi_A", "xi_cr", "zeta_k", "zeta_A", "zeta_cr", "log10_A_gamma", "log10_A_S"),
               doc="generic (xi, zeta) law, the 6-D exponent space [spec Sec. 8]"),
    ]
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise PriorError(
            f"survey.preset = {name!r} is not a preset: expected one of {', '.join(PRESETS)}{nearest(name, PRESETS)}"
        ) from None
