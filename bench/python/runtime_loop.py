"""A minimal Lambda runtime-interface loop over urllib (stands in for awslambdaric).

Lambda's own python3.11 runtime runs a bootstrap that does the same thing: import the
handler module once (cold start), then loop over the Runtime API's `next`, call the
handler, post the result to `response` (or the exception to `error`). Run as
`python runtime_loop.py MODULE.FUNCTION` with AWS_LAMBDA_RUNTIME_API set.
"""
import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def post(path, payload):
    body = json.dumps(payload, default=str).encode()
    req = urllib.request.Request(f"{API}{path}", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


def error_payload(exc):
    return {"errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_tb(exc.__traceback__)}


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module_name, function_name = sys.argv[1].rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # the Runtime API's init error, as Lambda reports it
        post("/init/error", error_payload(exc))
        raise
    while True:
        with urllib.request.urlopen(f"{API}/invocation/next") as r:
            headers = r.headers
            event = json.loads(r.read() or b"null")
        ctx = Context(headers)
        try:
            result = handler(event, ctx)
        except Exception as exc:
            post(f"/invocation/{ctx.aws_request_id}/error", error_payload(exc))
            continue
        post(f"/invocation/{ctx.aws_request_id}/response", result)


if __name__ == "__main__":
    main()
