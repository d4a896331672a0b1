"""The Binance REST source: the real python-binance client against the local simulator."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import requests
from candlecast_sim.api import FAULTS
from candlecast_sim.simulator import start_simulator
from requests.adapters import HTTPAdapter

from candlecast.errors import SourceError, UnknownSymbolError
from feature_pipeline.binance import (
    PAGE_LIMIT,
    Backoff,
    BinanceSource,
    _page_problem,
    make_client,
    pacing_delay,
)
from feature_pipeline.csv_source import CsvSource

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
FAST = Backoff(attempts=12, base=0.001, cap=0.005)
H4 = 4 * 3_600_000


def source(url: str, clock: datetime = NOW, **options) -> BinanceSource:
    options.setdefault("backoff", FAST)
    options.setdefault("rng", random.Random(0))
    timeout = options.pop("timeout", 5.0)
    return BinanceSource(make_client(url, timeout), clock=lambda: clock, **options)


def csv_candles(data_dir: Path, symbol: str, interval: str) -> pd.DataFrame:
    return CsvSource(data_dir, clock=lambda: NOW).fetch(symbol, interval)[0]


# Random faults without "slow": a slow answer past the client's timeout would make the pass
# depend on the machine's speed; read timeouts are tested on their own, below.
FAST_FAULTS = tuple(f for f in FAULTS if f != "slow")


@pytest.fixture(scope="module")
def faulty(data_dir: Path):
    """A simulator failing 30% of requests (Retry-After 0) with every fault but slow answers."""
    with start_simulator(
        data_dir, now=NOW, fault_rate=0.3, seed=11, retry_after=0, faults=FAST_FAULTS
    ) as simulator:
        yield simulator


def test_rest_equals_csv(binance_sim: str, data_dir: Path) -> None:
    """It fetches exactly the closed candles the CSV file holds, page by page."""
    frame, report = source(binance_sim).fetch("BTCUSDT", "1d")
    pd.testing.assert_frame_equal(frame, csv_candles(data_dir, "BTCUSDT", "1d"))
    assert report.rows == 3064 and report.requests >= 4  # 4 pages of <= 1000, plus probes


def test_faults_give_the_same_candles(faulty, data_dir: Path) -> None:
    """It retries through 429, 418, 500, malformed and empty pages to the same result."""
    fetcher = source(faulty.url, timeout=60)
    for symbol, interval in [("BTCUSDT", "1d"), ("ETHUSDT", "4h")]:
        frame, _ = fetcher.fetch(symbol, interval)
        pd.testing.assert_frame_equal(frame, csv_candles(data_dir, symbol, interval))
    assert fetcher.retries > 0
    assert set(FAST_FAULTS) <= set(faulty.state.faults_served)


class TimesOut(HTTPAdapter):
    """The transport of the real python-binance client, with the first `n` reads timing out."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        if self.left > 0:
            self.left -= 1
            raise requests.exceptions.ReadTimeout(f"read timed out ({request.url})")
        return super().send(request, **kwargs)


def test_read_timeouts_are_retried(binance_sim: str, data_dir: Path) -> None:
    """It retries requests whose answer did not come in time, to the same candles."""
    fetcher = source(binance_sim, timeout=60)
    fetcher.client.session.mount("http://", TimesOut(3))
    frame, _ = fetcher.fetch("BTCUSDT", "1d")
    pd.testing.assert_frame_equal(frame, csv_candles(data_dir, "BTCUSDT", "1d"))
    assert fetcher.retries == 3


def test_open_candle_is_never_returned(binance_sim: str) -> None:
    """It keeps only candles closed before now: 2026-01-06 is still open at 12:00."""
    frame, report = source(binance_sim).fetch("BTCUSDT", "1d")
    assert frame["open_time"].max() == pd.Timestamp("2026-01-05", tz="UTC")
    assert (frame["close_time"] < pd.Timestamp(NOW)).all()
    assert report.last_closed == datetime(2026, 1, 5, tzinfo=UTC)


