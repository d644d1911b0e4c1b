"""``crsurvey`` command line: a thin layer over run_survey, resume_survey, survey_status, plot_survey, run_model."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

__all__ = ["app", "survey_status", "run_model", "parse_sets"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="crsurvey: which wave driving/damping laws reproduce the observed cosmic-ray spectra?")
console = Console()


@app.callback()
def _main():
    # local Ray clusters enable token auth from Ray 2.59; the embedded single-machine Ray does not need it
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def _fail(e: Exception):
    console.print(f"[bold red]error:[/] {e}")
    raise typer.Exit(2)


# === Python API used by the commands === #


def survey_status(run_dir) -> dict:
    """Steps, acceptance, tau, R-hat, evaluations/s and failures of a run (reads files only)."""
    from .samplers import convergence_report
    from .store import open_run

    run = open_run(run_dir)
    cfg = run.config
    out = {"run": str(run.dir), "name": run.name, "mode": cfg.survey.mode, "law": cfg.survey.engine_law,
           "nsteps": cfg.sampler.nsteps, "params": run.param_names}
    lock = run.dir / ".lock"
    out["locked_by"] = json.loads(lock.read_text() or "{}") if lock.exists() else None
    if cfg.survey.mode == "mcmc":
        backends = run.backends()
        chains = {k: b.get_chain() for k, b in backends.items() if b.iteration}
        acc = {k: b.accepted for k, b in backends.items() if b.iteration}
        rep = convergence_report(chains, acc, run.param_names)
        out["ensembles"] = rep["ensembles"]
        out["rhat"] = rep["rhat"]
        out["steps"] = min((b.iteration for b in backends.values()), default=0)
    t = run.evaluations()
    n = t.num_rows
    out["evaluations"] = n
    if n:
        st = t["status"].to_pylist()
        out["failures"] = sum(s == "error" for s in st)
        out["outside_prior"] = sum(s == "prior" for s in st)
        reasons = {}
        for s, r in zip(st, t["reason"].to_pylist()):
            if s == "error":
                reasons[r] = reasons.get(r, 0) + 1
        out["failure_reasons"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1])[:5])
        # evaluated but not scored: the engine ran and the likelihood refused the run (ln L = -inf), e.g. a live
        # run that stalled before likelihood.min_t_myr; these points are excluded from the posterior
        msgs = t["engine_message"].to_pylist() if "engine_message" in t.column_names else [None] * n
        unscored = {}
        for s, ll, m in zip(st, t["log_like"].to_pylist(), msgs):
            if s == "ok" and ll is not None and ll == -math.inf:
                key = _message_kind(m)
                unscored[key] = unscored.get(key, 0) + 1
        out["unscored"] = sum(unscored.values())
        out["unscored_reasons"] = dict(sorted(unscored.items(), key=lambda kv: -kv[1])[:5])
        # throughput per session: evaluations / (last end - first start)
        sess, t0, t1 = t["session"].to_pylist(), t["t_start"].to_pylist(), t["t_end"].to_pylist()
        span = {}
        for s_, a, b in zip(sess, t0, t1):
            lo, hi, c = span.get(s_, (a, b, 0))
            span[s_] = (min(lo, a), max(hi, b), c + 1)
        busy = sum(hi - lo for lo, hi, _ in span.values())
        out["evals_per_s"] = n / busy if busy > 0 else float("nan")
        w = np.array([x or 0.0 for x in t["wall_s"].to_pylist()])
        out["mean_eval_s"] = float(w.mean())
        lp = np.array([x if x is not None else -np.inf for x in t["log_prob"].to_pylist()])
        out["best_log_prob"] = float(lp.max())
        if "outcome" in t.column_names:
            # engine outcomes of the evaluated points (proposals outside the prior and failures have none;
            # they are counted above)
            oc = {}
            for o in t["outcome"].to_pylist():
                if o is not None:
                    oc[o] = oc.get(o, 0) + 1
            out["outcomes"] = oc
        if "chi2_dof" in t.column_names:
            c = np.array([np.nan if x is None else x for x in t["chi2_dof"].to_pylist()], float)
            if np.isfinite(c).any():
                out["best_chi2_dof"] = float(np.nanmin(c))
    prog = run.progress()
    if prog:
        out["last_session_evals_per_s"] = prog[-1].get("evals_per_s")
        out["agents"] = prog[-1].get("agents")
        out["replaced_agents"] = sum(p.get("replaced", 0) for p in prog if p.get("final"))
        out["stopped"] = prog[-1].get("stopped")
    return out


def _message_kind(message) -> str:
    """The kind of an engine message without its numbers: "stalled at t = 2 Myr: ..." -> "stalled",
    "step budget (400) exhausted at t = ..." -> "step budget (400) exhausted"."""
    m = str(message or "").split(" at t")[0].split(":")[0].split(";")[0].strip()
    return m[:80] or "ln L = -inf"


def parse_sets(items) -> dict:
    """``["nu0=2e-9", "delta=0.5"]`` -> {"nu0": 2e-9, "delta": 0.5} (numbers; strings kept)."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise ValueError(f"--set {it!r}: expected name=value")
        k, v = (a.strip() for a in it.split("=", 1))
        for conv in (int, float):
            try:
                out[k] = conv(v)
                break
            except ValueError:
                continue
        else:
            out[k] = v
    return out


