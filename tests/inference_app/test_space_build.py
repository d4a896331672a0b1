"""`candlecast space build`: the folder it writes and what it refuses; the built Space installed
offline into a clean venv, booted with `python app.py` and serving /forecast from a store on
moto's S3; the app's read paths under concurrent visitors."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import boto3
import pytest
import yaml
from app_world import MLP, NOW, PERSISTENCE, backfill, free_port, tiny_config

from candlecast.settings import Settings
from candlecast_cli.app import main
from feature_store import open_registry, open_store
from feature_store.base import ModelVersion
from inference_app.serving import ModelLoader

REPO = Path(__file__).resolve().parents[2]
PACKAGES = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
SITE = Path("lib") / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def build(folder: Path, *args: str) -> int:
    return main(["space", "build", str(folder), *args])


def front_matter(readme: str) -> dict:
    _, matter, _ = readme.split("---\n", 2)
    return yaml.safe_load(matter)


def requirement_lines(folder: Path) -> list[str]:
    text = (folder / "requirements.txt").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_it_writes_a_space_for_the_embedded_store_on_s3(tmp_path: Path) -> None:
    """It writes app.py, README.md with the Space's front matter and each backend's settings,
    the package sources, and requirements.txt with their dependencies (core and the app
    extra, without Gradio, which the Space's sdk_version installs, and without TensorFlow)."""
    folder = tmp_path / "space"
    assert build(folder) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["app.py", "README.md", "requirements.txt", *PACKAGES]
    )
    assert (folder / "inference_app" / "app.py").read_bytes() == (
        REPO / "inference_app" / "app.py"
    ).read_bytes()
    assert not list(folder.rglob("__pycache__"))
    readme = (folder / "README.md").read_text()
    assert front_matter(readme) == {
        "title": "candlecast",
        "emoji": "📈",
        "colorFrom": "blue",
        "colorTo": "green",
        "sdk": "gradio",
        "sdk_version": metadata.version("gradio"),
        "python_version": "3.11",
        "app_file": "app.py",
        "pinned": False,
        "short_description": "Crypto price forecasts with 80% intervals from a feature store",
    }
    lines = requirement_lines(folder)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["app"]]
    assert lines == [line for line in dict.fromkeys(wanted) if not line.startswith("gradio")]
    assert not any(line.startswith(("tensorflow", "hopsworks", "gradio")) for line in lines)
    assert "serve_forever()" in (folder / "app.py").read_text()
    for name in (
        "CANDLECAST_STORE_URI",
        "CANDLECAST_REGISTRY_URI",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "HOPSWORKS_PROJECT",
        "HOPSWORKS_API_KEY",
        "Client(SPACE_ID)",
    ):
        assert f"`{name}`" in readme or name in readme, name
    for path in (folder / "app.py", folder / "README.md", folder / "requirements.txt"):
        assert "${" not in path.read_text(), path.name  # every template value was filled in


def test_the_hopsworks_backend_installs_the_hopsworks_extra(tmp_path: Path) -> None:
    """It adds the hopsworks extra's dependency for --backend hopsworks."""
    folder = tmp_path / "space"
    assert build(folder, "--backend", "hopsworks") == 0
    assert requirement_lines(folder)[-1] == "hopsworks[python]>=5.2.1,<6"
    assert "--backend hopsworks" in (folder / "README.md").read_text()


def test_a_folder_that_is_not_empty_needs_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It refuses a non-empty folder in one line and changes nothing; with --force it replaces
    its own files and package folders (a file left from an older build goes) and keeps the
    rest (a clone's .gitattributes)."""
    folder = tmp_path / "space"
    (folder / "inference_app").mkdir(parents=True)
    (folder / "inference_app" / "gone.py").write_text("old")
    (folder / ".gitattributes").write_text("*.bin filter=lfs\n")
    (folder / "app.py").write_text("old")
    capsys.readouterr()
    assert build(folder) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "--force" in error and error.count("\n") == 1
    assert (folder / "app.py").read_text() == "old"
    assert build(folder, "--force") == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [".gitattributes", "app.py", "README.md", "requirements.txt", *PACKAGES]
    )
    assert "serve_forever" in (folder / "app.py").read_text()
    assert not (folder / "inference_app" / "gone.py").exists()


