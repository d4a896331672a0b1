"""The weekly retrain as AWS Lambda runs it: event -> settings (+ secret) -> series, to a deadline.

`lambda/train_handler.py` (the `Dockerfile.train` image) is a thin adapter over `handle`; the
work is `training_pipeline.retrain`, with the live monitor's verdict from
`daily_pipeline.monitor.live_health` (the CLI uses the same). Settings, the Hopsworks key secret
and the deadline are read as the daily job reads them (`candlecast_aws.job`). Only the standard
library and the settings are imported at module level; the pipeline loads on use.

- Refused (permanent: logged and RETURNED with `"ok": false`, so the schedule does not spend
  retries): a bad event or setting, an unreadable secret, and an embedded model registry that
  would be lost. A registry folder under CANDLECAST_HOME is, on Lambda, in the instance's /tmp
  unless it is an EFS mount (Lambda mounts those under /mnt/): a version registered there
  vanishes with the instance and neither the app nor the daily function ever sees it. Use a
  registry on S3 (CANDLECAST_REGISTRY_URI=s3://...), Hopsworks (CANDLECAST_STORE=hopsworks), a
  folder under /mnt/, or `"allow_ephemeral_registry": true` in the event for a smoke run.
- Series run one after another in this thread (a training run is CPU-bound and must never go
  on after the handler returned). A refit is not started with less time left than the longest
  refit so far took, or than MIN_REFIT_S for the first: that series is reported as failed and
  the next run does it. A series that failed raises `RetrainFailed` after the others ran, so
  the invocation is retried; a retry refits only what is still old, so it is cheap.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from candlecast.errors import CandlecastError, SettingsError
from candlecast.settings import Settings
from candlecast_aws.job import PERMANENT, Deadline, aws_client, load_settings, rejected, round_s
from candlecast_aws.job import parse_event as parse_daily_event

if TYPE_CHECKING:
    from feature_store.base import FeatureStore, ModelRegistry
    from training_pipeline.retrain import Outcome, Plan

logger = logging.getLogger("candlecast.retrain")

# Kept back from the Lambda's remaining time: the summary's log lines and the return.
MARGIN_S = 15.0
# The least time a first refit is started with. The handler's refit of BTCUSDT 1d took 27 s
# (quick config) and 193 s (default) as a process on 2 cores, peak RSS 0.9 / 1.2 GiB
# (benchmarks/retrain.py); a served network adds its walk-forward refits.
MIN_REFIT_S = 240.0
PERSISTENT_MOUNTS = PurePosixPath("/mnt")  # where Lambda mounts EFS file systems
_SERIES_KEYS = ("symbols", "interval")
_OPTIONS = ("max_age", "dry_run", "allow_ephemeral_registry")
_EXPECTED = (
    'an EventBridge scheduled event, or an object with optional "symbols" (a list such as '
    '["BTCUSDT"]), "interval" (such as "1d"), "max_age" (such as "30d"), "dry_run" and '
    '"allow_ephemeral_registry" (true or false)'
)


class RetrainFailed(CandlecastError):
    """At least one series' retrain failed; the summary says which and why."""

    def __init__(self, summary: dict[str, Any]) -> None:
        failed = [s for s in summary["series"] if not s["ok"]]
        names = ", ".join(f"{s['symbol']} ({s['error']})" for s in failed)
        super().__init__(
            f"retrain failed for {len(failed)} of {len(summary['series'])} series: {names}; "
            "the served versions of those are unchanged, fix the cause and run again"
        )
        self.summary = summary


@dataclass(frozen=True)
class RetrainEvent:
    """What an event asks for: settings overrides and the retrain's options."""

    overrides: dict[str, Any]
    max_age: timedelta | None = None
    dry_run: bool = False
    allow_ephemeral_registry: bool = False


def parse_event(event: Any) -> RetrainEvent:
    """The request an event makes (defaults for a plain scheduled event); SettingsError if bad."""
    if isinstance(event, dict) and (event.get("source") == "aws.events" or "detail-type" in event):
        if event.get("detail-type") != "Scheduled Event":
            raise SettingsError(
                f"event {event.get('detail-type')!r} is not handled; expected {_EXPECTED}"
            )
        return parse_event(event.get("detail") or {})
    if not isinstance(event, dict):
        raise SettingsError(f"the event is a {type(event).__name__}; expected {_EXPECTED}")
    unknown = sorted(set(event) - {*_SERIES_KEYS, *_OPTIONS})
    if unknown:
        raise SettingsError(
            f"the event has unknown key(s) {', '.join(map(str, unknown))}; expected {_EXPECTED}"
        )
    from training_pipeline.retrain import parse_age

    max_age = event.get("max_age")
    if max_age is not None and not isinstance(max_age, str):
        raise SettingsError(f'"max_age" must be a string such as "30d"; expected {_EXPECTED}')
    for key in ("dry_run", "allow_ephemeral_registry"):
        if not isinstance(event.get(key, False), bool):
            raise SettingsError(f'"{key}" must be true or false; expected {_EXPECTED}')
    return RetrainEvent(
        overrides=parse_daily_event({k: event[k] for k in _SERIES_KEYS if k in event}),
        max_age=None if max_age is None else parse_age(max_age, '"max_age"'),
        dry_run=event.get("dry_run", False),
        allow_ephemeral_registry=event.get("allow_ephemeral_registry", False),
    )


