"""crsurvey survey layer: likelihood, samplers, Ray agents, result store and CLI.

Three lines of Python do what the CLI does::

    import survey
    run = survey.run_survey("examples/quick.toml", out="results/quick", overwrite=True)
    run.posterior()            # arviz DataTree; run.chains(), run.evaluations() (pyarrow Table)
"""

from .agents import AgentPool, EngineAgent, EngineModel, RemoteEngineAgent, SerialPool, make_pool
from .config import ConfigError, SurveyConfig, config_diff, load_config
from .samplers import SurveyError, design_points, init_ray, resume_survey, run_survey, split_rhat
from .store import ChainBackend, EvalStore, LockError, Run, RunLock, open_run

__all__ = [
    "AgentPool",
    "ChainBackend",
    "ConfigError",
    "EngineAgent",
    "EngineModel",
    "EvalStore",
    "LockError",
    "RemoteEngineAgent",
    "Run",
    "RunLock",
    "SerialPool",
    "SurveyConfig",
    "SurveyError",
    "config_diff",
    "design_points",
    "init_ray",
    "load_config",
    "make_pool",
    "open_run",
    "plot_survey",
    "resume_survey",
    "run_model",
    "run_survey",
    "split_rhat",
    "survey_status",
]


def __getattr__(name):  # heavy (arviz/matplotlib) entry points load lazily
    if name == "plot_survey":
        from .posterior import plot_survey

        return plot_survey
    if name in ("survey_status", "run_model"):
        from . import cli

        return getattr(cli, name)
    raise AttributeError(f"module 'survey' has no attribute {name!r}")
