"""The `candlecast` command line: one subcommand per job, wired from topic modules."""

from __future__ import annotations

import functools
import os
import sys

import typer

from candlecast import logs
from candlecast.errors import CandlecastError
from candlecast.settings import Settings

app = typer.Typer(
    name="candlecast",
    help="Forecast crypto prices from Binance candles with a feature store and batch pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@functools.cache  # main() may run many times in one process; commands are added once
def _register_commands() -> None:
    from candlecast_cli import daily, data, deploy, loop, retrain, serve, space, status, train

    for module in (status, data, daily, loop, deploy, train, retrain, serve, space):
        module.register(app)


def configure_logging() -> None:
    """Log to stderr once per process, at CANDLECAST_LOG_LEVEL (default WARNING).

    An invalid setting logs at WARNING here; the command's own settings then refuse it.
    """
    try:
        level = Settings.from_env().log_level
    except CandlecastError:
        level = "WARNING"
    # TensorFlow's C++ start-up notices (oneDNN, CPU features) are not the user's concern.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logs.configure_logging(level)


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
