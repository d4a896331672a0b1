"""Readable and machine-readable views of a model's walk-forward metrics and a run's choice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from feature_store.base import ModelVersion
from training_pipeline.config import EVAL_HORIZONS

PER_HORIZON = (
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
    "dm_p",
    "da",
    "da_low",
    "da_high",
    "up_share",
    "coverage80",
    "coverage80_low",
    "coverage80_high",
    "width80",
    "winkler",
    "winkler_ratio",
    "pinball",
    "persistence_coverage80",
    "persistence_width80",
    "persistence_winkler",
    "persistence_pinball",
    "garch_coverage80",
    "garch_width80",
    "garch_winkler",
    "garch_winkler_ratio",
    "garch_pinball",
)
PERIOD_NAMES = ("train", "val", "selection", "test")


def evaluation(version: ModelVersion) -> dict[str, Any]:
    """A registered model's test-period metrics per horizon, with its periods and selection."""
    meta = version.metadata
    report = metrics_report(
        version.metrics, period=meta.get("test_period") or [None, None], label="test period"
    )
    return {
        "model": version.name,
        "version": version.version,
        "kind": meta.get("kind"),
        "role": meta.get("role"),
        "symbol": meta.get("symbol"),
        "interval": meta.get("interval"),
        "trained_until": meta.get("trained_until"),
        "decision": meta.get("decision"),
        "evaluation": meta.get("evaluation"),
        "periods": {name: meta.get(f"{name}_period") for name in PERIOD_NAMES},
        "selection": {k: v for k, v in version.metrics.items() if k.startswith("sel_")},
        **report,
    }


def metrics_report(
    metrics: Mapping[str, float], *, period: list[Any], label: str
) -> dict[str, Any]:
    """The scored origins and per-horizon metrics of one walk-forward (any period)."""
    horizons = [h for h in EVAL_HORIZONS if f"mae_h{h}" in metrics]
    return {
        "label": label,
        "period": list(period),
        "origins": int(metrics.get("origins", 0)),
        "horizons": {str(h): {k: metrics.get(f"{k}_h{h}") for k in PER_HORIZON} for h in horizons},
    }


def evaluation_table(report: dict[str, Any]) -> str:
    """The evaluation as three aligned tables: point errors, intervals, direction."""
    start, end = report["period"]
    lines = [
        f"{report['model']}:{report['version']} ({report['kind']}) on {report['symbol']} "
        f"{report['interval']}: walk-forward over {report['origins']} origins of the "
        f"{report['label']}, {_day(start)} .. {_day(end)}",
    ]
    if report.get("decision"):
        lines.append(f"  served because {report['decision']}")
    if report.get("periods"):
        lines.append("  periods: " + periods_line(report["periods"]))
    if report.get("trained_until"):
        lines.append(f"  fitted on candles through {_day(report['trained_until'])}")
    lines += ["", _row(("h", "MAE", "persist.", "drift", "ratio", "RMSE", "MAPE%", "MASE", "DM p"))]
    rows = report["horizons"].items()
    for h, r in rows:
        lines.append(
            _row(
                (
                    h,
                    _num(r["mae"], 0),
                    _num(r["persistence_mae"], 0),
                    _num(r["drift_mae"], 0),
                    _num(r["mae_ratio"], 3),
                    _num(r["rmse"], 0),
                    _num(r["mape"], 2),
                    _num(r["mase"], 2),
                    _num(r["dm_p"], 3),
                )
            )
        )
    header = ("h", "cover80", "95% CI", "width80", "Winkler", "W ratio", "pinball", "p.cover")
    lines += ["", _row(header + ("g.cover", "g.W ratio"))]
    for h, r in rows:
        lines.append(
            _row(
                (
                    h,
                    _pct(r["coverage80"]),
                    _ci(r["coverage80_low"], r["coverage80_high"]),
                    _num(r["width80"], 0),
                    _num(r["winkler"], 0),
                    _num(r["winkler_ratio"], 3),
                    _num(r["pinball"], 0),
                    _pct(r["persistence_coverage80"]),
                    _pct(r["garch_coverage80"]),
                    _num(r["garch_winkler_ratio"], 3),
                )
            )
        )
    lines += ["", _row(("h", "DA", "95% CI", "up-share"))]
    for h, r in rows:
        lines.append(_row((h, _pct(r["da"]), _ci(r["da_low"], r["da_high"]), _pct(r["up_share"]))))
    lines += [
        "",
        "ratio: MAE / persistence's; W ratio: interval score (Winkler, alpha 0.2) / the empirical "
        "band's (p.); g.: persistence with the GARCH band; intervals respect overlapping windows",
    ]
    return "\n".join(lines)


def periods_line(periods: Mapping[str, Any]) -> str:
    """'train 2018-03-01..2022-08-31 | val ... | selection ... | test ...'."""
    return " | ".join(
        f"{name} {_day(dates[0])}..{_day(dates[1])}" for name, dates in periods.items() if dates
    )


def candidates_table(versions: Iterable[ModelVersion]) -> str:
    """One line per model: selection-period figures (what chose) next to test figures."""
    header = ("model", "sel MAE", "sel W", "sel p h1", "sel p h7", "MAE h1", "MAE h7", "W h1")
    lines = [_row(header + ("cover h1",), 30)]
    for v in versions:
        m = v.metrics
        lines.append(
            _row(
                (
                    f"{v.name}:{v.version}",
                    _num(m.get("sel_mae_ratio"), 3),
                    _num(m.get("sel_winkler_ratio"), 3),
                    _num(m.get("sel_dm_p_h1"), 2),
                    _num(m.get("sel_dm_p_h7"), 2),
                    _num(m.get("mae_ratio_h1"), 3),
                    _num(m.get("mae_ratio_h7"), 3),
                    _num(m.get("winkler_ratio_h1"), 3),
                    _pct(m.get("coverage80_h1")),
                ),
                30,
            )
        )
    lines.append(
        "sel: selection period, MAE and interval score (W) as ratios to persistence and its "
        "empirical band, one-sided DM p vs no change; the rest: test period"
    )
    return "\n".join(lines)


def _row(cells: Iterable[Any], first: int = 3) -> str:
    cells = list(cells)
    return f"{cells[0]!s:<{first}}" + "".join(f"{c!s:>11}" for c in cells[1:])


def _num(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ci(low: Any, high: Any) -> str:
    if low is None or high is None:
        return "-"
    return f"{100 * low:.0f}-{100 * high:.0f}%"


def _day(value: Any) -> str:
    return str(value)[:10] if value else "?"
