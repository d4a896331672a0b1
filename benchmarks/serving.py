"""Serving without TensorFlow: forecasts as new processes, a refused one, and what serving installs.

Run: .venv/bin/python benchmarks/serving.py [--skip-sizes]  (prints a table; exits 1 on a miss)
1. a home with BTCUSDT 1d from the CSV and a quick training run (a 2-epoch MLP among the
   candidates, registered with its ONNX file; the served version is what the gate chose)
2. `candlecast forecast --days 30` as a new process, warm disk, median of 5: the served model and
   the MLP (its network runs with onnxruntime) (<= 3 s each)
3. a refused forecast (stale data, the clock three days on) as a new process, median of 5 (<= 2 s)
4. which frameworks those processes imported (none of TensorFlow / Keras; no onnxruntime for the
   refusal)
5. installed size of `pip install --target DIR .[app]`, the serving extra (<= 350 MiB, with
   TensorFlow not importable there), and of `.[train]` (reported)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices (training)
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

from isolated import folder_mib, install_target, isolated  # noqa: E402

DATA = Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared" / "data" / "binance"))
NOW = "2026-01-06T12:00:00Z"
STALE_NOW = "2026-01-09T12:00:00Z"
MLP = "btcusdt-1d-mlp"
RUNS = 5
TARGETS = {"forecast": 3.0, "refused": 2.0, "serving MiB": 350.0}
FRAMEWORKS = ("tensorflow", "keras", "onnxruntime")
CANDLECAST = Path(sys.executable).with_name("candlecast")


def build_home(home: Path) -> None:
    """BTCUSDT 1d backfilled from the CSV, and a quick training run with a tiny MLP."""
    from candlecast.settings import Settings, parse_time
    from feature_pipeline import backfill
    from feature_pipeline.source import open_source
    from feature_store import open_registry, open_store
    from training_pipeline.config import QUICK
    from training_pipeline.run import run

    settings = Settings(home=home, now=parse_time(NOW), symbols=("BTCUSDT",))
    store = open_store(settings)
    source = open_source(settings, f"csv:{DATA / 'BTCUSDT_1d.csv'}")
    backfill.run(settings, store, source, ["BTCUSDT"], "1d", progress=False)
    config = QUICK.with_overrides(models=("mlp",), epochs=2)
    run(settings, store, open_registry(settings), config=config, progress=False)


def env_for(home: Path, now: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CANDLECAST_")}
    return {**clean, "CANDLECAST_HOME": str(home), "CANDLECAST_NOW": now}


def process_seconds(args: list[str], env: dict[str, str]) -> float:
    """Median wall time of `candlecast ARGS` as a new process (its exit code is not judged)."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([str(CANDLECAST), *args], env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def frameworks_loaded(args: list[str], env: dict[str, str]) -> list[str]:
    """The frameworks a `candlecast ARGS` run imported, asked in the same process at its end."""
    code = (
        "import json, sys\nfrom candlecast_cli.app import main\n"
        f"code = main({args!r})\n"
        f"print('LOADED ' + json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED "))
    return json.loads(line.removeprefix("LOADED "))


def sizes(work: Path) -> dict[str, float | bool]:
    """MiB of the serving and the training install, and whether TensorFlow imports in the first."""
    serving = install_target(work / "serving", "app")
    probe = "import importlib.util\nprint(importlib.util.find_spec('tensorflow'))"
    found = isolated(serving, probe)
    training = install_target(work / "train", "train")
    return {
        "serving MiB": folder_mib(serving),
        "train MiB": folder_mib(training),
        "tensorflow in serving": found.strip() != "None",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-sizes", action="store_true", help="skip the two pip installs")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="candlecast-serving-") as folder:
        home = Path(folder) / "home"
        build_home(home)
        fresh, stale = env_for(home, NOW), env_for(home, STALE_NOW)
        forecast = ["forecast", "--days", "30"]
        rows = [
            ("forecast --days 30, served model (s)", process_seconds(forecast, fresh), "forecast"),
            (
                "forecast --days 30 --model MLP (s)",
                process_seconds([*forecast, "--model", MLP], fresh),
                "forecast",
            ),
            ("refused forecast, stale data (s)", process_seconds(forecast, stale), "refused"),
        ]
        loaded = {
            "forecast, MLP": frameworks_loaded([*forecast, "--model", MLP], fresh),
            "refused": frameworks_loaded(forecast, stale),
        }
        measured = {} if args.skip_sizes else sizes(Path(folder))
    print(f"serving benchmark (load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)")
    print(f"{'measure':<42}{'value':>9}  {'target':<9}ok")
    ok = True
    for name, value, target in rows:
        hit = value <= TARGETS[target]
        ok &= hit
        print(f"{name:<42}{value:>9.2f}  {'<= ' + str(TARGETS[target]):<9}{'yes' if hit else 'NO'}")
    for name, frameworks in loaded.items():
        allowed = {"onnxruntime"} if name.startswith("forecast") else set()
        hit = set(frameworks) <= allowed
        ok &= hit
        print(f"{'imported by ' + name:<42}{','.join(frameworks) or '-':>9}  {'':<9}"
              f"{'yes' if hit else 'NO'}")  # fmt: skip
    if measured:
        hit = measured["serving MiB"] <= TARGETS["serving MiB"]
        ok &= hit and not measured["tensorflow in serving"]
        print(f"{'installed .[app] (MiB)':<42}{measured['serving MiB']:>9.0f}  {'<= 350':<9}"
              f"{'yes' if hit else 'NO'}")  # fmt: skip
        print(f"{'tensorflow importable in .[app]':<42}{str(measured['tensorflow in serving']):>9}")
        print(f"{'installed .[train] (MiB)':<42}{measured['train MiB']:>9.0f}  {'info':<9}")
    print(f"(measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
