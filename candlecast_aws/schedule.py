"""The EventBridge schedules (`eventbridge.json`): load, check, fill in the ARNs.

The file holds rules, each with its targets, and the dead-letter queue they share. A rule runs
one function at one interval, named by its targets' input (`"interval": "5m"`): the daily job's
rules (one per served interval, each firing once per candle shortly after its close) and the
weekly retrain's (a weekly cron). A target's `${FunctionArn}` is its rule's function.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from candlecast.errors import SettingsError
from candlecast.intervals import check_interval, interval_ms
from candlecast_aws.job import parse_event

FUNCTION_ARN = "${FunctionArn}"
QUEUE_ARN = "${DeadLetterQueueArn}"
DAILY, TRAIN = "daily", "train"  # the functions a rule can target
FUNCTIONS = (DAILY, TRAIN)
DEFAULT_INTERVAL = "1d"
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge's 1..7
# cron(minutes hours day-of-month month day-of-week year), EventBridge's six-field form.
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")
_EVERY_DAY = ("*", "*", "?", "*")
# The daily job's rules fire at least a minute after a close (Binance publishes a closed candle
# within seconds) and before the app calls the series stale: a quarter interval, at least
# 5 minutes, after the close (inference_app/freshness.py, whose figures these mirror).
STALE_AFTER_INTERVALS = 0.25
PUBLICATION_GRACE_MIN = 5


@dataclass(frozen=True)
class ScheduledRule:
    """One rule (put_rule arguments): its function, interval and targets with ARN placeholders."""

    function: str
    interval: str
    rule: dict[str, Any]
    targets: tuple[dict[str, Any], ...]

    @property
    def rule_name(self) -> str:
        return str(self.rule["Name"])

    def rendered_targets(self, function_arn: str, queue_arn: str) -> list[dict[str, Any]]:
        """The targets with the function's and the queue's ARNs in place of the placeholders."""
        text = json.dumps(list(self.targets))
        text = text.replace(FUNCTION_ARN, function_arn).replace(QUEUE_ARN, queue_arn)
        return json.loads(text)

    def target_inputs(self) -> list[dict[str, Any]]:
        """Each target's constant input, parsed (what the Lambda handler receives as its event)."""
        return [json.loads(target["Input"]) for target in self.targets]


@dataclass(frozen=True)
class Schedule:
    """Every rule and the dead-letter queue their targets share."""

    rules: tuple[ScheduledRule, ...]
    dead_letter_queue: dict[str, str]

    @property
    def queue_name(self) -> str:
        return self.dead_letter_queue["QueueName"]

    def rules_for(self, function: str) -> tuple[ScheduledRule, ...]:
        """The rules that target `function` (daily or train), one per interval; SettingsError
        when there is none."""
        rules = tuple(rule for rule in self.rules if rule.function == function)
        if not rules:
            raise SettingsError(
                f"the schedule has no rule for the {function} function; add one with "
                f'"Function": "{function}" (see the repository\'s eventbridge.json)'
            )
        return rules

    def for_function(self, function: str, interval: str = DEFAULT_INTERVAL) -> ScheduledRule:
        """The rule that runs `function` at `interval`; SettingsError when there is none."""
        for rule in self.rules_for(function):
            if rule.interval == interval:
                return rule
        raise SettingsError(
            f"the schedule has no rule for the {function} function at {interval}; add one with "
            f'"Function": "{function}" and "interval": "{interval}" in its targets\' Input'
        )


