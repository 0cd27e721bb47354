"""The janitor's decisions (workflow/janitor.py) with a fake fleet and a fake execution lookup."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprover.stages.jobs import CleanReport, ManagedResource
from pathprover.stages.naming import (
    TAG_CONFIG_ID,
    TAG_EXECUTION,
    TAG_EXPIRY,
    TAG_MANAGED_BY,
    TAG_STACK,
    merge_tags,
    parse_utc_iso,
    standard_tags,
    utc_iso,
)
from pathprover.workflow.janitor import DEFAULT_GRACE, JanitorReport, decide, sweep

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(hours=2)
YOUNG = NOW - timedelta(minutes=5)
LATER = NOW + timedelta(hours=6)


def resource(
    name: str = "pp-abc-ep",
    *,
    kind: Any = "endpoint",
    execution: str | None = "run-1",
    expiry: datetime | None = LATER,
    created: datetime | None = OLD,
    managed: bool = True,
    extra_tags: dict[str, str] | None = None,
) -> ManagedResource:
    tags = standard_tags(execution or "x", "cfg", expiry or LATER)
    if execution is None:
        del tags[TAG_EXECUTION]
    if expiry is None:
        del tags[TAG_EXPIRY]
    if not managed:
        tags[TAG_MANAGED_BY] = "someone-else"
    tags.update(extra_tags or {})
    return ManagedResource(
        kind=kind,
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}",
        tags=tags,
        created_at=created,
        status="InService" if kind == "endpoint" else None,
    )


class FakeFleet:
    def __init__(self, resources: list[ManagedResource], outcome: CleanReport | None = None) -> None:
        self.resources = resources
        self.outcome = outcome
        self.delete_calls: list[list[str]] = []
        self.raise_on_delete: Exception | None = None

    def inventory(self) -> list[ManagedResource]:
        return list(self.resources)

    def delete(self, resources: list[ManagedResource]) -> CleanReport:
        self.delete_calls.append([r.label for r in resources])
        if self.raise_on_delete is not None:
            raise self.raise_on_delete
        if self.outcome is not None:
            return self.outcome
        return CleanReport(deleted=[r.label for r in resources])


class FakeLookup:
    def __init__(self, statuses: dict[str, str | None], fail: set[str] | None = None) -> None:
        self.statuses = statuses
        self.fail = fail or set()
        self.calls: list[str] = []

    def status(self, execution_name: str) -> str | None:
        self.calls.append(execution_name)
        if execution_name in self.fail:
            raise RuntimeError("AccessDeniedException: not authorized to perform states:DescribeExecution")
        return self.statuses.get(execution_name)


def names(decisions: list[Any]) -> list[str]:
    return [d.name for d in decisions]


# --------------------------------------------------------------------------- decisions


def test_expired_resource_is_deleted_even_while_its_execution_runs() -> None:
    fleet = FakeFleet([resource(expiry=NOW - timedelta(minutes=1))])
    report = sweep(fleet, FakeLookup({"run-1": "RUNNING"}), NOW)
    assert names(report.deleted) == ["pp-abc-ep"]
    assert report.deleted[0].reason == f"expired at {utc_iso(NOW - timedelta(minutes=1))}"
    assert fleet.delete_calls == [["endpoint/pp-abc-ep"]]
    assert report.examined == 1 and report.ok


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", None])
def test_finished_or_unknown_execution_older_than_grace_is_deleted(status: str | None) -> None:
    fleet = FakeFleet([resource()])
    report = sweep(fleet, FakeLookup({"run-1": status}), NOW)
    assert names(report.deleted) == ["pp-abc-ep"]
    assert report.deleted[0].execution == "run-1"
    assert (status or "unknown to the workflow") in report.deleted[0].reason
    assert report.kept == []


@pytest.mark.parametrize("status", ["RUNNING", "PENDING_REDRIVE"])
def test_running_execution_not_expired_is_kept(status: str) -> None:
    fleet = FakeFleet([resource(), resource("pp-abc-ec", kind="endpoint-config", created=None)])
    report = sweep(fleet, FakeLookup({"run-1": status}), NOW)
    assert report.deleted == [] and fleet.delete_calls == []
    assert names(report.kept) == ["pp-abc-ep", "pp-abc-ec"]
    assert all(status in d.reason for d in report.kept)


def test_young_resource_of_finished_execution_is_kept_until_grace() -> None:
    young = resource(created=YOUNG)
    lookup = FakeLookup({"run-1": "SUCCEEDED"})
    first = sweep(FakeFleet([young]), lookup, NOW)
    assert first.deleted == [] and names(first.kept) == ["pp-abc-ep"]
    assert "grace" in first.kept[0].reason

    later = NOW + DEFAULT_GRACE
    second = sweep(FakeFleet([young]), lookup, later)
    assert names(second.deleted) == ["pp-abc-ep"]


def test_grace_is_configurable() -> None:
    young = resource(created=YOUNG)
    report = sweep(FakeFleet([young]), FakeLookup({"run-1": "FAILED"}), NOW, grace=timedelta(minutes=1))
    assert names(report.deleted) == ["pp-abc-ep"]


def test_missing_execution_tag_is_deleted_after_grace() -> None:
    old, young = resource("pp-old-m", kind="model", execution=None), resource("pp-new-m", kind="model", execution=None)
    young = young.model_copy(update={"created_at": YOUNG})
    lookup = FakeLookup({})
    report = sweep(FakeFleet([old, young]), lookup, NOW)
    assert names(report.deleted) == ["pp-old-m"]
    assert f"no {TAG_EXECUTION} tag" in report.deleted[0].reason
    assert names(report.kept) == ["pp-new-m"]
    assert lookup.calls == []  # nothing to look up


def test_missing_expiry_tag_never_overrides_a_running_execution() -> None:
    lookup = FakeLookup({"run-1": "RUNNING", "run-2": "SUCCEEDED"})
    running = resource("pp-a-ep", expiry=None)
    finished = resource("pp-b-ep", execution="run-2", expiry=None)
    unreadable = resource("pp-c-ep", execution="run-2", extra_tags={TAG_EXPIRY: "next tuesday"})
    report = sweep(FakeFleet([running, finished, unreadable]), lookup, NOW)
    assert names(report.kept) == ["pp-a-ep"]
    assert names(report.deleted) == ["pp-b-ep", "pp-c-ep"]
    assert all(f"no readable {TAG_EXPIRY} tag" in d.reason for d in report.deleted)


def test_each_execution_is_looked_up_once_per_sweep() -> None:
    lookup = FakeLookup({"run-1": "RUNNING"})
    fleet = FakeFleet([resource(f"pp-{i}-m", kind="model") for i in range(5)])
    sweep(fleet, lookup, NOW)
    assert lookup.calls == ["run-1"]


def test_unreadable_status_keeps_the_resource_and_is_reported_once() -> None:
    lookup = FakeLookup({}, fail={"run-1"})
    fleet = FakeFleet([resource("pp-a-ep"), resource("pp-a-m", kind="model")])
    report = sweep(fleet, lookup, NOW)
    assert report.deleted == [] and fleet.delete_calls == []
    assert names(report.kept) == ["pp-a-ep", "pp-a-m"]
    assert len(report.errors) == 1 and "AccessDeniedException" in report.errors[0]
    assert lookup.calls == ["run-1"]


def test_without_a_lookup_only_expired_and_untagged_resources_go() -> None:
    fleet = FakeFleet(
        [
            resource("pp-running-ep"),
            resource("pp-expired-ep", expiry=NOW - timedelta(hours=1)),
            resource("pp-orphan-m", kind="model", execution=None),
        ]
    )
    report = sweep(fleet, None, NOW)
    assert names(report.deleted) == ["pp-expired-ep", "pp-orphan-m"]
    assert names(report.kept) == ["pp-running-ep"]
    assert "no execution lookup" in report.kept[0].reason


def test_a_resource_not_managed_by_path_prover_is_never_deleted() -> None:
    foreign = resource(managed=False, expiry=NOW - timedelta(days=1))
    report = sweep(FakeFleet([foreign]), FakeLookup({}), NOW)
    assert report.deleted == [] and names(report.kept) == ["pp-abc-ep"]


def test_unknown_creation_time_counts_as_older_than_grace() -> None:
    report = sweep(FakeFleet([resource(created=None)]), FakeLookup({"run-1": "ABORTED"}), NOW)
    assert names(report.deleted) == ["pp-abc-ep"]


# --------------------------------------------------------------------------- dry run and errors


def test_dry_run_deletes_nothing() -> None:
    fleet = FakeFleet([resource(), resource("pp-keep-ep", execution="run-2")])
    report = sweep(fleet, FakeLookup({"run-1": "FAILED", "run-2": "RUNNING"}), NOW, dry_run=True)
    assert fleet.delete_calls == []
    assert report.dry_run and report.deleted == []
    assert names(report.would_delete) == ["pp-abc-ep"]
    assert names(report.kept) == ["pp-keep-ep"]


def test_a_delete_error_is_reported() -> None:
    ep, model, config = (
        resource("pp-x-ep"),
        resource("pp-x-m", kind="model"),
        resource("pp-x-ec", kind="endpoint-config"),
    )
    outcome = CleanReport(
        deleted=[ep.label],
        already_gone=[config.label],
        errors=[f"{model.label}: AccessDeniedException: not authorized to perform sagemaker:DeleteModel"],
    )
    fleet = FakeFleet([ep, model, config], outcome)
    report = sweep(fleet, FakeLookup({"run-1": "SUCCEEDED"}), NOW)
    assert fleet.delete_calls == [[ep.label, model.label, config.label]]
    assert names(report.deleted) == ["pp-x-ep"]
    assert report.already_gone == [config.label]
    assert not report.ok and "sagemaker:DeleteModel" in report.errors[0]


def test_a_delete_that_raises_is_reported_not_raised() -> None:
    fleet = FakeFleet([resource()])
    fleet.raise_on_delete = ConnectionError("endpoint unreachable")
    report = sweep(fleet, FakeLookup({"run-1": "FAILED"}), NOW)
    assert report.deleted == []
    assert report.errors == ["delete failed: ConnectionError: endpoint unreachable"]


def test_report_is_json() -> None:
    report = sweep(FakeFleet([resource()]), FakeLookup({"run-1": "FAILED"}), NOW)
    data = json.loads(json.dumps(report.model_dump(mode="json")))
    assert JanitorReport.model_validate(data) == report
    assert data["deleted"][0]["resource"] == "endpoint/pp-abc-ep"
    assert data["grace_s"] == 1800 and data["swept_at"].startswith("2026-11-23T12:00:00")


def test_managed_resource_reads_its_tags() -> None:
    r = resource(extra_tags={TAG_CONFIG_ID: "cfg"})
    assert r.label == "endpoint/pp-abc-ep" and r.managed and r.execution == "run-1"
    assert r.expiry == LATER
    assert parse_utc_iso("2026-11-23T12:00:00Z") == NOW
    assert parse_utc_iso("garbage") is None and parse_utc_iso(None) is None
    naive = ManagedResource(kind="model", name="pp-m", arn="a", created_at=datetime(2026, 1, 1))
    assert naive.created_at is not None and naive.created_at.tzinfo is UTC


# --------------------------------------------------------------------------- the invariant

STATUSES = st.sampled_from(["RUNNING", "PENDING_REDRIVE", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", None])
OFFSETS = st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m))


@given(
    status=STATUSES,
    expiry_offset=st.none() | OFFSETS,
    age=st.none() | st.integers(min_value=0, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    has_execution=st.booleans(),
)
def test_decide_never_deletes_a_running_executions_unexpired_resource(
    status: str | None, expiry_offset: timedelta | None, age: timedelta | None, has_execution: bool
) -> None:
    r = resource(
        execution="run-1" if has_execution else None,
        expiry=None if expiry_offset is None else NOW + expiry_offset,
        created=None if age is None else NOW - age,
    )
    delete, reason = decide(r, NOW, DEFAULT_GRACE, lambda _name: status)
    assert reason
    expired = r.expiry is not None and r.expiry <= NOW
    young = age is not None and age < DEFAULT_GRACE
    protected = (has_execution and status in ("RUNNING", "PENDING_REDRIVE")) or young
    assert delete == (expired or not protected)


# --------------------------------------------------------------------------- builds
class FakeBuilder:
    """In-progress builds per project; records what was stopped."""

    def __init__(self, builds: dict[str, list[Any]], fail_list: set[str] | None = None) -> None:
        self.builds = builds
        self.fail_list = fail_list or set()
        self.stopped: list[str] = []

    def in_progress(self, project: str) -> list[Any]:
        if project in self.fail_list:
            raise RuntimeError("ThrottlingException: Rate exceeded")
        return list(self.builds.get(project, []))

    def stop(self, ref: Any) -> None:
        self.stopped.append(ref.arn_or_id)


def build(build_id: str, execution: str | None, started: datetime = OLD) -> Any:
    from pathprover.stages.jobs import JobRef

    meta = {"execution_id": execution} if execution else {}
    return JobRef(kind="build", name="pathprover-build", arn_or_id=build_id, started_at=started, meta=meta)


def test_builds_of_ended_executions_are_stopped_and_running_ones_kept() -> None:
    # Given builds of an aborted, a running and an unknown execution, one without an execution, one young
    builder = FakeBuilder(
        {
            "pathprover-build": [build("b-aborted", "run-1"), build("b-running", "run-2")],
            "pathprover-benchmark": [build("b-unknown", "run-9"), build("b-orphan", None)],
            "pathprover-stage": [build("b-young", "run-1", started=YOUNG)],
        }
    )
    lookup = FakeLookup({"run-1": "ABORTED", "run-2": "RUNNING"})
    # When the janitor sweeps
    report = sweep(
        FakeFleet([]),
        lookup,
        NOW,
        builder=builder,  # type: ignore[arg-type]
        projects=("pathprover-build", "pathprover-stage", "pathprover-benchmark"),
    )
    # Then the builds of ended (or unknown) executions and the orphan are stopped, with why
    assert sorted(builder.stopped) == ["b-aborted", "b-orphan", "b-unknown"]
    assert any(
        line.startswith("pathprover-build/b-aborted: execution run-1 is ABORTED") for line in report.builds_stopped
    )
    kept = " ".join(report.builds_kept)
    assert "b-running: execution run-2 is RUNNING" in kept and "b-young" in kept
    assert report.ok


def test_a_dry_run_stops_no_build_and_a_listing_error_is_reported() -> None:
    builder = FakeBuilder({"pathprover-build": [build("b-1", "run-1")]}, fail_list={"pathprover-stage"})
    report = sweep(
        FakeFleet([]),
        FakeLookup({"run-1": "FAILED"}),
        NOW,
        dry_run=True,
        builder=builder,  # type: ignore[arg-type]
        projects=("pathprover-build", "pathprover-stage"),
    )
    assert builder.stopped == []
    assert report.builds_would_stop == ["pathprover-build/b-1: execution run-1 is FAILED"]
    assert report.errors == ["list builds of pathprover-stage: RuntimeError: ThrottlingException: Rate exceeded"]


def test_without_an_execution_lookup_a_tagged_build_is_left_to_its_timeout() -> None:
    builder = FakeBuilder({"pathprover-build": [build("b-1", "run-1")]})
    report = sweep(FakeFleet([]), None, NOW, builder=builder, projects=("pathprover-build",))  # type: ignore[arg-type]
    assert builder.stopped == [] and "CodeBuild's timeout" in report.builds_kept[0]


# --------------------------------------------------------------------------- scoped to one deployment (stack)
MINE = "MlccCiHarnessStack"
THEIRS = "MlccCiHarnessStack-blue"


def test_standard_tags_carry_the_stack_only_when_one_is_set() -> None:
    assert TAG_STACK not in standard_tags("run-1", "cfg", LATER)
    assert standard_tags("run-1", "cfg", LATER, MINE)[TAG_STACK] == MINE
    # the caller cannot override the deployment's stack tag
    assert merge_tags({TAG_STACK: THEIRS}, "run-1", "cfg", LATER, MINE)[TAG_STACK] == MINE


def test_another_stacks_resource_is_kept_whatever_its_state() -> None:
    """Expired, its execution unknown here and old: still another deployment's, so never deleted."""
    theirs = resource("pp-theirs-ep", expiry=NOW - timedelta(hours=1), extra_tags={TAG_STACK: THEIRS})
    no_execution = resource("pp-theirs-m", kind="model", execution=None, extra_tags={TAG_STACK: THEIRS})
    mine = resource("pp-mine-ep", expiry=NOW - timedelta(hours=1), extra_tags={TAG_STACK: MINE})
    fleet = FakeFleet([theirs, no_execution, mine])
    report = sweep(fleet, FakeLookup({}), NOW, stack=MINE)
    assert fleet.delete_calls == [["endpoint/pp-mine-ep"]]
    assert names(report.deleted) == ["pp-mine-ep"]
    assert sorted(names(report.kept)) == ["pp-theirs-ep", "pp-theirs-m"]
    for decision in report.kept:
        assert f"{TAG_STACK}={THEIRS}" in decision.reason and "another deployment" in decision.reason
        assert MINE in decision.reason


