"""CLI commands for the data side of the platform: `backfill` and `binance-sim`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from candlecast.errors import SettingsError
from candlecast.intervals import check_interval
from candlecast.settings import Settings, parse_symbols, parse_time

if TYPE_CHECKING:
    pass


def backfill(
    symbols: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated Binance pairs, e.g. BTCUSDT,ETHUSDT. Default: CANDLECAST_SYMBOLS."
        ),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(
            help="Candle interval: 1m, 5m, 15m, 1h, 4h, 1d, ... Default: CANDLECAST_INTERVAL (1d)."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="First open time to store (ISO date/time, UTC). "
            "Default: the symbol's first candle."
        ),
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last open time to store (ISO date/time, UTC). Default: now.")
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            help="Where candles come from: 'binance' (REST API; BINANCE_API_URL overrides the "
            "URL), 'vision' (Binance Vision's monthly/daily zips, SHA-256 checked and cached under "
            "CANDLECAST_HOME/cache/vision, then REST for the newest candles; BINANCE_VISION_URL "
            "overrides the site) or 'csv:PATH' (a kline CSV file or a folder of them)."
        ),
    ] = "binance",
    now: Annotated[
        str | None,
        typer.Option(
            help="Treat this time as now: only candles closed before it are stored. "
            "Default: CANDLECAST_NOW or the clock."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Fetch closed candles, engineer features and write both groups to the feature store.

    Re-runs and overlapping ranges change nothing; a failed run leaves the store as it was.
    """
    from feature_pipeline import backfill as pipeline
    from feature_pipeline.source import open_source
    from feature_store import open_store

    settings = Settings.from_env().with_overrides(now=parse_time(now, "--now") if now else None)
    chosen = parse_symbols(symbols) if symbols else settings.symbols
    first = parse_time(start, "--start") if start else None
    last = parse_time(end, "--end") if end else None
    if first and last and first > last:
        raise SettingsError(
            f"--start {first:%Y-%m-%d %H:%M} is after --end {last:%Y-%m-%d %H:%M}; "
            "pass a start on or before the end"
        )
    summary = pipeline.run(
        settings,
        open_store(settings),
        open_source(settings, source),
        chosen,
        check_interval(interval or settings.interval),
        start=first,
        end=last,
    )
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        from candlecast_cli.render import backfill_table

        typer.echo(backfill_table(summary))


def binance_sim(
    data: Annotated[
        Path,
        typer.Option(
            help="Folder of kline CSVs to serve (SYMBOL_INTERVAL.csv, e.g. ../shared/data/binance)."
        ),
    ],
    port: Annotated[int, typer.Option(help="TCP port to listen on (0 picks a free one).")] = 9000,
    host: Annotated[
        str, typer.Option(help="Address to bind; keep 127.0.0.1 unless others must reach it.")
    ] = "127.0.0.1",
    now: Annotated[
        str | None,
        typer.Option(
            help="Fix the server clock (ISO time, e.g. 2026-01-06T12:00Z): later candles do not "
            "exist and "
            "the one containing it is served still open. Default: the real clock."
        ),
    ] = None,
    fault_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of requests that fail at random (429 + Retry-After, 418, 500, slow, "
            "malformed JSON, "
            "empty page).",
        ),
    ] = 0.0,
    seed: Annotated[
        int, typer.Option(help="Random seed for the faults: the same seed gives the same faults.")
    ] = 0,
) -> None:
    """Serve kline CSVs as a local Binance REST API and Binance Vision's zipped dumps (point
    BINANCE_API_URL and BINANCE_VISION_URL at the printed URLs)."""
    if not 0 <= port <= 65535:
        raise SettingsError(f"--port {port} is not a TCP port; use 0 to 65535 (0 picks a free one)")
    from candlecast_sim.simulator import serve

    fixed = parse_time(now, "--now") if now else None

    def announce(url: str) -> None:
        typer.echo(f"Binance simulator on {url} serving {data} (Ctrl-C stops it)")
        typer.echo(f"  export BINANCE_API_URL={url}")
        typer.echo(f"  export BINANCE_VISION_URL={url.removesuffix('/api')}  # --source vision")

    try:
        serve(data, host, port, announce, now=fixed, fault_rate=fault_rate, seed=seed)
    except OSError as error:
        raise SettingsError(
            f"cannot listen on {host}:{port} ({error}); pick another --port"
        ) from None
    except KeyboardInterrupt:
        typer.echo("simulator stopped")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("backfill")(backfill)
    app.command("binance-sim")(binance_sim)
