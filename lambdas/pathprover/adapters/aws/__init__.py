"""AWS adapters: the only place boto3 is used. Clients are built lazily, on first use.

- :class:`~pathprover.adapters.aws.codebuild.CodeBuildBuilder` (Builder)
- :class:`~pathprover.adapters.aws.sagemaker.SageMakerFleet` (Fleet)
- :class:`~pathprover.adapters.aws.s3.S3ArtifactStore` (ArtifactStore)
- :class:`~pathprover.adapters.aws.results.AthenaResultsStore` (ResultsStore)
- :class:`~pathprover.adapters.aws.executions.StepFunctionsExecutions` (ExecutionLookup)

Import the submodule you need; this package imports nothing heavy.
"""
