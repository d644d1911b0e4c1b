"""Outcome of a run per rigidity band at the Sun: steady, bottleneck, free-streaming, oscillating or
not-converged [physics spec Sec. 8 'multi-term balance' flags, Sec. 14; docs/interfaces.md, ``Result.outcome``].

:func:`outcome_bands` labels each wave rigidity from the wave balance's flags and the transport at the
Sun; a live run that is not steady as a whole gets, where it is neither bottlenecked nor free streaming, the
label of :func:`settling_labels`, which reads the run's last window of snapshots.
"""

import numpy as np

from .laws import FLAG_BOTTLENECK, FLAG_FREE
from .units import C_LIGHT

__all__ = ["outcome_bands", "settling_labels", "settling_of_window"]


def settling_labels(t, dt, spectra, lnu_sun, bin_of_r, *, floor, tol, osc_amp):
    """Which wave rigidities of a live run have settled over its last window (used by ``Result.outcome``).

    Parameters
    ----------
    t, dt : (n,) end time and length of each step of the window [Myr]
    spectra : (n, n_s, n_E) Sun-averaged CR densities after each step
    lnu_sun : (n, n_R) ln(nu_s/beta) at the Sun after each step
    bin_of_r : (n_s, n_R) int, for each species the spectral bin i with R_i <= R_wave < R_i+1 (-1 outside
        its grid): a wave rigidity's drift is the largest of bins i and i+1 over the species
    floor : bins below ``floor`` of their species' peak are ignored
    tol : largest drift (fraction) of a settled bin between the two halves of the window
    osc_amp : largest swing of ln nu around its net drift in a settled rigidity

    The window is split at its middle time; a bin's drift is |<N>_2 - <N>_1| / <N>_2 with <.> the
    dt-weighted means of the halves. ln nu's swing is (max - min over the window) - |last - first|, zero for
    a monotone drift and the peak-to-peak amplitude of an oscillation about a constant. A rigidity is
    ``steady`` when all its bins drift by less than ``tol`` and ln nu swings by less than ``osc_amp``,
    ``oscillating`` when ln nu swings by more, else ``not-converged``. Returns a list of n_R labels, or None
    when either half holds fewer than two steps.
    """
    t = np.asarray(t, float)
    dt = np.asarray(dt, float)
    spectra = np.asarray(spectra, float)
    lnu = np.asarray(lnu_sun, float)
    t_mid = 0.5 * ((t[0] - dt[0]) + t[-1]) if t.size else 0.0
    halves = [t <= t_mid, t > t_mid]
    if t.size < 4 or any(h.sum() < 2 for h in halves):
        return None
    means = [np.tensordot(dt[h], spectra[h], axes=(0, 0)) / dt[h].sum() for h in halves]
    a, b = means
    peak = b.max(axis=1, keepdims=True)
    mask = b > floor * np.maximum(peak, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        drift = np.where(mask, np.abs(b - a) / b, 0.0)
    n_s, n_R = bin_of_r.shape
    n_E = drift.shape[1]
    drift_r = np.zeros(n_R)
    for sp in range(n_s):
        inside = bin_of_r[sp] >= 0
        i = bin_of_r[sp][inside]
        drift_r[inside] = np.maximum(drift_r[inside],
                                     np.maximum(drift[sp, i], drift[sp, np.minimum(i + 1, n_E - 1)]))
    swing = (lnu.max(axis=0) - lnu.min(axis=0)) - np.abs(lnu[-1] - lnu[0])
    labels = []
    for r in range(n_R):
        if swing[r] > osc_amp:
            labels.append("oscillating")
        elif drift_r[r] < tol:
            labels.append("steady")
        else:
            labels.append("not-converged")
    return labels


def settling_of_window(prep, snaps, floor, tol, osc_amp):
    """settling_labels of a live run's snapshots (t, dt, N_sun, ln nu_sun at the Sun) on its wave rigidities
    (``prep``: an ``engine.solver._Prepared``), or None."""
    if len(snaps) < 4:
        return None
    return settling_labels([s[0] for s in snaps], [s[1] for s in snaps], [s[2] for s in snaps],
                           [s[3] for s in snaps], prep.widx, floor=floor, tol=tol, osc_amp=osc_amp)


def outcome_bands(prep, status, settling=None):
    """Label each wave rigidity at the Sun: free-streaming, bottleneck, steady, oscillating or not-converged
    (physics spec Sec. 8 'multi-term balance' flags; bottleneck also when streaming beats diffusion over the
    halo). A rigidity that is neither is ``steady`` if the run is; otherwise its label in ``settling`` (a live
    run's :func:`settling_labels`), else ``not-converged``."""
    g = prep.grid
    j = prep.sun[0]
    labels = []
    R = g.R_waves
    beta_p = R / np.sqrt(R ** 2 + 0.938 ** 2)
    for r in range(R.size):
        nu = beta_p[r] * prep.nuob[j, r]
        D = prep.galaxy.geometry_factor * (beta_p[r] * C_LIGHT) ** 2 / (3 * nu)
        D_cap = beta_p[r] * C_LIGHT * g.halo_height / 3
        f = prep.flag[j, r]
        if f == FLAG_FREE or D > 0.5 * D_cap:
            lab = "free-streaming"
        elif f == FLAG_BOTTLENECK or abs(prep.vst[j, r]) * g.halo_height > D:
            lab = "bottleneck"
        else:
            lab = "steady" if status == "steady" else (settling[r] if settling else "not-converged")
        labels.append(lab)
    bands = []
    lo = 0
    edges = np.sqrt(R[1:] * R[:-1])
    edges = np.concatenate([[R[0]], edges, [R[-1]]])
    for r in range(1, R.size + 1):
        if r == R.size or labels[r] != labels[lo]:
            bands.append((float(edges[lo]), float(edges[r]), labels[lo]))
            lo = r
    return bands
