import os

from hypothesis import HealthCheck, settings

# Deterministic in CI (derandomized: the same examples every run); a wider random search locally with
# HYPOTHESIS_PROFILE=dev.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
