"""Session fixtures: one real store + registry with a tiny trained MLP, and a served app."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_world import NOW, SYMBOLS, AppWorld, backfill, free_port, tiny_config

from candlecast.settings import Settings
from feature_store import open_registry, open_store


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> AppWorld:
    """It backfills BTCUSDT and ETHUSDT and trains BTCUSDT (baselines, a tiny MLP, the served)."""
    from training_pipeline.run import run

    home = tmp_path_factory.mktemp("app-home")
    settings = Settings(home=home, now=NOW, symbols=SYMBOLS)
    backfill(settings, data_dir)
    config = tiny_config()
    run(
        settings,
        open_store(settings),
        open_registry(settings),
        symbols=("BTCUSDT",),
        interval="1d",
        config=config,
        progress=False,
    )
    return AppWorld(home=home, settings=settings, config=config)


@pytest.fixture(scope="session")
def settings(world: AppWorld) -> Settings:
    return world.settings


@pytest.fixture(scope="session")
def forecaster(settings: Settings):
    """One Forecaster for the session, as a server would hold it."""
    from inference_app.forecaster import Forecaster

    return Forecaster(settings)


@pytest.fixture(scope="session")
def app_url(settings: Settings):
    """The app served by a real Gradio server on a free local port for the whole session."""
    from inference_app.app import serve
    from inference_app.ui import build_app

    demo = build_app(settings)
    url = serve(demo, host="127.0.0.1", port=free_port())
    yield url
    demo.close()
