"""`candlecast deploy aws` against moto: create, leave alone, update, dry-run, bad input; the
weekly retrain's function and rule beside the daily one's; one daily rule per interval."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from candlecast_aws.deploy import UNCHANGED, AwsClients, DeployRequest, deploy
from candlecast_aws.schedule import load_schedule
from candlecast_cli.app import main

SCHEDULE_FILE = Path(__file__).resolve().parents[2] / "eventbridge.json"
INTRADAY_FILE = Path(__file__).resolve().parents[2] / "eventbridge.intraday.json"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/candlecast-daily:{tag}"
TRAIN_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/candlecast-train:{tag}"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def role_arn(aws: str) -> str:
    """It creates the function's IAM role in moto."""
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="candlecast-daily", AssumeRolePolicyDocument=json.dumps(TRUST))
    return role["Role"]["Arn"]


def request(role_arn: str, tag: str = "v1", **changes: object) -> DeployRequest:
    options = {
        "image_uri": IMAGE.format(tag=tag),
        "function_name": "candlecast-daily",
        "role_arn": role_arn,
        "region": "us-east-1",
        "schedule": load_schedule(SCHEDULE_FILE),
        "environment": {"CANDLECAST_STORE_URI": "s3://candlecast/store"},
        **changes,
    }
    return DeployRequest(**options)


def aws_state() -> dict:
    """Everything the deploy manages, as AWS reports it."""
    lam, events, sqs = boto3.client("lambda"), boto3.client("events"), boto3.client("sqs")
    function = lam.get_function(FunctionName="candlecast-daily")
    queue = sqs.get_queue_url(QueueName="candlecast-daily-dlq")["QueueUrl"]
    return {
        "function": function["Configuration"],
        "image": function["Code"]["ImageUri"],
        "policy": json.loads(lam.get_policy(FunctionName="candlecast-daily")["Policy"]),
        "rule": {
            k: v
            for k, v in events.describe_rule(Name="candlecast-daily").items()
            if k != "ResponseMetadata"
        },
        "targets": events.list_targets_by_rule(Rule="candlecast-daily")["Targets"],
        "queue": sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"],
    }


