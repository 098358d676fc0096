"""Route 53 changes that take modeled time, and health-check status under control.

ChangeResourceRecordSets answers PENDING with a unique change id; GetChange
answers INSYNC once `route53_propagation` modeled seconds have passed. The status
of a health check can be set through the control API; GetHealthCheckStatus then
reports it from every checker region."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.route53.exceptions import Route53ClientError
from moto.route53.models import HealthCheck
from moto.route53.responses import Route53

from .state import STATE

CHECKER_REGIONS = [
    ("us-east-1", "54.243.31.192"),
    ("us-west-1", "54.183.255.128"),
    ("us-west-2", "54.244.52.192"),
    ("eu-west-1", "54.228.16.0"),
    ("ap-southeast-1", "54.255.254.192"),
    ("ap-southeast-2", "54.252.254.192"),
    ("ap-northeast-1", "54.248.220.0"),
    ("sa-east-1", "177.71.207.128"),
]


@dataclass
class Change:
    id: str
    submitted_modeled: float
    submitted_at: datetime
    comment: str | None


CHANGES: dict[str, Change] = {}
_rng = random.Random()


def reset() -> None:
    CHANGES.clear()


def _new_change_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    while True:
        cid = "C" + "".join(_rng.choice(alphabet) for _ in range(20))
        if cid not in CHANGES:
            return cid


def _change_info(ch: Change) -> dict[str, Any]:
    done = STATE.clock.now() >= ch.submitted_modeled + STATE.duration("route53_propagation")
    info: dict[str, Any] = {
        "Id": f"/change/{ch.id}",
        "Status": "INSYNC" if done else "PENDING",
        "SubmittedAt": ch.submitted_at,
    }
    if ch.comment:
        info["Comment"] = ch.comment
    return info


class NoSuchChange(Route53ClientError):
    def __init__(self, change_id: str) -> None:
        super().__init__(
            "NoSuchChange", f"A change with the specified change ID {change_id} does not exist."
        )


_orig_change = Route53.change_resource_record_sets


def change_resource_record_sets(self: Route53) -> ActionResult:
    _orig_change(self)  # validates and applies the change to moto's zone
    comment = self._get_param("ChangeBatch.Comment")
    with STATE.lock:
        ch = Change(
            id=_new_change_id(),
            submitted_modeled=STATE.clock.now(),
            submitted_at=datetime.fromtimestamp(STATE.clock.now(), tz=timezone.utc),
            comment=comment,
        )
        CHANGES[ch.id] = ch
        return ActionResult({"ChangeInfo": _change_info(ch)})


def get_change(self: Route53) -> ActionResult:
    raw = str(self._get_param("Id") or "")
    cid = raw.rsplit("/", 1)[-1]
    with STATE.lock:
        ch = CHANGES.get(cid)
        if ch is None:
            raise NoSuchChange(raw)
        return ActionResult({"ChangeInfo": _change_info(ch)})


_orig_create_hc = Route53.create_health_check
_orig_hc_config = HealthCheck.health_check_config


def create_health_check(self: Route53) -> ActionResult:
    """moto drops AlarmIdentifier and InsufficientDataHealthStatus; keep them so a
    CLOUDWATCH_METRIC health check can follow its alarm (drover's traffic gate)."""
    result = _orig_create_hc(self)
    config = self._get_param("HealthCheckConfig") or {}
    hc = result.result["HealthCheck"]  # type: ignore[index]
    if config.get("AlarmIdentifier"):
        hc.drover_alarm = dict(config["AlarmIdentifier"])
    if config.get("InsufficientDataHealthStatus"):
        hc.drover_insufficient = config["InsufficientDataHealthStatus"]
    return result


def _health_check_config(hc: HealthCheck) -> dict[str, Any]:
    config = dict(_orig_hc_config.fget(hc))  # type: ignore[attr-defined]
    if getattr(hc, "drover_alarm", None):
        config["AlarmIdentifier"] = hc.drover_alarm
    if getattr(hc, "drover_insufficient", None):
        config["InsufficientDataHealthStatus"] = hc.drover_insufficient
    return config


def _alarm_status(hc: HealthCheck) -> str:
    """Status of a CLOUDWATCH_METRIC health check from its alarm's state."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    alarm = hc.drover_alarm
    try:
        state = cloudwatch_backends[DEFAULT_ACCOUNT_ID][alarm["Region"]].alarms[
            alarm["Name"]].state_value
    except KeyError:
        state = "INSUFFICIENT_DATA"
    if state == "OK":
        return "healthy"
    if state == "ALARM":
        return "unhealthy"
    fallback = getattr(hc, "drover_insufficient", None) or "LastKnownStatus"
    return "unhealthy" if fallback == "Unhealthy" else "healthy"


def health_status(hc: HealthCheck) -> str:
    """Control-API override first, then the alarm of a CLOUDWATCH_METRIC check."""
    with STATE.lock:
        override = STATE.health_checks.get(hc.id)
    if override is not None:
        return override
    if getattr(hc, "drover_alarm", None):
        status = _alarm_status(hc)
        if hc.inverted:
            status = "unhealthy" if status == "healthy" else "healthy"
        return status
    return "healthy"


def get_health_check_status(self: Route53) -> ActionResult:
    hc_id = self._get_param("HealthCheckId")
    hc = self.backend.get_health_check(hc_id)  # NoSuchHealthCheck when unknown
    status = health_status(hc)
    checked = datetime.fromtimestamp(STATE.clock.now(), tz=timezone.utc)
    if status == "healthy":
        text = "Success: HTTP Status Code 200, OK"
    else:
        text = ("Failure: Connection timed out. The endpoint or the internet connection "
                "is down, or requests are being blocked by your firewall.")
    obs = [
        {"Region": region, "IPAddress": ip,
         "StatusReport": {"Status": text, "CheckedTime": checked}}
        for region, ip in CHECKER_REGIONS
    ]
    return ActionResult({"HealthCheckObservations": obs})


def describe_operations() -> list[dict[str, Any]]:
    d = STATE.duration("route53_propagation")
    now = STATE.clock.now()
    return [{"type": "route53_change", "id": f"/change/{c.id}",
             "done_at": c.submitted_modeled + d}
            for c in CHANGES.values() if now < c.submitted_modeled + d]


def install() -> None:
    Route53.change_resource_record_sets = change_resource_record_sets  # type: ignore[method-assign]
    Route53.get_change = get_change  # type: ignore[method-assign]
    Route53.get_health_check_status = get_health_check_status  # type: ignore[method-assign]
    Route53.create_health_check = create_health_check  # type: ignore[method-assign]
    HealthCheck.health_check_config = property(_health_check_config)  # type: ignore[assignment]


def dns_answer(zone_id: str, name: str, rtype: str) -> dict[str, Any]:
    """Route 53's data plane for a weighted record set: what a resolver is answered now.

    Healthy records with a non-zero weight are answered in proportion to their weights;
    when none is left, healthy zero-weight records are; when every record is unhealthy,
    Route 53 fails open and answers as if all were healthy. This keeps working while the
    control plane (us-east-1) is down, as the real data plane does."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.route53.models import route53_backends

    backend = route53_backends[DEFAULT_ACCOUNT_ID]["global"]
    zone = backend.get_hosted_zone(zone_id)
    want = name.rstrip(".").lower()
    records = [r for r in zone.rrsets
               if r.name.rstrip(".").lower() == want and r.type == rtype and r.set_identifier]
    if not records:
        raise KeyError(f"no weighted {rtype} records named {name} in zone {zone_id}")

    def healthy(r: Any) -> bool:
        if not r.health_check_id:
            return True
        try:
            return health_status(backend.get_health_check(r.health_check_id)) == "healthy"
        except Exception:  # a record naming a missing health check counts as healthy
            return True

    def weight(r: Any) -> int:
        return int(r.weight or 0)

    status = {r.set_identifier: healthy(r) for r in records}
    live = [r for r in records if status[r.set_identifier]]
    chosen = [r for r in live if weight(r) > 0] or [r for r in live if weight(r) == 0]
    fail_open = not chosen
    if fail_open:
        chosen = [r for r in records if weight(r) > 0] or records
    total = sum(weight(r) for r in chosen)
    return {
        "modeled_now": STATE.clock.now(),
        "fail_open": fail_open,
        "health": status,
        "answers": [
            {"set_identifier": r.set_identifier,
             "values": [rr.get("Value") if isinstance(rr, dict) else rr for rr in r.records],
             "weight": weight(r),
             "share": (weight(r) / total) if total else 1.0 / len(chosen),
             "ttl": int(r.ttl) if r.ttl else None}
            for r in chosen
        ],
    }
