"""Posterior products with arviz 1.x: DataTree in (chain, draw) order, R-hat/ESS summary, plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["to_datatree", "default_burn", "summary", "plot_survey", "viable_band", "best_fit"]


def default_burn(chains: dict) -> int:
    """Burn-in: 2 x max integrated autocorrelation time, at most half the chain."""
    from .samplers import autocorr_times

    n = min(c.shape[0] for c in chains.values())
    taus = np.concatenate([autocorr_times(c) for c in chains.values()])
    taus = taus[np.isfinite(taus)]
    burn = int(math.ceil(2 * taus.max())) if taus.size else n // 4
    return min(burn, n // 2)


def to_datatree(run, burn: int | None = None, thin: int = 1):
    """arviz DataTree of a run: chain = (ensemble, walker) flattened, draw = step after burn-in.

    Built with ``az.from_dict`` in (chain, draw) order (ecosystem guide Sec. 3), so rank plots, R-hat
    and ESS work. ``posterior`` holds sampling coordinates (``log10_nu0``...); ``sample_stats.lp`` the
    log posterior. Attributes record the burn-in, thinning and ensemble of each chain.
    """
    import arviz as az

    chains = run.chains()
    if not chains:
        raise ValueError(f"{run.dir}: no chain steps stored yet")
    lps = run.log_prob()
    if burn is None:
        burn = default_burn(chains)
    n = min(c.shape[0] for c in chains.values())
    names = run.param_names
    ch = np.concatenate([chains[k][burn:n:thin].transpose(1, 0, 2) for k in sorted(chains)], axis=0)
    lp = np.concatenate([lps[k][burn:n:thin].T for k in sorted(chains)], axis=0)
    ens = np.concatenate([np.full(chains[k].shape[1], k) for k in sorted(chains)])
    dt = az.from_dict({"posterior": {nm: ch[:, :, i] for i, nm in enumerate(names)},
                       "sample_stats": {"lp": lp}})
    dt.attrs.update(burn=int(burn), thin=int(thin), run=str(run.dir), ensembles=len(chains))
    dt.posterior.attrs["ensemble_of_chain"] = ens.tolist()
    return dt


def summary(dt):
    """``az.summary`` (mean, sd, 89% ETI, ess_bulk, ess_tail, r_hat, mcse) as a pandas DataFrame."""
    import arviz as az

    return az.summary(dt)


def viable_band(config):
    """The closed-form viable band where it applies, else None.

    New sources (zeta_cr = xi_cr = 0): zeta_k = xi_k - (1 - delta_s)(1 + xi_A - zeta_A) for
    0.4 <= delta_s <= 0.7 [physics spec Sec. 8; H22 Sec. 3.5.2]. Returns a dict describing it.
    """
    law = config.survey.engine_law
    if law not in ("new_linear", "new_external", "generic"):
        return None
    vals = {p.name: p.value for p in config.parameters}
    free = {p.name for p in config.parameters if p.free}
    fixed = {k: v for k, v in vals.items() if k not in free}
    defaults = {"xi_k": 1.0 if law == "new_linear" else 0.5, "xi_A": 1.0 if law == "new_linear" else 0.0,
                "zeta_A": 1.0 if law == "new_linear" else 0.0}
    # new_linear: damping is NLL-dominated (xi_k = xi_A = 1, spec Sec. 8 caveat); new_external: turb/LL

    def get(name):
        v = fixed.get(name)
        return defaults[name] if v is None else v

    return {"free": free, "xi_k": get("xi_k"), "xi_A": get("xi_A"), "zeta_A": get("zeta_A"),
            "delta_s": (0.4, 0.7), "law": law}


def _zeta_band(xi_k, xi_A, zeta_A, delta_s):
    return xi_k - (1.0 - delta_s) * (1.0 + xi_A - zeta_A)


def _plot_band(run, dt, band, path):
    import matplotlib.pyplot as plt

    post = dt.posterior
    fig, ax = plt.subplots(figsize=(5, 4))
    lo_d, hi_d = band["delta_s"]
    if "xi_k" in band["free"] and "zeta_k" in post:
        x = np.asarray(post["xi_k"]).ravel()
        y = np.asarray(post["zeta_k"]).ravel()
        ax.plot(x, y, ",", alpha=0.4, color="k")
        xs = np.linspace(0, 2, 50)
        ax.fill_between(xs, _zeta_band(xs, band["xi_A"], band["zeta_A"], lo_d),
                        _zeta_band(xs, band["xi_A"], band["zeta_A"], hi_d), color="C1", alpha=0.3,
                        label=r"closed form, $0.4\leq\delta_s\leq0.7$")
        ax.set_xlabel(r"$\xi_k$")
        ax.set_ylabel(r"$\zeta_k$")
    elif "zeta_k" in post:
        y = np.asarray(post["zeta_k"]).ravel()
        ax.hist(y, bins=30, color="k", alpha=0.6, density=True, label="posterior")
        a = _zeta_band(band["xi_k"], band["xi_A"], band["zeta_A"], lo_d)
        b = _zeta_band(band["xi_k"], band["xi_A"], band["zeta_A"], hi_d)
        ax.axvspan(min(a, b), max(a, b), color="C1", alpha=0.3,
                   label=rf"closed form ($\xi_k$={band['xi_k']:g}, $\xi_A$={band['xi_A']:g}, $\zeta_A$={band['zeta_A']:g})")
        ax.set_xlabel(r"$\zeta_k$")
    else:
        plt.close(fig)
        return None
    ax.set_title(f"{band['law']}: viable band [spec Sec. 8]")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def best_fit(run):
    """The stored evaluation with the highest log-probability, as a dict (or None)."""
    import pyarrow.compute as pc

    t = run.evaluations()
    if t.num_rows == 0 or "log_prob" not in t.column_names:
        return None
    lp = t["log_prob"].fill_null(-np.inf)
    i = int(pc.index(lp, pc.max(lp)).as_py())
    return {c: t[c][i].as_py() for c in t.column_names}


def plot_survey(run_dir, out=None, burn: int | None = None) -> list[Path]:
    """Trace, corner (pair) and viable-band plots, an R-hat/ESS summary table and best-fit spectra vs data.

    Returns the written paths (in ``<run>/plots`` unless ``out``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import arviz as az
    import matplotlib.pyplot as plt

    from .store import open_run

    run = open_run(run_dir)
    out = Path(out) if out else run.dir / "plots"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    cfg = run.config
    if cfg.survey.mode == "design":
        written += _plot_design(run, out)
        return written
    dt = to_datatree(run, burn=burn)
    summ = summary(dt)
    (out / "summary.csv").write_text(summ.to_csv())
    (out / "summary.txt").write_text(summ.to_string() + "\n")
    written += [out / "summary.csv", out / "summary.txt"]
    pc = az.plot_trace_dist(dt, backend="matplotlib")
    pc.savefig(out / "trace.png")
    written.append(out / "trace.png")
    plt.close("all")
    names = list(dt.posterior.data_vars)
    if len(names) >= 2:
        pm = az.plot_pair(dt, var_names=names, marginal=True, backend="matplotlib")
        pm.savefig(out / "corner.png")
        written.append(out / "corner.png")
        plt.close("all")
    band = viable_band(cfg)
    if band is not None:
        p = _plot_band(run, dt, band, out / "viable_band.png")
        if p:
            written.append(p)
    bf = _plot_best_fit(run, cfg, out)
    if bf:
        written.append(bf)
    return written


def _plot_best_fit(run, cfg, out):
    """Re-solve the best evaluation with the engine and plot it against the data (survey.plots)."""
    if cfg.survey.model != "engine":
        return None
    try:
        from survey import plots
    except ImportError:
        return None
    best = best_fit(run)
    if best is None or not np.isfinite(best.get("log_prob") or -np.inf):
        return None
    from .agents import EngineModel

    space = cfg.space
    eng, nui = space.split(best["theta"])
    res = EngineModel(cfg).solve(eng)
    path = out / "bestfit.png"
    plots.plot_model_vs_data(res, phi_GV=nui.get("phi_AMS02", 0.6), path=str(path))
    return path


def _plot_design(run, out):
    import matplotlib.pyplot as plt

    t = run.evaluations()
    if t.num_rows == 0:
        return []
    names = run.param_names
    theta = np.array(t["theta"].to_pylist(), float)
    col = "chi2_dof" if "chi2_dof" in t.column_names else "log_like"
    c = np.array([np.nan if v is None else v for v in t[col].to_pylist()], float)
    if col == "chi2_dof":
        c = np.log10(c)
    d = len(names)
    fig, axes = plt.subplots(d, d, figsize=(2.2 * d, 2.2 * d), squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j >= i:
                ax.axis("off")
                continue
            ok = np.isfinite(c)
            ax.scatter(theta[~ok, j], theta[~ok, i], s=6, c="lightgrey", marker="x")
            sc = ax.scatter(theta[ok, j], theta[ok, i], s=8, c=c[ok], cmap="viridis_r")
            if i == d - 1:
                ax.set_xlabel(names[j])
            if j == 0:
                ax.set_ylabel(names[i])
    if d > 1:
        fig.colorbar(sc, ax=axes, label="log10 chi2/dof" if col == "chi2_dof" else col)
    path = out / "design.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
