"""Run directory: crash-safe evaluation log (Parquet parts), emcee chain backend, lock, resolved config.

Layout of ``results/<run>/``::

    config.toml              copy of the input config (if it came from a file)
    config.resolved.json     resolved config (all defaults filled) -- compared on resume
    run.json                 package versions, engine hash, sessions
    .lock                    {"pid", "host", "started"} while a survey writes here
    chains/e<k>/meta.json    emcee backend of ensemble k: one Parquet file per step, RNG state in its metadata
    chains/e<k>/step-<n>.parquet
    evals/e<k>-s<step>.parquet  every evaluation of ensemble k committed with step n (design: d-b<batch>.parquet)
    progress.json            acceptance / tau / R-hat per check
    plots/                   written by ``crsurvey plot``

Every file is published atomically (dot-prefixed temp name, fsync, os.replace), so ``pyarrow.dataset``,
pandas and duckdb can always read ``evals/`` and a crash never leaves a torn file. Evaluation parts are
named by the step they belong to, and the part is written *before* the chain step, so a resumed run
overwrites (never duplicates) the evaluations of a step that was interrupted.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

import emcee
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

__all__ = [
    "ChainBackend",
    "EvalStore",
    "LockError",
    "Run",
    "RunLock",
    "atomic_write",
    "engine_hash",
    "open_run",
    "package_versions",
    "records_to_table",
    "write_parquet_atomic",
]

# === Atomic files === #


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file with a dot prefix, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_parquet_atomic(table: pa.Table, path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pq.write_table(table, f, compression="zstd")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json_atomic(path, obj) -> None:
    atomic_write(path, (json.dumps(obj, indent=1, default=_json_default) + "\n").encode())


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# === Provenance === #


def engine_hash() -> str:
    """sha256 of the engine package source (engine/*.py, sorted), or ``"unavailable"``."""
    spec = find_spec("engine")
    if spec is None or not spec.submodule_search_locations:
        return "unavailable"
    h = hashlib.sha256()
    for root in spec.submodule_search_locations:
        for p in sorted(Path(root).glob("*.py")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {}
    for name in ("crsurvey", "numpy", "scipy", "numba", "ray", "emcee", "arviz", "pyarrow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    import sys

    out["python"] = sys.version.split()[0]
    return out


# === Lock === #


class LockError(RuntimeError):
    """Another live survey process writes this run directory."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Exclusive lock on a run directory; a lock whose pid is dead (same host) is stale and taken over."""

    def __init__(self, run_dir):
        self.path = Path(run_dir) / ".lock"
        self.held = False

    def acquire(self):
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    other = json.loads(self.path.read_text() or "{}")
                except (OSError, json.JSONDecodeError):
                    other = {}
                pid, host = other.get("pid"), other.get("host")
                if pid and host == me["host"] and not _pid_alive(int(pid)):
                    self.path.unlink(missing_ok=True)  # stale: its writer is gone
                    continue
                if not pid:  # half-written lock of a process that died while creating it
                    if time.time() - self.path.stat().st_mtime > 5:
                        self.path.unlink(missing_ok=True)
                        continue
                    time.sleep(0.2)
                    continue
                raise LockError(
                    f"{self.path.parent} is locked by pid {pid} on {host} (since "
                    f"{time.ctime(other.get('started', 0))}); wait for it to finish, or remove {self.path} if that "
                    "process is gone"
                )
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            return self
        raise LockError(f"could not acquire {self.path}")

    def release(self):
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


# === Evaluations === #


def records_to_table(records: list[dict]) -> pa.Table:
    """Evaluation records (flat dicts of scalars and float lists) -> Arrow table; keys unioned, missing -> null."""
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r))
    cols = {}
    for k in keys:
        vals = [r.get(k) for r in records]
        sample = next((v for v in vals if v is not None), None)
        if isinstance(sample, (list, tuple, np.ndarray)):
            vals = [None if v is None else [float(x) for x in v] for v in vals]
            cols[k] = pa.array(vals, type=pa.list_(pa.float64()))
        elif isinstance(sample, bool) or isinstance(sample, np.bool_):
            cols[k] = pa.array(vals, type=pa.bool_())
        elif isinstance(sample, (int, np.integer)) and k in ("ensemble", "step", "walker", "call", "n_steps"):
            cols[k] = pa.array(vals, type=pa.int64())
        elif isinstance(sample, (int, float, np.integer, np.floating)):
            cols[k] = pa.array([None if v is None else float(v) for v in vals], type=pa.float64())
        elif sample is None:
            cols[k] = pa.nulls(len(vals))
        else:
            cols[k] = pa.array([None if v is None else str(v) for v in vals], type=pa.string())
    return pa.table(cols)


class EvalStore:
    """Buffers evaluation records and publishes them as Parquet parts named by their key."""

    def __init__(self, run_dir, run_name: str, session: str):
        self.dir = Path(run_dir) / "evals"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run_name, self.session = run_name, session
        self.buffers: dict[object, list[dict]] = {}
        self.n_written = 0

    def add(self, key, records: list[dict]) -> None:
        for r in records:
            r.setdefault("run", self.run_name)
            r.setdefault("session", self.session)
        self.buffers.setdefault(key, []).extend(records)

    def flush(self, key, part_name: str) -> int:
        """Publish buffered records of ``key`` as ``evals/<part_name>.parquet`` (replacing a stale part)."""
        recs = self.buffers.pop(key, [])
        if not recs:
            return 0
        write_parquet_atomic(records_to_table(recs), self.dir / f"{part_name}.parquet")
        self.n_written += len(recs)
        return len(recs)

    def drop_parts_after(self, prefix: str, last_step: int) -> list[str]:
        """Remove parts ``<prefix>-s<step>`` with step > last_step (orphans of an uncommitted step)."""
        removed = []
        for p in self.dir.glob(f"{prefix}-s*.parquet"):
            step = int(p.stem.rsplit("-s", 1)[1])
            if step > last_step:
                p.unlink()
                removed.append(p.name)
        for p in self.dir.glob(".*.tmp"):
            p.unlink(missing_ok=True)
        return removed


def read_evaluations(run_dir) -> pa.Table | None:
    d = Path(run_dir) / "evals"
    files = sorted(p for p in d.glob("*.parquet")) if d.exists() else []
    if not files:
        return None
    tables = [pq.read_table(f) for f in files]
    return pa.concat_tables(tables, promote_options="permissive")


# === Chains: emcee backend === #


def _rng_to_json(state) -> dict:
    name, key, pos, has_gauss, cached = state
    return {"name": name, "key": np.asarray(key).tolist(), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached": float(cached)}


def _rng_from_json(d) -> tuple:
    return (d["name"], np.asarray(d["key"], dtype=np.uint32), d["pos"], d["has_gauss"], d["cached"])


class ChainBackend(emcee.backends.Backend):
    """emcee backend persisting every step as an atomically published Parquet file.

    The MT19937 state of the sampler after the step is stored (as JSON) in the file's schema
    metadata, so a sampler built on a re-opened backend continues bit-for-bit.
    ``before_save(iteration)`` is called before a step is published (the survey uses it to publish
    that step's evaluations first).
    """

    def __init__(self, directory, dtype=None, before_save=None, read_only=False):
        super().__init__(dtype=dtype)
        self.dir = Path(directory)
        self.read_only = read_only
        self.before_save = before_save
        if not read_only:
            self.dir.mkdir(parents=True, exist_ok=True)
        if (self.dir / "meta.json").exists():
            self._load()

    def reset(self, nwalkers, ndim):
        super().reset(nwalkers, ndim)
        if self.read_only:
            return
        for p in self.dir.glob("step-*.parquet"):
            p.unlink()
        write_json_atomic(self.dir / "meta.json", {"nwalkers": int(nwalkers), "ndim": int(ndim)})

    def save_step(self, state, accepted):
        super().save_step(state, accepted)
        it, n = self.iteration - 1, self.nwalkers
        if self.before_save is not None:
            self.before_save(it)
        t = pa.table({
            "step": np.full(n, it, np.int64),
            "walker": np.arange(n, dtype=np.int32),
            "coords": pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(state.coords, float).ravel()), self.ndim),
            "log_prob": np.asarray(state.log_prob, float),
            "accepted": np.asarray(accepted, bool),
        })
        meta = {"random_state": json.dumps(_rng_to_json(state.random_state))} if state.random_state is not None else {}
        t = t.replace_schema_metadata(meta)
        write_parquet_atomic(t, self.dir / f"step-{it:08d}.parquet")

    def _load(self):
        meta = json.loads((self.dir / "meta.json").read_text())
        super().reset(meta["nwalkers"], meta["ndim"])
        files = sorted(self.dir.glob("step-*.parquet"))
        # steps must be contiguous 0..n-1; a gap would mean a damaged directory
        steps = [int(f.stem.split("-")[1]) for f in files]
        if steps != list(range(len(steps))):
            raise RuntimeError(f"{self.dir}: chain steps are not contiguous ({steps[:3]}...{steps[-3:]})")
        if not files:
            return
        t = ds.dataset([str(f) for f in files], format="parquet").to_table()
        t = t.sort_by([("step", "ascending"), ("walker", "ascending")])
        ns, nw, nd = len(files), self.nwalkers, self.ndim
        self.chain = np.asarray(t["coords"].combine_chunks().flatten()).reshape(ns, nw, nd).copy()
        self.log_prob = t["log_prob"].to_numpy().reshape(ns, nw).copy()
        acc = t["accepted"].to_numpy(zero_copy_only=False).reshape(ns, nw)
        self.accepted = acc.sum(0).astype(self.dtype)
        self.iteration = ns
        md = pq.read_schema(files[-1]).metadata or {}
        if b"random_state" in md:
            self.random_state = _rng_from_json(json.loads(md[b"random_state"]))

    def accepted_per_step(self) -> np.ndarray:
        files = sorted(self.dir.glob("step-*.parquet"))
        if not files:
            return np.zeros((0, self.nwalkers), bool)
        t = ds.dataset([str(f) for f in files], format="parquet").to_table(columns=["step", "walker", "accepted"])
        t = t.sort_by([("step", "ascending"), ("walker", "ascending")])
        return t["accepted"].to_numpy(zero_copy_only=False).reshape(len(files), -1)


# === Opening a run === #


class Run:
    """Read access to a run directory (``survey.open_run(path)``)."""

    def __init__(self, run_dir):
        self.dir = Path(run_dir)
        cfg = self.dir / "config.resolved.json"
        if not cfg.exists():
            raise FileNotFoundError(f"{self.dir} is not a crsurvey run directory (no config.resolved.json)")
        self.config_dict = json.loads(cfg.read_text())
        info = self.dir / "run.json"
        self.info = json.loads(info.read_text()) if info.exists() else {}

    @property
    def config(self):
        from .config import SurveyConfig

        return SurveyConfig.from_dict(self.config_dict)

    @property
    def name(self) -> str:
        return self.config_dict["survey"]["name"]

    @property
    def param_names(self) -> list[str]:
        return self.config.space.sample_names

    def backends(self) -> dict[int, ChainBackend]:
        out = {}
        for d in sorted((self.dir / "chains").glob("e*")):
            if (d / "meta.json").exists():
                out[int(d.name[1:])] = ChainBackend(d, read_only=True)
        return out

    def chains(self, discard: int = 0, thin: int = 1) -> dict[int, np.ndarray]:
        """Ensemble id -> chain array ``[step, walker, param]`` (sampling coordinates)."""
        return {k: b.get_chain(discard=discard, thin=thin) for k, b in self.backends().items() if b.iteration}

    def log_prob(self, discard: int = 0, thin: int = 1) -> dict[int, np.ndarray]:
        """Ensemble id -> log posterior ``[step, walker]``."""
        return {k: b.get_log_prob(discard=discard, thin=thin) for k, b in self.backends().items() if b.iteration}

    def evaluations(self) -> pa.Table:
        """Every stored evaluation as one Arrow table (parts unified; empty table if none)."""
        t = read_evaluations(self.dir)
        return t if t is not None else pa.table({})

    def dataset(self) -> ds.Dataset:
        """The evaluation parts as a ``pyarrow.dataset`` (unified schema)."""
        files = sorted(str(p) for p in (self.dir / "evals").glob("*.parquet"))
        schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        return ds.dataset(files, format="parquet", schema=schema)

    def progress(self) -> list[dict]:
        p = self.dir / "progress.json"
        return json.loads(p.read_text()) if p.exists() else []

    def posterior(self, burn: int | None = None, thin: int = 1):
        """arviz 1.x DataTree of the chains, dims ``(chain, draw)``; chain = ensemble x walker."""
        from .posterior import to_datatree

        return to_datatree(self, burn=burn, thin=thin)

    def __repr__(self):
        return f"Run({str(self.dir)!r})"


def open_run(run_dir) -> Run:
    """Open a run directory for reading."""
    return Run(run_dir)


def _finite(x) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None
