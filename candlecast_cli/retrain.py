"""`candlecast retrain`: refit each series' served configuration when it is old or degraded."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from candlecast.errors import SettingsError
from candlecast.settings import Settings, parse_symbols

if TYPE_CHECKING:
    from training_pipeline.retrain import Outcome, Plan


def retrain(
    symbols: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated symbols to check, e.g. BTCUSDT,ETHUSDT "
            "(default: CANDLECAST_SYMBOLS)."
        ),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(help="Candle interval, e.g. 1d (default: CANDLECAST_INTERVAL)."),
    ] = None,
    max_age: Annotated[
        str | None,
        typer.Option(
            help="Refit a served model whose fitting data ended longer ago than this: a whole "
            "number and m, h, d or w, e.g. 30d, 12h, 2w (default: CANDLECAST_MAX_MODEL_AGE "
            "candles, 30 days for 1d)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be refitted; register nothing.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one document with each series' outcome.")
    ] = False,
) -> None:
    """Refit each series' served configuration when it is too old or degraded; else say why.

    Too old: its fitting data ended longer ago than --max-age. Degraded: the live monitor's rule
    (`candlecast monitor`) flags the served version's own scored forecasts. A refit runs the
    training again with the configuration the served version recorded (every candidate, the
    gate on the newest selection period, the refit of the chosen one through the last closed
    candle) and registers the newly served version; the app serves it within its reload period.
    A series with no served model is trained with the default configuration. Nothing is done
    when no candle has closed since the model was fitted. Exits 1 when a refit fails.
    """
    from training_pipeline.retrain import default_max_age, parse_age

    settings = Settings.from_env().with_overrides(
        symbols=parse_symbols(symbols) if symbols else None, interval=interval
    )
    try:
        limit = parse_age(max_age) if max_age else default_max_age(settings, settings.interval)
    except SettingsError as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2) from None
    from daily_pipeline.monitor import live_health
    from feature_store import open_registry, open_store
    from training_pipeline.retrain import retrain as run_retrain

    store = open_store(settings)
    outcomes = run_retrain(
        settings,
        store,
        open_registry(settings),
        max_age=limit,
        health=live_health(store),
        dry_run=dry_run,
        progress=not as_json,
        on_plan=None if dry_run else announce,
    )
    if as_json:
        document = {
            "now": settings.clock().isoformat(),
            "interval": settings.interval,
            "max_age_s": limit.total_seconds(),
            "dry_run": dry_run,
            "ok": all(o.ok for o in outcomes),
            "series": [o.to_dict() for o in outcomes],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo("\n".join(outcome_text(o) for o in outcomes))
    raise typer.Exit(0 if all(o.ok for o in outcomes) else 1)


def announce(planned: Plan) -> None:
    """Progress on stderr: a refit takes from seconds (quick) to minutes (the default config)."""
    if planned.action == "refit" and planned.error is None:
        typer.echo(f"{planned.symbol} {planned.interval}: refitting ({planned.reason})", err=True)


def outcome_text(outcome: Outcome) -> str:
    """The series, what was done and why; then the new version or the error."""
    plan = outcome.plan
    lines = [f"{plan.symbol} {plan.interval}: {plan.reason}"]
    if outcome.dry_run and plan.action == "refit":
        lines.append("  dry run: nothing was refitted or registered")
    if outcome.new is not None:
        lines.append(f"  registered {_label(outcome.new)} in {outcome.seconds:.0f} s; served now")
    if outcome.error is not None and outcome.error != plan.reason:
        lines.append(f"  error: {outcome.error}")
    return "\n".join(lines)


def _label(version: Any) -> str:
    until = str(version.metadata.get("trained_until") or "")[:10]
    return f"{version.name} v{version.version} (fitted through {until})"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command()(retrain)
