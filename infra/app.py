"""CDK app entry point: `cdk synth MlccCiHarnessStack -c CreatePathProver=true` (cdk.json runs this).

Also runs directly: `.venv/bin/python infra/app.py -c CreatePathProver=true -c PathProverSchedule="rate(1 day)"`
writes the same assembly to ./cdk.out. No AWS credentials are needed to synthesize: without
CDK_DEFAULT_ACCOUNT (the CLI sets it from your profile) the stack is environment-agnostic: the template
names the account and region as AWS::AccountId / AWS::Region and CloudFormation fills them in wherever it
is deployed. It is never bound to a made-up account.

cdk-nag's AwsSolutions pack runs on every synthesis (CDK's Validations API): an unacknowledged
finding stops synthesis with the report.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

_ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    # Run as a script, Python puts infra/ first on sys.path, where infra/constructs would shadow the
    # `constructs` library: import everything from the repository root instead.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "infra"]
    for _path in (str(_ROOT / "lambdas"), str(_ROOT)):
        if _path not in sys.path:
            sys.path.insert(0, _path)

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.config import HarnessConfig  # noqa: E402
from infra.stacks.harness_stack import HarnessStack  # noqa: E402

FEATURE_FLAGS: dict[str, Any] = {
    # Access logs are delivered under a bucket policy (the buckets enforce bucket-owner ownership: no ACLs).
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-s3:createDefaultLoggingPolicy": True,
    "@aws-cdk/core:enablePartitionLiterals": True,
    "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
    "@aws-cdk/aws-iam:standardizedServicePrincipals": True,
    "@aws-cdk/core:validateSnapshotRemovalPolicy": True,
}


def environment(environ: Mapping[str, str] | None = None) -> cdk.Environment | None:
    """The account and region the CLI resolved (CDK_DEFAULT_*), or None: an environment-agnostic stack.

    Without an account there is no environment at all, even when a region is known: a stack bound to
    a region but not an account would still be deployable anywhere, and one rule is easier to read.
    """
    env = os.environ if environ is None else environ
    account = env.get("CDK_DEFAULT_ACCOUNT") or None
    if account is None:
        return None
    return cdk.Environment(account=account, region=env.get("CDK_DEFAULT_REGION") or None)


AUTO: Final = "auto"


def build_app(
    context: Mapping[str, Any] | None = None,
    *,
    nag: bool = True,
    outdir: str | None = None,
    env: cdk.Environment | Literal["auto"] | None = AUTO,
) -> tuple[cdk.App, HarnessStack]:
    """The app and its one stack. `context` plays the role of `-c` values (it wins over cdk.json);
    `env` defaults to :func:`environment` (what the CLI resolved), None is environment-agnostic."""
    app = cdk.App(context=FEATURE_FLAGS, post_cli_context=dict(context or {}), outdir=outdir)
    config = HarnessConfig.from_node(app.node)
    stack = add_stack(app, config, env=environment() if env == AUTO else env)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


def add_stack(app: cdk.App, config: HarnessConfig, *, env: cdk.Environment | None) -> HarnessStack:
    """One deployment's stack, named by its `-c PathProverName` (``MlccCiHarnessStack`` without one)."""
    return HarnessStack(
        app,
        config.names.stack,
        config=config,
        env=env,
        description="ML container CI harness: benchmark results (Glue/Athena) and the Path Prover",
    )


def parse_context_args(argv: Sequence[str]) -> dict[str, str]:
    """`-c KEY=VALUE` / `--context KEY=VALUE` pairs, for running this file with python directly."""
    context: dict[str, str] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-c", "--context") and args:
            arg = args.pop(0)
        elif arg.startswith("--context="):
            arg = arg.split("=", 1)[1]
        else:
            raise SystemExit(f"usage: python infra/app.py [-c KEY=VALUE ...] (unexpected {arg!r})")
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise SystemExit(f"context must be KEY=VALUE, got {arg!r}")
        context[key] = value
    return context


def main(argv: Sequence[str] | None = None) -> None:
    # Under the CLI, CDK_OUTDIR says where; run directly, write ./cdk.out like `cdk synth` does.
    outdir = None if os.environ.get("CDK_OUTDIR") else "cdk.out"
    app, _ = build_app(parse_context_args(sys.argv[1:] if argv is None else argv), outdir=outdir)
    app.synth()


if __name__ == "__main__":
    main()
