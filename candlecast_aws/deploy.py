"""Deploy to AWS: the daily job's Lambda function from its image, its rules (one per served
interval), DLQ and permissions, and (with a training image) the weekly retrain's function, rule
and permission.

Every resource is compared with what exists first, so a second deploy changes nothing; the plan
is the list of `Change`s and `--dry-run` only computes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from candlecast.errors import CandlecastError, SettingsError
from candlecast.settings import Settings
from candlecast_aws.schedule import DAILY, TRAIN, Schedule, ScheduledRule

logger = logging.getLogger(__name__)

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
LAMBDA_HOME = "/tmp/candlecast"  # the only writable folder in a Lambda
DEFAULT_MEMORY_MB = 1024
# The longest run, of the daily rule; the job ends a shorter interval's run sooner on its own
# (within half a candle: a 5m run in 150 s, job.RUN_SHARE), so one timeout serves every rule.
DEFAULT_TIMEOUT_S = 300
# The retrain fits networks on CPU: Lambda's most memory (which also brings its most vCPUs, 6)
# and its longest timeout; benchmarks/retrain.py measures a refit against both.
DEFAULT_TRAIN_FUNCTION = "candlecast-retrain"
DEFAULT_TRAIN_MEMORY_MB = 10240
DEFAULT_TRAIN_TIMEOUT_S = 900
DESCRIPTIONS = {
    DAILY: "candlecast daily job: closed Binance candles -> feature store",
    TRAIN: "candlecast weekly retrain: refit served models that are old or degraded",
}
_FORBIDDEN_ENV = {"HOPSWORKS_API_KEY": "HOPSWORKS_API_KEY_SECRET=<secret name>"}


class DeployError(CandlecastError):
    """An AWS call of the deploy failed."""


@dataclass(frozen=True)
class Function:
    """One Lambda function of the deploy and the schedule rules that invoke it."""

    kind: str  # daily | train
    name: str
    image_uri: str
    memory_mb: int
    timeout_s: int
    rules: tuple[ScheduledRule, ...]


def permission_id(rule: ScheduledRule) -> str:
    """The statement id of the function's permission for `rule` to invoke it."""
    return f"{rule.rule_name}-invoke"


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy: the images, the functions' settings and the schedule.

    The daily function always; the retrain function when `train_image_uri` is given. Both get
    the same environment (the same store, registry and secrets).
    """

    image_uri: str
    function_name: str
    role_arn: str
    region: str
    schedule: Schedule
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_s: int = DEFAULT_TIMEOUT_S
    environment: Mapping[str, str] = field(default_factory=dict)
    train_image_uri: str | None = None
    train_function_name: str = DEFAULT_TRAIN_FUNCTION
    train_memory_mb: int = DEFAULT_TRAIN_MEMORY_MB
    train_timeout_s: int = DEFAULT_TRAIN_TIMEOUT_S

    def __post_init__(self) -> None:
        _arn_part(self.role_arn, 4)  # a malformed role ARN fails before any AWS call
        if self.train_image_uri is not None and self.train_function_name == self.function_name:
            raise SettingsError(
                f"--train-function-name {self.train_function_name!r} is the daily function's "
                "name; give the retrain function its own (default candlecast-retrain)"
            )
        self.functions()  # a schedule without a rule for a deployed function fails here

    def functions(self) -> tuple[Function, ...]:
        """The functions to deploy, daily first, each with its rules."""
        daily = Function(
            DAILY,
            self.function_name,
            self.image_uri,
            self.memory_mb,
            self.timeout_s,
            self.schedule.rules_for(DAILY),
        )
        if self.train_image_uri is None:
            return (daily,)
        train = Function(
            TRAIN,
            self.train_function_name,
            self.train_image_uri,
            self.train_memory_mb,
            self.train_timeout_s,
            self.schedule.rules_for(TRAIN),
        )
        return daily, train

    @property
    def account(self) -> str:
        return _arn_part(self.role_arn, 4)

    @property
    def partition(self) -> str:
        return _arn_part(self.role_arn, 1)

    def function_arn(self, name: str) -> str:
        prefix = f"arn:{self.partition}:lambda:{self.region}:{self.account}"
        return f"{prefix}:function:{name}"

    def rule_arn(self, rule_name: str) -> str:
        prefix = f"arn:{self.partition}:events:{self.region}:{self.account}"
        return f"{prefix}:rule/{rule_name}"

    @property
    def queue_arn(self) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account}:{self.schedule.queue_name}"

    def function_environment(self) -> dict[str, str]:
        """The Lambda's environment: CANDLECAST_HOME in /tmp plus the given variables."""
        return {"CANDLECAST_HOME": LAMBDA_HOME, **self.environment}


