"""Model-vs-data figure in the style of H22 Figs 1-7 [physics spec Sec. 12] (matplotlib, Agg canvas).

One figure, six panels: p and He intensities, e- intensity, B/C, 10Be/9Be, pbar/p and the positron
fraction.  Data carry 1-sigma error bars (stat and sys in quadrature) and one marker per experiment;
each model is drawn as its LIS (dashed) and force-field modulated with ``phi_GV`` (solid).  Several
results are drawn as a band (min-max envelope) around the first one.
"""

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from engine.datasets import load
from engine.errors import ConfigError, check_range
from survey.likelihood import model_on_data_axis

__all__ = ["plot_model_vs_data", "PANELS"]

#: Panel title -> (observables, datasets, x_kind, x label, y label, power k of the E^k J scaling (0: none)).
PANELS = {
    "p, He": (("p", "He"), ("AMS-02 p", "Voyager p", "AMS-02 He", "Voyager He"), "Ekn",
              "kinetic energy per nucleon $E_k$ [GeV/n]",
              r"$E_k^2 J$ [GeV/n m$^{-2}$ s$^{-1}$ sr$^{-1}$]", 2),
    "e-": (("e-",), ("AMS-02 e-",), "energy", "kinetic energy $E$ [GeV]",
           r"$E^3 J$ [GeV$^2$ m$^{-2}$ s$^{-1}$ sr$^{-1}$]", 3),
    "B/C": (("B/C",), ("AMS-02 B/C",), "rigidity", "rigidity $R$ [GV]", "B/C", 0),
    "10Be/9Be": (("10Be/9Be",), ("ACE 10Be/9Be", "ISOMAX 10Be/9Be", "AMS-02 10Be/9Be (preliminary)"), "Ekn",
                 "kinetic energy per nucleon $E_k$ [GeV/n]", r"$^{10}$Be/$^{9}$Be", 0),
    "pbar/p": (("pbar/p",), ("AMS-02 pbar/p",), "rigidity", "rigidity $R$ [GV]", r"$\bar p/p$", 0),
    "e+/(e+ + e-)": (("e+/(e+ + e-)",), ("AMS-02 e+/(e+ + e-)",), "energy", "energy $E$ [GeV]",
                     r"$e^+/(e^+ + e^-)$", 0),
}

_MARKERS = {"AMS-02": "o", "Voyager 1": "s", "ACE-CRIS": "^", "ISOMAX": "v", "Balloon": "P"}
_SPECIES_COLOR = {"p": "C0", "He": "C1"}
_X_PAD = 3.0          # model curves are drawn from x_min/3 to x_max*3 of the panel's data


def _as_results(result):
    if isinstance(result, Sequence) and not isinstance(result, (str, bytes)):
        results = list(result)
    else:
        results = [result]
    if not results or any(r is None for r in results):
        raise ConfigError("plot_model_vs_data: result must be a Result or a non-empty list of Results")
    return results


def _curve(obs, quantity, x_kind, k, xlim):
    """(x, y * x^k) of observable ``quantity`` on axis ``x_kind``, positive finite points in ``xlim`` only."""
    if obs is None or quantity not in obs:
        return None
    x, y = obs[quantity]
    x, y = model_on_data_axis(np.asarray(x, float), np.asarray(y, float), quantity, x_kind)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0) & (x >= xlim[0]) & (x <= xlim[1])
    if ok.sum() < 2:
        return None
    return x[ok], y[ok] * x[ok] ** k


def _band(curves):
    """Min-max envelope of several curves on a common log grid over their overlap."""
    lo = max(c[0][0] for c in curves)
    hi = min(c[0][-1] for c in curves)
    if not hi > lo:
        return None
    xg = np.geomspace(lo, hi, 200)
    ys = np.array([np.exp(np.interp(np.log(xg), np.log(c[0]), np.log(c[1]))) for c in curves])
    return xg, ys.min(axis=0), ys.max(axis=0)


