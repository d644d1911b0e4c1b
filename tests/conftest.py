"""Shared fixtures: one local Ray per test session (only for tests that ask for it)."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOYS = ROOT / "tests" / "survey"

# Ray workers inherit the driver's environment: make the repo and the toy models importable there.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), str(TOYS)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
if str(TOYS) not in sys.path:
    sys.path.insert(0, str(TOYS))


@pytest.fixture(scope="session")
def ray_local():
    """A 2-CPU embedded Ray shared by the whole session (ray.init costs ~5 s)."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 object_store_memory=200 * 1024**2, configure_logging=False)
    yield ray
    ray.shutdown()
