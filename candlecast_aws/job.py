"""The daily job as AWS Lambda runs it: event -> settings (+ secret) -> symbols, to a deadline.

`lambda/handler.py` is a thin adapter over `handle`. Only the standard library and the settings
are imported at module level, so the Lambda's cold import stays fast; the pipeline loads on use.

Time: the work ends MARGIN_S before the Lambda's own timeout (from the context's remaining time),
or after RUN_SHARE of one candle of the event's interval if that is sooner (a 5m run: 150 s).
Symbols run on MAX_WORKERS threads, each within its share of that time; a symbol not finished by
then is reported as an error, and the summary is logged and returned (or raised) before the
timeout. Failures are of two kinds:

- permanent (SettingsError, ValidationError before any symbol runs: a bad event, a bad setting, a
  secret that does not exist or may not be read): one error line is logged and a result with
  `"ok": false` is RETURNED, so EventBridge does not spend its retries on a run that cannot work;
- transient (everything else: Binance or S3 unreachable, a store error, a symbol that failed or
  ran out of time): raised (`DailyRunFailed` once symbols ran), so EventBridge retries; a retry
  is safe because the run is idempotent.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from candlecast.errors import CandlecastError, SettingsError, ValidationError
from candlecast.intervals import check_interval, interval_ms
from candlecast.settings import Settings, parse_symbols

if TYPE_CHECKING:
    from daily_pipeline.summary import DailySummary, SymbolResult
    from feature_pipeline.fetch import CandleSource
    from feature_store.base import FeatureStore, ModelRegistry

logger = logging.getLogger("candlecast.daily")

KEY_SECRET_ENV = "HOPSWORKS_API_KEY_SECRET"
# Threads, not processes: a symbol's time is spent waiting on Binance and S3. Four keep the
# Binance weight (a few requests per symbol), the Lambda's memory (one series' frames and Delta
# merge per thread) and commit conflicts on the shared tables small, and still fit 8 symbols
# that each spend Binance's whole retry schedule (~47 s) in two rounds of a 300 s timeout.
MAX_WORKERS = 4
# Kept back from the Lambda's remaining time: a request in flight at a symbol's deadline (10 s
# timeout), then the summary's log lines and the return.
MARGIN_S = 15.0
# One function serves every interval's rule, under one Lambda timeout: a run also ends within
# half a candle of its interval, so a 5m run is done long before the next one starts (two runs
# of an interval at once are safe, the sync is idempotent, but the second only repeats the
# first's requests) and its candles land before the app calls them stale (schedule.py).
RUN_SHARE = 0.5
PERMANENT = (SettingsError, ValidationError)
_SECRETS_TRANSIENT = {"ThrottlingException", "InternalServiceError", "ServiceUnavailable"}
_OVERRIDES = {"symbols", "interval"}
_EXPECTED = (
    'an EventBridge scheduled event, or an object with optional "symbols" (a list such as '
    '["BTCUSDT", "ETHUSDT"]) and "interval" (such as "1d")'
)


class DailyRunFailed(CandlecastError):
    """At least one symbol of a daily run failed; the summary says which and why."""

    def __init__(self, summary: dict[str, Any]) -> None:
        failed = [s for s in summary["symbols"] if s["status"] == "error"]
        names = ", ".join(f"{s['symbol']} ({s['message']})" for s in failed)
        super().__init__(
            f"daily run failed for {len(failed)} of {len(summary['symbols'])} symbol(s): {names}; "
            "the other symbols were updated, fix the cause and run again (it is idempotent)"
        )
        self.summary = summary


class SecretsUnavailable(CandlecastError):
    """Secrets Manager could not be reached or was busy; a later run may succeed."""


@dataclass(frozen=True)
class Deadline:
    """When the work must end (a time.monotonic() value); `at` None means no deadline."""

    at: float | None = None
    seconds: float | None = None  # the work's whole budget, from its start

    @classmethod
    def after(cls, remaining_ms: Callable[[], int] | None, margin_s: float = MARGIN_S) -> Deadline:
        """The deadline `margin_s` before the end of the time `remaining_ms()` reports."""
        if remaining_ms is None:
            return cls()
        seconds = max(0.0, remaining_ms() / 1000 - margin_s)
        return cls(time.monotonic() + seconds, seconds)

    def within(self, seconds: float, started: float) -> Deadline:
        """This deadline, or `seconds` after `started` (a time.monotonic() value) if sooner."""
        if self.at is not None and self.at <= started + seconds:
            return self
        return Deadline(started + seconds, max(0.0, started + seconds - time.monotonic()))

    def left(self) -> float | None:
        """Seconds until the deadline (0 once it passed; None without a deadline)."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def for_one(self, share: float | None) -> float | None:
        """The deadline of a job that starts now and may take `share` seconds of this one."""
        if self.at is None or share is None:
            return self.at
        return min(self.at, time.monotonic() + share)


