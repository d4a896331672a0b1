"""Binance's REST API as a candle source: own pagination, retries with backoff, pacing by weight.

python-binance does the HTTP; this module decides what to trust. It never retries, ignores
Retry-After and truncates silently on its own, so every call goes through `_call` and every page
through `_page_problem` (a page that ends early or jumps is asked for again, not accepted).
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException, BinanceRequestException

from candlecast.errors import SourceError, UnknownSymbolError
from candlecast.intervals import from_ms, interval_ms, to_ms
from feature_pipeline.fetch import FetchReport
from feature_pipeline.klines import between, closed_only, empty_candles, frame_from_klines

if TYPE_CHECKING:
    from candlecast.settings import Settings

logger = logging.getLogger(__name__)

PAGE_LIMIT = 1000
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
_UNKNOWN_CODES = {-1121: "symbol", -1120: "interval"}
_TRANSIENT = (
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    BinanceRequestException,
)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits about base * 2**n seconds (at most cap)."""

    attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 300.0
    # A host name that does not resolve or a refused connection is asked again only this often
    # (about 1.5 s of waits), so a machine without the network hears of it in seconds.
    unreachable_attempts: int = 3

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `attempt` (0-based): half fixed, half random."""
        full = min(self.cap, self.base * 2**attempt)
        return full / 2 + rng.uniform(0, full / 2)


def pacing_delay(used_weight: int, limit: int, budget: float, wall: float) -> float:
    """Seconds to wait so the next request stays under budget * limit weight in this minute."""
    if used_weight < budget * limit:
        return 0.0
    return 60.0 - wall % 60.0 + 0.05


def make_client(api_url: str | None, timeout: float) -> Client:
    """A python-binance client that does not ping at construction, pointed at api_url if given."""
    client = Client(ping=False, requests_params={"timeout": timeout})
    if api_url:
        client.API_URL = api_url.rstrip("/")
    return client


class _Retry(Exception):
    """An answer worth asking for again, with the least time to wait first."""

    def __init__(self, reason: str, wait: float = 0.0) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


@dataclass
class BinanceSource:
    """Closed candles from Binance's REST API (or the simulator) through python-binance.

    With a `deadline` (a `timer()` value, by default time.monotonic), no request starts and no
    wait begins that would end after it: the source raises SourceError instead. A request in
    flight keeps its own timeout (`from_settings(timeout=...)`).
    """

    client: Client
    clock: Callable[[], datetime]
    backoff: Backoff = field(default_factory=Backoff)
    weight_limit: int = 6000
    weight_budget: float = 0.8
    empty_confirmations: int = 2
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    deadline: float | None = None
    timer: Callable[[], float] = time.monotonic
    used_weight: int = 0
    requests: int = 0
    retries: int = 0
    _born: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._born = self.timer()

    @classmethod
    def from_settings(
        cls, settings: Settings, timeout: float = 10.0, **options: Any
    ) -> BinanceSource:
        """A source for settings.binance_api_url (Binance itself when unset) and settings.clock."""
        return cls(make_client(settings.binance_api_url, timeout), clock=settings.clock, **options)

    @property
    def name(self) -> str:
        return f"binance ({self.client.API_URL})"

    # -- the source interface -------------------------------------------------------------

    def first_open_time(self, symbol: str, interval: str) -> datetime:
        """The open time of the symbol's first candle (Binance's startTime=0&limit=1 probe)."""
        rows = self._confirmed(
            f"first candle of {symbol} {interval}", symbol, interval, startTime=0, limit=1
        )
        if not rows:
            raise UnknownSymbolError(
                f"Binance has no {interval} candles for {symbol}; check the symbol and interval"
            )
        return from_ms(int(rows[0][0]))

    def fetch(
        self,
        symbol: str,
        interval: str,
        start: datetime | None = None,
        end: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[pd.DataFrame, FetchReport]:
        """Closed candles with start <= open_time <= end, page by page, and what was found."""
        requests_before, retries_before = self.requests, self.retries
        now = min(self.clock(), self.server_time(f"{symbol} {interval}"))
        end = min(end or now, now)
        start = start or self.first_open_time(symbol, interval)
        last = self._last_open_ms(symbol, interval, to_ms(end))
        pages = (
            self._pages(symbol, interval, to_ms(start), to_ms(end), last, progress)
            if last is not None
            else []
        )
        frame = frame_from_klines([row for page in pages for row in page], symbol, interval)
        frame = between(closed_only(frame, now), start, end) if len(frame) else empty_candles()
        report = FetchReport.of(
            frame,
            symbol,
            interval,
            start,
            end,
            latest=from_ms(last) if last else None,
            requests=self.requests - requests_before,
            retries=self.retries - retries_before,
        )
        logger.info(
            "binance %s %s: %d closed candles in %d requests",
            symbol,
            interval,
            len(frame),
            report.requests,
        )
        return frame, report

    def server_time(self, purpose: str = "") -> datetime:
        """Binance's clock (candles are closed by the earlier of it and ours)."""
        what = f"server time for {purpose}" if purpose else "server time"
        answer = self._call(what, self.client.get_server_time, check=_check_time)
        return from_ms(int(answer["serverTime"]))

    # -- pagination -----------------------------------------------------------------------

    def _pages(
        self,
        symbol: str,
        interval: str,
        start_ms: int,
        end_ms: int,
        last_ms: int,
        progress: Callable[[int], None] | None,
    ) -> list[list[list[Any]]]:
        pages, cursor, step = [], start_ms, interval_ms(interval)
        while cursor <= min(end_ms, last_ms):
            page = self._page(symbol, interval, cursor, end_ms, last_ms)
            pages.append(page)
            if progress is not None:
                progress(len(page))
            cursor = int(page[-1][0]) + step
        return pages

    def _page(
        self, symbol: str, interval: str, cursor: int, end_ms: int, last_ms: int
    ) -> list[list[Any]]:
        what = f"{symbol} {interval} candles from {_show(cursor)} to {_show(end_ms)}"
        params = {
            "symbol": symbol,
            "interval": interval,
            "startTime": cursor,
            "endTime": end_ms,
            "limit": PAGE_LIMIT,
        }
        expected_last = min(end_ms, last_ms)
        reason = ""
        for attempt in range(self.backoff.attempts):
            rows = self._call(what, self.client.get_klines, check=_check_klines, **params)
            reason = _page_problem(rows, cursor, expected_last, interval_ms(interval))
            if (
                reason == "jump"
                and self._call(what, self.client.get_klines, check=_check_klines, **params) == rows
            ):
                return rows  # the same answer twice: a real gap (an exchange outage), kept as a gap
            if not reason:
                return rows
            self._wait(attempt, what, reason)
        raise SourceError(
            f"Binance kept sending an unusable page for {what} ({reason}) "
            f"after {self.backoff.attempts} attempts; try again later"
        )

    def _last_open_ms(self, symbol: str, interval: str, end_ms: int) -> int | None:
        rows = self._confirmed(
            f"last candle of {symbol} {interval}", symbol, interval, endTime=end_ms, limit=1
        )
        return int(rows[-1][0]) if rows else None

    def _confirmed(self, what: str, symbol: str, interval: str, **params: int) -> list[list[Any]]:
        """A one-candle probe; an empty answer is believed only when it repeats."""
        for _ in range(self.empty_confirmations + 1):
            rows = self._call(
                what,
                self.client.get_klines,
                check=_check_klines,
                symbol=symbol,
                interval=interval,
                **params,
            )
            if rows:
                return rows
        return []

    # -- one request, retried -------------------------------------------------------------

    def _call(
        self, what: str, method: Callable[..., Any], check: Callable[[Any], None], **params: Any
    ) -> Any:
        """One API request with pacing, retries on transient failures, and a shape check."""
        reason = ""
        unreachable = 0
        for attempt in range(self.backoff.attempts):
            self._check_budget(what, reason)
            self._pace(what)
            try:
                self.requests += 1
                answer = method(**params)
                self._note_weight(self.client.response)
                check(answer)
                return answer
            except BinanceAPIException as error:
                self._note_weight(error.response)
                retry = self._judge(error, what, params)
            except _TRANSIENT as error:
                cause = unreachable_cause(error)
                if cause is not None:
                    unreachable += 1
                    if unreachable >= self.backoff.unreachable_attempts:
                        raise SourceError(self._unreachable_message(cause, unreachable)) from None
                retry = _Retry(f"{type(error).__name__}: {error}")
            except (TypeError, ValueError, KeyError, IndexError) as error:
                retry = _Retry(f"malformed answer ({error})")
            reason = retry.reason
            self._wait(attempt, what, reason, retry.wait)
        raise SourceError(
            f"Binance did not give a usable answer for {what} after {self.backoff.attempts} "
            f"attempts (last: {reason}); check BINANCE_API_URL and the network, or try again later"
        )

    def _unreachable_message(self, cause: str, attempts: int) -> str:
        spent = self.timer() - self._born
        return (
            f"cannot reach Binance at {self.client.API_URL}: {cause} ({attempts} attempts in "
            f"{spent:.1f} s); check the network, point BINANCE_API_URL at a reachable Binance API "
            "(or `candlecast binance-sim`), or read candles with --source csv:PATH"
        )

    def _judge(self, error: BinanceAPIException, what: str, params: dict[str, Any]) -> _Retry:
        status = error.status_code
        if status in (418, 429):
            wait = _retry_after(error.response)
            if wait > self.backoff.max_retry_after:
                raise SourceError(
                    f"Binance rate limit for {what}: HTTP {status}, Retry-After {wait:.0f} s "
                    f"(over {self.backoff.max_retry_after:.0f} s); wait that long and run again"
                )
            return _Retry(f"HTTP {status} rate limited", wait)
        if status >= 500:
            return _Retry(f"HTTP {status} {error.message}")
        if error.code in _UNKNOWN_CODES:
            kind = _UNKNOWN_CODES[error.code]
            value = params.get(kind, "?")
            raise UnknownSymbolError(
                f"Binance does not know the {kind} {value!r} ({error.message}, code {error.code}); "
                "check the spelling, e.g. --symbols BTCUSDT --interval 1d"
            )
        raise SourceError(
            f"Binance refused {what}: HTTP {status} code {error.code} {error.message}"
        )

    def _wait(self, attempt: int, what: str, reason: str, at_least: float = 0.0) -> None:
        self.retries += 1
        if attempt + 1 >= self.backoff.attempts:
            return
        delay = max(at_least, self.backoff.delay(attempt, self.rng))
        self._check_budget(what, reason, delay)
        logger.warning("retrying %s in %.2f s: %s", what, delay, reason)
        self.sleep(delay)

    def _pace(self, what: str) -> None:
        delay = pacing_delay(self.used_weight, self.weight_limit, self.weight_budget, time.time())
        if delay > 0:
            self._check_budget(what, "the request weight of this minute is used up", delay)
            logger.info(
                "used weight %d of %d this minute; pausing %.1f s",
                self.used_weight,
                self.weight_limit,
                delay,
            )
            self.sleep(delay)
            self.used_weight = 0

    def _check_budget(self, what: str, reason: str, wait: float = 0.0) -> None:
        """SourceError when the deadline would pass before a wait of `wait` seconds ends."""
        if self.deadline is None or self.timer() + wait <= self.deadline:
            return
        spent = self.timer() - self._born
        last = f"; last: {reason}" if reason else ""
        raise SourceError(
            f"Binance did not give a usable answer for {what} and the source gave up after "
            f"{spent:.0f} s: the time budget ran out{last}; try again later"
        )

    def _note_weight(self, response: requests.Response | None) -> None:
        value = response.headers.get(WEIGHT_HEADER) if response is not None else None
        if value is not None and value.isdigit():
            self.used_weight = int(value)


