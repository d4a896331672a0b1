"""Writing feature groups: only rows that change; several groups undone together on failure."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from candlecast.errors import StoreError
from feature_store.base import FeatureGroupSpec, FeatureStore, WriteResult

logger = logging.getLogger(__name__)


def changed_rows(new: pd.DataFrame, stored: pd.DataFrame, spec: FeatureGroupSpec) -> pd.DataFrame:
    """The rows of `new` that are missing from `stored` or differ from it (NaN equals NaN)."""
    if new.empty or stored.empty:
        return new
    key = list(spec.primary_key)
    left = new.reset_index(drop=True)
    right = stored[[c for c in spec.schema.names if c in stored.columns]].copy()
    for frame in (left, right):
        frame[spec.event_time] = frame[spec.event_time].astype("datetime64[us, UTC]")
    merged = left[key].merge(right, on=key, how="left", indicator=True)
    changed = (merged["_merge"] != "both").to_numpy()
    for column in (c for c in spec.schema.names if c not in key and c in right.columns):
        changed |= ~_same(left[column], merged[column])
    return new.iloc[np.flatnonzero(changed)]


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        x, y = a.to_numpy("float64", na_value=np.nan), b.to_numpy("float64", na_value=np.nan)
        return (x == y) | (np.isnan(x) & np.isnan(y))
    x, y = a.reset_index(drop=True), b.reset_index(drop=True)
    return ((x == y) | (x.isna() & y.isna())).to_numpy(dtype=bool)


def stored_rows(
    store: FeatureStore,
    spec: FeatureGroupSpec,
    symbol: str,
    interval: str,
    start: datetime | None,
    end: datetime | None,
    groups: Collection[str],
) -> pd.DataFrame:
    """What the group holds for one series between start and end.

    `groups` are the table names the store holds: a group missing from them is new, so empty.
    """
    if spec.table_name not in groups:
        return pd.DataFrame(columns=spec.schema.names)
    return store.read(spec, symbol=symbol, interval=interval, start=start, end=end)


@dataclass
class GroupWrites:
    """Upserts to several groups that succeed together or are undone together.

    Use as a context manager: if anything inside raises, every group written so far is restored
    to its table version from before the first write (unless another writer committed since).
    """

    store: FeatureStore
    _before: dict[str, tuple[FeatureGroupSpec, int]] = field(default_factory=dict)
    _after: dict[str, int] = field(default_factory=dict)

    def upsert(self, spec: FeatureGroupSpec, frame: pd.DataFrame) -> WriteResult | None:
        """Merge the frame into the group (nothing happens for an empty frame)."""
        if frame.empty:
            return None
        if spec.table_name not in self._before:
            self.store.ensure(spec)
            self._before[spec.table_name] = (spec, self.store.table_version(spec))
        result = self.store.upsert(spec, frame)
        self._after[spec.table_name] = result.table_version
        return result

    def rollback(self) -> None:
        """Bring every written group back to its version from before this run's first write."""
        for name, (spec, version) in self._before.items():
            current = self.store.table_version(spec)
            if name in self._after and current != self._after[name]:
                raise StoreError(
                    f"cannot undo this run's writes to {name}: another writer committed since "
                    f"(table version {current}); run the command again to finish the update"
                )
            self.store.restore(spec, version)
            logger.warning("restored %s to table version %d after a failure", name, version)

    def __enter__(self) -> GroupWrites:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is not None and self._after:
            self.rollback()
