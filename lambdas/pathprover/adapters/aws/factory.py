"""Build the AWS adapters from Settings (on Lambda). Clients are created on first use, not here."""

from __future__ import annotations

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.codebuild import CodeBuildBuilder
from pathprover.adapters.aws.executions import StepFunctionsExecutions
from pathprover.adapters.aws.identity import StsIdentity
from pathprover.adapters.aws.ledger import DynamoLedger
from pathprover.adapters.aws.quotas import ServiceQuotasLookup
from pathprover.adapters.aws.results import AthenaResultsStore
from pathprover.adapters.aws.s3 import S3ArtifactStore
from pathprover.adapters.aws.sagemaker import SageMakerFleet
from pathprover.adapters.aws.secrets import SecretsManagerLookup
from pathprover.catalog import Catalog
from pathprover.clock import SystemClock
from pathprover.deployment import ARTIFACT_PREFIX
from pathprover.protocols import Services
from pathprover.settings import Settings


def build_aws_services(settings: Settings, catalog: Catalog) -> Services:
    missing = [
        name
        for name, value in (
            ("PATHPROVER_RESULTS_BUCKET", settings.results_bucket),
            ("PATHPROVER_LEDGER_TABLE", settings.ledger_table),
        )
        if not value
    ]
    if missing:
        raise RuntimeError(f"missing configuration for the AWS runtime: {', '.join(missing)}")
    clients = AwsClients(settings.region)
    store = AthenaResultsStore(
        clients,
        table_s3_uri=settings.table_location
        or f"s3://{settings.results_bucket}/{settings.glue_database}/{settings.glue_table}/",
        database=settings.glue_database,
        table=settings.glue_table,
        levels_table=settings.glue_levels_table,
        levels_s3_uri=settings.levels_location,
        workgroup=settings.athena_workgroup,
    )
    return Services(
        settings=settings,
        catalog=catalog,
        store=store,
        builder=CodeBuildBuilder(clients, stack=settings.stack),
        fleet=SageMakerFleet(clients),
        artifacts=S3ArtifactStore(clients, settings.artifact_bucket, prefix=ARTIFACT_PREFIX),
        ledger=DynamoLedger(clients, settings.ledger_table or ""),
        clock=SystemClock(),
        simulated=False,
        executions=StepFunctionsExecutions(clients, settings.state_machine_arn) if settings.state_machine_arn else None,
        secrets=SecretsManagerLookup(clients),
        quotas=ServiceQuotasLookup(clients),
        identity=StsIdentity(clients),
    )
