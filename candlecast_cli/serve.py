"""CLI commands for the app side of the platform: `forecast` and `app`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from candlecast.errors import SettingsError
from candlecast.settings import Settings, check_symbol, parse_time

if TYPE_CHECKING:
    pass


def forecast(
    symbol: Annotated[
        str | None,
        typer.Option(
            help="The pair to forecast, e.g. BTCUSDT (default: first of CANDLECAST_SYMBOLS)."
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            "--candles",
            "--days",
            help="How many candles of the interval ahead to forecast: 1 to 30 (the models' "
            "horizon). Default: 7 for 1d, a day of candles for shorter ones (4h: 6, 1h: 24), at "
            "most 30. --days is the older name of the same option.",
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help="'best' (the version the symbol's newest training run serves), a registered "
            "NAME (its latest version) or NAME:VERSION, e.g. btcusdt-1d-garch:2."
        ),
    ] = "best",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Forecast from an earlier candle (its open time, e.g. 2025-06-01): only rows up "
            "to it are read, so this is what the model would have said when it closed.",
        ),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(help="Candle interval of the series, e.g. 1d (default: CANDLECAST_INTERVAL)."),
    ] = None,
    allow_stale: Annotated[
        bool,
        typer.Option(
            "--allow-stale",
            help="Forecast even when the newest stored candle is out of date (prints a warning).",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: symbol, interval, model {name, version, kind, role, "
            "trained_until, age_candles, decision}, as_of, data_through, last_close, stale, "
            "warning, model_warning and forecast [{date, horizon, median, low, high, change, "
            "high_median, high_q10, high_q90, low_median, low_q10, low_q90, p_up}] (the last "
            "seven null for models without them).",
        ),
    ] = False,
) -> None:
    """Forecast the next candles' closes of a symbol with the 80% interval (and, where the model
    has them, each candle's high, low and P(up)), from the latest stored features.

    Dates are the open times of the forecast candles (with the time for intraday candles),
    starting right after the last closed one (or the --as-of candle). A symbol with no trained
    model gets no change with the empirical band of past moves, labelled as such. Exits 1 with a
    message on bad input, an empty store, an --as-of date outside the stored features, or stale
    data.
    """
    from inference_app.forecaster import Forecaster, check_days, default_steps
    from inference_app.freshness import StaleDataError

    settings = Settings.from_env().with_overrides(interval=interval)
    origin = parse_time(as_of, "--as-of") if as_of else None
    chosen = check_symbol((symbol or settings.symbols[0]).strip().upper())
    forecaster = Forecaster(settings)
    days = check_days(default_steps(settings.interval) if steps is None else steps)
    if origin is None and not allow_stale:  # refused before any model is loaded or run
        stale = forecaster.freshness(chosen).warning()
        if stale:
            raise StaleDataError(f"{stale}; or pass --allow-stale to forecast from it anyway")
    result = forecaster.forecast(chosen, days, model, origin)
    warning = result.freshness.warning()
    for note in (warning, result.model_warning()):
        if note:
            typer.secho(f"warning: {note}", err=True, fg="yellow")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from candlecast_cli.render import forecast_text

        typer.echo(forecast_text(result))


def app_command(
    host: Annotated[str, typer.Option(help="Address to bind; 0.0.0.0 serves other machines.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 7860,
) -> None:
    """Serve the Gradio forecast app (Forecast, Trend, Track record and Data tabs) until Ctrl-C.

    It reads the store and registry the settings name (CANDLECAST_*), like a Hugging Face Space.
    """
    if not 1 <= port <= 65535:
        raise SettingsError(f"--port {port} is not a TCP port; use 1 to 65535, e.g. --port 7860")
    from inference_app.app import launch

    try:
        demo, url = launch(Settings.from_env(), host=host, port=port)
    except OSError:  # Gradio's "Cannot find empty port", or an address that cannot bind
        raise SettingsError(
            f"cannot serve on {host}:{port}: the port is in use or the address is not this "
            "machine's; pick another with --port (e.g. --port 7861) or --host"
        ) from None
    typer.echo(f"candlecast app serving on {url} (Ctrl-C to stop)")
    try:
        demo.block_thread()
    finally:
        demo.close()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("forecast")(forecast)
    app.command("app")(app_command)
