"""The /_drover/ control API (JSON in, JSON out)."""

from __future__ import annotations

import json
import re
from datetime import timezone
from typing import Any, Callable

from .state import STATE

ACCOUNT_ID = "123456789012"

Handler = Callable[[dict, dict[str, Any], "re.Match[str]"], tuple[int, Any]]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        _ROUTES.append((method, re.compile(f"^/_drover{pattern}/?$"), fn))
        return fn

    return deco


def handle(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    from .middleware import json_response

    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "")
    raw = b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            raw = environ["wsgi.input"].read(int(length))
        except ValueError:
            raw = b""
    try:
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ControlError(400, "body must be a JSON object")
    except json.JSONDecodeError as e:
        return json_response(start_response, 400, {"error": f"invalid JSON: {e}"})
    matched_path = False
    for m, pattern, fn in _ROUTES:
        match = pattern.match(path)
        if not match:
            continue
        matched_path = True
        if m != method:
            continue
        try:
            status, payload = fn(environ, body, match)
        except ControlError as e:
            return json_response(start_response, e.status, {"error": e.message})
        except (ValueError, KeyError, TypeError) as e:
            return json_response(start_response, 400, {"error": f"{type(e).__name__}: {e}"})
        return json_response(start_response, status, payload)
    if matched_path:
        return json_response(start_response, 405, {"error": f"{method} not allowed on {path}"})
    return json_response(start_response, 404, {"error": f"no control route {method} {path}"})


def reset_all() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    from . import models

    with STATE.lock:
        moto_api_backend.reset()
        STATE.reset()
        models.reset()


