"""The guide's default limits of one run, in one place for the brain, the workflow and the CLI."""

from __future__ import annotations

from typing import Final

DEFAULT_MAX_PROVES: Final = 10
"""MAX_PROVES_PER_RUN when the input does not give it."""
DEFAULT_MAX_COST_USD: Final = 50.0
"""MAX_COST_PER_RUN (USD) when the input does not give it."""
