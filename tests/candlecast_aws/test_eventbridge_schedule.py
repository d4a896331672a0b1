"""eventbridge.json: a daily rule after the UTC close and a weekly retrain rule, each with a
Lambda target, retries and the shared DLQ; rules per interval (eventbridge.intraday.json), each
firing once per candle shortly after its close."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from candlecast.errors import SettingsError
from candlecast.intervals import INTERVALS, interval_step
from candlecast_aws import retrain
from candlecast_aws.job import parse_event
from candlecast_aws.schedule import (
    DAILY,
    TRAIN,
    check_schedule,
    cron_offset,
    daily_cron_time,
    latest_offset,
    load_schedule,
    suggested_cron,
    weekly_cron_time,
)

SCHEDULE_FILE = Path(__file__).resolve().parents[2] / "eventbridge.json"
INTRADAY_FILE = Path(__file__).resolve().parents[2] / "eventbridge.intraday.json"


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
    """It allows one rule per function and interval."""
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


@pytest.fixture
def intraday() -> dict:
    return json.loads(INTRADAY_FILE.read_text())


def test_the_example_file_has_one_rule_per_interval_each_passing_its_interval() -> None:
    """It loads the daily job's rules for 1d, 4h, 1h and 5m under their own names, each target
    input naming its rule's interval, beside the unchanged daily and retrain rules."""
    schedule = load_schedule(INTRADAY_FILE)
    shipped = load_schedule(SCHEDULE_FILE)
    assert [(r.function, r.interval, r.rule_name) for r in schedule.rules] == [
        (DAILY, "1d", "candlecast-daily"),
        (DAILY, "4h", "candlecast-daily-4h"),
        (DAILY, "1h", "candlecast-daily-1h"),
        (DAILY, "5m", "candlecast-daily-5m"),
        (TRAIN, "1d", "candlecast-retrain"),
    ]
    for rule in schedule.rules:
        (payload,) = rule.target_inputs()
        assert payload["interval"] == rule.interval
    assert schedule.for_function(DAILY) == shipped.for_function(DAILY)
    assert schedule.for_function(TRAIN) == shipped.for_function(TRAIN)
    assert schedule.for_function(DAILY, "5m").rule["ScheduleExpression"] == "cron(1/5 * * * ? *)"


@pytest.mark.parametrize(
    ("expression", "interval", "offset"),
    [
        ("cron(5 0 * * ? *)", "1d", 5),
        ("cron(30 5 * * ? *)", "1d", 330),
        ("cron(5 0/4 * * ? *)", "4h", 5),
        ("cron(59 */4 * * ? *)", "4h", 59),
        ("cron(5 * * * ? *)", "1h", 5),
        ("cron(10 0-23 * * ? *)", "1h", 10),
        ("cron(2,17,32,47 * * * ? *)", "15m", 2),
        ("cron(1/5 * * * ? *)", "5m", 1),
        ("cron(4-59/5 * * * ? *)", "5m", 4),
        ("cron(2/3 * * * ? *)", "3m", 2),
    ],
)
def test_a_cron_that_fires_once_per_candle_after_its_close_is_accepted(
    expression: str, interval: str, offset: int
) -> None:
    """It reads how many minutes after each close the rule fires."""
    assert cron_offset(expression, interval) == offset


@pytest.mark.parametrize(
    ("expression", "interval", "message"),
    [
        ("rate(5 minutes)", "5m", "rate() fires at times counted from the rule's creation"),
        ("rate(1 hour)", "1h", "use a cron, e.g. 'cron(5 * * * ? *)'"),
        ("cron(0/5 * * * ? *)", "5m", "fires 0 minute(s) after each 5m close; fire 1 to 4"),
        ("cron(1/10 * * * ? *)", "5m", "does not fire once per 5m candle"),
        ("cron(5 * * * ? *)", "5m", "does not fire once per 5m candle"),
        ("cron(1/5 * * * ? *)", "1h", "does not fire once per 1h candle"),
        ("cron(1/5 0-11 * * ? *)", "5m", "does not fire once per 5m candle"),
        ("cron(30 * * * ? *)", "1h", "fires 30 minute(s) after each 1h close; fire 1 to 14"),
        ("cron(5 1/4 * * ? *)", "4h", "fires 65 minute(s) after each 4h close"),
        ("cron(5 8 * * ? *)", "1d", "fires 485 minute(s) after each 1d close; fire 1 to 359"),
        ("cron(0 0 * * ? *)", "1d", "fires 0 minute(s)"),
        ("cron(1/5 * ? * MON-FRI *)", "5m", "fires every day of the week and month"),
        ("cron(L * * * ? *)", "1h", "has a minutes or hours field that is not a list"),
        ("cron(1/0 * * * ? *)", "5m", "has a minutes or hours field that is not a list"),
        ("cron(1 24 * * ? *)", "4h", "has a minutes or hours field that is not a list"),
        ("cron(* * * * ? *)", "1m", "1m candles cannot be scheduled"),
    ],
)
def test_a_schedule_that_does_not_fit_its_interval_is_refused(
    expression: str, interval: str, message: str
) -> None:
    """It names the rule broken and a cron that fits, in one line."""
    with pytest.raises(SettingsError, match=re.escape(message)) as error:
        cron_offset(expression, interval)
    assert "\n" not in str(error.value) and "e.g. 'cron(" in str(error.value)


