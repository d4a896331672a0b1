"""Tests for model inputs: windows ending at each origin, scaled with the training scaler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from candlecast.errors import ValidationError
from feature_pipeline.groups import FEATURE_COLUMNS
from training_pipeline.scaler import Scaler
from training_pipeline.windows import model_inputs, window_view


def test_windows_end_at_their_origin() -> None:
    """It cuts, for every origin, the `window` rows up to and including the origin, oldest first."""
    values = np.arange(40, dtype=np.float32).reshape(20, 2)
    origins = np.array([3, 10, 19])
    windows = window_view(values, origins, 4)
    assert windows.shape == (3, 4, 2)
    for got, origin in zip(windows, origins, strict=True):
        np.testing.assert_array_equal(got, values[origin - 3 : origin + 1])


def test_origins_without_a_full_window_are_refused() -> None:
    """It refuses an origin with fewer than `window` rows before it instead of padding."""
    with pytest.raises(ValidationError, match="window=5"):
        window_view(np.zeros((10, 2), np.float32), np.array([3]), 5)


def test_serving_input_is_the_last_window_scaled(synthetic: pd.DataFrame) -> None:
    """It scales with the given scaler and, by default, forecasts from the last row."""
    columns = FEATURE_COLUMNS
    scaler = Scaler.fit(synthetic[list(columns)].to_numpy()[:100])
    x = model_inputs(synthetic, columns=columns, scaler=scaler, window=6)
    expected = scaler.transform(synthetic[list(columns)].to_numpy()[-6:])
    assert x.shape == (1, 6, len(columns))
    np.testing.assert_array_equal(x[0], expected)


def test_too_few_rows_name_the_window(synthetic: pd.DataFrame) -> None:
    """It says how many rows the model needs when given fewer."""
    with pytest.raises(ValidationError, match="needs the last 30"):
        model_inputs(synthetic.head(10), columns=FEATURE_COLUMNS, scaler=None, window=30)
