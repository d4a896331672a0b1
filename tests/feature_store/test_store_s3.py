"""The local store on an s3:// URI configured only through settings and standard AWS variables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest
from store_adapters import candle_frame

from candlecast.errors import StoreError
from candlecast.settings import Settings
from candlecast_cli.app import main
from feature_pipeline.groups import CANDLES
from feature_store import SERVED_METRIC, open_registry, open_store, served_version
from feature_store.storage import s3_options


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Standard AWS variables pointing at moto, and a fresh bucket."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_url,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    boto3.client("s3").create_bucket(Bucket="features")
    yield "s3://features/candlecast"
    bucket = boto3.resource("s3").Bucket("features")
    bucket.objects.all().delete()
    bucket.delete()


def test_it_maps_standard_aws_variables_to_storage_options() -> None:
    """It takes keys, region and endpoint from AWS_* and allows plain http for local stand-ins."""
    env = {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "HOME": "/root",
    }
    options = s3_options(Settings.from_env(env).aws_storage)
    assert options == {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_ALLOW_HTTP": "true",
    }
    assert "AWS_ALLOW_HTTP" not in s3_options({"AWS_REGION": "us-east-1"})


def test_the_settings_store_works_on_s3(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It upserts, reads, time-travels and reports status on an s3:// CANDLECAST_STORE_URI."""
    monkeypatch.setenv("CANDLECAST_STORE_URI", aws_env)
    store = open_store(Settings.from_env())
    assert store.uri == aws_env
    store.upsert(CANDLES, candle_frame(n=20))
    version = store.table_version(CANDLES)
    store.upsert(CANDLES, candle_frame(n=30, seed=3))
    assert len(store.read(CANDLES, end=pd.Timestamp("2024-01-10", tz="UTC"))) == 10
    assert len(store.read(CANDLES, as_of_version=version)) == 20
    assert len(store.read(CANDLES)) == 30
    assert [spec.table_name for spec in store.list_groups()] == ["candles_v1"]

    assert main(["status", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["store"] == {"backend": "local", "uri": aws_env}
    (group,) = document["feature_groups"]
    assert group["rows"] == 30 and group["fingerprint"] == store.fingerprint(CANDLES)


def test_the_settings_registry_works_on_s3(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It registers to an s3:// CANDLECAST_REGISTRY_URI; another process's registry (its own
    cache) finds the version and downloads its files once."""
    monkeypatch.setenv("CANDLECAST_REGISTRY_URI", "s3://features/registry")
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path / "writer"))
    bundle = tmp_path / "bundle"
    (bundle / "scaler").mkdir(parents=True)
    (bundle / "model.onnx").write_bytes(b"weights")
    (bundle / "scaler" / "scaler.json").write_text("{}")
    series = {"symbol": "BTCUSDT", "interval": "1d"}
    registered = open_registry(Settings.from_env()).register(
        "btcusdt-1d-mlp", bundle, {SERVED_METRIC: 1.0}, series
    )
    assert registered.version == 1 and registered.path.is_relative_to(tmp_path / "writer")

    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path / "reader"))
    reader = open_registry(Settings.from_env())
    assert repr(reader) == "S3ModelRegistry('s3://features/registry')"
    served = served_version(reader, "BTCUSDT", "1d")
    assert (served.name, served.version, served.metadata) == ("btcusdt-1d-mlp", 1, series)
    assert (served.path / "model.onnx").read_bytes() == b"weights"
    assert (served.path / "scaler" / "scaler.json").read_text() == "{}"
    keys = {o.key for o in boto3.resource("s3").Bucket("features").objects.all()}
    assert keys >= {"registry/btcusdt-1d-mlp/versions/1.json"}
    assert sum(k.startswith("registry/btcusdt-1d-mlp/bundles/") for k in keys) == 2

    downloads = []
    monkeypatch.setattr(reader._s3, "download_file", lambda *a, **k: downloads.append(a))
    assert reader.get("btcusdt-1d-mlp").path == served.path and downloads == []


def test_an_unreachable_registry_is_one_line(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It names the registry URI and what to check when the bucket is missing."""
    monkeypatch.setenv("CANDLECAST_REGISTRY_URI", "s3://no-such-bucket/registry")
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    with pytest.raises(StoreError, match="CANDLECAST_REGISTRY_URI") as raised:
        open_registry(Settings.from_env()).list()
    assert "\n" not in str(raised.value)
    assert "s3://no-such-bucket/registry" in str(raised.value)