def test_our_earlier_clock_wins(binance_sim: str) -> None:
    """It closes candles by the earlier of its own clock and the server's."""
    frame, _ = source(binance_sim, clock=datetime(2025, 6, 1, 6, tzinfo=UTC)).fetch("BTCUSDT", "1d")
    assert frame["open_time"].max() == pd.Timestamp("2025-05-31", tz="UTC")


def test_range_is_inclusive(binance_sim: str) -> None:
    """It returns candles with start <= open_time <= end."""
    start, end = datetime(2024, 2, 27, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)
    frame, _ = source(binance_sim).fetch("ETHUSDT", "1d", start, end)
    assert list(frame["open_time"].dt.day) == [27, 28, 29, 1, 2]


def test_unknown_symbol_and_interval(binance_sim: str) -> None:
    """It raises UnknownSymbolError for a symbol or interval Binance does not know."""
    with pytest.raises(UnknownSymbolError, match="FOOUSDT"):
        source(binance_sim).first_open_time("FOOUSDT", "1d")
    with pytest.raises(UnknownSymbolError, match="interval"):
        source(binance_sim).fetch("BTCUSDT", "2d")


def test_gaps_are_kept_and_reported(binance_sim: str, data_dir: Path) -> None:
    """It keeps real exchange outages as gaps (nothing invented) and reports each one."""
    frame, report = source(binance_sim).fetch("BTCUSDT", "4h")
    pd.testing.assert_frame_equal(frame, csv_candles(data_dir, "BTCUSDT", "4h"))
    starts = {gap.after.date().isoformat() for gap in report.gaps}
    assert {"2018-02-08", "2018-06-26", "2020-02-19"} <= starts
    assert all(gap.missing >= 1 for gap in report.gaps)


