"""What the simulator serves as Binance Vision: kline zips and .CHECKSUM files, made on demand.

The layout is data.binance.vision's (`/data/spot/{monthly,daily}/klines/SYMBOL/INTERVAL/
SYMBOL-INTERVAL-YYYY-MM[-DD].zip[.CHECKSUM]`). A file exists when its month or day has ended by
the simulator's clock and the data holds candles in it; anything else is S3's 404. Dumps have no
header and the 12 kline columns; from 2025 on their times are in microseconds, as Binance's are.
Switches on the state: `vision_corrupt` (names served with a damaged zip but the true checksum),
`vision_missing` (names answered 404, e.g. a month not yet published) and `vision_header`.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from candlecast.intervals import to_ms
from candlecast_sim.api import SimulatorState

# Binance's spot dumps switched from milliseconds to microseconds with the January 2025 files.
MICROSECONDS_FROM_MS = to_ms(datetime(2025, 1, 1, tzinfo=UTC))
HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore\n"
)
_PATH = re.compile(
    r"^/data/spot/(?P<kind>monthly|daily)/klines/(?P<symbol>[A-Z0-9]+)/(?P<interval>\w+)/"
    r"(?P<name>(?P=symbol)-(?P=interval)-(?P<date>\d{4}-\d{2}(?:-\d{2})?)\.zip)"
    r"(?P<checksum>\.CHECKSUM)?$"
)
_NOT_FOUND = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    "<Message>The specified key does not exist.</Message><Key>{key}</Key></Error>"
)


@dataclass(frozen=True)
class VisionAnswer:
    """One Vision answer: HTTP status, body and content type."""

    status: int
    body: bytes
    content_type: str = "application/zip"


def is_vision_path(path: str) -> bool:
    """Whether a request path is one of Binance Vision's (`/data/...`), not the REST API's."""
    return path.startswith("/data/")


def vision_answer(state: SimulatorState, path: str) -> VisionAnswer:
    """The zip, its .CHECKSUM or a 404 for a Binance Vision path."""
    state.note_vision(path)
    match = _PATH.match(path)
    built = _build(state, match) if match and match["name"] not in state.vision_missing else None
    if built is None:
        key = path.lstrip("/")
        return VisionAnswer(404, _NOT_FOUND.format(key=key).encode(), "application/xml")
    name, archive = match["name"], built
    if match["checksum"]:
        digest = hashlib.sha256(archive).hexdigest()
        return VisionAnswer(200, f"{digest}  {name}\n".encode(), "text/plain")
    if name in state.vision_corrupt:
        middle = len(archive) // 2
        archive = archive[:middle] + bytes([archive[middle] ^ 0xFF]) + archive[middle + 1 :]
    return VisionAnswer(200, archive)


def _build(state: SimulatorState, match: re.Match[str]) -> bytes | None:
    start, end = _period(match["kind"], match["date"])
    if start is None or end > state.now_ms():
        return None
    key = match["name"] + (":header" if state.vision_header else "")
    with state.lock:
        if key in state.vision_zips:
            return state.vision_zips[key]
    series = state.data.series(match["symbol"], match["interval"])
    if series is None:
        return None
    first, stop = np.searchsorted(series.open_ms, [start, end], side="left")
    if first == stop:
        return None
    scale = 1000 if start >= MICROSECONDS_FROM_MS else 1
    lines = [_line(row, scale) for row in series.rows[first:stop]]
    text = (HEADER if state.vision_header else "") + "".join(lines)
    archive = _zip(match["name"].removesuffix(".zip") + ".csv", text, match["date"])
    with state.lock:
        state.vision_zips[key] = archive
    return archive


def _period(kind: str, date: str) -> tuple[int | None, int]:
    """The period's first and end (exclusive) epoch ms; None for a date that does not exist."""
    parts = [int(part) for part in date.split("-")]
    try:
        if kind == "monthly" and len(parts) == 2:
            year, month = parts
            first = datetime(year, month, 1, tzinfo=UTC)
            after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            return to_ms(first), to_ms(after)
        if kind == "daily" and len(parts) == 3:
            first = datetime(*parts, tzinfo=UTC)
            return to_ms(first), to_ms(first) + 86_400_000
    except ValueError:
        pass
    return None, 0


def _line(row: list[object], scale: int) -> str:
    """One kline as a dump line; times in µs end in 999 like Binance's (close 23:59:59.999999)."""
    fields = list(row)
    fields[0] = int(row[0]) * scale  # type: ignore[call-overload]
    fields[6] = int(row[6]) * scale + (scale - 1)  # type: ignore[call-overload]
    return ",".join("" if value is None else str(value) for value in fields) + "\n"


def _zip(member: str, text: str, date: str) -> bytes:
    """A zip of one CSV, byte-for-byte the same every time (its checksum is stable)."""
    parts = [int(part) for part in date.split("-")] + [1]
    info = zipfile.ZipInfo(member, date_time=(parts[0], parts[1], parts[2], 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, text)
    return buffer.getvalue()
