"""No command prints a secret, even at DEBUG: every CLI command run as a real process."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CANDLECAST = str(Path(sys.executable).with_name("candlecast"))
SECRETS = {
    "AWS_ACCESS_KEY_ID": f"AKIA{secrets.token_hex(8).upper()}",
    "AWS_SECRET_ACCESS_KEY": f"aws-secret-{secrets.token_hex(16)}",
    "AWS_SESSION_TOKEN": f"aws-session-{secrets.token_hex(16)}",
    "HOPSWORKS_API_KEY": f"hopsworks-key-{secrets.token_hex(16)}",
}
CSV = ["--source", "csv:{data}/BTCUSDT_1d.csv", "--now", "2026-01-06T12:00Z"]
DEPLOY = [
    "deploy",
    "aws",
    "--image-uri",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/candlecast-daily:v1",
    "--function-name",
    "candlecast-daily",
    "--role-arn",
    "arn:aws:iam::123456789012:role/candlecast-daily",
    "--region",
    "us-east-1",
    "--schedule",
    str(REPO / "eventbridge.json"),
    "--dry-run",
]
# In this order: daily and evaluate read what backfill wrote.
COMMANDS = {
    "status": ["status"],
    "backfill": ["backfill", "--symbols", "BTCUSDT", "--interval", "1d", *CSV],
    "daily": ["daily", "--symbols", "BTCUSDT", *CSV],
    "train --help": ["train", "--help"],
    "evaluate": ["evaluate", "--symbol", "BTCUSDT", "--interval", "1d"],
    "forecast": ["forecast", "--symbol", "BTCUSDT", "--allow-stale"],
    "deploy aws --dry-run": DEPLOY,
    "deploy aws --env with a secret": [*DEPLOY, "--env", "HOPSWORKS_API_KEY={hopsworks_key}"],
    "app --help": ["app", "--help"],
    "binance-sim --help": ["binance-sim", "--help"],
}
# The CLI with the SDK loggers left at the root level: what a leak would look like.
UNQUIETED = (
    "import sys; from candlecast import logs; logs.quiet_sdks = lambda: None; "
    "from candlecast_cli.app import main; sys.exit(main(sys.argv[1:]))"
)


def secret_env(home: Path, moto_url: str) -> dict[str, str]:
    """The caller's environment without its own settings or credentials, plus the fake secrets."""
    ours = ("CANDLECAST_", "HOPSWORKS_", "AWS_", "BINANCE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return {
        **env,
        **SECRETS,
        "CANDLECAST_HOME": str(home),
        "CANDLECAST_LOG_LEVEL": "DEBUG",
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_REGION": "us-east-1",
    }


def run(command: list[str], env: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess:
    hopsworks_key = SECRETS["HOPSWORKS_API_KEY"]
    args = [arg.format(data=data_dir, hopsworks_key=hopsworks_key) for arg in command]
    return subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=env["CANDLECAST_HOME"], timeout=300
    )


def leaks(done: subprocess.CompletedProcess) -> list[str]:
    return [name for name, value in SECRETS.items() if value in done.stdout + done.stderr]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, moto_url: str) -> dict[str, str]:
    """The secrets, DEBUG logging, an empty CANDLECAST_HOME and a freshly reset moto."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    return secret_env(tmp_path_factory.mktemp("home"), moto_url)


@pytest.fixture(scope="module")
def runs(env: dict[str, str], data_dir: Path) -> dict[str, subprocess.CompletedProcess]:
    """Every command once, in order, as `candlecast ...` processes."""
    return {name: run([CANDLECAST, *args], env, data_dir) for name, args in COMMANDS.items()}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_command_prints_a_secret(runs: dict, name: str) -> None:
    """It finds none of the fake secrets on stdout or stderr of the command."""
    done = runs[name]
    assert not leaks(done), f"`candlecast {name}` printed {leaks(done)}:\n{done.stderr[-2000:]}"


def test_the_commands_did_their_work_at_debug(runs: dict) -> None:
    """It checks the runs above logged and did real work, so finding no secret means something."""
    backfill = runs["backfill"]
    assert backfill.returncode == 0, backfill.stderr
    assert "BTCUSDT" in backfill.stdout
    assert re.search(r" INFO [\w.]+: ", backfill.stderr), "the log level did not reach the CLI"
    assert "up-to-date" in runs["daily"].stdout
    assert runs["status"].returncode == 0
    deploy = runs["deploy aws --dry-run"]
    assert deploy.returncode == 0, deploy.stderr
    assert deploy.stdout.startswith("plan (dry run, nothing was changed):")
    refused = runs["deploy aws --env with a secret"]
    assert refused.returncode == 1 and "Secrets Manager" in refused.stderr
    for name in ("train --help", "app --help", "binance-sim --help"):
        assert runs[name].returncode == 0 and "Usage" in runs[name].stdout


def test_the_deploy_run_would_show_a_leaked_token(env: dict[str, str], data_dir: Path) -> None:
    """It sees the session token in botocore's DEBUG headers once the SDK loggers are not quieted.

    So the dry run really signs AWS requests with the secrets, and only the quieting hides them.
    """
    done = run([sys.executable, "-c", UNQUIETED, *COMMANDS["deploy aws --dry-run"]], env, data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "X-Amz-Security-Token" in done.stderr
    assert {"AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"} <= set(leaks(done))
