"""Parameter space of the crsurvey survey: registry, prior families and law presets [physics spec Sec. 8]."""

from .presets import ENGINE_LAWS, PRESETS, Preset, get_preset, law_overrides
from .registry import (ENGINE_LAW_SPECS, LAW_PARAMETERS, PARAMETERS, PRIOR_FAMILIES, TARGETS, Parameter, PriorError,
                       get_parameter, nearest)
from .space import ParameterSpace

__all__ = [
    "ENGINE_LAWS",
    "ENGINE_LAW_SPECS",
    "LAW_PARAMETERS",
    "PARAMETERS",
    "PRESETS",
    "PRIOR_FAMILIES",
    "TARGETS",
    "Parameter",
    "ParameterSpace",
    "Preset",
    "PriorError",
    "get_parameter",
    "get_preset",
    "law_overrides",
    "nearest",
]
