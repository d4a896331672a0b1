"""Installing the package into a clean folder and running code that sees only that folder.

Shared by benchmarks/lambda_image.py (the Lambda's task root), benchmarks/serving.py (the serving
extra) and the tests that prove what those folders can do without the development venv.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What Dockerfile.lambda copies into its build folder before `pip install`.
SOURCES = (
    "pyproject.toml",
    "README.md",
    "candlecast",
    "feature_store",
    "feature_pipeline",
    "daily_pipeline",
    "training_pipeline",
    "inference_app",
    "candlecast_aws",
    "candlecast_cli",
)


def install_target(root: Path, extras: str) -> Path:
    """`pip install --target root .[extras]` from a copy of the sources, as a deployable does."""
    with tempfile.TemporaryDirectory(prefix="candlecast-build-") as build:
        for name in SOURCES:
            source, target = REPO / name, Path(build) / name
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--target", str(root), f"{build}[{extras}]"], check=True)
    return root


def folder_mib(path: Path) -> float:
    """Bytes of every file under `path` (links not followed), in MiB."""
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())
    return total / 2**20


def largest_parts(root: Path, count: int = 8) -> list[tuple[str, float]]:
    """The biggest top-level entries of the task root (packages, libraries), in MiB."""
    sizes = [
        (p.name, folder_mib(p) if p.is_dir() else p.lstat().st_size / 2**20) for p in root.iterdir()
    ]
    return sorted(sizes, key=lambda item: -item[1])[:count]


def isolated(root: Path, code: str, env: dict[str, str] | None = None) -> str:
    """Run Python code in a process that sees only `root` and the standard library; its stdout."""
    prelude = f"import sys; sys.path[:0] = [{str(root)!r}]\n"
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + code],
        capture_output=True,
        text=True,
        cwd=root,
        env=env or {"PATH": os.environ.get("PATH", "")},
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"isolated run failed:\n{done.stderr[-4000:]}")
    return done.stdout


def import_seconds(root: Path, modules: tuple[str, ...], runs: int = 3) -> float:
    """Median wall time to import `modules` in a fresh isolated process."""
    code = (
        "import time\nstart = time.perf_counter()\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(time.perf_counter() - start)\n"
    )
    return statistics.median(float(isolated(root, code).split()[-1]) for _ in range(runs))
