"""A local Binance stand-in: an HTTP server over kline CSVs, run in-process or from the CLI.

It speaks the subset python-binance uses here: /api/v3/ping, /time, /exchangeInfo and /klines
(startTime/endTime/limit <= 1000, the startTime=0&limit=1 probe), with Binance's weight headers,
error bodies, a fixed clock (`now`: later candles do not exist, the one containing it is still open)
and random faults reproducible by seed. What it answers lives in `candlecast_sim.api`. The same
server serves Binance Vision's kline dumps under /data/ (`candlecast_sim.vision`), so one process
stands in for both BINANCE_API_URL (`url`) and BINANCE_VISION_URL (`vision_url`).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from candlecast.errors import SettingsError
from candlecast_sim.api import (
    BinanceError,
    MarketData,
    SimulatorState,
    answer,
    fault_error,
    request_weight,
    seconds_to_next_minute,
)
from candlecast_sim.vision import is_vision_path, vision_answer

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle's algorithm each small answer on a
    # kept-alive connection would wait for the client's delayed ACK (about 40 ms here).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        state = self.server.state
        url = urlsplit(self.path)
        if is_vision_path(url.path):
            self._vision(url.path)
            return
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        endpoint = url.path.removeprefix("/api/v3/")
        used = state.use_weight(request_weight(endpoint, params))
        headers = {"X-MBX-USED-WEIGHT-1M": str(used), "X-MBX-USED-WEIGHT": str(used)}
        try:
            if used > state.weight_limit:
                raise BinanceError(
                    429,
                    -1003,
                    "Too much request weight used; please use the websocket.",
                    seconds_to_next_minute(),
                )
            fault = state.next_fault()
            if fault in ("429", "418", "500"):
                raise fault_error(fault, state.retry_after)
            body = json.dumps(answer(state, endpoint, params))
            if fault == "slow" and state.stopping.wait(state.slow_seconds):
                return
            if fault == "malformed":
                body = body[: max(1, len(body) // 2)]
            elif fault == "empty":
                body = "[]" if endpoint == "klines" else "{}"
            self._send(200, body, headers)
        except BinanceError as error:
            if error.retry_after is not None:
                headers["Retry-After"] = str(error.retry_after)
            self._send(error.status, json.dumps({"code": error.code, "msg": error.msg}), headers)
        except Exception:  # a simulator bug must still answer, and say so in the log
            logger.exception("simulator failed on %s", self.path)
            body = json.dumps({"code": -1000, "msg": "An unknown error occurred in the simulator."})
            self._send(500, body, headers)

    def _vision(self, path: str) -> None:
        """A Binance Vision file, with the same random and scripted faults as the REST API;
        'malformed' and 'empty' are a download cut short (the connection drops mid-body)."""
        state = self.server.state
        fault = state.next_fault()
        if fault in ("429", "418", "500"):
            error = fault_error(fault, state.retry_after)
            headers = {} if error.retry_after is None else {"Retry-After": str(error.retry_after)}
            self._send(error.status, error.msg, headers, "text/plain")
            return
        if fault == "slow" and state.stopping.wait(state.slow_seconds):
            return
        try:
            served = vision_answer(state, path)
        except Exception:  # a simulator bug must still answer, and say so in the log
            logger.exception("simulator failed on %s", self.path)
            self._send(500, "simulator error", {}, "text/plain")
            return
        cut = len(served.body) // 2 if fault in ("malformed", "empty") else None
        self._send(served.status, served.body, {}, served.content_type, cut=cut)

    def _send(
        self,
        status: int,
        body: str | bytes,
        headers: dict[str, str],
        content_type: str = "application/json;charset=UTF-8",
        cut: int | None = None,
    ) -> None:
        """Answer; with `cut`, only that many bytes of the body, then the connection closes."""
        payload = body.encode() if isinstance(body, str) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload if cut is None else payload[:cut])
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            self.close_connection = True
        if cut is not None:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    state: SimulatorState

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops its kept-alive connection is not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("client %s dropped the connection", client_address)
            return
        super().handle_error(request, client_address)


@dataclass
class RunningSimulator:
    """A simulator serving in a background thread; `url` is what BINANCE_API_URL should be."""

    server: _Server
    thread: threading.Thread

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        """The REST API's base, for BINANCE_API_URL."""
        return f"http://{self.host}:{self.port}/api"

    @property
    def vision_url(self) -> str:
        """Binance Vision's base (like https://data.binance.vision), for BINANCE_VISION_URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> SimulatorState:
        return self.server.state

    def stop(self) -> None:
        """Stop serving and close the socket (slow answers in flight are abandoned)."""
        self.state.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(data_dir: Path, host: str = "127.0.0.1", port: int = 0, **options: Any) -> _Server:
    """A simulator server bound to host:port (port 0 picks a free one), not yet serving."""
    state = SimulatorState(MarketData(Path(data_dir)), **options)
    if not 0 <= state.fault_rate <= 1:
        raise SettingsError(
            f"fault rate {state.fault_rate} is not a share; use a number from 0 to 1"
        )
    server = _Server((host, port), _Handler)
    server.state = state
    return server


def start_simulator(
    data_dir: Path, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> RunningSimulator:
    """Serve in a background thread until `stop()`.

    Options: now, fault_rate, seed, retry_after, slow_seconds, faults, weight_limit (see
    SimulatorState).
    """
    server = make_server(data_dir, host, port, **options)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    logger.info(
        "binance simulator on http://%s:%d/api (Vision dumps under /data/) over %s",
        host,
        server.server_address[1],
        data_dir,
    )
    return RunningSimulator(server, thread)


def serve(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 9000,
    announce: Callable[[str], None] | None = None,
    **options: Any,
) -> None:
    """Serve in the foreground until interrupted; `announce` gets the API URL once listening."""
    server = make_server(data_dir, host, port, **options)
    if announce is not None:
        announce(f"http://{host}:{server.server_address[1]}/api")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.state.stopping.set()
        server.server_close()
