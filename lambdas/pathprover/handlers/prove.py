"""The lane's per-prove steps: begin, advance, check, failure, clean, settle (one Lambda each on AWS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from pathprover.handlers._powertools import FAILURE_SCOPE_METRIC, count, entry_point, logger, record

if TYPE_CHECKING:
    from pathprover.services import Services


def get_services() -> Services:
    from pathprover.services import get_services as current

    return current()


def run_step(event: dict[str, Any], step: str, svc: Services) -> dict[str, Any]:
    """The lifecycle step; the workflow, lifecycle and classifier are imported on the first call."""
    from pathprover.workflow.tasks import run_step as run

    return run(event, step, svc)


def settle_and_next(event: dict[str, Any], svc: Services) -> dict[str, Any]:
    from pathprover.workflow.tasks import settle_and_next as settle

    return settle(event, svc)


def drop_and_next(event: dict[str, Any], svc: Services) -> dict[str, Any]:
    from pathprover.workflow.tasks import drop_and_next as drop

    return drop(event, svc)


def _log(result: dict[str, Any], step: str) -> dict[str, Any]:
    prove = result.get("prove") or {}
    logger.info(
        step,
        extra={
            "lane": result.get("lane"),
            "status": result.get("status"),
            "stage": prove.get("current"),
            "config_id": (prove.get("run") or {}).get("vector"),
        },
    )
    return result


@entry_point
def begin(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _log(run_step(event, "begin", get_services()), "begin")


@entry_point
def advance(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _log(run_step(event, "advance", get_services()), "advance")


@entry_point
def check(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _log(run_step(event, "check", get_services()), "check")


@entry_point
def failure(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = run_step(event, "failure", get_services())
    failure_data = (result.get("prove") or {}).get("failure") or {}
    count("ProveFailed", "category", str(failure_data.get("category") or "unknown"))
    # Account and harness failures are not the config's: alarms watch these two (infra/constructs/alarms.py).
    count(FAILURE_SCOPE_METRIC, "scope", str(failure_data.get("scope") or "config"))
    return _log(result, "failure")


@entry_point
def clean(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _log(run_step(event, "clean", get_services()), "clean")


@entry_point
def settle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = settle_and_next(event, get_services())
    last = result["done"][-1] if result.get("done") else {}
    count("ProveOutcome", "outcome", str(last.get("status")))
    record(name="ProveActualCost", unit=MetricUnit.NoUnit, value=float(last.get("actual_cost_usd") or 0))
    return _log(result, "settle")


@entry_point
def drop(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _log(drop_and_next(event, get_services()), "drop")
