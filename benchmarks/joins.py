"""Benchmark the as-of join: every symbol's 4h features joined with its 1d features as of close.

Targets (issue 15): the join of the 20 real 4h series (~291,000 rows, ../shared/data/binance)
with their 1d features (all 20 feature columns) <= 1 s, and <= 2x a plain DuckDB `ASOF JOIN`
of the same frames measured in the same run; both results must be equal.
Prints a table and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feature_pipeline.features import engineer  # noqa: E402
from feature_pipeline.groups import FEATURE_COLUMNS  # noqa: E402
from training_pipeline.joins import asof_join  # noqa: E402

DATA_DIR = Path(
    os.environ.get("CANDLE_DATA_DIR", Path(__file__).parents[2] / "shared/data/binance")
)
PREFIX = "d1__"
STEPS = {"4h": pd.Timedelta(hours=4), "1d": pd.Timedelta(days=1)}


def candles(path: Path, symbol: str, interval: str) -> pd.DataFrame:
    """A shared Binance CSV (timestamp, OHLCV) as closed CANDLES-shaped rows."""
    raw = pd.read_csv(path)
    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time": pd.to_datetime(raw["timestamp"], utc=True),
        }
    )
    frame["close_time"] = frame["open_time"] + STEPS[interval] - pd.Timedelta(1, "ms")
    for column in ("open", "high", "low", "close", "volume"):
        frame[column] = raw[column].astype(float)
    return frame.iloc[:-1]  # the last row of every file is a still-open candle


def features(interval: str) -> pd.DataFrame:
    """The FEATURES rows of every symbol with a 4h file, with their close_time."""
    symbols = sorted(p.name.split("_")[0] for p in DATA_DIR.glob("*_4h.csv"))
    rows = engineer(
        pd.concat(
            [candles(DATA_DIR / f"{s}_{interval}.csv", s, interval) for s in symbols],
            ignore_index=True,
        )
    )
    rows["close_time"] = rows["open_time"] + STEPS[interval] - pd.Timedelta(1, "ms")
    return rows


def timed(action: Callable[[], pd.DataFrame], repeat: int) -> tuple[float, pd.DataFrame]:
    """Best wall time over `repeat` runs, and the last result."""
    best, result = float("inf"), pd.DataFrame()
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - began)
    return best, result


def ours(four: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    return asof_join(
        four,
        daily,
        interval="4h",
        partner_interval="1d",
        columns=FEATURE_COLUMNS,
        prefix=PREFIX,
        by="symbol",
    )


def duck(four: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    """The same join as a plain DuckDB ASOF JOIN over the pandas frames."""
    joined = ", ".join(f'b."{c}" AS "{PREFIX}{c}"' for c in FEATURE_COLUMNS)
    sql = (
        f'SELECT a.*, {joined}, b.close_time AS "{PREFIX}close_time" FROM four AS a '
        "ASOF JOIN daily AS b ON a.symbol = b.symbol AND a.close_time >= b.close_time"
    )
    with duckdb.connect() as con:
        con.register("four", four)
        con.register("daily", daily)
        return con.sql(sql).df()


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal rows and joined values once both are ordered by (symbol, open_time)."""
    a, b = (f.sort_values(["symbol", "open_time"]).reset_index(drop=True) for f in (a, b))
    names = [PREFIX + c for c in FEATURE_COLUMNS]
    keys = ["symbol", "open_time", f"{PREFIX}close_time"]
    if len(a) != len(b):
        return False
    for key in keys:
        left, right = a[key], b[key]
        if key != "symbol":
            left, right = (
                pd.to_datetime(s, utc=True).astype("datetime64[ms, UTC]") for s in (a[key], b[key])
            )
        if not (left.to_numpy() == right.to_numpy()).all():
            return False
    return bool(np.array_equal(a[names].to_numpy(), b[names].to_numpy()))


def run(repeat: int) -> list[tuple[str, float, str, bool]]:
    four, daily = features("4h"), features("1d")
    series = four["symbol"].nunique()
    ours_s, mine, duck_s, theirs = float("inf"), None, float("inf"), None
    for _ in range(repeat):  # interleaved, so both see the same machine load
        seconds, mine = timed(lambda: ours(four, daily), 1)
        ours_s = min(ours_s, seconds)
        seconds, theirs = timed(lambda: duck(four, daily), 1)
        duck_s = min(duck_s, seconds)
    equal = same(mine, theirs)
    ratio = ours_s / duck_s
    label = f"{series} x 4h, {len(four):,} rows + {len(daily):,} 1d rows"
    return [
        (f"as-of join ({label})", ours_s, "<= 1 s", ours_s <= 1),
        (f"DuckDB ASOF JOIN (same frames, {len(theirs):,} out)", duck_s, "", True),
        ("ratio ours / DuckDB", ratio, "<= 2x", ratio <= 2),
        (f"results equal ({len(mine):,} joined rows)", float(equal), "equal", equal),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="best of N for both joins")
    args = parser.parse_args()
    results = run(args.repeat)
    width = max(len(name) for name, *_ in results) + 2
    print(f"{'measure':<{width}}{'value':>10}  {'target':<9}ok")
    for name, value, target, ok in results:
        unit = "x" if name.startswith("ratio") else "s" if target != "equal" else " "
        print(f"{name:<{width}}{value:>9.3f}{unit}  {target:<9}{'yes' if ok else 'MISS'}")
    print(f"load (/proc/loadavg): {Path('/proc/loadavg').read_text().strip()}")
    return 0 if all(ok for *_, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
