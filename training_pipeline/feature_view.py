"""The feature view: one series' feature rows (+ as-of joins) at a pinned table version, labels."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from candlecast.errors import FeatureGroupNotFound, ValidationError
from feature_pipeline.groups import FEATURE_COLUMNS, FEATURES
from feature_store.base import FeatureStore
from training_pipeline.joins import Join, apply_joins, join_from_store, joined_columns

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureView:
    """The rows of one (symbol, interval) series, oldest first, and the exact data version read."""

    symbol: str
    interval: str
    frame: pd.DataFrame
    feature_columns: tuple[str, ...]
    group_name: str
    group_version: int
    table_version: int | None
    joins: tuple[Join, ...] = ()

    @property
    def close(self) -> np.ndarray:
        return self.frame["close"].to_numpy(dtype=np.float64)

    @property
    def open_time(self) -> pd.Series:
        return self.frame["open_time"]

    def data_version(self) -> dict[str, Any]:
        """What was read, so a model can always name the data it learned from."""
        return {
            "feature_group": self.group_name,
            "feature_group_version": self.group_version,
            "table_version": self.table_version,
            "first_open_time": _iso(self.frame["open_time"].iloc[0]),
            "last_open_time": _iso(self.frame["open_time"].iloc[-1]),
            "rows": len(self.frame),
            # Only when there are joins, so the records of plain views stay as they were.
            **({"joins": [j.to_dict() for j in self.joins]} if self.joins else {}),
        }


def load_feature_view(
    store: FeatureStore, symbol: str, interval: str, *, joins: Sequence[Join] = ()
) -> FeatureView:
    """Read one series of the features group together with the table version.

    Each of `joins` adds another series' features as of each row's close
    (`training_pipeline.joins`), read at the same table version; early rows without a
    partner are dropped.
    """
    table_version = store.table_version(FEATURES)
    frame = store.read(FEATURES, symbol=symbol, interval=interval, as_of_version=table_version)
    if frame.empty:
        raise FeatureGroupNotFound(
            f"no {FEATURES.table_name} rows for {symbol} {interval}; run "
            f"`candlecast backfill --symbols {symbol} --interval {interval}` first"
        )
    joins = tuple(joins)
    frame = join_from_store(store, frame, joins, interval=interval, as_of_version=table_version)
    if frame.empty:
        raise FeatureGroupNotFound(
            f"no {symbol} {interval} row has a closed partner row for the joins "
            f"{[j.prefix for j in joins]}; backfill the joined series first"
        )
    return feature_view_from_frame(
        frame, symbol=symbol, interval=interval, table_version=table_version, joins=joins
    )


def feature_view_from_frame(
    frame: pd.DataFrame,
    *,
    symbol: str,
    interval: str,
    table_version: int | None = None,
    joins: Sequence[Join] = (),
    partners: Mapping[Join, pd.DataFrame] | None = None,
) -> FeatureView:
    """Wrap a frame in the FEATURES schema (one series) as a feature view, checking it.

    With `joins`, the frame carries their columns already, or `partners` (each join's partner
    rows) are joined onto it here.
    """
    joins = tuple(joins)
    if partners is not None:
        frame = apply_joins(frame, partners, joins, interval=interval)
    columns = FEATURE_COLUMNS + joined_columns(joins)
    check_features(frame, columns)
    frame = frame.sort_values("open_time", kind="stable").reset_index(drop=True)
    return FeatureView(
        symbol=symbol,
        interval=interval,
        frame=frame,
        feature_columns=columns,
        group_name=FEATURES.name,
        group_version=FEATURES.version,
        table_version=table_version,
        joins=joins,
    )


def check_features(frame: pd.DataFrame, columns: tuple[str, ...] = FEATURE_COLUMNS) -> None:
    """Raise ValidationError unless the frame has close and every input column, without gaps."""
    missing = [c for c in ("open_time", "close", *columns) if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"feature rows lack column(s) {missing}; pass rows in the {FEATURES.table_name} schema"
        )
    values = frame[["close", *columns]].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValidationError(
            "feature rows hold NaN or infinite values; "
            "rebuild the features with `candlecast backfill`"
        )
    if "symbol" in frame.columns and frame["symbol"].nunique() > 1:
        raise ValidationError("feature rows mix several symbols; pass the rows of one series only")


def future_log_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """Labels log(close[t+h] / close[t]) for h = 1..horizon: (rows, horizon), NaN past the end.

    Computed at training time only: they are not known at time t, so they are never stored.
    """
    log_close = np.log(np.asarray(close, dtype=np.float64))
    labels = np.full((len(log_close), horizon), np.nan)
    for h in range(1, horizon + 1):
        labels[:-h, h - 1] = log_close[h:] - log_close[:-h]
    return labels


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat()
