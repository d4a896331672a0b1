"""AWS Lambda entry point of the daily job (`handler.handler` in Dockerfile.lambda).

A thin adapter: the work is in `candlecast_aws.job`, imported on the first call so that the
cold import of this module stays well under a second.
"""

from __future__ import annotations

import logging
import os
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


def _configure_logging() -> None:
    """One JSON line per symbol on stdout; other modules log warnings; SDKs never log bodies."""
    from candlecast.logs import lambda_logging

    lambda_logging(logger.name)