def test_bad_options_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It exits 1 with one line naming the fix, and writes nothing."""
    folder = tmp_path / "space"
    assert build(folder, "--backend", "gcs") == 1
    error = capsys.readouterr().err
    assert "--backend 'gcs' is not known; use one of: s3, hopsworks" in error
    assert error.count("\n") == 1 and not folder.exists()


def test_a_file_is_not_a_folder(tmp_path: Path, capsys) -> None:
    """It refuses a path that is a file."""
    path = tmp_path / "space"
    path.write_text("")
    assert build(path) == 1
    assert "is a file" in capsys.readouterr().err


# -- the built Space in a clean venv ------------------------------------------------------------


@dataclass(frozen=True)
class BuiltSpace:
    folder: Path
    python: Path  # the clean venv's interpreter
    install_log: str


def dependency_view(target: Path) -> Path:
    """The development venv's packages (links) without candlecast, its finders and pip, so a
    clean venv sees the dependencies but not this checkout."""
    target.mkdir()
    for entry in (Path(sys.prefix) / SITE).iterdir():
        name = entry.name.lower()
        if name.endswith(".pth") or name.startswith(("candlecast", "_candlecast", "__editable__")):
            continue
        if name == "pip" or name.startswith("pip-"):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def built_space(tmp_path_factory: pytest.TempPathFactory) -> BuiltSpace:
    """`candlecast space build`, then a clean venv (the development venv's packages but not this
    checkout) in which `pip install --no-index -r requirements.txt` finds every requirement."""
    root = tmp_path_factory.mktemp("built-space")
    folder = root / "space"
    assert build(folder) == 0
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    (venv / SITE / "dependencies.pth").write_text(f"{dependency_view(root / 'deps')}\n")
    python = venv / "bin" / "python"
    env = {"PATH": os.environ.get("PATH", ""), "PIP_CONFIG_FILE": os.devnull}
    pip = [str(python), "-m", "pip", "install", "--no-index", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "-r", "requirements.txt"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return BuiltSpace(folder, python, done.stdout)


BUCKET = "candlecast-serverless"
STORE_URI, REGISTRY_URI = f"s3://{BUCKET}/store", f"s3://{BUCKET}/registry"


@pytest.fixture
def serverless(aws: str, binance_sim: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment of the daily Lambda and of training: store and registry on moto's S3,
    the Binance simulator as the exchange; their local home (caches only)."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    for key, value in {
        "CANDLECAST_HOME": str(tmp_path / "jobs"),
        "CANDLECAST_STORE_URI": STORE_URI,
        "CANDLECAST_REGISTRY_URI": REGISTRY_URI,
        "CANDLECAST_SYMBOLS": "BTCUSDT",
        "CANDLECAST_NOW": NOW.isoformat(),
        "BINANCE_API_URL": binance_sim,
    }.items():
        monkeypatch.setenv(key, value)
    return tmp_path / "jobs"


def lambda_handler():
    """lambda/handler.py, loaded by path as Lambda does (`lambda` is a keyword)."""
    spec = importlib.util.spec_from_file_location(
        "space_test_handler", REPO / "lambda" / "handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def space_env(port: int, home: Path) -> dict[str, str]:
    """The Space's variables and secrets for the S3 backend (the README's table, the endpoint
    pointing at moto), and what the Space itself sets."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "CANDLECAST_STORE_URI": STORE_URI,
        "CANDLECAST_REGISTRY_URI": REGISTRY_URI,
        "AWS_REGION": os.environ["AWS_REGION"],
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "CANDLECAST_SYMBOLS": "BTCUSDT",
        "CANDLECAST_NOW": NOW.isoformat(),  # the simulator's clock
        "CANDLECAST_HOME": str(home),  # the registry's download cache
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }


