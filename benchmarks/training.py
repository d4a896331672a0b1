"""Training speed targets: `--quick` <= 3 min and the default tuning run <= 20 min on CPU.

Backfills BTCUSDT 1d from the shared Binance CSV into a temporary store, then times each run
(train + walk-forward evaluation + registration of persistence, MLP and LSTM) and prints a table
with the headline test-period numbers. Exits 1 when a run misses its target.

    .venv/bin/python benchmarks/training.py [--only quick|default] [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGETS_S = {"quick": 180.0, "default": 1200.0}


def backfill(home: Path, data: Path) -> tuple[object, object, object]:
    from candlecast.settings import Settings
    from feature_pipeline.backfill import run as backfill_run
    from feature_pipeline.source import open_source
    from feature_store import open_registry, open_store

    settings = Settings(home=home, symbols=("BTCUSDT",), interval="1d")
    store = open_store(settings)
    source = open_source(settings, f"csv:{data / 'BTCUSDT_1d.csv'}")
    backfill_run(settings, store, source, ["BTCUSDT"], "1d", progress=False)
    return settings, store, open_registry(settings)


def timed_run(name: str, settings: object, store: object, registry: object) -> dict[str, object]:
    from training_pipeline.config import DEFAULT, QUICK
    from training_pipeline.run import run

    config = QUICK if name == "quick" else DEFAULT
    start = time.perf_counter()
    report = run(settings, store, registry, config=config, progress=False)
    seconds = time.perf_counter() - start
    return {"run": name, "seconds": seconds, "report": report}


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        f"{'run':<9}{'seconds':>9}{'target':>8}{'ok':>5}  {'model':<24}"
        f"{'val ratio':>10}{'ratio h1':>9}{'ratio h7':>9}{'ratio h30':>10}{'cov80 h1':>9}"
    ]
    for row in rows:
        report, target = row["report"], TARGETS_S[row["run"]]
        ok = "yes" if row["seconds"] <= target else "NO"
        for i, v in enumerate(report.versions):
            m = v.metrics
            lead = (
                f"{row['run']:<9}{row['seconds']:>9.1f}{target:>8.0f}{ok:>5}"
                if i == 0
                else " " * 31
            )
            lines.append(
                f"{lead}  {v.name:<24}{m['val_mae_ratio_h1_7']:>10.3f}{m['mae_ratio_h1']:>9.3f}"
                f"{m['mae_ratio_h7']:>9.3f}{m['mae_ratio_h30']:>10.3f}{m['coverage80_h1']:>9.3f}"
            )
        lines.append(" " * 31 + f"  device {report.device}, best by validation: {report.best.name}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(TARGETS_S), help="run just one of the two")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared/data/binance")),
        help="folder holding BTCUSDT_1d.csv",
    )
    args = parser.parse_args()
    names = [args.only] if args.only else ["quick", "default"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="candlecast-bench-") as home:
        settings, store, registry = backfill(Path(home), args.data)
        for name in names:
            rows.append(timed_run(name, settings, store, registry))
            print(f"{name}: {rows[-1]['seconds']:.1f} s", file=sys.stderr)
    print(table(rows))
    return 0 if all(r["seconds"] <= TARGETS_S[r["run"]] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