@route("GET", "/health")
def _health(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    return 200, {"ok": True}


@route("POST", "/reset")
def _reset(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    reset_all()
    return 200, {"reset": True}


def _clock_json() -> dict[str, Any]:
    return {"speed": STATE.clock.speed, "modeled_now": STATE.clock.now()}


@route("GET", "/clock")
def _get_clock(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    return 200, _clock_json()


@route("POST", "/clock")
def _set_clock(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    if "speed" in body:
        STATE.clock.set_speed(float(body["speed"]))
    if "advance" in body:
        STATE.clock.advance(float(body["advance"]))
    if "advance_to" in body:
        STATE.clock.advance_to(float(body["advance_to"]))
    return 200, _clock_json()


@route("POST", "/clock/at")
def _clock_at(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    """Modeled times of wall-clock epochs (seconds): {"wall": [..]} -> {"modeled": [..]}."""
    return 200, {"modeled": [STATE.clock.modeled_at(float(t)) for t in body["wall"]]}


@route("GET", "/durations")
def _get_durations(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        return 200, dict(STATE.durations)


@route("POST", "/durations")
def _set_durations(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        for k, v in body.items():
            if k not in STATE.durations:
                raise ControlError(400, f"unknown duration {k!r}; known: {sorted(STATE.durations)}")
            if float(v) < 0:
                raise ControlError(400, f"{k} must be >= 0")
        for k, v in body.items():
            STATE.durations[k] = float(v)
        return 200, dict(STATE.durations)


@route("POST", "/faults")
def _add_fault(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    fault = STATE.add_fault(body)
    return 200, {"id": fault.id}


@route("GET", "/faults")
def _list_faults(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        return 200, {"faults": [f.to_json() for f in STATE.faults]}


@route("DELETE", "/faults")
def _clear_faults(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        n = len(STATE.faults)
        STATE.faults.clear()
    return 200, {"deleted": n}


@route("DELETE", "/faults/(?P<id>[^/]+)")
def _delete_fault(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        before = len(STATE.faults)
        STATE.faults[:] = [f for f in STATE.faults if f.id != m.group("id")]
        if len(STATE.faults) == before:
            raise ControlError(404, f"no fault {m.group('id')}")
    return 200, {"deleted": 1}


@route("GET", "/regions")
def _regions(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        return 200, {"down": dict(STATE.regions_down)}


@route("POST", "/regions/(?P<region>[a-z0-9-]+)/down")
def _region_down(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    mode = body.get("mode", "drop")
    if mode not in ("drop", "error5xx"):
        raise ControlError(400, "mode must be 'drop' or 'error5xx'")
    with STATE.lock:
        STATE.regions_down[m.group("region")] = mode
        return 200, {"down": dict(STATE.regions_down)}


@route("POST", "/regions/(?P<region>[a-z0-9-]+)/up")
def _region_up(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        STATE.regions_down.pop(m.group("region"), None)
        return 200, {"down": dict(STATE.regions_down)}


@route("GET", "/health-checks")
def _list_health(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        return 200, {"health_checks": dict(STATE.health_checks)}


@route("POST", "/health-checks/(?P<id>[^/]+)")
def _set_health(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    status = body.get("status")
    if status not in ("healthy", "unhealthy"):
        raise ControlError(400, "status must be 'healthy' or 'unhealthy'")
    from moto.route53.models import route53_backends

    backend = route53_backends[ACCOUNT_ID]["global"]
    if m.group("id") not in backend.health_checks:
        raise ControlError(404, f"no health check {m.group('id')}")
    with STATE.lock:
        STATE.health_checks[m.group("id")] = status
    return 200, {"id": m.group("id"), "status": status}


@route("POST", "/alarms")
def _set_alarm(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    from moto.cloudwatch.models import cloudwatch_backends

    region, name, state = body["region"], body["alarm_name"], body["state"]
    if state not in ("ALARM", "OK", "INSUFFICIENT_DATA"):
        raise ControlError(400, "state must be ALARM, OK or INSUFFICIENT_DATA")
    backend = cloudwatch_backends[ACCOUNT_ID][region]
    if name not in backend.alarms:
        raise ControlError(404, f"no alarm {name!r} in {region}")
    reason = body.get("reason") or f"Set by drover emulator control API to {state}"
    reason_data = json.dumps(body["reason_data"]) if body.get("reason_data") else None
    backend.set_alarm_state(name, reason, reason_data, state)
    return 200, {"region": region, "alarm_name": name, "state": state}


@route("POST", "/replication-lag")
def _replication_lag(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    from moto.cloudwatch.models import cloudwatch_backends

    region, cluster_id, lag_ms = body["region"], body["cluster_id"], float(body["lag_ms"])
    from moto.core.utils import utcnow

    backend = cloudwatch_backends[ACCOUNT_ID][region]
    now = utcnow()  # moto compares naive UTC datetimes
    data = [
        {
            "MetricName": name,
            "Value": lag_ms,
            "Unit": "Milliseconds",
            "Timestamp": now,
            "Dimensions": [{"Name": "DBClusterIdentifier", "Value": cluster_id}],
        }
        for name in ("AuroraGlobalDBReplicationLag", "AuroraGlobalDBRPOLag")
    ]
    backend.put_metric_data("AWS/RDS", data)
    return 200, {"region": region, "cluster_id": cluster_id, "lag_ms": lag_ms,
                 "timestamp": now.replace(tzinfo=timezone.utc).timestamp()}


@route("GET", "/calls")
def _calls(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        return 200, {"calls": [dict(c) for c in STATE.calls]}


@route("DELETE", "/calls")
def _clear_calls(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    with STATE.lock:
        n = len(STATE.calls)
        STATE.calls.clear()
    return 200, {"deleted": n}


@route("GET", "/operations")
def _operations(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    from . import models

    return 200, models.describe_operations()


@route("GET", "/alarm-transitions")
def _alarm_transitions(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    from . import alarm_eval

    with STATE.lock:
        return 200, {"transitions": [dict(t) for t in alarm_eval.TRANSITIONS]}


@route("GET", "/sns/messages")
def _sns_messages(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    """What was published to a topic (moto keeps it; /moto-api/data.json cannot dump RDS)."""
    from urllib.parse import parse_qs

    from moto.sns.models import sns_backends

    topic_arn = parse_qs(environ.get("QUERY_STRING", "")).get("topic_arn", [""])[0]
    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[2] != "sns":
        raise ControlError(400, "topic_arn must be an SNS topic ARN")
    topic = sns_backends[ACCOUNT_ID][parts[3]].topics.get(topic_arn)
    if topic is None:
        raise ControlError(404, f"no topic {topic_arn}")
    messages = [
        {
            "message_id": n[0],
            "message": n[1],
            "subject": n[2],
            "attributes": {k: v.get("Value") for k, v in (n[3] or {}).items()},
        }
        for n in topic.sent_notifications
    ]
    return 200, {"topic_arn": topic_arn, "kms_master_key_id": topic.kms_master_key_id, "messages": messages}


@route("GET", "/dns/answer")
def _dns_answer(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
    from urllib.parse import parse_qs

    from . import route53_changes

    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    try:
        return 200, route53_changes.dns_answer(q["zone_id"], q["name"], q.get("type", "CNAME"))
    except KeyError as e:
        raise ControlError(404, str(e.args[0] if e.args else e))
