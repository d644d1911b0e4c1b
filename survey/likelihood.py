"""Likelihood of an engine Result given the CR data [physics spec Sec. 13; README_likelihood.md].

ln L = -1/2 sum_d w_d sum_i (ln M_i - ln D_i)^2 / (s_i^2 + s_mod^2 + s_t,i^2),  s_i = sqrt(stat_i^2 + sys_i^2) / D_i,

with M_i the model interpolated log-log onto the data abscissa x_i, s_mod the model scatter
(H22's environmental band, default 0.1), s_t,i half the ln width of the time band of a live run that did
not settle (``Result.time_band``; 0 for steady runs) and w_d = N_ref / N_g, where N_g is the number of points in
the observable group g of dataset d (p, He, CNO, B/C, pbar/p, e-, e+, 10Be/9Be), so that every
group weighs like N_ref points.  Top-of-atmosphere data are compared with the force-field
modulated model (``Result.modulated(phi_GV)``, one phi per experiment/epoch, nuisance parameters) or,
with ``modulation="cut"``, with the LIS above a rigidity cut.  Voyager 1 data are compared with the
LIS.  A failed or non-finite model scores -inf, never NaN.
"""

from dataclasses import dataclass, field
import difflib
import math
from types import MappingProxyType

import numpy as np

from engine.datasets import DATASET_FILES, load
from engine.errors import ConfigError, check_choice, check_range, dataclass_from_dict
from engine.species import SPECIES
from engine.units import M_E_GEV

__all__ = [
    "DATASETS", "GROUPS", "NUISANCE_DEFAULTS", "NUISANCE_PRIOR_RANGES", "PHI_KEYS", "DEFAULT_CUT_R_MIN_GV",
    "LikelihoodConfig", "as_likelihood_config", "loglike", "breakdown", "model_on_data_axis",
]

#: Datasets entering the likelihood by default (the preliminary AMS-02 10Be/9Be is validation-only).
DATASETS = (
    "AMS-02 B/C", "AMS-02 p", "AMS-02 He", "AMS-02 C", "AMS-02 N", "AMS-02 O", "AMS-02 pbar/p",
    "AMS-02 e+/(e+ + e-)", "AMS-02 e-", "AMS-02 e+",
    "Voyager p", "Voyager He", "Voyager B", "Voyager C", "Voyager O",
    "ACE 10Be/9Be", "ISOMAX 10Be/9Be",
)

#: Observable group of each quantity; each group gets total weight N_ref (Voyager B is the LIS end of B/C).
GROUPS = MappingProxyType({
    "p": "p", "He": "He", "C": "CNO", "N": "CNO", "O": "CNO", "B": "B/C", "B/C": "B/C",
    "pbar/p": "pbar/p", "pbar": "pbar/p", "e-": "e-", "e+": "e+", "e+/(e+ + e-)": "e+",
    "10Be/9Be": "10Be/9Be",
})

#: Force-field potential nuisance parameter of each experiment/epoch (Voyager 1: unmodulated LIS).
PHI_KEYS = MappingProxyType({"AMS-02": "phi_AMS02", "ACE-CRIS": "phi_ACE", "ISOMAX": "phi_ISOMAX",
                             "Balloon": "phi_Balloon"})

#: Default phi [GV].  AMS-02 2011-2018 average ~0.6; ACE-CRIS 1997-99 (solar minimum) and ISOMAX 1998/08
#: (rising phase) are rough values -- sample them or cut the data.
NUISANCE_DEFAULTS = MappingProxyType({"phi_AMS02": 0.6, "phi_ACE": 0.45, "phi_ISOMAX": 0.6,
                                      "phi_Balloon": 0.6})

#: Suggested prior ranges [GV] for the survey layer (loglike itself accepts 0 <= phi <= PHI_MAX_GV).
NUISANCE_PRIOR_RANGES = MappingProxyType({"phi_AMS02": (0.4, 0.9), "phi_ACE": (0.3, 0.8),
                                          "phi_ISOMAX": (0.4, 0.9), "phi_Balloon": (0.3, 1.2)})
PHI_MAX_GV = 3.0

