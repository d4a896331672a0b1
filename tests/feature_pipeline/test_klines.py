"""Kline arrays as candle frames: numbers that are not numbers are refused, by every source."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from candlecast.errors import SourceError, ValidationError
from feature_pipeline.binance import Backoff, BinanceSource, make_client
from feature_pipeline.klines import frame_from_klines

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
DAY_MS = 86_400_000
OPEN_MS = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)


def kline(open_ms: int = OPEN_MS, **fields: object) -> list[object]:
    """One of Binance's 12-field kline arrays, numbers as strings; fields replace by name."""
    row = {
        "open_time": open_ms,
        "open": "100.0",
        "high": "110.0",
        "low": "90.0",
        "close": "105.0",
        "volume": "12.5",
        "close_time": open_ms + DAY_MS - 1,
        "quote_volume": "1300.0",
        "trades": 42,
    } | fields
    return [*row.values(), "6.0", "630.0", "0"]


def test_it_reads_binance_kline_arrays() -> None:
    """It turns valid arrays into candles, keeping a null quote volume and trade count null."""
    frame = frame_from_klines(
        [kline(), kline(OPEN_MS + DAY_MS, quote_volume=None, trades=None)], "BTCUSDT", "1d"
    )
    assert list(frame["close"]) == [105.0, 105.0]
    assert frame["open_time"].iloc[1] == pd.Timestamp("2026-01-06", tz="UTC")
    assert frame["trades"].iloc[0] == 42 and pd.isna(frame["trades"].iloc[1])
    assert pd.isna(frame["quote_volume"].iloc[1])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"close": "abc"}, "column close must hold numbers, but row 2"),
        ({"volume": ""}, "column volume must hold numbers"),
        ({"quote_volume": "n/a"}, "column quote_volume must hold numbers"),
        ({"trades": "many"}, "column trades must hold whole numbers"),
        ({"trades": 2.5}, "column trades must hold whole numbers, but row 2"),
    ],
)
def test_text_in_a_number_column_is_a_validation_error(fields: dict, message: str) -> None:
    """It raises ValidationError naming the column, the row and the candle's open time."""
    rows = [kline(), kline(OPEN_MS + DAY_MS, **fields)]
    with pytest.raises(ValidationError, match=message) as raised:
        frame_from_klines(rows, "BTCUSDT", "1d")
    shown = repr(next(iter(fields.values())))
    assert f"(the candle opening 2026-01-06 00:00) has {shown} (1 such row(s)" in str(raised.value)


class _OneCandle(BaseHTTPRequestHandler):
    """A Binance stand-in that knows one candle, as `row`, and its clock."""

    row: list[object]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.startswith("/api/v3/time"):
            answer: object = {"serverTime": int(NOW.timestamp() * 1000)}
        else:
            answer = [self.row]
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def serve_row() -> Iterator:
    """It serves a given kline row as the only candle and yields a function returning a source."""
    servers = []

    def start(row: list[object]) -> BinanceSource:
        handler = type("Handler", (_OneCandle,), {"row": row})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        fast = Backoff(attempts=3, base=0.001, cap=0.005)
        return BinanceSource(
            make_client(url, 10.0), clock=lambda: NOW, backoff=fast, rng=random.Random(0)
        )

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_binance_text_in_the_quote_volume_is_a_source_error(serve_row) -> None:
    """It treats a non-numeric quote volume from the API like a non-numeric price: unusable."""
    source = serve_row(kline(quote_volume="abc"))
    with pytest.raises(SourceError, match="malformed answer .*'abc'"):
        source.fetch("BTCUSDT", "1d")


def test_binance_fractional_trade_count_is_a_validation_error(serve_row) -> None:
    """It refuses a trade count that is not a whole number with a ValidationError."""
    source = serve_row(kline(trades=2.5))
    with pytest.raises(ValidationError, match="column trades must hold whole numbers"):
        source.fetch("BTCUSDT", "1d")


def test_gaps_are_found_with_utc_times() -> None:
    """It reports each hole between candles with its UTC bounds and the candles missing."""
    from feature_pipeline.klines import find_gaps

    opened = pd.to_datetime(
        ["2025-01-01 00:00", "2025-01-01 00:01", "2025-01-01 00:05", "2025-01-01 00:06"], utc=True
    )
    (gap,) = find_gaps(pd.DataFrame({"open_time": opened}), "1m")
    assert gap.after == datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
    assert gap.before == datetime(2025, 1, 1, 0, 5, tzinfo=UTC) and gap.missing == 3
