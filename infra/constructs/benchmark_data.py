"""The benchmark data (the guide's prerequisite): results bucket, Glue tables `mlcc_ci.benchmark_results`
(one row per prove attempt) and `mlcc_ci.benchmark_levels` (its concurrency levels), Athena.

The tables' columns come from :mod:`pathprover.core.schema` (one definition for the DuckDB views,
the Parquet writers, the docs and these tables). Both are partitioned by `dt` (YYYY-MM-DD) with
partition projection, so a new day's rows are queryable without a crawler or MSCK REPAIR.

With `-c UseExistingBenchmarkTable=true` the account already has the database and the results table:
neither is created (CloudFormation would fail on AlreadyExists), and the table's files are where
`-c BenchmarkTableLocation` says. The levels table is the stack's in either case (the prerequisite
never made one): it is created in the database, its files in the results bucket. A named deployment
(-c PathProverName) on an existing table shares another deployment's tables instead: it creates neither,
and its levels rows go next to that table's (`s3://<its bucket>/mlcc_ci/benchmark_levels/`).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants as C
from infra.config import TableLocation, names_of
from infra.iam import acknowledge
from pathprover.core import schema

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    lifecycle_rules: list[s3.LifecycleRule],
    access_logs: s3.IBucket | None,
    access_logs_prefix: str | None = None,
    versioned: bool = False,
) -> s3.Bucket:
    """Encrypted, TLS-only, private, owner-enforced, retained on stack deletion."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=versioned,
        lifecycle_rules=lifecycle_rules,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_logs_prefix,
        # Kept on stack deletion (they hold the results), deleted when a failed first create rolls
        # back, so a retried first deploy does not fail on "already exists".
        removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )


