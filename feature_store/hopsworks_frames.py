"""Frames going to and coming from Hopsworks: read filters, dtypes, exact bounds, row diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from candlecast.errors import StoreError
from feature_store.base import FeatureGroupSpec
from feature_store.query import as_utc


def read_condition(
    group: Any,
    spec: FeatureGroupSpec,
    symbol: str | None,
    interval: str | None,
    start: datetime | None,
    end: datetime | None,
) -> Any:
    """The SDK filter for a read (timestamps go to Hopsworks at second precision)."""
    parts = []
    if symbol is not None:
        parts.append(group.get_feature("symbol") == symbol)
    if interval is not None:
        parts.append(group.get_feature("interval") == interval)
    if start is not None:
        parts.append(group.get_feature(spec.event_time) >= floor_second(as_utc(start)))
    if end is not None:
        parts.append(group.get_feature(spec.event_time) <= ceil_second(as_utc(end)))
    condition = None
    for part in parts:
        condition = part if condition is None else condition & part
    return condition


def typed_frame(raw: pd.DataFrame, spec: FeatureGroupSpec, names: list[str]) -> pd.DataFrame:
    """The SDK's frame with the spec's dtypes (timestamps as UTC)."""
    frame = raw.reindex(columns=names)
    for name in names:
        if pa.types.is_timestamp(spec.schema.field(name).type):
            frame[name] = pd.to_datetime(frame[name], utc=True)
    schema = pa.schema([spec.schema.field(n) for n in names]).remove_metadata()
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise StoreError(
            f"feature group {spec.table_name} returned rows that do not fit its schema ({error}); "
            "check the group in the Hopsworks UI"
        ) from None
    return table.to_pandas()


def within(
    frame: pd.DataFrame, event: str, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= frame[event] >= pd.Timestamp(start)
    if end is not None:
        keep &= frame[event] <= pd.Timestamp(end)
    return frame[keep]


def floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def ceil_second(value: datetime) -> datetime:
    floor = value.replace(microsecond=0)
    return floor if floor == value else floor + pd.Timedelta(seconds=1)