def _at(xy, x0):
    x, y = (np.asarray(a, float) for a in xy)
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2 or not (x[ok].min() <= x0 <= x[ok].max()):
        return float("nan")
    return float(np.exp(np.interp(np.log(x0), np.log(x[ok]), np.log(y[ok]))))


KEY_OBS = ("B/C", "p", "pbar/p", "e+/(e+ + e-)", "10Be/9Be")


def run_model(law: str = "empirical", params: dict | None = None, out=None, plot: bool = False,
              grid: dict | None = None, galaxy: dict | None = None, phi_GV: float = 0.6,
              t_max_myr: float | None = None, initial: str = "normal", max_steps: int | None = None) -> dict:
    """One ``engine.solve``: writes ``result.parquet``, ``summary.json`` and ``result.png`` (spectra and ratios
    vs data) into ``out`` and returns a summary. ``t_max_myr=None`` and ``max_steps=None`` use the engine's
    defaults."""
    import engine

    t0 = time.time()
    kw = {} if t_max_myr is None else {"t_max_myr": t_max_myr}
    if max_steps is not None:
        kw["max_steps"] = max_steps
    res = engine.solve(params or {}, law=law, grid=grid or None, galaxy=galaxy or None, initial=initial, **kw)
    wall = time.time() - t0
    summ = {"law": res.law, "status": res.status, "message": res.message, "wall_s": wall,
            "params": dict(res.params), "outcome": [list(b) for b in res.outcome], "observables": {}}
    for name in KEY_OBS:
        if name in res.observables:
            summ["observables"][name] = {"10": _at(res.observables[name], 10.0), "100": _at(res.observables[name], 100.0)}
    try:
        from survey import likelihood

        summ["loglike"] = likelihood.loglike(res, nuisance={"phi_AMS02": phi_GV})
        if not math.isfinite(summ["loglike"]):
            summ["loglike_reason"] = likelihood.breakdown(res, nuisance={"phi_AMS02": phi_GV})["total"]["reason"]
    except Exception as e:
        summ["loglike_error"] = f"{type(e).__name__}: {e}"
    if out is not None:
        from .store import records_to_table, write_json_atomic, write_parquet_atomic

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(records_to_table([res.to_record()]), out / "result.parquet")
        write_json_atomic(out / "summary.json", summ)
        summ["files"] = [str(out / "result.parquet"), str(out / "summary.json")]
        summ["files"].append(str(_plot_result(res, out / "result.png", phi_GV)))
    summ["result"] = res
    return summ


def _plot_result(res, path, phi_GV):
    import matplotlib

    matplotlib.use("Agg")
    try:
        from survey import plots

        plots.plot_model_vs_data(res, phi_GV=phi_GV, path=str(path))
        return path
    except ImportError:
        pass
    import matplotlib.pyplot as plt

    names = [n for n in KEY_OBS if n in res.observables]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3), squeeze=False)
    for ax, n in zip(axes[0], names):
        x, y = res.observables[n]
        ax.loglog(x, y)
        ax.set_title(n)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# === Commands === #


