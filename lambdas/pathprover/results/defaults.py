"""`pathprover recommend`'s defaults, apart from its logic so the CLI can show them without loading it."""

from __future__ import annotations

from typing import Final

DEFAULT_MAX_ERROR_RATE: Final = 0.05
"""A level where more than this share of requests failed does not count as meeting any SLO."""
DEFAULT_RUNNERS_UP: Final = 3
DEFAULT_MAX_GAPS: Final = 5
