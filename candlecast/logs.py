"""Logging, configured once per entry point: one level for ours, WARNING for the SDKs."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

# Their DEBUG logs hold request headers (AWS session tokens, API keys) and response bodies.
SDK_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "hopsworks", "hsfs", "hsml")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "WARNING", *, stream: TextIO | None = None) -> None:
    """Send log records at `level` and above to `stream` (stderr); SDKs never below WARNING."""
    logging.basicConfig(level=level, format=FORMAT, stream=stream or sys.stderr)
    quiet_sdks()


def quiet_sdks() -> None:
    """Keep the SDK loggers at WARNING or above, whatever the root level is."""
    for name in SDK_LOGGERS:
        sdk = logging.getLogger(name)
        sdk.setLevel(max(sdk.getEffectiveLevel(), logging.WARNING))


class _Stdout(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a record arrives (Lambda sends it to CloudWatch)."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def lambda_logging(name: str) -> logging.Logger:
    """A Lambda entry point's logging: logger `name` writes its messages (JSON lines) at INFO to
    stdout, other modules log warnings to stderr, and the SDKs never log bodies or headers."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        stream = _Stdout()
        stream.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(stream)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    quiet_sdks()  # their DEBUG logs hold request headers and bodies (secrets)
    return logger
