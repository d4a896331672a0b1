"""The Lambda image without Docker: `.[lambda]` installed as Dockerfile.lambda does, isolated."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image() -> ModuleType:
    """It loads benchmarks/lambda_image.py, which builds and measures the task root."""
    spec = importlib.util.spec_from_file_location(
        "lambda_image", REPO / "benchmarks" / "lambda_image.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def task_root(image: ModuleType) -> Iterator[Path]:
    """It pip-installs .[lambda] into a clean folder, prunes it, adds handler.py (as /var/task)."""
    work = Path(tempfile.mkdtemp(prefix="candlecast-lambda-test-"))
    try:
        yield image.build_task_root(work / "task")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # about 500 MiB: not left for pytest to keep


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


def test_the_isolated_process_sees_no_other_packages(image: ModuleType, task_root: Path) -> None:
    """It proves the isolation: no site-packages on the path, no TensorFlow, Gradio or Keras."""
    code = (
        "import importlib.util, json\n"
        "names = ('tensorflow', 'gradio', 'keras', 'pytest', 'moto')\n"
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
