"""CLI commands for the store side of the platform: `status`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from candlecast.settings import Settings

if TYPE_CHECKING:
    from feature_store.base import FeatureGroupSpec

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
    document = collect_status(open_store(settings), open_registry(settings), _progress)
    typer.echo(json.dumps(document, indent=2) if as_json else render_status(document))


def _progress(groups: list[FeatureGroupSpec]) -> Iterable[FeatureGroupSpec]:
    """A progress bar on stderr over the groups being read (hidden when stderr is no terminal)."""
    from tqdm import tqdm

    return tqdm(groups, desc="reading feature groups", unit="group", file=sys.stderr, disable=None)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("status", help=STATUS_HELP)(status)
