"""Daily-run benchmark: `candlecast daily` for BTCUSDT 1d through the Binance simulator.

Run: .venv/bin/python benchmarks/daily.py  (prints a table; exits 1 when a target is missed)
Each figure is one `candlecast daily` process, end to end (Python start and imports included),
on a store backfilled up to 2025-12-01 (the backfill itself is not timed):
1. the next day: the store is up to date but for the one candle that just closed (<= 3 s)
2. the same run again: nothing new, the store is already up to date (<= 3 s)
3. 30 missed days caught up at once, on a copy of the backfilled store (<= 5 s)
"""

from __future__ import annotations

import json
import os
import shutil
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

from candlecast.settings import Settings  # noqa: E402
from feature_pipeline import backfill  # noqa: E402
from feature_pipeline.source import open_source  # noqa: E402
from feature_store import open_store  # noqa: E402

BACKFILLED_TO = datetime(2025, 12, 1, 0, 5, tzinfo=UTC)


def daily(url: str, home: Path, now: str) -> tuple[float, dict]:
    """Seconds for one `candlecast daily` process and its JSON summary."""
    env = dict(os.environ, BINANCE_API_URL=url, CANDLECAST_HOME=str(home), CANDLECAST_NOW=now)
    command = [sys.executable, "-m", "candlecast_cli", "daily", "--symbols", "BTCUSDT", "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"daily failed: {done.stdout.strip()} {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)["symbols"][0]


def main() -> int:
    with start_simulator(DATA) as simulator, tempfile.TemporaryDirectory() as tmp:
        simulator.state.now = datetime(2026, 1, 6, 12, tzinfo=UTC)  # the exchange's clock
        daily_home, catch_up_home = Path(tmp) / "daily", Path(tmp) / "catch-up"
        settings = Settings(home=daily_home, binance_api_url=simulator.url, now=BACKFILLED_TO)
        backfill.run(
            settings, open_store(settings), open_source(settings), ["BTCUSDT"], "1d", progress=False
        )
        shutil.copytree(daily_home, catch_up_home)
        runs = [
            ("next day: 1 new candle", "2025-12-02T00:05:00Z", daily_home, 1, 3.0),
            ("again: already up to date", "2025-12-02T00:05:00Z", daily_home, 0, 3.0),
            ("30 missed days caught up", "2025-12-31T00:05:00Z", catch_up_home, 30, 5.0),
        ]
        rows = []
        for name, now, home, expected, target in runs:
            seconds, result = daily(simulator.url, home, now)
            ok = seconds <= target and result["candles_added"] == expected
            rows.append((name, seconds, result["candles_added"], target, ok))
    print(f"{'candlecast daily, BTCUSDT 1d':<30} {'seconds':>8} {'added':>6}  {'target':<7} result")
    for name, seconds, added, target, ok in rows:
        print(f"{name:<30} {seconds:>8.2f} {added:>6}  <= {target:<4} {'ok' if ok else 'MISS'}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
