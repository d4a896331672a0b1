"""Forecast app benchmark: server-side latency, gradio_client round trips and cold start.

Run: .venv/bin/python benchmarks/app.py [--home PATH]  (prints a table; exits 1 on a missed target)
Without --home it backfills BTCUSDT 1d from the CSVs into a temporary home and trains a tiny MLP
(the served model is a real network bundle: the MLP is forced with --model). With --home it
measures an existing store + registry (e.g. the demo's .candlecast) and its best model.
1. `Forecaster.forecast(symbol, 30)` with a warm model, p50 / p95 over 200 calls (p95 <= 50 ms)
2. `gradio_client` call of /forecast against a local server, p50 / p95 over 50 calls, then over
   200 calls from 20 clients calling at once (reported)
3. cold start: a fresh `python -m inference_app.app` process until its first /forecast answer
   arrives through gradio_client (<= 5 s on CPU; networks run with onnxruntime, no TensorFlow)
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices (training)
DATA = Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared" / "data" / "binance"))
sys.path.insert(0, str(REPO))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from candlecast.settings import Settings  # noqa: E402

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
SYMBOL = "BTCUSDT"
DAYS = 30
SERVER_CALLS = 200
CLIENT_CALLS = 50
CROWD, CROWD_CALLS = 20, 200  # 20 clients calling at once, 10 calls each
TARGET_P95_MS = 50.0
TARGET_COLD_S = 5.0


def build_home(home: Path) -> str:
    """Backfill BTCUSDT 1d from the CSVs and train a tiny MLP; the model to serve."""
    from feature_pipeline import backfill
    from feature_pipeline.source import open_source
    from feature_store import open_registry, open_store
    from training_pipeline.config import QUICK
    from training_pipeline.run import run

    settings = Settings(home=home, now=NOW, symbols=(SYMBOL,))
    store = open_store(settings)
    backfill.run(
        settings, store, open_source(settings, f"csv:{DATA}"), [SYMBOL], "1d", progress=False
    )
    config = QUICK.with_overrides(
        models=("mlp",), windows=(30,), epochs=2, val_size=120, selection_size=120, test_size=120
    )
    run(settings, store, open_registry(settings), symbols=(SYMBOL,), config=config, progress=False)
    return f"{SYMBOL.lower()}-1d-mlp"


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def server_latency(settings: Settings, model: str) -> tuple[float, float]:
    from inference_app.forecaster import Forecaster

    forecaster = Forecaster(settings)
    for _ in range(5):  # load the model, trace the tf.function, warm the store's caches
        forecaster.forecast(SYMBOL, DAYS, model)
    times = []
    for _ in range(SERVER_CALLS):
        start = time.perf_counter()
        forecaster.forecast(SYMBOL, DAYS, model)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def client_latency(settings: Settings, model: str) -> tuple[tuple[float, float], ...]:
    """p50 / p95 of one client's calls, then of CROWD clients calling at once."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from inference_app.app import serve
    from inference_app.ui import build_app

    demo = build_app(settings)
    try:
        url = serve(demo, host="127.0.0.1", port=free_port())
        client = Client(url, verbose=False)
        for _ in range(3):
            client.predict(SYMBOL, DAYS, model, api_name="/forecast")
        alone = timed_calls(client, model, CLIENT_CALLS)
        clients = [Client(url, verbose=False) for _ in range(CROWD)]
        with ThreadPoolExecutor(CROWD) as pool:
            crowd = pool.map(lambda c: timed_calls(c, model, CROWD_CALLS // CROWD), clients)
            together = [t for times in crowd for t in times]
    finally:
        demo.close()
    return percentiles(alone), percentiles(together)


def timed_calls(client: Any, model: str, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        client.predict(SYMBOL, DAYS, model, api_name="/forecast")
        times.append(time.perf_counter() - start)
    return times


def cold_start(home: Path, model: str) -> float:
    """Seconds from spawning the app process to its first forecast answered over HTTP."""
    from gradio_client import Client

    port = free_port()
    env = dict(
        os.environ,
        CANDLECAST_HOME=str(home),
        CANDLECAST_NOW=NOW.isoformat(),
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        CANDLECAST_LOG_LEVEL="WARNING",
    )
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "inference_app.app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, deadline=start + 120)
        Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            SYMBOL, DAYS, model, api_name="/forecast"
        )
        return time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for_port(port: int, process: subprocess.Popen, deadline: float) -> None:
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            sys.exit(f"the app process exited with {process.returncode} before serving")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    sys.exit("the app did not start serving within 120 s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing CANDLECAST_HOME to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="candlecast-bench-app-") as scratch:
        if args.home:
            home, model = args.home.resolve(), "best"
        else:
            home = Path(scratch)
            print("building a store and a tiny MLP (not timed) ...", flush=True)
            model = build_home(home)
        settings = Settings(home=home, now=NOW, symbols=(SYMBOL,))
        cold = cold_start(home, model)
        p50, p95 = server_latency(settings, model)
        (c50, c95), (g50, g95) = client_latency(settings, model)
    rows = [
        (f"server forecast {DAYS} d p50 (ms)", f"{p50:.1f}", "", True),
        (
            f"server forecast {DAYS} d p95 (ms)",
            f"{p95:.1f}",
            f"<= {TARGET_P95_MS:.0f}",
            p95 <= TARGET_P95_MS,
        ),
        ("gradio_client /forecast p50 (ms)", f"{c50:.1f}", "", True),
        ("gradio_client /forecast p95 (ms)", f"{c95:.1f}", "", True),
        (f"{CROWD} clients at once, p50 (ms)", f"{g50:.1f}", "", True),
        (f"{CROWD} clients at once, p95 (ms)", f"{g95:.1f}", "", True),
        (
            "cold start to first forecast (s)",
            f"{cold:.2f}",
            f"<= {TARGET_COLD_S:.0f}",
            cold <= TARGET_COLD_S,
        ),
    ]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nforecast app benchmark ({model} on {SYMBOL} 1d; load average {load})")
    print(f"{'measure':<36} {'value':>9}  {'target':<8} ok")
    for name, value, target, ok in rows:
        print(f"{name:<36} {value:>9}  {target:<8} {'yes' if ok else 'NO'}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
