"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
DATA_DIR = Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared" / "data" / "binance"))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real Binance candles in ../shared/data/binance (read-only)."""
    if not (DATA_DIR / "BTCUSDT_1d.csv").exists():
        pytest.fail(f"market data not found at {DATA_DIR}; set CANDLE_DATA_DIR")
    return DATA_DIR


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """It keeps each test independent of the developer's CANDLECAST_* and Binance settings."""
    for key in list(os.environ):
        if key.startswith(("CANDLECAST_", "HOPSWORKS_")) or key in (
            "BINANCE_API_URL",
            "BINANCE_VISION_URL",
        ):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def binance_sim(data_dir: Path):
    """It serves the shared candles as a Binance simulator on a free port and yields its API URL.

    The clock is fixed at 2026-01-06 12:00 UTC, inside the data: the 2026-01-06 candle is still
    open there and every later one does not exist. Use it as BINANCE_API_URL
    (or Settings.binance_api_url).
    """
    from datetime import UTC, datetime

    from candlecast_sim.simulator import start_simulator

    with start_simulator(data_dir, now=datetime(2026, 1, 6, 12, tzinfo=UTC)) as simulator:
        yield simulator.url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """It runs moto's server (S3, Secrets Manager, Lambda, EventBridge, IAM, SQS) on a free port."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/moto-api/", timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start; is moto[server] installed?")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """It points boto3 (and the handler) at a freshly reset moto with dummy credentials."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    for key, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    return moto_url


@pytest.fixture(scope="session")
def mlp_home(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CANDLECAST_HOME with BTCUSDT 1d features and a quick training run whose candidates
    include a registered MLP (`btcusdt-1d-mlp`, its ONNX file beside the Keras one)."""
    from datetime import UTC, datetime

    from candlecast.settings import Settings
    from feature_pipeline import backfill
    from feature_pipeline.source import open_source
    from feature_store import open_registry, open_store
    from training_pipeline.config import QUICK
    from training_pipeline.run import run

    home = tmp_path_factory.mktemp("mlp-home")
    settings = Settings(home=home, now=datetime(2026, 1, 6, 12, tzinfo=UTC), symbols=("BTCUSDT",))
    store = open_store(settings)
    source = open_source(settings, f"csv:{data_dir / 'BTCUSDT_1d.csv'}")
    backfill.run(settings, store, source, ["BTCUSDT"], "1d", progress=False)
    config = QUICK.with_overrides(models=("mlp",), epochs=1)
    run(settings, store, open_registry(settings), config=config, progress=False)
    return home


@pytest.fixture(scope="session")
def replay_home(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CANDLECAST_HOME that has run the live loop (see `replay.replay`): BTCUSDT and ETHUSDT
    1d trained on candles through 2025-12-01, then 36 daily runs logging and scoring forecasts.

    Built once per test run and shared by the xdist workers (the first one builds it under a
    file lock, the others wait); tests that write to it work on a copy.
    """
    from filelock import FileLock
    from replay import replay

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder every worker's base temp lives in
    home, done = root / "replay-home", root / "replay-home.done"
    with FileLock(str(root / "replay-home.lock")):
        if not done.exists():
            shutil.rmtree(home, ignore_errors=True)
            replay(home, data_dir)
            done.touch()
    return home
