"""The FeatureStore contract under several writer processes and a writer killed mid-write."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from process_workers import rewrite_forever, write_batches
from store_adapters import MULTI_PROCESS, STORES, candle_frame

from feature_pipeline.groups import CANDLES

SPAWN = multiprocessing.get_context("spawn")
pytestmark = pytest.mark.slow


@pytest.fixture
def adapter(store_name: str) -> str:
    if store_name not in MULTI_PROCESS:
        pytest.fail(f"{store_name} is not in MULTI_PROCESS; add it or give it its own test")
    return store_name


def test_concurrent_writers_never_lose_or_duplicate_rows(adapter: str, tmp_path: Path) -> None:
    """It keeps exactly one row per key when processes upsert overlapping rows at once."""
    jobs = [("BTCUSDT", 0), ("BTCUSDT", 1), ("ETHUSDT", 2)]
    workers = [
        SPAWN.Process(target=write_batches, args=(adapter, tmp_path, symbol, 4, 40))
        for symbol, _ in jobs
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(180)
        assert worker.exitcode == 0, "a writer process failed; see its traceback above"
    store = STORES[adapter](tmp_path)
    stored = store.read(CANDLES)
    assert not stored.duplicated(list(CANDLES.primary_key)).any()
    for symbol in ("BTCUSDT", "ETHUSDT"):
        days = stored.loc[stored["symbol"] == symbol, "open_time"]
        # batches start every 20 days and hold 40 days: 4 batches cover 100 days
        assert list(days) == list(pd.date_range("2024-01-01", periods=100, tz="UTC"))


def test_a_writer_killed_mid_write_leaves_old_or_new_content(adapter: str, tmp_path: Path) -> None:
    """It leaves a readable table holding one complete write after a SIGKILL."""
    rows = 50_000
    ready = tmp_path / "first-write-done"
    worker = SPAWN.Process(target=rewrite_forever, args=(adapter, tmp_path, rows, ready))
    worker.start()
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert worker.is_alive() and time.monotonic() < deadline, "the writer never wrote"
        time.sleep(0.05)
    time.sleep(0.3)  # well inside a later rewrite
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(30)
    assert worker.exitcode == -signal.SIGKILL
    store = STORES[adapter](tmp_path)
    stored = store.read(CANDLES, columns=["open_time", "close"])
    assert len(stored) == rows
    assert stored["close"].nunique() == 1, "a mix of two writes is visible"
    assert stored["open_time"].is_unique
    result = store.upsert(CANDLES, candle_frame(n=rows, freq="min").assign(close=-1.0))
    assert result.updated == rows
    assert set(store.read(CANDLES, columns=["close"])["close"]) == {-1.0}
