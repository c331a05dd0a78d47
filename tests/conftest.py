"""Test-wide settings: hypothesis runs without per-example deadlines (CI machines are shared and slow) and
derandomised, so every run (CI included) is repeatable; a failing example is printed for reproduction."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True, derandomize=True
)
# repeatable unless asked for fresh examples (HYPOTHESIS_RANDOM=1)
settings.load_profile("default" if os.environ.get("HYPOTHESIS_RANDOM") else "ci")

# Runs the tests make are recorded in a history store of the session's own, never in the user's data home.
if "BANSWEEP_STORE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    _store_dir = tempfile.mkdtemp(prefix="bansweep-test-store-")
    atexit.register(shutil.rmtree, _store_dir, True)
    os.environ["BANSWEEP_STORE"] = f"sqlite:///{_store_dir}/history.sqlite"
