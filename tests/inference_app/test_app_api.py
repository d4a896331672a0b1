"""The app's /forecast endpoint through gradio_client against a real server on a free port."""

from __future__ import annotations

import pytest
from app_world import MLP

from inference_app.forecaster import Forecaster


@pytest.fixture(scope="module")
def client(app_url: str):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_forecast_endpoint_has_a_stable_name(client) -> None:
    """It exposes exactly one public endpoint, /forecast, with symbol, days and model."""
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/forecast"]
    names = [p["parameter_name"] for p in api["named_endpoints"]["/forecast"]["parameters"]]
    assert names == ["symbol", "days", "model"]


def test_forecast_endpoint_returns_the_cli_envelope(client, forecaster: Forecaster) -> None:
    """It returns the same JSON as `candlecast forecast --json` for the same request."""
    result = client.predict(symbol="BTCUSDT", days=5, model=MLP, api_name="/forecast")
    assert result == forecaster.forecast("BTCUSDT", 5, MLP).to_dict()
    assert [row["horizon"] for row in result["forecast"]] == [1, 2, 3, 4, 5]


def test_defaults_to_seven_days_of_the_best_model(client, forecaster: Forecaster) -> None:
    """It uses 7 days and the best model when only the symbol is given."""
    result = client.predict("BTCUSDT", api_name="/forecast")
    best = forecaster.forecast("BTCUSDT", 7).model
    assert len(result["forecast"]) == 7
    assert (result["model"]["name"], result["model"]["version"]) == (best.name, best.version)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"symbol": "BTCUSDT", "days": 45}, "candles ahead must be between 1 and 30, got 45"),
        ({"symbol": "DOGEUSDT"}, "unknown symbol DOGEUSDT"),
        ({"symbol": "BTCUSDT", "model": "ethusdt-1d-garch"}, "no model named"),
    ],
)
def test_bad_requests_get_the_message(client, kwargs: dict, message: str) -> None:
    """It answers bad input with the Forecaster's message, not a stack trace."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message) as raised:
        client.predict(**kwargs, api_name="/forecast")
    assert "Traceback" not in str(raised.value)


def test_a_symbol_without_a_model_gets_the_labelled_baseline(client) -> None:
    """It forecasts no change with the empirical band for ETHUSDT, which has no trained model."""
    result = client.predict("ETHUSDT", api_name="/forecast")
    assert result["model"]["role"] == "untrained" and result["model"]["kind"] == "persistence"
    assert "no model is trained for ETHUSDT 1d" in result["model_warning"]
    assert all(row["median"] == result["last_close"] for row in result["forecast"])
