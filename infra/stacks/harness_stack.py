"""MlccCiHarnessStack: the benchmark data always; the Path Prover with `-c CreatePathProver=true`."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Aspects, CfnOutput, Stack, Tags
from constructs import Construct

from infra import constants as C
from infra.bundling import lambda_code
from infra.config import HarnessConfig
from infra.constructs.alarms import ProverAlarms
from infra.constructs.benchmark_data import BenchmarkData
from infra.constructs.build_farm import BuildFarm
from infra.constructs.encryption import ProverKey
from infra.constructs.janitor import Janitor
from infra.constructs.ledger import Ledger
from infra.constructs.prover_functions import ProverFunctions, pandas_layer, shared_environment
from infra.constructs.prover_schedule import ProverSchedule
from infra.constructs.prover_state_machine import ProverStateMachine
from infra.constructs.stopped_cleanup import StoppedCleanup
from infra.iam import AcknowledgeJustifiedWildcards, existing_table_objects


class HarnessStack(Stack):
    """Without CreatePathProver the stack holds only the benchmark data (bucket, Glue table, Athena
    workgroup) that CI and the guide's queries use; with it, everything the Path Prover runs on."""

    def __init__(self, scope: Construct, construct_id: str, *, config: HarnessConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.data = BenchmarkData(
            self, "BenchmarkData", existing_table=config.existing_table, shares_tables=config.shares_tables
        )
        self._output_benchmark_data()
        self.prover: PathProver | None = None
        if config.create_path_prover:
            self.prover = PathProver(self, "PathProver", config=config, data=self.data)
            CfnOutput(
                self,
                C.OUTPUT_STATE_MACHINE_ARN,
                value=self.prover.workflow.state_machine.state_machine_arn,
                description="aws stepfunctions start-execution --state-machine-arn <this>",
            )
            CfnOutput(self, C.OUTPUT_ARTIFACT_BUCKET, value=self.prover.farm.artifacts.bucket_name)
            CfnOutput(self, C.OUTPUT_ALARM_TOPIC, value=self.prover.alarms.topic.topic_arn)
        Tags.of(self).add("project", "path-prover")
        table = config.existing_table
        extra = [existing_table_objects(table.bucket, table.prefix)] if table else []
        if table and config.shares_tables:
            extra.append(existing_table_objects(table.bucket, C.LEVELS_PREFIX, "levels"))
        Aspects.of(self).add(AcknowledgeJustifiedWildcards(extra))

    def _output_benchmark_data(self) -> None:
        CfnOutput(self, C.OUTPUT_RESULTS_TABLE, value=C.RESULTS_TABLE, description="Glue database.table for Athena")
        CfnOutput(
            self,
            C.OUTPUT_LEVELS_TABLE,
            value=C.LEVELS_TABLE,
            description="Glue database.table of every benchmarked concurrency level, keyed by record_id",
        )
        CfnOutput(self, C.OUTPUT_ATHENA_WORKGROUP, value=self.data.workgroup.ref)
        CfnOutput(self, C.OUTPUT_RESULTS_BUCKET, value=self.data.bucket.bucket_name)


class PathProver(Construct):
    """Everything the Path Prover runs on, in dependency order."""

    def __init__(self, scope: Construct, construct_id: str, *, config: HarnessConfig, data: BenchmarkData) -> None:
        super().__init__(scope, construct_id)
        self.key = ProverKey(self, "Key").key
        self.ledger = Ledger(self, "Ledger").table
        self.farm = BuildFarm(
            self,
            "BuildFarm",
            key=self.key,
            access_logs=data.access_logs,
            hf_token_secret=config.hf_token_secret,
            benchmark_image_tag=config.benchmark_image_tag,
            docker_hub_credential=config.docker_hub_credential,
        )
        code = lambda_code(strict=config.strict_bundling, on_incomplete=self._warn_incomplete_bundle)
        layer = pandas_layer(self, config.pandas_layer_arn)
        self.handlers = ProverFunctions(
            self, "Functions", code=code, layer=layer, data=data, ledger=self.ledger, farm=self.farm
        )
        self.workflow = ProverStateMachine(self, "Workflow", functions=self.handlers.functions)
        self.schedule = (
            ProverSchedule(
                self,
                "Schedule",
                state_machine=self.workflow.state_machine,
                expression=config.schedule,
                execution_input=config.schedule_input,
            )
            if config.schedule
            else None
        )
        self.janitor = Janitor(
            self,
            "Janitor",
            code=code,
            layer=layer,
            environment=shared_environment(data, self.ledger, self.farm),
            state_machine=self.workflow.state_machine,
            projects=self.farm.projects,
        )
        self.stopped_cleanup = StoppedCleanup(
            self,
            "StoppedCleanup",
            code=code,
            layer=layer,
            environment=shared_environment(data, self.ledger, self.farm),
            functions=self.handlers,
            state_machine=self.workflow.state_machine,
        )
        self.alarms = ProverAlarms(
            self,
            "Alarms",
            key=self.key,
            state_machine=self.workflow.state_machine,
            janitor=self.janitor.function,
            email=config.alarm_email,
        )

    def _warn_incomplete_bundle(self, message: str) -> None:
        Annotations.of(self).add_warning_v2("pathprover:lambda-bundle-incomplete", message)
