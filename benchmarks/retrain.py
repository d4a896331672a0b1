"""Retrain cost against the Lambda's limits: a refit of a known configuration, time and memory.

For each configuration (quick, default): BTCUSDT 1d is backfilled from the shared Binance CSV
through 2025-12-01 and trained (`candlecast train` as a process, so its configuration is
recorded), the candles through 2026-01-05 are backfilled, then the retrain's Lambda handler
(`lambda/train_handler.py`) runs as a new process with a 900 s context and max_age 30d: the
model is 35 days old, so it refits the recorded configuration (every candidate, the gate, the
refit of the chosen one) and registers the newly served version. Each process's wall time
(Python start and TensorFlow import included) and peak RSS are measured and compared with the
retrain function's limits: 900 s (less the handler's margin) and 10,240 MB. Exits 1 on a miss.

    .venv/bin/python benchmarks/retrain.py [--only quick|default] [--symbol BTCUSDT] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from candlecast_aws.deploy import DEFAULT_TRAIN_MEMORY_MB, DEFAULT_TRAIN_TIMEOUT_S  # noqa: E402
from candlecast_aws.retrain import MARGIN_S  # noqa: E402

TRAINED_AT = "2025-12-02T00:30:00+00:00"  # the model's data ends with the 2025-12-01 candle
NOW = "2026-01-06T12:00:00+00:00"  # the last row of the shared CSVs is still open at this time
LIMIT_S = DEFAULT_TRAIN_TIMEOUT_S - MARGIN_S
LIMIT_MIB = DEFAULT_TRAIN_MEMORY_MB
HANDLER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import train_handler
class Context:
    ends = time.monotonic() + float(sys.argv[3])
    def get_remaining_time_in_millis(self):
        return int((self.ends - time.monotonic()) * 1000)
print(json.dumps(train_handler.handler(json.loads(sys.argv[2]), Context())))
"""


def backfill(home: Path, data: Path, symbol: str, now: str) -> None:
    from candlecast.settings import Settings
    from feature_pipeline.backfill import run as backfill_run
    from feature_pipeline.source import open_source
    from feature_store import open_store

    settings = Settings(home=home, symbols=(symbol,), now=datetime.fromisoformat(now))
    source = open_source(settings, f"csv:{data / f'{symbol}_1d.csv'}")
    backfill_run(settings, open_store(settings), source, [symbol], "1d", progress=False)


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a process: its wall seconds, its peak RSS in MiB and its stdout (fails loudly)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command[:4])} failed:\n{err.read()[-3000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read()  # ru_maxrss is in KiB on Linux


def run_config(name: str, data: Path, symbol: str) -> list[dict[str, object]]:
    """Train, then retrain, one series with the `name` configuration in a fresh home."""
    with tempfile.TemporaryDirectory(prefix="candlecast-bench-retrain-") as folder:
        home = Path(folder)
        env = dict(os.environ, CANDLECAST_HOME=str(home), TF_CPP_MIN_LOG_LEVEL="2")
        backfill(home, data, symbol, TRAINED_AT)
        train = [sys.executable, "-m", "candlecast_cli", "train", "--symbols", symbol, "--json"]
        train += ["--quick"] if name == "quick" else []
        seconds, rss, out = measured(train, {**env, "CANDLECAST_NOW": TRAINED_AT})
        before = json.loads(out)["series"][0]["served"]
        print(f"{name}: first training {seconds:.1f} s", file=sys.stderr)
        backfill(home, data, symbol, NOW)
        event = {"symbols": [symbol], "max_age": "30d", "allow_ephemeral_registry": True}
        handler = [sys.executable, "-c", HANDLER, str(REPO / "lambda"), json.dumps(event)]
        handler.append(str(DEFAULT_TRAIN_TIMEOUT_S))
        r_seconds, r_rss, r_out = measured(handler, {**env, "CANDLECAST_NOW": NOW})
        series = json.loads(r_out.strip().splitlines()[-1])["series"][0]
        if series["action"] != "refit" or not series["ok"]:
            raise SystemExit(f"{name}: the retrain did not refit: {series}")
        print(f"{name}: retrain {r_seconds:.1f} s", file=sys.stderr)
        first = f"{before['name']}:{before['version']}"
        after = f"{series['new']['name']}:{series['new']['version']}"
        return [
            {"run": f"{name} train", "seconds": seconds, "rss": rss, "served": first},
            {"run": f"{name} retrain", "seconds": r_seconds, "rss": r_rss, "served": after},
        ]


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        f"{'process':<18}{'seconds':>9}{'limit':>7}{'ok':>5}{'peak MiB':>10}{'limit':>7}{'ok':>5}"
        f"  served after"
    ]
    for row in rows:
        time_ok = "yes" if row["seconds"] <= LIMIT_S else "NO"
        memory_ok = "yes" if row["rss"] <= LIMIT_MIB else "NO"
        lines.append(
            f"{row['run']:<18}{row['seconds']:>9.1f}{LIMIT_S:>7.0f}{time_ok:>5}"
            f"{row['rss']:>10.0f}{LIMIT_MIB:>7}{memory_ok:>5}  {row['served']}"
        )
    lines.append(
        "train: `candlecast train` on candles through 2025-12-01 (not the target, shown for "
        "comparison); retrain: the Lambda handler refitting it 35 days later"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("quick", "default"), help="run just one config")
    parser.add_argument("--symbol", default="BTCUSDT", help="the series (default BTCUSDT)")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared/data/binance")),
        help="folder holding SYMBOL_1d.csv",
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    names = [args.only] if args.only else ["quick", "default"]
    rows = [row for name in names for row in run_config(name, args.data, args.symbol)]
    print(
        f"load average before the runs: {load:.1f}, after: {os.getloadavg()[0]:.1f} "
        f"({os.cpu_count()} cores; a 10,240 MB Lambda has 6 vCPUs)"
    )
    print(table(rows))
    retrains = [r for r in rows if r["run"].endswith("retrain")]
    return 0 if all(r["seconds"] <= LIMIT_S and r["rss"] <= LIMIT_MIB for r in retrains) else 1


if __name__ == "__main__":
    sys.exit(main())