@dataclass(frozen=True)
class Change:
    """One resource of the deploy and what the deploy does (or would do) to it."""

    resource: str
    name: str
    action: str
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"resource": self.resource, "name": self.name, "action": self.action,
                "fields": list(self.fields)}  # fmt: skip

    def __str__(self) -> str:
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.action:<9}  {self.resource:<17}  {self.name}{detail}"


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients of the deploy (AWS_ENDPOINT_URL points them at a stand-in such as moto)."""

    lambda_: Any
    events: Any
    sqs: Any

    @classmethod
    def connect(cls, region: str) -> AwsClients:
        import boto3

        session = boto3.session.Session(region_name=region)
        return cls(session.client("lambda"), session.client("events"), session.client("sqs"))


def check_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """Reject secrets in plain variables and invalid CANDLECAST_* settings before deploying."""
    for key, instead in _FORBIDDEN_ENV.items():
        if key in environment:
            raise SettingsError(
                f"{key} would be readable by anyone who can see the function; store it in "
                f"Secrets Manager and pass --env {instead} instead"
            )
    Settings.from_env({"CANDLECAST_HOME": LAMBDA_HOME, **environment})
    return dict(environment)


def deploy(request: DeployRequest, clients: AwsClients, *, dry_run: bool = False) -> list[Change]:
    """Bring the AWS resources to the request; what changed (or would change, with dry_run).

    The shared dead-letter queue first, then per function: itself, and per rule of it: the
    rule, its permission to invoke the function and its targets. A rule that is no longer in
    the schedule is left as it is (disable it in the file, or delete it with the AWS CLI).
    """
    steps = [lambda: _queue(request, clients)]
    for function in request.functions():
        steps.append(lambda function=function: _function(request, function, clients))
        steps += [
            lambda resource=resource, function=function, rule=rule: resource(
                request, function, rule, clients
            )
            for rule in function.rules
            for resource in _RULE_RESOURCES
        ]
    changes = []
    for step in steps:
        change, apply = _guard(None, step)
        if change.action != UNCHANGED and not dry_run:
            logger.info("deploy: %s", change)
            _guard(change, lambda apply=apply: apply())
        changes.append(change)
    return changes


# Each resource: look at what exists, return the Change and a function that makes it so.
_Step = tuple[Change, Callable[[], object]]


def _queue(request: DeployRequest, clients: AwsClients) -> _Step:
    sqs, name = clients.sqs, request.schedule.queue_name
    wanted = {**_queue_attributes(request)}
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        change = Change("dead-letter queue", name, CREATE)
        return change, lambda: sqs.create_queue(QueueName=name, Attributes=wanted)
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    differ = [k for k, v in wanted.items() if not _same(current.get(k), v)]
    change = Change("dead-letter queue", name, UPDATE if differ else UNCHANGED, tuple(differ))
    return change, lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes=wanted)


def _queue_attributes(request: DeployRequest) -> dict[str, str]:
    """The queue's settings plus a policy that lets each rule of the schedule (deployed now or
    not, so the policy does not depend on the options) send undeliverable events to it."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"{rule.rule_name}-dead-letters",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": request.queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": request.rule_arn(rule.rule_name)}},
            }
            for rule in request.schedule.rules
        ],
    }
    extra = {k: v for k, v in request.schedule.dead_letter_queue.items() if k != "QueueName"}
    return {**extra, "Policy": json.dumps(policy, sort_keys=True)}


