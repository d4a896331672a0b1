"""The Lambda handler: events, overrides, the deadline, concurrency, permanent and transient
errors, the secret, the raw archive; the interval each schedule rule's event names."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import boto3
import pandas as pd
import pytest

from candlecast.errors import SettingsError
from candlecast.intervals import interval_step
from candlecast.settings import Settings
from candlecast_aws import job
from candlecast_aws.job import DailyRunFailed, SecretsUnavailable, load_settings, parse_event
from candlecast_aws.schedule import DAILY, load_schedule
from feature_pipeline.csv_source import CsvSource
from feature_pipeline.groups import CANDLES, FEATURES
from feature_store.local import LocalFeatureStore

NOW = "2026-01-06T12:00:00Z"  # the simulator fixture's clock
SECRET = "hw-key-Zq8v1-never-log-me"
SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-01-06T00:05:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/candlecast-daily"],
    "detail": {},
}
EIGHT = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "ADAUSDT", "DOGEUSDT", "LTCUSDT", "LINKUSDT", "DOTUSDT"]
UNREACHABLE = "http://127.0.0.1:9/unreachable"  # the discard port: connection refused at once
INTRADAY_FILE = Path(__file__).resolve().parents[2] / "eventbridge.intraday.json"
INTRADAY_NOW = datetime(2025, 8, 10, 12, 1, tzinfo=UTC)  # the 5m rule's run after 12:00's close


class LambdaContext:
    """It reports the time left as Lambda's context does: a countdown from `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


@pytest.fixture
def lambda_env(binance_sim: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """It sets the environment a deployed function has, with the store in tmp_path."""
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    monkeypatch.setenv("BINANCE_API_URL", binance_sim)
    monkeypatch.setenv("CANDLECAST_NOW", NOW)
    monkeypatch.setenv("CANDLECAST_SYMBOLS", "BTCUSDT,ETHUSDT")
    return tmp_path


def log_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def symbol_lines(out: str) -> list[dict]:
    return [line for line in log_lines(out) if line["event"] == "daily-symbol"]


def symbol_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("candlecast-symbol")]