def parse_event(event: Any) -> dict[str, Any]:
    """The overrides an event asks for ({} for a plain scheduled event); SettingsError if bad."""
    if not isinstance(event, dict):
        raise SettingsError(f"the event is a {type(event).__name__}; expected {_EXPECTED}")
    if event.get("source") == "aws.events" or "detail-type" in event:
        if event.get("detail-type") != "Scheduled Event":
            raise SettingsError(
                f"event {event.get('detail-type')!r} is not handled; expected {_EXPECTED}"
            )
        detail = event.get("detail") or {}
        return parse_event(detail) if detail else {}
    unknown = sorted(set(event) - _OVERRIDES)
    if unknown:
        raise SettingsError(
            f"the event has unknown key(s) {', '.join(map(str, unknown))}; expected {_EXPECTED}"
        )
    overrides: dict[str, Any] = {}
    if "symbols" in event:
        overrides["symbols"] = _symbols(event["symbols"])
    if "interval" in event:
        if not isinstance(event["interval"], str):
            raise SettingsError(f'"interval" must be a string such as "1d"; expected {_EXPECTED}')
        overrides["interval"] = check_interval(event["interval"])
    return overrides


def _symbols(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise SettingsError(f'"symbols" must be a non-empty list of strings; expected {_EXPECTED}')
    return parse_symbols(",".join(value))


def hopsworks_api_key(settings: Settings, secrets: Callable[[], Any]) -> str | None:
    """HOPSWORKS_API_KEY, or the secret HOPSWORKS_API_KEY_SECRET names (read with `secrets()`)."""
    if settings.hopsworks_api_key:
        return settings.hopsworks_api_key
    name = settings.hopsworks_api_key_secret
    if not name:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = secrets().get_secret_value(SecretId=name)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in _SECRETS_TRANSIENT:
            raise SecretsUnavailable(
                f"Secrets Manager answered {code} for secret {name!r}; the next run tries again"
            ) from None
        raise SettingsError(
            f"could not read secret {name!r} from Secrets Manager ({code}); check {KEY_SECRET_ENV} "
            "and that the Lambda's role may secretsmanager:GetSecretValue on it"
        ) from None
    except BotoCoreError as error:
        raise SecretsUnavailable(
            f"could not reach Secrets Manager for secret {name!r} ({error}); "
            "the next run tries again"
        ) from None
    return _key_in(answer.get("SecretString") or "", name)


def _key_in(text: str, name: str) -> str:
    """A secret is the key itself, or a JSON object with it under HOPSWORKS_API_KEY or api_key."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = {}
        text = str(data.get("HOPSWORKS_API_KEY") or data.get("api_key") or "")
    if not text.strip():
        raise SettingsError(
            f"secret {name!r} holds no API key; store the key as the secret string or as "
            '{"HOPSWORKS_API_KEY": "..."}'
        )
    return text.strip()


def load_settings(
    env: Mapping[str, str], overrides: Mapping[str, Any], secrets: Callable[[], Any]
) -> Settings:
    """Settings from the environment, the event's overrides and the Hopsworks key."""
    settings = Settings.from_env(env)
    key = hopsworks_api_key(settings, secrets)
    return settings.with_overrides(hopsworks_api_key=key, **overrides)


def handle(
    event: Any, env: Mapping[str, str], *, remaining_ms: Callable[[], int] | None = None
) -> dict[str, Any]:
    """Run the daily job for a Lambda event within the time `remaining_ms()` reports.

    The summary; `{"ok": false, ...}` for a permanent error; DailyRunFailed when a symbol failed.
    """
    started = time.monotonic()
    deadline = Deadline.after(remaining_ms)
    try:
        settings = load_settings(env, parse_event(event), lambda: aws_client("secretsmanager"))
        deadline = deadline.within(run_budget_s(settings.interval), started)
        store = _open_store(settings)
        registry = _open_registry(settings)
    except PERMANENT as error:
        return rejected(error)
    except CandlecastError as error:
        logger.error(json.dumps({"event": "daily-failed", "ok": False, "error": str(error)}))
        raise
    summary = run_symbols(settings, store, _sources(settings), deadline, registry).to_dict()
    for line in summary["symbols"]:
        logger.info(json.dumps({"event": "daily-symbol", "now": summary["now"], **line}))
    failed = [s["symbol"] for s in summary["symbols"] if s["status"] == "error"]
    run_line = {"event": "daily-run", "ok": summary["ok"], "seconds": summary["seconds"]}
    logger.info(json.dumps({**run_line, "budget_s": round_s(deadline.seconds), "failed": failed}))
    if not summary["ok"]:
        raise DailyRunFailed(summary)
    return summary


def run_budget_s(interval: str) -> float:
    """The longest a run of `interval` may take, whatever the Lambda's timeout."""
    return interval_ms(interval) / 1000 * RUN_SHARE


def run_symbols(
    settings: Settings,
    store: FeatureStore,
    open_source: Callable[[float | None], CandleSource],
    deadline: Deadline,
    registry: ModelRegistry | None = None,
) -> DailySummary:
    """Update every symbol of the settings on MAX_WORKERS threads; each is reported by `deadline`.

    With a registry, each symbol's forecasts are logged and scored after its sync.

    `open_source(d)` opens a symbol's source, which stops retrying at `d`: the symbol's start plus
    an equal share of the time left (that time over the rounds the workers need), at most the
    run's deadline. A symbol still running at the deadline is reported as failed and left to end
    on its own, which its source's deadline bounds; the next run catches it up.
    """
    from daily_pipeline.run import update_symbol
    from daily_pipeline.summary import DailySummary

    symbols, interval, now = settings.symbols, settings.interval, settings.clock()
    started = time.monotonic()
    workers = min(MAX_WORKERS, len(symbols))
    left = deadline.left()
    share = None if left is None else left / math.ceil(len(symbols) / workers)

    def update(symbol: str) -> SymbolResult:
        if deadline.left() == 0:  # started too late to do anything useful
            return _not_finished(symbol, interval, deadline)
        source = open_source(deadline.for_one(share))
        return update_symbol(store, source, symbol, interval, now, registry)

    pool = ThreadPoolExecutor(workers, thread_name_prefix="candlecast-symbol")
    try:
        futures = [pool.submit(update, symbol) for symbol in symbols]
        wait(futures, timeout=deadline.left())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # never wait past the deadline
    results = tuple(
        _outcome(f, s, interval, deadline) for f, s in zip(futures, symbols, strict=True)
    )
    return DailySummary(now, interval, results, seconds=time.monotonic() - started)


def _open_store(settings: Settings) -> FeatureStore:
    from daily_pipeline.groups import OUTCOMES, PREDICTIONS
    from feature_pipeline.groups import CANDLES, FEATURES
    from feature_store import open_store

    store = open_store(settings)
    for spec in (CANDLES, FEATURES, PREDICTIONS, OUTCOMES):  # so the threads never create one
        store.ensure(spec)
    return store


def _open_registry(settings: Settings) -> ModelRegistry:
    from feature_store import open_registry

    return open_registry(settings)


def _sources(settings: Settings) -> Callable[[float | None], CandleSource]:
    """A factory of one Binance source per symbol (archived when CANDLECAST_RAW_BUCKET is set)."""
    from feature_pipeline.source import open_source

    s3 = aws_client("s3") if settings.raw_bucket else None  # one client: boto3 clients are shared

    def open_for(deadline: float | None) -> CandleSource:
        source = open_source(settings, deadline=deadline)
        if s3 is None:
            return source
        from feature_pipeline.archive import ArchivingSource

        return ArchivingSource(source, settings.raw_bucket, s3)

    return open_for


def _outcome(
    future: Future[SymbolResult], symbol: str, interval: str, deadline: Deadline
) -> SymbolResult:
    from daily_pipeline.summary import ERROR, SymbolResult

    if not future.done() or future.cancelled():
        return _not_finished(symbol, interval, deadline)
    error = future.exception()
    if error is None:
        return future.result()
    logger.error("daily run crashed for %s %s", symbol, interval, exc_info=error)
    return SymbolResult(symbol, interval, ERROR, message=f"{type(error).__name__}: {error}")


def _not_finished(symbol: str, interval: str, deadline: Deadline) -> SymbolResult:
    from daily_pipeline.summary import ERROR, SymbolResult

    budget = f" ({deadline.seconds:.0f} s)" if deadline.seconds is not None else ""
    return SymbolResult(
        symbol,
        interval,
        ERROR,
        message=f"not finished within the Lambda's time budget{budget}; the next run catches up",
    )


def rejected(
    error: CandlecastError, job: str = "daily", items: str = "symbols", log: logging.Logger = logger
) -> dict[str, Any]:
    """The result of a run that cannot work as configured: logged, returned, not retried."""
    result = {
        "ok": False,
        "permanent": True,
        "error": str(error),
        "error_type": type(error).__name__,
    }
    log.error(json.dumps({"event": f"{job}-rejected", **result}))
    return {**result, items: []}


def round_s(seconds: float | None) -> float | None:
    """Seconds to one decimal for the log lines (None stays None)."""
    return None if seconds is None else round(seconds, 1)


def aws_client(service: str) -> Any:
    """A boto3 client with the environment's region, credentials and endpoint."""
    import boto3

    return boto3.client(service)
