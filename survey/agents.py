"""Engine agents: a plain ``EngineAgent`` holding a warm model, its Ray actor, and emcee-compatible pools."""

from __future__ import annotations

import importlib
import logging
import math
import os
import socket
import time
from collections import deque

import numpy as np

__all__ = [
    "EngineAgent",
    "EngineModel",
    "RemoteEngineAgent",
    "AgentPool",
    "SerialPool",
    "make_pool",
    "load_model",
    "flagged_record",
]

log = logging.getLogger(__name__)


# === Models: what one evaluation computes === #


class EngineModel:
    """The default model: ``engine.solve`` then ``survey.likelihood.loglike`` (+ breakdown scalars).

    Parameters
    ----------
    config : SurveyConfig
    """

    def __init__(self, config):
        import engine

        self.engine = engine
        try:
            from survey import likelihood
        except ImportError:  # likelihood not written yet: spectra only, log L = 0
            likelihood = None
        self.likelihood = likelihood
        self.law = config.survey.engine_law
        self.grid = config.engine.grid or None
        self.galaxy = config.engine.galaxy or None
        self.t_max_myr = config.engine.t_max_myr
        self.initial = config.engine.initial
        self.max_steps = config.engine.max_steps or None    # 0: the engine's budget
        self.datasets = config.likelihood.datasets
        self.options = config.likelihood.options or None
        warm = getattr(engine, "warmup", None)
        if warm is not None:  # compile / load the numba cache before the first timed evaluation
            warm()

    def solve(self, params):
        return self.engine.solve(params, law=self.law, galaxy=self.galaxy, grid=self.grid,
                                 initial=self.initial, t_max_myr=self.t_max_myr, max_steps=self.max_steps)

    def __call__(self, params: dict, nuisance: dict) -> dict:
        res = self.solve(params)
        out = {"record": res.to_record(), "outcome": outcome_class(res)}
        if self.likelihood is None:
            out["log_like"] = 0.0
            return out
        out["log_like"] = float(self.likelihood.loglike(res, datasets=self.datasets, nuisance=nuisance,
                                                        config=self.options))
        bd = getattr(self.likelihood, "breakdown", None)
        if bd is not None:
            try:
                out.update(_breakdown_scalars(bd(res, datasets=self.datasets, nuisance=nuisance, config=self.options)))
            except Exception as e:  # breakdown is bookkeeping only; never fail an evaluation on it
                out["breakdown_error"] = f"{type(e).__name__}: {e}"
        return out


def _breakdown_scalars(bd) -> dict:
    """chi2, dof, chi2/dof (total and per dataset) from ``survey.likelihood.breakdown`` output."""
    out = {}
    if not isinstance(bd, dict):
        return out
    for name, v in bd.items():
        if name == "total" or not isinstance(v, dict) or "chi2" not in v:
            continue
        out[f"chi2.{name}"] = float(v["chi2"])
        out[f"n.{name}"] = float(v.get("n", 0) or 0)
    tot = bd.get("total", {})
    if isinstance(tot, dict) and "chi2" in tot:
        out["chi2"] = float(tot["chi2"])
        out["dof"] = float(tot.get("dof", tot.get("n", 0)) or 0)
        out["chi2_dof"] = out["chi2"] / out["dof"] if out["dof"] else float("nan")
        if tot.get("reason"):
            out["like_reason"] = str(tot["reason"])
        if tot.get("flags"):
            out["like_flags"] = ";".join(map(str, tot["flags"]))
    return out


def outcome_class(res) -> str:
    """One label for a Result: the labels of its outcome bands joined (``steady``, ``bottleneck+steady``); a
    run that is not steady as a whole says so first (``not-converged (bottleneck+steady)``: a live run whose
    bands partly settled); a failed run is ``failed``."""
    status = str(getattr(res, "status", "steady"))
    labels = "+".join(sorted({b[2] for b in (getattr(res, "outcome", None) or [])}))
    if status == "steady":
        return labels or "steady"
    if status == "failed" or not labels:
        return status
    return f"{status} ({labels})"


def load_model(config, evaluate_fn=None):
    """The evaluation callable ``model(engine_params, nuisance) -> {"log_like": ..., ...}``.

    ``survey.model = "engine"`` gives :class:`EngineModel`; ``"module:function"`` imports ``function``
    and calls it with the config to build the model (a factory), so tests and benchmarks can plug in
    cheap analytic models that also work inside Ray workers.
    """
    if evaluate_fn is not None:
        return evaluate_fn
    spec = config.survey.model
    if spec == "engine":
        return EngineModel(config)
    mod, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(mod), attr)
    return factory(config)


# === The agent === #


