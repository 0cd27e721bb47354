"""`-c UseExistingBenchmarkTable=true`: the account already has mlcc_ci.benchmark_results (the guide's
prerequisite made it). The stack creates no Glue database or results table (CloudFormation would fail on
AlreadyExists) and grants the functions on the existing ones by ARN, and on the table's S3 location. The
levels table, which the prerequisite never made, is still the stack's (in its own results bucket)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from infra.config import ConfigError, HarnessConfig
from infra.iam import flatten

from pathprover.core import schema
from pathprover.core.records import LevelRecord, headline
from tests.infra.conftest import ACCOUNT, EXISTING_BUCKET, FULL, REGION, Synth, synthesize
from tests.infra.test_iam import actions_of, function_role, role_statements

TABLE_OBJECTS = f"arn:aws:s3:::{EXISTING_BUCKET}/{C.TABLE_PREFIX}*"
GLUE = {
    f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog",
    f"arn:aws:glue:{REGION}:{ACCOUNT}:database/{C.GLUE_DATABASE}",
    f"arn:aws:glue:{REGION}:{ACCOUNT}:table/{C.GLUE_DATABASE}/{C.GLUE_TABLE}",
    f"arn:aws:glue:{REGION}:{ACCOUNT}:table/{C.GLUE_DATABASE}/{C.GLUE_LEVELS_TABLE}",
}


def _statements_with(synth: Synth, function: str, action: str) -> list[dict[str, Any]]:
    return [s for s in role_statements(synth, function_role(synth, function)) if action in _list(s["Action"])]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resources(statements: list[dict[str, Any]]) -> set[str]:
    return {flatten(r) for s in statements for r in _list(s["Resource"])}


def test_no_glue_database_or_results_table_is_created(existing_table: Synth) -> None:
    existing_table.template.resource_count_is("AWS::Glue::Database", 0)
    # Only the levels table, in the existing database, its files in the stack's own results bucket
    (table,) = existing_table.resources("AWS::Glue::Table").values()
    assert table["Properties"]["TableInput"]["Name"] == C.GLUE_LEVELS_TABLE
    assert table["Properties"]["DatabaseName"] == C.GLUE_DATABASE and "DependsOn" not in table
    location = json.dumps(table["Properties"]["TableInput"]["StorageDescriptor"]["Location"])
    assert EXISTING_BUCKET not in location and location.endswith(f'"/{C.LEVELS_PREFIX}"]]}}')
    # The workgroup (and its results bucket) and the Path Prover are still there
    existing_table.template.resource_count_is("AWS::Athena::WorkGroup", 1)
    existing_table.template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    assert existing_table.json["Outputs"][C.OUTPUT_RESULTS_TABLE]["Value"] == C.RESULTS_TABLE


def test_without_the_flag_the_stack_creates_them(full: Synth) -> None:
    full.template.resource_count_is("AWS::Glue::Database", 1)
    full.template.resource_count_is("AWS::Glue::Table", 2)


def test_readers_are_granted_the_existing_database_table_and_files(existing_table: Synth) -> None:
    for function in ("pathprover-brain", "pathprover-begin", "pathprover-advance", "pathprover-failure"):
        assert _resources(_statements_with(existing_table, function, "glue:GetTable")) == GLUE, function
        assert TABLE_OBJECTS in _resources(_statements_with(existing_table, function, "s3:GetObject")), function
        listing = [
            s
            for s in _statements_with(existing_table, function, "s3:ListBucket")
            if _resources([s]) == {f"arn:aws:s3:::{EXISTING_BUCKET}"}
        ]
        assert [s["Condition"] for s in listing] == [{"StringLike": {"s3:prefix": [f"{C.TABLE_PREFIX}*"]}}], function


def test_writers_append_to_the_existing_location_and_register_partitions(existing_table: Synth) -> None:
    for function in ("pathprover-advance", "pathprover-failure"):
        puts = _resources(_statements_with(existing_table, function, "s3:PutObject"))
        assert TABLE_OBJECTS in puts, function
        assert not [p for p in puts if p.endswith(f"/{C.TABLE_PREFIX}*") and p != TABLE_OBJECTS], function
        assert _resources(_statements_with(existing_table, function, "glue:BatchCreatePartition")) == GLUE
        # The levels go to the stack's own bucket, under their table's prefix
        assert [p for p in puts if p.endswith(f"/{C.LEVELS_PREFIX}*") and EXISTING_BUCKET not in p], function
    # No one may change the table itself
    everything = set().union(*(actions_of(role_statements(existing_table, r)) for r in _roles(existing_table)))
    assert not {a for a in everything if a.startswith("glue:") and ("Table" in a and not a.startswith("glue:Get"))}


def test_the_runtime_writes_where_the_existing_table_reads(existing_table: Synth) -> None:
    from pathprover.settings import Settings

    for function in existing_table.resources("AWS::Lambda::Function").values():
        env = function["Properties"].get("Environment", {}).get("Variables", {})
        if "PATHPROVER_RESULTS_BUCKET" not in env:
            continue
        assert env["PATHPROVER_RESULTS_BUCKET"] == EXISTING_BUCKET
        settings = Settings.from_env({k: v for k, v in env.items() if isinstance(v, str)})
        # pathprover.adapters.aws.factory: s3://<results bucket>/<database>/<table>/
        location = f"s3://{settings.results_bucket}/{settings.glue_database}/{settings.glue_table}/"
        assert location == f"s3://{EXISTING_BUCKET}/{C.TABLE_PREFIX}"
        # The levels table's files are in the stack's own results bucket (a token until deploy)
        levels = flatten(env["PATHPROVER_LEVELS_LOCATION"])
        assert EXISTING_BUCKET not in levels and levels.endswith(f"/{C.LEVELS_PREFIX}")


def test_athena_results_stay_in_the_stacks_bucket(existing_table: Synth) -> None:
    _, workgroup = existing_table.one("AWS::Athena::WorkGroup")
    output = json.dumps(workgroup["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"])
    assert EXISTING_BUCKET not in output and "athena-results/" in output


def test_harness_only_with_an_existing_table_holds_the_workgroup_and_buckets(tmp_path: Path) -> None:
    synth = synthesize(
        {C.CTX_USE_EXISTING_TABLE: "true", C.CTX_TABLE_LOCATION: f"s3://{EXISTING_BUCKET}/{C.TABLE_PREFIX}"},
        tmp_path,
    )
    types = [r["Type"] for r in synth.json["Resources"].values()]
    assert "AWS::Glue::Database" not in types and types.count("AWS::Glue::Table") == 1  # the levels table
    assert "AWS::Athena::WorkGroup" in types


def _roles(synth: Synth) -> list[str]:
    return list(synth.resources("AWS::IAM::Role"))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({C.CTX_USE_EXISTING_TABLE: "true"}, C.CTX_TABLE_LOCATION),
        ({C.CTX_TABLE_LOCATION: f"s3://bucket-1/{C.TABLE_PREFIX}"}, C.CTX_USE_EXISTING_TABLE),
        ({C.CTX_USE_EXISTING_TABLE: "true", C.CTX_TABLE_LOCATION: "https://bucket-1/x/"}, "s3://<bucket>/<prefix>/"),
        ({C.CTX_USE_EXISTING_TABLE: "true", C.CTX_TABLE_LOCATION: "s3://bucket-1/"}, "s3://<bucket>/<prefix>/"),
        ({C.CTX_USE_EXISTING_TABLE: "maybe", C.CTX_TABLE_LOCATION: "s3://bucket-1/x/"}, "expected true or false"),
    ],
)
def test_bad_table_options_fail_synthesis_naming_the_key(context: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("<", ".").replace(">", ".")):
        HarnessConfig.from_mapping({C.CTX_CREATE_PATH_PROVER: "true", **context})


def test_a_location_outside_the_default_layout_is_granted_and_written_there(tmp_path: Path) -> None:
    # Given an existing table whose files are somewhere else than <bucket>/mlcc_ci/benchmark_results/
    synth = synthesize({**FULL, C.CTX_USE_EXISTING_TABLE: "true", C.CTX_TABLE_LOCATION: "s3://x/y/"}, tmp_path)
    # Then the functions are granted exactly that location (cdk-nag acknowledged it: synthesis passed)
    reads = _resources(_statements_with(synth, "pathprover-brain", "s3:GetObject"))
    assert "arn:aws:s3:::x/y/*" in reads
    writes = _resources(_statements_with(synth, "pathprover-advance", "s3:PutObject"))
    assert "arn:aws:s3:::x/y/*" in writes and not [w for w in writes if w.startswith("arn:aws:s3:::x/mlcc_ci")]
    # And the runtime is told to write there (Settings.table_location; the AWS factory uses it)
    env = next(iter(synth.resources("AWS::Lambda::Function").values()))["Properties"]["Environment"]["Variables"]
    assert env["PATHPROVER_TABLE_LOCATION"] == "s3://x/y/"
    from pathprover.settings import Settings

    assert Settings.from_env({"PATHPROVER_TABLE_LOCATION": "s3://x/y/"}).table_location == "s3://x/y/"


def test_the_location_may_omit_its_trailing_slash() -> None:
    config = HarnessConfig.from_mapping(
        {C.CTX_USE_EXISTING_TABLE: "true", C.CTX_TABLE_LOCATION: f"s3://bucket-1/{C.TABLE_PREFIX}".rstrip("/")}
    )
    assert config.existing_table is not None
    assert config.existing_table.uri == f"s3://bucket-1/{C.TABLE_PREFIX}"


def test_the_docs_alter_table_adds_every_headline_column_with_its_type() -> None:
    # Given the statement docs/deploy.md gives for an existing table made before the headline columns
    text = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    found = re.search(r"ALTER TABLE mlcc_ci\.benchmark_results ADD COLUMNS \((.*?)\);", text, re.S)
    assert found, "docs/deploy.md shows the ALTER TABLE for an existing table"
    added = dict(pair.split() for pair in found.group(1).split(",") if pair.strip())
    # Then it adds each headline column the writer fills, with the Glue type of the one schema
    glue = {c.name: c.glue_type for c in schema.columns()}
    assert {name: glue.get(name) for name in added} == added
    level = LevelRecord(record_id="r", config_id="c", run_timestamp=datetime(2026, 1, 1), concurrency=1)
    assert set(headline([level])) <= set(added)
