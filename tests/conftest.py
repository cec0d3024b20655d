"""Shared test set-up: hypothesis profiles and helpers to run the firmware.

HYPOTHESIS_PROFILE=ci (default): derandomized and bounded, for make test.
HYPOTHESIS_PROFILE=long: 10,000 examples per property (10,000 stateful sequences), for make fuzz.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "long",
    deadline=None,
    max_examples=10_000,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
