"""Fixtures for the Hopsworks adapter tests, which run only where the SDK is installed.

The main environment has no `hopsworks` package: there these files are not collected at all
(not skipped). `make test-hopsworks` runs them in .venv-hopsworks.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

if importlib.util.find_spec("hopsworks") is None:
    collect_ignore_glob = ["test_*.py", "live/*"]
    HAVE_SDK = False
else:
    HAVE_SDK = True

if HAVE_SDK:
    from hopsworks_standin import Backend, StandinProject, login_standin

    from candlecast.settings import Settings

    @pytest.fixture
    def backend(tmp_path: Path) -> Backend:
        """An empty stand-in Hopsworks project kept in tmp_path."""
        return Backend(tmp_path / "hopsworks")

    @pytest.fixture
    def project(backend: Backend) -> StandinProject:
        return StandinProject(backend, "candlecast")

    @pytest.fixture
    def settings(tmp_path: Path) -> Settings:
        """Settings that choose the Hopsworks store (the key is a made-up one)."""
        return Settings(
            home=tmp_path / "home",
            store="hopsworks",
            hopsworks_project="candlecast",
            hopsworks_host="hopsworks.example.test",
            hopsworks_api_key="made-up-key-123",
        )

    @pytest.fixture
    def standin_login(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Backend:
        """`hopsworks.login` answered by the stand-in project (real signature checked)."""
        import hopsworks

        monkeypatch.setattr(hopsworks, "login", login_standin(backend.root))
        return backend
