"""CLI commands for the live loop: `hindcast` (a track record for past origins) and `monitor`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from candlecast.errors import FeatureGroupNotFound, SettingsError
from candlecast.intervals import check_interval
from candlecast.settings import Settings, parse_symbols, parse_time

if TYPE_CHECKING:
    from feature_store.base import FeatureStore

DEGRADED_EXIT = 3  # `monitor` exits with this when a served model is degraded

SymbolsOption = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated symbols, e.g. BTCUSDT,ETHUSDT (default: CANDLECAST_SYMBOLS)."
    ),
]
IntervalOption = Annotated[
    str | None,
    typer.Option(help="Candle interval, e.g. 1d or 4h (default: CANDLECAST_INTERVAL)."),
]
NowOption = Annotated[
    str | None,
    typer.Option(
        help="Fix the clock (ISO time, e.g. 2026-01-06T00:30Z); default CANDLECAST_NOW or the "
        "real time."
    ),
]


def hindcast(
    start: Annotated[
        str,
        typer.Option("--from", help="First origin date to forecast from (e.g. 2025-01-01), UTC."),
    ],
    end: Annotated[
        str | None,
        typer.Option("--to", help="Last origin date (default: the newest closed candle)."),
    ] = None,
    symbols: SymbolsOption = None,
    interval: IntervalOption = None,
    now: NowOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was logged and scored as JSON.")
    ] = False,
) -> None:
    """Fill the prediction log for past origins with the served model's and the baselines'
    as-of forecasts (kind `hindcast`), then score those whose target candle has closed.

    A new deployment gets a track record on day one. Origins already logged are kept as they
    are, so running it again changes nothing. `monitor` reports hindcasts only with
    --kind hindcast (or all); a hindcast from inside a model's fitting data is flagged
    in-sample and left out of the figures.
    """
    from tqdm import tqdm

    from candlecast_cli.render import hindcast_table
    from daily_pipeline.predictions import hindcast as run_hindcast
    from feature_store import open_registry, open_store

    settings = _settings(symbols, interval, now)
    first = parse_time(start, "--from")
    last = parse_time(end, "--to") if end else None
    if last is not None and first > last:
        raise SettingsError(
            f"--from {first:%Y-%m-%d} is after --to {last:%Y-%m-%d}; pass a first origin on or "
            "before the last"
        )
    if first > settings.clock():
        raise SettingsError(f"--from {first:%Y-%m-%d} is in the future; pass a past date")
    store, registry = open_store(settings), open_registry(settings)
    _check_stored(store, settings.symbols, settings.interval)
    rows = []
    for symbol in tqdm(settings.symbols, desc="hindcast", unit="symbol", disable=as_json or None):
        logged, scored = run_hindcast(
            store,
            registry,
            symbol,
            settings.interval,
            now=settings.clock(),
            start=first,
            end=last,
        )
        rows.append(
            {
                "symbol": symbol,
                "interval": settings.interval,
                "logged": logged,
                "scored": scored,
            }
        )
    document = {"from": first.isoformat(), "to": None if last is None else last.isoformat()}
    document["series"] = rows
    typer.echo(json.dumps(document, indent=2) if as_json else hindcast_table(document))


def monitor(
    symbols: SymbolsOption = None,
    interval: IntervalOption = None,
    kind: Annotated[
        str,
        typer.Option(
            help="Which forecasts to judge: live (made as they happened), hindcast, or all."
        ),
    ] = "live",
    in_sample: Annotated[
        bool,
        typer.Option(
            "--in-sample",
            help="Also count forecasts whose origin lies inside the model's fitting data.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as JSON for scripts.")
    ] = False,
) -> None:
    """Rolling figures of the scored forecasts per model and horizon: over the last 30 and 90,
    the MAE and interval-score ratios to no change from the same origins, and the 80% band's
    coverage.

    The served model is degraded when its last 30 scored h = 1 forecasts have an MAE ratio
    above 1.05 or a coverage below 65%; then the command exits 3, so a schedule can alert.
    """
    from candlecast_cli.render import monitor_table
    from daily_pipeline.monitor import ALL, monitor_series, scored
    from daily_pipeline.predictions import served_name
    from feature_store import open_registry, open_store

    settings = _settings(symbols, interval, None)
    if kind not in ("live", "hindcast", ALL):
        raise SettingsError(f"--kind must be live, hindcast or all, got {kind!r}")
    store, registry = open_store(settings), open_registry(settings)
    _check_stored(store, settings.symbols, settings.interval)
    reports = []
    for symbol in settings.symbols:
        outcomes, excluded = scored(
            store, symbol, settings.interval, kind=kind, in_sample=in_sample
        )
        reports.append(
            monitor_series(
                outcomes,
                symbol,
                settings.interval,
                served_name(registry, symbol, settings.interval),
                kind=kind,
                excluded_in_sample=excluded,
            )
        )
    if as_json:
        typer.echo(json.dumps({"series": [r.to_dict() for r in reports]}, indent=2))
    else:
        typer.echo(monitor_table(reports))
    raise typer.Exit(DEGRADED_EXIT if any(r.is_degraded for r in reports) else 0)


def _settings(symbols: str | None, interval: str | None, now: str | None) -> Settings:
    return Settings.from_env().with_overrides(
        symbols=parse_symbols(symbols) if symbols else None,
        interval=check_interval(interval) if interval else None,
        now=parse_time(now, "--now") if now else None,
    )


def _check_stored(store: FeatureStore, symbols: tuple[str, ...], interval: str) -> None:
    """Refuse, naming what the store holds, when it has no features for one of `symbols`."""
    from feature_pipeline.groups import FEATURES

    try:
        held = sorted({s.symbol for s in store.series(FEATURES) if s.interval == interval})
    except FeatureGroupNotFound:
        held = []
    missing = [s for s in symbols if s not in held]
    if missing:
        holds = f"holds {interval} features for {', '.join(held)}" if held else "is empty"
        raise FeatureGroupNotFound(
            f"no {interval} features for {', '.join(missing)}: the store at {store.uri} {holds}; "
            f"run `candlecast backfill --symbols {','.join(missing)} --interval {interval}` first"
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("hindcast")(hindcast)
    app.command("monitor")(monitor)
