"""What the Hopsworks store adapter does beyond the shared contract (against the SDK stand-in)."""

from __future__ import annotations

import pandas as pd
import pytest
from hopsworks_standin import LOGINS, Backend, StandinProject
from store_adapters import candle_frame

from candlecast.errors import SettingsError, StoreError
from candlecast.settings import Settings
from feature_pipeline.groups import CANDLES, FEATURES
from feature_store import open_registry, open_store
from feature_store.hopsworks import HopsworksFeatureStore, HopsworksModelRegistry


def adapter(project: StandinProject) -> HopsworksFeatureStore:
    return HopsworksFeatureStore(project.get_feature_store(), uri="hopsworks://test/candlecast")


def test_open_store_logs_in_with_the_settings(standin_login: Backend, settings: Settings) -> None:
    """It picks the adapter from CANDLECAST_STORE and logs in with project, key and host."""
    LOGINS.clear()
    store = open_store(settings)
    registry = open_registry(settings)
    assert isinstance(store, HopsworksFeatureStore) and store.backend == "hopsworks"
    assert isinstance(registry, HopsworksModelRegistry)
    assert store.uri == "hopsworks://hopsworks.example.test/candlecast"
    assert LOGINS[0] == {
        "host": "hopsworks.example.test",
        "project": "candlecast",
        "api_key_value": "made-up-key-123",
    }


@pytest.mark.parametrize("missing", ["hopsworks_project", "hopsworks_api_key"])
def test_it_names_the_missing_setting(settings: Settings, missing: str) -> None:
    """It refuses to log in without a project or API key and names the variable to set."""
    incomplete = Settings(**{**settings.__dict__, missing: None})
    with pytest.raises(SettingsError, match=missing.upper()):
        open_store(incomplete)


def test_without_the_sdk_it_says_how_to_install_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It gives a SettingsError naming the set-up command when the SDK is not installed."""
    import sys

    monkeypatch.setitem(sys.modules, "hopsworks", None)  # `import hopsworks` now fails
    with pytest.raises(SettingsError, match="make setup-hopsworks"):
        open_store(settings)


def test_a_failed_login_is_a_store_error_without_the_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It turns the SDK's connection error into one StoreError line that never shows the key."""
    import hopsworks

    def unreachable(**kwargs: object) -> None:
        raise ConnectionError(f"no route to host (key {kwargs['api_key_value']})")

    monkeypatch.setattr(hopsworks, "login", unreachable)
    with pytest.raises(StoreError, match="cannot log in to Hopsworks") as error:
        open_store(settings)
    assert "made-up-key-123" not in str(error.value)


def test_it_creates_stream_groups_with_keys_and_event_time(
    project: StandinProject, backend: Backend
) -> None:
    """It creates a DELTA stream group with the spec's key, event time, partitions and types."""
    adapter(project).ensure(FEATURES)
    meta = backend.state()["groups"]["features_1"]["meta"]
    assert meta["stream"] is True and meta["time_travel_format"] == "DELTA"
    assert meta["primary_key"] == ["symbol", "interval", "open_time"]
    assert meta["event_time"] == "open_time"
    assert meta["partition_key"] == ["symbol", "interval"]
    types = {f["name"]: f["type"] for f in meta["features"]}
    assert (types["open_time"], types["close"], types["symbol"]) == (
        "timestamp",
        "double",
        "string",
    )


def test_a_failed_materialisation_job_fails_the_upsert(
    project: StandinProject, backend: Backend
) -> None:
    """It raises when the offline materialisation job does not finish, and the version stays."""
    store = adapter(project)
    store.upsert(CANDLES, candle_frame(n=3))
    version = store.table_version(CANDLES)
    backend.fail_jobs = True
    with pytest.raises(StoreError, match="materialisation job .* FAILED"):
        store.upsert(CANDLES, candle_frame(start="2024-02-01", n=3))
    assert store.table_version(CANDLES) == version
    assert len(store.read(CANDLES)) == 3


def test_sdk_errors_become_one_line_store_errors(project: StandinProject, backend: Backend) -> None:
    """It reports an SDK failure (here the query service) as a StoreError naming the action."""
    store = adapter(project)
    store.upsert(CANDLES, candle_frame(n=3))
    backend.fail_reads = True
    with pytest.raises(StoreError, match="could not read a feature group .*Query Service"):
        store.read(CANDLES)


def test_time_bounds_are_exact_below_a_second(project: StandinProject) -> None:
    """It filters inclusively at microsecond precision though Hopsworks filters by second."""
    store = adapter(project)
    frame = candle_frame(n=4, freq="ms")
    store.upsert(CANDLES, frame)
    start = frame["open_time"].iloc[1].to_pydatetime()
    end = frame["open_time"].iloc[2].to_pydatetime()
    rows = store.read(CANDLES, start=start, end=end)
    assert list(rows["open_time"]) == list(frame["open_time"].iloc[1:3])


def test_its_fingerprint_equals_the_local_stores(project: StandinProject, tmp_path) -> None:
    """It hashes content exactly as the local adapter does, so stores can be compared."""
    from feature_store.local import LocalFeatureStore

    local = LocalFeatureStore(str(tmp_path / "local"))
    store = adapter(project)
    for target in (local, store):
        target.upsert(CANDLES, candle_frame(n=15))
        target.upsert(CANDLES, candle_frame("ETHUSDT", n=15, seed=4))
    assert store.fingerprint(CANDLES) == local.fingerprint(CANDLES)
    pd.testing.assert_frame_equal(store.read(CANDLES), local.read(CANDLES))


def _fingerprint_of(frame: pd.DataFrame) -> str:
    import pyarrow as pa

    from feature_store.fingerprint import content_fingerprint

    return content_fingerprint(
        pa.Table.from_pandas(frame, preserve_index=False).cast(CANDLES.schema)
    )