def boot(space: BuiltSpace, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python app.py` in the Space folder with the clean venv; returns once it listens."""
    port = int(env["GRADIO_SERVER_PORT"])
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(space.python), "app.py"], cwd=space.folder, env=env, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"app.py did not listen within 180 s:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_the_built_space_installs_offline_and_imports_from_its_folder(
    built_space: BuiltSpace,
) -> None:
    """Its requirements are all satisfied without an index, and `python` in the folder imports
    candlecast and the app from the folder's sources, not this checkout."""
    assert "Successfully installed" not in built_space.install_log
    assert "Requirement already satisfied: onnxruntime" in built_space.install_log
    code = (
        "import candlecast, inference_app.app, candlecast_cli.space\n"
        "print(inference_app.app.__file__)\n"
    )
    done = subprocess.run(
        [str(built_space.python), "-c", code],
        cwd=built_space.folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    where = Path(done.stdout.strip()).resolve()
    assert where == built_space.folder.resolve() / "inference_app" / "app.py", where


@pytest.mark.slow
def test_the_built_space_serves_what_the_serverless_jobs_wrote_to_s3(
    built_space: BuiltSpace, serverless: Path, data_dir: Path, tmp_path: Path
) -> None:
    """The serverless shape with no Hopsworks: a CSV backfill through 2025-12-30 and the daily
    Lambda's catch-up to 2026-01-05 (from the simulator) write the store on S3, a training run
    registers to the registry on S3, and `python app.py` from the built folder, in the clean
    venv with only the Space's settings, answers /forecast through gradio_client from both."""
    from gradio_client import Client

    from feature_store import served_version
    from training_pipeline.run import run

    settings = Settings.from_env()
    backfill(
        settings.with_overrides(now=datetime(2025, 12, 31, 12, tzinfo=UTC)), data_dir, ("BTCUSDT",)
    )
    (daily,) = lambda_handler().handler({"symbols": ["BTCUSDT"]}, None)["symbols"]
    assert (daily["status"], daily["candles_added"]) == ("ok", 6)
    run(
        settings,
        open_store(settings),
        open_registry(settings),
        symbols=("BTCUSDT",),
        interval="1d",
        config=tiny_config(),
        progress=False,
    )
    served = served_version(open_registry(settings), "BTCUSDT", "1d")
    assert not (serverless / "store").exists() and not (serverless / "registry").exists()

    port = free_port()
    process = boot(built_space, space_env(port, tmp_path / "space-home"), tmp_path / "app.log")
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        mlp = client.predict(symbol="BTCUSDT", days=7, model=MLP, api_name="/forecast")
        best = client.predict(symbol="BTCUSDT", api_name="/forecast")
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert (mlp["model"]["name"], mlp["model"]["kind"]) == (MLP, "mlp")
    assert [row["horizon"] for row in mlp["forecast"]] == list(range(1, 8))
    assert mlp["data_through"].startswith("2026-01-05") and mlp["stale"] is False
    assert (best["model"]["name"], best["model"]["version"]) == (served.name, served.version)
    assert best["model"]["role"] == "served" and len(best["forecast"]) == 7


# -- concurrent visitors ------------------------------------------------------------------------


def test_parallel_calls_answer_as_one_at_a_time(settings: Settings, forecaster) -> None:
    """It answers 24 /forecast calls from 8 clients at once, on an app serving 4 events in
    parallel, with exactly the forecasts the Forecaster gives one at a time."""
    from gradio_client import Client

    from inference_app.app import serve
    from inference_app.ui import build_app

    kinds = [("BTCUSDT", MLP), ("BTCUSDT", PERSISTENCE), ("BTCUSDT", "best"), ("ETHUSDT", "best")]
    requests = [(kinds[i % 4][0], 1 + i % 7, kinds[i % 4][1]) for i in range(24)]
    expected = [forecaster.forecast(*r).to_dict() for r in requests]
    demo = build_app(settings, concurrency_limit=4)
    try:
        url = serve(demo, host="127.0.0.1", port=free_port())
        clients = [Client(url, verbose=False) for _ in range(8)]

        def call(i: int) -> dict:
            symbol, days, model = requests[i]
            return clients[i % 8].predict(symbol, days, model, api_name="/forecast")

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(call, range(len(requests))))
    finally:
        demo.close()
    assert answers == expected


class SlowRegistry:
    """A registry whose listing of one symbol waits until released, as S3 may."""

    def __init__(self, versions: list[ModelVersion], slow_symbol: str) -> None:
        self.versions = versions
        self.slow_symbol = slow_symbol
        self.release = threading.Event()
        self.asked: list[str] = []

    def best(self, metric: str, *, direction: str, where: dict) -> ModelVersion:
        self.asked.append(where["symbol"])
        if where["symbol"] == self.slow_symbol:
            assert self.release.wait(10)
        return next(v for v in self.versions if v.metadata["symbol"] == where["symbol"])


def version(symbol: str) -> ModelVersion:
    metadata = {"symbol": symbol, "interval": "1d", "role": "served"}
    return ModelVersion(f"{symbol.lower()}-1d-mlp", 1, datetime.now(UTC), {}, metadata)


def test_a_slow_registry_answer_holds_up_only_that_question() -> None:
    """It answers another series while one series' registry question is in flight, and asks
    the slow question once for the threads waiting on it."""
    registry = SlowRegistry([version("BTCUSDT"), version("ETHUSDT")], "BTCUSDT")
    loader = ModelLoader(registry, reload_every=timedelta(minutes=3), loader=lambda path: None)
    with ThreadPoolExecutor(3) as pool:
        slow = [pool.submit(loader.best_version, "BTCUSDT", "1d") for _ in range(2)]
        time.sleep(0.2)
        fast = pool.submit(loader.best_version, "ETHUSDT", "1d")
        assert fast.result(timeout=5).name == "ethusdt-1d-mlp"
        assert not any(f.done() for f in slow)
        registry.release.set()
        assert {f.result(timeout=5).name for f in slow} == {"btcusdt-1d-mlp"}
    assert sorted(registry.asked) == ["BTCUSDT", "ETHUSDT"]
