"""Every text table the CLI prints (the JSON documents come from the objects' to_dict)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from candlecast_aws.deploy import UNCHANGED
from daily_pipeline.summary import format_lag

if TYPE_CHECKING:
    from candlecast_aws.deploy import Change
    from daily_pipeline.monitor import SeriesMonitor
    from daily_pipeline.summary import DailySummary
    from feature_pipeline.backfill import BackfillSummary
    from feature_store.base import ModelVersion
    from inference_app.forecaster import Forecast
    from training_pipeline.run import SeriesReport


def render_status(status: dict[str, Any]) -> str:
    """A readable multi-line summary of a `collect_status` document."""
    store = status["store"]
    lines = [f"store: {store['backend']} at {store['uri']}", ""]
    groups = status["feature_groups"]
    if not groups:
        lines.append("feature groups: none yet (run `candlecast backfill`)")
    for group in groups:
        lines.append(
            f"feature group {group['name']} v{group['version']}: {group['rows']:,} rows, "
            f"fingerprint {group['fingerprint'][:12]}"
        )
        lines.append(f"  {'symbol':<12}{'interval':<10}{'rows':>8}  {'first':<20}{'last':<20}")
        for s in group["series"]:
            lines.append(
                f"  {s['symbol']:<12}{s['interval']:<10}{s['rows']:>8}  "
                f"{_short(s['first']):<20}{_short(s['last']):<20}"
            )
    lines.append("")
    lines += _models_table(status["models"])
    lines += _served_lines(status.get("served", []))
    return "\n".join(lines)


def _served_lines(served: list[dict[str, Any]]) -> list[str]:
    if not served:
        return []
    lines = ["", "served models (live: the last 30 scored h = 1 forecasts, ratios to no change)"]
    for row in served:
        live = row["live"]
        age = "-" if row["age_days"] is None else f"{row['age_days']:.1f} days old"
        if live.get("scored"):
            figures = (
                f"live: {live['scored']} scored, MAE ratio {_num(live.get('mae_ratio'), 3)}, "
                f"W ratio {_num(live.get('winkler_ratio'), 3)}, "
                f"coverage {_pct(live.get('coverage'))}"
            )
        else:
            figures = "live: no scored forecasts yet"
        verdict = "DEGRADED: " + "; ".join(row["reasons"]) if live["degraded"] else ""
        lines.append(
            f"  {row['symbol']:<10}{row['interval']:<5}{row['model']} v{row['version']}, fitted "
            f"through {str(row['trained_until'] or '-')[:10]} ({age}); {figures}"
            + (f"; {verdict}" if verdict else "")
        )
    return lines


def _models_table(models: list[dict[str, Any]]) -> list[str]:
    if not models:
        return ["models: none registered yet (run `candlecast train`)"]
    lines = [
        "models (* = served for its symbol and interval; sel MAE / sel W: selection-period MAE "
        "and interval score as ratios to no change and its empirical band)",
        f"  {'':2}{'name':<28}{'version':>8}  {'role':<10}{'created':<18}{'fitted through':<16}"
        f"{'sel MAE':>8}{'sel W':>8}",
    ]
    for m in models:
        mark = "*" if m["best"] else ""
        lines.append(
            f"  {mark:<2}{m['name']:<28}{m['version']:>8}  {m.get('role') or '-':<10}"
            f"{_short(m['created']):<18}{str(m.get('trained_until') or '-')[:10]:<16}"
            f"{_score(m['metrics'].get('sel_mae_ratio')):>8}"
            f"{_score(m['metrics'].get('sel_winkler_ratio')):>8}"
        )
    return lines


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _short(iso: str) -> str:
    return iso.replace("T", " ")[:16]


def forecast_text(result: Forecast) -> str:
    """The forecast as a header line and an aligned table."""
    from inference_app.freshness import format_time
    from inference_app.market import format_change, format_price

    header = (
        f"{result.symbol} {result.interval} · model {result.model.name}:{result.model.version} "
        f"({result.kind}{_age_words(result)}) · data through {result.data_through} · last close "
        f"{format_price(result.last_close)}"
    )
    if result.loaded.decision:
        header += f"\nserved because {result.loaded.decision}"
    candles = all(p.candle.get("high_median") is not None for p in result.points)
    up = all(p.candle.get("p_up") is not None for p in result.points)
    rows = [
        ("date", "median", "low (10%)", "high (90%)", "change")
        + (("pred. high", "pred. low") if candles else ())
        + (("P(up)",) if up else ())
    ]
    rows += [
        (
            format_time(p.date, result.interval),
            format_price(p.median),
            format_price(p.low),
            format_price(p.high),
            format_change(p.change),
        )
        + (
            (format_price(p.candle["high_median"]), format_price(p.candle["low_median"]))
            if candles
            else ()
        )
        + ((f"{p.candle['p_up']:.0%}",) if up else ())
        for p in result.points
    ]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "\n".join([header, *lines])


def _age_words(result: Forecast) -> str:
    age = result.age
    if age.trained_until is None or age.candles is None:
        return ", untrained baseline"
    through = age.trained_until.strftime("%Y-%m-%d %H:%M").removesuffix(" 00:00")
    return f", fitted through {through}, {age.candles} candles old"


def series_text(series: SeriesReport) -> str:
    """One series' run: its periods, the candidates' figures and what is served, and why."""
    served = series.served
    return "\n".join(
        [
            f"{series.symbol} {series.interval} ({series.device}): " + periods_line(series.periods),
            candidates_table([*series.candidates, served]),
            f"served: {served.name}:{served.version} ({served.metadata.get('kind')}) "
            f"because {series.sentence}",
        ]
    )


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


def outlook_table(report: dict[str, Any]) -> str:
    """Predicted candles and P(up) per horizon as one compact table, then P(up) reliability.

    Empty when the model forecasts neither (bundles saved before they existed).
    """
    rows = [(h, r) for h, r in report["horizons"].items() if r.get("brier") or r.get("high_mae")]
    if not rows:
        return ""
    header = ("h", "high MAE", "/ range", "low MAE", "/ range", "Brier", "skill clim")
    lines = [
        "predicted high/low (ratio to the last candle's range) and P(up) "
        "(skill vs the fitting data's up-rate and a random forest):",
        _row((*header, "skill RF", "DA P(up)", "95% CI")),
    ]
    for h, r in rows:
        cells = (
            _num(r.get("high_mae"), 0),
            _num(r.get("high_mae_ratio"), 3),
            _num(r.get("low_mae"), 0),
            _num(r.get("low_mae_ratio"), 3),
            _num(r.get("brier"), 4),
            _num(r.get("brier_skill"), 3),
            _num(r.get("brier_skill_rf"), 3),
            _pct(r.get("pup_da")),
            _ci(r.get("pup_da_low"), r.get("pup_da_high")),
        )
        lines.append(_row((h, *cells)))
    lines.append("P(up) reliability, per bin 'mean P(up) -> observed up-rate (count)':")
    for h, r in rows:
        bins = r.get("reliability") or []
        cells = [f"{b['mean_p']:.2f}->{b['up_rate']:.2f} ({b['count']})" for b in bins]
        lines.append(f"  h{h}: " + ("; ".join(cells) or "-"))
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


def backfill_table(summary: BackfillSummary) -> str:
    """One line per symbol (fetched, rows written, gaps, last closed) and its notes."""
    lines = [
        f"backfill from {summary.source}, interval {summary.interval}",
        f"{'symbol':<12}{'fetched':>9}{'candles':>9}{'features':>10}{'gaps':>6}  last closed",
    ]
    notes = []
    for s in summary.symbols:
        last = f"{s.last_closed:%Y-%m-%d %H:%M}" if s.last_closed else "-"
        lines.append(
            f"{s.symbol:<12}{s.rows_fetched:>9}{s.candles_written:>9}{s.features_written:>10}"
            f"{len(s.gaps):>6}  {last}"
        )
        notes += [f"  {s.symbol}: {gap}" for gap in s.gaps]
        if s.stopped_trading:
            notes.append(
                f"  {s.symbol}: no candles after {s.stopped_trading:%Y-%m-%d %H:%M} "
                "(stopped trading or delisted)"
            )
    lines.append("(candles/features = rows written now; 0 means the store already had them)")
    return "\n".join(lines + notes)


def daily_table(summary: DailySummary) -> str:
    """A fixed-width table for people, one line per symbol."""
    header = (
        "symbol",
        "interval",
        "status",
        "added",
        "last closed candle",
        "lag",
        "logged",
        "scored",
        "note",
    )
    rows = [header] + [
        (
            r.symbol,
            r.interval,
            r.status,
            str(r.candles_added),
            "-" if r.last_closed is None else f"{r.last_closed:%Y-%m-%d %H:%M}",
            format_lag(r.lag),
            str(r.forecasts_logged),
            str(r.forecasts_scored),
            r.message,
        )
        for r in summary.results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ).rstrip()


def deploy_plan(changes: list[Change], dry_run: bool) -> str:
    """Each resource's change (create / update with the fields / unchanged), then the outcome."""
    changed = [c for c in changes if c.action != UNCHANGED]
    lines = ["plan (dry run, nothing was changed):" if dry_run else "deploy:"]
    lines += [f"  {change}" for change in changes]
    if not changed:
        lines.append("nothing to change: every resource is already up to date")
    elif dry_run:
        lines.append(
            f"{len(changed)} resource(s) would change; run again without --dry-run to apply"
        )
    else:
        lines.append(f"{len(changed)} resource(s) changed")
    return "\n".join(lines)


