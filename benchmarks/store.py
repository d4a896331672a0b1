"""Benchmark the local feature store: 1M-row upsert, 3,000-row upsert into it, 1M-row read.

Targets (issue 2): 1M upsert <= 10 s; 3,000-row upsert into a 1M-row group <= 1 s;
1M read <= 2x a plain pyarrow read of the same Parquet files (measured in the same run).
Prints a table and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feature_pipeline.groups import CANDLES  # noqa: E402
from feature_store.local import LocalFeatureStore  # noqa: E402

ROWS = 1_000_000
SYMBOLS = 20
SMALL = 3_000


def candle_rows(symbols: int, per_symbol: int, start: str, seed: int) -> pd.DataFrame:
    """Hourly candles for `symbols` made-up pairs, shaped like the `candles` group."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(symbols):
        open_time = pd.date_range(start, periods=per_symbol, freq="h", tz="UTC")
        close = 100 * np.exp(rng.standard_normal(per_symbol).cumsum() * 0.01)
        frames.append(
            pd.DataFrame(
                {
                    "symbol": f"SYM{i:03d}USDT",
                    "interval": "1h",
                    "open_time": open_time,
                    "close_time": open_time + pd.Timedelta(hours=1) - pd.Timedelta("1ms"),
                    "open": close * (1 + rng.normal(0, 0.001, per_symbol)),
                    "high": close * 1.01,
                    "low": close * 0.99,
                    "close": close,
                    "volume": rng.uniform(1, 100, per_symbol),
                    "quote_volume": rng.uniform(100, 10_000, per_symbol),
                    "trades": rng.integers(1, 10_000, per_symbol),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def timed(action: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Best wall time over `repeat` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - began)
    return best, result


def small_upsert(per_symbol: int) -> pd.DataFrame:
    """1,500 changed rows at the end of one series plus 1,500 new ones after it."""
    frame = candle_rows(1, SMALL, "2020-01-01", seed=7)
    shift = pd.Timedelta(hours=per_symbol - SMALL // 2)
    frame["open_time"] += shift
    frame["close_time"] += shift
    return frame


def plain_read(store: LocalFeatureStore) -> pd.DataFrame:
    """The same Parquet files the store's current version uses, read by pyarrow alone."""
    from deltalake import DeltaTable

    table = DeltaTable(f"{store.uri}/{CANDLES.table_name}")
    files = [unquote(urlparse(uri).path) for uri in table.file_uris()]
    return pq.read_table(files, partitioning="hive").to_pandas()


def run(rows: int, repeat: int) -> list[tuple[str, float, str, bool]]:
    per_symbol = rows // SYMBOLS
    frame = candle_rows(SYMBOLS, per_symbol, "2020-01-01", seed=1)
    with tempfile.TemporaryDirectory(prefix="candlecast-bench-") as folder:
        store = LocalFeatureStore(folder)
        upsert_big, first = timed(lambda: store.upsert(CANDLES, frame))
        update = small_upsert(per_symbol)
        upsert_small, second = timed(lambda: store.upsert(CANDLES, update))
        total = rows + SMALL // 2
        read_store, read_plain, got, plain = float("inf"), float("inf"), None, None
        for _ in range(repeat):  # interleaved, so both reads see the same machine load
            seconds, got = timed(lambda: store.read(CANDLES))
            read_store = min(read_store, seconds)
            seconds, plain = timed(lambda: plain_read(store))
            read_plain = min(read_plain, seconds)
        assert first.inserted == rows, first
        assert (second.inserted, second.updated) == (SMALL // 2, SMALL // 2), second
        assert len(got) == len(plain) == total, (len(got), len(plain))
    ratio = read_store / read_plain
    return [
        (f"upsert {rows:,} rows into an empty group", upsert_big, "<= 10 s", upsert_big <= 10),
        (f"upsert {SMALL:,} rows into it", upsert_small, "<= 1 s", upsert_small <= 1),
        (f"read {total:,} rows (store.read)", read_store, "", True),
        (f"read {total:,} rows (plain pyarrow)", read_plain, "", True),
        ("read ratio store / pyarrow", ratio, "<= 2x", ratio <= 2),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="rows in the big upsert")
    parser.add_argument("--repeat", type=int, default=5, help="best of N for the reads")
    args = parser.parse_args()
    results = run(args.rows, args.repeat)
    print(f"{'measure':<44}{'value':>10}  {'target':<9}ok")
    for name, value, target, ok in results:
        unit = "x" if name.startswith("read ratio") else "s"
        print(f"{name:<44}{value:>9.3f}{unit}  {target:<9}{'yes' if ok else 'MISS'}")
    return 0 if all(ok for *_, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
