"""WSGI middleware in front of moto's dispatcher: the /_drover control API, fault
injection, regions that are down, the call log, the CloudWatch CBOR bridge, and a
tick of the modeled-time operations before each call reaches moto."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from typing import Any, Callable, Iterable

from . import cbor_bridge, control
from .protocol import CallInfo, classify, error_response, server_error_code, throttle_code
from .state import STATE, Fault

StartResponse = Callable[..., Any]


class Dropped(ConnectionAbortedError):
    """Raised after the socket is shut down: werkzeug treats it as a dropped
    connection and writes nothing back."""


def _read_body(environ: dict) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            body = stream.read(int(length))
        except ValueError:
            body = b""
    elif environ.get("wsgi.input_terminated") or "chunked" in environ.get(
        "HTTP_TRANSFER_ENCODING", ""
    ).lower():
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def drop_connection(environ: dict) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise Dropped("drover: connection dropped on purpose")


_DYNAMODB_LOCK = threading.Lock()


class DroverMiddleware:
    def __init__(self, moto_app: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.moto_app = moto_app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_drover/") or path == "/_drover":
            return control.handle(environ, start_response)
        if path.startswith("/moto-api") or path == "/favicon.ico":
            return self.moto_app(environ, start_response)
        return self._aws_call(environ, start_response)

    def _aws_call(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        info = classify(environ, body)
        entry: dict[str, Any] = {
            "service": info.service,
            "region": info.region,
            "action": info.action,
            "mutating": info.mutating,
            "status": None,
            "real_time": time.time(),
            "modeled_time": STATE.clock.now(),
            "fault": None,
        }
        with STATE.lock:
            STATE.calls.append(entry)
            down_mode = STATE.regions_down.get(info.region)

        if down_mode is not None:
            entry["fault"] = f"region-down:{down_mode}"
            if down_mode == "error5xx":
                return self._error(entry, info, 503, server_error_code(503),
                                   "Service Unavailable", start_response)
            drop_connection(environ)

        faults = STATE.take_faults(info.service, info.region, info.action)
        for fault in faults:
            if fault.kind == "latency":
                time.sleep(fault.latency_ms / 1000.0)
        terminal: Fault | None = next((f for f in faults if f.kind != "latency"), None)
        if faults:
            entry["fault"] = ",".join(f.kind for f in faults)
        if terminal is not None:
            if terminal.kind == "throttle":
                return self._error(entry, info, 400, terminal.code or throttle_code(info),
                                   "Rate exceeded", start_response)
            if terminal.kind == "error5xx":
                status = terminal.status or 500
                msg = "Service Unavailable" if status == 503 else "Internal failure"
                return self._error(entry, info, status,
                                   terminal.code or server_error_code(status), msg,
                                   start_response)
            if terminal.kind == "drop":
                drop_connection(environ)

        from . import models  # late: models patch moto on import

        models.tick(info.service)

        if info.protocol == "cbor":
            status, headers, out = cbor_bridge.handle(self.moto_app, environ, info, body)
            entry["status"] = status
            start_response(_status_line(status), headers)
            return [out]

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            try:
                entry["status"] = int(status.split(" ", 1)[0])
            except ValueError:
                pass
            return start_response(status, headers, exc_info) if exc_info else start_response(
                status, headers
            )

        if info.service == "dynamodb":
            # DynamoDB applies a conditional write atomically; moto does not lock its tables,
            # so two concurrent conditional writes could both succeed. Serialise them.
            with _DYNAMODB_LOCK:
                return [b"".join(self.moto_app(environ, recording_start_response))]
        return self.moto_app(environ, recording_start_response)

    def _error(self, entry: dict, info: CallInfo, status: int, code: str, message: str,
               start_response: StartResponse) -> Iterable[bytes]:
        status, headers, body = error_response(info, status, code, message)
        entry["status"] = status
        headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), headers)
        return [body]


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Status')}"


def json_response(start_response: StartResponse, status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(_status_line(status), [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
    return [body]
