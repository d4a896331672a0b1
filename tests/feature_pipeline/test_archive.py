"""The raw kline archive on S3 (moto): a file per day, merged across runs, read back to replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest

from candlecast.errors import SourceError, UnknownSymbolError
from candlecast.settings import Settings
from feature_pipeline.archive import ArchiveSource, ArchivingSource
from feature_pipeline.fetch import CandleSource
from feature_pipeline.source import open_source

BUCKET = "candlecast-raw"


@pytest.fixture
def s3(aws: str) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def csv_source(data_dir: Path) -> CandleSource:
    settings = Settings(now=datetime(2026, 1, 6, 12, tzinfo=UTC))
    return open_source(settings, f"csv:{data_dir}")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_runs_on_the_same_day_merge_into_one_file(s3: Any, csv_source: CandleSource) -> None:
    """It keeps every 4h candle of a day in that day's file, whichever run fetched it."""
    archiving = ArchivingSource(csv_source, BUCKET, s3)
    first, _ = archiving.fetch("BTCUSDT", "4h", at("2025-03-01T00:00"), at("2025-03-01T08:00"))
    second, _ = archiving.fetch("BTCUSDT", "4h", at("2025-03-01T08:00"), at("2025-03-02T00:00"))
    body = s3.get_object(Bucket=BUCKET, Key="raw/BTCUSDT/4h/2025-03-01.json")["Body"].read()
    opened = [pd.Timestamp(row[0], unit="ms", tz="UTC") for row in json.loads(body)]
    assert opened == [at(f"2025-03-01T{h:02d}:00") for h in range(0, 24, 4)]
    assert len(first) == 3 and len(second) == 5  # 2025-03-02 00:00 went to the next day's file
    replayed, report = ArchiveSource(BUCKET, s3).fetch(
        "BTCUSDT", "4h", at("2025-03-01"), at("2025-03-02")
    )
    expected = pd.concat([first, second]).drop_duplicates("open_time").reset_index(drop=True)
    pd.testing.assert_frame_equal(replayed, expected)
    assert report.rows == len(expected)


def test_a_missing_bucket_is_a_clear_source_error(aws: str, csv_source: CandleSource) -> None:
    """It names the bucket and what to check instead of a botocore traceback."""
    archiving = ArchivingSource(csv_source, "no-such-bucket", boto3.client("s3"))
    with pytest.raises(SourceError, match="no-such-bucket.*CANDLECAST_RAW_BUCKET"):
        archiving.fetch("BTCUSDT", "1d", at("2025-03-01"), at("2025-03-02"))


def test_an_empty_archive_is_an_unknown_series(s3: Any) -> None:
    """It says the archive has nothing for that symbol instead of returning no candles."""
    with pytest.raises(UnknownSymbolError, match="holds no archived klines"):
        ArchiveSource(BUCKET, s3).fetch("ETHUSDT", "1d", at("2025-03-01"), at("2025-03-02"))


def test_a_corrupt_archive_file_is_reported(s3: Any) -> None:
    """It refuses a file that is not a JSON list of klines."""
    s3.put_object(Bucket=BUCKET, Key="raw/BTCUSDT/1d/2025-03-01.json", Body=b"{oops")
    with pytest.raises(SourceError, match="is not a JSON list of klines"):
        ArchiveSource(BUCKET, s3).fetch("BTCUSDT", "1d", at("2025-03-01"), at("2025-03-02"))