def test_a_stack_tagged_resource_is_kept_by_a_janitor_without_a_stack() -> None:
    delete, reason = decide(resource(extra_tags={TAG_STACK: THEIRS}), NOW, DEFAULT_GRACE, lambda _: "FAILED")
    assert delete is False and "no stack" in reason


def test_an_untagged_resource_made_before_the_stack_tag_is_judged_as_before() -> None:
    legacy = resource(expiry=NOW - timedelta(minutes=1))
    assert TAG_STACK not in legacy.tags
    assert decide(legacy, NOW, DEFAULT_GRACE, lambda _: "RUNNING", MINE) == (
        True,
        f"expired at {utc_iso(NOW - timedelta(minutes=1))}",
    )
    ended = resource()
    assert decide(ended, NOW, DEFAULT_GRACE, lambda _: "FAILED", MINE)[0] is True
    assert decide(ended, NOW, DEFAULT_GRACE, lambda _: "RUNNING", MINE)[0] is False


@given(owner=st.sampled_from([MINE, THEIRS, None]), status=STATUSES, expired=st.booleans())
def test_decide_deletes_only_its_own_or_untagged(owner: str | None, status: str | None, expired: bool) -> None:
    r = resource(
        expiry=NOW - timedelta(minutes=1) if expired else LATER, extra_tags={TAG_STACK: owner} if owner else None
    )
    delete, _ = decide(r, NOW, DEFAULT_GRACE, lambda _name: status, MINE)
    if owner == THEIRS:
        assert delete is False
    else:
        assert delete == decide(resource(expiry=r.expiry), NOW, DEFAULT_GRACE, lambda _name: status)[0]
