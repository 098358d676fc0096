"""CloudWatch over smithy rpc-v2-cbor (what aws-sdk-cloudwatch >= 1.100 speaks).

`POST /service/GraniteServiceVersion20100801/operation/<Op>` with a CBOR body is
turned into the equivalent awsJson1_0 request (which moto's CloudWatch handler
understands), and moto's JSON answer is turned back into CBOR following the
operation's output shape from the service model: timestamps become CBOR tag 1
(epoch seconds), blobs become byte strings. Errors become
`{"__type": "com.amazonaws.cloudwatch#Code", "message": ...}` with the
`smithy-protocol: rpc-v2-cbor` header (and `x-amzn-query-error`, since CloudWatch
is awsQueryCompatible)."""

from __future__ import annotations

import base64
import gzip
import io
import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

import botocore.session
import cbor2
from botocore.model import OperationModel, Shape

from .protocol import CallInfo, error_response, request_id

TARGET_PREFIX = "GraniteServiceVersion20100801"
CBOR_HEADERS = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]


@lru_cache(maxsize=1)
def _service_model() -> Any:
    return botocore.session.get_session().get_service_model("cloudwatch")


def _operation(name: str) -> OperationModel | None:
    try:
        return _service_model().operation_model(name)
    except Exception:
        return None


def _to_json_value(value: Any) -> Any:
    """CBOR-decoded request value -> JSON-serialisable (awsJson timestamps are epoch seconds)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return float(value.value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _to_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json_value(v) for v in value]
    return value


def _to_cbor_value(value: Any, shape: Shape | None) -> Any:
    """moto's JSON response value -> CBOR-ready value following the output shape."""
    if value is None or shape is None:
        return value
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return value
        members = shape.members
        return {k: _to_cbor_value(v, members.get(k)) for k, v in value.items() if v is not None}
    if t == "list":
        return [_to_cbor_value(v, shape.member) for v in value]
    if t == "map":
        return {k: _to_cbor_value(v, shape.value) for k, v in value.items()}
    if t == "timestamp":
        return cbor2.CBORTag(1, _epoch(value))
    if t == "blob":
        return base64.b64decode(value) if isinstance(value, str) else value
    if t in ("double", "float"):
        return float(value)
    if t in ("integer", "long"):
        return int(value)
    return value


def _epoch(value: Any) -> float:
    # Always a CBOR float: aws-smithy-cbor reads the tagged value with f64(), which
    # refuses an integer.
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def handle(
    app: Callable[..., Any], environ: dict, info: CallInfo, body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    op = _operation(info.action)
    if op is None:
        return error_response(info, 404, "UnknownOperationException",
                              f"Unknown operation {info.action}")
    if "gzip" in environ.get("HTTP_CONTENT_ENCODING", "").lower():
        # PutMetricData carries @requestCompression: SDKs gzip large bodies.
        try:
            body = gzip.decompress(body)
        except OSError as e:
            return error_response(info, 400, "SerializationException", f"Invalid gzip body: {e}")
    try:
        decoded = cbor2.loads(body) if body else {}
    except Exception as e:  # noqa: BLE001 - any decode failure is the client's
        return error_response(info, 400, "SerializationException", f"Invalid CBOR body: {e}")
    if decoded is None:
        decoded = {}
    json_body = json.dumps(_to_json_value(decoded)).encode()

    inner = dict(environ)
    inner["PATH_INFO"] = "/"
    inner["REQUEST_METHOD"] = "POST"
    inner["QUERY_STRING"] = ""
    inner["CONTENT_TYPE"] = "application/x-amz-json-1.0"
    inner["CONTENT_LENGTH"] = str(len(json_body))
    inner["HTTP_X_AMZ_TARGET"] = f"{TARGET_PREFIX}.{info.action}"
    inner.pop("HTTP_SMITHY_PROTOCOL", None)
    inner.pop("HTTP_ACCEPT", None)
    inner.pop("HTTP_CONTENT_ENCODING", None)
    inner["wsgi.input"] = io.BytesIO(json_body)

    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = headers
        return lambda data: None

    chunks = app(inner, start_response)
    try:
        raw = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    status = captured.get("status", 500)
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        payload = None

    if status >= 400 or payload is None:
        code, message = "InternalFailure", raw.decode("utf-8", "replace")[:500]
        if isinstance(payload, dict):
            hdrs = {k.lower(): v for k, v in captured.get("headers", [])}
            query_error = hdrs.get("x-amzn-query-error", "")
            code = (query_error.split(";")[0] or str(payload.get("__type", code))).split("#")[-1]
            message = str(payload.get("message") or payload.get("Message") or "")
        return error_response(info, status if status >= 400 else 500, code, message)

    out = _to_cbor_value(payload, op.output_shape) if op.output_shape is not None else {}
    rid = request_id()
    return 200, CBOR_HEADERS + [("x-amzn-RequestId", rid)], cbor2.dumps(out or {})
