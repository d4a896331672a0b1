"""The daily job as AWS Lambda runs it: event -> settings (+ secret) -> daily run -> summary.

`lambda/handler.py` is a thin adapter over `handle`. Only the standard library and the settings
are imported at module level, so the Lambda's cold import stays fast; the pipeline loads on use.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from candlecast.errors import CandlecastError, SettingsError
from candlecast.intervals import check_interval
from candlecast.settings import Settings, parse_symbols

logger = logging.getLogger("candlecast.daily")

KEY_SECRET_ENV = "HOPSWORKS_API_KEY_SECRET"
_OVERRIDES = {"symbols", "interval"}
_EXPECTED = (
    'an EventBridge scheduled event, or an object with optional "symbols" (a list such as '
    '["BTCUSDT", "ETHUSDT"]) and "interval" (such as "1d")'
)


class DailyRunFailed(CandlecastError):
    """At least one symbol of a daily run failed; the summary says which and why."""

    def __init__(self, summary: dict[str, Any]) -> None:
        failed = [s for s in summary["symbols"] if s["status"] == "error"]
        names = ", ".join(f"{s['symbol']} ({s['message']})" for s in failed)
        super().__init__(
            f"daily run failed for {len(failed)} of {len(summary['symbols'])} symbol(s): {names}; "
            "the other symbols were updated, fix the cause and run again (it is idempotent)"
        )
        self.summary = summary


def parse_event(event: Any) -> dict[str, Any]:
    """The overrides an event asks for ({} for a plain scheduled event); SettingsError if bad."""
    if not isinstance(event, dict):
        raise SettingsError(f"the event is a {type(event).__name__}; expected {_EXPECTED}")
    if event.get("source") == "aws.events" or "detail-type" in event:
        if event.get("detail-type") != "Scheduled Event":
            raise SettingsError(
                f"event {event.get('detail-type')!r} is not handled; expected {_EXPECTED}"
            )
        detail = event.get("detail") or {}
        return parse_event(detail) if detail else {}
    unknown = sorted(set(event) - _OVERRIDES)
    if unknown:
        raise SettingsError(
            f"the event has unknown key(s) {', '.join(map(str, unknown))}; expected {_EXPECTED}"
        )
    overrides: dict[str, Any] = {}
    if "symbols" in event:
        overrides["symbols"] = _symbols(event["symbols"])
    if "interval" in event:
        if not isinstance(event["interval"], str):
            raise SettingsError(f'"interval" must be a string such as "1d"; expected {_EXPECTED}')
        overrides["interval"] = check_interval(event["interval"])
    return overrides


def _symbols(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise SettingsError(f'"symbols" must be a non-empty list of strings; expected {_EXPECTED}')
    return parse_symbols(",".join(value))


def hopsworks_api_key(settings: Settings, secrets: Callable[[], Any]) -> str | None:
    """HOPSWORKS_API_KEY, or the secret HOPSWORKS_API_KEY_SECRET names (read with `secrets()`)."""
    if settings.hopsworks_api_key:
        return settings.hopsworks_api_key
    name = settings.hopsworks_api_key_secret
    if not name:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = secrets().get_secret_value(SecretId=name)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        raise SettingsError(
            f"could not read secret {name!r} from Secrets Manager ({code}); check {KEY_SECRET_ENV} "
            "and that the Lambda's role may secretsmanager:GetSecretValue on it"
        ) from None
    except BotoCoreError as error:
        raise SettingsError(
            f"could not reach Secrets Manager for secret {name!r}: {error}"
        ) from None
    return _key_in(answer.get("SecretString") or "", name)


def _key_in(text: str, name: str) -> str:
    """A secret is the key itself, or a JSON object with it under HOPSWORKS_API_KEY or api_key."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = {}
        text = str(data.get("HOPSWORKS_API_KEY") or data.get("api_key") or "")
    if not text.strip():
        raise SettingsError(
            f"secret {name!r} holds no API key; store the key as the secret string or as "
            '{"HOPSWORKS_API_KEY": "..."}'
        )
    return text.strip()


def load_settings(
    env: Mapping[str, str], overrides: Mapping[str, Any], secrets: Callable[[], Any]
) -> Settings:
    """Settings from the environment, the event's overrides and the Hopsworks key."""
    settings = Settings.from_env(env)
    key = hopsworks_api_key(settings, secrets)
    return settings.with_overrides(hopsworks_api_key=key, **overrides)


def handle(event: Any, env: Mapping[str, str]) -> dict[str, Any]:
    """Run the daily job for a Lambda event; the summary, or DailyRunFailed when a symbol failed."""
    overrides = parse_event(event)
    settings = load_settings(env, overrides, lambda: _client("secretsmanager"))
    from daily_pipeline.run import run
    from feature_pipeline.source import open_source
    from feature_store import open_store

    source = open_source(settings)
    if settings.raw_bucket:
        from feature_pipeline.archive import ArchivingSource

        source = ArchivingSource(source, settings.raw_bucket, _client("s3"))
    summary = run(settings, open_store(settings), source).to_dict()
    for line in summary["symbols"]:
        logger.info(json.dumps({"event": "daily-symbol", "now": summary["now"], **line}))
    if not summary["ok"]:
        raise DailyRunFailed(summary)
    return summary


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)
