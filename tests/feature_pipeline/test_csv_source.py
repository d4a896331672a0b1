"""Kline CSV files: Binance Vision dumps (ms and µs) and the shared data's header CSVs."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from candlecast.errors import SourceError, UnknownSymbolError, ValidationError
from candlecast.settings import Settings
from feature_pipeline.csv_source import CsvSource, read_kline_file, series_of
from feature_pipeline.source import open_source

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
HEADER = "timestamp,open,high,low,close,volume\n"


def vision_dump(frame: pd.DataFrame, unit: str) -> str:
    """Binance Vision's layout: 12 columns, no header, times in ms or µs."""
    scale = 1000 if unit == "us" else 1
    rows = []
    for r in frame.itertuples():
        open_ms = int(r.open_time.timestamp() * 1000) * scale
        close = int(r.close_time.timestamp() * 1000) * scale + (999 if unit == "us" else 0)
        fields = [open_ms, r.open, r.high, r.low, r.close, r.volume, close]
        fields += [r.quote_volume, r.trades, 1.0, 2.0, 0]
        rows.append(",".join(str(v) for v in fields))
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def minutes(data_dir: Path) -> pd.DataFrame:
    return CsvSource(data_dir / "BTCUSDT_1m_2025-08.csv", clock=lambda: NOW).fetch("BTCUSDT", "1m")[
        0
    ]


def test_names_say_symbol_and_interval() -> None:
    """It reads symbol and interval from the shared data's and Binance Vision's file names."""
    assert series_of(Path("BTCUSDT_1d.csv")) == ("BTCUSDT", "1d")
    assert series_of(Path("BTCUSDT_1m_2025-08.csv")) == ("BTCUSDT", "1m")
    assert series_of(Path("ETHUSDT-4h-2024-01.csv")) == ("ETHUSDT", "4h")
    assert series_of(Path("README.md")) is None


def test_header_csv_with_six_columns(data_dir: Path) -> None:
    """It reads timestamp,open,high,low,close,volume; close_time derived, nothing invented."""
    frame = read_kline_file(data_dir / "BTCUSDT_1d.csv", "BTCUSDT", "1d")
    assert len(frame) == 3065
    first = frame.iloc[0]
    assert first["open_time"] == pd.Timestamp("2017-08-17", tz="UTC")
    assert first["close_time"] == pd.Timestamp("2017-08-17 23:59:59.999", tz="UTC")
    assert (first["open"], first["volume"]) == (4261.48, 795.150377)
    assert frame["quote_volume"].isna().all() and frame["trades"].isna().all()


def test_twelve_field_header_csv(minutes: pd.DataFrame) -> None:
    """It reads the 12-field layout with ISO times, quote volume and trade counts."""
    assert len(minutes) == 14_401
    assert minutes["trades"].iloc[0] == 1421
    assert minutes["quote_volume"].iloc[0] == 1374354.6403012


@pytest.mark.parametrize("unit", ["ms", "us"])
def test_vision_dumps_in_ms_and_us(tmp_path: Path, minutes: pd.DataFrame, unit: str) -> None:
    """It reads headerless Vision dumps with open time in ms or µs, split over monthly files."""
    part = minutes.iloc[:3000]
    (tmp_path / "BTCUSDT-1m-2025-08-a.csv").write_text(vision_dump(part.iloc[:1800], unit))
    (tmp_path / "BTCUSDT-1m-2025-08-b.csv").write_text(vision_dump(part.iloc[1500:], unit))
    (tmp_path / "ETHUSDT-1m-2025-08.csv").write_text("garbage that must not be read\n")
    frame, report = CsvSource(tmp_path, clock=lambda: NOW).fetch("BTCUSDT", "1m")
    pd.testing.assert_frame_equal(frame, part.reset_index(drop=True))
    assert report.rows == 3000 and report.gaps == []


def test_vision_dump_with_a_header(tmp_path: Path, minutes: pd.DataFrame) -> None:
    """It reads a Vision dump that has Binance's header line (open_time, ..., count, ...)."""
    header = "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    header += "taker_buy_volume,taker_buy_quote_volume,ignore\n"
    (tmp_path / "BTCUSDT-1m-2025-08.csv").write_text(header + vision_dump(minutes.iloc[:50], "ms"))
    frame, _ = CsvSource(tmp_path, clock=lambda: NOW).fetch("BTCUSDT", "1m")
    pd.testing.assert_frame_equal(frame, minutes.iloc[:50])


def test_only_closed_candles(data_dir: Path) -> None:
    """It drops the candle still open at now, exactly as the REST source does."""
    source = CsvSource(data_dir, clock=lambda: NOW)
    frame, report = source.fetch("BTCUSDT", "1d")
    assert frame["open_time"].max() == pd.Timestamp("2026-01-05", tz="UTC")
    assert report.last_closed == datetime(2026, 1, 5, tzinfo=UTC)
    earlier = CsvSource(data_dir, clock=lambda: datetime(2025, 8, 5, 12, 0, 30, tzinfo=UTC))
    frame, _ = earlier.fetch("BTCUSDT", "1m")
    assert frame["open_time"].max() == pd.Timestamp("2025-08-05 11:59", tz="UTC")