def _function(request: DeployRequest, function: Function, clients: AwsClients) -> _Step:
    lam, name = clients.lambda_, function.name
    config = {
        "Role": request.role_arn,
        "MemorySize": function.memory_mb,
        "Timeout": function.timeout_s,
        "Environment": {"Variables": request.function_environment()},
    }
    try:
        current = lam.get_function(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        return Change("lambda function", name, CREATE), lambda: _create_function(
            function, lam, config
        )
    existing = current["Configuration"]
    differ = [k for k, v in config.items() if not _same(existing.get(k), v)]
    new_image = current.get("Code", {}).get("ImageUri") != function.image_uri
    fields = (["ImageUri"] if new_image else []) + differ
    action = UPDATE if fields else UNCHANGED

    def apply() -> None:
        if new_image:
            lam.update_function_code(FunctionName=name, ImageUri=function.image_uri)
            lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        if differ:
            lam.update_function_configuration(FunctionName=name, **config)
            lam.get_waiter("function_updated_v2").wait(FunctionName=name)

    return Change("lambda function", name, action, tuple(fields)), apply


def _create_function(function: Function, lam: Any, config: dict[str, Any]) -> None:
    lam.create_function(
        FunctionName=function.name,
        PackageType="Image",
        Code={"ImageUri": function.image_uri},
        Description=DESCRIPTIONS[function.kind],
        **config,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=function.name)


def _rule(
    request: DeployRequest, function: Function, rule: ScheduledRule, clients: AwsClients
) -> _Step:
    events, wanted, name = clients.events, rule.rule, rule.rule_name
    try:
        current = events.describe_rule(Name=name)
    except events.exceptions.ResourceNotFoundException:
        return Change("schedule rule", name, CREATE), lambda: events.put_rule(**wanted)
    differ = [k for k, v in wanted.items() if not _same(current.get(k), v)]
    change = Change("schedule rule", name, UPDATE if differ else UNCHANGED, tuple(differ))
    return change, lambda: events.put_rule(**wanted)


def _permission(
    request: DeployRequest, function: Function, rule: ScheduledRule, clients: AwsClients
) -> _Step:
    lam, sid = clients.lambda_, permission_id(rule)
    rule_arn = request.rule_arn(rule.rule_name)
    current = _statement(lam, function.name, sid)
    source = (current or {}).get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")

    def apply() -> None:
        if current is not None:
            lam.remove_permission(FunctionName=function.name, StatementId=sid)
        lam.add_permission(
            FunctionName=function.name,
            StatementId=sid,
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule_arn,
        )

    if current is None:
        return Change("invoke permission", sid, CREATE), apply
    action = UNCHANGED if source == rule_arn else UPDATE
    return Change(
        "invoke permission", sid, action, () if action == UNCHANGED else ("SourceArn",)
    ), apply


def _statement(lam: Any, function_name: str, sid: str) -> dict[str, Any] | None:
    try:
        policy = json.loads(lam.get_policy(FunctionName=function_name)["Policy"])
    except lam.exceptions.ResourceNotFoundException:
        return None  # no function yet, or a function without a resource policy
    return next((s for s in policy.get("Statement", []) if s.get("Sid") == sid), None)


def _targets(
    request: DeployRequest, function: Function, scheduled: ScheduledRule, clients: AwsClients
) -> _Step:
    events, rule = clients.events, scheduled.rule_name
    wanted = scheduled.rendered_targets(request.function_arn(function.name), request.queue_arn)
    try:
        current = {t["Id"]: t for t in events.list_targets_by_rule(Rule=rule)["Targets"]}
    except events.exceptions.ResourceNotFoundException:
        current = {}
    differ = [t["Id"] for t in wanted if not _same(current.get(t["Id"]), t)]
    missing = [t["Id"] for t in wanted if t["Id"] not in current]
    action = UNCHANGED if not differ else (CREATE if missing == differ else UPDATE)
    change = Change("rule target", ", ".join(t["Id"] for t in wanted), action)

    def apply() -> None:
        failed = events.put_targets(Rule=rule, Targets=wanted).get("FailedEntries", [])
        if failed:
            raise DeployError(f"EventBridge rejected target(s) of rule {rule}: {failed}")

    return change, apply


_RULE_RESOURCES = (_rule, _permission, _targets)


def _same(current: Any, wanted: Any) -> bool:
    """Equal after normalising JSON strings (policies, inputs) and numbers sent as strings."""
    if isinstance(wanted, dict) and isinstance(current, dict):
        return set(current) == set(wanted) and all(_same(current[k], v) for k, v in wanted.items())
    if isinstance(wanted, str) and isinstance(current, str) and wanted[:1] in "{[":
        try:
            return json.loads(current) == json.loads(wanted)
        except json.JSONDecodeError:
            return current == wanted
    if isinstance(wanted, str) and isinstance(current, int | float):
        return str(current) == wanted
    return current == wanted


def _guard(change: Change | None, action: Callable[[], Any]) -> Any:
    """Run an AWS call; turn botocore's errors into a DeployError that says what failed."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    doing = (
        f"{change.action} {change.resource} {change.name}" if change else "reading AWS resources"
    )
    try:
        return action()
    except NoCredentialsError:
        raise DeployError(
            "no AWS credentials found; configure them (aws configure, AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ) from None
    except ClientError as error:
        info = error.response.get("Error", {})
        raise DeployError(
            f"{doing} failed: {info.get('Code')}: {info.get('Message')}; check the region, the "
            "names and that your credentials may manage Lambda, EventBridge and SQS"
        ) from None
    except BotoCoreError as error:
        raise DeployError(f"{doing} failed: {error}") from None


def _arn_part(arn: str, index: int) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise SettingsError(
            f"--role-arn {arn!r} is not an IAM role ARN; use arn:aws:iam::ACCOUNT:role/NAME"
        )
    return parts[index]
