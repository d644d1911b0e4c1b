"""Named survey presets: law families of H22 Table 2 mapped to engine law names and free parameters."""

from __future__ import annotations

from dataclasses import dataclass, field

from .registry import LAW_PARAMETERS, PARAMETERS, PriorError, nearest

__all__ = ["Preset", "PRESETS", "ENGINE_LAWS", "get_preset", "law_overrides"]

#: Engine law names (``engine.laws.PRESETS``) the survey knows about.
ENGINE_LAWS = tuple(LAW_PARAMETERS)


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
        Engine laws this preset may be combined with (``law = ...`` in the config); each has every
        engine parameter in ``free`` and ``fixed`` with the same range.
    free : tuple[str]
        Parameters sampled by default (priors from :data:`priors.PARAMETERS`, narrowed by ``overrides``).
    fixed : dict[str, float]
        Parameters pinned by default. The law's defining exponents (H22 Table 2) are built into the
        engine laws, not parameters, so no preset needs any.
    overrides : dict[str, dict]
        Prior changes relative to the registry: by default the law's engine range, default and
        description where they differ from the name-level registry entry (:func:`law_overrides`).
    doc : str
    """

    name: str
    law: str
    laws: tuple[str, ...]
    free: tuple[str, ...]
    fixed: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    doc: str = ""


def law_overrides(law: str, names) -> dict[str, dict]:
    """Prior overrides fitting the name-level registry entries of ``names`` to ``law``'s engine parameters.

    A registry prior that lies inside the law's range keeps its bounds (e.g. the survey's nu0 and delta
    priors of the empirical law) and only takes the law's default value if that differs; otherwise the
    prior becomes the law's range, default and description. Names the law does not have are skipped. The
    override names its prior, so a config table with the same prior keeps the law's default value.
    """
    out = {}
    for n in names:
        lp, base = LAW_PARAMETERS[law].get(n), PARAMETERS.get(n)
        if lp is None or base is None:
            continue
        inside = lp.lo <= base.lo and base.hi <= lp.hi and base.lo <= lp.value <= base.hi
        if inside and base.value == lp.value:
            continue
        if inside:
            out[n] = {"prior": base.prior, "value": lp.value, "doc": f"{lp.doc} [engine: {law}]"}
        else:
            out[n] = {"prior": lp.prior, "lo": lp.lo, "hi": lp.hi, "value": lp.value,
                      "doc": f"{lp.doc} [engine: {law}]"}
    return out


def _preset(name, law, laws, free, doc):
    return Preset(name, law, laws, free, overrides=law_overrides(law, free), doc=doc)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        _preset("empirical", "empirical", ("empirical",), ("nu0", "delta", "phi_AMS02"),
                doc="nu_s = nu0 beta R^-delta, no streaming or reacceleration [spec Sec. 9, H22 Fig 1]"),
        _preset("sc", "sc_reference", ("sc_reference",), ("log10_f_sc", "log10_alpha_t", "phi_AMS02"),
                doc="H22 reference model: self-confinement + GS95 extrinsic driving, standard damping; free SC "
                    "and alpha_t normalisations [spec Sec. 7, 10; H22 Sec. 4.3, 5.1.1]"),
        _preset("et", "et_gs95", ("et_gs95",), ("log10_alpha_t", "xi_turb", "phi_AMS02"),
                doc="pure anisotropic (GS95) extrinsic turbulence, standard damping [spec Sec. 7; H22 Sec. 5.1.2]"),
        _preset("new-damping", "new_damping", ("new_damping", "new_damping_plus_standard"),
                ("log10_A_gamma", "xi_k", "phi_AMS02"),
                doc="Gamma_new = A_Gamma (v_A/l_A)(k l_A)^xi_k eps_cr/e_B (xi_A = 0, xi_cr = 1 built in) with SC "
                    "driving [spec Sec. 6, 8; H22 Sec. 3.5.1, 5.2]"),
        _preset("new-linear", "new_linear", ("new_linear",), ("zeta_k", "log10_psi0", "log10_f_sc", "phi_AMS02"),
                doc="S_new,lin = Psi_new e_A, Psi_new ~ psi0 (k au)^zeta_k (zeta_A = 1 built in), S_sc x f_sc "
                    "[spec Sec. 7, Eq. 13; H22 Sec. 5.3.1, Fig. 6]"),
        _preset("new-external", "new_external", ("new_external",), ("zeta_k", "log10_A_S", "phi_AMS02"),
                doc="S_new,ext ~ A_S e_B (k l_A)^zeta_k (zeta_A = 0 built in) added to the reference model "
                    "[spec Sec. 7, Eq. 13; H22 Sec. 5.3.2, Fig. 7]"),
        _preset("generic", "generic", ("generic",),
                ("xi_k", "xi_A", "xi_cr", "zeta_k", "zeta_A", "zeta_cr", "log10_A_gamma", "log10_A_S", "phi_AMS02"),
                doc="generic (xi, zeta) law, the 6-D exponent space plus A_Gamma, A_S [spec Sec. 8]"),
    ]
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise PriorError(
            f"survey.preset = {name!r} is not a preset: expected one of {', '.join(PRESETS)}{nearest(name, PRESETS)}"
        ) from None
