"""The whole store + registry flow against a real Hopsworks project (needs HOPSWORKS_API_KEY).

Run with `make test-hopsworks` after exporting HOPSWORKS_API_KEY and HOPSWORKS_PROJECT (and
HOPSWORKS_HOST for a self-hosted cluster). It writes a throw-away feature group, feature view and
model with a random version and deletes them at the end. Without a key these tests are skipped:
the only skips in the suite, and only in the hopsworks environment.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from store_adapters import candle_frame

from candlecast.settings import Settings
from feature_pipeline.groups import CANDLES
from feature_store.base import FeatureGroupSpec
from feature_store.hopsworks import HopsworksFeatureStore, HopsworksModelRegistry
from feature_store.local import LocalFeatureStore

# Read at import: the shared autouse fixture clears HOPSWORKS_* before every test.
LIVE = {k: os.environ.get(k) for k in ("HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT", "HOPSWORKS_HOST")}

pytestmark = [
    pytest.mark.hopsworks,
    pytest.mark.slow,
    pytest.mark.skipif(
        not LIVE["HOPSWORKS_API_KEY"],
        reason="HOPSWORKS_API_KEY is not set: live tests need a real Hopsworks project",
    ),
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        home=tmp_path_factory.mktemp("live"),
        store="hopsworks",
        hopsworks_project=LIVE["HOPSWORKS_PROJECT"],
        hopsworks_host=LIVE["HOPSWORKS_HOST"],
        hopsworks_api_key=LIVE["HOPSWORKS_API_KEY"],
    )


@pytest.fixture(scope="module")
def spec(settings: Settings) -> Iterator[FeatureGroupSpec]:
    """A throw-away copy of the candles group, deleted (with its feature view) afterwards."""
    version = random.randint(1_000, 999_999)
    throwaway = FeatureGroupSpec(
        name="candlecast_live_candles",
        version=version,
        schema=CANDLES.schema,
        description="candlecast live test (safe to delete)",
    )
    yield throwaway
    from feature_store.hopsworks_login import login

    fs = login(settings).get_feature_store()
    view = fs.get_feature_view(throwaway.name, version=version)
    if view is not None:
        view.delete()
    group = fs.get_feature_group(throwaway.name, version=version)
    if group is not None:
        group.delete()


def test_the_store_flow_on_a_real_project(
    settings: Settings, spec: FeatureGroupSpec, tmp_path: Path
) -> None:
    """It upserts (waiting for materialisation), reads and time-travels."""
    store = HopsworksFeatureStore.connect(settings)
    first = store.upsert(spec, candle_frame(n=20))
    assert (first.inserted, first.updated) == (20, 0)
    version = store.table_version(spec)
    second = store.upsert(spec, candle_frame(start="2024-01-16", n=10, seed=3))
    assert (second.inserted, second.updated) == (5, 5)
    assert len(store.read(spec)) == 25
    assert len(store.read(spec, as_of_version=version)) == 20
    window = store.read(
        spec,
        symbol="BTCUSDT",
        start=datetime(2024, 1, 5, tzinfo=UTC),
        end=datetime(2024, 1, 9, tzinfo=UTC),
    )
    assert len(window) == 5
    local = LocalFeatureStore(str(tmp_path / "local"))
    local.upsert(spec, candle_frame(n=20))
    local.upsert(spec, candle_frame(start="2024-01-16", n=10, seed=3))
    assert store.fingerprint(spec) == local.fingerprint(spec)
    assert store.statistics(spec)["close"].count == 25


def test_the_registry_flow_on_a_real_project(settings: Settings, tmp_path: Path) -> None:
    """It registers a bundle with metrics, finds it as best, downloads it unchanged."""
    registry = HopsworksModelRegistry.connect(settings)
    name = f"candlecast-live-{random.randint(1_000, 999_999)}"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "weights.bin").write_bytes(os.urandom(1000))
    registered = registry.register(name, bundle, {"score": 0.5}, {"symbol": "BTCUSDT"})
    try:
        assert registered.path is not None
        assert (registered.path / "weights.bin").read_bytes() == (
            bundle / "weights.bin"
        ).read_bytes()
        best = registry.best("score", direction="min", where={"symbol": "BTCUSDT"})
        assert best.metrics["score"] <= 0.5
        assert registry.get(name).version == registered.version
    finally:
        from feature_store.hopsworks_login import login
        from feature_store.hopsworks_registry import hopsworks_name

        model = (
            login(settings)
            .get_model_registry()
            .get_model(hopsworks_name(name), version=registered.version)
        )
        if model is not None:
            model.delete()
