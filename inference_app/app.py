"""The Hugging Face Space entry point: `python app.py` serves the app with settings from env."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gradio as gr

    from candlecast.settings import Settings

logger = logging.getLogger(__name__)


def main(settings: Settings | None = None) -> gr.Blocks:
    """Build the app from the environment's settings (CANDLECAST_*, HOPSWORKS_*)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from candlecast.settings import Settings
    from inference_app.ui import build_app

    return build_app(settings or Settings.from_env())


def serve(demo: gr.Blocks, *, host: str | None = None, port: int | None = None) -> str:
    """Start serving in the background and return the URL; `demo.block_thread()` waits.

    host and port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, which a Space sets.
    """
    _, url, _ = demo.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        ssr_mode=False,
        show_error=False,
        quiet=True,
    )
    return url


if __name__ == "__main__":
    logging.basicConfig(
        level=os.environ.get("CANDLECAST_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    demo = main()
    logger.info("serving the forecast app on %s", serve(demo))
    demo.block_thread()
