"""Front-end test configuration: a derandomized hypothesis profile for CI.

`CI=1` (or `HYPOTHESIS_PROFILE=msdsl-ci`) runs the property tests with a fixed seed and no example database, so
a CI run explores the same cases every time; locally, hypothesis explores new cases on each run.
"""

import os

from hypothesis import settings

settings.register_profile("msdsl-ci", derandomize=True, database=None, deadline=None, print_blob=True)
if os.environ.get("CI") or os.environ.get("HYPOTHESIS_PROFILE") == "msdsl-ci":
    settings.load_profile("msdsl-ci")
