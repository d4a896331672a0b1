"""The serving extra in a clean folder: `pip install --target DIR .[app]` forecasts and serves a
registry the train extra filled, and TensorFlow is not there to import."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def isolated() -> ModuleType:
    """benchmarks/isolated.py: the clean-folder install and the process that sees only it."""
    spec = importlib.util.spec_from_file_location("isolated", REPO / "benchmarks" / "isolated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def serving(isolated: ModuleType) -> Iterator[Path]:
    """The package with its serving extra only, installed into a clean folder."""
    work = Path(tempfile.mkdtemp(prefix="candlecast-serving-test-"))
    try:
        yield isolated.install_target(work / "serving", "app")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(isolated: ModuleType, root: Path, home: Path, code: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CANDLECAST_HOME": str(home),
        "CANDLECAST_NOW": "2026-01-06T12:00:00Z",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    return json.loads(isolated.isolated(root, code, env).strip().splitlines()[-1])


def test_the_serving_extra_has_no_tensorflow(isolated: ModuleType, serving: Path) -> None:
    """It installs onnxruntime and Gradio but neither TensorFlow nor Keras."""
    code = (
        "import importlib.util, json\n"
        "names = ('tensorflow', 'keras', 'onnxruntime', 'gradio')\n"
        "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))\n"
    )
    assert run(isolated, serving, Path("/nonexistent"), code) == {
        "tensorflow": False,
        "keras": False,
        "onnxruntime": True,
        "gradio": True,
    }


def test_candlecast_forecast_runs_a_network_from_the_serving_extra(
    isolated: ModuleType, serving: Path, mlp_home: Path
) -> None:
    """It runs `candlecast forecast --json` with the registered MLP from the clean folder."""
    code = (
        "import contextlib, io, json\nfrom candlecast_cli.app import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = main(['forecast', '--days', '7', '--model', 'btcusdt-1d-mlp', '--json'])\n"
        "print(json.dumps({'code': code, 'forecast': json.loads(out.getvalue())}))\n"
    )
    seen = run(isolated, serving, mlp_home, code)
    assert seen["code"] == 0
    assert seen["forecast"]["model"]["kind"] == "mlp" and len(seen["forecast"]["forecast"]) == 7


def test_the_app_serves_from_the_serving_extra(
    isolated: ModuleType, serving: Path, mlp_home: Path
) -> None:
    """It starts the Gradio app from the clean folder and answers /forecast with the MLP."""
    code = (
        "import json\nfrom candlecast.settings import Settings\n"
        "from inference_app.app import launch\n"
        "demo, url = launch(Settings.from_env(), host='127.0.0.1')  # Gradio finds a free port\n"
        "from gradio_client import Client\n"
        "answer = Client(url, verbose=False).predict(\n"
        "    'BTCUSDT', 5, 'btcusdt-1d-mlp', api_name='/forecast')\n"
        "demo.close()\n"
        "print(json.dumps({'kind': answer['model']['kind'], 'days': len(answer['forecast'])}))\n"
    )
    assert run(isolated, serving, mlp_home, code) == {"kind": "mlp", "days": 5}
