"""Binance Vision benchmark: a year of BTCUSDT 1m through `--source vision` against REST.

Run: .venv/bin/python benchmarks/vision.py  (prints a table; exits 1 when a target is missed)
The shared data holds ten days of 1m candles (BTCUSDT_1m_2025-08), so the year (2025-01-01 ..
2025-12-31, 525,600 candles) is those days repeated with shifted times, written to a temporary
folder (never into the repository) and served by one simulator process for REST and Vision;
the simulator builds its zips before the clocks start (Binance's are static files).
Fetch (the source alone, in a process of its own, imports not counted):
1. REST (`binance`): 526 pages of 1,000 candles
2. `vision`, cold cache: 12 monthly zips and their checksums, then REST after 2025-12-31
   (targets: at most 0.75 x the REST seconds, at most 1/10 of its requests)
3. `vision` again with the zips cached (target: no zip asked for)
Backfill (`candlecast backfill ... --json` end to end, shown without a target: the validation,
features and writes after the fetch are the same code for both sources).
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

import pandas as pd  # noqa: E402
from candlecast_sim.simulator import RunningSimulator, start_simulator  # noqa: E402
from candlecast_sim.vision import vision_answer  # noqa: E402

from feature_pipeline.csv_source import read_kline_file  # noqa: E402

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
YEAR = (pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC"))
MONTHLY = "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-"


def write_year(folder: Path) -> int:
    """BTCUSDT_1m.csv for 2025: the shared ten days of 1m candles, repeated with shifted times."""
    base = read_kline_file(DATA / "BTCUSDT_1m_2025-08.csv", "BTCUSDT", "1m").iloc[:-1]
    span = pd.Timedelta(minutes=len(base))
    copies, shift = [], YEAR[0] - base["open_time"].iloc[0]
    while base["open_time"].iloc[0] + shift < YEAR[1]:
        copies.append(
            base.assign(open_time=base.open_time + shift, close_time=base.close_time + shift)
        )
        shift += span
    year = pd.concat(copies, ignore_index=True)
    year = year.loc[(year.open_time >= YEAR[0]) & (year.open_time < YEAR[1])]
    out = year.assign(
        open_time=year.open_time.astype("datetime64[ms, UTC]").astype("int64"),
        close_time=year.close_time.astype("datetime64[ms, UTC]").astype("int64"),
    )[["open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume"]]
    out.assign(trade_count=year.trades).to_csv(folder / "BTCUSDT_1m.csv", index=False)
    return len(out)


FETCH = """
import sys, time
from candlecast.settings import Settings
from feature_pipeline.source import open_source
source = open_source(Settings.from_env(), sys.argv[1])
start = time.perf_counter()
frame, report = source.fetch("BTCUSDT", "1m")
print(time.perf_counter() - start, len(frame))
"""


def run(sim: RunningSimulator, home: Path, command: list[str]) -> tuple[float, str, int]:
    """Seconds for one process, its output and the requests the simulator answered meanwhile."""
    env = dict(
        os.environ,
        BINANCE_API_URL=sim.url,
        BINANCE_VISION_URL=sim.vision_url,
        CANDLECAST_HOME=str(home),
        CANDLECAST_NOW=NOW.isoformat(),
    )
    before = sim.state.requests + len(sim.state.vision_requests)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *command], env=env, capture_output=True, text=True, cwd=REPO, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{command[-1]} failed: {done.stderr.strip()[-400:]}")
    return seconds, done.stdout, sim.state.requests + len(sim.state.vision_requests) - before


def fetch(sim: RunningSimulator, home: Path, spec: str) -> tuple[float, int, int]:
    """Seconds of `source.fetch` alone, candles, requests."""
    _, out, asked = run(sim, home, ["-c", FETCH, spec])
    seconds, rows = out.split()
    return float(seconds), int(rows), asked


def backfill(sim: RunningSimulator, home: Path, spec: str) -> tuple[float, int, int]:
    """Seconds of a whole `candlecast backfill` process, candles written, requests."""
    args = ["backfill", "--symbols", "BTCUSDT", "--interval", "1m", "--source", spec, "--json"]
    seconds, out, asked = run(sim, home, ["-m", "candlecast_cli", *args])
    return seconds, json.loads(out)["symbols"][0]["candles_written"], asked


def zips(sim: RunningSimulator) -> int:
    return sum(path.endswith(".zip") for path in sim.state.vision_requests)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "data").mkdir()
        candles = write_year(root / "data")
        with start_simulator(root / "data", now=NOW) as sim:
            sim.state.data.series("BTCUSDT", "1m")  # loaded before any clock starts
            for month in range(1, 13):  # Binance's zips are static files: built beforehand
                vision_answer(sim.state, f"{MONTHLY}2025-{month:02d}.zip")
            rest = fetch(sim, root / "rest", "binance")
            cold = fetch(sim, root / "vision", "vision")
            zips_before = zips(sim)
            warm = fetch(sim, root / "vision", "vision")
            zips_again = zips(sim) - zips_before
            rest_backfill = backfill(sim, root / "rest-backfill", "binance")
            vision_backfill = backfill(sim, root / "vision-backfill", "vision")
    rows = [
        ("fetch: REST (binance)", rest, "-", True),
        (
            "fetch: vision, cold cache",
            cold,
            "<= 0.75 x REST s, <= 1/10 requests",
            cold[0] <= 0.75 * rest[0] and cold[2] * 10 <= rest[2],
        ),
        ("fetch: vision, zips cached", warm, "no zip asked", zips_again == 0),
        ("backfill --source binance", rest_backfill, "-", True),
        ("backfill --source vision, cold cache", vision_backfill, "-", True),
    ]
    title = f"BTCUSDT 1m, 2025 ({candles:,} candles)"
    print(f"{title:<40}{'seconds':>9}{'rows':>10}{'requests':>10}  target")
    misses = 0
    for name, (seconds, count, asked), target, ok in rows:
        ok = ok and count == candles
        misses += not ok
        mark = "" if target == "-" and ok else ("  ok" if ok else "  MISSED")
        print(f"{name:<40}{seconds:>9.1f}{count:>10,}{asked:>10,}  {target}{mark}")
    print(f"vision / REST: fetch {cold[0] / rest[0]:.2f}, backfill ", end="")
    print(f"{vision_backfill[0] / rest_backfill[0]:.2f} of the time; {load()}")
    return 1 if misses else 0


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), as the figures depend on them."""
    try:
        return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load unknown"


if __name__ == "__main__":
    sys.exit(main())