def flagged_record(theta, meta, reason: str, status: str = "error") -> dict:
    """A record for an evaluation that produced no model output (log-likelihood -inf, with its reason)."""
    now = time.time()
    return {**(meta or {}), "theta": [float(x) for x in theta], "status": status, "reason": reason,
            "log_prior": None, "log_like": -math.inf, "log_prob": -math.inf, "t_start": now, "t_end": now,
            "wall_s": 0.0, "worker": ""}


class EngineAgent:
    """Holds a warm model and evaluates points of the survey space into records.

    Parameters
    ----------
    config : dict or SurveyConfig
        Resolved survey config (small; passed by value to Ray actors).
    evaluate_fn : callable, optional
        Replaces the configured model (in-process use only; Ray actors use ``survey.model``).
    """

    def __init__(self, config, evaluate_fn=None):
        from .config import SurveyConfig

        self.config = SurveyConfig.from_dict(config)
        self.space = self.config.space
        self.model = load_model(self.config, evaluate_fn)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.n_evals = 0

    def ping(self) -> str:
        return self.worker

    def evaluate(self, theta, meta: dict | None = None) -> dict:
        """Evaluate one point (sampling coordinates) -> flat record dict. Never raises for model failures."""
        t0 = time.time()
        theta = np.array(theta, dtype=float)
        rec = dict(meta or {})
        rec["theta"] = theta.tolist()
        rec["worker"] = self.worker
        rec["t_start"] = t0
        values = self.space.values(theta)
        for k, v in values.items():
            rec[f"p.{k}"] = v
        lp = self.space.log_prior(theta)
        rec["log_prior"] = lp if math.isfinite(lp) else None
        rec["reason"] = ""
        if not math.isfinite(lp):
            rec.update(status="prior", reason="outside the prior support", log_like=None, log_prob=-math.inf)
        else:
            eng, nui = self.space.split(theta)
            try:
                out = dict(self.model(eng, nui))
                ll = float(out.pop("log_like"))
                if math.isnan(ll):
                    rec.update(status="error", reason="log-likelihood is NaN")
                    ll = -math.inf
                else:
                    rec["status"] = "ok"
                record = out.pop("record", None) or {}
                for k, v in record.items():
                    k = {"status": "engine_status", "message": "engine_message", "wall_time_s": "engine_wall_s",
                         "law": "engine_law"}.get(k, k)
                    rec[k] = v.tolist() if isinstance(v, np.ndarray) else v
                for k, v in out.items():
                    rec[k] = v
            except Exception as e:  # a failed evaluation is a flagged record, never a crashed survey
                ll = -math.inf
                rec.update(status="error", reason=f"{type(e).__name__}: {e}"[:2000])
            rec["log_like"] = ll
            rec["log_prob"] = lp + ll
        rec["t_end"] = time.time()
        rec["wall_s"] = rec["t_end"] - t0
        self.n_evals += 1
        return rec


def _remote_agent_class():
    import ray

    return ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(EngineAgent)


class _LazyRemote:
    """``RemoteEngineAgent``: the Ray actor class of :class:`EngineAgent`, built on first use (import ray lazily)."""

    _cls = None

    def __getattr__(self, name):
        if _LazyRemote._cls is None:
            _LazyRemote._cls = _remote_agent_class()
        return getattr(_LazyRemote._cls, name)


RemoteEngineAgent = _LazyRemote()


# === Pools: emcee's ``pool.map`` === #


class _PoolBase:
    """Shared bookkeeping: the sampler sets ``context`` (ensemble, step) and ``walkers`` before each map."""

    def __init__(self, on_records=None):
        self.on_records = on_records
        self.context: dict = {}
        self.walkers = None
        self.n_evals = 0
        self.n_failed = 0
        self.n_replaced = 0
        self.eval_time = 0.0
        self.calls = 0

    def _metas(self, n):
        ctx = dict(self.context)
        if self.walkers is not None and len(self.walkers) == n:
            walkers = self.walkers
        else:  # no move announced its walkers: emcee is evaluating the initial ensemble
            walkers = np.arange(n)
            if ctx.get("kind") == "proposal":
                ctx.update(kind="init", step=-1)
        self.walkers = None
        self.calls += 1
        return [{**ctx, "walker": int(w), "call": self.calls} for w in walkers]

    def _finish(self, records):
        for r in records:
            self.n_evals += 1
            self.eval_time += r.get("wall_s") or 0.0
            if r.get("status") == "error":
                self.n_failed += 1
        if self.on_records is not None:
            self.on_records(records)
        return [float(r["log_prob"]) for r in records]

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SerialPool(_PoolBase):
    """In-process pool (``resources.n_agents = 0``): one :class:`EngineAgent`, no Ray."""

    def __init__(self, config, on_records=None, evaluate_fn=None):
        super().__init__(on_records)
        self.agent = EngineAgent(config, evaluate_fn=evaluate_fn)
        self.size = 1

    def evaluate_many(self, thetas, metas):
        return [self.agent.evaluate(t, m) for t, m in zip(thetas, metas)]

    def map(self, fn, thetas):  # fn (emcee's wrapper) is ignored: the agent owns the model
        thetas = [np.array(t, float) for t in thetas]
        return self._finish(self.evaluate_many(thetas, self._metas(len(thetas))))