#: With ``modulation="cut"``: drop TOA points below this rigidity [GV] (physics spec Sec. 13), by x_kind
#: of the data (lepton energy ~ rigidity).
DEFAULT_CUT_R_MIN_GV = MappingProxyType({"rigidity": 20.0, "Ekn": 20.0, "energy": 10.0})

# Model observable axes (docs/interfaces.md) and the species whose kinematics define conversions/cuts.
_MODEL_X_KIND = {"B/C": "rigidity", "pbar/p": "rigidity", "10Be/9Be": "Ekn", "e+/(e+ + e-)": "energy",
                 "p": "rigidity", "He": "rigidity", "C": "rigidity", "N": "rigidity", "O": "rigidity",
                 "B": "rigidity", "pbar": "rigidity", "e-": "energy", "e+": "energy"}
_SPECIES = {s.name: s for s in SPECIES}
_KIN_SPECIES = {"B/C": "B", "10Be/9Be": "10Be", "pbar/p": "pbar"}   # ratios: numerator species


@dataclass(frozen=True)
class LikelihoodConfig:
    """Which data enter the likelihood and how (validated at construction).

    Attributes
    ----------
    datasets : names from ``engine.datasets.DATASET_FILES`` (default :data:`DATASETS`).
    s_mod : fractional model scatter added in quadrature to each point's relative error (0 <= s_mod <= 5).
    n_ref : every observable group weighs like ``n_ref`` points (w = n_ref / N_group); None: w = 1.
    modulation : ``"force-field"`` (TOA data vs ``Result.modulated(phi)``) or ``"cut"`` (TOA data vs the
        LIS, keeping only points above ``r_min_GV`` or :data:`DEFAULT_CUT_R_MIN_GV`).
    r_min_GV : {dataset: R_min [GV]}: drop points below this rigidity (either modulation mode).
    x_range : {dataset: (lo, hi)} in the dataset's x unit: keep lo <= x <= hi.
    groups : {dataset: group label} overriding :data:`GROUPS`.
    not_converged : ``"score"`` (score normally, flag, subtract ``not_converged_penalty``) or ``"reject"``
        (-inf).
    not_converged_penalty : >= 0, subtracted from ln L of a not-converged result when scoring.
    min_t_myr : a not-converged result that ended before min(min_t_myr, its t_max) [Myr] is not scored (ln L =
        -inf, with the reason): a live run that stalled or ran out of steps that early still shows its initial
        state, not the model (default 100 Myr, about the time the empirical law takes to converge, H22 Sec. 5).
    allow_validation_only : permit datasets flagged ``validation_only`` (preliminary data).
    """

    datasets: tuple = DATASETS
    s_mod: float = 0.1
    n_ref: float | None = 10.0
    modulation: str = "force-field"
    r_min_GV: dict = field(default_factory=dict)
    x_range: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)
    not_converged: str = "score"
    not_converged_penalty: float = 0.0
    min_t_myr: float = 100.0
    allow_validation_only: bool = False

    def __post_init__(self):
        names = (self.datasets,) if isinstance(self.datasets, str) else tuple(self.datasets)
        for n in names:
            _check_dataset("likelihood.datasets", n)
        if len(set(names)) != len(names):
            raise ConfigError(f"likelihood.datasets = {names!r} lists a dataset twice")
        object.__setattr__(self, "datasets", names)
        if not self.allow_validation_only:
            for n in names:
                if load(n).validation_only:
                    raise ConfigError(f"likelihood.datasets: {n!r} is validation-only (preliminary/uncertain data); "
                                      "use it in plots, or set allow_validation_only=True")
        check_range("likelihood.s_mod", self.s_mod, 0.0, 5.0)
        if self.n_ref is not None:
            check_range("likelihood.n_ref", self.n_ref, 0.0, 1e6, lo_open=True)
        check_choice("likelihood.modulation", self.modulation, ("force-field", "cut"))
        check_choice("likelihood.not_converged", self.not_converged, ("score", "reject"))
        check_range("likelihood.not_converged_penalty", self.not_converged_penalty, 0.0, 1e300)
        check_range("likelihood.min_t_myr", self.min_t_myr, 0.0, 1e5, "Myr")
        r_min = {}
        for n, v in dict(self.r_min_GV).items():
            _check_dataset("likelihood.r_min_GV", n)
            r_min[n] = check_range(f"likelihood.r_min_GV[{n!r}]", v, 0.0, 1e6, "GV")
        xr = {}
        for n, v in dict(self.x_range).items():
            _check_dataset("likelihood.x_range", n)
            try:
                lo, hi = (float(t) for t in v)
            except (TypeError, ValueError):
                raise ConfigError(f"likelihood.x_range[{n!r}] = {v!r} is not a pair (lo, hi) of numbers") from None
            if not (0 <= lo < hi) or math.isnan(hi):
                raise ConfigError(f"likelihood.x_range[{n!r}] = {v!r} is not a valid range: expected "
                                  f"0 <= lo < hi (in {load(n).x_unit}; hi may be inf)")
            xr[n] = (lo, hi)
        grp = {}
        for n, g in dict(self.groups).items():
            _check_dataset("likelihood.groups", n)
            if not isinstance(g, str) or not g:
                raise ConfigError(f"likelihood.groups[{n!r}] = {g!r}: expected a non-empty group label")
            grp[n] = g
        object.__setattr__(self, "r_min_GV", MappingProxyType(r_min))
        object.__setattr__(self, "x_range", MappingProxyType(xr))
        object.__setattr__(self, "groups", MappingProxyType(grp))

    @classmethod
    def from_dict(cls, d):
        """Build from a dict, rejecting unknown keys with a suggestion."""
        return dataclass_from_dict(cls, d, "likelihood")