def test_first_deploy_creates_everything_as_specified(role_arn: str) -> None:
    """It creates the image function, the daily rule, its target, the DLQ and the permission."""
    changes = deploy(request(role_arn), AwsClients.connect("us-east-1"))
    assert [(c.resource, c.action) for c in changes] == [
        ("dead-letter queue", "create"),
        ("lambda function", "create"),
        ("schedule rule", "create"),
        ("invoke permission", "create"),
        ("rule target", "create"),
    ]
    state = aws_state()
    function = state["function"]
    assert (function["PackageType"], function["MemorySize"], function["Timeout"]) == (
        "Image",
        1024,
        300,
    )
    assert state["image"] == IMAGE.format(tag="v1")
    assert function["Environment"]["Variables"] == {
        "CANDLECAST_HOME": "/tmp/candlecast",
        "CANDLECAST_STORE_URI": "s3://candlecast/store",
    }
    schedule = json.loads(SCHEDULE_FILE.read_text())["Rules"][0]
    assert schedule["Function"] == "daily"
    assert state["rule"]["ScheduleExpression"] == schedule["Rule"]["ScheduleExpression"]
    assert state["rule"]["State"] == "ENABLED"
    (target,) = state["targets"]
    assert target["Arn"] == function["FunctionArn"]
    assert json.loads(target["Input"]) == json.loads(schedule["Targets"][0]["Input"])
    assert target["RetryPolicy"] == schedule["Targets"][0]["RetryPolicy"]
    assert target["DeadLetterConfig"]["Arn"] == state["queue"]["QueueArn"]
    (statement,) = state["policy"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == state["rule"]["Arn"]
    queue_policy = json.loads(state["queue"]["Policy"])
    assert (
        queue_policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
        == state["rule"]["Arn"]
    )


def test_a_second_deploy_changes_nothing(role_arn: str) -> None:
    """It finds every resource up to date and makes no call that changes one."""
    deploy(request(role_arn), AwsClients.connect("us-east-1"))
    before = aws_state()
    changes = deploy(request(role_arn), AwsClients.connect("us-east-1"))
    assert {c.action for c in changes} == {UNCHANGED}
    assert aws_state() == before


def test_a_new_image_or_setting_updates_only_the_function(role_arn: str) -> None:
    """It updates the function's code and configuration and leaves the rest alone."""
    deploy(request(role_arn), AwsClients.connect("us-east-1"))
    changed = request(role_arn, tag="v2", memory_mb=2048, environment={})
    changes = {c.resource: c for c in deploy(changed, AwsClients.connect("us-east-1"))}
    assert changes["lambda function"].action == "update"
    assert changes["lambda function"].fields == ("ImageUri", "MemorySize", "Environment")
    assert {c.action for r, c in changes.items() if r != "lambda function"} == {UNCHANGED}
    state = aws_state()
    assert state["image"] == IMAGE.format(tag="v2")
    assert state["function"]["MemorySize"] == 2048
    assert state["function"]["Environment"]["Variables"] == {"CANDLECAST_HOME": "/tmp/candlecast"}


def test_dry_run_prints_the_plan_and_changes_nothing(
    role_arn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It lists what would be created and leaves the account empty."""
    code = main(["deploy", "aws", *cli_args(role_arn), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("plan (dry run, nothing was changed):")
    assert out.count("create ") == 5
    assert "5 resource(s) would change" in out
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("events").list_rules()["Rules"] == []
    assert boto3.client("sqs").list_queues().get("QueueUrls", []) == []


def test_the_cli_deploys_then_reports_nothing_to_change(
    role_arn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It applies the plan once; the second run says nothing changed, also as JSON."""
    assert main(["deploy", "aws", *cli_args(role_arn), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["dry_run"], first["changed"]) == (False, 5)
    assert main(["deploy", "aws", *cli_args(role_arn)]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert main(["deploy", "aws", *cli_args(role_arn), "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--env", "HOPSWORKS_API_KEY=abc"], "store it in Secrets Manager"),
        (["--env", "CANDLECAST_INTERVAL=2d"], "interval '2d' is not supported"),
        (["--env", "CANDLECAST_SYMBOLZ=x"], "unknown setting(s) CANDLECAST_SYMBOLZ"),
        (["--env", "NOEQUALS"], "is not KEY=VALUE"),
        (["--schedule", "missing.json"], "schedule file missing.json not found"),
    ],
)
def test_bad_input_is_rejected_before_any_aws_call(
    role_arn: str, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    """It prints one line, exits 1 and creates nothing."""
    assert main(["deploy", "aws", *cli_args(role_arn), *extra]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert boto3.client("lambda").list_functions()["Functions"] == []


def test_a_malformed_role_arn_is_rejected(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    """It explains the expected role ARN shape."""
    assert main(["deploy", "aws", *cli_args("candlecast-daily")]) == 1
    assert "is not an IAM role ARN" in capsys.readouterr().err


def test_aws_errors_become_one_clear_line(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    """It reports the failing AWS call (here: a role that does not exist) without a traceback."""
    missing_role = "arn:aws:iam::123456789012:role/does-not-exist"
    assert main(["deploy", "aws", *cli_args(missing_role)]) == 1
    err = capsys.readouterr().err
    assert "create lambda function candlecast-daily failed" in err and "Traceback" not in err


def cli_args(role_arn: str) -> list[str]:
    return [
        "--image-uri",
        IMAGE.format(tag="v1"),
        "--function-name",
        "candlecast-daily",
        "--role-arn",
        role_arn,
        "--region",
        "us-east-1",
        "--schedule",
        str(SCHEDULE_FILE),
        "--env",
        "CANDLECAST_STORE_URI=s3://candlecast/store",
    ]


def train_state() -> dict:
    """The retrain's function, rule, targets and permission, as AWS reports them."""
    lam, events = boto3.client("lambda"), boto3.client("events")
    function = lam.get_function(FunctionName="candlecast-retrain")
    return {
        "function": function["Configuration"],
        "image": function["Code"]["ImageUri"],
        "policy": json.loads(lam.get_policy(FunctionName="candlecast-retrain")["Policy"]),
        "rule": {
            k: v
            for k, v in events.describe_rule(Name="candlecast-retrain").items()
            if k != "ResponseMetadata"
        },
        "targets": events.list_targets_by_rule(Rule="candlecast-retrain")["Targets"],
    }


def test_a_training_image_adds_the_retrain_function_and_its_weekly_rule(role_arn: str) -> None:
    """It creates the retrain function (10 GB, 15 minutes, the same environment), its weekly
    rule, permission and target beside the daily ones, and the DLQ accepts both rules."""
    both = request(role_arn, train_image_uri=TRAIN_IMAGE.format(tag="t1"))
    changes = deploy(both, AwsClients.connect("us-east-1"))
    assert [(c.resource, c.name, c.action) for c in changes] == [
        ("dead-letter queue", "candlecast-daily-dlq", "create"),
        ("lambda function", "candlecast-daily", "create"),
        ("schedule rule", "candlecast-daily", "create"),
        ("invoke permission", "candlecast-daily-invoke", "create"),
        ("rule target", "candlecast-daily-lambda", "create"),
        ("lambda function", "candlecast-retrain", "create"),
        ("schedule rule", "candlecast-retrain", "create"),
        ("invoke permission", "candlecast-retrain-invoke", "create"),
        ("rule target", "candlecast-retrain-lambda", "create"),
    ]
    state, daily = train_state(), aws_state()
    function = state["function"]
    assert (function["PackageType"], function["MemorySize"], function["Timeout"]) == (
        "Image",
        10240,
        900,
    )
    assert state["image"] == TRAIN_IMAGE.format(tag="t1")
    assert function["Environment"] == daily["function"]["Environment"]
    schedule = json.loads(SCHEDULE_FILE.read_text())["Rules"][1]
    assert schedule["Function"] == "train"
    assert state["rule"]["ScheduleExpression"] == schedule["Rule"]["ScheduleExpression"]
    (target,) = state["targets"]
    assert target["Arn"] == function["FunctionArn"]
    assert json.loads(target["Input"]) == json.loads(schedule["Targets"][0]["Input"])
    assert target["DeadLetterConfig"]["Arn"] == daily["queue"]["QueueArn"]
    (statement,) = state["policy"]["Statement"]
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == state["rule"]["Arn"]
    queue_policy = json.loads(daily["queue"]["Policy"])
    sources = [s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in queue_policy["Statement"]]
    assert sources == [daily["rule"]["Arn"], state["rule"]["Arn"]]


def test_a_second_deploy_with_both_functions_changes_nothing(role_arn: str) -> None:
    """It finds all nine resources up to date; a daily-only deploy then leaves the retrain's
    alone, and a new training image updates only the retrain function."""
    both = request(role_arn, train_image_uri=TRAIN_IMAGE.format(tag="t1"))
    deploy(both, AwsClients.connect("us-east-1"))
    before = (aws_state(), train_state())
    assert {c.action for c in deploy(both, AwsClients.connect("us-east-1"))} == {UNCHANGED}
    assert {c.action for c in deploy(request(role_arn), AwsClients.connect("us-east-1"))} == {
        UNCHANGED
    }
    assert (aws_state(), train_state()) == before
    newer = request(role_arn, train_image_uri=TRAIN_IMAGE.format(tag="t2"), train_memory_mb=8192)
    changed = [c for c in deploy(newer, AwsClients.connect("us-east-1")) if c.action != UNCHANGED]
    assert [(c.name, c.fields) for c in changed] == [
        ("candlecast-retrain", ("ImageUri", "MemorySize"))
    ]
    assert train_state()["image"] == TRAIN_IMAGE.format(tag="t2")


def test_the_cli_deploys_the_retrain_with_a_training_image(
    role_arn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It plans nine resources with --train-image-uri and names the retrain function."""
    extra = ["--train-image-uri", TRAIN_IMAGE.format(tag="t1"), "--train-function-name", "rt"]
    assert main(["deploy", "aws", *cli_args(role_arn), *extra, "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["changed"] == 9
    assert ("lambda function", "rt") in {(r["resource"], r["name"]) for r in plan["resources"]}
    assert boto3.client("lambda").list_functions()["Functions"] == []


def test_the_retrain_function_needs_its_own_name(
    role_arn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It refuses a retrain function named like the daily one, before any AWS call."""
    extra = ["--train-image-uri", TRAIN_IMAGE.format(tag="t1")]
    extra += ["--train-function-name", "candlecast-daily"]
    assert main(["deploy", "aws", *cli_args(role_arn), *extra]) == 1
    assert "give the retrain function its own" in capsys.readouterr().err
    assert boto3.client("lambda").list_functions()["Functions"] == []


def rules_state() -> dict[str, dict]:
    """Each rule's schedule, state and targets' inputs, as EventBridge reports them."""
    events = boto3.client("events")
    return {
        rule["Name"]: {
            "ScheduleExpression": rule["ScheduleExpression"],
            "State": rule["State"],
            "inputs": [
                json.loads(t["Input"])
                for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
            ],
        }
        for rule in events.list_rules()["Rules"]
    }


def test_a_schedule_per_interval_deploys_one_rule_per_interval(role_arn: str) -> None:
    """It creates the daily function once and, per interval, a rule with the file's cron, a
    target passing that interval, and a permission; the DLQ accepts every rule."""
    changes = deploy(
        request(role_arn, schedule=load_schedule(INTRADAY_FILE)), AwsClients.connect("us-east-1")
    )
    names = [
        "candlecast-daily",
        "candlecast-daily-4h",
        "candlecast-daily-1h",
        "candlecast-daily-5m",
    ]
    assert [(c.resource, c.name, c.action) for c in changes] == [
        ("dead-letter queue", "candlecast-daily-dlq", "create"),
        ("lambda function", "candlecast-daily", "create"),
        *[
            (resource, f"{name}{suffix}", "create")
            for name in names
            for resource, suffix in (
                ("schedule rule", ""),
                ("invoke permission", "-invoke"),
                ("rule target", "-lambda"),
            )
        ],
    ]
    assert rules_state() == {
        "candlecast-daily": {
            "ScheduleExpression": "cron(5 0 * * ? *)",
            "State": "ENABLED",
            "inputs": [{"symbols": ["BTCUSDT", "ETHUSDT"], "interval": "1d"}],
        },
        "candlecast-daily-4h": {
            "ScheduleExpression": "cron(5 0/4 * * ? *)",
            "State": "ENABLED",
            "inputs": [{"symbols": ["BTCUSDT"], "interval": "4h"}],
        },
        "candlecast-daily-1h": {
            "ScheduleExpression": "cron(5 * * * ? *)",
            "State": "ENABLED",
            "inputs": [{"symbols": ["BTCUSDT"], "interval": "1h"}],
        },
        "candlecast-daily-5m": {
            "ScheduleExpression": "cron(1/5 * * * ? *)",
            "State": "ENABLED",
            "inputs": [{"symbols": ["BTCUSDT"], "interval": "5m"}],
        },
    }
    state = aws_state()
    events = boto3.client("events")
    arns = [events.describe_rule(Name=name)["Arn"] for name in names]
    function_arn = state["function"]["FunctionArn"]
    for name in names:
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == function_arn
        assert target["DeadLetterConfig"]["Arn"] == state["queue"]["QueueArn"]
    permitted = {
        s["Sid"]: s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in state["policy"]["Statement"]
    }
    assert permitted == {f"{name}-invoke": arn for name, arn in zip(names, arns, strict=True)}
    queue_policy = json.loads(state["queue"]["Policy"])
    sources = [s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in queue_policy["Statement"]]
    assert sources[:4] == arns and sources[4].endswith(":rule/candlecast-retrain")


def test_adding_intraday_rules_leaves_the_daily_rule_alone_and_a_redeploy_changes_nothing(
    role_arn: str,
) -> None:
    """It creates only the new rules (and widens the DLQ's policy) over a daily-only deploy,
    then finds everything up to date."""
    deploy(request(role_arn), AwsClients.connect("us-east-1"))
    daily = aws_state()
    intraday = request(role_arn, schedule=load_schedule(INTRADAY_FILE))
    changed = [
        c for c in deploy(intraday, AwsClients.connect("us-east-1")) if c.action != UNCHANGED
    ]
    assert [(c.name, c.action) for c in changed] == [
        ("candlecast-daily-dlq", "update"),
        *[
            (f"candlecast-daily-{interval}{suffix}", "create")
            for interval in ("4h", "1h", "5m")
            for suffix in ("", "-invoke", "-lambda")
        ],
    ]
    after = aws_state()
    assert (after["rule"], after["targets"], after["function"]) == (
        daily["rule"],
        daily["targets"],
        daily["function"],
    )
    before = rules_state()
    assert {c.action for c in deploy(intraday, AwsClients.connect("us-east-1"))} == {UNCHANGED}
    assert rules_state() == before


def test_the_cli_deploys_a_schedule_file_with_a_rule_per_interval(
    role_arn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It plans the queue, the function and three resources per rule from --schedule FILE."""
    args = [*cli_args(role_arn), "--schedule", str(INTRADAY_FILE), "--dry-run", "--json"]
    assert main(["deploy", "aws", *args]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["changed"] == 2 + 3 * 4
    rules = [r["name"] for r in plan["resources"] if r["resource"] == "schedule rule"]
    assert rules == [
        "candlecast-daily",
        "candlecast-daily-4h",
        "candlecast-daily-1h",
        "candlecast-daily-5m",
    ]


@pytest.mark.parametrize(
    ("expression", "interval", "message"),
    [
        ("rate(5 minutes)", "5m", "Rules[3]: schedule 'rate(5 minutes)' for 5m candles: rate()"),
        ("cron(5 * * * ? *)", "5m", "does not fire once per 5m candle"),
        ("cron(1/5 * * * ? *)", "1h", "does not fire once per 1h candle"),
        ("cron(* * * * ? *)", "1m", "1m candles cannot be scheduled"),
    ],
)
def test_a_schedule_that_does_not_fit_its_interval_is_refused_before_any_aws_call(
    role_arn: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    expression: str,
    interval: str,
    message: str,
) -> None:
    """It prints one line naming the rule and a cron that fits, exits 1 and creates nothing."""
    data = json.loads(INTRADAY_FILE.read_text())
    rule = data["Rules"][3]
    rule["Rule"]["ScheduleExpression"] = expression
    rule["Targets"][0]["Input"] = json.dumps({"symbols": ["BTCUSDT"], "interval": interval})
    rule["Targets"][0]["RetryPolicy"]["MaximumEventAgeInSeconds"] = 60
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(data))
    assert main(["deploy", "aws", *cli_args(role_arn), "--schedule", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert boto3.client("events").list_rules()["Rules"] == []
    assert boto3.client("lambda").list_functions()["Functions"] == []
