"""The Colab notebook installs candlecast from REPO_URL and trains end to end (offline, CPU, tiny).

The notebook runs in a fresh virtual environment under tmp_path whose only candlecast is the one its
install cell puts there with pip, from a `git+file://` URL: the path a Colab user takes, offline.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "training_pipeline" / "train_colab.ipynb"
KERNEL = "candlecast-notebook-test"
SECRET = "not-a-real-key-7f3a9c"  # a secret's value, which must never appear in an output
# pip offline: no index, and the build backend from the environment (an isolated build would
# download setuptools). PIP_NO_BUILD_ISOLATION=0 *disables* isolation (pip reads it inverted).
OFFLINE_PIP = {
    "PIP_NO_INDEX": "1",
    "PIP_NO_BUILD_ISOLATION": "0",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}
TINY = {
    "SYMBOL": "BTCUSDT",
    "INTERVAL": "1d",
    "MODELS": "mlp",
    "QUICK": True,
    "MAX_TRIALS": 1,
    "EPOCHS": 2,
    "SOURCE": "binance",
    "HOME": "candlecast-home",
    "MIXED_PRECISION": False,
    "CONFIG_OVERRIDES": {"windows": (5,), "val_size": 120, "selection_size": 120, "test_size": 120},
}
USERDATA = '''"""A stand-in for Colab's secrets API (google.colab.userdata) in the notebook test."""


class SecretNotFoundError(Exception):
    pass


class NotebookAccessError(Exception):
    pass


SECRETS = {secrets!r}
DENIED = {denied!r}


def get(key):
    if key in DENIED:
        raise NotebookAccessError(f"Notebook does not have access to secret {{key}}")
    if key not in SECRETS:
        raise SecretNotFoundError(f"Secret {{key}} does not exist.")
    return SECRETS[key]
