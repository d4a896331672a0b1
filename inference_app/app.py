"""Serving the app: `serve_forever()` is the Hugging Face Space's entry point (its `app.py`,
written by `candlecast space build`) and `python -m inference_app.app`, with settings from env."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gradio as gr

    from candlecast.settings import Settings
    from inference_app.forecaster import Forecaster

logger = logging.getLogger(__name__)


def create(
    settings: Settings | None = None, *, concurrency_limit: int | None = None
) -> tuple[gr.Blocks, Forecaster]:
    """The app and its Forecaster, from the environment's settings (CANDLECAST_*, HOPSWORKS_*).

    concurrency_limit: how many events run at once (default `ui.CONCURRENCY_LIMIT`).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from candlecast.settings import Settings
    from inference_app.forecaster import Forecaster
    from inference_app.ui import CONCURRENCY_LIMIT, build_app

    settings = settings or Settings.from_env()
    forecaster = Forecaster(settings)
    limit = concurrency_limit or CONCURRENCY_LIMIT
    return build_app(settings, forecaster=forecaster, concurrency_limit=limit), forecaster


def main(settings: Settings | None = None) -> gr.Blocks:
    """The app, built from the environment's settings; nothing is read until it serves."""
    return create(settings)[0]


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


def launch(
    settings: Settings | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    concurrency_limit: int | None = None,
) -> tuple[gr.Blocks, str]:
    """Serve the app, then load the models in the background so the first visitor need not wait.

    The warm-up starts only once the server listens: sharing the CPU with Gradio's start-up
    would delay both.
    """
    demo, forecaster = create(settings, concurrency_limit=concurrency_limit)
    url = serve(demo, host=host, port=port)
    threading.Thread(target=forecaster.warm_up, name="warm-up", daemon=True).start()
    return demo, url


def serve_forever(*, concurrency_limit: int | None = None) -> None:
    """Serve the app with the environment's settings until the process is stopped.

    The Space's entry point: it binds GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, which the Space
    sets, and logs at CANDLECAST_LOG_LEVEL.
    """
    from candlecast.logs import configure_logging
    from candlecast.settings import Settings

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    demo, url = launch(settings, concurrency_limit=concurrency_limit)
    logger.info("serving the forecast app on %s", url)
    demo.block_thread()


if __name__ == "__main__":
    serve_forever()
