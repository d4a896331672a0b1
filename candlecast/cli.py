"""The `candlecast` command line: one subcommand per job, wired from topic modules."""

from __future__ import annotations

import functools
import logging
import os
import sys

import typer

from candlecast.errors import CandlecastError

app = typer.Typer(
    name="candlecast",
    help="Forecast crypto prices from Binance candles with a feature store and batch pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@functools.cache  # main() may run many times in one process; commands are added once
def _register_commands() -> None:
    from candlecast import cli_app, cli_daily, cli_data, cli_store, cli_train

    for module in (cli_store, cli_data, cli_daily, cli_train, cli_app):
        module.register(app)


def configure_logging() -> None:
    """Log to stderr once per process, at CANDLECAST_LOG_LEVEL (default WARNING)."""
    level = os.environ.get("CANDLECAST_LOG_LEVEL", "WARNING").upper()
    # TensorFlow's C++ start-up notices (oneDNN, CPU features) are not the user's concern.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(
        level=level if level in logging.getLevelNamesMapping() else "WARNING",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; platform errors are printed as one message with a non-zero exit code."""
    configure_logging()
    _register_commands()
    try:
        app(args=argv, prog_name="candlecast")
    except SystemExit as done:  # typer exits with the command's code, usage errors with 2
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except CandlecastError as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