def hindcast_table(document: Mapping[str, Any]) -> str:
    """One line per series: the hindcast rows logged and the outcomes scored."""
    last = document["to"][:10] if document["to"] else "the newest closed candle"
    span = f"{document['from'][:10]} to {last}"
    lines = [f"hindcast from origins {span}"]
    for row in document["series"]:
        lines.append(
            f"  {row['symbol']:<12}{row['interval']:<6}{row['logged']:>8} forecast row(s) logged"
            f"{row['scored']:>8} scored"
        )
    if not any(row["logged"] for row in document["series"]):
        lines.append("nothing new: every origin in the range was already logged")
    return "\n".join(lines)


def monitor_table(reports: Iterable[SeriesMonitor]) -> str:
    """Per series: the served model's verdict, then each model's rolling figures by horizon."""
    lines: list[str] = []
    for report in reports:
        verdict = "DEGRADED: " + "; ".join(report.degraded) if report.is_degraded else "ok"
        if report.note:
            verdict += f" ({report.note})"
        lines.append(
            f"{report.symbol} {report.interval} ({report.kind} forecasts): served "
            f"{report.served or '-'}: {verdict}"
        )
        if report.excluded_in_sample:
            lines.append(
                f"  {report.excluded_in_sample} in-sample outcome(s) left out (--in-sample counts "
                "them)"
            )
        if not report.models:
            lines.append("  no scored forecasts yet")
            lines.append("")
            continue
        windows = sorted({f.window for f in report.figures})
        head = ["model", "h"]
        for w in windows:
            head += [f"n/{w}", "MAE r", "W r", "cover"]
        rows = [head]
        horizons = sorted({f.horizon for f in report.figures})
        for model in report.models:
            for h in horizons:
                row = [model if h == horizons[0] else "", str(h)]
                for w in windows:
                    f = report.figure(model, h, w)
                    row += [
                        str(f.scored),
                        _num(f.mae_ratio, 3),
                        _num(f.winkler_ratio, 3),
                        _pct(f.coverage),
                    ]
                rows.append(row)
        lines += ["  " + _columns(row, rows) for row in rows]
        lines.append("")
    lines.append(
        "MAE r / W r: mean absolute error and interval (Winkler) score over the model's last n "
        "scored forecasts, as ratios to no change from the same origins; cover: share of actual "
        "closes inside the 80% band"
    )
    return "\n".join(lines)


def _columns(row: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(row))]
    return "  ".join(
        cell.ljust(w) if i == 0 else cell.rjust(w)
        for i, (cell, w) in enumerate(zip(row, widths, strict=True))
    ).rstrip()
