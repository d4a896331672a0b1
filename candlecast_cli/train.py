"""CLI commands for training and evaluation: `train` and `evaluate`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from candlecast.errors import SettingsError
from candlecast.settings import Settings, check_symbol, parse_symbols, parse_time

if TYPE_CHECKING:
    from feature_store.base import ModelRegistry, ModelVersion


def train(
    symbols: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated symbols to train, e.g. BTCUSDT,ETHUSDT "
            "(default: CANDLECAST_SYMBOLS)."
        ),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(help="Candle interval, e.g. 1d (default: CANDLECAST_INTERVAL)."),
    ] = None,
    models: Annotated[
        str, typer.Option(help="Comma-separated network kinds to train: mlp, lstm or both.")
    ] = "mlp,lstm",
    max_trials: Annotated[
        int | None,
        typer.Option(min=1, help="keras-tuner trials per network kind (default 8; --quick: 1)."),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="Most epochs per fit; early stopping usually ends sooner."),
    ] = None,
    test_origins: Annotated[
        int | None,
        typer.Option(min=30, help="Test origins at the end of the data, reported only (365)."),
    ] = None,
    selection_origins: Annotated[
        int | None,
        typer.Option(
            min=30,
            help="Selection origins before the test period: they choose the "
            "served model and nothing is fitted on them (365).",
        ),
    ] = None,
    val_origins: Annotated[
        int | None,
        typer.Option(
            min=30,
            help="Inner validation origins at the end of the fitting data: "
            "early stopping, tuning, shrinkage, band calibration (365).",
        ),
    ] = None,
    refit_every: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Refit a chosen network every N test origins for its test "
            "figures (90; 0 = frozen).",
        ),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="A small complete run (one short fit per network) for demos and CI."
        ),
    ] = False,
    join: Annotated[
        list[str] | None,
        typer.Option(
            help="Join another series' features as of each row's close, SYMBOL:INTERVAL"
            "[:col1,col2] (repeatable), e.g. --join BTCUSDT:1d onto 4h rows.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as JSON for scripts.")
    ] = False,
) -> None:
    """Fit, select, refit and register the models of each series.

    Candidates are two baselines (no change with an empirical-quantile band, and with a
    GARCH(1,1) band) and the networks, all fitted on the fitting data. A network is served only
    when it beats no change significantly on the selection period; the served configuration is
    refitted through the last closed candle. `candlecast evaluate` shows the figures.
    """
    from feature_store import open_registry, open_store
    from training_pipeline.config import DEFAULT, QUICK
    from training_pipeline.joins import Join
    from training_pipeline.run import run

    settings = Settings.from_env().with_overrides(interval=interval)
    base = QUICK if quick else DEFAULT
    config = base.with_overrides(
        models=parse_models(models),
        max_trials=max_trials,
        epochs=epochs,
        test_size=test_origins,
        selection_size=selection_origins,
        val_size=val_origins,
        refit_every=refit_every,
    )
    joins = tuple(Join.parse(text) for text in join or ())
    report = run(
        settings,
        open_store(settings),
        open_registry(settings),
        symbols=parse_symbols(symbols) if symbols else None,
        interval=settings.interval,
        config=config,
        progress=not as_json,
        joins=joins,
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    from candlecast_cli.render import series_text

    typer.echo("\n\n".join(series_text(s) for s in report.series))


def evaluate(
    model: Annotated[
        str | None,
        typer.Option(
            help="Registered model as NAME (its latest version) or NAME:VERSION, e.g. "
            "btcusdt-1d-lstm:2 (default: 'best', the version the series' newest run serves)."
        ),
    ] = None,
    symbol: Annotated[
        str | None, typer.Option(help="Series symbol when --model is not given (e.g. BTCUSDT).")
    ] = None,
    interval: Annotated[
        str | None, typer.Option(help="Series interval when --model is not given (e.g. 1d).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Score the model on the origins from this date (e.g. 2025-07-01) instead of "
            "showing its registered test figures; works on data that arrived after training.",
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Last origin date with --from (default: the last one whose outcomes have closed).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the metrics as JSON for scripts.")
    ] = False,
) -> None:
    """Show a model's walk-forward metrics next to no change and the GARCH band on the same origins.

    Without --from: its registered test-period figures (and the newest run's candidates). With
    --from [--to]: the registered model as it is, scored on those origins now.
    """
    from candlecast_cli.render import candidates_table, evaluation_table, outlook_table
    from feature_store import open_registry
    from inference_app.serving import parse_model_choice
    from training_pipeline.evaluation import evaluation

    settings = Settings.from_env().with_overrides(interval=interval)
    if start is None and end is not None:
        raise SettingsError("--to needs --from: pass the first origin date too")
    registry = open_registry(settings)
    series_symbol = check_symbol(symbol.strip().upper()) if symbol else settings.symbols[0]
    choice = parse_model_choice(model)
    chosen = (
        served(registry, series_symbol, settings.interval)
        if choice.is_best
        else registry.get(choice.name, choice.version)
    )
    if start is not None:
        report = period_report(settings, chosen, start, end)
    else:
        report = evaluation(chosen)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    if choice.is_best and start is None:
        typer.echo(candidates_table(same_run(registry, chosen)) + "\n")
    if report.get("in_sample"):
        typer.secho(
            f"warning: {chosen.name}:{chosen.version} was fitted on candles through "
            f"{str(report['trained_until'])[:10]}, inside this period: its figures are in sample",
            err=True,
            fg="yellow",
        )
    typer.echo(evaluation_table(report))
    extra = outlook_table(report)
    if extra:
        typer.echo("\n" + extra)


def served(registry: ModelRegistry, symbol: str, interval: str) -> ModelVersion:
    """The version the series' newest run serves, or an error naming the command to run."""
    from candlecast.errors import ModelNotFound
    from feature_store import served_version

    try:
        return served_version(registry, symbol, interval)
    except ModelNotFound:
        raise ModelNotFound(
            f"no model is registered for {symbol} {interval}; train one with "
            f"`candlecast train --symbols {symbol} --interval {interval} --quick`"
        ) from None


def period_report(settings: Settings, version: ModelVersion, start: str, end: str | None) -> dict:
    """Score a registered version on the origins from `start` to `end` (default: the last)."""
    from feature_store import open_store
    from training_pipeline.bundle import ModelBundle
    from training_pipeline.evaluation import evaluate_period

    if version.path is None:
        raise SettingsError(f"{version.name}:{version.version} has no bundle to evaluate")
    bundle = ModelBundle.load(version.path)
    first = parse_time(start, "--from")
    last = parse_time(end, "--to") if end else None
    try:
        return evaluate_period(open_store(settings), version, bundle, first, last)
    except ImportError as missing:  # scipy (the DM test) and arch (the GARCH baseline)
        raise SettingsError(
            f"evaluate --from needs {missing.name}, which the train extra installs "
            "(pip install 'candlecast[train]'); it does not load TensorFlow"
        ) from None


def same_run(registry: ModelRegistry, version: ModelVersion) -> list[ModelVersion]:
    """Every version registered by the run that registered `version`, oldest first."""
    run = version.metadata.get("run")
    keys = ("symbol", "interval", "run")
    return [
        v
        for v in registry.list()
        if run and all(v.metadata.get(k) == version.metadata.get(k) for k in keys)
    ]


def parse_models(text: str) -> tuple[str, ...]:
    """'mlp,lstm' -> ('mlp', 'lstm'); unknown kinds are rejected by the training config."""
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in text.split(",") if k.strip()))
    if not kinds:
        raise SettingsError("no model kinds given; pass e.g. --models mlp,lstm")
    return kinds


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command()(train)
    app.command()(evaluate)
