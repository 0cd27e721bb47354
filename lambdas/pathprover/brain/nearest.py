"""Nearest proven substitutions for a requested config, exactly as the operations guide states.

Completed rows only; never across model_family; ascending Hamming distance,
then most recent first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pathprover.brain.history import History
from pathprover.core.dimensions import DIMENSIONS, ConfigVector, config_id_of

DEFAULT_SUGGESTIONS: Final = 3
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Substitution:
    distance: int
    changed: list[str]
    config: dict[str, Any]
    explanation: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "distance": self.distance,
            "changed": self.changed,
            "config": self.config,
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class NearestResult:
    requested: ConfigVector
    substitutions: list[Substitution]
    message: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "requested": {**self.requested.as_dict(), "config_id": self.requested.config_id},
            "substitutions": [s.as_dict() for s in self.substitutions],
            "message": self.message,
        }


def nearest(history: History, requested: ConfigVector, limit: int = DEFAULT_SUGGESTIONS) -> NearestResult:
    want = requested.as_tuple()
    candidates = []
    closest_elsewhere: int | None = None
    for entry in history.completed():
        distance = sum(1 for a, b in zip(want, entry.key, strict=True) if a != b)
        if entry.key[1] != requested.model_family:
            closest_elsewhere = distance if closest_elsewhere is None else min(closest_elsewhere, distance)
            continue
        candidates.append((distance, -(entry.completed_at or _OLDEST).timestamp(), entry.key, entry.completed_at))
    if not candidates:
        if closest_elsewhere is None:
            message = "no coverage — no proven config exists in the table yet"
        else:
            message = f"no coverage — nearest proven config is {closest_elsewhere} dimensions away"
        return NearestResult(requested, [], message)
    candidates.sort(key=lambda c: (c[0], c[1], [str(v) for v in c[2]]))
    result = []
    for distance, _, key, at in candidates[:limit]:
        values = dict(zip(DIMENSIONS, key, strict=True))
        changed = [d for d, a, b in zip(DIMENSIONS, want, key, strict=True) if a != b]
        result.append(
            Substitution(
                distance=distance,
                changed=changed,
                config={
                    **values,
                    "config_id": config_id_of(values),
                    "run_timestamp": at.isoformat() if at else None,
                },
                explanation=[f"{d}: {want[DIMENSIONS.index(d)]!r} → {values[d]!r}" for d in changed],
            )
        )
    return NearestResult(requested, result, None)