@pytest.mark.parametrize("interval", [i for i in INTERVALS if i != "1m"])
def test_the_suggested_cron_fits_and_the_latest_offset_is_before_the_app_calls_data_stale(
    interval: str,
) -> None:
    """It suggests a cron the check accepts, and a rule at the latest offset fires before
    the app's freshness rule calls the series stale."""
    from inference_app.freshness import stale_after

    expression = suggested_cron(interval).split("'")[1]
    assert cron_offset(expression, interval) in (1, 5)
    step = interval_step(interval)
    grace_min = (stale_after(interval) - step).total_seconds() / 60
    latest = latest_offset(interval)
    assert 1 <= latest < grace_min  # fires before the app calls the series stale
    assert latest + 1 >= min(grace_min, step.total_seconds() / 60)  # the latest such minute


@pytest.mark.parametrize(
    ("rule", "change", "message"),
    [
        (3, {"ScheduleExpression": "rate(5 minutes)"}, "Rules[3]: schedule 'rate(5 minutes)'"),
        (1, {"ScheduleExpression": "cron(5 * * * ? *)"}, "does not fire once per 4h candle"),
        (2, {"Name": "candlecast-daily-5m"}, "rule name(s) candlecast-daily-5m used twice"),
    ],
)
def test_a_bad_rule_in_an_intraday_file_is_refused(
    intraday: dict, rule: int, change: dict, message: str
) -> None:
    """It names the rule and what is wrong before anything is deployed."""
    intraday["Rules"][rule]["Rule"].update(change)
    with pytest.raises(SettingsError, match=re.escape(message)):
        check_schedule(intraday)


def test_two_rules_for_one_interval_are_refused(intraday: dict) -> None:
    """It refuses a second 5m rule of the daily function even under another name."""
    extra = copy.deepcopy(intraday["Rules"][3])
    extra["Rule"]["Name"] = "candlecast-daily-5m-again"
    intraday["Rules"].append(extra)
    with pytest.raises(SettingsError, match="one rule per interval; found two for daily 5m"):
        check_schedule(intraday)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([{"symbols": ["BTCUSDT"]}], 'target Input must name its interval, e.g. "interval"'),
        ([{"interval": "2h", "symbol": "BTCUSDT"}], "unknown key(s) symbol"),
        ([{"interval": "7m"}], "interval '7m' is not supported"),
        ([{"interval": "5m"}, {"interval": "1h"}], "name intervals 1h, 5m; a rule fires"),
    ],
)
def test_a_target_input_must_name_one_interval_the_handler_accepts(
    intraday: dict, inputs: list, message: str
) -> None:
    """It checks the input as the Lambda handler will, and the interval the schedule fits."""
    target = intraday["Rules"][3]["Targets"][0]
    intraday["Rules"][3]["Targets"] = [
        {**target, "Id": f"t{i}", "Input": json.dumps(payload)} for i, payload in enumerate(inputs)
    ]
    with pytest.raises(SettingsError, match=re.escape(message)):
        check_schedule(intraday)


def test_an_intraday_rule_does_not_retry_past_its_next_run(intraday: dict) -> None:
    """It refuses a retry window longer than one candle (the next run catches up anyway)."""
    intraday["Rules"][3]["Targets"][0]["RetryPolicy"]["MaximumEventAgeInSeconds"] = 3600
    with pytest.raises(SettingsError, match="longer than one 5m candle.*use at most 300"):
        check_schedule(intraday)


def test_asking_for_an_interval_without_a_rule_names_what_to_add() -> None:
    """It says which function and interval lack a rule, and the input key to set."""
    with pytest.raises(SettingsError, match='no rule for the daily function at 15m.*"interval"'):
        load_schedule(INTRADAY_FILE).for_function(DAILY, "15m")
