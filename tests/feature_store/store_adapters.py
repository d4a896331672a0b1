"""Adapters the contract suites run against, and generated candle frames to write into them.

To add an adapter: put a factory `(folder) -> store` in STORES (and `(folder) -> registry` in
REGISTRIES). Factories are plain module-level functions so that worker processes can call them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from feature_store.base import FeatureStore, ModelRegistry


def local_store(folder: Path) -> FeatureStore:
    from feature_store.local import LocalFeatureStore

    return LocalFeatureStore(str(folder / "store"))


def local_registry(folder: Path) -> ModelRegistry:
    from feature_store.local_registry import LocalModelRegistry

    return LocalModelRegistry(folder / "registry")


def s3_store(folder: Path) -> FeatureStore:
    """The local adapter on an s3:// URI served by moto (the `moto_s3` fixture sets the env)."""
    from feature_store.local import LocalFeatureStore

    endpoint, bucket = _moto_bucket(folder, "store")
    options = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }
    return LocalFeatureStore(f"s3://{bucket}/candlecast", storage_options=options)


def s3_registry(folder: Path) -> ModelRegistry:
    """The registry on an s3:// prefix served by moto, its download cache under folder."""
    from feature_store.s3_registry import S3ModelRegistry

    endpoint, bucket = _moto_bucket(folder, "registry")
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    return S3ModelRegistry.connect(f"s3://{bucket}/models", folder / "registry-cache", aws)


def _moto_bucket(folder: Path, kind: str) -> tuple[str, str]:
    """moto's endpoint and a bucket named after folder (created if missing)."""
    import boto3

    endpoint = os.environ.get(MOTO_ENV)
    if not endpoint:
        raise RuntimeError(f"{MOTO_ENV} is not set; use the moto_s3 fixture")
    bucket = f"{kind}-" + hashlib.sha1(str(folder).encode()).hexdigest()[:16]
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    return endpoint, bucket


MOTO_ENV = "MOTO_S3_ENDPOINT"
STORES: dict[str, Callable[[Path], FeatureStore]] = {"local": local_store, "s3": s3_store}
REGISTRIES: dict[str, Callable[[Path], ModelRegistry]] = {
    "local": local_registry,
    "s3": s3_registry,
}

# Adapters that need moto's S3 server running (the fixtures start it for them).
NEEDS_MOTO: set[str] = {"s3"}
# Adapters whose storage several OS processes can write at once (multi-process tests).
MULTI_PROCESS: set[str] = {"local", "s3"}

# The Hopsworks adapter over a stand-in of the SDK's objects; only where the SDK is installed
# (.venv-hopsworks), so the main environment generates no hopsworks cases at all.
if importlib.util.find_spec("hopsworks") is not None:
    from hopsworks_standin import standin_registry, standin_store

    STORES["hopsworks"] = standin_store
    REGISTRIES["hopsworks"] = standin_registry
    MULTI_PROCESS.add("hopsworks")


def candle_frame(
    symbol: str = "BTCUSDT",
    interval: str = "1d",
    start: str = "2024-01-01",
    n: int = 10,
    *,
    seed: int = 0,
    freq: str = "D",
) -> pd.DataFrame:
    """n closed candles of one series, in the `candles` group's schema."""
    rng = np.random.default_rng(seed)
    open_time = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    close = 100 + rng.standard_normal(n).cumsum()
    return pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time": open_time,
            "close_time": open_time + pd.Timedelta(1, unit=freq.lower()) - pd.Timedelta("1ms"),
            "open": close + rng.uniform(-1, 1, n),
            "high": close + 2,
            "low": close - 2,
            "close": close,
            "volume": rng.uniform(1, 10, n),
            "quote_volume": rng.uniform(100, 1000, n),
            "trades": rng.integers(1, 1000, n),
        }
    )
