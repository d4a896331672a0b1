"""eventbridge.json: a daily rule after the UTC close and a weekly retrain rule, each with a
Lambda target, retries and the shared DLQ."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from candlecast.errors import SettingsError
from candlecast_aws import retrain
from candlecast_aws.job import parse_event
from candlecast_aws.schedule import (
    DAILY,
    TRAIN,
    check_schedule,
    daily_cron_time,
    load_schedule,
    weekly_cron_time,
)

SCHEDULE_FILE = Path(__file__).resolve().parents[2] / "eventbridge.json"


@pytest.fixture
def raw() -> dict:
    return json.loads(SCHEDULE_FILE.read_text())


def test_the_rule_runs_daily_shortly_after_the_utc_close() -> None:
    """It is an enabled daily cron within 15 minutes after 00:00 UTC (Binance's daily close)."""
    daily = load_schedule(SCHEDULE_FILE).for_function(DAILY)
    hour, minute = daily_cron_time(daily.rule["ScheduleExpression"])
    assert hour == 0 and 0 < minute <= 15
    assert daily.rule["State"] == "ENABLED"


def test_the_retrain_runs_weekly_after_that_days_daily_run() -> None:
    """It is an enabled weekly cron at least an hour after the daily rule, on the same day."""
    schedule = load_schedule(SCHEDULE_FILE)
    train = schedule.for_function(TRAIN)
    _day, hour, minute = weekly_cron_time(train.rule["ScheduleExpression"])
    daily_hour, daily_minute = daily_cron_time(
        schedule.for_function(DAILY).rule["ScheduleExpression"]
    )
    assert (hour * 60 + minute) - (daily_hour * 60 + daily_minute) >= 60
    assert train.rule["State"] == "ENABLED"
    assert train.rule_name != schedule.for_function(DAILY).rule_name


def test_the_target_is_the_lambda_with_an_input_the_handler_accepts() -> None:
    """It targets the function with a constant input that the handler parses as overrides."""
    daily = load_schedule(SCHEDULE_FILE).for_function(DAILY)
    (target,) = daily.rendered_targets("arn:fn", "arn:dlq")
    assert target["Arn"] == "arn:fn"
    (payload,) = daily.target_inputs()
    overrides = parse_event(payload)
    assert overrides["interval"] == "1d" and "BTCUSDT" in overrides["symbols"]


def test_the_retrain_target_input_is_one_the_training_handler_accepts() -> None:
    """It passes symbols, interval and an age limit, and never allows an ephemeral registry."""
    train = load_schedule(SCHEDULE_FILE).for_function(TRAIN)
    (payload,) = train.target_inputs()
    request = retrain.parse_event(payload)
    assert request.overrides["interval"] == "1d" and "BTCUSDT" in request.overrides["symbols"]
    assert request.max_age is not None and request.max_age.days >= 7
    assert not request.allow_ephemeral_registry and not request.dry_run


@pytest.mark.parametrize("function", [DAILY, TRAIN])
def test_failed_deliveries_are_retried_then_dead_lettered(function: str) -> None:
    """It retries for hours (not the next scheduled run) and sends what still fails to the DLQ."""
    schedule = load_schedule(SCHEDULE_FILE)
    (target,) = schedule.for_function(function).rendered_targets("arn:fn", "arn:dlq")
    retry = target["RetryPolicy"]
    assert 1 <= retry["MaximumRetryAttempts"] <= 185
    assert 60 <= retry["MaximumEventAgeInSeconds"] < 24 * 3600
    assert target["DeadLetterConfig"] == {"Arn": "arn:dlq"}
    assert schedule.queue_name
    assert int(schedule.dead_letter_queue["MessageRetentionPeriod"]) >= 7 * 24 * 3600


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("Rules", 0, "Rule", "ScheduleExpression"), "rate(1 day)", "is not a daily cron"),
        (("Rules", 0, "Rule", "ScheduleExpression"), "cron(5 0 ? * MON *)", "is not a daily cron"),
        (("Rules", 0, "Rule", "ScheduleExpression"), "cron(5 25 * * ? *)", "no valid time of day"),
        (("Rules", 1, "Rule", "ScheduleExpression"), "cron(0 2 * * ? *)", "is not a weekly cron"),
        (("Rules", 1, "Rule", "ScheduleExpression"), "cron(0 2 ? * XYZ *)", "not a weekly cron"),
        (("Rules", 1, "Rule", "ScheduleExpression"), "cron(0 24 ? * 1 *)", "no valid time of day"),
        (("Rules", 0, "Rule", "State"), "ON", "ENABLED or DISABLED"),
        (("Rules", 0, "Function"), "weekly", "Function must be one of daily, train"),
        (("Rules", 0, "Targets", 0, "Arn"), "arn:aws:lambda:x", "placeholder ${FunctionArn}"),
        (("Rules", 0, "Targets", 0, "Input"), "[1, 2]", "must be a JSON object"),
        (("Rules", 1, "Targets", 0, "DeadLetterConfig"), {}, "${DeadLetterQueueArn}"),
        (("Rules", 0, "Targets"), [], "non-empty list"),
        (("Rules",), [], "Rules must be a non-empty list"),
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
    del raw["Rules"][1]["Targets"][0]["RetryPolicy"]
    with pytest.raises(SettingsError, match="lacks RetryPolicy"):
        check_schedule(raw)


def test_two_rules_for_one_function_are_rejected(raw: dict) -> None:
    """It allows one rule per function (the deploy gives each function one rule)."""
    raw["Rules"].append(copy.deepcopy(raw["Rules"][0]))
    with pytest.raises(SettingsError, match=re.escape("each function has one rule")):
        check_schedule(raw)


def test_the_old_single_rule_layout_is_rejected_with_the_new_keys(raw: dict) -> None:
    """It names the keys a schedule file has now (one rule per function)."""
    old = {"Rule": raw["Rules"][0]["Rule"], **raw["Rules"][0], "DeadLetterQueue": {}}
    with pytest.raises(SettingsError, match="expected exactly the keys Rules and DeadLetterQueue"):
        check_schedule(old)


def test_a_schedule_without_a_rule_for_a_function_says_so(raw: dict) -> None:
    """It loads a daily-only file, and asking it for the retrain's rule names what to add."""
    daily_only = check_schedule({**raw, "Rules": raw["Rules"][:1]})
    with pytest.raises(SettingsError, match='no rule for the train function.*"Function": "train"'):
        daily_only.for_function(TRAIN)
