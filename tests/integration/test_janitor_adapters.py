"""The janitor's adapters and handler.

* SageMakerFleet.inventory / delete against real boto3 clients answered by botocore's
  Stubber (which also checks every request against the service model, and the call order);
* StepFunctionsExecutions (Stubber) and LocalExecutions (a mapping, a callable, moto);
* SimulatedFleet.inventory / delete after real deploys;
* the Lambda handler end to end over a SimulatedFleet and a local lookup.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.executions import StepFunctionsExecutions, execution_arn
from pathprover.adapters.aws.sagemaker import SageMakerFleet
from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.adapters.local.builder import SimulatedBuilder
from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.executions import LocalExecutions
from pathprover.adapters.local.fleet import SimulatedFleet
from pathprover.adapters.local.ledger import SqliteLedger
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import Catalog
from pathprover.clock import VirtualClock
from pathprover.protocols import Services
from pathprover.runtime.moto_patches import LambdaContext
from pathprover.services import use_services
from pathprover.settings import Settings
from pathprover.stages.jobs import ManagedResource
from pathprover.stages.naming import TAG_EXECUTION, resource_names, standard_tags
from pathprover.stages.specs import DeploySpec, TrainingSpec

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"
STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:mlcc-path-prover"
ROLE = "arn:aws:iam::123456789012:role/pp-sagemaker"
SMALL = "Qwen/Qwen3-0.6B"
LIST_ARGS = {"NameContains": "pp-", "MaxResults": 100}


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class Env:
    """Real clients wrapped in Stubbers, recorded sleeps."""

    def __init__(self) -> None:
        self.clients = AwsClients(region="us-east-1")
        self.stubs: dict[str, Stubber] = {}
        self.sleeps: list[float] = []

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            stubber = Stubber(self.clients.get(service))
            stubber.activate()
            self.stubs[service] = stubber
        return self.stubs[service]

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def fleet(self, **kw: Any) -> SageMakerFleet:
        return SageMakerFleet(self.clients, now=lambda: NOW, sleep=self.sleep, **kw)


@pytest.fixture
def env() -> Iterator[Env]:
    environment = Env()
    yield environment
    for stubber in environment.stubs.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def arn(kind: str, name: str) -> str:
    return f"{ACCOUNT_ARN}:{kind}/{name}"


def tag_list(execution: str = "run-1") -> list[dict[str, str]]:
    tags = standard_tags(execution, "cfg", NOW + timedelta(hours=12))
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def endpoint_item(name: str, status: str = "InService") -> dict[str, Any]:
    return {
        "EndpointName": name,
        "EndpointArn": arn("endpoint", name),
        "CreationTime": NOW - timedelta(hours=1),
        "LastModifiedTime": NOW,
        "EndpointStatus": status,
    }


def managed(kind: Any, name: str, status: str | None = None) -> ManagedResource:
    return ManagedResource(kind=kind, name=name, arn=arn(kind, name), tags={}, created_at=NOW, status=status)


# --------------------------------------------------------------------------- SageMakerFleet.inventory


def test_inventory_pages_filters_and_reads_tags(env: Env) -> None:
    sm = env.stub("sagemaker")
    # endpoints: two pages; a Deleting one and a name that only contains pp- are not even tag-read
    sm.add_client_error("list_endpoints", "ThrottlingException", "Rate exceeded", expected_params=LIST_ARGS)
    sm.add_response(
        "list_endpoints",
        {
            "Endpoints": [endpoint_item("pp-a-ep"), endpoint_item("pp-gone-ep", "Deleting"), endpoint_item("app-ep")],
            "NextToken": "page-2",
        },
        LIST_ARGS,
    )
    sm.add_response("list_tags", {"Tags": tag_list()}, {"ResourceArn": arn("endpoint", "pp-a-ep")})
    sm.add_response(
        "list_endpoints",
        {"Endpoints": [endpoint_item("pp-b-ep", "Failed"), endpoint_item("pp-foreign-ep")]},
        {**LIST_ARGS, "NextToken": "page-2"},
    )
    sm.add_response("list_tags", {"Tags": tag_list("run-2")}, {"ResourceArn": arn("endpoint", "pp-b-ep")})
    sm.add_response(
        "list_tags",
        {"Tags": [{"Key": "managed-by", "Value": "someone-else"}]},
        {"ResourceArn": arn("endpoint", "pp-foreign-ep")},
    )
    # in-progress jobs
    sm.add_response(
        "list_training_jobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "pp-a-tr",
                    "TrainingJobArn": arn("training-job", "pp-a-tr"),
                    "CreationTime": NOW,
                    "TrainingJobStatus": "InProgress",
                }
            ]
        },
        {**LIST_ARGS, "StatusEquals": "InProgress"},
    )
    sm.add_response("list_tags", {"Tags": []}, {"ResourceArn": arn("training-job", "pp-a-tr")})  # untagged
    sm.add_response("list_transform_jobs", {"TransformJobSummaries": []}, {**LIST_ARGS, "StatusEquals": "InProgress"})
    # configs and models; a model that vanished between the listing and ListTags is skipped
    sm.add_response(
        "list_endpoint_configs",
        {
            "EndpointConfigs": [
                {
                    "EndpointConfigName": "pp-a-ec",
                    "EndpointConfigArn": arn("endpoint-config", "pp-a-ec"),
                    "CreationTime": NOW,
                }
            ]
        },
        LIST_ARGS,
    )
    sm.add_response("list_tags", {"Tags": tag_list()}, {"ResourceArn": arn("endpoint-config", "pp-a-ec")})
    sm.add_response(
        "list_models",
        {
            "Models": [
                {"ModelName": "pp-a-m", "ModelArn": arn("model", "pp-a-m"), "CreationTime": NOW},
                {"ModelName": "pp-gone-m", "ModelArn": arn("model", "pp-gone-m"), "CreationTime": NOW},
            ]
        },
        LIST_ARGS,
    )
    sm.add_response("list_tags", {"Tags": tag_list()[:2], "NextToken": "t2"}, {"ResourceArn": arn("model", "pp-a-m")})
    sm.add_response("list_tags", {"Tags": tag_list()[2:]}, {"ResourceArn": arn("model", "pp-a-m"), "NextToken": "t2"})
    sm.add_client_error(
        "list_tags",
        "ValidationException",
        f'Could not find model "{arn("model", "pp-gone-m")}".',
        expected_params={"ResourceArn": arn("model", "pp-gone-m")},
    )

    found = env.fleet().inventory()

    assert [r.label for r in found] == [
        "endpoint/pp-a-ep",
        "endpoint/pp-b-ep",
        "endpoint-config/pp-a-ec",
        "model/pp-a-m",
    ]
    first = found[0]
    assert first.arn == arn("endpoint", "pp-a-ep") and first.status == "InService"
    assert first.execution == "run-1" and first.expiry == NOW + timedelta(hours=12)
    assert first.created_at == NOW - timedelta(hours=1)
    assert found[1].status == "Failed" and found[1].execution == "run-2"
    assert found[3].tags == dict((t["Key"], t["Value"]) for t in tag_list())  # both tag pages
    assert len(env.sleeps) == 1  # the throttled page was retried


def test_inventory_reads_at_most_inventory_limit_tags(env: Env) -> None:
    sm = env.stub("sagemaker")
    sm.add_response("list_endpoints", {"Endpoints": [endpoint_item("pp-1-ep"), endpoint_item("pp-2-ep")]}, LIST_ARGS)
    sm.add_response("list_tags", {"Tags": tag_list()}, {"ResourceArn": arn("endpoint", "pp-1-ep")})
    found = env.fleet(inventory_limit=1).inventory()
    assert [r.name for r in found] == ["pp-1-ep"]


def test_inventory_raises_on_a_real_error(env: Env) -> None:
    from botocore.exceptions import ClientError

    sm = env.stub("sagemaker")
    sm.add_client_error("list_endpoints", "AccessDeniedException", "not authorized to perform sagemaker:ListEndpoints")
    with pytest.raises(ClientError):
        env.fleet().inventory()


# --------------------------------------------------------------------------- SageMakerFleet.delete


def test_delete_removes_billing_first_and_reports_gone_and_errors(env: Env) -> None:
    sm = env.stub("sagemaker")
    resources = [
        managed("model", "pp-a-m"),
        managed("endpoint-config", "pp-a-ec"),
        managed("transform-job", "pp-a-bt", "InProgress"),
        managed("training-job", "pp-a-tr", "InProgress"),
        managed("endpoint", "pp-a-ep", "InService"),
        managed("endpoint", "pp-a-ep", "InService"),  # a duplicate is removed once
        managed("endpoint", "pp-dying-ep", "Deleting"),
    ]
    sm.add_client_error("delete_endpoint", "ThrottlingException", "Rate exceeded")
    sm.add_response("delete_endpoint", {}, {"EndpointName": "pp-a-ep"})
    sm.add_response(
        "describe_training_job",
        {
            "TrainingJobName": "pp-a-tr",
            "TrainingJobArn": arn("training-job", "pp-a-tr"),
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/k"},
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Training",
            "ResourceConfig": {"InstanceCount": 1, "VolumeSizeInGB": 10, "InstanceType": "ml.g5.2xlarge"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "CreationTime": NOW,
        },
        {"TrainingJobName": "pp-a-tr"},
    )
    sm.add_response("stop_training_job", {}, {"TrainingJobName": "pp-a-tr"})
    sm.add_response(
        "describe_transform_job",
        {
            "TransformJobName": "pp-a-bt",
            "TransformJobArn": arn("transform-job", "pp-a-bt"),
            "TransformJobStatus": "Completed",
            "ModelName": "pp-a-m",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}},
            "TransformResources": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1},
            "CreationTime": NOW,
        },
        {"TransformJobName": "pp-a-bt"},
    )
    sm.add_client_error(
        "delete_endpoint_config",
        "ValidationException",
        f'Could not find endpoint configuration "{arn("endpoint-config", "pp-a-ec")}".',
        expected_params={"EndpointConfigName": "pp-a-ec"},
    )
    sm.add_client_error(
        "delete_model",
        "AccessDeniedException",
        "not authorized to perform sagemaker:DeleteModel",
        expected_params={"ModelName": "pp-a-m"},
    )

    report = env.fleet().delete(resources)

    assert report.deleted == ["endpoint/pp-a-ep", "training-job/pp-a-tr"]
    assert report.already_gone == [
        "endpoint/pp-dying-ep",
        "transform-job/pp-a-bt",  # finished: nothing to stop
        "endpoint-config/pp-a-ec",
    ]
    assert len(report.errors) == 1 and report.errors[0].startswith("model/pp-a-m: AccessDeniedException")
    assert len(env.sleeps) == 1


# --------------------------------------------------------------------------- execution lookups


def describe(name: str, status: str) -> dict[str, Any]:
    return {
        "executionArn": execution_arn(STATE_MACHINE, name),
        "stateMachineArn": STATE_MACHINE,
        "name": name,
        "status": status,
        "startDate": NOW,
    }


def test_execution_arn_is_built_from_the_state_machine() -> None:
    assert execution_arn(STATE_MACHINE, "run-7") == (
        "arn:aws:states:us-east-1:123456789012:execution:mlcc-path-prover:run-7"
    )
    gov = "arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:pp"
    assert execution_arn(gov, "r") == "arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:pp:r"
    full = "arn:aws:states:us-east-1:123456789012:execution:other:run-9"
    assert execution_arn(STATE_MACHINE, full) == full
    with pytest.raises(ValueError, match="state machine ARN"):
        execution_arn("arn:aws:lambda:us-east-1:123456789012:function:x", "r")
    with pytest.raises(ValueError):
        StepFunctionsExecutions(AwsClients(), "mlcc-path-prover")


def test_step_functions_lookup_statuses_and_missing(env: Env) -> None:
    sfn = env.stub("stepfunctions")
    sfn.add_response(
        "describe_execution", describe("run-1", "RUNNING"), {"executionArn": execution_arn(STATE_MACHINE, "run-1")}
    )
    sfn.add_client_error("describe_execution", "ThrottlingException", "Rate exceeded")
    sfn.add_response("describe_execution", describe("run-2", "TIMED_OUT"))
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "Execution Does Not Exist: 'run-3'")
    sfn.add_client_error("describe_execution", "AccessDeniedException", "not authorized")
    lookup = StepFunctionsExecutions(env.clients, STATE_MACHINE, sleep=env.sleep)

    assert lookup.status("run-1") == "RUNNING"
    assert lookup.status("run-2") == "TIMED_OUT"
    assert lookup.status("run-3") is None  # no "_": no listing
    with pytest.raises(Exception, match="AccessDenied"):
        lookup.status("run-4")
    assert len(env.sleeps) == 1


def test_a_sanitised_tag_is_matched_against_running_executions(env: Env) -> None:
    real_name = "nightly(retry)!"
    tag = standard_tags(real_name, "c", NOW)[TAG_EXECUTION]
    assert tag == "nightly_retry__"
    sfn = env.stub("stepfunctions")
    listed = {"stateMachineArn": STATE_MACHINE, "statusFilter": "RUNNING", "maxResults": 1000}
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "does not exist")
    sfn.add_response(
        "list_executions",
        {
            "executions": [
                {k: v for k, v in describe("other", "RUNNING").items()},
            ],
            "nextToken": "n2",
        },
        listed,
    )
    sfn.add_response("list_executions", {"executions": [describe(real_name, "RUNNING")]}, {**listed, "nextToken": "n2"})
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "does not exist")  # cached listing
    clock = [0.0]
    lookup = StepFunctionsExecutions(env.clients, STATE_MACHINE, sleep=env.sleep, monotonic=lambda: clock[0])

    assert lookup.status(tag) == "RUNNING"
    assert lookup.status("gone_for_good") is None
    # a minute later the listing is read again
    clock[0] = 120.0
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "does not exist")
    sfn.add_response("list_executions", {"executions": []}, listed)
    assert lookup.status(tag) is None


def test_local_lookup_over_a_mapping_or_a_callable() -> None:
    assert LocalExecutions({"run-1": "RUNNING"}).status("run-1") == "RUNNING"
    assert LocalExecutions({"run-1": "RUNNING"}).status("run-2") is None
    assert LocalExecutions(lambda name: name.upper()).status("aborted") == "ABORTED"
    with pytest.raises(TypeError):
        LocalExecutions(42)


def test_local_lookup_over_moto_step_functions() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
        machine = sfn.create_state_machine(
            name="mlcc-path-prover",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/pp-states",
        )["stateMachineArn"]
        sfn.start_execution(stateMachineArn=machine, name="run-live")
        stopped = sfn.start_execution(stateMachineArn=machine, name="run-stopped")["executionArn"]
        sfn.stop_execution(executionArn=stopped)
        with pytest.raises(ValueError, match="state_machine_arn"):
            LocalExecutions(sfn)
        lookup = LocalExecutions(sfn, state_machine_arn=machine)

        assert lookup.status("run-live") == "RUNNING"
        assert lookup.status("run-stopped") == "ABORTED"
        assert lookup.status("run-never") is None


# --------------------------------------------------------------------------- SimulatedFleet


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(NOW)


@pytest.fixture
def sim(clock: VirtualClock, catalog: Catalog) -> Iterator[SimulatedFleet]:
    with SimulatedEndpointServer() as server, SimulatedFleet(clock, catalog, server=server) as fleet:
        yield fleet


def deploy_spec(execution: str, config_id: str = "c0ffee0000000001") -> DeploySpec:
    return DeploySpec(
        execution_id=execution,
        config_id=config_id,
        names=resource_names(execution, config_id, 1),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-serving:local",
        env={"HF_MODEL_ID": SMALL, "TP_DEGREE": "1", "QUANTIZATION": "none", "DEPLOYMENT_CONFIG": "transformers-vllm"},
        instance_type="ml.g5.xlarge",
        target="realtime-inference",
        role_arn=ROLE,
        expiry=NOW + timedelta(hours=12),
    )


def training_spec(execution: str) -> TrainingSpec:
    return TrainingSpec(
        execution_id=execution,
        config_id="c0ffee000000000b",
        job_name=resource_names(execution, "c0ffee000000000b", 1).training_job,
        training_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-tune:1",
        hyperparameters={"model_id": SMALL},
        role_arn=ROLE,
        instance_type="ml.g5.2xlarge",
        output_s3="s3://pp-bucket/tune/",
        expiry=NOW + timedelta(hours=12),
    )


def test_simulated_inventory_after_a_deploy_and_delete(sim: SimulatedFleet) -> None:
    spec = deploy_spec("run-1")
    ref = sim.start_deploy(spec)
    training = sim.start_training(training_spec("run-1"))

    found = sim.inventory()

    assert [r.label for r in found] == [
        f"endpoint/{spec.names.endpoint}",
        f"training-job/{training.name}",
        f"endpoint-config/{spec.names.endpoint_config}",
        f"model/{spec.names.model}",
    ]
    endpoint = found[0]
    assert endpoint.arn == ref.arn_or_id and endpoint.status == "Creating"
    assert endpoint.tags == spec.all_tags and endpoint.execution == "run-1"
    assert endpoint.created_at == NOW and endpoint.expiry == NOW + timedelta(hours=12)
    assert found[1].status == "InProgress" and found[2].status is None

    report = sim.delete(list(reversed(found)))
    assert report.deleted == [r.label for r in found]  # billing first, whatever the order given
    assert sim.inventory() == [] and sim.alive({}) == []
    again = sim.delete(found)
    assert again.deleted == [] and len(again.already_gone) == 4


# --------------------------------------------------------------------------- the handler


@pytest.fixture
def services(tmp_path: Path, clock: VirtualClock, catalog: Catalog, sim: SimulatedFleet) -> Iterator[Services]:
    artifacts = LocalArtifactStore(tmp_path / "artifacts", s3_bucket="pathprover-local")
    svc = Services(
        settings=Settings(warehouse=tmp_path / "warehouse"),
        catalog=catalog,
        store=LocalWarehouse(tmp_path / "warehouse"),
        builder=SimulatedBuilder(clock, catalog, artifacts=artifacts),
        fleet=sim,
        artifacts=artifacts,
        ledger=SqliteLedger(tmp_path / "ledger.sqlite"),
        clock=clock,
        simulated=True,
        executions=LocalExecutions({"run-live": "RUNNING", "run-done": "SUCCEEDED"}),
    )
    use_services(svc)
    yield svc
    use_services(None)


def emf(stdout: str) -> list[dict[str, Any]]:
    blobs = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def test_handler_sweeps_with_the_installed_services(
    services: Services,
    sim: SimulatedFleet,
    clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathprover.handlers.janitor import handler

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    live, done, crashed = deploy_spec("run-live"), deploy_spec("run-done"), deploy_spec("run-crashed")
    for spec in (live, done, crashed):
        sim.start_deploy(spec)
    context = LambdaContext("pathprover-janitor")

    # Within the grace nothing goes
    young = handler({"dry_run": True}, context)
    assert young["examined"] == 9 and young["would_delete"] == [] and young["deleted"] == []

    clock.advance(3600)
    dry = handler({"dry_run": True}, context)
    assert dry["dry_run"] is True and dry["deleted"] == []
    assert sorted(d["execution"] for d in dry["would_delete"]) == ["run-crashed"] * 3 + ["run-done"] * 3
    assert len(sim.inventory()) == 9  # a dry run deletes nothing

    capsys.readouterr()
    report = handler({"version": "0", "detail-type": "Scheduled Event", "detail": {}}, context)
    assert report["dry_run"] is False and report["errors"] == []
    assert len(report["deleted"]) == 6
    reasons = {d["execution"]: d["reason"] for d in report["deleted"]}
    assert reasons == {
        "run-done": "execution run-done is SUCCEEDED",
        "run-crashed": "execution run-crashed is unknown to the workflow",
    }
    assert {d["execution"] for d in report["kept"]} == {"run-live"}
    assert sorted(r.name for r in sim.inventory()) == sorted(
        [live.names.endpoint, live.names.endpoint_config, live.names.model]
    )
    blobs = emf(capsys.readouterr().out)
    assert [b["_aws"]["CloudWatchMetrics"][0]["Namespace"] for b in blobs] == ["PathProver"]
    values = {m: b[m] for b in blobs for m in ("JanitorDeleted", "JanitorErrors")}
    assert {m: sum(v) if isinstance(v, list) else v for m, v in values.items()} == {
        "JanitorDeleted": 6.0,
        "JanitorErrors": 0.0,
    }

    # Past the expiry even the running execution's resources go
    clock.advance(12 * 3600)
    last = handler({}, context)
    assert len(last["deleted"]) == 3 and all(d["reason"].startswith("expired at") for d in last["deleted"])
    assert sim.inventory() == []


def test_handler_keeps_another_stacks_resources(
    services: Services, sim: SimulatedFleet, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deployments in one account: the janitor of `mine` deletes its ended execution's resources and
    an untagged (pre-tag) leftover, and keeps everything tagged pathprover:stack=theirs, even expired."""
    from pathprover.handlers.janitor import handler

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    use_services(dataclasses.replace(services, settings=Settings(warehouse=Path("unused"), stack="mine")))
    ours = deploy_spec("run-done").model_copy(update={"stack": "mine"})
    theirs = deploy_spec("run-crashed").model_copy(update={"stack": "theirs"})
    legacy = deploy_spec("run-done", config_id="c0ffee0000000002")
    for spec in (ours, theirs, legacy):
        sim.start_deploy(spec)
    clock.advance(13 * 3600)  # past every expiry
    report = handler({}, LambdaContext("pathprover-janitor"))
    assert report["errors"] == []
    assert len(report["deleted"]) == 6
    assert [r.name for r in sim.inventory()] and all(r.stack == "theirs" for r in sim.inventory())
    assert len(report["kept"]) == 3
    assert all("pathprover:stack=theirs: another deployment's" in d["reason"] for d in report["kept"])