class AgentPool(_PoolBase):
    """emcee-compatible pool over Ray engine actors.

    ``map`` submits each point to an idle actor, collects with ``ray.wait`` and returns log-probabilities
    in input order; full records go to ``on_records`` (the side channel to the store). An actor that died
    for good (``RayActorError`` after Ray's own restarts) is replaced with a new one and its point re-run.
    """

    def __init__(self, config_dict, n_agents: int, on_records=None, runtime_env=None):
        import ray

        super().__init__(on_records)
        self.ray = ray
        self.config_dict = config_dict
        self.runtime_env = runtime_env
        self.actors = [self._new_actor() for _ in range(n_agents)]
        self.size = n_agents

    def _new_actor(self):
        opts = {"runtime_env": self.runtime_env} if self.runtime_env else {}
        return RemoteEngineAgent.options(**opts).remote(self.config_dict)

    def warmup(self) -> list[str]:
        """Start every actor (build its model) and return their worker ids."""
        return self.ray.get([a.ping.remote() for a in self.actors])

    def push(self, actor):
        self.actors.append(actor)

    def _replace(self, actor):
        try:
            self.ray.kill(actor, no_restart=True)
        except Exception:
            pass
        self.actors.remove(actor)
        new = self._new_actor()
        self.push(new)
        self.n_replaced += 1
        log.warning("engine agent died; replaced it (%d replacement(s) so far)", self.n_replaced)
        return new

    def evaluate_many(self, thetas, metas):
        from ray.exceptions import RayActorError, RayTaskError

        n = len(thetas)
        results: list = [None] * n
        pending = deque(range(n))
        idle = list(self.actors)
        inflight = {}
        tries = [0] * n
        while pending or inflight:
            while pending and idle:
                i = pending.popleft()
                a = idle.pop(0)
                inflight[a.evaluate.remote(thetas[i], metas[i])] = (i, a)
            done, _ = self.ray.wait(list(inflight), num_returns=1)
            for ref in done:
                i, a = inflight.pop(ref)
                try:
                    results[i] = self.ray.get(ref)
                    idle.append(a)
                except RayActorError as e:
                    tries[i] += 1
                    idle.append(self._replace(a))
                    if tries[i] > 3:
                        results[i] = flagged_record(thetas[i], metas[i], f"agent died {tries[i]} times: {e}"[:2000])
                    else:
                        pending.appendleft(i)
                except RayTaskError as e:
                    idle.append(a)
                    results[i] = flagged_record(thetas[i], metas[i], f"{type(e).__name__}: {e}"[:2000])
        return results

    def map(self, fn, thetas):  # fn (emcee's wrapper) is ignored: the actors own the model
        thetas = [np.array(t, float) for t in thetas]
        return self._finish(self.evaluate_many(thetas, self._metas(len(thetas))))

    def close(self):
        for a in self.actors:
            try:
                self.ray.kill(a, no_restart=True)
            except Exception:
                pass
        self.actors = []


def make_pool(config, on_records=None, evaluate_fn=None, n_agents: int | None = None):
    """Serial pool for ``n_agents = 0`` (or an ``evaluate_fn``), else an :class:`AgentPool` sized
    min(n_agents, cluster CPUs, nwalkers/2) on the connected Ray cluster."""
    from .config import SurveyConfig

    cfg = SurveyConfig.from_dict(config)
    n = cfg.resources.n_agents if n_agents is None else n_agents
    if n == 0 or evaluate_fn is not None:
        return SerialPool(cfg, on_records=on_records, evaluate_fn=evaluate_fn)
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))
    half = max(1, cfg.sampler.nwalkers // 2) if cfg.survey.mode == "mcmc" else cfg.design.batch
    size = max(1, min(n, cpus, half))
    env = {}
    if os.environ.get("NUMBA_CACHE_DIR"):
        env["NUMBA_CACHE_DIR"] = os.environ["NUMBA_CACHE_DIR"]
    return AgentPool(cfg.to_dict(), size, on_records=on_records,
                     runtime_env={"env_vars": env} if env else None)