def test_delisted_symbol_is_reported(binance_sim: str) -> None:
    """It reports a symbol that stopped trading instead of retrying for candles that never come."""
    frame, report = source(binance_sim).fetch("MATICUSDT", "1d")
    assert report.stopped_trading == datetime(2024, 9, 10, tzinfo=UTC)
    assert "stopped trading" in report.notes()[-1]
    assert report.retries == 0
    assert frame["open_time"].max() == pd.Timestamp("2024-09-10", tz="UTC")
    after, later = source(binance_sim).fetch(
        "MATICUSDT", "1d", start=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert after.empty and later.stopped_trading == datetime(2024, 9, 10, tzinfo=UTC)


def test_retry_after_is_honoured(data_dir: Path) -> None:
    """It waits at least Retry-After seconds after a 429."""
    waits: list[float] = []
    with start_simulator(data_dir, now=NOW, retry_after=7) as simulator:
        simulator.state.script.append("429")
        source(simulator.url, sleep=waits.append).first_open_time("BTCUSDT", "1d")
    assert len(waits) == 1 and waits[0] >= 7


def test_attempts_are_bounded(data_dir: Path) -> None:
    """It gives up after a bounded number of attempts, naming the symbol and the time range."""
    with start_simulator(data_dir, now=NOW) as simulator:
        simulator.state.script.extend([None, None] + ["500"] * 100)  # time, last candle, pages
        fetcher = source(simulator.url, backoff=Backoff(attempts=3, base=0.001, cap=0.001))
        with pytest.raises(SourceError, match="BTCUSDT 1d candles from 2020-01-01") as error:
            fetcher.fetch("BTCUSDT", "1d", start=datetime(2020, 1, 1, tzinfo=UTC))
        assert "after 3 attempts" in str(error.value)
        assert simulator.state.requests == 2 + 3


def test_long_ban_is_not_waited_out(data_dir: Path) -> None:
    """It stops at once when a 418 ban lasts longer than it is willing to wait."""
    with start_simulator(data_dir, now=NOW, retry_after=3600) as simulator:
        simulator.state.script.append("418")
        with pytest.raises(SourceError, match="Retry-After 3600"):
            source(simulator.url).first_open_time("BTCUSDT", "1d")


def test_empty_page_mid_history_is_retried(data_dir: Path) -> None:
    """It asks again when a page comes back empty although candles exist after it."""
    with start_simulator(data_dir, now=NOW) as simulator:
        # time, first-candle probe, last-candle probe, then the first page comes back empty
        simulator.state.script.extend([None, None, None, "empty"])
        fetcher = source(simulator.url)
        frame, report = fetcher.fetch("BTCUSDT", "1d")
    assert len(frame) == 3064 and report.retries == 1


def test_page_checks() -> None:
    """It accepts a full or final page and flags pages that end early, jump or leave the range."""
    step = H4
    page = [[i * step] for i in range(10)]
    assert _page_problem(page, 0, 9 * step, step) == ""
    assert "ended early" in _page_problem(page[:5], 0, 9 * step, step)
    assert "empty" in _page_problem([], 0, 9 * step, step)
    assert _page_problem(page[:3] + page[5:], 0, 9 * step, step) == "jump"
    assert _page_problem(page[2:], 0, 9 * step, step) == "jump"
    assert "range" in _page_problem(page, step, 9 * step, step)
    assert "aligned" in _page_problem([[1]], 0, 1, step)
    full = [[i * step] for i in range(PAGE_LIMIT)]
    assert _page_problem(full, 0, 5000 * step, step) == ""


def test_pacing_uses_the_weight_header(binance_sim: str) -> None:
    """It pauses until the next minute only once the used weight reaches its budget."""
    assert pacing_delay(100, 6000, 0.8, wall=30.0) == 0.0
    assert pacing_delay(4800, 6000, 0.8, wall=90.0) == pytest.approx(30.05)
    relaxed: list[float] = []
    source(binance_sim, sleep=relaxed.append).fetch("BTCUSDT", "1d")
    assert relaxed == []
    tight: list[float] = []
    fetcher = source(binance_sim, sleep=tight.append, weight_limit=10)
    fetcher.fetch("BTCUSDT", "1d")
    assert tight and all(0 < wait <= 60.05 for wait in tight)


class FakeTime:
    """It stands in for time.monotonic and time.sleep: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_a_deadline_ends_the_retries(data_dir: Path) -> None:
    """It stops before a wait would pass its deadline, and starts no request once it passed."""
    clock = FakeTime()
    with start_simulator(data_dir, now=NOW) as simulator:
        simulator.state.script.extend(["500"] * 100)  # Binance down
        fetcher = source(
            simulator.url,
            backoff=Backoff(),  # 8 attempts, ~47 s of waits in all
            deadline=clock.now + 10,
            timer=clock.monotonic,
            sleep=clock.sleep,
        )
        with pytest.raises(SourceError, match=r"gave up after \d+ s: the time budget ran out"):
            fetcher.fetch("BTCUSDT", "1d")
        assert sum(clock.waits) <= 10 and simulator.state.requests < Backoff().attempts
        late = source(simulator.url, deadline=clock.now - 1, timer=clock.monotonic)
        before = simulator.state.requests
        with pytest.raises(SourceError, match="time budget ran out"):
            late.fetch("BTCUSDT", "1d")
        assert simulator.state.requests == before


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("http://127.0.0.1:9/api", "the connection was refused"),  # the discard port
        ("http://api.binance.invalid/api", "the host name does not resolve"),  # RFC 2606
    ],
)
def test_an_unreachable_host_is_reported_after_a_few_quick_attempts(url: str, cause: str) -> None:
    """It asks 3 times, not 8, when the name does not resolve or nothing listens, and says
    which setting and which other sources to use, in one line; waits are the real schedule."""
    waits: list[float] = []
    unreachable = source(url, backoff=Backoff(), sleep=waits.append)
    with pytest.raises(SourceError) as error:
        unreachable.fetch("BTCUSDT", "1d")
    message = str(error.value)
    assert message.startswith(f"cannot reach Binance at {url}: {cause}")
    assert "BINANCE_API_URL" in message and "--source" in message and "\n" not in message
    assert unreachable.requests == 3 and len(waits) == 2
    assert sum(waits) < 2.0
