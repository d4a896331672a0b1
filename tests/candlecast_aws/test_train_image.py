"""The retrain's Lambda image without Docker: what Dockerfile.train installs and runs, and the
handler's cold import."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from candlecast_aws.deploy import DEFAULT_TRAIN_MEMORY_MB, DEFAULT_TRAIN_TIMEOUT_S

REPO = Path(__file__).resolve().parents[2]


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_dockerfile_installs_the_train_extra_beside_the_handler() -> None:
    """It reads Dockerfile.train: the sources the Lambda image copies, `.[train]` into one
    folder on the Lambda Python base image, and train_handler.handler as the command."""
    stages = (REPO / "Dockerfile.train").read_text().split("\nFROM ")
    _header, install, final = stages
    assert install.startswith("public.ecr.aws/lambda/python:3.11 AS install")
    copies = [line.split()[1:-1] for line in install.splitlines() if line.startswith("COPY ")]
    copied = [source.rstrip("/") for sources in copies for source in sources]
    sources = load("isolated", REPO / "benchmarks" / "isolated.py").SOURCES
    assert sorted(copied) == sorted(sources)
    assert "ARG EXTRAS=train\n" in install
    assert 'pip install --no-cache-dir --target /var/task ".[${EXTRAS}]"' in install
    assert final.startswith("public.ecr.aws/lambda/python:3.11\n")
    assert "COPY --from=install /var/task ${LAMBDA_TASK_ROOT}" in final
    assert "COPY lambda/train_handler.py ./train_handler.py" in final
    assert "CANDLECAST_HOME=/tmp/candlecast" in final and "HOME=/tmp" in final
    assert final.rstrip().endswith('CMD ["train_handler.handler"]')
    ignored = (REPO / "Dockerfile.train.dockerignore").read_text().splitlines()
    assert "!lambda/train_handler.py" in ignored
    assert all(f"!{name}{'/' if (REPO / name).is_dir() else ''}" in ignored for name in sources)


def test_the_function_gets_lambdas_largest_memory_and_timeout() -> None:
    """It deploys the retrain with 10,240 MB (the most, and 6 vCPUs) and 900 s (the most)."""
    assert (DEFAULT_TRAIN_MEMORY_MB, DEFAULT_TRAIN_TIMEOUT_S) == (10240, 900)


def test_importing_the_handler_loads_nothing_heavy() -> None:
    """It keeps the cold import light: TensorFlow, pandas and boto3 load on the first call."""
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(REPO / 'lambda')!r})\n"
        "import train_handler\n"
        "heavy = ('tensorflow', 'keras', 'pandas', 'pyarrow', 'deltalake', 'boto3', 'numpy')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []
