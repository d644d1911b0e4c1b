"""Samplers: emcee ensembles driven through one agent pool, with checkpoints, resume and a design mode."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time
import types
import uuid
import warnings
from pathlib import Path

import emcee
import numpy as np
from emcee.state import State

from .config import ConfigError, SurveyConfig, config_diff, load_config
from .store import (
    ChainBackend,
    EvalStore,
    Run,
    RunLock,
    engine_hash,
    package_versions,
    records_to_table,
    write_json_atomic,
    write_parquet_atomic,
)

__all__ = [
    "run_survey",
    "resume_survey",
    "init_ray",
    "make_moves",
    "split_rhat",
    "autocorr_times",
    "convergence_report",
    "design_points",
    "SurveyError",
]

log = logging.getLogger(__name__)


class SurveyError(RuntimeError):
    """A survey cannot start or continue (existing run, changed config, ...)."""


# === Moves that tell the pool which walkers it evaluates === #


def _tracked_propose(self, model, state):
    """``RedBlueMove.propose`` of emcee 3.1.6, plus ``self._pool.walkers = <indices>`` before each map.

    The random-number calls are exactly emcee's, so chains are identical to stock emcee.
    """
    nwalkers, ndim = state.coords.shape
    if nwalkers < 2 * ndim and not self.live_dangerously:
        raise RuntimeError("It is unadvisable to use a red-blue move with fewer walkers than twice the number of dimensions.")
    self.setup(state.coords)
    accepted = np.zeros(nwalkers, dtype=bool)
    all_inds = np.arange(nwalkers)
    inds = all_inds % self.nsplits
    if self.randomize_split:
        model.random.shuffle(inds)
    for split in range(self.nsplits):
        S1 = inds == split
        sets = [state.coords[inds == j] for j in range(self.nsplits)]
        s = sets[split]
        c = sets[:split] + sets[split + 1:]
        q, factors = self.get_proposal(s, c, model.random)
        self._pool.walkers = all_inds[S1]
        new_log_probs, new_blobs = model.compute_log_prob_fn(q)
        for i, (j, f, nlp) in enumerate(zip(all_inds[S1], factors, new_log_probs)):
            lnpdiff = f + nlp - state.log_prob[j]
            if lnpdiff > np.log(model.random.rand()):
                accepted[j] = True
        new_state = State(q, log_prob=new_log_probs, blobs=new_blobs)
        state = self.update(state, new_state, accepted, S1)
    return state, accepted


_MOVE_CLASSES = {
    "stretch": emcee.moves.StretchMove,
    "de": emcee.moves.DEMove,
    "desnooker": emcee.moves.DESnookerMove,
    "walk": emcee.moves.WalkMove,
    "kde": emcee.moves.KDEMove,
}


def make_moves(spec, pool=None):
    """``[["de", 0.8], ["desnooker", 0.2]]`` -> emcee moves list (tracked so records know their walker)."""
    out = []
    for name, w in spec:
        m = _MOVE_CLASSES[name]()
        if pool is not None:
            m._pool = pool
            m.propose = types.MethodType(_tracked_propose, m)
        out.append((m, float(w)))
    return out


def _via_pool(theta):  # emcee's log_prob_fn; the pool's agents own the model, so this never runs
    raise RuntimeError("survey log-probabilities are evaluated by the agent pool")


# === Diagnostics === #


def split_rhat(x: np.ndarray) -> float:
    """Split-R-hat (Gelman et al. 2013, BDA3 Sec. 11.4) of ``x[chain, draw]``; nan if too short."""
    x = np.asarray(x, float)
    m, n = x.shape
    half = n // 2
    if half < 2:
        return float("nan")
    xs = np.concatenate([x[:, :half], x[:, n - half:]], axis=0)
    means = xs.mean(1)
    w = xs.var(1, ddof=1).mean()
    b = half * means.var(ddof=1)
    if w == 0:
        return float("nan")
    var = (half - 1) / half * w + b / half
    return float(np.sqrt(var / w))


def autocorr_times(chain: np.ndarray) -> np.ndarray:
    """Integrated autocorrelation time per parameter of ``chain[step, walker, param]`` (quiet)."""
    if chain.shape[0] < 4:
        return np.full(chain.shape[2], np.nan)
    alog = logging.getLogger("emcee.autocorr")
    level = alog.level
    alog.setLevel(logging.ERROR)  # quiet=True still logs a warning for every short chain
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return emcee.autocorr.integrated_time(chain, quiet=True)
    except Exception:
        return np.full(chain.shape[2], np.nan)
    finally:
        alog.setLevel(level)


def convergence_report(chains: dict, accepted: dict, names, burn_frac: float = 0.5) -> dict:
    """Acceptance, tau and R-hat of a set of ensembles (chains: id -> [step, walker, param])."""
    rep = {"ensembles": {}, "rhat": {}, "names": list(names)}
    for k, ch in chains.items():
        n = ch.shape[0]
        tau = autocorr_times(ch)
        rep["ensembles"][k] = {"steps": int(n), "acceptance": float(np.mean(accepted[k]) / max(n, 1)),
                               "tau": [float(t) for t in tau]}
    if chains:
        n = min(c.shape[0] for c in chains.values())
        burn = int(n * burn_frac)
        for i, name in enumerate(names):
            if len(chains) > 1:
                # one chain per ensemble: draws = (step, walker) flattened in step order
                x = np.stack([c[burn:n, :, i].reshape(-1) for c in chains.values()])
            else:
                x = next(iter(chains.values()))[burn:n, :, i].T  # walkers (indicative only)
            rep["rhat"][name] = split_rhat(x)
    return rep


# === Ray === #


def init_ray(address: str | None = "local", num_cpus: int | None = None) -> bool:
    """Start (``local``) or connect to (``auto``/address) Ray unless already initialised; True if we did."""
    import ray

    if ray.is_initialized():
        return False
    if address in (None, "local"):
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        ray.init(num_cpus=num_cpus or None, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 object_store_memory=200 * 1024**2)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return True


# === Run directory set-up === #


def _prepare_new(run_dir: Path, cfg: SurveyConfig, overwrite: bool, source: Path | None):
    if run_dir.exists() and any(p for p in run_dir.iterdir() if p.name != ".lock"):
        if not overwrite:
            raise SurveyError(
                f"{run_dir} already holds a run; use --overwrite to start again or `crsurvey resume {run_dir}` to continue it"
            )
    run_dir.mkdir(parents=True, exist_ok=True)


def _clear(run_dir: Path):
    for p in run_dir.iterdir():
        if p.name == ".lock":
            continue
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()


def _write_metadata(run_dir: Path, cfg: SurveyConfig, source: Path | None, session: str):
    write_json_atomic(run_dir / "config.resolved.json", cfg.to_dict())
    if source is not None and source.exists():
        shutil.copyfile(source, run_dir / "config.toml")
    info_path = run_dir / "run.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {"created": time.time(), "sessions": []}
    info.setdefault("sessions", []).append({"session": session, "started": time.time(), "pid": os.getpid(),
                                            "versions": package_versions(), "engine_hash": engine_hash()})
    info["versions"] = package_versions()
    info["engine_hash"] = engine_hash()
    write_json_atomic(info_path, info)


# === Public entry points === #


def run_survey(config, out=None, *, overwrite: bool = False, address: str | None = None,
               evaluate_fn=None, progress: bool = True, steps: int | None = None) -> Run:
    """Run a survey from a config (path, dict or SurveyConfig) into ``out`` and return the opened :class:`Run`.

    ``address``: ``"local"`` (embedded Ray, default), ``"auto"`` or ``host:port`` (overrides resources.address).
    ``evaluate_fn``: in-process model (no Ray) -- for tests and notebooks.
    """
    source = Path(config) if isinstance(config, (str, Path)) else None
    cfg = load_config(config)
    if steps is not None:
        cfg = cfg.replace_section("sampler", nsteps=int(steps))
    if address is not None:
        cfg = cfg.replace_section("resources", address=address)
    run_dir = Path(out) if out is not None else Path("results") / cfg.survey.name
    _prepare_new(run_dir, cfg, overwrite, source)
    with RunLock(run_dir):
        _clear(run_dir)
        session = _session_id()
        _write_metadata(run_dir, cfg, source, session)
        _execute(run_dir, cfg, session, evaluate_fn=evaluate_fn, progress=progress)
    return Run(run_dir)


def resume_survey(run_dir, *, steps: int | None = None, allow_changes: bool = False, config=None,
                  address: str | None = None, evaluate_fn=None, progress: bool = True) -> Run:
    """Continue every sampler of ``run_dir`` from its last checkpoint (same RNG state).

    ``steps`` is the *total* number of steps wanted. ``config`` (optional) is a new config to compare
    with the stored one: changed fields are refused unless ``allow_changes``.
    """
    run_dir = Path(run_dir)
    run = Run(run_dir)
    stored = run.config_dict
    if config is not None:
        new = load_config(config)
        # the stored config resolved again: a field added since it was written (at its default) is no change
        changed = config_diff(SurveyConfig.from_dict(stored).to_dict(), new.to_dict())
        if changed and not allow_changes:
            raise SurveyError(
                f"the config differs from the one stored in {run_dir} in: {', '.join(changed)}; resuming would mix "
                "two surveys. Use --allow-changes to resume anyway, or start a new run."
            )
        cfg = new
    else:
        cfg = SurveyConfig.from_dict(stored)
        changed = []
    changed_env = _changed_environment(run)
    if changed_env and not allow_changes:
        raise SurveyError(
            f"{run_dir} was written with a different {', '.join(changed_env)}; a resumed chain would mix models. "
            "Use --allow-changes to resume anyway."
        )
    if steps is not None:
        cfg = cfg.replace_section("sampler", nsteps=int(steps))
    if address is not None:
        cfg = cfg.replace_section("resources", address=address)
    with RunLock(run_dir):
        session = _session_id()
        _write_metadata(run_dir, cfg, None, session)
        _execute(run_dir, cfg, session, evaluate_fn=evaluate_fn, progress=progress)
    return Run(run_dir)


def _changed_environment(run: Run) -> list[str]:
    out = []
    old = run.info.get("engine_hash")
    if old and old != "unavailable" and old != engine_hash() and run.config_dict["survey"]["model"] == "engine":
        out.append("engine source (engine hash)")
    return out


def _session_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{uuid.uuid4().hex[:6]}"


# === The loop === #


def _execute(run_dir: Path, cfg: SurveyConfig, session: str, evaluate_fn=None, progress=True):
    from .agents import make_pool

    started_ray = False
    if cfg.resources.n_agents > 0 and evaluate_fn is None:
        started_ray = init_ray(cfg.resources.address, cfg.resources.num_cpus or max(cfg.resources.n_agents, 1))
    store = EvalStore(run_dir, cfg.survey.name, session)
    pool = None
    try:
        pool = make_pool(cfg, on_records=lambda recs: store.add(pool.context.get("ensemble", -1), recs),
                         evaluate_fn=evaluate_fn)
        if hasattr(pool, "warmup"):
            pool.warmup()
        if cfg.survey.mode == "design":
            _run_design(run_dir, cfg, pool, store, progress)
        else:
            _run_mcmc(run_dir, cfg, pool, store, progress)
    finally:
        if pool is not None:
            pool.close()
        if started_ray:
            import ray

            ray.shutdown()


def _initial_coords(cfg: SurveyConfig, k: int) -> np.ndarray:
    space = cfg.space
    rng = np.random.default_rng([cfg.sampler.seed, k])
    n = cfg.sampler.nwalkers
    if cfg.sampler.init == "prior":
        return space.draw(rng, n)
    lo, hi = space.bounds.T
    centre = np.array([p.to_sample(p.value) if p.value is not None else 0.5 * (a + b)
                       for p, a, b in zip(space.free, lo, hi)])
    x = centre + cfg.sampler.init_ball * (hi - lo) * rng.standard_normal((n, space.ndim))
    return np.clip(x, lo + 1e-12 * (hi - lo), hi - 1e-12 * (hi - lo))


def _run_mcmc(run_dir: Path, cfg: SurveyConfig, pool, store: EvalStore, progress: bool):
    space = cfg.space
    sc = cfg.sampler
    total = sc.nsteps
    samplers, backends, gens = {}, {}, {}
    for k in range(sc.ensembles):
        backend = ChainBackend(run_dir / "chains" / f"e{k}",
                               before_save=lambda it, k=k: store.flush(k, f"e{k}-s{it:08d}"))
        if not backend.initialized:
            backend.iteration = 0
        store.drop_parts_after(f"e{k}", backend.iteration - 1)
        sampler = emcee.EnsembleSampler(sc.nwalkers, space.ndim, _via_pool, pool=pool,
                                        moves=make_moves(sc.moves, pool), backend=backend)
        if backend.iteration == 0:
            seed_k = np.random.SeedSequence([sc.seed, k, 1]).generate_state(1)[0]
            state = State(_initial_coords(cfg, k), random_state=np.random.RandomState(seed_k).get_state())
        else:
            state = backend.get_last_sample()
        remaining = total - backend.iteration
        samplers[k], backends[k] = sampler, backend
        if remaining > 0:
            gens[k] = (sampler.sample(state, iterations=remaining, store=True), remaining)
    done0 = sum(b.iteration for b in backends.values())
    bar = _bar(progress, total * sc.ensembles, done0, cfg.survey.name)
    t0, n0 = time.time(), pool.n_evals
    stopped = None
    try:
        while gens:
            for k in list(gens):
                gen, _ = gens[k]
                pool.context = {"ensemble": k, "step": backends[k].iteration, "kind": "proposal"}
                try:
                    next(gen)
                except StopIteration:
                    del gens[k]
                    continue
                bar.update(1)
                if backends[k].iteration >= total:
                    del gens[k]
            it = min(b.iteration for b in backends.values())
            if it % sc.check_every == 0 or not gens:
                rep = _checkpoint_progress(run_dir, cfg, backends, pool, t0, n0)
                bar.set_postfix_str(_postfix(rep))
                if sc.convergence and it >= sc.min_steps and _converged(rep, it, sc):
                    stopped = f"converged at step {it}"
                    break
    finally:
        bar.close()
    rep = _checkpoint_progress(run_dir, cfg, backends, pool, t0, n0, final=True, stopped=stopped)
    return rep


def _converged(rep, it, sc) -> bool:
    taus = [t for e in rep["ensembles"].values() for t in e["tau"]]
    if not taus or any(not np.isfinite(t) for t in taus):
        return False
    ok_tau = it > sc.tau_factor * max(taus)
    rh = [r for r in rep["rhat"].values()]
    ok_rhat = all(np.isfinite(r) and r < sc.rhat_max for r in rh)
    return ok_tau and ok_rhat


def _checkpoint_progress(run_dir, cfg, backends, pool, t0, n0, final=False, stopped=None) -> dict:
    chains = {k: b.get_chain() for k, b in backends.items() if b.iteration}
    acc = {k: b.accepted for k, b in backends.items() if b.iteration}
    rep = convergence_report(chains, acc, cfg.space.sample_names)
    dt = max(time.time() - t0, 1e-9)
    rep.update(time=time.time(), evals=pool.n_evals, failed=pool.n_failed, replaced=pool.n_replaced,
               evals_per_s=(pool.n_evals - n0) / dt, agents=getattr(pool, "size", 1), final=final, stopped=stopped,
               step=min((b.iteration for b in backends.values()), default=0))
    path = run_dir / "progress.json"
    hist = json.loads(path.read_text()) if path.exists() else []
    hist.append(rep)
    write_json_atomic(path, hist)
    return rep


def _postfix(rep) -> str:
    acc = np.mean([e["acceptance"] for e in rep["ensembles"].values()]) if rep["ensembles"] else float("nan")
    rh = [r for r in rep["rhat"].values() if np.isfinite(r)]
    return f"acc={acc:.2f} Rhat={max(rh) if rh else float('nan'):.3f} ev/s={rep['evals_per_s']:.1f}"


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s):
        pass

    def close(self):
        pass


def _bar(progress, total, initial, name):
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=f"{name} steps", unit="step", file=sys.stderr, leave=True)


# === Design mode (grid / Latin hypercube) === #


def design_points(cfg: SurveyConfig) -> np.ndarray:
    """The design in sampling coordinates: ``lhs`` (scipy.stats.qmc.LatinHypercube) or a full ``grid``."""
    space, d = cfg.space, cfg.design
    if d.method == "lhs":
        from scipy.stats import qmc

        q = qmc.LatinHypercube(d=space.ndim, seed=d.seed).random(d.n)
    else:
        n = d.levels ** space.ndim
        if n > 1_000_000:
            raise ConfigError(f"design.levels = {d.levels} gives {n} grid points in {space.ndim}-D: too many (max 1e6)")
        axes = [(np.arange(d.levels) + 0.5) / d.levels] * space.ndim
        q = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, space.ndim)
    return space.from_unit(q)


def _run_design(run_dir: Path, cfg: SurveyConfig, pool, store: EvalStore, progress: bool):
    X = design_points(cfg)
    names = cfg.space.sample_names
    dpath = run_dir / "design.parquet"
    if not dpath.exists():
        write_parquet_atomic(records_to_table([{"index": float(i), **dict(zip(names, x))} for i, x in enumerate(X)]),
                             dpath)
    b = cfg.design.batch
    nb = math.ceil(len(X) / b)
    done = {int(p.stem.split("-b")[1]) for p in (run_dir / "evals").glob("d-b*.parquet")}
    bar = _bar(progress, len(X), min(len(done) * b, len(X)), cfg.survey.name + " design")
    t0, n0 = time.time(), pool.n_evals
    try:
        for i in range(nb):
            if i in done:
                continue
            idx = np.arange(i * b, min((i + 1) * b, len(X)))
            pool.context = {"ensemble": -1, "step": i, "kind": "design"}
            pool.walkers = idx
            pool.map(None, X[idx])
            store.flush(-1, f"d-b{i:06d}")
            bar.update(len(idx))
    finally:
        bar.close()
    path = run_dir / "progress.json"
    hist = json.loads(path.read_text()) if path.exists() else []
    hist.append({"time": time.time(), "design_points": int(len(X)), "batches": nb, "evals": pool.n_evals,
                 "failed": pool.n_failed, "replaced": pool.n_replaced,
                 "evals_per_s": (pool.n_evals - n0) / max(time.time() - t0, 1e-9), "final": True})
    write_json_atomic(path, hist)

