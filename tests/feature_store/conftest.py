"""Fixtures that run the store and registry contract suites once per adapter."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_adapters import MOTO_ENV, NEEDS_MOTO, REGISTRIES, STORES

from feature_store.base import FeatureStore, ModelRegistry


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3 server on a free 127.0.0.1 port, for the whole session."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def moto_s3(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the s3 adapter (and worker processes) at the moto server."""
    monkeypatch.setenv(MOTO_ENV, moto_server)
    return moto_server


@pytest.fixture(params=sorted(STORES))
def store_name(request: pytest.FixtureRequest) -> str:
    """The adapter under test (servers it needs are started)."""
    if request.param in NEEDS_MOTO:
        request.getfixturevalue("moto_s3")
    return request.param


@pytest.fixture
def store(store_name: str, tmp_path: Path) -> FeatureStore:
    """A fresh, empty feature store of each adapter."""
    return STORES[store_name](tmp_path)


@pytest.fixture(params=sorted(REGISTRIES))
def registry_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def registry(registry_name: str, tmp_path: Path) -> ModelRegistry:
    """A fresh, empty model registry of each adapter."""
    return REGISTRIES[registry_name](tmp_path)


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"moto_server exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("moto_server did not start within 60 s")
