"""moto's WSGI dispatcher wrapped in the drover middleware, served by werkzeug on
a thread of this process."""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from . import models
from .middleware import DroverMiddleware
from .state import STATE


class QuietHandler(MotoRequestHandler):
    """No per-request access log lines: the call log is at /_drover/calls."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:  # noqa: D401
        pass


def build_app() -> DroverMiddleware:
    models.install()
    return DroverMiddleware(DomainDispatcherApplication(create_backend_app))


class EmulatorServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0) -> None:
        self.host = host
        self.port = port
        STATE.initial_speed = float(speed)
        STATE.clock.reset(speed)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "EmulatorServer":
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(
            self.host, self.port, build_app(), threaded=True, request_handler=QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="drover-emulator", daemon=True
        )
        self._thread.start()
        return self

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
