"""CLI commands for the daily job and its AWS deployment: `daily` and `deploy aws`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from candlecast.errors import SettingsError
from candlecast.settings import Settings, check_interval, parse_symbols, parse_time
from daily_pipeline.deploy import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, UNCHANGED

if TYPE_CHECKING:
    from daily_pipeline.deploy import Change
    from feature_pipeline.source import CandleSource

deploy_app = typer.Typer(
    help="Deploy the daily job to a cloud (AWS Lambda + EventBridge).", no_args_is_help=True
)


def daily(
    symbols: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated symbols, e.g. BTCUSDT,ETHUSDT (default: CANDLECAST_SYMBOLS)."
        ),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(help="Candle interval, e.g. 1d or 4h (default: CANDLECAST_INTERVAL)."),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            help="Fix the clock (ISO time, e.g. 2025-06-01T00:05Z) to replay a past day; "
            "default CANDLECAST_NOW or the real time."
        ),
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            help="Where candles come from: 'binance' (REST, BINANCE_API_URL overrides the URL), "
            "'csv:PATH', or 'archive:s3://BUCKET' (replay the raw archive the Lambda wrote)."
        ),
    ] = "binance",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON for scripts.")
    ] = False,
) -> None:
    """Fetch the candles closed since the last run (catching up missed days), engineer, upsert.

    Exits 1 when any symbol failed; a symbol that stopped trading is reported as stale.
    """
    from tqdm import tqdm

    from daily_pipeline.run import run
    from feature_store import open_store

    settings = Settings.from_env().with_overrides(
        symbols=parse_symbols(symbols) if symbols else None,
        interval=check_interval(interval) if interval else None,
        now=parse_time(now, "--now") if now else None,
    )
    store, candles = open_store(settings), open_candle_source(settings, source)
    with tqdm(
        total=len(settings.symbols), desc="daily", unit="symbol", disable=as_json, leave=False
    ) as bar:
        summary = run(settings, store, candles, progress=lambda _result: bar.update())
    typer.echo(json.dumps(summary.to_dict(), indent=2) if as_json else summary.table())
    raise typer.Exit(summary.exit_code)


def open_candle_source(settings: Settings, spec: str) -> CandleSource:
    """The source a --source value names; 'archive:s3://BUCKET[/PREFIX]' reads the raw archive."""
    if spec.startswith("archive:"):
        import boto3

        from daily_pipeline.raw_archive import PREFIX, ArchiveSource

        location = spec.removeprefix("archive:")
        if not location.startswith("s3://") or len(location) <= len("s3://"):
            raise SettingsError(f"source {spec!r}: use archive:s3://BUCKET (or s3://BUCKET/PREFIX)")
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        return ArchiveSource(bucket, boto3.client("s3"), prefix.strip("/") or PREFIX)
    from feature_pipeline.source import open_source

    return open_source(settings, spec)


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
    schedule: Annotated[
        Path, typer.Option(help="The EventBridge rule, targets and dead-letter queue to deploy.")
    ] = Path("eventbridge.json"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print the plan; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Create or update the Lambda (from an image), its daily EventBridge rule, DLQ and permission.

    Idempotent: resources that already match are left alone, so a second run changes nothing.
    """
    from daily_pipeline.deploy import AwsClients, DeployRequest, check_environment, deploy
    from daily_pipeline.schedule import load_schedule

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
    )
    changes = deploy(request, AwsClients.connect(region), dry_run=dry_run)
    _print_changes(changes, dry_run, as_json)


def _print_changes(changes: list[Change], dry_run: bool, as_json: bool) -> None:
    changed = [c for c in changes if c.action != UNCHANGED]
    if as_json:
        resources = [c.to_dict() for c in changes]
        typer.echo(
            json.dumps(
                {"dry_run": dry_run, "changed": len(changed), "resources": resources}, indent=2
            )
        )
        return
    typer.echo("plan (dry run, nothing was changed):" if dry_run else "deploy:")
    for change in changes:
        typer.echo(f"  {change}")
    if not changed:
        typer.echo("nothing to change: every resource is already up to date")
    elif dry_run:
        typer.echo(f"{len(changed)} resource(s) would change; run again without --dry-run to apply")
    else:
        typer.echo(f"{len(changed)} resource(s) changed")


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
    app.command("daily")(daily)
    deploy_app.command("aws")(deploy_aws)
    app.add_typer(deploy_app, name="deploy")
