"""CLI commands for training and evaluation: `train` and `evaluate`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from candlecast.errors import SettingsError
from candlecast.settings import Settings, check_symbol


def train(
    symbol: Annotated[
        str | None,
        typer.Option(help="Symbol to train on, e.g. BTCUSDT (default: first CANDLECAST_SYMBOLS)."),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(help="Candle interval, e.g. 1d (default: CANDLECAST_INTERVAL)."),
    ] = None,
    models: Annotated[
        str, typer.Option(help="Comma-separated model kinds to train: mlp, lstm or both.")
    ] = "mlp,lstm",
    max_trials: Annotated[
        int | None,
        typer.Option(min=1, help="keras-tuner trials per model kind (default 8; --quick: 1)."),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="Most epochs per fit; early stopping usually ends sooner."),
    ] = None,
    test_origins: Annotated[
        int | None,
        typer.Option(min=30, help="Walk-forward test origins at the end of the data (365)."),
    ] = None,
    val_origins: Annotated[
        int | None,
        typer.Option(
            min=30, help="Validation origins before the test period (365): tuning and selection."
        ),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="A small complete run (one short trial per model) for demos and CI."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as JSON for scripts.")
    ] = False,
) -> None:
    """Tune, train, walk-forward evaluate and register models for one series.

    Persistence (no change) is always registered too, so the best model is chosen honestly by
    its validation-period MAE ratio against persistence; `candlecast evaluate` shows the numbers.
    """
    from feature_store import open_registry, open_store
    from training_pipeline.config import DEFAULT, QUICK
    from training_pipeline.run import run

    settings = Settings.from_env().with_overrides(interval=interval)
    base = QUICK if quick else DEFAULT
    config = base.with_overrides(
        models=parse_models(models),
        max_trials=max_trials,
        epochs=epochs,
        test_size=test_origins,
        val_size=val_origins,
    )
    report = run(
        settings,
        open_store(settings),
        open_registry(settings),
        symbol=check_symbol(symbol.strip().upper()) if symbol else None,
        interval=settings.interval,
        config=config,
        progress=not as_json,
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    from training_pipeline.report import candidates_table

    typer.echo(f"trained on {report.symbol} {report.interval} ({report.device}):")
    typer.echo(candidates_table(report.versions))
    typer.echo(f"best by validation: {report.best.name}:{report.best.version}")


def evaluate(
    model: Annotated[
        str | None,
        typer.Option(
            help="Registered model as NAME (its latest version) or NAME:VERSION, e.g. "
            "btcusdt-1d-lstm:2 (default: 'best', the series' best model by its validation metric)."
        ),
    ] = None,
    symbol: Annotated[
        str | None, typer.Option(help="Series symbol when --model is not given (e.g. BTCUSDT).")
    ] = None,
    interval: Annotated[
        str | None, typer.Option(help="Series interval when --model is not given (e.g. 1d).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the metrics as JSON for scripts.")
    ] = False,
) -> None:
    """Show a registered model's walk-forward test metrics next to persistence and drift."""
    from feature_store import SELECTION_METRIC, open_registry
    from inference_app.models import parse_model_choice
    from training_pipeline.report import candidates_table, evaluation, evaluation_table

    settings = Settings.from_env().with_overrides(interval=interval)
    registry = open_registry(settings)
    series_symbol = check_symbol(symbol.strip().upper()) if symbol else settings.symbols[0]
    where = {"symbol": series_symbol, "interval": settings.interval}
    choice = parse_model_choice(model)
    if choice.is_best:
        chosen = registry.best(SELECTION_METRIC, where=where)
    else:
        chosen = registry.get(choice.name, choice.version)
    report = evaluation(chosen)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    if choice.is_best:
        latest = {v.name: v for v in registry.list() if _matches(v.metadata, where)}
        typer.echo(candidates_table(latest.values()) + "\n")
    typer.echo(evaluation_table(report))


def parse_models(text: str) -> tuple[str, ...]:
    """'mlp,lstm' -> ('mlp', 'lstm'); unknown kinds are rejected by the training config."""
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in text.split(",") if k.strip()))
    if not kinds:
        raise SettingsError("no model kinds given; pass e.g. --models mlp,lstm")
    return kinds


def _matches(metadata: dict, where: dict) -> bool:
    return all(metadata.get(k) == v for k, v in where.items())


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command()(train)
    app.command()(evaluate)
