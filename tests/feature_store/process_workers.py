"""Functions run in separate OS processes by the concurrency and crash tests."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pandas as pd
from store_adapters import REGISTRIES, STORES, candle_frame

from feature_pipeline.groups import CANDLES


def write_batches(adapter: str, folder: Path, symbol: str, batches: int, size: int) -> None:
    """Upsert overlapping batches of one series: each batch repeats half of the previous one."""
    store = STORES[adapter](folder)
    for i in range(batches):
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=i * size // 2)
        store.upsert(CANDLES, candle_frame(symbol, start=str(start.date()), n=size, seed=i))


def rewrite_forever(adapter: str, folder: Path, rows: int, ready: Path) -> None:
    """Rewrite every row with close = k, for k = 1, 2, ... until killed."""
    store = STORES[adapter](folder)
    frame = candle_frame(n=rows, freq="min")
    k = 0
    while True:
        k += 1
        store.upsert(CANDLES, frame.assign(close=float(k)))
        ready.touch()


def register_copies(adapter: str, folder: Path, model_dir: Path, count: int, tag: str) -> None:
    """Register model_dir `count` times under the name 'shared'."""
    registry = REGISTRIES[adapter](folder)
    for i in range(count):
        registry.register("shared", model_dir, {"score": float(i)}, {"writer": tag, "i": i})


def register_and_die(adapter: str, folder: Path, model_dir: Path, after_files: int) -> None:
    """Register model_dir, but SIGKILL this process once `after_files` files are copied."""
    copyfile = shutil.copyfile
    copied = 0

    def copy_then_maybe_die(*args: Any, copy: Any = copyfile, **kwargs: Any) -> Any:
        nonlocal copied
        result = copy(*args, **kwargs)
        copied += 1
        if copied == after_files:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    shutil.copyfile = copy_then_maybe_die
    if adapter == "s3":  # the S3 registry uploads each file of the bundle instead
        from feature_store import s3_registry

        put_file = s3_registry._put_file
        s3_registry._put_file = lambda *args: copy_then_maybe_die(*args, copy=put_file)
    REGISTRIES[adapter](folder).register("crashy", model_dir, {"score": 1.0})
