"""Which rows of a frame are new or differ from the stored ones: only those are written."""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_store.base import FeatureGroupSpec


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