def unreachable_cause(error: BaseException) -> str | None:
    """Why a request error means the host cannot be reached at all (its name does not resolve,
    or nothing listens on its port), or None for anything worth the full retry schedule."""
    seen: set[int] = set()
    stack: list[object] = [error]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, socket.gaierror):
            return f"the host name does not resolve ({item.strerror or item})"
        if isinstance(item, ConnectionRefusedError):
            return "the connection was refused"
        stack += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return None


def _show(ms: int) -> str:
    return f"{from_ms(ms):%Y-%m-%d %H:%M}"


def _retry_after(response: requests.Response | None) -> float:
    value = response.headers.get("Retry-After", "") if response is not None else ""
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def _check_time(answer: Any) -> None:
    if not isinstance(answer, dict) or not isinstance(answer.get("serverTime"), int):
        raise ValueError("no serverTime in the answer")


def _check_klines(answer: Any) -> None:
    if not isinstance(answer, list):
        raise ValueError(f"klines answer is a {type(answer).__name__}, not a list")
    for row in answer:
        if (
            not isinstance(row, list)
            or len(row) < 9
            or not isinstance(row[0], int)
            or not isinstance(row[6], int)
        ):
            raise ValueError(f"kline row {str(row)[:80]} is not Binance's 12-field layout")
        float(row[1]), float(row[2]), float(row[3]), float(row[4]), float(row[5])
        for optional in (row[7], row[8]):  # quote volume, trades: null when unknown
            if optional is not None:
                float(optional)


def _page_problem(rows: list[list[Any]], cursor: int, expected_last: int, step: int) -> str:
    """Why a page cannot be accepted as is ('' when it can; 'jump' when it skips candles)."""
    if not rows:
        return f"empty page although candles exist up to {_show(expected_last)}"
    times = [int(row[0]) for row in rows]
    if times[0] < cursor or times[-1] > expected_last:
        return "candles outside the requested range"
    if any(b <= a for a, b in zip(times, times[1:], strict=False)):
        return "open times not strictly increasing"
    if any(t % step for t in times):
        return "open times not aligned to the interval"
    if len(rows) < PAGE_LIMIT and times[-1] != expected_last:
        return f"page ended early at {_show(times[-1])}"
    if times[0] != cursor or any(b - a != step for a, b in zip(times, times[1:], strict=False)):
        return "jump"
    return ""
