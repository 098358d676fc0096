"""CloudWatch over smithy rpc-v2-cbor (what aws-sdk-cloudwatch >= 1.100 speaks).

`POST /service/GraniteServiceVersion20100801/operation/<Op>` with a CBOR body is
turned into the equivalent awsQuery request (botocore's serializer, driven by the
CloudWatch service model), moto answers it in XML, botocore's parser reads that
back, and the result is encoded as CBOR following the operation's output shape:
timestamps become CBOR tag 1 + float64 (epoch seconds), blobs byte strings. Errors become
`{"__type": "com.amazonaws.cloudwatch#Code", "message": ...}` with the
`smithy-protocol: rpc-v2-cbor` header (and `x-amzn-query-error`, since CloudWatch
is awsQueryCompatible)."""

from __future__ import annotations

import base64
import gzip
import io
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable
from urllib.parse import urlencode

import botocore.session
import cbor2
from botocore.model import OperationModel, Shape
from botocore.parsers import QueryParser
from botocore.serialize import QuerySerializer

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


def _drop_nulls(value: Any) -> Any:
    """CBOR null means "not set" for an optional member."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value if v is not None]
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
    if not isinstance(decoded, dict):
        decoded = {}
    decoded = _drop_nulls(decoded)

    # Re-encode as the awsQuery protocol, which moto's CloudWatch handler understands
    # whatever botocore version is installed (older models know no JSON/CBOR).
    serialized = QuerySerializer().serialize_to_request(decoded, op)
    form = urlencode(serialized["body"]).encode()

    inner = dict(environ)
    inner["PATH_INFO"] = "/"
    inner["REQUEST_METHOD"] = "POST"
    inner["QUERY_STRING"] = ""
    inner["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
    inner["CONTENT_LENGTH"] = str(len(form))
    for key in ("HTTP_SMITHY_PROTOCOL", "HTTP_ACCEPT", "HTTP_CONTENT_ENCODING",
                "HTTP_X_AMZ_TARGET"):
        inner.pop(key, None)
    inner["wsgi.input"] = io.BytesIO(form)

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
    headers = {k.lower(): v for k, v in captured.get("headers", [])}
    parsed = None
    try:
        parsed = QueryParser().parse(
            {"body": raw, "headers": headers, "status_code": status}, op.output_shape)
    except Exception:  # noqa: BLE001 - an unparsable answer is reported as a 500 below
        parsed = None

    if status >= 400 or parsed is None:
        code, message = "InternalFailure", raw.decode("utf-8", "replace")[:500]
        if parsed is not None and parsed.get("Error"):
            code = parsed["Error"].get("Code") or code
            message = parsed["Error"].get("Message") or ""
        return error_response(info, status if status >= 400 else 500, code, message)

    parsed.pop("ResponseMetadata", None)
    out = _to_cbor_value(parsed, op.output_shape) if op.output_shape is not None else {}
    rid = request_id()
    return 200, CBOR_HEADERS + [("x-amzn-RequestId", rid)], cbor2.dumps(out or {})
