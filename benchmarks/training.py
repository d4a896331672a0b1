"""Training speed: `candlecast train --quick` for one series as a process, and the default run.

Backfills BTCUSDT 1d from the shared Binance CSV into a temporary store, then times each run as
a new `candlecast train` process (Python start and TensorFlow import included): fitting both
baselines and the networks, the selection-period gate, test scoring, the refit of the served
configuration and registration. Prints the served model's headline test figures and exits 1
when a run misses its target (--quick <= 60 s, default <= 20 min on CPU).

    .venv/bin/python benchmarks/training.py [--only quick|default] [--symbol BTCUSDT] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGETS_S = {"quick": 60.0, "default": 1200.0}
NOW = "2026-01-06T12:00:00Z"  # the last row of the shared CSVs is still open at this time


def backfill(home: Path, data: Path, symbol: str) -> None:
    from candlecast.settings import Settings, parse_time
    from feature_pipeline.backfill import run as backfill_run
    from feature_pipeline.source import open_source
    from feature_store import open_store

    settings = Settings(home=home, symbols=(symbol,), interval="1d", now=parse_time(NOW))
    source = open_source(settings, f"csv:{data / f'{symbol}_1d.csv'}")
    backfill_run(settings, open_store(settings), source, [symbol], "1d", progress=False)


def timed_run(name: str, home: Path, symbol: str) -> dict[str, object]:
    """One `candlecast train` process: its wall time and its JSON summary."""
    env = dict(os.environ, CANDLECAST_HOME=str(home), CANDLECAST_NOW=NOW)
    command = [sys.executable, "-m", "candlecast_cli", "train", "--symbols", symbol, "--json"]
    command += ["--quick"] if name == "quick" else []
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name} run failed:\n{done.stderr}")
    return {"run": name, "seconds": seconds, "report": json.loads(done.stdout)["series"][0]}


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        f"{'run':<9}{'seconds':>9}{'target':>8}{'ok':>5}  {'served':<26}"
        f"{'MAE h1':>8}{'MAE h30':>8}{'W h1':>7}{'W h7':>7}{'W h30':>7}{'cov h1':>8}{'cov h30':>8}"
    ]
    for row in rows:
        target = TARGETS_S[row["run"]]
        ok = "yes" if row["seconds"] <= target else "NO"
        served = row["report"]["served"]
        m = row["metrics"]
        lines.append(
            f"{row['run']:<9}{row['seconds']:>9.1f}{target:>8.0f}{ok:>5}  "
            f"{served['name'] + ':' + str(served['version']):<26}"
            f"{m['mae_ratio_h1']:>8.3f}{m['mae_ratio_h30']:>8.3f}{m['winkler_ratio_h1']:>7.3f}"
            f"{m['winkler_ratio_h7']:>7.3f}{m['winkler_ratio_h30']:>7.3f}"
            f"{m['coverage80_h1']:>8.1%}{m['coverage80_h30']:>8.1%}"
        )
        lines.append(f"{'':<31}served because {served['decision']}")
    lines.append(
        "MAE: ratio to no change; W: interval score ratio to the empirical band; cov: 80% coverage"
        " (test period)"
    )
    return "\n".join(lines)


def served_metrics(home: Path, served: dict) -> dict[str, float]:
    from feature_store.local_registry import LocalModelRegistry

    return LocalModelRegistry(home / "registry").get(served["name"], served["version"]).metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(TARGETS_S), help="run just one of the two")
    parser.add_argument("--symbol", default="BTCUSDT", help="the series to train (default BTCUSDT)")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared/data/binance")),
        help="folder holding SYMBOL_1d.csv",
    )
    args = parser.parse_args()
    names = [args.only] if args.only else ["quick", "default"]
    rows, load = [], os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="candlecast-bench-") as folder:
        home = Path(folder)
        backfill(home, args.data, args.symbol)
        for name in names:
            row = timed_run(name, home, args.symbol)
            row["metrics"] = served_metrics(home, row["report"]["served"])
            rows.append(row)
            print(f"{name}: {row['seconds']:.1f} s", file=sys.stderr)
    print(
        f"load average before the runs: {load:.1f}, after: {os.getloadavg()[0]:.1f} "
        f"({os.cpu_count()} cores)"
    )
    print(table(rows))
    return 0 if all(r["seconds"] <= TARGETS_S[r["run"]] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