def as_likelihood_config(config):
    """Normalise ``None`` / dict / LikelihoodConfig into a LikelihoodConfig."""
    if config is None:
        return _DEFAULT_CONFIG
    if isinstance(config, LikelihoodConfig):
        return config
    if isinstance(config, dict):
        return LikelihoodConfig.from_dict(config)
    raise ConfigError(f"likelihood config = {config!r}: expected None, a dict or a LikelihoodConfig")


def _check_dataset(fieldname, name):
    if name not in DATASET_FILES:
        near = difflib.get_close_matches(str(name), list(DATASET_FILES), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ConfigError(f"{fieldname}: dataset {name!r} is unknown: expected one of {list(DATASET_FILES)}.{hint}")


# === Axes: the model's x to the data's x === #

def _point_rigidity_GV(ds):
    """Rigidity [GV] of each data point (for cuts): R = (A/Z) sqrt(E (E + 2 m)) per nucleon."""
    if ds.x_kind == "rigidity":
        return np.asarray(ds.x)
    if ds.x_kind == "energy":   # leptons: R = p = sqrt(E (E + 2 m_e))
        return np.sqrt(ds.x * (ds.x + 2 * M_E_GEV))
    sp = _SPECIES[_KIN_SPECIES.get(ds.quantity, ds.quantity)]
    return sp.A / sp.Z * np.sqrt(ds.x * (ds.x + 2 * sp.mass_GeV))


def model_on_data_axis(x, y, quantity, x_kind):
    """Express a model observable on the axis ``x_kind`` of a dataset.

    Model fluxes of nuclei are dN/dR on rigidity [GV] (docs/interfaces.md); Voyager data are per kinetic
    energy per nucleon.  For a species (Z, A, m per nucleon):
    E_kn = sqrt((Z R / A)^2 + m^2) - m and J_E = J_R dR/dE_kn = J_R (A / Z) / beta.

    Parameters
    ----------
    x, y : (n,) model abscissa on the model's axis and model values.
    quantity : observable name.
    x_kind : ``"rigidity"``, ``"Ekn"`` or ``"energy"``: the target axis.

    Returns
    -------
    (x, y) on the target axis (the inputs themselves if no conversion is needed).

    Raises
    ------
    ConfigError if the conversion is undefined (e.g. a ratio at equal rigidity onto an E/n axis).
    """
    src = _MODEL_X_KIND.get(quantity)
    if src is None or src == x_kind:
        return x, y
    if src == "rigidity" and x_kind == "Ekn" and quantity in _SPECIES:
        sp = _SPECIES[quantity]
        R = np.asarray(x, dtype=float)
        p_n = sp.Z * R / sp.A
        E_tot = np.sqrt(p_n ** 2 + sp.mass_GeV ** 2)
        beta = p_n / E_tot
        return E_tot - sp.mass_GeV, np.asarray(y, dtype=float) * (sp.A / sp.Z) / beta
    raise ConfigError(f"cannot compare model observable {quantity!r} (x = {src}) with data on x = {x_kind}: "
                      "only nuclear fluxes convert from rigidity to kinetic energy per nucleon")


def _interp_loglog(xm, ym, xd):
    """ln M at ``xd`` by linear interpolation in (ln x, ln y); returns (lnM, inside, bad_reason)."""
    xm = np.asarray(xm, dtype=float)
    ym = np.asarray(ym, dtype=float)
    if xm.shape != ym.shape or xm.ndim != 1:
        return None, None, f"model x and y have shapes {xm.shape} and {ym.shape}"
    if not np.all(np.isfinite(xm)) or np.any(xm <= 0):
        return None, None, "model x has non-finite or non-positive values"
    order = np.argsort(xm, kind="stable")
    xm, ym = xm[order], ym[order]
    # Data on the model's end nodes count as inside despite round-off in axis conversions.
    eps = 1e-9
    inside = ((xd >= xm[0] * (1 - eps)) & (xd <= xm[-1] * (1 + eps)) if xm.size >= 2
              else np.zeros(xd.shape, bool))
    lnM = np.full(xd.shape, np.nan)
    if not inside.any():
        return lnM, inside, ""
    xi = np.clip(xd[inside], xm[0], xm[-1])
    lx = np.log(xm)
    j = np.clip(np.searchsorted(xm, xi, side="right") - 1, 0, xm.size - 2)
    dl = lx[j + 1] - lx[j]
    t = np.clip((np.log(xi) - lx[j]) / np.where(dl > 0, dl, 1.0), 0.0, 1.0)
    y0, y1 = ym[j], ym[j + 1]
    ok0 = np.isfinite(y0) & (y0 > 0)
    ok1 = np.isfinite(y1) & (y1 > 0)
    # A node enters only if it has weight: data exactly on a node do not see its neighbour.
    good = (ok0 | (t == 1.0)) & (ok1 | (t == 0.0))
    if not good.all():
        k = int(np.flatnonzero(~good)[0])
        return None, None, (f"model has non-finite or non-positive values where data exist "
                            f"(near x = {xi[k]:.4g})")
    with np.errstate(divide="ignore", invalid="ignore"):
        l0 = np.where(ok0, np.log(np.where(ok0, y0, 1.0)), 0.0)
        l1 = np.where(ok1, np.log(np.where(ok1, y1, 1.0)), 0.0)
    lnM[inside] = np.where(t == 0.0, l0, np.where(t == 1.0, l1, l0 + t * (l1 - l0)))
    return lnM, inside, ""


def _time_scatter2(result, d, xd):
    """Squared fractional time scatter of a run that did not settle, at the data abscissae: half the ln width
    of ``Result.time_band`` (the LIS observable's min-max over the averaging window), 0 where there is none.
    H22 judge such runs by several snapshots (their Sec. 5.4); the band enters like s_mod."""
    band = getattr(result, "time_band", None) or {}
    if d.quantity not in band:
        return 0.0
    x, lo, hi = band[d.quantity]
    _, ylo = model_on_data_axis(x, lo, d.quantity, d.x_kind)
    xb, yhi = model_on_data_axis(x, hi, d.quantity, d.x_kind)
    l_lo, ok_lo, why_lo = _interp_loglog(xb, ylo, xd)
    l_hi, ok_hi, why_hi = _interp_loglog(xb, yhi, xd)
    if why_lo or why_hi:
        return 0.0
    s = np.where(ok_lo & ok_hi, 0.5 * (l_hi - l_lo), 0.0)
    return np.where(np.isfinite(s), s, 0.0) ** 2


# === Evaluation === #

def _nuisance(nuisance):
    out = dict(NUISANCE_DEFAULTS)
    for k, v in dict(nuisance or {}).items():
        if k not in NUISANCE_DEFAULTS:
            near = difflib.get_close_matches(str(k), list(NUISANCE_DEFAULTS), n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"nuisance.{k} is not a likelihood nuisance parameter: expected one of "
                              f"{list(NUISANCE_DEFAULTS)}.{hint}")
        out[k] = check_range(f"nuisance.{k}", v, 0.0, PHI_MAX_GV, "GV")
    return out


def _selection(ds, cfg):
    """Boolean mask of the points of ``ds`` kept by the configured ranges and cuts (model-independent)."""
    keep = np.ones(ds.n, bool)
    if ds.name in cfg.x_range:
        lo, hi = cfg.x_range[ds.name]
        keep &= (ds.x >= lo) & (ds.x <= hi)
    r_min = cfg.r_min_GV.get(ds.name)
    if r_min is None and cfg.modulation == "cut" and ds.modulated:
        r_min = DEFAULT_CUT_R_MIN_GV[ds.x_kind]
    if r_min is not None:
        keep &= _point_rigidity_GV(ds) >= r_min
    return keep


def _phi_for(ds, cfg, nuis):
    if not ds.modulated or cfg.modulation == "cut":
        return None
    key = PHI_KEYS.get(ds.experiment)
    if key is None:
        raise ConfigError(f"dataset {ds.name!r}: no solar-modulation nuisance for experiment {ds.experiment!r}; "
                          f"known: {dict(PHI_KEYS)}")
    return nuis[key]


def _failed_total(status, reason, n=0):
    return {"chi2": math.inf, "chi2_weighted": math.inf, "n": n, "dof": n, "loglike": -math.inf,
            "status": status, "flags": [reason], "reason": reason}


def _evaluate(result, datasets, nuisance, config):
    cfg = as_likelihood_config(config)
    names = cfg.datasets if datasets is None else (
        (datasets,) if isinstance(datasets, str) else tuple(datasets))
    if datasets is not None:
        for n in names:
            _check_dataset("datasets", n)
    nuis = _nuisance(nuisance)
    dsets = [load(n) for n in names]
    if datasets is not None and not cfg.allow_validation_only:
        for d in dsets:
            if d.validation_only:
                raise ConfigError(f"datasets: {d.name!r} is validation-only (preliminary/uncertain data); "
                                  "set allow_validation_only=True in the config to use it")
    masks = {d.name: _selection(d, cfg) for d in dsets}
    group = {d.name: cfg.groups.get(d.name, GROUPS.get(d.quantity, d.quantity)) for d in dsets}
    n_group = {}
    for d in dsets:
        n_group[group[d.name]] = n_group.get(group[d.name], 0) + int(masks[d.name].sum())

    status = getattr(result, "status", "steady")
    out = {}
    if status == "failed":
        reason = f"result.status = 'failed': {getattr(result, 'message', '')}".rstrip(": ")
        out["total"] = _failed_total(status, reason)
        return out
    if status not in ("steady", "not-converged"):
        out["total"] = _failed_total(status, f"unknown result.status {status!r}")
        return out
    if status == "not-converged" and cfg.not_converged == "reject":
        out["total"] = _failed_total(status, "result.status = 'not-converged' and not_converged = 'reject'")
        return out
    t_end = getattr(result, "t_end_myr", None)
    if status == "not-converged" and t_end is not None:
        t_need = min(cfg.min_t_myr, float(getattr(result, "t_max_myr", math.inf)))
        if float(t_end) < t_need * (1 - 1e-9):
            out["total"] = _failed_total(status, (
                f"result ended at t = {float(t_end):.3g} Myr, before min(likelihood.min_t_myr, t_max) = {t_need:g} "
                f"Myr: its spectra still reflect the initial state ({getattr(result, 'message', '')})"))
            return out

    obs_cache = {}

    def observables(phi):
        if phi not in obs_cache:
            obs_cache[phi] = result.observables if phi is None else result.modulated(phi)
        return obs_cache[phi]

    tot_chi2 = tot_w = 0.0
    tot_n = 0
    flags = []
    bad = None
    for d in dsets:
        keep = masks[d.name]
        g = group[d.name]
        w = 1.0 if cfg.n_ref is None else (cfg.n_ref / n_group[g] if n_group[g] else 0.0)
        phi = _phi_for(d, cfg, nuis)
        row = {"chi2": 0.0, "chi2_weighted": 0.0, "dof": 0, "n": 0, "weight": w, "group": g,
               "n_cut": int(d.n - keep.sum()), "n_outside": 0, "phi_GV": phi, "flag": ""}
        out[d.name] = row
        if not keep.any():
            row["flag"] = "no data points pass the configured ranges/cuts"
            continue
        obs = observables(phi)
        if d.quantity not in obs:
            raise ConfigError(f"dataset {d.name!r} needs model observable {d.quantity!r}, which the result "
                              f"does not provide; available: {sorted(obs)}")
        xm, ym = obs[d.quantity]
        xm, ym = model_on_data_axis(xm, ym, d.quantity, d.x_kind)
        xd, yd = d.x[keep], d.y[keep]
        lnM, inside, why = _interp_loglog(xm, ym, xd)
        if why:
            row.update(chi2=math.inf, chi2_weighted=math.inf, flag=why)
            bad = bad or f"{d.name}: {why}"
            continue
        row["n_outside"] = int((~inside).sum())
        if row["n_outside"]:
            row["flag"] = f"{row['n_outside']} data points outside the model x range (excluded)"
        s2 = (d.sigma[keep][inside] / yd[inside]) ** 2 + cfg.s_mod ** 2
        s2 = s2 + _time_scatter2(result, d, xd[inside])
        chi2 = float(np.sum((lnM[inside] - np.log(yd[inside])) ** 2 / s2))
        n = int(inside.sum())
        row.update(chi2=chi2, chi2_weighted=w * chi2, dof=n, n=n)
        tot_chi2 += chi2
        tot_w += w * chi2
        tot_n += n
        if row["flag"]:
            flags.append(f"{d.name}: {row['flag']}")

    if bad is not None:
        out["total"] = _failed_total(status, bad, tot_n)
        return out
    lnL = -0.5 * tot_w
    reason = ""
    if status == "not-converged":
        lnL -= cfg.not_converged_penalty
        reason = f"result.status = 'not-converged' (scored; penalty {cfg.not_converged_penalty:g})"
        flags.insert(0, reason)
    if not math.isfinite(lnL):
        lnL, reason = -math.inf, "non-finite ln L"
        flags.append(reason)
    out["total"] = {"chi2": tot_chi2, "chi2_weighted": tot_w, "n": tot_n, "dof": tot_n, "loglike": lnL,
                    "status": status, "flags": flags, "reason": reason}
    return out


def breakdown(result, datasets=None, nuisance=None, config=None):
    """Per-dataset contributions to ln L, plus ``"total"``.

    Parameters
    ----------
    result : engine.Result (or any object with ``status``, ``observables`` and ``modulated(phi_GV)``).
    datasets : names overriding ``config.datasets`` (default: :data:`DATASETS`).
    nuisance : {name: value} overriding :data:`NUISANCE_DEFAULTS` (``phi_AMS02``, ``phi_ACE``, ...) [GV].
    config : LikelihoodConfig, dict or None.

    Returns
    -------
    dict
        ``{dataset: {chi2, chi2_weighted, dof, n, weight, group, n_cut, n_outside, phi_GV, flag}}`` with
        chi2 = sum_i (ln M_i - ln D_i)^2 / (s_i^2 + s_mod^2 + s_t,i^2) over the n points used (dof = n; subtract
        fitted parameters yourself), and ``"total": {chi2, chi2_weighted, n, dof, loglike, status, flags,
        reason}`` with loglike = -chi2_weighted / 2 (minus the not-converged penalty).  A failed result
        or a non-finite/non-positive model where data exist gives ``loglike = -inf`` and a ``reason``.

    Raises
    ------
    ConfigError for bad input (unknown dataset or nuisance name, phi out of range, missing observable).
    """
    return _evaluate(result, datasets, nuisance, config)


def loglike(result, datasets=None, nuisance=None, config=None):
    """ln L of ``result`` given the data [physics spec Sec. 13]; -inf (never NaN) for a bad model.

    See :func:`breakdown` for the parameters; returns ``breakdown(...)["total"]["loglike"]`` as a float.
    """
    lnL = _evaluate(result, datasets, nuisance, config)["total"]["loglike"]
    return float(lnL) if not math.isnan(lnL) else -math.inf


_DEFAULT_CONFIG = LikelihoodConfig()
