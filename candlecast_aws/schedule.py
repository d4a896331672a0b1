"""The EventBridge schedules (`eventbridge.json`): load, check, fill in the ARNs.

The file holds one rule per function, each with its targets, and the dead-letter queue they
share: the daily job's rule (a daily cron shortly after the UTC close) and the weekly retrain's
(a weekly cron). A target's `${FunctionArn}` is its rule's function.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from candlecast.errors import SettingsError

FUNCTION_ARN = "${FunctionArn}"
QUEUE_ARN = "${DeadLetterQueueArn}"
DAILY, TRAIN = "daily", "train"  # the functions a rule can target
FUNCTIONS = (DAILY, TRAIN)
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge's 1..7
# cron(minutes hours day-of-month month day-of-week year), EventBridge's six-field form.
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")


@dataclass(frozen=True)
class ScheduledRule:
    """One function's rule (put_rule arguments) and its targets with ARN placeholders."""

    function: str
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
    """Every function's rule and the dead-letter queue their targets share."""

    rules: tuple[ScheduledRule, ...]
    dead_letter_queue: dict[str, str]

    @property
    def queue_name(self) -> str:
        return self.dead_letter_queue["QueueName"]

    def for_function(self, function: str) -> ScheduledRule:
        """The rule that targets `function` (daily or train); SettingsError when there is none."""
        for rule in self.rules:
            if rule.function == function:
                return rule
        raise SettingsError(
            f"the schedule has no rule for the {function} function; add one with "
            f'"Function": "{function}" (see the repository\'s eventbridge.json)'
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
    """Check the shape: one rule per function (daily: a daily cron; train: a weekly cron),
    Lambda targets with input, retries and the dead-letter queue."""
    if not isinstance(data, dict) or set(data) != {"Rules", "DeadLetterQueue"}:
        raise SettingsError(f"{where}: expected exactly the keys Rules and DeadLetterQueue")
    if not isinstance(data["Rules"], list) or not data["Rules"]:
        raise SettingsError(f"{where}: Rules must be a non-empty list")
    rules = tuple(_check_rule(rule, f"{where}: Rules[{i}]") for i, rule in enumerate(data["Rules"]))
    functions = [rule.function for rule in rules]
    if len(set(functions)) != len(functions):
        raise SettingsError(f"{where}: each function has one rule; found {functions}")
    queue = data["DeadLetterQueue"]
    _require(queue, ("QueueName",), f"{where}: DeadLetterQueue")
    return Schedule(rules, dict(queue))


def _check_rule(entry: Any, where: str) -> ScheduledRule:
    _require(entry, ("Function", "Rule", "Targets"), where)
    unknown = sorted(set(entry) - {"Function", "Rule", "Targets"})
    if unknown:
        raise SettingsError(f"{where} has unknown key(s) {', '.join(unknown)}")
    function, rule, targets = entry["Function"], entry["Rule"], entry["Targets"]
    if function not in FUNCTIONS:
        raise SettingsError(f"{where}: Function must be one of {', '.join(FUNCTIONS)}")
    _require(rule, ("Name", "ScheduleExpression", "State"), f"{where}.Rule")
    if function == DAILY:
        daily_cron_time(rule["ScheduleExpression"])
    else:
        weekly_cron_time(rule["ScheduleExpression"])
    if rule["State"] not in ("ENABLED", "DISABLED"):
        raise SettingsError(f"{where}: Rule.State must be ENABLED or DISABLED")
    if not isinstance(targets, list) or not targets:
        raise SettingsError(f"{where}: Targets must be a non-empty list")
    for target in targets:
        _check_target(target, where)
    return ScheduledRule(function, dict(rule), tuple(dict(t) for t in targets))


def daily_cron_time(expression: str) -> tuple[int, int]:
    """The (hour, minute) UTC of a daily `cron(M H * * ? *)` expression; SettingsError otherwise."""
    match = _CRON.match(expression)
    daily = match is not None and match.groups()[2:] == ("*", "*", "?", "*")
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


def _check_target(target: Any, where: str) -> None:
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


def _require(section: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(section, dict):
        raise SettingsError(f"{where} must be an object")
    missing = [k for k in keys if k not in section]
    if missing:
        raise SettingsError(f"{where} lacks {', '.join(missing)}")
