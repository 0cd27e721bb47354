"""Hypothesis runs the same examples on every machine (CI must not fail on a draw it never saw before);
`HYPOTHESIS_PROFILE=explore` draws new ones, to go looking for failures on purpose."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("repo", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repo"))
