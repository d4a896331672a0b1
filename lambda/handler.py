"""AWS Lambda entry point of the daily job (`handler.handler` in Dockerfile.lambda).

A thin adapter: the work is in `candlecast_aws.job`, imported on the first call so that the
cold import of this module stays well under a second.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

logger = logging.getLogger("candlecast.daily")


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Run the daily job for an EventBridge event before the invocation's timeout.

    The summary; `{"ok": false, ...}` for a bad event or setting (not worth a retry); raises
    when a symbol failed or ran out of time (worth a retry). A context without
    `get_remaining_time_in_millis` (None in tests and local calls) sets no deadline.
    """
    _configure_logging()
    from candlecast_aws.job import handle

    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    return handle(event, os.environ, remaining_ms=remaining_ms if callable(remaining_ms) else None)


class _Stdout(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a record arrives (Lambda sends it to CloudWatch)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _configure_logging() -> None:
    """One JSON line per symbol on stdout; other modules log warnings; SDKs never log bodies."""
    if not logger.handlers:
        stream = _Stdout()
        stream.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(stream)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from candlecast.logs import quiet_sdks

    quiet_sdks()  # their DEBUG logs hold request headers and bodies (secrets)