def test_gaps_and_delisting_reported(data_dir: Path) -> None:
    """It reports the 4h outages as gaps and MATICUSDT's stop, and invents nothing."""
    source = CsvSource(data_dir, clock=lambda: NOW)
    frame, report = source.fetch("BTCUSDT", "4h")
    assert any(g.after == datetime(2018, 2, 8, tzinfo=UTC) for g in report.gaps)
    steps = frame["open_time"].diff().dropna()
    assert (steps >= pd.Timedelta(hours=4)).all()
    _, matic = source.fetch("MATICUSDT", "1d")
    assert matic.stopped_trading == datetime(2024, 9, 10, tzinfo=UTC)
    nothing, since = source.fetch("MATICUSDT", "1d", start=datetime(2025, 1, 1, tzinfo=UTC))
    assert nothing.empty and since.stopped_trading == datetime(2024, 9, 10, tzinfo=UTC)


def test_unknown_and_unreadable(tmp_path: Path, data_dir: Path) -> None:
    """It raises UnknownSymbolError for a symbol without files, SourceError for a broken file."""
    with pytest.raises(UnknownSymbolError, match="FOOUSDT"):
        CsvSource(data_dir, clock=lambda: NOW).first_open_time("FOOUSDT", "1d")
    (tmp_path / "BTCUSDT_1d.csv").write_text("when,price\nyesterday,1\n")
    with pytest.raises(SourceError, match="columns"):
        CsvSource(tmp_path, clock=lambda: NOW).fetch("BTCUSDT", "1d")
    with pytest.raises(SourceError, match="does not exist"):
        CsvSource(tmp_path / "missing", clock=lambda: NOW)


def test_open_source_by_name(data_dir: Path) -> None:
    """It picks the CSV source for csv:PATH and refuses unknown source names."""
    settings = Settings(now=NOW)
    assert open_source(settings, f"csv:{data_dir}").name == f"csv:{data_dir}"
    with pytest.raises(Exception, match="csv:PATH"):
        open_source(settings, "ftp://example")


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)) * 8,  # random-looking bytes, not UTF-8
        gzip.compress(b"timestamp,open,high,low,close,volume\n"),  # a compressed dump
        b"\0" * 64,  # valid UTF-8, but NUL bytes: not text
        HEADER.encode() + b"2025-01-01,1,2,0.5,1.5,10\n" * 2000 + b"2025-01-02,1,2,0.5,1\xe9,10\n",
    ],
    ids=["bytes", "gzip", "nul", "latin-1-late"],
)
def test_a_binary_file_is_not_a_text_kline_csv(tmp_path: Path, content: bytes) -> None:
    """It raises SourceError naming the file and saying it is not a text kline CSV."""
    path = tmp_path / "BTCUSDT_1d.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError, match="not a text kline CSV") as raised:
        CsvSource(tmp_path, clock=lambda: NOW).fetch("BTCUSDT", "1d")
    assert str(path) in str(raised.value)


def test_a_folder_named_like_a_kline_file_is_a_source_error(tmp_path: Path) -> None:
    """It raises SourceError, not IsADirectoryError, for a folder called BTCUSDT_1d.csv."""
    (tmp_path / "BTCUSDT_1d.csv").mkdir()
    with pytest.raises(SourceError, match="BTCUSDT_1d.csv: cannot be read"):
        CsvSource(tmp_path, clock=lambda: NOW).fetch("BTCUSDT", "1d")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "2025-01-01,1,2,0.5,1.5,10\n2025-01-02,1,2,0.5,abc,10\n",
            "column close must hold numbers, but row 2 (the candle opening 2025-01-02 00:00) "
            "has 'abc' (1 such row(s) in all)",
        ),
        ("2025-01-01,1,2,0.5,1.5,lots\n", "column volume must hold numbers"),
        ("2025-01-01,1,2,0.5,1.5,10\nyesterday,1,2,0.5,1.5,10\n", "row 2 has 'yesterday'"),
        ("2025-01-01,1,2,0.5,1.5,10\n,1,2,0.5,1.5,10\n", "row 2 has no value"),
    ],
    ids=["close", "volume", "open-time", "no-open-time"],
)
def test_text_in_a_number_or_time_column_is_a_validation_error(
    tmp_path: Path, rows: str, message: str
) -> None:
    """It raises ValidationError naming the file, the column, the row and the rule."""
    path = tmp_path / "BTCUSDT_1d.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(ValidationError) as raised:
        CsvSource(tmp_path, clock=lambda: NOW).fetch("BTCUSDT", "1d")
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_text_in_a_vision_dump_is_a_validation_error(tmp_path: Path, minutes: pd.DataFrame) -> None:
    """It names the column of a headerless dump whose trade count or open time is text."""
    lines = vision_dump(minutes.iloc[:3], "ms").splitlines()
    fields = lines[1].split(",")
    (tmp_path / "BTCUSDT-1m-2025-08.csv").write_text(
        "\n".join([lines[0], ",".join([*fields[:8], "many", *fields[9:]]), lines[2]]) + "\n"
    )
    with pytest.raises(ValidationError, match="column trades must hold whole numbers, but row 2"):
        CsvSource(tmp_path, clock=lambda: NOW).fetch("BTCUSDT", "1m")
    (tmp_path / "BTCUSDT-1m-2025-08.csv").write_text(
        "\n".join([lines[0], ",".join(["soon", *fields[1:]]), lines[2]]) + "\n"
    )
    with pytest.raises(ValidationError, match="column open_time .* row 2 has 'soon'"):
        CsvSource(tmp_path, clock=lambda: NOW).fetch("BTCUSDT", "1m")
