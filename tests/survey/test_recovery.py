"""Posterior recovery with known answers: an analytic Gaussian (fast) and the real engine on mock data."""

import numpy as np
import pytest
from scipy import stats

import survey
from toymodels import MOCK_TRUTH, SIGMA, TRUTH

# Effective sample size of a 16-walker x 300-step run with tau ~ 5-10 is >~ 500, so the Monte-Carlo
# error of the posterior mean is <~ 0.05 sd; a 0.25 sd tolerance is > 5 MC sigmas.
TOL_MEAN_SD = 0.25
TOL_SD_REL = 0.2  # posterior sd within 20% of the known sd
KS_P_MIN = 1e-3   # KS against the known marginal on a thinned (near-independent) sample


def test_gaussian_posterior_recovered():
    d = {"survey": {"name": "gauss", "preset": "empirical", "model": "toymodels:gaussian"},
         "parameters": {"nu0": {"prior": "loguniform", "lo": 1e-10, "hi": 1e-7}},
         "sampler": {"nwalkers": 16, "nsteps": 300, "ensembles": 2, "seed": 3},
         "resources": {"n_agents": 0}}
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run = survey.run_survey(d, tmp, progress=False)
        dt = run.posterior(burn=100)
        for name, truth, sd in [("log10_nu0", np.log10(TRUTH["nu0"]), SIGMA["nu0"]),
                                ("delta", TRUTH["delta"], SIGMA["delta"]),
                                ("phi_AMS02", TRUTH["phi_AMS02"], SIGMA["phi_AMS02"])]:
            x = dt.posterior[name].values.ravel()
            assert abs(x.mean() - truth) < TOL_MEAN_SD * sd, name
            assert x.std() == pytest.approx(sd, rel=TOL_SD_REL), name
            thin = dt.posterior[name].values[:, ::20].ravel()
            assert stats.kstest(thin, stats.norm(truth, sd).cdf).pvalue > KS_P_MIN, name
        rh = survey.survey_status(tmp)["rhat"]
        assert max(rh.values()) < 1.05


def test_engine_mock_data_posterior_covers_truth(ray_local, tmp_path):
    pytest.importorskip("engine")
    d = {"survey": {"name": "mock", "law": "empirical", "model": "toymodels:engine_mock"},
         "parameters": {"nu0": {"prior": "loguniform", "lo": 3e-10, "hi": 3e-9},
                        "delta": {"prior": "uniform", "lo": 0.3, "hi": 0.9}},
         "sampler": {"nwalkers": 12, "nsteps": 50, "ensembles": 1, "seed": 8},
         "resources": {"n_agents": 2}}
    run = survey.run_survey(d, tmp_path / "r", progress=False)
    dt = run.posterior(burn=25)
    for name, truth in [("log10_nu0", np.log10(MOCK_TRUTH["nu0"])), ("delta", MOCK_TRUTH["delta"])]:
        x = dt.posterior[name].values.ravel()
        lo, hi = np.percentile(x, [2.5, 97.5])
        assert lo <= truth <= hi, (name, lo, hi, truth)
    t = run.evaluations()
    assert "obs.B/C.y" in t.column_names and "spec.p" in t.column_names  # spectra stored per evaluation
