"""CLI commands for the store side of the platform: `status`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from candlecast.settings import Settings

STATUS_HELP = (
    "Show what is in the feature store and the model registry.\n\n"
    "Lists every feature group with its row count, content fingerprint and the first/last "
    "open time of each symbol/interval series, then every registered model version with its "
    "metrics; `best` marks the version with the lowest validation score for its symbol and "
    "interval. The store and registry come from CANDLECAST_STORE, CANDLECAST_HOME and "
    "CANDLECAST_STORE_URI."
)


def status(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON document (store, feature_groups, models) for scripts instead "
            "of the table.",
        ),
    ] = False,
) -> None:
    """Show what is in the feature store and the model registry."""
    from candlecast.status import collect_status, render_status
    from feature_store import open_registry, open_store

    settings = Settings.from_env()
    document = collect_status(open_store(settings), open_registry(settings))
    typer.echo(json.dumps(document, indent=2) if as_json else render_status(document))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("status", help=STATUS_HELP)(status)
