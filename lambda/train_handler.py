"""AWS Lambda entry point of the weekly retrain (`train_handler.handler` in Dockerfile.train).

A thin adapter: the work is in `candlecast_aws.retrain`, imported on the first call so that
the cold import of this module stays light (TensorFlow loads only when a refit starts).
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger("candlecast.retrain")


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Retrain each series whose served model is too old or degraded, before the timeout.

    The summary; `{"ok": false, ...}` for a bad event or setting, or a registry that would be
    lost with the instance (not worth a retry); raises when a series' refit failed (worth a
    retry). A context without `get_remaining_time_in_millis` (None in tests) sets no deadline.
    """
    from candlecast.logs import lambda_logging

    lambda_logging(logger.name)  # one JSON line per series on stdout
    from candlecast_aws.retrain import handle

    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    return handle(event, os.environ, remaining_ms=remaining_ms if callable(remaining_ms) else None)
