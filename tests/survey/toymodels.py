"""Cheap deterministic models for survey mechanics tests (importable by Ray workers via PYTHONPATH)."""

import math
import os
import time
from pathlib import Path

import numpy as np

# A correlated Gaussian "likelihood" over whatever engine parameters are free, with a fixed truth.
TRUTH = {"nu0": 2e-9, "delta": 0.55, "phi_AMS02": 0.65}
SIGMA = {"nu0": 0.15, "delta": 0.05, "phi_AMS02": 0.08}  # nu0 width in log10


def gaussian(config):
    """Factory: log L = -0.5 chi^2 of the parameters about TRUTH (nu0 in log10); fake spectra in the record."""
    opts = config.model_options
    sleep = float(opts.get("sleep", 0.0))
    fail_if = opts.get("fail_if_delta_above")
    die_marker = opts.get("die_once_marker")
    unscored_if = opts.get("unscored_if_delta_above")   # mimic a live run the likelihood does not score

    def model(params, nuisance):
        if sleep:
            time.sleep(sleep)
        allp = {**params, **nuisance}
        if fail_if is not None and allp["delta"] > fail_if:
            raise FloatingPointError(f"toy model blew up at delta={allp['delta']:.3f}")
        if die_marker and allp["delta"] > 0.9 and not Path(die_marker).exists():
            Path(die_marker).write_text(str(os.getpid()))
            os._exit(1)  # the worker process dies mid-evaluation
        chi2 = 0.0
        for k, v in allp.items():
            if k in TRUTH:
                x, t = (math.log10(v), math.log10(TRUTH[k])) if k == "nu0" else (v, TRUTH[k])
                chi2 += ((x - t) / SIGMA[k]) ** 2
        R = np.geomspace(1, 1000, 8)
        if unscored_if is not None and allp["delta"] > unscored_if:
            return {"log_like": -math.inf, "outcome": "not-converged",
                    "record": {"status": "not-converged",
                               "message": f"stalled at t = {allp['delta']:.3g} Myr: after 300 steps ..."}}
        return {"log_like": -0.5 * chi2, "chi2": chi2, "dof": 3.0, "chi2_dof": chi2 / 3.0,
                "outcome": "steady",
                "record": {"status": "steady", "obs.B/C.x": R.tolist(),
                           "obs.B/C.y": (0.3 * R ** -allp.get("delta", 0.5)).tolist()}}

    return model


def busy(config):
    """Factory: a CPU-bound model of fixed work (for benchmarks): log L = 0."""
    n = int(config.model_options.get("work", 2_000_000))

    def model(params, nuisance):
        s = 0.0
        for i in range(n):
            s += i * 1e-9
        return {"log_like": 0.0, "work": s}

    return model


MOCK_TRUTH = {"nu0": 1e-9, "delta": 0.6}
MOCK_GRID = {"n_z": 24, "bins_per_decade": 4.0}
MOCK_REL_ERR = 0.05  # 5% log-normal noise on every mock point


def engine_mock(config):
    """Factory: the real engine (empirical law, coarse grid) against mock B/C and p data made by the
    engine itself at MOCK_TRUTH, with seeded 5% noise. log L = -0.5 sum ((ln M - ln D)/s)^2."""
    import engine

    rng = np.random.default_rng(int(config.model_options.get("noise_seed", 1)))
    points = {"B/C": np.geomspace(5, 500, 10), "p": np.geomspace(10, 1000, 10)}

    def observe(params):
        res = engine.solve(params, law="empirical", grid=MOCK_GRID)
        out = {}
        for name, xs in points.items():
            x, y = (np.asarray(a, float) for a in res.observables[name])
            ok = (x > 0) & (y > 0)
            out[name] = np.interp(np.log(xs), np.log(x[ok]), np.log(y[ok]))
        return res, out

    _, truth = observe(MOCK_TRUTH)
    data = {k: v + rng.normal(0.0, MOCK_REL_ERR, v.size) for k, v in truth.items()}

    def model(params, nuisance):
        res, lnm = observe(params)
        chi2 = sum(float(np.sum(((lnm[k] - data[k]) / MOCK_REL_ERR) ** 2)) for k in data)
        return {"log_like": -0.5 * chi2, "chi2": chi2, "dof": 20.0, "chi2_dof": chi2 / 20.0,
                "outcome": res.status, "record": res.to_record()}

    return model
