"""`pathprover render`: one validation target (the guide's JSON/YAML) rendered into a bundle folder.

Registered by the CLI app as ``app.command("render")(render_command)``. Every problem a
person can fix (unknown field, unsafe serving_params, unknown model or instance, tp_degree
too high, ...) is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pathprover.cli.common import describe_error, emit_json, fail


def render_command(
    config: Annotated[
        Path, typer.Option("--config", help="One validation target, JSON or YAML (the operations guide's format)")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the bundle into (created if missing)")],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    model_s3_uri: Annotated[
        str | None,
        typer.Option("--model-s3-uri", help="S3 prefix of the staged weights (only with a 'stage' stage)"),
    ] = None,
    image_repo: Annotated[str, typer.Option("--image-repo", help="ECR repository of the serving image")] = "pathprover",
    account_id: Annotated[
        str | None,
        typer.Option(
            "--account-id",
            help="The deploying account, for a literal ACCOUNT in an ARN (default PATHPROVER_ACCOUNT_ID; else the "
            "ARN is left for the deploy to resolve, and the bundle says so)",
        ),
    ] = None,
) -> None:
    """Render the containers, buildspecs and deploy parameters of one validation target."""
    # Imported here, not at import: the CLI registers this command without loading jinja2 or the brain.
    from pydantic import ValidationError

    from pathprover.brain.feasibility import FeasibilityRules
    from pathprover.brain.plan import place_target
    from pathprover.catalog import CatalogError, load_catalog
    from pathprover.core.runconfig import InfraParams, resolve_account
    from pathprover.core.targets import TargetError, load_targets, to_run_config
    from pathprover.generate.render import render_bundle, write_bundle
    from pathprover.settings import Settings

    choice: str | None = None
    try:
        targets = load_targets(config)
        if len(targets) != 1:
            raise TargetError(f"{config}: holds {len(targets)} targets; render takes exactly one")
        settings = Settings.from_env()
        catalog = load_catalog(settings.catalog_dir)
        target, choice = place_target(targets[0], FeasibilityRules(catalog))
        account = account_id or settings.account_id
        if account is not None and (arn := target.infra_params.capacity_reservation_arn) is not None:
            resolved = InfraParams(capacity_reservation_arn=resolve_account(arn, account))
            target = target.model_copy(update={"infra_params": resolved})
        run = to_run_config(target, catalog)
        bundle = render_bundle(run, catalog, image_repo=image_repo, model_s3_uri=model_s3_uri)
        write_bundle(bundle, out)
    except (ValidationError, TargetError, CatalogError, ValueError) as exc:  # pydantic's error is one too
        fail(describe_error(exc), error_code=getattr(exc, "code", "invalid_input"))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}", error_code="io")

    manifest = bundle.manifest()
    if json_output:
        payload = {
            "config_id": run.config_id,
            "out": str(out),
            "instance_type": run.instance_type,
            **({"instance_choice": choice} if choice else {}),
            **manifest,
        }
        emit_json(payload)
        return
    vector = run.vector
    typer.echo(
        f"rendered {len(bundle.files)} files for {run.config_id} "
        f"({vector.deployment_config}, {vector.deployment_target}, {run.model_name} on {run.instance_type}) into {out}"
    )
    if choice:
        typer.echo(f"instance: {choice}")
    width = max(len(entry["path"]) for entry in manifest["files"])
    for entry in manifest["files"]:
        typer.echo(f"  {entry['path']:<{width}}  {entry['size']:>7}  {entry['sha256'][:16]}")
    typer.echo(f"digest: {bundle.digest}")