'''


@pytest.mark.slow
def test_notebook_installs_from_git_and_trains_on_colab(
    binance_sim: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It installs candlecast from REPO_URL as on Colab, takes the Binance host and registry from
    Colab secrets and the store from the environment, then backfills, trains, registers and
    forecasts, printing no secret value and leaving the checkout's editable install alone."""
    before = editable_install()
    secrets = {
        "BINANCE_API_URL": binance_sim,
        "CANDLECAST_REGISTRY_URI": str(tmp_path / "models"),
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }
    env = {
        "PYTHONPATH": str(fake_colab(tmp_path / "colab", secrets, denied={"HOPSWORKS_API_KEY"})),
        "CANDLECAST_STORE_URI": str(tmp_path / "features"),
        "CANDLECAST_NOW": "2026-01-06T12:00:00Z",  # the simulator's clock
    }
    kernel(tmp_path, fresh_venv(tmp_path / "venv"), env, monkeypatch)
    repo_url = f"git+file://{committed_copy(tmp_path / 'repo')}"
    notebook = with_parameters(REPO_URL=repo_url, **TINY)
    execute(notebook, tmp_path / "run")

    text = outputs(notebook)
    used = "Colab secrets used: CANDLECAST_REGISTRY_URI, BINANCE_API_URL, AWS_SECRET_ACCESS_KEY"
    assert used in text
    assert SECRET not in text
    installed = re.search(r"candlecast 0\.1\.0 from (\S+) on Colab", text)
    assert installed, "the install cell names the candlecast it imported"
    assert Path(installed[1]).is_relative_to(tmp_path / "venv")
    assert f"store: {tmp_path / 'features'}\nregistry: {tmp_path / 'models'}" in text
    assert f"candles from binance ({binance_sim})" in text
    assert "served: btcusdt-1d-" in text and "the selection period" in text
    assert "walk-forward over 120 origins of the test period" in text
    assert "median_close" in text
    assert (tmp_path / "models" / "btcusdt-1d-mlp" / "1" / "model.keras").exists()
    home = tmp_path / "run" / "candlecast-home"
    assert not (home / "registry").exists() and not (home / "store").exists()
    assert any((tmp_path / "features").iterdir())
    assert editable_install() == before


@pytest.mark.slow
def test_notebook_without_repo_url_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It stops at the install cell with one plain line when candlecast is not installed and
    REPO_URL is unset."""
    kernel(tmp_path, fresh_venv(tmp_path / "venv"), {}, monkeypatch)
    notebook = with_parameters(REPO_URL="", **TINY)
    with pytest.raises(CellExecutionError):
        execute(notebook, tmp_path / "run")

    cells = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [
        (i, out) for i, c in enumerate(cells) for out in c.outputs if out.output_type == "error"
    ]
    assert len(errors) == 1
    index, error = errors[0]
    assert "REPO_URL" in "".join(cells[index].source) and "pip" in "".join(cells[index].source)
    assert error.traceback == [
        "SetupError: set REPO_URL (parameters cell) to your candlecast repository's git URL "
        "and run again"
    ]


def test_colab_install_keeps_the_train_extra_but_tensorflow() -> None:
    """It installs on Colab what the `train` extra lists, except tensorflow-cpu."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    train = pyproject["project"]["optional-dependencies"]["train"]
    (install,) = [c for c in read_notebook().cells if "TRAIN_EXTRA_BUT_TENSORFLOW" in c.source]
    listed = next(
        ast.literal_eval(node.value)
        for node in ast.parse(install.source).body
        if isinstance(node, ast.Assign) and node.targets[0].id == "TRAIN_EXTRA_BUT_TENSORFLOW"
    )
    assert listed == [r for r in train if not r.startswith("tensorflow-cpu")]


def read_notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def with_parameters(**values: object) -> nbformat.NotebookNode:
    """The notebook with its parameters cell replaced by `values`."""
    notebook = read_notebook()
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1, "the notebook needs exactly one cell tagged 'parameters'"
    parameters[0].source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    return notebook


def execute(notebook: nbformat.NotebookNode, cwd: Path) -> None:
    cwd.mkdir(exist_ok=True)
    resources = {"metadata": {"path": str(cwd)}}  # not the checkout: `import candlecast` would work
    NotebookClient(notebook, timeout=600, kernel_name=KERNEL, resources=resources).execute()


def outputs(notebook: nbformat.NotebookNode) -> str:
    """Everything the code cells printed or displayed, errors included."""
    return "".join(
        out.get("text", "")
        + str(out.get("data", {}).get("text/plain", ""))
        + "\n".join(out.get("traceback", []))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def fresh_venv(root: Path) -> Path:
    """A virtual environment without candlecast whose python also sees this interpreter's
    packages (through a .pth file, which does not run their .pth files: the editable install's
    finder stays out), so installing candlecast downloads nothing. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    Path(site, "candlecast-test-dependencies.pth").write_text("\n".join(ours) + "\n")
    probe = [python, "-c", "import importlib.util as u; print(u.find_spec('candlecast'))"]
    found = subprocess.run(probe, cwd=root, check=True, capture_output=True, text=True).stdout
    assert found.strip() == "None", f"candlecast is importable before the install cell: {found}"
    return python


def kernel(root: Path, python: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A Jupyter kernel named KERNEL that runs `python` with `env` (and pip offline)."""
    folder = root / "jupyter" / "kernels" / KERNEL
    folder.mkdir(parents=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "candlecast notebook test",
        "language": "python",
        "env": {**OFFLINE_PIP, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(root / "jupyter"))


def committed_copy(dest: Path) -> Path:
    """A git repository whose one commit is this checkout's working tree (tracked and untracked
    files that git does not ignore): pip clones a repository's HEAD, and the notebook is tested
    with the code beside it, committed yet or not."""
    if not (REPO / ".git").exists():
        pytest.fail(f"{REPO} is not a git checkout; the notebook test copies its files with git")
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # not a file deleted in the working tree
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git = [
        "git",
        "-C",
        str(dest),
        "-c",
        "user.name=notebook test",
        "-c",
        "user.email=test@localhost",
    ]
    for command in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "commit.gpgsign=false", "commit", "-qm", "tree"],
    ):
        subprocess.run([*git, *command], check=True, capture_output=True)
    return dest


def fake_colab(root: Path, secrets: dict[str, str], denied: set[str]) -> Path:
    """A folder for PYTHONPATH holding `google.colab.userdata` with these secrets (`denied` ones
    exist but this notebook may not read them)."""
    package = root / "google" / "colab"  # `google` stays a namespace package (protobuf's)
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A stand-in for Colab\'s google.colab."""\n')
    (package / "userdata.py").write_text(USERDATA.format(secrets=secrets, denied=denied))
    return root


def editable_install() -> dict[str, bytes]:
    """The files that install candlecast into this interpreter's environment (editable: a
    finder pointing at the checkout), to check the notebook's pip left them alone."""
    site = Path(sysconfig.get_path("purelib"))
    files = [*site.glob("__editable__*candlecast*"), *site.glob("candlecast-*.dist-info/*")]
    state = {str(f.relative_to(site)): f.read_bytes() for f in files if f.is_file()}
    assert state and not (site / "candlecast").exists()
    return state
