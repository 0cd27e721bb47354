"""The guide's default budget of a run (a leaf module: the CLI's option defaults read it without the brain)."""

from typing import Final

DEFAULT_MAX_PROVES: Final = 10
DEFAULT_MAX_COST_USD: Final = 50.0
