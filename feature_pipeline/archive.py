"""The raw kline archive on S3: `raw/{symbol}/{interval}/{YYYY-MM-DD}.json`, written first.

A candle source and sink of its own (the Lambda writes it, `--source archive:s3://BUCKET` replays
it), so it sits with the other sources and their one factory.

`ArchivingSource` wraps any candle source and stores what it fetched, one file per UTC day
(Binance's 12-field kline arrays, merged with what an earlier run stored for that day).
`ArchiveSource` reads the files back as a candle source, so any archived day can be replayed
through the daily run without Binance.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from candlecast.errors import SourceError, UnknownSymbolError
from feature_pipeline.fetch import FetchReport
from feature_pipeline.klines import between, frame_from_klines, klines_from_frame

if TYPE_CHECKING:
    import pandas as pd

    from feature_pipeline.fetch import CandleSource

logger = logging.getLogger(__name__)

PREFIX = "raw"


def day_key(symbol: str, interval: str, day: str, prefix: str = PREFIX) -> str:
    """The object key of one day's klines, e.g. raw/BTCUSDT/1d/2025-06-01.json."""
    return f"{prefix}/{symbol}/{interval}/{day}.json"


def klines_by_day(frame: pd.DataFrame) -> dict[str, list[list[Any]]]:
    """A candles frame as kline arrays grouped by the UTC day of their open time."""
    days: dict[str, list[list[Any]]] = {}
    for row, opened in zip(klines_from_frame(frame), frame["open_time"], strict=True):
        days.setdefault(f"{opened:%Y-%m-%d}", []).append(row)
    return days


def merge_klines(old: list[list[Any]], new: list[list[Any]]) -> list[list[Any]]:
    """Union by open time (the newer fetch wins), sorted."""
    merged = {int(row[0]): row for row in old} | {int(row[0]): row for row in new}
    return [merged[key] for key in sorted(merged)]


@dataclass
class ArchivingSource:
    """A candle source that writes every fetched kline to the S3 archive before returning it."""

    inner: CandleSource
    bucket: str
    s3: Any
    prefix: str = PREFIX

    @property
    def name(self) -> str:
        return f"{self.inner.name}, archived to s3://{self.bucket}/{self.prefix}/"

    def first_open_time(self, symbol: str, interval: str) -> datetime:
        return self.inner.first_open_time(symbol, interval)

    def fetch(
        self,
        symbol: str,
        interval: str,
        start: datetime | None = None,
        end: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[pd.DataFrame, FetchReport]:
        """Fetch from the inner source, archive the result, return it unchanged."""
        frame, report = self.inner.fetch(symbol, interval, start=start, end=end, progress=progress)
        if len(frame):
            self.archive(frame, symbol, interval)
        return frame, report

    def archive(self, frame: pd.DataFrame, symbol: str, interval: str) -> list[str]:
        """Write the frame's klines day by day (merged with existing files); the keys written."""
        existing = set(_keys(self.s3, self.bucket, f"{self.prefix}/{symbol}/{interval}/"))
        written = []
        for day, rows in klines_by_day(frame).items():
            key = day_key(symbol, interval, day, self.prefix)
            if key in existing:
                rows = merge_klines(_read(self.s3, self.bucket, key), rows)
            body = json.dumps(rows, separators=(",", ":")).encode()
            self._put(key, body)
            written.append(key)
        logger.info("archived %d day file(s) of %s %s to s3://%s", len(written), symbol, interval,
                    self.bucket)  # fmt: skip
        return written

    def _put(self, key: str, body: bytes) -> None:
        with _s3_errors(f"archive raw klines to s3://{self.bucket}/{key}"):
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json"
            )


@dataclass
class ArchiveSource:
    """Candles read back from the S3 archive (a replay: nothing is asked from Binance)."""

    bucket: str
    s3: Any
    prefix: str = PREFIX

    @property
    def name(self) -> str:
        return f"archive s3://{self.bucket}/{self.prefix}/"

    def first_open_time(self, symbol: str, interval: str) -> datetime:
        frame = self._frame(symbol, interval, self._days(symbol, interval)[:1])
        return frame["open_time"].iloc[0].to_pydatetime()

    def fetch(
        self,
        symbol: str,
        interval: str,
        start: datetime | None = None,
        end: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[pd.DataFrame, FetchReport]:
        """The archived candles with start <= open_time <= end."""
        days = [
            d
            for d in self._days(symbol, interval)
            if (start is None or d >= f"{start:%Y-%m-%d}")
            and (end is None or d <= f"{end:%Y-%m-%d}")
        ]
        frame = between(self._frame(symbol, interval, days), start, end)
        last = frame["open_time"].iloc[-1].to_pydatetime() if len(frame) else None
        # Without `end` the archive's last candle is the end, so no stop in trading is reported.
        end = end or last or datetime.min.replace(tzinfo=UTC)
        if progress is not None:
            progress(len(frame))
        return frame, FetchReport.of(frame, symbol, interval, start, end, latest=last)

    def _days(self, symbol: str, interval: str) -> list[str]:
        folder = f"{self.prefix}/{symbol}/{interval}/"
        days = sorted(k[len(folder) : -len(".json")] for k in _keys(self.s3, self.bucket, folder))
        if not days:
            raise UnknownSymbolError(
                f"s3://{self.bucket}/{folder} holds no archived klines; check the bucket, symbol "
                "and interval (the archive is written when CANDLECAST_RAW_BUCKET is set)"
            )
        return days

    def _frame(self, symbol: str, interval: str, days: list[str]) -> pd.DataFrame:
        rows = [
            row
            for day in days
            for row in _read(self.s3, self.bucket, day_key(symbol, interval, day, self.prefix))
        ]
        return frame_from_klines(merge_klines([], rows), symbol, interval)


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    with _s3_errors(f"list s3://{bucket}/{prefix}"):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _read(s3: Any, bucket: str, key: str) -> list[list[Any]]:
    with _s3_errors(f"read s3://{bucket}/{key}"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        rows = json.loads(body)
    except json.JSONDecodeError:
        rows = None
    if not isinstance(rows, list):
        raise SourceError(
            f"s3://{bucket}/{key} is not a JSON list of klines; remove or fix the file"
        )
    return rows


@contextmanager
def _s3_errors(doing: str) -> Iterator[None]:
    """Turn botocore's errors into a SourceError that says what failed and what to check."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise SourceError(
            f"could not {doing}: {error}; check the bucket name (CANDLECAST_RAW_BUCKET or --source "
            "archive:s3://BUCKET) and that the credentials may list, read and write it"
        ) from None
