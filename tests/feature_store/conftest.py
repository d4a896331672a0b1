"""Fixtures that run the store and registry contract suites once per adapter."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_adapters import MOTO_ENV, NEEDS_MOTO, REGISTRIES, STORES

from feature_store.base import FeatureStore, ModelRegistry


@pytest.fixture
def moto_s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the s3 adapter (and worker processes) at the moto server."""
    monkeypatch.setenv(MOTO_ENV, moto_url)
    return moto_url


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
    """The registry adapter under test (servers it needs are started)."""
    if request.param in NEEDS_MOTO:
        request.getfixturevalue("moto_s3")
    return request.param


@pytest.fixture
def registry(registry_name: str, tmp_path: Path) -> ModelRegistry:
    """A fresh, empty model registry of each adapter."""
    return REGISTRIES[registry_name](tmp_path)