def check_registry(settings: Settings, allow_ephemeral: bool) -> None:
    """Refuse an embedded registry that would live in the instance's /tmp (module docstring)."""
    from feature_store.storage import is_remote

    if settings.store != "local" or allow_ephemeral or is_remote(settings.registry_location):
        return
    home = PurePosixPath(settings.registry_location)
    if PERSISTENT_MOUNTS in home.parents:
        return
    raise SettingsError(
        f"the model registry would live in {home}, which is lost with the Lambda instance: "
        "a retrained model would never be served; use a registry on S3 "
        "(CANDLECAST_REGISTRY_URI=s3://BUCKET/registry), Hopsworks (CANDLECAST_STORE=hopsworks), "
        'put CANDLECAST_HOME on an EFS mount under /mnt/, or pass "allow_ephemeral_registry": '
        "true in the event for a smoke run"
    )


def handle(
    event: Any, env: Mapping[str, str], *, remaining_ms: Callable[[], int] | None = None
) -> dict[str, Any]:
    """Run the retrain for a Lambda event within the time `remaining_ms()` reports.

    The summary; `{"ok": false, ...}` for a permanent error; RetrainFailed when a series failed.
    """
    deadline = Deadline.after(remaining_ms, MARGIN_S)
    try:
        request = parse_event(event)
        settings = load_settings(env, request.overrides, lambda: aws_client("secretsmanager"))
        check_registry(settings, request.allow_ephemeral_registry)
        from feature_store import open_registry, open_store

        store, registry = open_store(settings), open_registry(settings)
    except PERMANENT as error:
        return rejected(error, "retrain", "series", logger)
    except CandlecastError as error:
        logger.error(json.dumps({"event": "retrain-failed", "ok": False, "error": str(error)}))
        raise
    summary = run_series(settings, store, registry, request, deadline)
    if not summary["ok"]:
        raise RetrainFailed(summary)
    return summary


def run_series(
    settings: Settings,
    store: FeatureStore,
    registry: ModelRegistry,
    request: RetrainEvent,
    deadline: Deadline,
) -> dict[str, Any]:
    """Plan and carry out each series' retrain in turn, never starting a refit too late."""
    from training_pipeline.retrain import carry_out, default_max_age, plan_series

    interval, now = settings.interval, settings.clock()
    max_age = request.max_age or default_max_age(settings, interval)
    from daily_pipeline.monitor import live_health

    health = live_health(store)
    started, longest, outcomes = time.monotonic(), MIN_REFIT_S, []
    for symbol in settings.symbols:
        planned = plan_series(
            store, registry, symbol, interval, now=now, max_age=max_age, health=health
        )
        left = deadline.left()
        too_late = left is not None and left < longest and not request.dry_run
        if planned.action == "refit" and too_late:
            outcome = _not_started(planned, left, longest)
        else:
            outcome = carry_out(settings, store, registry, planned, dry_run=request.dry_run)
            longest = max(longest, outcome.seconds)
        line = {"event": "retrain-series", "now": now.isoformat(), **outcome.to_dict()}
        logger.info(json.dumps(line))
        outcomes.append(outcome)
    summary = {
        "ok": all(o.ok for o in outcomes),
        "now": now.isoformat(),
        "interval": interval,
        "max_age_s": max_age.total_seconds(),
        "dry_run": request.dry_run,
        "seconds": round(time.monotonic() - started, 1),
        "series": [o.to_dict() for o in outcomes],
    }
    failed = [o.plan.symbol for o in outcomes if not o.ok]
    run_line = {"event": "retrain-run", "ok": summary["ok"], "seconds": summary["seconds"]}
    logger.info(json.dumps({**run_line, "budget_s": round_s(deadline.seconds), "failed": failed}))
    return summary


def _not_started(planned: Plan, left: float, needed: float) -> Outcome:
    from training_pipeline.retrain import Outcome

    return Outcome(
        planned,
        error=f"not started: {left:.0f} s of the Lambda's time left, a refit needs about "
        f"{needed:.0f} s; the next run does it",
    )
