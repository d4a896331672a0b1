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
4. concurrent visitors as the Space serves them: the app in its own process (`serve_forever`, as
   the built Space's app.py runs it), 20 gradio_clients in this process calling /forecast at once
   (200 calls), with the store and registry on local disk and on moto's S3 (reads wait on I/O),
   for each concurrency limit in CROWD_LIMITS; p50 / p95 and calls per second (reported).
   `--crowd-only` measures only this.
"""

from __future__ import annotations

import argparse
import contextlib
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
CROWD_LIMITS = (1, 2, 4)  # concurrency limits of the served app measured under the crowd
BUCKET = "candlecast-bench"


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


def crowd_table(home: Path, model: str, rounds: int) -> str:
    """Part 4 as a table: each store and concurrency limit, the app in its own process; the
    limits alternate within each round, so that a change in the machine's load hits them all."""
    lines = [
        f"\n{CROWD} clients at once against the app in its own process ({CROWD_CALLS} calls of "
        f"/forecast {DAYS} d, {model}; 1 client: {CLIENT_CALLS} calls one after another)",
        f"{'store':<8} {'round':>5} {'limit':>5} {'1 client p50':>13} {'crowd p50':>10} "
        f"{'crowd p95':>10} {'calls/s':>8}  load average (1, 5, 15 min)",
    ]
    print(lines[-1], flush=True)
    with moto_store(home) as s3_env:
        for store, env in (("local", {}), ("moto S3", s3_env)):
            for round_ in range(1, rounds + 1):
                for limit in CROWD_LIMITS:
                    with app_process(home, {**env, "BENCH_LIMIT": str(limit)}) as url:
                        alone, g50, g95, rate = crowd_calls(url, model)
                    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                    lines.append(
                        f"{store:<8} {round_:>5} {limit:>5} {alone:>10.0f} ms {g50 / 1000:>8.2f} s "
                        f"{g95 / 1000:>8.2f} s {rate:>8.1f}  {load}"
                    )
                    print(lines[-1], flush=True)
    return "\n".join(lines)


def crowd_calls(url: str, model: str) -> tuple[float, float, float, float]:
    """One client's p50 (ms), then CROWD clients at once: p50, p95 (ms) and calls per second."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    client = Client(url, verbose=False)
    for _ in range(3):  # the model and the store's first reads
        client.predict(SYMBOL, DAYS, model, api_name="/forecast")
    alone, _ = percentiles(timed_calls(client, model, CLIENT_CALLS))
    clients = [Client(url, verbose=False) for _ in range(CROWD)]
    start = time.perf_counter()
    with ThreadPoolExecutor(CROWD) as pool:
        crowd = pool.map(lambda c: timed_calls(c, model, CROWD_CALLS // CROWD), clients)
        together = [t for times in crowd for t in times]
    rate = len(together) / (time.perf_counter() - start)
    return (alone, *percentiles(together), rate)


# The served app, as the built Space's app.py runs it, with the limit under test.
SERVER = (
    "import os\nfrom inference_app.app import serve_forever\n"
    "serve_forever(concurrency_limit=int(os.environ.pop('BENCH_LIMIT')))\n"
)


@contextlib.contextmanager
def app_process(home: Path, env: dict[str, str]) -> Any:
    """The app served by its own process on a free port; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        cwd=REPO,
        env=dict(
            os.environ,
            CANDLECAST_HOME=str(home),
            CANDLECAST_NOW=NOW.isoformat(),
            CANDLECAST_SYMBOLS=SYMBOL,
            GRADIO_SERVER_NAME="127.0.0.1",
            GRADIO_SERVER_PORT=str(port),
            **env,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, deadline=time.perf_counter() + 120)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def moto_store(home: Path) -> Any:
    """moto's S3 server holding a copy of the home's store; the app's environment for it."""
    import boto3
    import requests

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.perf_counter() + 60
        while True:
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                if time.perf_counter() > deadline or server.poll() is not None:
                    sys.exit("moto_server did not start")
                time.sleep(0.2)
        env = {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket=BUCKET)
        store = home / "store"
        for path in (p for p in store.rglob("*") if p.is_file()):  # Delta logs hold relative paths
            s3.upload_file(str(path), BUCKET, f"store/{path.relative_to(store).as_posix()}")
        copy_registry(home, s3)
        yield {
            **env,
            "CANDLECAST_STORE_URI": f"s3://{BUCKET}/store",
            "CANDLECAST_REGISTRY_URI": f"s3://{BUCKET}/registry",
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def copy_registry(home: Path, s3: Any) -> None:
    """Register the home's versions again, in order, in an S3 registry beside the store."""
    import shutil

    from feature_store.local_registry import LocalModelRegistry
    from feature_store.s3_registry import S3ModelRegistry
    from feature_store.versions import VERSION_FILE

    target = S3ModelRegistry(f"s3://{BUCKET}/registry", home / "cache" / "bench-copy", s3)
    versions = sorted(
        LocalModelRegistry(home / "registry").list(), key=lambda v: (v.name, v.version)
    )
    with tempfile.TemporaryDirectory(prefix="candlecast-bench-bundle-") as scratch:
        for version in versions:
            bundle = Path(scratch) / f"{version.name}-{version.version}"
            shutil.copytree(version.path, bundle, ignore=shutil.ignore_patterns(VERSION_FILE))
            target.register(version.name, bundle, version.metrics, version.metadata)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing CANDLECAST_HOME to measure")
    parser.add_argument("--crowd-only", action="store_true", help="measure only part 4")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of part 4 (default 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="candlecast-bench-app-") as scratch:
        if args.home:
            home, model = args.home.resolve(), "best"
        else:
            home = Path(scratch)
            print("building a store and a tiny MLP (not timed) ...", flush=True)
            model = build_home(home)
        crowds = crowd_table(home, model, args.rounds)
        if args.crowd_only:
            return 0
        settings = Settings(home=home, now=NOW, symbols=(SYMBOL,))
        cold = cold_start(home, model)
        p50, p95 = server_latency(settings, model)
        (c50, c95), (g50, g95) = client_latency(settings, model)
    print(crowds)
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
