"""The daily job's EventBridge schedule (`eventbridge.json`): load, check, fill in the ARNs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from candlecast.errors import SettingsError

FUNCTION_ARN = "${FunctionArn}"
QUEUE_ARN = "${DeadLetterQueueArn}"
# cron(minutes hours day-of-month month day-of-week year), EventBridge's six-field form.
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")


@dataclass(frozen=True)
class Schedule:
    """The rule (put_rule arguments), its targets with ARN placeholders, the dead-letter queue."""

    rule: dict[str, Any]
    targets: tuple[dict[str, Any], ...]
    dead_letter_queue: dict[str, str]

    @property
    def rule_name(self) -> str:
        return str(self.rule["Name"])

    @property
    def queue_name(self) -> str:
        return self.dead_letter_queue["QueueName"]

    def rendered_targets(self, function_arn: str, queue_arn: str) -> list[dict[str, Any]]:
        """The targets with the function's and the queue's ARNs in place of the placeholders."""
        text = json.dumps(list(self.targets))
        text = text.replace(FUNCTION_ARN, function_arn).replace(QUEUE_ARN, queue_arn)
        return json.loads(text)

    def target_inputs(self) -> list[dict[str, Any]]:
        """Each target's constant input, parsed (what the Lambda handler receives as its event)."""
        return [json.loads(target["Input"]) for target in self.targets]


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
    """Check the shape: a daily cron rule, Lambda targets with input, retries and a DLQ."""
    if not isinstance(data, dict) or set(data) != {"Rule", "Targets", "DeadLetterQueue"}:
        raise SettingsError(f"{where}: expected exactly the keys Rule, Targets and DeadLetterQueue")
    rule, targets, queue = data["Rule"], data["Targets"], data["DeadLetterQueue"]
    _require(rule, ("Name", "ScheduleExpression", "State"), f"{where}: Rule")
    daily_cron_time(rule["ScheduleExpression"])
    if rule["State"] not in ("ENABLED", "DISABLED"):
        raise SettingsError(f"{where}: Rule.State must be ENABLED or DISABLED")
    if not isinstance(targets, list) or not targets:
        raise SettingsError(f"{where}: Targets must be a non-empty list")
    for target in targets:
        _check_target(target, where)
    _require(queue, ("QueueName",), f"{where}: DeadLetterQueue")
    return Schedule(dict(rule), tuple(dict(t) for t in targets), dict(queue))


def daily_cron_time(expression: str) -> tuple[int, int]:
    """The (hour, minute) UTC of a daily `cron(M H * * ? *)` expression; SettingsError otherwise."""
    match = _CRON.match(expression)
    daily = match is not None and match.groups()[2:] == ("*", "*", "?", "*")
    if not daily or not (match[1].isdigit() and match[2].isdigit()):
        raise SettingsError(
            f"schedule {expression!r} is not a daily cron; use e.g. 'cron(5 0 * * ? *)' "
            "(every day at 00:05 UTC)"
        )
    hour, minute = int(match[2]), int(match[1])
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
