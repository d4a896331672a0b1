"""The Lambda handler: scheduled events, overrides, malformed input, the secret, the raw archive."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import boto3
import pytest

from candlecast.errors import SettingsError
from candlecast_aws.job import DailyRunFailed, load_settings, parse_event
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


@pytest.fixture
def lambda_env(binance_sim: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """It sets the environment a deployed function has, with the store in tmp_path."""
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    monkeypatch.setenv("BINANCE_API_URL", binance_sim)
    monkeypatch.setenv("CANDLECAST_NOW", NOW)
    monkeypatch.setenv("CANDLECAST_SYMBOLS", "BTCUSDT,ETHUSDT")
    return tmp_path


def symbol_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


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
    lambda_handler: ModuleType, lambda_env: Path, event: object, message: str
) -> None:
    """It raises a SettingsError that says what is expected, and writes nothing."""
    with pytest.raises(SettingsError) as error:
        lambda_handler.handler(event, None)
    assert message in str(error.value)
    assert not (lambda_env / "store").exists()


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
        lambda_handler.handler({"symbols": ["NOSUCHCOIN", "BTCUSDT"]}, None)
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
    monkeypatch.setenv("BINANCE_API_URL", "http://127.0.0.1:9/unreachable")
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
    """It writes the Delta tables to CANDLECAST_STORE_URI=s3://... and finds them the next day."""
    boto3.client("s3").create_bucket(Bucket="candlecast-store")
    monkeypatch.setenv("CANDLECAST_STORE_URI", "s3://candlecast-store/store")
    monkeypatch.setenv("CANDLECAST_NOW", "2026-01-05T00:05:00Z")
    first = lambda_handler.handler({"symbols": ["ETHUSDT"]}, None)
    monkeypatch.setenv("CANDLECAST_NOW", NOW)
    second = lambda_handler.handler({"symbols": ["ETHUSDT"]}, None)
    assert first["symbols"][0]["last_closed"] == "2026-01-04T00:00:00+00:00"
    assert (second["symbols"][0]["status"], second["symbols"][0]["candles_added"]) == ("ok", 1)
    keys = boto3.client("s3").list_objects_v2(Bucket="candlecast-store")["Contents"]
    assert any(k["Key"].startswith("store/candles_v1/") for k in keys)
    assert not (lambda_env / "store").exists()
