"""The Lambda image without Docker: `.[lambda]` installed as Dockerfile.lambda does, isolated."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def image() -> ModuleType:
    """It loads benchmarks/lambda_image.py, which builds and measures the task root."""
    return load("lambda_image", REPO / "benchmarks" / "lambda_image.py")


@pytest.fixture(scope="module")
def prune() -> ModuleType:
    """It loads candlecast_aws/prune.py, the pruning step the Dockerfile runs."""
    return load("lambda_prune", REPO / "candlecast_aws" / "prune.py")


@pytest.fixture(scope="module")
def task_root(image: ModuleType) -> Iterator[Path]:
    """It pip-installs .[lambda] into a clean folder, prunes it, adds handler.py (as /var/task)."""
    work = Path(tempfile.mkdtemp(prefix="candlecast-lambda-test-"))
    try:
        yield image.build_task_root(work / "task")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # about 420 MiB: not left for pytest to keep


def test_the_handler_runs_with_nothing_but_the_task_root_on_the_path(
    image: ModuleType, task_root: Path, binance_sim: str, tmp_path: Path
) -> None:
    """It backfills and then updates BTCUSDT from the simulator in a `python -I -S` process."""
    env = {
        "CANDLECAST_HOME": str(tmp_path),
        "CANDLECAST_NOW": "2026-01-06T12:00:00Z",
        "BINANCE_API_URL": binance_sim,
    }
    summary = image.run_handler(task_root, env, {"symbols": ["BTCUSDT"], "interval": "1d"})
    (btc,) = summary["symbols"]
    assert (btc["status"], btc["last_closed"]) == ("ok", "2026-01-05T00:00:00+00:00")
    again = image.run_handler(task_root, env, {"symbols": ["BTCUSDT"]})
    assert again["symbols"][0]["status"] == "up-to-date"


def test_the_handler_reaches_s3_and_secrets_manager_with_the_pruned_aws_sdk(
    image: ModuleType, task_root: Path, binance_sim: str, aws: str, tmp_path: Path
) -> None:
    """It updates an S3 store, archives raw klines and reads the key secret, as in production."""
    s3 = boto3.client("s3")
    for bucket in ("candlecast-store", "candlecast-raw"):
        s3.create_bucket(Bucket=bucket)
    boto3.client("secretsmanager").create_secret(Name="candlecast/hopsworks", SecretString="k")
    aws_env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    env = {
        **aws_env,
        "CANDLECAST_HOME": str(tmp_path),
        "CANDLECAST_STORE_URI": "s3://candlecast-store/store",
        "CANDLECAST_NOW": "2025-12-31T00:05:00Z",
        "BINANCE_API_URL": binance_sim,
    }
    image.run_handler(task_root, env, {"symbols": ["BTCUSDT"]})  # the backfill, to 2025-12-30
    env |= {
        "CANDLECAST_NOW": "2026-01-06T12:00:00Z",
        "CANDLECAST_RAW_BUCKET": "candlecast-raw",
        "HOPSWORKS_API_KEY_SECRET": "candlecast/hopsworks",
    }
    summary = image.run_handler(task_root, env, {"symbols": ["BTCUSDT"]})
    (btc,) = summary["symbols"]
    assert (btc["status"], btc["candles_added"]) == ("ok", 6)
    archived = s3.list_objects_v2(Bucket="candlecast-raw")["KeyCount"]
    assert archived == 6


def test_pruning_strips_libraries_and_keeps_only_the_aws_models_used(
    prune: ModuleType, task_root: Path
) -> None:
    """It leaves no symbol tables, no CLI-only packages and models for the used services only."""
    carrying = [p for p in prune.shared_libraries(task_root) if prune.has_symbol_table(p)]
    assert carrying == []
    models = {p.name for p in (task_root / "botocore" / "data").iterdir() if p.is_dir()}
    assert models == set(prune.AWS_SERVICES)
    assert not any((task_root / name).exists() for name in prune.CLI_ONLY)
    assert (task_root / "pyarrow" / "libarrow_python.so.2500").is_symlink()


def test_the_dockerfile_installs_and_prunes_as_the_proof_does() -> None:
    """It reads Dockerfile.lambda: the same sources, `.[lambda]` into one folder, prune.py on it."""
    stages = (REPO / "Dockerfile.lambda").read_text().split("\nFROM ")
    _header, install, prune_stage, final = stages
    copies = [line.split()[1:-1] for line in install.splitlines() if line.startswith("COPY ")]
    copied = [source.rstrip("/") for sources in copies for source in sources]
    sources = load("isolated", REPO / "benchmarks" / "isolated.py").SOURCES
    assert sorted(copied) == sorted(sources)
    assert "ARG EXTRAS=lambda\n" in install
    assert 'pip install --no-cache-dir --target /var/task ".[${EXTRAS}]"' in install
    assert "COPY --from=install /var/task /var/task" in prune_stage
    assert "python /tmp/prune.py /var/task" in prune_stage
    assert "COPY --from=prune /var/task ${LAMBDA_TASK_ROOT}" in final


def test_the_isolated_process_sees_no_other_packages(image: ModuleType, task_root: Path) -> None:
    """It proves the isolation: no site-packages on the path, no TensorFlow, Gradio, Keras or
    Binance simulator."""
    code = (
        "import importlib.util, json\n"
        "names = ('tensorflow', 'gradio', 'keras', 'pytest', 'moto', 'candlecast_sim')\n"
        "found = [n for n in names if importlib.util.find_spec(n)]\n"
        "print(json.dumps({'path': sys.path, 'found': found}))\n"
    )
    seen = json.loads(image.isolated(task_root, code))
    assert seen["found"] == []
    assert not any("site-packages" in entry for entry in seen["path"])
    assert not any((task_root / name).exists() for name in ("tensorflow", "gradio", "keras"))


def test_importing_the_handler_loads_no_heavy_module(image: ModuleType, task_root: Path) -> None:
    """It keeps the cold import light: pandas, pyarrow, deltalake, boto3 load on the first call."""
    code = (
        "import handler\n"
        "heavy = ('pandas', 'pyarrow', 'deltalake', 'duckdb', 'boto3', 'binance', 'numpy')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    assert image.isolated(task_root, code).strip() == "[]"


def test_the_lambda_folder_forecasts_a_network_without_tensorflow(
    image: ModuleType, task_root: Path, mlp_home: Path
) -> None:
    """It forecasts 30 days with a registered MLP (run from its ONNX file) in a process that
    sees only the task root, where TensorFlow cannot even be imported."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CANDLECAST_HOME": str(mlp_home),
        "CANDLECAST_NOW": "2026-01-06T12:00:00Z",
    }
    code = (
        "import importlib.util, json\n"
        "from candlecast.settings import Settings\n"
        "from inference_app.forecaster import Forecaster\n"
        "forecaster = Forecaster(Settings.from_env())\n"
        "result = forecaster.forecast('BTCUSDT', 30, 'btcusdt-1d-mlp')\n"
        "found = importlib.util.find_spec('tensorflow') is not None\n"
        "print(json.dumps({'kind': result.kind, 'days': len(result.points), 'tensorflow': found,"
        " 'loaded': 'tensorflow' in sys.modules}))\n"
    )
    seen = json.loads(image.isolated(task_root, code, env).splitlines()[-1])
    assert seen == {"kind": "mlp", "days": 30, "tensorflow": False, "loaded": False}