@app.command()
def run(config: Path = typer.Argument(..., help="survey config (TOML)"),
        out: Path = typer.Option(None, "--out", help="run directory (default results/<name>)"),
        address: str = typer.Option(None, "--address", help="local (embedded Ray), auto, or host:port"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing run directory"),
        steps: int = typer.Option(None, "--steps", help="override sampler.nsteps"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar")):
    """Run a survey (MCMC or design) from CONFIG."""
    from .config import ConfigError
    from .samplers import SurveyError, run_survey
    from .store import LockError

    try:
        r = run_survey(config, out, overwrite=overwrite, address=address, progress=not quiet, steps=steps)
    except (ConfigError, SurveyError, LockError, FileNotFoundError) as e:
        _fail(e)
    console.print(f"[green]done[/]: {r.dir}")


@app.command()
def resume(run_dir: Path = typer.Argument(..., help="run directory"),
           steps: int = typer.Option(None, "--steps", help="total number of steps wanted (not 'more')"),
           allow_changes: bool = typer.Option(False, "--allow-changes", help="resume even if the config changed"),
           config: Path = typer.Option(None, "--config", help="new config to compare with the stored one"),
           address: str = typer.Option(None, "--address", help="local, auto, or host:port"),
           quiet: bool = typer.Option(False, "--quiet")):
    """Continue every sampler of RUN_DIR from its last checkpoint (identical RNG state)."""
    from .config import ConfigError
    from .samplers import SurveyError, resume_survey
    from .store import LockError

    try:
        r = resume_survey(run_dir, steps=steps, allow_changes=allow_changes, config=config, address=address,
                          progress=not quiet)
    except (ConfigError, SurveyError, LockError, FileNotFoundError) as e:
        _fail(e)
    console.print(f"[green]done[/]: {r.dir}")


def _fmt(x, f="{:.3g}"):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f.format(x)


@app.command()
def status(run_dir: Path = typer.Argument(...), as_json: bool = typer.Option(False, "--json")):
    """Steps, acceptance, tau, R-hat, evaluations/s and failures of RUN_DIR."""
    try:
        s = survey_status(run_dir)
    except FileNotFoundError as e:
        _fail(e)
    if as_json:
        print(json.dumps(s, indent=1, default=str))
        return
    head = Table(title=f"{s['name']}  ({s['mode']}, law {s['law']})", show_header=False)
    head.add_row("run directory", s["run"])
    if s["mode"] == "mcmc":
        head.add_row("steps", f"{s.get('steps', 0)} / {s['nsteps']}" + (f"  ({s['stopped']})" if s.get("stopped") else ""))
    head.add_row("evaluations", str(s["evaluations"]))
    head.add_row("evaluations/s", _fmt(s.get("evals_per_s")) + f"  (mean eval {_fmt(s.get('mean_eval_s'))} s, "
                 f"{s.get('agents', '-')} agents)")
    head.add_row("failures", f"{s.get('failures', 0)} errors, {s.get('outside_prior', 0)} outside prior, "
                 f"{s.get('replaced_agents', 0) or 0} agents replaced")
    for r, c in (s.get("failure_reasons") or {}).items():
        head.add_row("  reason", f"{c} x {r[:100]}")
    if s.get("unscored"):
        head.add_row("unscored", f"{s['unscored']} engine runs with ln L = -inf (not in the posterior)")
        for r, c in (s.get("unscored_reasons") or {}).items():
            head.add_row("  engine said", f"{c} x {r}")
    if s.get("outcomes"):
        head.add_row("outcomes", ", ".join(f"{k}: {v}" for k, v in s["outcomes"].items()))
    head.add_row("best log-prob", _fmt(s.get("best_log_prob"), "{:.4g}"))
    if "best_chi2_dof" in s:
        head.add_row("best chi2/dof", _fmt(s["best_chi2_dof"]))
    head.add_row("running", f"pid {s['locked_by'].get('pid')} on {s['locked_by'].get('host')}" if s["locked_by"] else "no")
    console.print(head)
    if s["mode"] == "mcmc" and s.get("ensembles"):
        t = Table(title="per parameter")
        t.add_column("parameter")
        for k in s["ensembles"]:
            t.add_column(f"tau e{k}")
        t.add_column("split R-hat")
        for i, p in enumerate(s["params"]):
            t.add_row(p, *[_fmt(e["tau"][i], "{:.1f}") for e in s["ensembles"].values()], _fmt(s["rhat"].get(p), "{:.3f}"))
        t.add_row("acceptance", *[_fmt(e["acceptance"], "{:.2f}") for e in s["ensembles"].values()], "")
        console.print(t)


@app.command()
def plot(run_dir: Path = typer.Argument(...), out: Path = typer.Option(None, "--out"),
         burn: int = typer.Option(None, "--burn", help="burn-in steps (default 2 x tau, <= half)")):
    """Trace, corner (+ viable band), R-hat/ESS summary and best-fit spectra for RUN_DIR."""
    from .posterior import plot_survey

    try:
        paths = plot_survey(run_dir, out=out, burn=burn)
    except (FileNotFoundError, ValueError) as e:
        _fail(e)
    summ = Path(paths[0]).with_name("summary.txt") if paths else None
    if summ is not None and summ.exists():
        console.print(summ.read_text())
    for p in paths:
        console.print(f"wrote {p}")


@app.command()
def model(law: str = typer.Option("empirical", "--law", help="engine law preset"),
          set_: list[str] = typer.Option(None, "--set", help="parameter name=value (repeatable)"),
          grid: list[str] = typer.Option(None, "--grid", help="grid field name=value (repeatable)"),
          phi: float = typer.Option(0.6, "--phi", help="force-field potential for the likelihood [GV]"),
          t_max: float = typer.Option(None, "--t-max", help="t_max [Myr] (default: the engine's, 10 Gyr)"),
          initial: str = typer.Option("normal", "--initial", help="initial CR state: normal, low or high"),
          max_steps: int = typer.Option(None, "--max-steps",
                                        help="step budget (default: the engine's, 1200 live laws, 4000 fixed)"),
          out: Path = typer.Option(None, "--out", help="directory for result.parquet, summary.json, result.png"),
          plot_: bool = typer.Option(False, "--plot", help="write the figure (to results/model-LAW without --out)")):
    """Evaluate one model with engine.solve and print a one-screen summary."""
    try:
        params = parse_sets(set_)
        g = parse_sets(grid)
        if plot_ and out is None:
            out = Path("results") / f"model-{law}"
        s = run_model(law, params, out=out, plot=plot_, grid=g, phi_GV=phi, t_max_myr=t_max, initial=initial,
                      max_steps=max_steps)
    except ImportError as e:
        _fail(f"the engine is not importable: {e}")
    except ValueError as e:  # engine.ConfigError is a ValueError
        _fail(e)
    t = Table(title=f"law {s['law']}: {s['status']}  ({s['wall_s']:.2f} s)", show_header=True)
    t.add_column("observable")
    t.add_column("at 10 GV")
    t.add_column("at 100 GV")
    for n, v in s["observables"].items():
        t.add_row(n, _fmt(v["10"]), _fmt(v["100"]))
    console.print(t)
    console.print("message: " + (s["message"] or "-"))
    console.print("outcome bands: " + ", ".join(f"{lo:.3g}-{hi:.3g} GV {lab}" for lo, hi, lab in s["outcome"]))
    if "loglike" in s:
        why = f" ({s['loglike_reason']})" if s.get("loglike_reason") else ""
        console.print(f"ln L (default datasets, phi={phi} GV): {s['loglike']:.4g}{why}")
    console.print("params: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                         for k, v in s["params"].items()))
    for f in s.get("files", []):
        console.print(f"wrote {f}")


@app.command()
def warmup():
    """Compile (or load from NUMBA_CACHE_DIR) the engine's numba kernels once on this node."""
    t0 = time.time()
    try:
        import engine

        fn = getattr(engine, "warmup", None)
        if fn is not None:
            fn()
        else:
            engine.solve({}, law="empirical")
    except Exception as e:
        _fail(f"engine warm-up failed: {type(e).__name__}: {e}")
    console.print(f"engine warm in {time.time() - t0:.1f} s (NUMBA_CACHE_DIR={os.environ.get('NUMBA_CACHE_DIR', '-')})")


@app.command()
def reproduce(out: Path = typer.Option(Path("results/reproduce"), "--out", help="report directory"),
              quick: bool = typer.Option(False, "--quick", help="coarse grid (CI, a few minutes on 2 cores)"),
              address: str = typer.Option("local", "--address", help="local (embedded Ray), auto, or host:port")):
    """Run the seed paper's (H22) model comparison and write report.html + summary.json."""
    from .reproduce import reproduce as _reproduce

    rep = _reproduce(out, quick=quick, address=address)
    console.print(rep.table(), soft_wrap=True)
    console.print(f"wrote {rep.html_path} and {rep.json_path} ({rep.wall_s:.0f} s)")


if __name__ == "__main__":  # python -m survey.cli
    sys.exit(app())
