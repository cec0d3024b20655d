"""Shared test set-up: hypothesis profiles and helpers to run the firmware.

HYPOTHESIS_PROFILE=ci (default): derandomized and bounded, for make test.
HYPOTHESIS_PROFILE=long: 10,000 examples per property (10,000 stateful sequences).
HYPOTHESIS_PROFILE=fuzz: one shard of make fuzz (below).
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
if os.environ.get("HYPOTHESIS_PROFILE") != "fuzz":
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# make fuzz (tools/fuzz.py): one shard of a property, FUZZ_EXAMPLES examples from FUZZ_SEED,
# failures saved to the shard's own database FUZZ_DB, and the examples earlier runs saved
# (FUZZ_DB_READ, the merged .hypothesis/examples) replayed first. The seed goes into hypothesis'
# own generator of per-test seeds (hypothesis pinned): --hypothesis-seed and @seed would switch
# the example database off.
if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz":
    from hypothesis.database import (
        DirectoryBasedExampleDatabase,
        MultiplexedDatabase,
        ReadOnlyDatabase,
    )

    _dbs = [DirectoryBasedExampleDatabase(os.environ["FUZZ_DB"])]
    if os.environ.get("FUZZ_DB_READ"):
        _dbs.append(ReadOnlyDatabase(DirectoryBasedExampleDatabase(os.environ["FUZZ_DB_READ"])))
    settings.register_profile(
        "fuzz",
        parent=settings.get_profile("long"),
        max_examples=int(os.environ["FUZZ_EXAMPLES"]),
        database=MultiplexedDatabase(*_dbs),
    )
    settings.load_profile("fuzz")
    import random

    import hypothesis.core

    _rng = random.Random(int(os.environ["FUZZ_SEED"]))
    hypothesis.core.threadlocal._hypothesis_global_random = _rng

