"""Serving never imports TensorFlow: a network's forecast, the CLI's refusals, the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from app_world import MLP, AppWorld

FRAMEWORKS = ("tensorflow", "keras", "onnxruntime")


def loaded_after(world: AppWorld, code: str) -> dict:
    """Run `code` in a new process over the world's store; what it printed as JSON at its end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDLECAST_")}
    env |= {"CANDLECAST_HOME": str(world.home), "CANDLECAST_NOW": "2026-01-06T12:00:00Z"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(*values: str) -> str:
    names = ", ".join(values)
    return (
        f"import json, sys\nprint(json.dumps({{'loaded': [m for m in {FRAMEWORKS!r} "
        f"if m in sys.modules], {names}}}))\n"
    )


def test_a_network_forecast_runs_on_onnxruntime_alone(world: AppWorld) -> None:
    """It forecasts 30 days with the MLP through the Forecaster without importing TensorFlow."""
    code = (
        "from candlecast.settings import Settings\n"
        "from inference_app.forecaster import Forecaster\n"
        f"result = Forecaster(Settings.from_env()).forecast('BTCUSDT', 30, {MLP!r})\n"
        + report("'kind': result.kind", "'days': len(result.points)")
    )
    seen = loaded_after(world, code)
    assert (seen["kind"], seen["days"]) == ("mlp", 30)
    assert seen["loaded"] == ["onnxruntime"]


def test_refusals_answer_before_any_model_runtime_loads(world: AppWorld) -> None:
    """It refuses bad days, an unknown symbol and stale data without loading a model runtime."""
    code = (
        "import contextlib, io, os\nfrom candlecast_cli.app import main\n"
        f"calls = [['forecast', '--days', '31', '--model', {MLP!r}],\n"
        "         ['forecast', '--symbol', 'DOGEUSDT']]\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    codes = [main(args) for args in calls]\n"
        "    os.environ['CANDLECAST_NOW'] = '2026-01-09T12:00:00Z'  # three days on: stale\n"
        f"    codes.append(main(['forecast', '--model', {MLP!r}]))\n" + report("'codes': codes")
    )
    assert loaded_after(world, code) == {"loaded": [], "codes": [1, 1, 1]}


def test_the_app_serves_a_network_forecast_without_tensorflow(world: AppWorld) -> None:
    """It starts the app, answers /forecast with the MLP through gradio_client, no TensorFlow."""
    code = (
        "import os\nos.environ['HF_HUB_DISABLE_TELEMETRY'] = '1'\n"
        "os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'\n"
        "from candlecast.settings import Settings\nfrom inference_app.app import launch\n"
        "demo, url = launch(Settings.from_env(), host='127.0.0.1')  # Gradio finds a free port\n"
        "from gradio_client import Client\n"
        "client = Client(url, verbose=False)\n"
        f"answer = client.predict('BTCUSDT', 7, {MLP!r}, api_name='/forecast')\n"
        "demo.close()\n"
        "import threading  # let the warm-up thread end: exiting inside onnxruntime aborts\n"
        "[t.join() for t in threading.enumerate() if t.name == 'warm-up']\n"
        + report("'kind': answer['model']['kind']")
    )
    seen = loaded_after(world, code)
    assert seen["kind"] == "mlp"
    assert "tensorflow" not in seen["loaded"] and "keras" not in seen["loaded"]
