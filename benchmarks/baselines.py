"""Which baseline band to serve: the evidence behind the gate's default, from years before 2023-11.

For 13 symbols and two pseudo-runs each (a selection year, then the following "test" year, all
ending by 2023-10-31, before the selection and test periods a training run uses today), both
baselines are run walk-forward on the real candles exactly as training runs them, and three
rules choose between them on the selection year:
- the gate's rule: the GARCH band unless the empirical band's interval score is significantly
  lower (one-sided Diebold-Mariano p < 0.10), as `training_pipeline.selection.decide` does;
- "better on selection": whichever band's mean interval-score ratio was lower there;
- always the GARCH band.
It prints, per run, the next year's interval-score ratio of the chosen band to the empirical one
(averaged over h = 1..30) and its coverage error, then the mean of each rule. Exits 1 when the
gate's rule does worse on the following years than "better on selection" (the claim the
selection docstring and the README make).

    .venv/bin/python benchmarks/baselines.py [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from training_pipeline.backtest import baseline_forecasts, ratios, walk_forward  # noqa: E402
from training_pipeline.feature_view import FeatureView  # noqa: E402
from training_pipeline.selection import decide, scorecard  # noqa: E402

SYMBOLS = [
    "BTCUSDT",
    "ETHUSDT",
    "BNBUSDT",
    "ADAUSDT",
    "XRPUSDT",
    "LTCUSDT",
    "LINKUSDT",
    "XLMUSDT",
    "TRXUSDT",
    "ETCUSDT",
    "DOGEUSDT",
    "ATOMUSDT",
    "BCHUSDT",
]
RUNS = (  # (selection year, the following test year)
    (("2020-10-01", "2021-09-30"), ("2021-11-01", "2022-10-31")),
    (("2021-10-01", "2022-09-30"), ("2022-11-01", "2023-10-31")),
)
HORIZON = 30


def view(path: Path, symbol: str) -> FeatureView:
    raw = pd.read_csv(path / f"{symbol}_1d.csv").iloc[:-1]  # the last row is still open
    frame = pd.DataFrame(
        {"open_time": pd.to_datetime(raw["timestamp"], utc=True), "close": raw["close"]}
    )
    return FeatureView(symbol, "1d", frame, (), "csv", 1, None)


def frames(series: FeatureView, period: tuple[str, str]) -> dict[str, pd.DataFrame] | None:
    times = series.open_time
    origins = np.flatnonzero(((times >= period[0]) & (times <= period[1])).to_numpy())
    origins = origins[origins + HORIZON < len(times)]
    if len(origins) < 300 or origins[0] < 500 + 365 + HORIZON:
        return None  # the symbol is too young for this year
    base = baseline_forecasts(series, origins, HORIZON)
    return {
        "persistence": walk_forward(series, origins, base.empirical, base),
        "garch": walk_forward(series, origins, base.garch, base),
    }


def outcome(test: dict[str, pd.DataFrame], kind: str) -> tuple[float, float]:
    """The chosen band's mean interval-score ratio to the empirical band and coverage error."""
    table = ratios(test[kind])
    covered = (test[kind]["low"] <= test[kind]["actual"]) & (
        test[kind]["actual"] <= test[kind]["high"]
    )
    coverage = covered.groupby(test[kind]["horizon"]).mean()
    return float(table["winkler_ratio"].mean()), float((coverage - 0.8).abs().mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared/data/binance")),
    )
    args = parser.parse_args()
    rows = []
    for symbol in SYMBOLS:
        series = view(args.data, symbol)
        for selection, test_year in RUNS:
            sel, test = frames(series, selection), frames(series, test_year)
            if sel is None or test is None:
                continue
            cards = [scorecard(kind, frame) for kind, frame in sel.items()]
            decision = decide(cards, selection)
            better = min(cards, key=lambda c: c.winkler_ratio).kind
            rows.append(
                {
                    "symbol": symbol,
                    "test year": f"{test_year[0][:7]}..{test_year[1][:7]}",
                    "sel W garch": cards[1].winkler_ratio,
                    "DM p": decision.baseline_p,
                    "gate": decision.served,
                    "gate W": outcome(test, decision.served)[0],
                    "better-on-sel": better,
                    "better W": outcome(test, better)[0],
                    "garch W": outcome(test, "garch")[0],
                    "cov err emp": outcome(test, "persistence")[1],
                    "cov err garch": outcome(test, "garch")[1],
                }
            )
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    means = table[["gate W", "better W", "garch W", "cov err emp", "cov err garch"]].mean()
    print(
        f"\n{len(table)} pseudo-runs; next-year interval score / the empirical band's, mean over "
        f"h = 1..30: gate rule {means['gate W']:.3f}, better-on-selection {means['better W']:.3f}, "
        f"always GARCH {means['garch W']:.3f}; mean |coverage - 80%|: empirical "
        f"{means['cov err emp']:.3f}, GARCH {means['cov err garch']:.3f}"
    )
    return 0 if means["gate W"] <= means["better W"] else 1


if __name__ == "__main__":
    sys.exit(main())