def _data_x(name, x_kind):
    d = load(name)
    return d.x if d.x_kind == x_kind else model_on_data_axis(d.x, d.y, d.quantity, x_kind)[0]


def _draw_data(ax, name, quantity, x_kind, k, color):
    d = load(name)
    # model_on_data_axis converts from the model's axis (rigidity for nuclear fluxes), as AMS-02 data are.
    x, y = (d.x, d.y) if d.x_kind == x_kind else model_on_data_axis(d.x, d.y, d.quantity, x_kind)
    scale = (y / d.y) * x ** k
    prelim = d.validation_only
    ax.errorbar(x, d.y * scale, yerr=d.sigma * scale, ls="none", marker=_MARKERS.get(d.experiment, "D"),
                ms=3.5, lw=0.8, color=color if not prelim else "0.5", mfc="none" if prelim else color,
                label=f"{d.experiment}{' ' + quantity if quantity in _SPECIES_COLOR else ''}"
                      f"{' (preliminary)' if prelim else ''}")


def plot_model_vs_data(result, phi_GV=0.6, path=None, *, labels=None, title=None):
    """Draw one or several engine results against the CR data, in one six-panel figure.

    Parameters
    ----------
    result : engine.Result or non-empty sequence of Results
        The first result is drawn as lines; with several, a shaded min-max band spans them all.
    phi_GV : float
        Force-field potential [GV] for the solid (modulated) curves, 0 <= phi_GV <= 3.  The same phi is
        used in every panel (the ACE/ISOMAX epochs have their own phi in the likelihood).
    path : str or Path, optional
        Save the figure there (format from the extension).
    labels : sequence of str, optional
        Legend labels of the results (default: ``result.law``).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Nuclear fluxes are shown per kinetic energy per nucleon (AMS-02 points converted from rigidity with
    the same Jacobian as the model); lepton and nuclear intensities are multiplied by E^3 and E_k^2.
    """
    results = _as_results(result)
    phi_GV = check_range("plot.phi_GV", phi_GV, 0.0, 3.0, "GV")
    labels = list(labels) if labels is not None else [getattr(r, "law", f"model {i}") for i, r in
                                                          enumerate(results)]
    lis = [getattr(r, "observables", None) for r in results]
    mod = []
    for r in results:
        try:
            mod.append(r.modulated(phi_GV) if getattr(r, "status", "steady") != "failed" else None)
        except Exception:     # a plot must not die on one broken model; it is simply not drawn
            mod.append(None)

    fig = Figure(figsize=(15, 8.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3).ravel()
    for ax, (panel, (quantities, names, x_kind, xlabel, ylabel, k)) in zip(axes, PANELS.items()):
        xs = np.concatenate([_data_x(n, x_kind) for n in names])
        xlim = (xs.min() / _X_PAD, xs.max() * _X_PAD)
        for q in quantities:
            color = _SPECIES_COLOR.get(q, "k")
            for i, (o_lis, o_mod) in enumerate(zip(lis, mod)):
                if i > 0:
                    continue
                c = _curve(o_mod, q, x_kind, k, xlim)
                if c is not None:
                    ax.plot(*c, "-", color=color, lw=1.4,
                            label=f"{labels[0]}{' ' + q if len(quantities) > 1 else ''} "
                                  f"(φ = {phi_GV:g} GV)")
                c = _curve(o_lis, q, x_kind, k, xlim)
                if c is not None:
                    ax.plot(*c, "--", color=color, lw=1.1, label="LIS" if len(quantities) == 1 else None)
            if len(results) > 1:
                curves = [c for c in (_curve(o, q, x_kind, k, xlim) for o in mod) if c is not None]
                band = _band(curves) if len(curves) > 1 else None
                if band is not None:
                    ax.fill_between(*band, color=color, alpha=0.2, lw=0,
                                    label=f"{len(curves)} models" if q == quantities[0] else None)
            for name in names:
                if load(name).quantity == q:
                    _draw_data(ax, name, q, x_kind, k, color if len(quantities) > 1 else "C3")
        ax.set_xlim(*xlim)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(panel)
        ax.legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
