"""Logging in to Hopsworks: the one place where its connection errors become StoreErrors."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from candlecast.errors import SettingsError, StoreError

if TYPE_CHECKING:
    from candlecast.settings import Settings

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def login(settings: Settings) -> Any:
    """The Hopsworks project named by the settings (network; Hopsworks has no offline mode)."""
    check_settings(settings)
    try:
        import hopsworks
    except ImportError:
        raise SettingsError(
            "CANDLECAST_STORE=hopsworks needs the Hopsworks SDK, which is not installed here; "
            "run `make setup-hopsworks` and use .venv-hopsworks/bin/candlecast, or "
            "pip install 'candlecast[hopsworks]'"
        ) from None

    host = host_name(settings)
    logger.info("logging in to Hopsworks project %s at %s", settings.hopsworks_project, host)
    try:
        return hopsworks.login(
            host=settings.hopsworks_host,
            project=settings.hopsworks_project,
            api_key_value=settings.hopsworks_api_key,
        )
    except Exception as error:  # the SDK raises REST, TLS and socket errors alike
        raise StoreError(
            f"cannot log in to Hopsworks project {settings.hopsworks_project!r} at {host} "
            f"({type(error).__name__}: {_without(error, settings.hopsworks_api_key)}); check "
            "HOPSWORKS_HOST, HOPSWORKS_PROJECT, the API key's scopes and the network"
        ) from None


def host_name(settings: Settings) -> str:
    """HOPSWORKS_HOST, or the SDK's default (Hopsworks' serverless cloud) when it is unset."""
    if settings.hopsworks_host:
        return settings.hopsworks_host
    from hopsworks_common.constants import HOSTS

    return HOSTS.SAAS_HOST


def check_settings(settings: Settings) -> None:
    """Raise SettingsError unless the Hopsworks project and API key are set."""
    missing = [
        variable
        for variable, value in (
            ("HOPSWORKS_PROJECT", settings.hopsworks_project),
            ("HOPSWORKS_API_KEY", settings.hopsworks_api_key),
        )
        if not value
    ]
    if missing:
        raise SettingsError(
            f"CANDLECAST_STORE=hopsworks needs {' and '.join(missing)}; set them (and "
            "HOPSWORKS_HOST for a self-hosted cluster), or use CANDLECAST_STORE=local"
        )


def _without(error: Exception, secret: str | None) -> str:
    """The error's text with the API key blanked out, should the SDK ever echo it."""
    text = str(error)
    return text.replace(secret, "***") if secret else text


def sdk_boundary(what: str) -> Callable[[F], F]:
    """Turn the SDK's REST, job, Kafka and connection errors raised by `what` into StoreErrors."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except _sdk_errors() as error:
                raise StoreError(
                    f"Hopsworks could not {what} ({type(error).__name__}: {error}); check the "
                    "project in the Hopsworks UI (jobs, feature groups, models) and run the "
                    "command again"
                ) from None

        return guarded  # type: ignore[return-value]

    return decorate


def _sdk_errors() -> tuple[type[Exception], ...]:
    import requests
    from hopsworks_common.client import exceptions as sdk

    return (
        sdk.RestAPIError,
        sdk.FeatureStoreException,
        sdk.JobException,
        sdk.JobExecutionException,
        sdk.KafkaException,
        sdk.DatasetException,
        sdk.ModelRegistryException,
        requests.RequestException,
    )
