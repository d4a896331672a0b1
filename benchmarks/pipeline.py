"""Feature pipeline benchmark: backfills through the simulator, and feature engineering at scale.

Run: .venv/bin/python benchmarks/pipeline.py  (prints a table; exits 1 when a target is missed)
1. `candlecast backfill` BTCUSDT + ETHUSDT 1d, full history, via the simulator (<= 10 s end to end)
2. `candlecast backfill` BTCUSDT 1m: the 14,400 closed candles of BTCUSDT_1m_2025-08 (<= 15 s)
3. `features.engineer` on 1,000,000 candles, real 1m data repeated with shifted times
   (<= 3 s; peak RSS of the whole process <= 2 GB)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared" / "data" / "binance"))
sys.path.insert(0, str(REPO))

from candlecast_sim.simulator import start_simulator  # noqa: E402

ENGINEER = """
import resource, sys, time
import pandas as pd
from feature_pipeline.csv_source import read_kline_file
from feature_pipeline.features import engineer
base = read_kline_file(__import__("pathlib").Path(sys.argv[1]), "BTCUSDT", "1m")
copies, span = [], pd.Timedelta(minutes=len(base))
while sum(map(len, copies)) < 1_000_000:
    shift = span * len(copies)
    copies.append(base.assign(open_time=base.open_time + shift, close_time=base.close_time + shift))
candles = pd.concat(copies, ignore_index=True).iloc[:1_000_000]
start = time.perf_counter()
features = engineer(candles)
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{seconds} {peak_mb} {len(features)}")
"""


def backfill(url: str, home: Path, now: str, *args: str) -> tuple[float, dict]:
    """Seconds for one `candlecast backfill` process (imports included) and its JSON summary."""
    env = dict(os.environ, BINANCE_API_URL=url, CANDLECAST_HOME=str(home), CANDLECAST_NOW=now)
    command = [sys.executable, "-m", "candlecast_cli", "backfill", *args, "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"backfill failed: {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)


def main() -> int:
    rows = []
    now = datetime(2026, 1, 6, 12, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder, start_simulator(DATA, now=now) as simulator:
        seconds, summary = backfill(
            simulator.url, Path(folder) / "daily", now.isoformat(), "--symbols", "BTCUSDT,ETHUSDT"
        )
        written = sum(s["candles_written"] for s in summary["symbols"])
        rows.append(
            (
                "backfill BTCUSDT+ETHUSDT 1d via simulator",
                f"{seconds:.2f} s",
                10.0,
                seconds,
                written,
            )
        )
        seconds, summary = backfill(
            simulator.url,
            Path(folder) / "minute",
            "2025-08-11T00:00:30Z",
            "--symbols",
            "BTCUSDT",
            "--interval",
            "1m",
        )
        written = summary["symbols"][0]["candles_written"]
        rows.append(
            (
                "backfill BTCUSDT 1m (10 days) via simulator",
                f"{seconds:.2f} s",
                15.0,
                seconds,
                written,
            )
        )
    command = [sys.executable, "-c", ENGINEER, str(DATA / "BTCUSDT_1m_2025-08.csv")]
    out = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, check=True
    ).stdout.split()
    seconds, peak_mb, count = float(out[0]), float(out[1]), int(out[2])
    rows.append(("engineer 1,000,000 candles: time", f"{seconds:.2f} s", 3.0, seconds, count))
    rows.append(
        ("engineer 1,000,000 candles: peak RSS", f"{peak_mb:.0f} MB", 2048.0, peak_mb, count)
    )
    return report(rows)


def report(rows: list[tuple[str, str, float, float, int]]) -> int:
    print(f"{'benchmark':<46}{'measured':>11}{'target':>10}{'rows':>10}  ok")
    misses = 0
    for name, shown, target, value, count in rows:
        ok = value <= target
        misses += not ok
        limit = f"<= {target:g}"
        print(f"{name:<46}{shown:>11}{limit:>10}{count:>10}  {'yes' if ok else 'NO'}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
