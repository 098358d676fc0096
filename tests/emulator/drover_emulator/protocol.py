"""Recognising an incoming AWS call (service, region, action, wire protocol) and
writing errors in the exact shape each wire protocol uses."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

import cbor2

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")

READ_PREFIXES = ("Describe", "Get", "List", "Query", "Scan", "BatchGet")

# Route 53 REST paths (after the /2013-04-01 version segment) -> operation, by method.
_ROUTE53_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), op)
    for m, p, op in [
        ("POST", r"^/hostedzone/?$", "CreateHostedZone"),
        ("GET", r"^/hostedzone/?$", "ListHostedZones"),
        ("GET", r"^/hostedzone/[^/]+/?$", "GetHostedZone"),
        ("DELETE", r"^/hostedzone/[^/]+/?$", "DeleteHostedZone"),
        ("POST", r"^/hostedzone/[^/]+/?$", "UpdateHostedZoneComment"),
        ("POST", r"^/hostedzone/[^/]+/rrset/?$", "ChangeResourceRecordSets"),
        ("GET", r"^/hostedzone/[^/]+/rrset/?$", "ListResourceRecordSets"),
        ("GET", r"^/hostedzonesbyname/?$", "ListHostedZonesByName"),
        ("GET", r"^/hostedzonecount/?$", "GetHostedZoneCount"),
        ("GET", r"^/change/[^/]+/?$", "GetChange"),
        ("POST", r"^/healthcheck/?$", "CreateHealthCheck"),
        ("GET", r"^/healthcheck/?$", "ListHealthChecks"),
        ("GET", r"^/healthcheck/[^/]+/status/?$", "GetHealthCheckStatus"),
        ("GET", r"^/healthcheck/[^/]+/?$", "GetHealthCheck"),
        ("POST", r"^/healthcheck/[^/]+/?$", "UpdateHealthCheck"),
        ("DELETE", r"^/healthcheck/[^/]+/?$", "DeleteHealthCheck"),
        ("GET", r"^/tags/[^/]+/[^/]+/?$", "ListTagsForResource"),
        ("POST", r"^/tags/[^/]+/[^/]+/?$", "ChangeTagsForResource"),
        ("POST", r"^/tags/[^/]+/?$", "ListTagsForResources"),
    ]
]

_XML_NS = {
    "route53": "https://route53.amazonaws.com/doc/2013-04-01/",
    "rds": "http://rds.amazonaws.com/doc/2014-10-31/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "monitoring": "http://monitoring.amazonaws.com/doc/2010-08-01/",
}

# JSON 1.0 services put a shape-id namespace in __type.
_JSON10_NAMESPACE = {
    "dynamodb": "com.amazonaws.dynamodb.v20120810#",
    "monitoring": "com.amazonaws.cloudwatch#",
}


@dataclass
class CallInfo:
    service: str
    region: str
    action: str
    protocol: str  # query | json | rest-xml | rest-json | cbor
    json_version: str = "1.1"

    @property
    def mutating(self) -> bool:
        return is_mutating(self.action)


def is_mutating(action: str) -> bool:
    return not action.startswith(READ_PREFIXES)


def credential_scope(environ: dict) -> tuple[str | None, str | None]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _CREDENTIAL.search(auth)
    if not m:
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        cred = (qs.get("X-Amz-Credential") or [""])[0]
        parts = cred.split("/")
        if len(parts) == 5:
            return parts[2], parts[3]
        return None, None
    return m.group(3), m.group(4)


def classify(environ: dict, body: bytes) -> CallInfo:
    region, service = credential_scope(environ)
    path = environ.get("PATH_INFO", "") or "/"
    method = environ.get("REQUEST_METHOD", "GET").upper()
    ctype = (environ.get("CONTENT_TYPE") or "").lower()
    target = environ.get("HTTP_X_AMZ_TARGET")
    region = region or "us-east-1"

    if environ.get("HTTP_SMITHY_PROTOCOL", "").lower() == "rpc-v2-cbor" or path.startswith(
        "/service/"
    ):
        # /service/<ServiceShape>/operation/<Op>
        parts = path.strip("/").split("/")
        action = parts[3] if len(parts) >= 4 and parts[2] == "operation" else path
        return CallInfo(service or "monitoring", region, action, "cbor")
    if target:
        version = "1.0" if "1.0" in ctype else "1.1"
        return CallInfo(service or "unknown", region, target.split(".")[-1], "json", version)
    if service == "route53" or path.startswith("/2013-04-01/"):
        sub = re.sub(r"^/\d{4}-\d{2}-\d{2}", "", path)
        for m, pattern, op in _ROUTE53_ROUTES:
            if m == method and pattern.match(sub):
                return CallInfo("route53", "us-east-1" if not region else region, op, "rest-xml")
        return CallInfo("route53", region, f"{method} {path}", "rest-xml")
    form: dict[str, list[str]] = {}
    if body and "x-www-form-urlencoded" in ctype:
        form = parse_qs(body.decode("utf-8", "replace"))
    if not form:
        form = parse_qs(environ.get("QUERY_STRING", ""))
    action = (form.get("Action") or [None])[0]
    if action:
        return CallInfo(service or "unknown", region, action, "query")
    return CallInfo(service or "unknown", region, f"{method} {path}", "rest-json")


def request_id() -> str:
    return str(uuid.uuid4())


def error_response(
    info: CallInfo, status: int, code: str, message: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An error exactly as the service's wire protocol carries it."""
    rid = request_id()
    fault = "Receiver" if status >= 500 else "Sender"
    headers = [("x-amzn-RequestId", rid), ("x-amz-request-id", rid)]
    if info.protocol == "cbor":
        ns = _JSON10_NAMESPACE.get(info.service, "")
        body = cbor2.dumps({"__type": f"{ns}{code}", "message": message})
        headers += [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            # CloudWatch is awsQueryCompatible: SDKs take the code from this header.
            ("x-amzn-query-error", f"{code};{fault}"),
        ]
        return status, headers, body
    if info.protocol in ("json", "rest-json"):
        if info.protocol == "json" and info.json_version == "1.0":
            type_ = _JSON10_NAMESPACE.get(info.service, "") + code
        else:
            type_ = code
        body = json.dumps({"__type": type_, "message": message}).encode()
        ctype = (
            f"application/x-amz-json-{info.json_version}"
            if info.protocol == "json"
            else "application/json"
        )
        headers += [("Content-Type", ctype), ("x-amzn-ErrorType", code)]
        if info.service == "monitoring":
            headers.append(("x-amzn-query-error", f"{code};{fault}"))
        return status, headers, body
    ns = _XML_NS.get(info.service)
    xmlns = f' xmlns="{ns}"' if ns else ""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse{xmlns}><Error>'
        f"<Type>{fault}</Type><Code>{_esc(code)}</Code><Message>{_esc(message)}</Message>"
        f"</Error><RequestId>{rid}</RequestId></ErrorResponse>"
    ).encode()
    headers.append(("Content-Type", "text/xml"))
    return status, headers, body


def throttle_code(info: CallInfo) -> str:
    if info.protocol in ("json", "rest-json") and info.service != "monitoring":
        return "ThrottlingException"
    return "Throttling"


def server_error_code(status: int) -> str:
    return "ServiceUnavailable" if status == 503 else "InternalFailure"


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
