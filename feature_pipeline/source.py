"""Choosing a candle source by name: 'binance', 'vision', 'csv:PATH' or 'archive:s3://BUCKET'."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from candlecast.errors import SettingsError

if TYPE_CHECKING:
    from candlecast.settings import Settings
    from feature_pipeline.fetch import CandleSource

SPECS = (
    "'binance', 'vision' (Binance Vision's zipped dumps, then REST), 'csv:PATH' (a file or "
    "folder) or 'archive:s3://BUCKET[/PREFIX]'"
)


def open_source(settings: Settings, spec: str = "binance", **options: object) -> CandleSource:
    """The source named by `spec`: Binance's REST API (python-binance), Binance Vision's monthly
    and daily zips (checked, cached under CANDLECAST_HOME, the newest candles through REST), kline
    CSV files, or the raw kline archive the Lambda writes (a replay: nothing is asked from Binance).
    """
    if spec == "binance":
        from feature_pipeline.binance import BinanceSource

        return BinanceSource.from_settings(settings, **options)
    if spec == "vision":
        from feature_pipeline.vision import VisionSource

        return VisionSource.from_settings(settings, **options)
    if spec.startswith("csv:") and len(spec) > 4:
        from feature_pipeline.csv_source import CsvSource

        return CsvSource(Path(spec[4:]).expanduser(), clock=settings.clock)
    if spec.startswith("archive:"):
        return _archive(spec)
    raise SettingsError(f"source {spec!r} is not known; use {SPECS}")


def _archive(spec: str) -> CandleSource:
    import boto3

    from feature_pipeline.archive import PREFIX, ArchiveSource

    location = spec.removeprefix("archive:")
    if not location.startswith("s3://") or len(location) <= len("s3://"):
        raise SettingsError(f"source {spec!r}: use archive:s3://BUCKET (or s3://BUCKET/PREFIX)")
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    return ArchiveSource(bucket, boto3.client("s3"), prefix.strip("/") or PREFIX)