def test_a_scheduled_event_updates_every_configured_symbol(
    lambda_handler: ModuleType, lambda_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It runs the daily job, returns the summary and logs one JSON line per symbol."""
    summary = lambda_handler.handler(SCHEDULED, None)
    assert summary["ok"] is True
    assert [(s["symbol"], s["status"]) for s in summary["symbols"]] == [
        ("BTCUSDT", "ok"),
        ("ETHUSDT", "ok"),
    ]
    lines = symbol_lines(capsys.readouterr().out)
    assert [(line["symbol"], line["status"]) for line in lines] == [
        ("BTCUSDT", "ok"),
        ("ETHUSDT", "ok"),
    ]
    assert all(line["last_closed"] == "2026-01-05T00:00:00+00:00" for line in lines)
    store = LocalFeatureStore(str(lambda_env / "store"))
    assert store.latest(CANDLES, symbol="ETHUSDT", interval="1d", n=1)["open_time"].iloc[0].day == 5
    again = lambda_handler.handler(SCHEDULED, None)
    assert [s["status"] for s in again["symbols"]] == ["up-to-date", "up-to-date"]


def test_the_event_can_override_symbols_and_interval(
    lambda_handler: ModuleType, lambda_env: Path
) -> None:
    """It processes only the symbols and interval the target input names."""
    summary = lambda_handler.handler({"symbols": ["ethusdt"], "interval": "1d"}, None)
    assert [(s["symbol"], s["interval"]) for s in summary["symbols"]] == [("ETHUSDT", "1d")]
    store = LocalFeatureStore(str(lambda_env / "store"))
    assert store.latest(CANDLES, symbol="BTCUSDT", interval="1d", n=1).empty


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (["BTCUSDT"], "the event is a list"),
        ({"symbol": "BTCUSDT"}, "unknown key(s) symbol"),
        ({"symbols": "BTCUSDT"}, '"symbols" must be a non-empty list'),
        ({"symbols": []}, '"symbols" must be a non-empty list'),
        ({"symbols": ["BTC/USDT"]}, "is not a valid Binance pair"),
        ({"interval": "2d"}, "interval '2d' is not supported"),
        ({"interval": 1}, '"interval" must be a string'),
        ({**SCHEDULED, "detail-type": "Object Created"}, "'Object Created' is not handled"),
        ({**SCHEDULED, "detail": {"symbols": 3}}, '"symbols" must be a non-empty list'),
    ],
)
def test_malformed_events_are_rejected_before_anything_runs(
    lambda_handler: ModuleType,
    lambda_env: Path,
    capsys: pytest.CaptureFixture[str],
    event: object,
    message: str,
) -> None:
    """It returns ok false without raising (a retry cannot help), logs why, and writes nothing."""
    result = lambda_handler.handler(event, LambdaContext(300))
    assert result["ok"] is False and result["permanent"] is True
    assert result["error_type"] == "SettingsError"
    assert message in result["error"] and result["symbols"] == []
    (line,) = log_lines(capsys.readouterr().out)
    assert (line["event"], line["ok"], line["error"]) == ("daily-rejected", False, result["error"])
    assert not (lambda_env / "store").exists()


def test_a_secret_that_cannot_be_read_is_permanent(
    lambda_handler: ModuleType,
    lambda_env: Path,
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It returns ok false for a secret name that does not exist, naming the secret to check."""
    monkeypatch.setenv("HOPSWORKS_API_KEY_SECRET", "candlecast/missing")
    result = lambda_handler.handler(SCHEDULED, None)
    assert result["ok"] is False and result["permanent"] is True
    assert "could not read secret 'candlecast/missing'" in result["error"]
    assert log_lines(capsys.readouterr().out)[0]["event"] == "daily-rejected"


def test_an_unreachable_secrets_manager_is_transient(
    lambda_handler: ModuleType,
    lambda_env: Path,
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It raises when Secrets Manager cannot be reached, so EventBridge retries, and logs it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("HOPSWORKS_API_KEY_SECRET", "candlecast/hopsworks")
    with pytest.raises(SecretsUnavailable, match="could not reach Secrets Manager"):
        lambda_handler.handler(SCHEDULED, None)
    (line,) = log_lines(capsys.readouterr().out)
    assert (line["event"], line["ok"]) == ("daily-failed", False)
    assert not (lambda_env / "store").exists()


@pytest.fixture
def binance_down(data_dir: Path) -> Iterator[str]:
    """A Binance that answers every request with HTTP 500 (transient: retried on its schedule)."""
    from candlecast_sim.simulator import start_simulator

    with start_simulator(data_dir, fault_rate=1.0, faults=("500",)) as simulator:
        yield simulator.url


def test_with_binance_down_every_symbol_is_reported_before_the_timeout(
    lambda_handler: ModuleType,
    lambda_env: Path,
    binance_down: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It reports 8 symbols whose every request gets HTTP 500 within a 40 s invocation and
    raises with the summary (one after another, each symbol would retry for about a minute;
    the 40 s are the test's own)."""
    monkeypatch.setenv("BINANCE_API_URL", binance_down)
    timeout_s = 40.0
    started = time.monotonic()
    with pytest.raises(DailyRunFailed) as error:
        lambda_handler.handler({"symbols": EIGHT}, LambdaContext(timeout_s))
    elapsed = time.monotonic() - started
    assert elapsed < timeout_s, f"the handler returned after {elapsed:.1f} s of {timeout_s:.0f} s"
    symbols = error.value.summary["symbols"]
    assert [s["symbol"] for s in symbols] == EIGHT
    assert all(s["status"] == "error" and "time budget" in s["message"] for s in symbols)
    lines = log_lines(capsys.readouterr().out)
    assert [line["symbol"] for line in lines if line["event"] == "daily-symbol"] == EIGHT
    assert lines[-1]["event"] == "daily-run"
    assert lines[-1]["failed"] == EIGHT
    assert timeout_s - job.MARGIN_S - 5 < lines[-1]["budget_s"] <= timeout_s - job.MARGIN_S
    for thread in symbol_threads():  # a symbol's work is bounded by its budget: none lingers
        thread.join(timeout=60)
    assert symbol_threads() == []


class OverlapSource:
    """It serves the shared CSV candles since `RECENT` and records how many fetches run at the
    same time; every `together` fetches wait for each other, which only concurrent calls pass."""

    RECENT = datetime(2025, 6, 1, tzinfo=UTC)  # a short history keeps the writes quick

    def __init__(self, data_dir: Path, together: int) -> None:
        self.inner = CsvSource(data_dir, clock=lambda: datetime(2026, 1, 6, 12, tzinfo=UTC))
        self.name = self.inner.name
        self.barrier = threading.Barrier(together, timeout=60)
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.budgets: list[float] = []

    def opener(self) -> Callable[[float | None], OverlapSource]:
        def open_for(deadline: float | None) -> OverlapSource:
            with self.lock:
                self.budgets.append(deadline - time.monotonic())
            return self

        return open_for

    def first_open_time(self, symbol: str, interval: str) -> datetime:
        return self.inner.first_open_time(symbol, interval)

    def fetch(self, symbol: str, interval: str, **options: object) -> tuple:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.barrier.wait()  # a serial caller breaks it (after 60 s) and the symbols fail
            start = max(options.pop("start", None) or self.RECENT, self.RECENT)
            return self.inner.fetch(symbol, interval, start=start, **options)
        finally:
            with self.lock:
                self.running -= 1


def test_symbols_run_concurrently_on_a_bounded_pool_each_with_its_share_of_the_time(
    data_dir: Path, tmp_path: Path
) -> None:
    """It runs MAX_WORKERS fetches at once, never more, and gives each symbol an equal share."""
    settings = Settings.from_env(
        {
            "CANDLECAST_HOME": str(tmp_path),
            "CANDLECAST_NOW": NOW,
            "CANDLECAST_SYMBOLS": ",".join(EIGHT),
        }
    )
    store = LocalFeatureStore(str(tmp_path / "store"))
    for spec in (CANDLES, FEATURES):
        store.ensure(spec)
    source = OverlapSource(data_dir, together=job.MAX_WORKERS)
    deadline = job.Deadline.after(lambda: 615_000)  # 600 s of work: two rounds of 300 s
    summary = job.run_symbols(settings, store, source.opener(), deadline)
    assert [(r.symbol, r.status) for r in summary.results] == [(s, "ok") for s in EIGHT]
    assert source.most == job.MAX_WORKERS and not source.barrier.broken
    assert len(source.budgets) == len(EIGHT)
    assert all(250 < budget <= 300 for budget in source.budgets)
    for symbol in EIGHT:
        latest = store.latest(CANDLES, symbol=symbol, interval="1d", n=1)
        assert latest["open_time"].iloc[0] == datetime(2026, 1, 5, tzinfo=UTC)


def test_scheduled_event_detail_and_plain_objects_are_read_as_overrides() -> None:
    """It reads overrides from a plain object or a scheduled event's detail; {} changes nothing."""
    assert parse_event(SCHEDULED) == {}
    assert parse_event({}) == {}
    assert parse_event({"symbols": ["btcusdt", "ETHUSDT"]}) == {"symbols": ("BTCUSDT", "ETHUSDT")}
    assert parse_event({**SCHEDULED, "detail": {"interval": "4h"}}) == {"interval": "4h"}


def test_a_failed_symbol_raises_after_the_others_are_updated(
    lambda_handler: ModuleType, lambda_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It raises so Lambda retries and alarms work, after logging and updating the good symbols."""
    with pytest.raises(DailyRunFailed) as error:
        lambda_handler.handler({"symbols": ["NOSUCHCOIN", "BTCUSDT"]}, LambdaContext(300))
    assert "NOSUCHCOIN" in str(error.value)
    assert [s["status"] for s in error.value.summary["symbols"]] == ["error", "ok"]
    lines = symbol_lines(capsys.readouterr().out)
    assert [(line["symbol"], line["status"]) for line in lines] == [
        ("NOSUCHCOIN", "error"),
        ("BTCUSDT", "ok"),
    ]


def test_the_hopsworks_key_comes_from_secrets_manager(aws: str) -> None:
    """It reads HOPSWORKS_API_KEY_SECRET's secret, as a plain string or as a JSON object."""
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="candlecast/plain", SecretString=SECRET)
    secrets.create_secret(
        Name="candlecast/json", SecretString=json.dumps({"HOPSWORKS_API_KEY": SECRET})
    )
    for name in ("candlecast/plain", "candlecast/json"):
        settings = load_settings({"HOPSWORKS_API_KEY_SECRET": name}, {}, lambda: secrets)
        assert settings.hopsworks_api_key == SECRET
        assert SECRET not in repr(settings)


def test_hopsworks_api_key_wins_over_the_secret() -> None:
    """It uses HOPSWORKS_API_KEY as given and never calls Secrets Manager then."""

    def no_aws() -> None:
        raise AssertionError("Secrets Manager must not be called")

    env = {"HOPSWORKS_API_KEY": "direct", "HOPSWORKS_API_KEY_SECRET": "candlecast/plain"}
    assert load_settings(env, {}, no_aws).hopsworks_api_key == "direct"


def test_a_missing_secret_is_a_clear_error(aws: str) -> None:
    """It names the secret and the permission to check."""
    with pytest.raises(SettingsError, match="could not read secret 'nope'.*GetSecretValue"):
        load_settings(
            {"HOPSWORKS_API_KEY_SECRET": "nope"}, {}, lambda: boto3.client("secretsmanager")
        )


def test_the_secret_never_reaches_the_logs_or_the_summary(
    lambda_handler: ModuleType,
    lambda_env: Path,
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It keeps the key out of stdout, stderr, every log record (even at DEBUG) and the result."""
    boto3.client("secretsmanager").create_secret(Name="candlecast/hopsworks", SecretString=SECRET)
    monkeypatch.setenv("HOPSWORKS_API_KEY_SECRET", "candlecast/hopsworks")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DailyRunFailed) as error:  # a failing symbol logs its error too
        lambda_handler.handler({"symbols": ["BTCUSDT", "NOSUCHCOIN"]}, None)
    captured = capsys.readouterr()
    seen = (
        captured.out
        + captured.err
        + caplog.text
        + str(error.value)
        + json.dumps(error.value.summary)
    )
    assert "BTCUSDT" in seen
    assert SECRET not in seen


def test_raw_klines_are_archived_to_s3_and_a_day_can_be_replayed(
    lambda_handler: ModuleType,
    lambda_env: Path,
    aws: str,
    binance_sim: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It writes raw/{symbol}/{interval}/{day}.json, which `daily --source archive:` replays."""
    from candlecast.settings import Settings
    from candlecast_cli.app import main
    from feature_pipeline import backfill
    from feature_pipeline.source import open_source

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="candlecast-raw")
    monkeypatch.setenv("CANDLECAST_RAW_BUCKET", "candlecast-raw")
    until_2025 = Settings.from_env().with_overrides(now=datetime(2025, 12, 31, tzinfo=UTC))
    for home in (lambda_env, lambda_env / "replay"):
        store = LocalFeatureStore(str(home / "store"))
        backfill.run(until_2025, store, open_source(until_2025), ["BTCUSDT"], "1d", progress=False)
    summary = lambda_handler.handler({"symbols": ["BTCUSDT"]}, None)
    assert summary["symbols"][0]["candles_added"] == 6
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="candlecast-raw")["Contents"]]
    assert keys == [
        f"raw/BTCUSDT/1d/{day}.json"
        for day in ("2025-12-31", *(f"2026-01-0{d}" for d in range(1, 6)))
    ]
    klines = json.loads(s3.get_object(Bucket="candlecast-raw", Key=keys[-1])["Body"].read())
    stored = LocalFeatureStore(str(lambda_env / "store")).latest(
        CANDLES, symbol="BTCUSDT", interval="1d", n=1
    )
    assert len(klines) == 1 and len(klines[0]) == 12
    assert float(klines[0][4]) == stored["close"].iloc[0]

    capsys.readouterr()  # the handler's log lines
    monkeypatch.setenv("CANDLECAST_HOME", str(lambda_env / "replay"))
    monkeypatch.setenv("BINANCE_API_URL", UNREACHABLE)
    assert (
        main(["daily", "--symbols", "BTCUSDT", "--source", "archive:s3://candlecast-raw", "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["symbols"][0]["candles_added"] == 6
    original = LocalFeatureStore(str(lambda_env / "store"))
    replayed = LocalFeatureStore(str(lambda_env / "replay" / "store"))
    for spec in (CANDLES, FEATURES):
        assert replayed.fingerprint(spec) == original.fingerprint(spec)


def test_the_store_can_live_on_s3_as_in_production(
    lambda_handler: ModuleType, lambda_env: Path, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It writes the Delta tables to CANDLECAST_STORE_URI=s3://... and finds them the next day,
    logging each day's forecasts (no change from the newest candle, h = 1..30, as no model is
    registered) and, on the second day, scoring the h = 1 forecast whose target closed."""
    boto3.client("s3").create_bucket(Bucket="candlecast-store")
    monkeypatch.setenv("CANDLECAST_STORE_URI", "s3://candlecast-store/store")
    monkeypatch.setenv("CANDLECAST_NOW", "2026-01-05T00:05:00Z")
    first = lambda_handler.handler({"symbols": ["ETHUSDT"]}, None)["symbols"][0]
    monkeypatch.setenv("CANDLECAST_NOW", NOW)
    second = lambda_handler.handler({"symbols": ["ETHUSDT"]}, None)["symbols"][0]
    assert first["last_closed"] == "2026-01-04T00:00:00+00:00"
    assert (second["status"], second["candles_added"]) == ("ok", 1)
    logged = [(s["forecasts_logged"], s["forecasts_scored"]) for s in (first, second)]
    assert logged == [(30, 0), (30, 1)]
    keys = boto3.client("s3").list_objects_v2(Bucket="candlecast-store")["Contents"]
    for group in ("candles", "features", "predictions", "outcomes"):
        assert any(k["Key"].startswith(f"store/{group}_v1/") for k in keys), group
    assert not (lambda_env / "store").exists()


@pytest.fixture(scope="module")
def intraday_sim(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Binance simulator of BTCUSDT 5m and 1h candles, summed from the shared August 2025
    1m candles, its clock a minute after the 12:00 UTC close of 2025-08-10."""
    from candlecast_sim.simulator import start_simulator

    folder = tmp_path_factory.mktemp("intraday")
    minutes = pd.read_csv(data_dir / "BTCUSDT_1m_2025-08.csv", parse_dates=["open_time"])
    minutes = minutes.set_index("open_time")
    prices = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    for interval, rule in (("5m", "5min"), ("1h", "1h")):
        bars = minutes.resample(rule).agg(prices).dropna()
        bars.index = bars.index.tz_convert(None).rename("timestamp")
        bars.to_csv(folder / f"BTCUSDT_{interval}.csv")
    with start_simulator(folder, now=INTRADAY_NOW) as simulator:
        yield simulator.url


def rule_event(interval: str) -> dict:
    """The constant input the example schedule's rule for `interval` sends the function."""
    (event,) = load_schedule(INTRADAY_FILE).for_function(DAILY, interval).target_inputs()
    return event


@pytest.mark.parametrize(
    ("interval", "last_closed", "budget_s"),
    [
        ("4h", datetime(2026, 1, 6, 8, tzinfo=UTC), 285),  # the Lambda's 300 s less the margin
        ("1h", datetime(2025, 8, 10, 11, tzinfo=UTC), 285),
        ("5m", datetime(2025, 8, 10, 11, 55, tzinfo=UTC), 150),  # half a 5m candle
    ],
)
def test_a_rule_event_syncs_the_interval_it_names(
    lambda_handler: ModuleType,
    lambda_env: Path,
    intraday_sim: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    interval: str,
    last_closed: datetime,
    budget_s: float,
) -> None:
    """It stores that interval's candles and features through the newest closed one (and no
    other interval's), within a budget its interval bounds; the next run finds it up to date."""
    if interval != "4h":  # the shared data has 4h candles; 1h and 5m come from the 1m file
        monkeypatch.setenv("BINANCE_API_URL", intraday_sim)
        monkeypatch.setenv("CANDLECAST_NOW", INTRADAY_NOW.isoformat())
    summary = lambda_handler.handler(rule_event(interval), LambdaContext(300))
    (line,) = summary["symbols"]
    assert (line["symbol"], line["interval"], line["status"]) == ("BTCUSDT", interval, "ok")
    assert line["last_closed"] == last_closed.isoformat()
    run_line = log_lines(capsys.readouterr().out)[-1]
    assert run_line["event"] == "daily-run" and budget_s - 5 < run_line["budget_s"] <= budget_s
    store = LocalFeatureStore(str(lambda_env / "store"))
    for spec in (CANDLES, FEATURES):
        latest = store.latest(spec, symbol="BTCUSDT", interval=interval, n=2)
        assert list(latest["open_time"]) == [last_closed - interval_step(interval), last_closed]
    assert store.latest(CANDLES, symbol="BTCUSDT", interval="1d", n=1).empty
    again = lambda_handler.handler(rule_event(interval), LambdaContext(300))
    assert [s["status"] for s in again["symbols"]] == ["up-to-date"]


def test_two_runs_of_one_interval_at_once_store_it_once(
    lambda_handler: ModuleType,
    lambda_env: Path,
    intraday_sim: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It ends with every 5m candle stored once when two invocations of the 5m rule overlap
    (a slow run still going when the next starts): both succeed, the sync is idempotent."""
    monkeypatch.setenv("BINANCE_API_URL", intraday_sim)
    monkeypatch.setenv("CANDLECAST_NOW", INTRADAY_NOW.isoformat())
    results: list[dict] = []
    runs = [
        threading.Thread(
            target=lambda: results.append(
                lambda_handler.handler(rule_event("5m"), LambdaContext(300))
            )
        )
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=120)
    assert [r["ok"] for r in results] == [True, True]
    store = LocalFeatureStore(str(lambda_env / "store"))
    for spec in (CANDLES, FEATURES):
        times = store.read(spec, symbol="BTCUSDT", interval="5m")["open_time"]
        assert times.is_unique and times.iloc[-1] == INTRADAY_NOW - timedelta(minutes=6)
    candles = store.read(CANDLES, symbol="BTCUSDT", interval="5m")
    assert (
        len(candles)
        == (candles["open_time"].iloc[-1] - candles["open_time"].iloc[0]) / (interval_step("5m"))
        + 1
    )
