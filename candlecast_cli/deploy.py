"""`candlecast deploy aws`: the daily Lambda and its EventBridge rule per interval, the weekly
retrain Lambda and its rule, the queue and permissions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from candlecast.errors import SettingsError
from candlecast_aws.deploy import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TRAIN_FUNCTION,
    DEFAULT_TRAIN_MEMORY_MB,
    DEFAULT_TRAIN_TIMEOUT_S,
    UNCHANGED,
)

deploy_app = typer.Typer(
    help="Deploy the daily job and the weekly retrain to a cloud (AWS Lambda + EventBridge).",
    no_args_is_help=True,
)


def deploy_aws(
    image_uri: Annotated[
        str,
        typer.Option(
            help="The pushed Dockerfile.lambda image, e.g. "
            "ACCOUNT.dkr.ecr.REGION.amazonaws.com/candlecast:TAG."
        ),
    ],
    function_name: Annotated[
        str, typer.Option(help="Name of the Lambda function to create or update.")
    ],
    role_arn: Annotated[
        str, typer.Option(help="IAM role the function runs as (arn:aws:iam::ACCOUNT:role/NAME).")
    ],
    region: Annotated[
        str | None,
        typer.Option(help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)."),
    ] = None,
    memory: Annotated[
        int, typer.Option(min=128, max=10240, help="Function memory in MB.")
    ] = DEFAULT_MEMORY_MB,
    timeout: Annotated[
        int, typer.Option(min=1, max=900, help="Function timeout in seconds.")
    ] = DEFAULT_TIMEOUT_S,
    env: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE for the function's environment, repeatable, e.g. "
            "--env CANDLECAST_STORE_URI=s3://bucket/store --env HOPSWORKS_API_KEY_SECRET=name."
        ),
    ] = None,
    train_image_uri: Annotated[
        str | None,
        typer.Option(
            help="The pushed Dockerfile.train image: also deploy the weekly retrain function "
            "and its rule (default: the daily function only)."
        ),
    ] = None,
    train_function_name: Annotated[
        str, typer.Option(help="Name of the retrain Lambda function (with --train-image-uri).")
    ] = DEFAULT_TRAIN_FUNCTION,
    train_memory: Annotated[
        int,
        typer.Option(
            min=128, max=10240, help="Retrain function memory in MB (Lambda's most: 10240)."
        ),
    ] = DEFAULT_TRAIN_MEMORY_MB,
    train_timeout: Annotated[
        int,
        typer.Option(min=1, max=900, help="Retrain function timeout in seconds (Lambda's most)."),
    ] = DEFAULT_TRAIN_TIMEOUT_S,
    schedule: Annotated[
        Path,
        typer.Option(
            help="The EventBridge rules, their targets and the dead-letter queue: one daily-job "
            "rule per interval (the repository's file: 1d only; "
            "eventbridge.intraday.json adds 4h, 1h and 5m)."
        ),
    ] = Path("eventbridge.json"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print the plan; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Create or update the daily Lambda (from an image), its EventBridge rules (one per
    interval in --schedule, each a cron shortly after that interval's close), DLQ and
    permissions; with --train-image-uri also the retrain Lambda, its weekly rule and permission.

    Both functions get the same --env. Idempotent: resources that already match are left
    alone, so a second run changes nothing; a rule removed from the file stays in AWS.
    """
    from candlecast_aws.deploy import AwsClients, DeployRequest, check_environment, deploy
    from candlecast_aws.schedule import load_schedule
    from candlecast_cli.render import deploy_plan

    region = region or _default_region()
    request = DeployRequest(
        image_uri=image_uri,
        function_name=function_name,
        role_arn=role_arn,
        region=region,
        schedule=load_schedule(schedule),
        memory_mb=memory,
        timeout_s=timeout,
        environment=check_environment(_parse_env(env or [])),
        train_image_uri=train_image_uri,
        train_function_name=train_function_name,
        train_memory_mb=train_memory,
        train_timeout_s=train_timeout,
    )
    changes = deploy(request, AwsClients.connect(region), dry_run=dry_run)
    if as_json:
        changed = sum(c.action != UNCHANGED for c in changes)
        resources = [c.to_dict() for c in changes]
        document = {"dry_run": dry_run, "changed": changed, "resources": resources}
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(deploy_plan(changes, dry_run))


def _parse_env(pairs: list[str]) -> dict[str, str]:
    environment = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(
                f"--env {pair!r} is not KEY=VALUE, e.g. --env CANDLECAST_SYMBOLS=BTCUSDT"
            )
        environment[key.strip()] = value
    return environment


def _default_region() -> str:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        import boto3

        region = boto3.session.Session().region_name
    if not region:
        raise SettingsError("no AWS region given; pass --region (e.g. eu-west-1) or set AWS_REGION")
    return region


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    deploy_app.command("aws")(deploy_aws)
    app.add_typer(deploy_app, name="deploy")