def load_schedule(path: Path) -> Schedule:
    """Read and check a schedule file such as the repository's `eventbridge.json`."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SettingsError(
            f"schedule file {path} not found; run from the repository root or pass --schedule PATH"
        ) from None
    except json.JSONDecodeError as error:
        raise SettingsError(f"schedule file {path} is not valid JSON: {error}") from None
    return check_schedule(data, str(path))


def check_schedule(data: Any, where: str = "schedule") -> Schedule:
    """Check the shape: one rule per function and interval, with its own name (daily: a cron
    that fires once per candle shortly after its close; train: a weekly cron), Lambda targets
    with input, retries and the dead-letter queue."""
    if not isinstance(data, dict) or set(data) != {"Rules", "DeadLetterQueue"}:
        raise SettingsError(f"{where}: expected exactly the keys Rules and DeadLetterQueue")
    if not isinstance(data["Rules"], list) or not data["Rules"]:
        raise SettingsError(f"{where}: Rules must be a non-empty list")
    rules = tuple(_check_rule(rule, f"{where}: Rules[{i}]") for i, rule in enumerate(data["Rules"]))
    _check_unique(rules, where)
    queue = data["DeadLetterQueue"]
    _require(queue, ("QueueName",), f"{where}: DeadLetterQueue")
    return Schedule(rules, dict(queue))


def _check_unique(rules: tuple[ScheduledRule, ...], where: str) -> None:
    runs = [f"{rule.function} {rule.interval}" for rule in rules]
    twice = sorted({run for run in runs if runs.count(run) > 1})
    if twice:
        raise SettingsError(
            f"{where}: each function has one rule per interval; found two for {', '.join(twice)}"
        )
    names = [rule.rule_name for rule in rules]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise SettingsError(
            f"{where}: rule name(s) {', '.join(twice)} used twice; give each rule its own, "
            "e.g. candlecast-daily-5m"
        )


def _check_rule(entry: Any, where: str) -> ScheduledRule:
    _require(entry, ("Function", "Rule", "Targets"), where)
    unknown = sorted(set(entry) - {"Function", "Rule", "Targets"})
    if unknown:
        raise SettingsError(f"{where} has unknown key(s) {', '.join(unknown)}")
    function, rule, targets = entry["Function"], entry["Rule"], entry["Targets"]
    if function not in FUNCTIONS:
        raise SettingsError(f"{where}: Function must be one of {', '.join(FUNCTIONS)}")
    _require(rule, ("Name", "ScheduleExpression", "State"), f"{where}.Rule")
    if rule["State"] not in ("ENABLED", "DISABLED"):
        raise SettingsError(f"{where}: Rule.State must be ENABLED or DISABLED")
    if not isinstance(targets, list) or not targets:
        raise SettingsError(f"{where}: Targets must be a non-empty list")
    intervals = {_check_target(target, function, where) for target in targets}
    if len(intervals) > 1:
        raise SettingsError(
            f"{where}: the targets name intervals {', '.join(sorted(intervals))}; a rule fires "
            "at one interval's closes, so give each interval its own rule"
        )
    (interval,) = intervals
    try:
        if function == DAILY:
            cron_offset(rule["ScheduleExpression"], interval)
        else:
            weekly_cron_time(rule["ScheduleExpression"])
    except SettingsError as error:
        raise SettingsError(f"{where}: {error}") from None
    if function == DAILY:
        for target in targets:
            _check_retry_age(target, interval, where)
    return ScheduledRule(function, interval, dict(rule), tuple(dict(t) for t in targets))


def cron_offset(expression: str, interval: str) -> int:
    """The minutes after each `interval` close at which a daily-job rule fires; SettingsError
    unless it is a cron that fires once per candle, 1 minute to `latest_offset` after its close.

    Never `rate(...)`: EventBridge counts a rate from when the rule was created, so
    `rate(5 minutes)` fires at arbitrary times inside each candle, not after its close.
    """
    step = interval_ms(interval) // 60_000
    if step == 1:
        raise SettingsError(
            f"1m candles cannot be scheduled: a cron fires on whole minutes, and a minute after a "
            f"close the next 1m candle has closed too; use 3m or longer, e.g. "
            f"{suggested_cron('3m')}"
        )
    suggestion = suggested_cron(interval)
    if interval == "1d":
        hour, minute = daily_cron_time(expression)  # keeps the daily rule's own messages
        fires = {hour * 60 + minute}
    else:
        fires = _fire_minutes(expression, interval, suggestion)
    offset = min(fires)
    if offset >= step or fires != set(range(offset, 24 * 60, step)):
        raise SettingsError(
            f"schedule {expression!r} does not fire once per {interval} candle at the same time "
            f"after its close; use e.g. {suggestion}"
        )
    latest = latest_offset(interval)
    if not 1 <= offset <= latest:
        raise SettingsError(
            f"schedule {expression!r} fires {offset} minute(s) after each {interval} close; fire "
            f"1 to {latest} minute(s) after it (after Binance published the candle, before the "
            f"app calls the series stale), e.g. {suggestion}"
        )
    return offset


def latest_offset(interval: str) -> int:
    """The latest minute after an `interval` close that a daily-job rule may fire at."""
    step = interval_ms(interval) / 60_000
    stale = max(step * STALE_AFTER_INTERVALS, PUBLICATION_GRACE_MIN)
    return min(math.ceil(stale) - 1, int(step) - 1)


def suggested_cron(interval: str) -> str:
    """A cron that fires once per `interval` candle, a minute (intraday under an hour) or five
    minutes after its close."""
    step = interval_ms(check_interval(interval)) // 60_000
    if step < 60:
        return f"'cron(1/{step} * * * ? *)' (1 minute after each {interval} close)"
    hours = "*" if step == 60 else "0" if step == 24 * 60 else f"0/{step // 60}"
    return f"'cron(5 {hours} * * ? *)' (5 minutes after each {interval} close)"


def _fire_minutes(expression: str, interval: str, suggestion: str) -> set[int]:
    """The minutes of the day an every-day cron fires at; SettingsError for anything else."""
    if expression.startswith("rate("):
        raise SettingsError(
            f"schedule {expression!r} for {interval} candles: rate() fires at times counted from "
            f"the rule's creation, not at candle closes; use a cron, e.g. {suggestion}"
        )
    match = _CRON.match(expression)
    if match is None or match.groups()[2:] != _EVERY_DAY:
        raise SettingsError(
            f"schedule {expression!r} is not a cron that fires every day of the week and month "
            f"('* * ? *' in the day fields); use e.g. {suggestion}"
        )
    minutes, hours = _field(match[1], 59), _field(match[2], 23)
    if minutes is None or hours is None:
        raise SettingsError(
            f"schedule {expression!r} has a minutes or hours field that is not a list of N, A-B, "
            f"*, */S, N/S or A-B/S; use e.g. {suggestion}"
        )
    return {hour * 60 + minute for hour in hours for minute in minutes}


def _field(text: str, top: int) -> set[int] | None:
    """The values of a cron minutes or hours field (`*`, `N`, `A-B`, each with `/STEP`, and
    comma lists of those); None for anything else."""
    values: set[int] = set()
    for part in text.split(","):
        span, _, every = part.partition("/")
        if span == "*":
            low, high = 0, top
        else:
            first, _, last = span.partition("-")
            if not first.isdigit() or not (last or first).isdigit():
                return None
            low, high = int(first), int(last) if last else (top if every else int(first))
        if (every and not every.isdigit()) or every == "0" or not 0 <= low <= high <= top:
            return None
        values.update(range(low, high + 1, int(every or 1)))
    return values


def daily_cron_time(expression: str) -> tuple[int, int]:
    """The (hour, minute) UTC of a daily `cron(M H * * ? *)` expression; SettingsError otherwise."""
    match = _CRON.match(expression)
    daily = match is not None and match.groups()[2:] == _EVERY_DAY
    if not daily or not (match[1].isdigit() and match[2].isdigit()):
        raise SettingsError(
            f"schedule {expression!r} is not a daily cron; use e.g. 'cron(5 0 * * ? *)' "
            "(every day at 00:05 UTC)"
        )
    return _time_of_day(expression, int(match[2]), int(match[1]))


def weekly_cron_time(expression: str) -> tuple[str, int, int]:
    """The (weekday, hour, minute) UTC of a weekly `cron(M H ? * DAY *)` expression, the day as
    SUN..SAT or 1..7; SettingsError otherwise."""
    match = _CRON.match(expression)
    day = match[5].upper() if match else ""
    if day.isdigit() and 1 <= int(day) <= 7:
        day = WEEKDAYS[int(day) - 1]
    weekly = match is not None and match.groups()[2:4] == ("?", "*") and match[6] == "*"
    if not weekly or day not in WEEKDAYS or not (match[1].isdigit() and match[2].isdigit()):
        raise SettingsError(
            f"schedule {expression!r} is not a weekly cron; use e.g. 'cron(0 2 ? * SUN *)' "
            "(every Sunday at 02:00 UTC)"
        )
    return (day, *_time_of_day(expression, int(match[2]), int(match[1])))


def _time_of_day(expression: str, hour: int, minute: int) -> tuple[int, int]:
    if hour > 23 or minute > 59:
        raise SettingsError(f"schedule {expression!r} has no valid time of day")
    return hour, minute


def _check_target(target: Any, function: str, where: str) -> str:
    """Check one target; the interval its input names."""
    _require(target, ("Id", "Arn", "Input", "RetryPolicy", "DeadLetterConfig"), f"{where}: target")
    if target["Arn"] != FUNCTION_ARN:
        raise SettingsError(f"{where}: target Arn must be the placeholder {FUNCTION_ARN}")
    if target["DeadLetterConfig"].get("Arn") != QUEUE_ARN:
        raise SettingsError(f"{where}: DeadLetterConfig.Arn must be the placeholder {QUEUE_ARN}")
    try:
        payload = json.loads(target["Input"])
    except (TypeError, json.JSONDecodeError):
        raise SettingsError(f"{where}: target Input must be a JSON object in a string") from None
    if not isinstance(payload, dict):
        raise SettingsError(f"{where}: target Input must be a JSON object in a string")
    if not isinstance(payload.get("interval"), str):
        raise SettingsError(
            f'{where}: target Input must name its interval, e.g. "interval": "1d" (the rule\'s '
            "schedule is checked against it)"
        )
    if function == DAILY:
        try:  # the handler's own check of its event
            parse_event(payload)
        except SettingsError as error:
            raise SettingsError(f"{where}: target Input: {error}") from None
    return check_interval(payload["interval"])


def _check_retry_age(target: dict[str, Any], interval: str, where: str) -> None:
    """A retry later than one candle repeats what the next scheduled run does anyway."""
    age = target["RetryPolicy"].get("MaximumEventAgeInSeconds")
    period = interval_ms(interval) // 1000
    if isinstance(age, int) and age > period:
        raise SettingsError(
            f"{where}: RetryPolicy.MaximumEventAgeInSeconds {age} is longer than one {interval} "
            f"candle; after that the next scheduled run catches up, so use at most {period}"
        )


def _require(section: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(section, dict):
        raise SettingsError(f"{where} must be an object")
    missing = [k for k in keys if k not in section]
    if missing:
        raise SettingsError(f"{where} lacks {', '.join(missing)}")
