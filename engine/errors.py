"""Errors a user can act on: bad input, non-convergence, and physical collapse (a reported outcome)."""

__all__ = ["CrsurveyError", "ConfigError", "ConvergenceError", "SolutionCollapse", "DataFormatError",
           "check_range", "check_choice"]

import difflib
import math


class CrsurveyError(Exception):
    """Base class of every crsurvey error."""


class ConfigError(CrsurveyError, ValueError):
    """Bad input: the message names the field, the value, and what is allowed."""


class DataFormatError(CrsurveyError, ValueError):
    """A shipped or user data file is malformed: the message names the file and the line."""


class ConvergenceError(CrsurveyError):
    """A run could not be brought to a defined state (reported in Result.status, rarely raised)."""


class SolutionCollapse(CrsurveyError):
    """A physical outcome (self-confinement solution collapse), reported rather than treated as a bug."""


def check_range(field, value, lo, hi, unit="", lo_open=False, hi_open=False):
    """Return ``float(value)`` if ``lo <= value <= hi`` (finite), else raise a ConfigError naming ``field``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field} = {value!r} is not a number: expected {lo} <= {field.split('.')[-1]} <= {hi}"
                          + (f" ({unit})" if unit else "")) from None
    bad = (not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi))
    if bad:
        lo_s = "<" if lo_open else "<="
        hi_s = "<" if hi_open else "<="
        name = field.split(".")[-1]
        raise ConfigError(f"{field} = {value!r} is out of range: expected {lo} {lo_s} {name} {hi_s} {hi}"
                          + (f" ({unit})" if unit else ""))
    return v


def check_choice(field, value, allowed):
    """Return ``value`` if it is in ``allowed``, else raise a ConfigError suggesting the nearest choice."""
    if value in allowed:
        return value
    near = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    raise ConfigError(f"{field} = {value!r} is not allowed: expected one of {sorted(map(str, allowed))}.{hint}")


def dataclass_from_dict(cls, d, prefix):
    """Build dataclass ``cls`` from dict ``d``, rejecting unknown keys with the nearest valid one
    (``prefix`` names the config section in the message, e.g. "grid")."""
    from dataclasses import fields
    names = [f.name for f in fields(cls)]
    for k in d:
        if k not in names:
            near = difflib.get_close_matches(k, names, n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"{prefix}.{k} is not a known field: expected one of {names}.{hint}")
    return cls(**d)
