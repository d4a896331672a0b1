"""Fixtures for the AWS side: the Lambda handler loaded by path (moto: tests/conftest.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@pytest.fixture(scope="session")
def lambda_handler() -> ModuleType:
    """It loads lambda/handler.py by path (`lambda` is a keyword, so it is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "candlecast_lambda_handler", REPO / "lambda" / "handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
