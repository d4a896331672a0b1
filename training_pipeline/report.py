"""Readable and machine-readable views of registered models' walk-forward metrics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from feature_store.base import SELECTION_METRIC, ModelVersion
from training_pipeline.config import EVAL_HORIZONS

_PER_HORIZON = (
    "mae",
    "persistence_mae",
    "drift_mae",
    "mae_ratio",
    "drift_mae_ratio",
    "rmse",
    "persistence_rmse",
    "mape",
    "mase",
    "persistence_mase",
    "da",
    "da_low",
    "da_high",
    "up_share",
    "coverage80",
    "width80",
    "persistence_coverage80",
    "persistence_width80",
    "dm_p",
)


def evaluation(version: ModelVersion) -> dict[str, Any]:
    """A registered model's test-period metrics per horizon, with its selection metric."""
    meta, metrics = version.metadata, version.metrics
    horizons = [h for h in EVAL_HORIZONS if f"mae_h{h}" in metrics]
    return {
        "model": version.name,
        "version": version.version,
        "kind": meta.get("kind"),
        "symbol": meta.get("symbol"),
        "interval": meta.get("interval"),
        SELECTION_METRIC: metrics.get(SELECTION_METRIC),
        "origins": int(metrics.get("origins", 0)),
        "test_period": [meta.get("test_start"), meta.get("test_end")],
        "trained_until": meta.get("trained_until"),
        "evaluation": meta.get("evaluation"),
        "horizons": {str(h): {k: metrics.get(f"{k}_h{h}") for k in _PER_HORIZON} for h in horizons},
    }


def evaluation_table(report: dict[str, Any]) -> str:
    """The evaluation as two aligned tables: point accuracy, then direction and intervals."""
    start, end = report["test_period"]
    lines = [
        f"{report['model']}:{report['version']} ({report['kind']}) on {report['symbol']} "
        f"{report['interval']}: walk-forward over {report['origins']} test origins "
        f"{_day(start)} .. {_day(end)}",
        f"  {report['evaluation']}; training labels end {_day(report['trained_until'])}",
        f"  chosen by {SELECTION_METRIC} = {_num(report[SELECTION_METRIC], 3)} "
        "(validation period; persistence = 1.000)",
        "",
        _row(("h", "MAE", "persist.", "drift", "ratio", "RMSE", "MAPE%", "MASE", "DM p")),
    ]
    for h, row in report["horizons"].items():
        lines.append(
            _row(
                (
                    h,
                    _num(row["mae"], 0),
                    _num(row["persistence_mae"], 0),
                    _num(row["drift_mae"], 0),
                    _num(row["mae_ratio"], 3),
                    _num(row["rmse"], 0),
                    _num(row["mape"], 2),
                    _num(row["mase"], 2),
                    _num(row["dm_p"], 3),
                )
            )
        )
    header = ("h", "DA", "95% CI", "up-share", "cover80", "width80", "p.cover", "p.width")
    lines += ["", _row(header)]
    for h, row in report["horizons"].items():
        ci = f"{_num(row['da_low'], 2)}-{_num(row['da_high'], 2)}"
        lines.append(
            _row(
                (
                    h,
                    _num(row["da"], 3),
                    ci,
                    _num(row["up_share"], 3),
                    _num(row["coverage80"], 3),
                    _num(row["width80"], 0),
                    _num(row["persistence_coverage80"], 3),
                    _num(row["persistence_width80"], 0),
                )
            )
        )
    return "\n".join(lines)


def candidates_table(versions: Iterable[ModelVersion]) -> str:
    """One line per model: selection metric (validation) next to headline test numbers."""
    lines = [_row(("model", "val ratio", "ratio h1", "ratio h7", "ratio h30", "cover80 h1"), 28)]
    for v in versions:
        m = v.metrics
        lines.append(
            _row(
                (
                    f"{v.name}:{v.version}",
                    _num(m.get(SELECTION_METRIC), 3),
                    _num(m.get("mae_ratio_h1"), 3),
                    _num(m.get("mae_ratio_h7"), 3),
                    _num(m.get("mae_ratio_h30"), 3),
                    _num(m.get("coverage80_h1"), 3),
                ),
                28,
            )
        )
    return "\n".join(lines)


def _row(cells: Iterable[Any], first: int = 3) -> str:
    cells = list(cells)
    return f"{cells[0]!s:<{first}}" + "".join(f"{c!s:>11}" for c in cells[1:])


def _num(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _day(value: Any) -> str:
    return str(value)[:10] if value else "?"
