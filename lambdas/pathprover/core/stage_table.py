"""The lifecycle stages and, in one table, what is true of each.

``Stage`` lists the stages in the order they run; :data:`STAGE_TABLE` has one
:class:`StageFacts` per stage, and every other list of stages (the default
plan, the required ones, the ones that bill) is read from it, never written
again. A test checks the table covers ``Stage`` exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, get_args

Stage = Literal[
    "stage",
    "generate",
    "build",
    "push",
    "deploy",
    "test",
    "tune",
    "adapter",
    "benchmark",
    "register",
    "clean",
]
"""``stage`` pre-stages a gated model's weights to S3 (a CodeBuild job); ``adapter`` deploys the LoRA adapter.
The names are stored in records (``failure_stage``) and written in the operations guide: never rename one."""

STAGE_ORDER: Final[tuple[str, ...]] = get_args(Stage)
"""Lifecycle order: the Stage type lists the stages in the order they run."""

QUICK_STAGE_SECONDS: Final = 60.0
"""generate, push, register (seconds of Lambda work, no job to poll) and the smoke test."""


@dataclass(frozen=True)
class StageFacts:
    """What is true of one stage, whatever config is proved."""

    polled: bool
    """Starts a long job (a build, an endpoint, a training or benchmark job) that Check polls."""
    billing: bool
    """An instance bills while it runs: the budget stop applies."""
    timing: str | None
    """The catalog timing row (``search_space.yaml`` ``<row>_minutes_*``) its expected duration is read from;
    None: :attr:`fixed_seconds`."""
    fixed_seconds: float = QUICK_STAGE_SECONDS
    """Its expected duration when it has no timing row."""
    default: bool = False
    """In a run's stages unless its target says otherwise."""
    required: bool = False
    """Without it a config is not proved: a ``completed`` row needs a deployed endpoint that answered."""


STAGE_TABLE: Final[Mapping[Stage, StageFacts]] = MappingProxyType(  # in STAGE_ORDER
    {
        "stage": StageFacts(polled=True, billing=False, timing="stage"),
        "generate": StageFacts(polled=False, billing=False, timing=None, default=True, required=True),
        "build": StageFacts(polled=True, billing=False, timing="build", default=True, required=True),
        "push": StageFacts(polled=False, billing=False, timing=None, default=True),
        "deploy": StageFacts(polled=True, billing=True, timing="deploy", default=True, required=True),
        "test": StageFacts(polled=False, billing=True, timing=None, default=True, required=True),
        "tune": StageFacts(polled=True, billing=True, timing="tune"),
        "adapter": StageFacts(polled=True, billing=True, timing="deploy"),
        "benchmark": StageFacts(polled=True, billing=True, timing="benchmark", default=True),
        "register": StageFacts(polled=False, billing=False, timing=None, default=True),
        "clean": StageFacts(polled=False, billing=False, timing="clean", default=True),
    }
)

DEFAULT_STAGES: Final[tuple[Stage, ...]] = tuple(stage for stage, facts in STAGE_TABLE.items() if facts.default)
REQUIRED_STAGES: Final[tuple[Stage, ...]] = tuple(stage for stage, facts in STAGE_TABLE.items() if facts.required)
"""Without these a config is not proved: a `completed` row needs a deployed endpoint that answered."""
BILLING_STAGES: Final[frozenset[Stage]] = frozenset(stage for stage, facts in STAGE_TABLE.items() if facts.billing)