class BenchmarkData(Construct):
    """Results bucket + Glue database/table + Athena workgroup, and the access-log bucket they share."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        existing_table: TableLocation | None = None,
        shares_tables: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if shares_tables and existing_table is None:
            raise ValueError("sharing another deployment's tables needs the existing table's location")
        self.existing_table = existing_table
        self.shares_tables = shares_tables
        self.access_logs = self._build_access_logs()
        self.bucket = self._build_results_bucket()
        self.database: glue.CfnDatabase | None = None
        self.table: glue.CfnTable | None = None
        if existing_table is None:
            self.database = self._build_database()
            self.table = self._build_table("Table", schema.RESULTS, self.table_location)
        self.levels_table: glue.CfnTable | None = None
        if not shares_tables:
            self.levels_table = self._build_table("LevelsTable", schema.LEVELS, self.levels_location)
        self.workgroup = self._build_workgroup()

    # ------------------------------------------------------------------ where the rows are
    @property
    def table_bucket_name(self) -> str:
        """The bucket of the table's files (PATHPROVER_RESULTS_BUCKET: the runtime writes under its table prefix)."""
        return self.existing_table.bucket if self.existing_table else self.bucket.bucket_name

    @property
    def table_bucket_arn(self) -> str:
        if self.existing_table is None:
            return self.bucket.bucket_arn
        return f"arn:{Stack.of(self).partition}:s3:::{self.existing_table.bucket}"

    @property
    def table_prefix(self) -> str:
        return self.existing_table.prefix if self.existing_table else C.TABLE_PREFIX

    @property
    def table_objects_arn(self) -> str:
        """Every object under the table's prefix."""
        return f"{self.table_bucket_arn}/{self.table_prefix}*"

    @property
    def levels_location(self) -> str:
        """The levels table's files: the stack's results bucket, or next to the shared results table's."""
        if self.shares_tables:
            return f"s3://{self.table_bucket_name}/{C.LEVELS_PREFIX}"
        return f"s3://{self.bucket.bucket_name}/{C.LEVELS_PREFIX}"

    @property
    def levels_objects_arn(self) -> str:
        if self.shares_tables:
            return f"{self.table_bucket_arn}/{C.LEVELS_PREFIX}*"
        return self.bucket.arn_for_objects(f"{C.LEVELS_PREFIX}*")

    # ------------------------------------------------------------------ buckets
    def _build_access_logs(self) -> s3.Bucket:
        bucket = secure_bucket(
            self,
            "AccessLogs",
            access_logs=None,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(C.ACCESS_LOG_EXPIRY_DAYS)),
                s3.LifecycleRule(id="abort-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "This is the server-access-log target of the results and artifact buckets; logging it into "
            "itself would log its own log deliveries forever.",
        )
        return bucket

    def _build_results_bucket(self) -> s3.Bucket:
        return secure_bucket(
            self,
            "ResultsBucket",
            versioned=True,
            access_logs=self.access_logs,
            access_logs_prefix="results-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-athena-results",
                    prefix=C.ATHENA_RESULTS_PREFIX,
                    expiration=Duration.days(C.ATHENA_RESULTS_EXPIRY_DAYS),
                ),
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(C.NONCURRENT_VERSION_EXPIRY_DAYS),
                ),
                s3.LifecycleRule(id="abort-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)),
                *(
                    s3.LifecycleRule(
                        id=f"{rule}-to-intelligent-tiering",
                        prefix=prefix,
                        transitions=[
                            s3.Transition(
                                storage_class=s3.StorageClass.INTELLIGENT_TIERING, transition_after=Duration.days(30)
                            )
                        ],
                    )
                    for rule, prefix in (("results", C.TABLE_PREFIX), ("levels", C.LEVELS_PREFIX))
                ),
            ],
        )

    # ------------------------------------------------------------------ Glue
    @property
    def table_location(self) -> str:
        return self.existing_table.uri if self.existing_table else f"s3://{self.bucket.bucket_name}/{C.TABLE_PREFIX}"

    def _build_database(self) -> glue.CfnDatabase:
        return glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Stack.of(self).account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=C.GLUE_DATABASE, description="ML container CI benchmark results (Path Prover, CI runs)"
            ),
        )

    def _build_table(self, construct_id: str, table: schema.Table, location: str) -> glue.CfnTable:
        """A Parquet table of ``table``'s columns at ``location``, `dt` partitions projected."""
        columns = [
            glue.CfnTable.ColumnProperty(name=c.name, type=c.glue_type, comment=c.description[:255] or None)
            for c in table.columns
        ]
        partitions = [
            glue.CfnTable.ColumnProperty(name=c.name, type=c.glue_type, comment=c.description[:255] or None)
            for c in schema.partition_keys()
        ]
        (dt,) = (c.name for c in schema.partition_keys())
        cfn_table = glue.CfnTable(
            self,
            construct_id,
            catalog_id=Stack.of(self).account,
            database_name=C.GLUE_DATABASE,
            table_input=glue.CfnTable.TableInputProperty(
                name=table.name,
                description=table.description,
                table_type="EXTERNAL_TABLE",
                partition_keys=partitions,
                parameters={
                    "EXTERNAL": "TRUE",
                    "classification": "parquet",
                    "parquet.compression": "SNAPPY",
                    "projection.enabled": "true",
                    f"projection.{dt}.type": "date",
                    f"projection.{dt}.format": "yyyy-MM-dd",
                    f"projection.{dt}.range": C.PROJECTION_RANGE,
                    f"projection.{dt}.interval": "1",
                    f"projection.{dt}.interval.unit": "DAYS",
                    "storage.location.template": f"{location}{dt}=${{{dt}}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=columns,
                    location=location,
                    input_format=PARQUET_INPUT,
                    output_format=PARQUET_OUTPUT,
                    compressed=False,
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=PARQUET_SERDE, parameters={"serialization.format": "1"}
                    ),
                    stored_as_sub_directories=False,
                ),
            ),
        )
        if self.database is not None:  # else: the existing database
            cfn_table.node.add_dependency(self.database)
        return cfn_table

    # ------------------------------------------------------------------ Athena
    def _build_workgroup(self) -> athena.CfnWorkGroup:
        return athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=names_of(self).scoped(C.ATHENA_WORKGROUP),
            description="Path Prover and the guide's reports over mlcc_ci.benchmark_results and benchmark_levels",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=C.ATHENA_BYTES_SCANNED_CUTOFF,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version="AUTO"),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.bucket.bucket_name}/{C.ATHENA_RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
