"""Binance Vision's kline dumps as a candle source: SHA-256-checked, cached zips, then REST.

Monthly zips cover the months that have ended, daily zips the days of the current month (and of a
month whose zip is not published yet). The dumps are read as one unbroken stretch: a 404 before
the first dump is a month before the listing, a 404 after it is where the dumps end, and the
REST source (`feature_pipeline.binance`) fetches every candle after the last dumped one.
Every zip is checked against its `.CHECKSUM` before it is read or cached; a cached zip is read
again without a request.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pandas as pd
import requests
from tqdm import tqdm

from candlecast.errors import SourceError
from candlecast.intervals import interval_step
from feature_pipeline.binance import Backoff, BinanceSource, unreachable_cause
from feature_pipeline.csv_source import read_kline_bytes
from feature_pipeline.fetch import FetchReport
from feature_pipeline.klines import between, closed_only, empty_candles

if TYPE_CHECKING:
    from candlecast.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://data.binance.vision"
_CHECKSUM = re.compile(r"^\s*(?P<digest>[0-9a-fA-F]{64})\b")
_TRANSIENT = (
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class Dump:
    """One Vision file: a month ('monthly') or a day ('daily') of one series."""

    kind: str
    symbol: str
    interval: str
    first: datetime  # midnight UTC of the month's first day, or of the day

    @property
    def end(self) -> datetime:
        """When the period ends (exclusive): the next month or day."""
        if self.kind == "daily":
            return self.first + timedelta(days=1)
        return (self.first + timedelta(days=32)).replace(day=1)

    @property
    def name(self) -> str:
        date = f"{self.first:%Y-%m}" if self.kind == "monthly" else f"{self.first:%Y-%m-%d}"
        return f"{self.symbol}-{self.interval}-{date}.zip"

    @property
    def path(self) -> str:
        """The file's path below the site's root, e.g. data/spot/monthly/klines/BTCUSDT/1d/..."""
        return f"data/spot/{self.kind}/klines/{self.symbol}/{self.interval}/{self.name}"

    def days(self) -> list[Dump]:
        """The daily dumps of this month."""
        count = (self.end - self.first).days
        return [
            Dump("daily", self.symbol, self.interval, self.first + timedelta(days=i))
            for i in range(count)
        ]


def plan_dumps(
    symbol: str, interval: str, start: datetime, end: datetime, now: datetime
) -> list[Dump]:
    """The dumps that may hold candles opened from `start` to `end`: a monthly one per month
    that ended by `now`, then a daily one per day of the current month that ended by `now`."""
    dumps: list[Dump] = []
    month = start.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month <= end:
        dump = Dump("monthly", symbol, interval, month)
        if dump.end <= now:
            dumps.append(dump)
        else:
            dumps += [d for d in dump.days() if d.end <= now and d.end > start and d.first <= end]
        month = dump.end
    return dumps


@dataclass
class VisionSource:
    """Closed candles from Binance Vision's zips (cached under `cache`), the newest through REST."""

    base_url: str
    cache: Path
    rest: BinanceSource
    clock: Callable[[], datetime]
    backoff: Backoff = field(default_factory=Backoff)
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session)
    requests: int = 0  # Vision requests (REST's are the REST source's)
    retries: int = 0
    downloads: int = 0  # zips downloaded (not read from the cache)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> VisionSource:
        """A source for settings.binance_vision_url (Binance's site when unset), caching under
        CANDLECAST_HOME/cache/vision, with settings.binance_api_url for the newest candles."""
        backoff, rng = backoff or Backoff(), rng or random.Random()
        base = (settings.binance_vision_url or DEFAULT_URL).rstrip("/")
        host = urlsplit(base).netloc.replace(":", "_") or "local"
        return cls(
            base_url=base,
            cache=settings.home / "cache" / "vision" / host,
            rest=BinanceSource.from_settings(settings, backoff=backoff, rng=rng, sleep=sleep),
            clock=settings.clock,
            backoff=backoff,
            rng=rng,
            sleep=sleep,
            timeout=timeout,
        )

    @property
    def name(self) -> str:
        return f"vision ({self.base_url}) + {self.rest.name}"

    def first_open_time(self, symbol: str, interval: str) -> datetime:
        """The open time of the symbol's first candle (asked of REST: one small request)."""
        return self.rest.first_open_time(symbol, interval)

    def fetch(
        self,
        symbol: str,
        interval: str,
        start: datetime | None = None,
        end: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[pd.DataFrame, FetchReport]:
        """Closed candles with start <= open_time <= end: the dumps, then REST after the last."""
        requests_before, retries_before = self.requests, self.retries
        now = self.clock()
        end = min(end or now, now)
        start = start or self.first_open_time(symbol, interval)
        frames = self._dumped(plan_dumps(symbol, interval, start, end, now), start, end, progress)
        dumped = (
            between(closed_only(_sorted(frames), now), start, end) if frames else empty_candles()
        )
        frame, filled = self._fill(symbol, interval, dumped, start, end, progress)
        report = FetchReport.of(
            frame,
            symbol,
            interval,
            start,
            end,
            latest=frame["open_time"].iloc[-1].to_pydatetime() if len(frame) else None,
            requests=self.requests - requests_before + (filled.requests if filled else 0),
            retries=self.retries - retries_before + (filled.retries if filled else 0),
        )
        if filled is not None and report.stopped_trading is None:
            report = replace(report, stopped_trading=filled.stopped_trading)
        logger.info(
            "vision %s %s: %d candles, %d from dumps", symbol, interval, len(frame), len(dumped)
        )
        return frame, report

    def _fill(
        self,
        symbol: str,
        interval: str,
        dumped: pd.DataFrame,
        start: datetime,
        end: datetime,
        progress: Callable[[int], None] | None,
    ) -> tuple[pd.DataFrame, FetchReport | None]:
        """The dumped candles and REST's after the last of them (all, when none was dumped)."""
        if len(dumped):
            start = (dumped["open_time"].iloc[-1] + interval_step(interval)).to_pydatetime()
            if start > end:
                return dumped, None
        filled, report = self.rest.fetch(symbol, interval, start, end, progress)
        return (_sorted([dumped, filled]) if len(filled) else dumped), report

    # -- which dumps ----------------------------------------------------------------------

    def _dumped(
        self,
        plan: list[Dump],
        start: datetime,
        end: datetime,
        progress: Callable[[int], None] | None,
    ) -> list[pd.DataFrame]:
        """The frames of the dumps in `plan` as far as they go unbroken.

        A month without a zip is skipped while nothing was found (before the listing) unless it
        is the newest month; otherwise its daily zips are read instead, up to the first missing
        one, where the dumps end.
        """
        frames: list[pd.DataFrame] = []
        newest_month = max((d.first for d in plan if d.kind == "monthly"), default=None)
        what = f"{plan[0].symbol} {plan[0].interval} Binance Vision" if plan else ""
        with tqdm(desc=what, unit="B", unit_scale=True, leave=False, disable=None) as bar:
            for dump in plan:
                frame = self._load(dump, bar)
                if frame is not None:
                    loaded, unbroken = [frame], True
                elif dump.kind == "daily":
                    loaded, unbroken = [], False
                elif not frames and dump.first != newest_month:
                    continue
                else:
                    days = [d for d in dump.days() if d.end > start and d.first <= end]
                    loaded, unbroken = self._days(days, bar)
                frames += loaded
                if progress is not None:
                    progress(sum(len(between(f, start, end)) for f in loaded))
                if not unbroken:
                    break
        return frames

    def _days(self, days: list[Dump], bar: tqdm) -> tuple[list[pd.DataFrame], bool]:
        """The frames of daily dumps up to the first missing one, and whether none was."""
        frames = []
        for day in days:
            frame = self._load(day, bar)
            if frame is None:
                return frames, False
            frames.append(frame)
        return frames, True

    # -- one dump -------------------------------------------------------------------------

    def _load(self, dump: Dump, bar: tqdm) -> pd.DataFrame | None:
        """A dump's candles, from the cache or downloaded and checked; None if it does not exist."""
        archive = self._cached(dump)
        if archive is not None:
            return read_dump(archive, dump)
        archive = self._download(dump, bar)
        if archive is None:
            return None
        frame = read_dump(archive, dump)  # what cannot be read is not cached
        _store(self.cache / dump.path, archive, hashlib.sha256(archive).hexdigest())
        return frame

    def _cached(self, dump: Dump) -> bytes | None:
        path = self.cache / dump.path
        checksum = path.with_name(path.name + ".CHECKSUM")
        if not (path.exists() and checksum.exists()):
            return None
        archive = path.read_bytes()
        if hashlib.sha256(archive).hexdigest() == checksum.read_text().strip():
            return archive
        logger.warning("cached %s does not match its checksum; downloading it again", path)
        path.unlink()
        return None

    def _download(self, dump: Dump, bar: tqdm) -> bytes | None:
        """The dump's zip, checked against its .CHECKSUM; None when either is not published."""
        url = f"{self.base_url}/{dump.path}"
        listed = self._get(f"{url}.CHECKSUM")
        if listed is None:
            return None  # not published (before the listing, or not yet)
        expected = _digest(listed, f"{dump.name}.CHECKSUM")
        archive = self._get(url, bar)
        if archive is None:
            logger.warning("%s has a .CHECKSUM but no zip; read as not published", url)
            return None
        actual = hashlib.sha256(archive).hexdigest()
        if actual != expected:
            raise SourceError(
                f"{dump.name} from {self.base_url} fails its checksum (SHA-256 {actual[:16]}..., "
                f".CHECKSUM says {expected[:16]}...): nothing was written from it and it was not "
                "cached; run again to download it anew"
            )
        self.downloads += 1
        return archive

    # -- one request, retried -------------------------------------------------------------

    def _get(self, url: str, bar: tqdm | None = None) -> bytes | None:
        """The body at `url` (None for 404), with retries on transient failures."""
        reason, unreachable = "", 0
        for attempt in range(self.backoff.attempts):
            wait = 0.0
            try:
                self.requests += 1
                with self.session.get(url, timeout=self.timeout, stream=True) as response:
                    if response.status_code == 404:
                        return None
                    if response.status_code == 200:
                        return _body(response, bar)
                    wait, reason = self._judge(response, url), f"HTTP {response.status_code}"
            except _TRANSIENT as error:
                cause = unreachable_cause(error)
                if cause is not None:
                    unreachable += 1
                    if unreachable >= self.backoff.unreachable_attempts:
                        raise SourceError(self._unreachable(cause, unreachable)) from None
                reason = f"{type(error).__name__}: {error}"
            self._wait(attempt, url, reason, wait)
        raise SourceError(
            f"Binance Vision gave no usable answer for {url} after {self.backoff.attempts} "
            f"attempts (last: {reason}); check BINANCE_VISION_URL and the network, or try later"
        )

    def _judge(self, response: requests.Response, url: str) -> float:
        """Seconds to wait before asking again; SourceError for an answer not worth repeating."""
        status = response.status_code
        if status in (418, 429):
            try:
                wait = max(0.0, float(response.headers.get("Retry-After", "0")))
            except ValueError:
                wait = 0.0
            if wait > self.backoff.max_retry_after:
                raise SourceError(
                    f"Binance Vision rate limit for {url}: HTTP {status}, Retry-After {wait:.0f} s "
                    f"(over {self.backoff.max_retry_after:.0f} s); wait that long and run again"
                )
            return wait
        if status >= 500:
            return 0.0
        raise SourceError(
            f"Binance Vision refused {url}: HTTP {status}; check BINANCE_VISION_URL "
            f"(default {DEFAULT_URL})"
        )

    def _wait(self, attempt: int, url: str, reason: str, at_least: float) -> None:
        self.retries += 1
        if attempt + 1 >= self.backoff.attempts:
            return
        delay = max(at_least, self.backoff.delay(attempt, self.rng))
        logger.warning("retrying %s in %.2f s: %s", url, delay, reason)
        self.sleep(delay)

    def _unreachable(self, cause: str, attempts: int) -> str:
        return (
            f"cannot reach Binance Vision at {self.base_url}: {cause} ({attempts} attempts); "
            "check the network, point BINANCE_VISION_URL at a reachable copy (or "
            "`candlecast binance-sim`), or use --source binance"
        )


def read_dump(archive: bytes, dump: Dump) -> pd.DataFrame:
    """The candles of a dump's zip (one kline CSV, with or without a header, ms or µs times)."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            members = [m for m in opened.namelist() if m.endswith(".csv")]
            if len(members) != 1:
                raise SourceError(
                    f"{dump.name} holds {len(members)} CSV files, not one; Binance Vision's kline "
                    "zips hold SYMBOL-INTERVAL-DATE.csv"
                )
            data = opened.read(members[0])
    except zipfile.BadZipFile as error:
        raise SourceError(
            f"{dump.name} is not a readable zip ({error}) although it matches its .CHECKSUM: "
            "Binance's copy is damaged; fetch this series with --source binance"
        ) from None
    return read_kline_bytes(data, f"{dump.name}:{members[0]}", dump.symbol, dump.interval)


def _body(response: requests.Response, bar: tqdm | None) -> bytes:
    chunks = []
    for chunk in response.iter_content(1 << 16):
        chunks.append(chunk)
        if bar is not None:
            bar.update(len(chunk))
    return b"".join(chunks)


def _digest(listed: bytes, name: str) -> str:
    match = _CHECKSUM.match(listed.decode("utf-8", "replace"))
    if match is None:
        raise SourceError(f"{name} does not hold a SHA-256 digest ('<64 hex digits>  NAME.zip')")
    return match["digest"].lower()


def _store(path: Path, archive: bytes, digest: str) -> None:
    """Cache a checked zip and its digest; the digest last, so a half-written pair is unused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_bytes(archive)
    os.replace(partial, path)
    checksum = path.with_name(path.name + ".CHECKSUM")
    partial.write_text(digest + "\n")
    os.replace(partial, checksum)


def _sorted(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return (
        frame.sort_values("open_time")
        .drop_duplicates("open_time", keep="last")
        .reset_index(drop=True)
    )
