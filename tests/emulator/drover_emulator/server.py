"""moto's WSGI dispatcher wrapped in the drover middleware, served by werkzeug on
a thread of this process."""

from __future__ import annotations

import logging
import os
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


# One cheap read per service drover uses: loading a moto backend and its botocore
# model takes ~0.1-0.3 s on the first call, so do it before the first test needs it.
WARM_UP = [
    ("rds", "POST", "/", "application/x-www-form-urlencoded",
     b"Action=DescribeDBClusters&Version=2014-10-31", None),
    ("ecs", "POST", "/", "application/x-amz-json-1.1", b"{}",
     "AmazonEC2ContainerServiceV20141113.ListClusters"),
    ("route53", "GET", "/2013-04-01/hostedzone", None, b"", None),
    ("monitoring", "POST", "/", "application/x-amz-json-1.0", b"{}",
     "GraniteServiceVersion20100801.DescribeAlarms"),
    ("sns", "POST", "/", "application/x-www-form-urlencoded",
     b"Action=ListTopics&Version=2010-03-31", None),
    ("sqs", "POST", "/", "application/x-amz-json-1.0", b"{}", "AmazonSQS.ListQueues"),
    ("kms", "POST", "/", "application/x-amz-json-1.1", b"{}", "TrentService.ListKeys"),
    ("dynamodb", "POST", "/", "application/x-amz-json-1.0", b"{}",
     "DynamoDB_20120810.ListTables"),
    ("ec2", "POST", "/", "application/x-www-form-urlencoded",
     b"Action=DescribeVpcs&Version=2016-11-15", None),
    ("elasticloadbalancing", "POST", "/", "application/x-www-form-urlencoded",
     b"Action=DescribeLoadBalancers&Version=2015-12-01", None),
    ("states", "POST", "/", "application/x-amz-json-1.0", b"{}",
     "AWSStepFunctions.ListStateMachines"),
    ("application-autoscaling", "POST", "/", "application/x-amz-json-1.1",
     b'{"ServiceNamespace": "ecs"}', "AnyScaleFrontendService.DescribeScalableTargets"),
]


def warm_up(app: Any) -> None:
    """Send WARM_UP straight to moto (not logged, no faults) and discard the answers."""
    from werkzeug.test import EnvironBuilder

    for service, method, path, ctype, body, target in WARM_UP:
        headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=warmup/20260101/"
                                    f"us-east-1/{service}/aws4_request, "
                                    "SignedHeaders=host, Signature=0"}
        if target:
            headers["X-Amz-Target"] = target
        environ = EnvironBuilder(path=path, method=method, data=body or None,
                                 content_type=ctype, headers=headers,
                                 base_url="http://127.0.0.1").get_environ()
        try:
            for _ in app(environ, lambda *a, **k: (lambda data: None)):
                pass
        except Exception:  # noqa: BLE001 - warm-up is best effort
            pass


class EmulatorServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0,
                 warm: bool = True) -> None:
        self.warm = warm
        self.host = host
        self.port = port
        STATE.initial_speed = float(speed)
        STATE.clock.reset(speed)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "EmulatorServer":
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = build_app()
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="drover-emulator", daemon=True
        )
        self._thread.start()
        if self.warm and os.environ.get("DROVER_EMULATOR_WARM", "1") != "0":
            threading.Thread(target=warm_up, args=(app.moto_app,), name="warm-up",
                             daemon=True).start()
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
