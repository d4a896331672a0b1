"""eventbridge.json: a daily rule after the UTC close, a Lambda target, retries and a DLQ."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from candlecast.errors import SettingsError
from candlecast_aws.job import parse_event
from candlecast_aws.schedule import check_schedule, daily_cron_time, load_schedule

SCHEDULE_FILE = Path(__file__).resolve().parents[2] / "eventbridge.json"


@pytest.fixture
def raw() -> dict:
    return json.loads(SCHEDULE_FILE.read_text())


def test_the_rule_runs_daily_shortly_after_the_utc_close() -> None:
    """It is an enabled daily cron within 15 minutes after 00:00 UTC (Binance's daily close)."""
    schedule = load_schedule(SCHEDULE_FILE)
    hour, minute = daily_cron_time(schedule.rule["ScheduleExpression"])
    assert hour == 0 and 0 < minute <= 15
    assert schedule.rule["State"] == "ENABLED"


def test_the_target_is_the_lambda_with_an_input_the_handler_accepts() -> None:
    """It targets the function with a constant input that the handler parses as overrides."""
    schedule = load_schedule(SCHEDULE_FILE)
    (target,) = schedule.rendered_targets("arn:fn", "arn:dlq")
    assert target["Arn"] == "arn:fn"
    (payload,) = schedule.target_inputs()
    overrides = parse_event(payload)
    assert overrides["interval"] == "1d" and "BTCUSDT" in overrides["symbols"]


def test_failed_deliveries_are_retried_then_dead_lettered() -> None:
    """It retries for hours (not the next day's run) and sends what still fails to the DLQ."""
    schedule = load_schedule(SCHEDULE_FILE)
    (target,) = schedule.rendered_targets("arn:fn", "arn:dlq")
    retry = target["RetryPolicy"]
    assert 1 <= retry["MaximumRetryAttempts"] <= 185
    assert 60 <= retry["MaximumEventAgeInSeconds"] < 24 * 3600
    assert target["DeadLetterConfig"] == {"Arn": "arn:dlq"}
    assert schedule.queue_name
    assert int(schedule.dead_letter_queue["MessageRetentionPeriod"]) >= 7 * 24 * 3600


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("Rule", "ScheduleExpression"), "rate(1 day)", "is not a daily cron"),
        (("Rule", "ScheduleExpression"), "cron(5 0 * * MON *)", "is not a daily cron"),
        (("Rule", "ScheduleExpression"), "cron(5 25 * * ? *)", "no valid time of day"),
        (("Rule", "State"), "ON", "ENABLED or DISABLED"),
        (("Targets", 0, "Arn"), "arn:aws:lambda:x", "placeholder ${FunctionArn}"),
        (("Targets", 0, "Input"), "[1, 2]", "must be a JSON object"),
        (("Targets", 0, "DeadLetterConfig"), {}, "placeholder ${DeadLetterQueueArn}"),
        (("Targets",), [], "non-empty list"),
    ],
)
def test_a_broken_schedule_is_rejected(raw: dict, path: tuple, value: object, message: str) -> None:
    """It names what is wrong with the file before anything is deployed."""
    broken = copy.deepcopy(raw)
    place = broken
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    with pytest.raises(SettingsError, match=re.escape(message)):
        check_schedule(broken)


def test_a_target_without_retry_policy_is_rejected(raw: dict) -> None:
    """It requires the retry policy and the dead-letter config on every target."""
    del raw["Targets"][0]["RetryPolicy"]
    with pytest.raises(SettingsError, match="lacks RetryPolicy"):
        check_schedule(raw)
