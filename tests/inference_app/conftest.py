"""Session fixtures: one real store + registry with a tiny trained MLP, and a served app; the
live loop's replay home served too; 4h and 1m stores for the interval tests; Debian's chromium
for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from app_world import NOW, SYMBOLS, AppWorld, backfill, free_port, tiny_config
from interval_world import build_interval_store

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


@pytest.fixture(scope="session")
def replay_settings(replay_home: Path) -> Settings:
    """Settings over the replay's home at the demo's clock (the 2026-01-05 candle closed)."""
    return Settings(home=replay_home, now=NOW, symbols=SYMBOLS)


@pytest.fixture(scope="session")
def replay_url(replay_settings: Settings) -> Iterator[str]:
    """The app over the replay's home, served by a real Gradio server on a free local port."""
    from inference_app.app import serve
    from inference_app.ui import build_app

    demo = build_app(replay_settings)
    url = serve(demo, host="127.0.0.1", port=free_port())
    yield url
    demo.close()


@pytest.fixture(scope="session")
def settings_4h(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Settings:
    """It backfills BTCUSDT 4h and trains it (baselines and a tiny MLP)."""
    home = tmp_path_factory.mktemp("home-4h")
    return build_interval_store(home, data_dir, "4h", train=True)


@pytest.fixture(scope="session")
def settings_1m(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Settings:
    """It backfills BTCUSDT 1m (10 days) and trains nothing: the untrained baseline serves."""
    home = tmp_path_factory.mktemp("home-1m")
    return build_interval_store(home, data_dir, "1m", train=False)


@pytest.fixture(scope="session")
def settings_1m_trained(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Settings:
    """It backfills BTCUSDT 1m (10 days) and trains it (baselines and a tiny MLP)."""
    home = tmp_path_factory.mktemp("home-1m-trained")
    return build_interval_store(home, data_dir, "1m", train=True)


def _served(settings: Settings) -> Iterator[str]:
    from inference_app.app import serve
    from inference_app.ui import build_app

    demo = build_app(settings)
    yield serve(demo, host="127.0.0.1", port=free_port())
    demo.close()


@pytest.fixture(scope="session")
def app_url_4h(settings_4h: Settings) -> Iterator[str]:
    yield from _served(settings_4h)


@pytest.fixture(scope="session")
def app_url_1m(settings_1m: Settings) -> Iterator[str]:
    yield from _served(settings_1m)


@pytest.fixture(scope="session")
def app_url_1m_trained(settings_1m_trained: Settings) -> Iterator[str]:
    yield from _served(settings_1m_trained)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
