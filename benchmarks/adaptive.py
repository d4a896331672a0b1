"""Adaptive bands: where adaptive conformal inference helps the served band, from a hindcast.

BTCUSDT and ETHUSDT 1d are backfilled through 2023-12-31 and trained there (`train --quick`;
the gate serves what wins), the rest of the candles are backfilled, and the served model's
forecasts are hindcast from every origin from 2024-01-01 with its own band (out of sample:
nothing after 2023 was fitted on). Adaptive conformal inference (`daily_pipeline.adaptive`,
online: each origin sees only the outcomes closed by then) is then run over those forecasts per
horizon. The table gives, per symbol, year and horizon, the coverage of the model's band and of
the adapted one, and the adapted band's interval (Winkler) score as a ratio to the model's band.

The choice is made on 2024 only: a horizon is adapted when its mean Winkler ratio over the two
symbols in 2024 is below 1. 2025 is reported, never used to choose. Exits 1 when
`daily_pipeline.adaptive.ADAPTED` differs from that choice.

    .venv/bin/python benchmarks/adaptive.py [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the quick training run imports TensorFlow

SYMBOLS = ("BTCUSDT", "ETHUSDT")
TRAINED_AT = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)  # candles through 2023-12-31
NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)  # the last row of the shared CSVs is still open
CHOOSE_ON, REPORT_ON = 2024, 2025
SHOWN = (1, 3, 7, 14, 30)


def served_outcomes(home: Path, data: Path) -> pd.DataFrame:
    """The scored hindcasts of each symbol's served model with its own band, from 2024-01-01."""
    from candlecast.settings import Settings
    from daily_pipeline import predictions
    from daily_pipeline.groups import OUTCOMES
    from feature_pipeline import backfill
    from feature_pipeline.source import open_source
    from feature_store import open_registry, open_store
    from training_pipeline.config import QUICK
    from training_pipeline.run import run as train

    settings = Settings(home=home, now=TRAINED_AT, symbols=SYMBOLS)
    store, registry = open_store(settings), open_registry(settings)
    source = open_source(settings, f"csv:{data}")
    backfill.run(settings, store, source, SYMBOLS, "1d", progress=False)
    train(settings, store, registry, config=QUICK, progress=False)
    later = settings.with_overrides(now=NOW)
    backfill.run(later, store, open_source(later, f"csv:{data}"), SYMBOLS, "1d", progress=False)
    predictions.ADAPTED = frozenset()  # log the model's own band; adaptation is simulated below
    for symbol in SYMBOLS:
        predictions.hindcast(
            store, registry, symbol, "1d", now=NOW, start=datetime(2024, 1, 1, tzinfo=UTC)
        )
    frames = [store.read(OUTCOMES, symbol=s) for s in SYMBOLS]
    outcomes = pd.concat(frames, ignore_index=True)
    return outcomes.loc[outcomes["served"]]


def adapted_band(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The band each forecast would have been served with under adaptation (one horizon)."""
    from daily_pipeline.adaptive import adapt, conformity, scaled_band

    rows = rows.sort_values("origin_time")
    median, low, high = (rows[c].to_numpy(dtype=np.float64) for c in ("median", "low", "high"))
    actual = rows["actual"].to_numpy(dtype=np.float64)
    scores = conformity(actual, median, low, high, np.ones(len(rows)))
    nanos = [pd.DatetimeIndex(rows[c]).as_unit("ns").asi8 for c in ("origin_time", "target_time")]
    scales = adapt(*nanos, scores, np.full(len(rows), np.nan))
    new_low, new_high = scaled_band(median, low, high, scales)
    return new_low, new_high, rows.index.to_numpy()


def table(outcomes: pd.DataFrame) -> pd.DataFrame:
    from daily_pipeline.scoring import interval_score

    records = []
    for (symbol, horizon), rows in outcomes.groupby(["symbol", "horizon"]):
        low, high, index = adapted_band(rows)
        rows = rows.loc[index]
        actual = rows["actual"].to_numpy()
        base = interval_score(actual, rows["low"].to_numpy(), rows["high"].to_numpy())
        new = interval_score(actual, low, high)
        year = pd.DatetimeIndex(rows["origin_time"]).year
        for y in (CHOOSE_ON, REPORT_ON):
            m = np.asarray(year == y)
            records.append(
                {
                    "symbol": symbol,
                    "year": y,
                    "h": horizon,
                    "n": int(m.sum()),
                    "coverage": float(rows["inside"].to_numpy()[m].mean()),
                    "coverage ACI": float(((actual >= low) & (actual <= high))[m].mean()),
                    "W ratio ACI": float(new[m].mean() / base[m].mean()),
                }
            )
    return pd.DataFrame(records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "binance")
    args = parser.parse_args()
    from daily_pipeline.adaptive import ADAPTED

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="candlecast-adaptive-") as home:
        outcomes = served_outcomes(Path(home), args.data)
    figures = table(outcomes)
    served = sorted(set(outcomes["model"]))
    print(f"served models (trained through 2023-12-31): {', '.join(served)}")
    print(f"machine load (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    pd.set_option("display.width", 200)
    shown = figures.loc[figures["h"].isin(SHOWN)].sort_values(["year", "symbol", "h"])
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    chosen = figures.loc[figures["year"] == CHOOSE_ON].groupby("h")["W ratio ACI"].mean()
    helps = frozenset(int(h) for h, ratio in chosen.items() if ratio < 1.0)
    reported = figures.loc[figures["year"] == REPORT_ON].groupby("h")["W ratio ACI"].mean()
    print(
        f"\nmean W ratio over h = 1..30, {CHOOSE_ON} (chooses): {chosen.mean():.3f}; "
        f"{REPORT_ON} (reported): {reported.mean():.3f}"
    )
    print(f"horizons where adaptation lowered the {CHOOSE_ON} interval score: {sorted(helps)}")
    print(f"ADAPTED in daily_pipeline/adaptive.py: {sorted(ADAPTED)}")
    print(f"took {time.perf_counter() - started:.0f} s")
    if helps != ADAPTED:
        print(f"MISS: ADAPTED should be {sorted(helps)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
