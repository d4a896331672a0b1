"""The feature view: one series' features, labels computed at training time, splits and scalers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from candlecast.errors import FeatureGroupNotFound, ValidationError
from feature_pipeline.groups import FEATURE_COLUMNS, FEATURES
from feature_store.base import FeatureStore

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
        }


def load_feature_view(store: FeatureStore, symbol: str, interval: str) -> FeatureView:
    """Read one series of the features group together with the table version."""
    table_version = store.table_version(FEATURES)
    frame = store.read(FEATURES, symbol=symbol, interval=interval, as_of_version=table_version)
    if frame.empty:
        raise FeatureGroupNotFound(
            f"no {FEATURES.table_name} rows for {symbol} {interval}; run "
            f"`candlecast backfill --symbols {symbol} --interval {interval}` first"
        )
    return feature_view_from_frame(
        frame, symbol=symbol, interval=interval, table_version=table_version
    )


def feature_view_from_frame(
    frame: pd.DataFrame,
    *,
    symbol: str,
    interval: str,
    table_version: int | None = None,
) -> FeatureView:
    """Wrap a frame in the FEATURES schema (one series) as a feature view, checking it."""
    check_features(frame)
    frame = frame.sort_values("open_time", kind="stable").reset_index(drop=True)
    return FeatureView(
        symbol=symbol,
        interval=interval,
        frame=frame,
        feature_columns=FEATURE_COLUMNS,
        group_name=FEATURES.name,
        group_version=FEATURES.version,
        table_version=table_version,
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


# What each period is for; no period has two roles.
ROLES = {
    "train": "fitting the weights (and the scalers)",
    "val": "inner validation at the end of the fitting data: early stopping, tuning, "
    "shrinkage and band calibration",
    "selection": "choosing the served model (nothing is fitted, tuned or calibrated on it)",
    "test": "reporting only",
}


@dataclass(frozen=True)
class Splits:
    """Forecast origins (row positions) of the time-ordered train / val / selection / test periods.

    `train` and `val` are the fitting data (val is its inner validation); `selection` chooses
    the served model; `test` is only reported. A gap of `horizon` rows sits between periods, so
    the labels of one period never reach a candle of the next.
    """

    train: np.ndarray
    val: np.ndarray
    selection: np.ndarray
    test: np.ndarray
    horizon: int

    def periods(self) -> dict[str, np.ndarray]:
        return {
            "train": self.train,
            "val": self.val,
            "selection": self.selection,
            "test": self.test,
        }

    def describe(self, open_time: pd.Series) -> dict[str, list[str]]:
        """First and last origin time of each period."""
        return {
            name: [_iso(open_time.iloc[idx[0]]), _iso(open_time.iloc[idx[-1]])]
            for name, idx in self.periods().items()
        }


def make_splits(
    rows: int,
    *,
    horizon: int,
    val_size: int,
    selection_size: int,
    test_size: int,
    first_origin: int = 0,
) -> Splits:
    """Split origins into train / val / selection / test, the last labelled ones being test."""
    last = rows - horizon - 1  # the last origin whose labels are all known
    test_start = last - test_size + 1
    selection_end = test_start - horizon - 1
    selection_start = selection_end - selection_size + 1
    val_end = selection_start - horizon - 1
    val_start = val_end - val_size + 1
    train_end = val_start - horizon - 1
    if train_end - first_origin + 1 < max(2 * horizon, 50):
        raise ValidationError(
            f"{rows} rows are too few for {val_size} validation, {selection_size} selection and "
            f"{test_size} test origins with horizon {horizon}; backfill more history or pass "
            "smaller sizes (candlecast train --val-origins N --selection-origins N "
            "--test-origins N)"
        )
    return Splits(
        train=np.arange(first_origin, train_end + 1),
        val=np.arange(val_start, val_end + 1),
        selection=np.arange(selection_start, selection_end + 1),
        test=np.arange(test_start, last + 1),
        horizon=horizon,
    )


@dataclass(frozen=True)
class Scaler:
    """Per-column standardisation whose mean and scale come from the training split only."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        values = np.asarray(values, dtype=np.float64)
        scale = values.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        return cls(tuple(values.mean(axis=0).tolist()), tuple(scale.tolist()))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((np.asarray(values, dtype=np.float64) - self.mean) / self.scale).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Scaler:
        return cls(tuple(data["mean"]), tuple(data["scale"]))


def fit_scaler(frame: pd.DataFrame, columns: tuple[str, ...], train_origins: np.ndarray) -> Scaler:
    """Fit the input scaler on the rows up to the last training origin, nothing later."""
    rows = frame[list(columns)].to_numpy(dtype=np.float64)[: int(train_origins[-1]) + 1]
    return Scaler.fit(rows)


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat()
