"""`candlecast daily`: bring candles and features up to the newest closed candle."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from candlecast.intervals import check_interval
from candlecast.settings import Settings, parse_symbols, parse_time


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
    """Fetch the candles closed since the last run (catching up missed days), engineer, upsert;
    then log the served model's and the baselines' forecasts from each new origin and score the
    logged forecasts whose target candle has closed.

    Exits 1 when any symbol failed; a symbol that stopped trading is reported as stale.
    """
    from tqdm import tqdm

    from candlecast_cli.render import daily_table
    from daily_pipeline.run import run
    from feature_pipeline.source import open_source
    from feature_store import open_registry, open_store

    settings = Settings.from_env().with_overrides(
        symbols=parse_symbols(symbols) if symbols else None,
        interval=check_interval(interval) if interval else None,
        now=parse_time(now, "--now") if now else None,
    )
    store, candles = open_store(settings), open_source(settings, source)
    with tqdm(
        total=len(settings.symbols), desc="daily", unit="symbol", disable=as_json, leave=False
    ) as bar:
        summary = run(
            settings,
            store,
            candles,
            progress=lambda _result: bar.update(),
            registry=open_registry(settings),
        )
    typer.echo(json.dumps(summary.to_dict(), indent=2) if as_json else daily_table(summary))
    raise typer.Exit(summary.exit_code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("daily")(daily)
