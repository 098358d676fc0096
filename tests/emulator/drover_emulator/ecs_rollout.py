"""ECS service rollouts in modeled time.

moto sets runningCount = desiredCount at once. Here a task takes `ecs_task_start`
modeled seconds to reach RUNNING; scale-in stops tasks at once. A change of the
desired count scales the PRIMARY deployment (same id; its rolloutState goes back to
IN_PROGRESS until runningCount == desiredCount, as the service converges); a new
task definition or forceNewDeployment starts a new PRIMARY deployment while the old
one stays ACTIVE until the new tasks run. An UpdateService that changes nothing
leaves the deployments alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.ecs.models import EC2ContainerServiceBackend as ECSBackend
from moto.ecs.models import Service
from moto.moto_api._internal import mock_random

from .state import STATE


@dataclass
class Rollout:
    running: int = 0
    pending: list[float] = field(default_factory=list)  # modeled RUNNING times
    old_running: int = 0  # tasks of the ACTIVE (previous) deployment still serving
    primary: dict[str, Any] = field(default_factory=dict)
    active: dict[str, Any] | None = None


ROLLOUTS: dict[int, Rollout] = {}  # id(Service) -> rollout
SERVICES: dict[int, Service] = {}


def reset() -> None:
    ROLLOUTS.clear()
    SERVICES.clear()


def _now_dt() -> datetime:
    return datetime.fromtimestamp(STATE.clock.now(), tz=timezone.utc)


def _new_deployment(service: Service) -> dict[str, Any]:
    dep_id = f"ecs-svc/{mock_random.randint(0, 10**19 - 1):019d}"
    now = _now_dt()
    return {
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": service.task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "platformVersion": service.platform_version,
        "platformFamily": "EC2" if service.launch_type == "EC2" else "Linux",
        "networkConfiguration": getattr(service, "network_configuration", None) or None,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "ECS deployment in progress.",
    }


def _scale(r: Rollout, desired: int, now: float) -> None:
    in_flight = r.running + len(r.pending)
    if desired > in_flight:
        r.pending.extend([now + STATE.duration("ecs_task_start")] * (desired - in_flight))
    elif desired < in_flight:
        excess = in_flight - desired
        # Tasks not yet running are stopped first, newest first.
        r.pending.sort()
        while excess and r.pending:
            r.pending.pop()
            excess -= 1
        r.running -= excess


def _apply(service: Service, r: Rollout) -> None:
    now = STATE.clock.now()
    due = [t for t in r.pending if t <= now]
    if due:
        r.pending = [t for t in r.pending if t > now]
        r.running += len(due)
    done = r.running == service.desired_count and not r.pending
    if done and r.active is not None:
        r.active = None
        r.old_running = 0
    p = r.primary
    state = "COMPLETED" if done else "IN_PROGRESS"
    changed = (p.get("runningCount"), p.get("pendingCount"), p.get("rolloutState")) != (
        r.running, len(r.pending), state)
    p.update(
        desiredCount=service.desired_count,
        runningCount=r.running,
        pendingCount=len(r.pending),
        taskDefinition=service.task_definition,
        rolloutState=state,
        rolloutStateReason=(f"ECS deployment {p['id']} completed." if done
                            else f"ECS deployment {p['id']} in progress."),
    )
    if changed:
        p["updatedAt"] = _now_dt()
    service.running_count = r.running + r.old_running
    service.pending_count = len(r.pending)
    # Copies: moto edits deployments[0] in place on forceNewDeployment.
    service.deployments = [dict(p)] + ([dict(r.active)] if r.active is not None else [])


def tick() -> None:
    with STATE.lock:
        for key, svc in list(SERVICES.items()):
            _apply(svc, ROLLOUTS[key])


def _track(service: Service) -> Rollout:
    key = id(service)
    if key not in ROLLOUTS:
        r = Rollout(primary=_new_deployment(service))
        ROLLOUTS[key] = r
        SERVICES[key] = service
    return ROLLOUTS[key]


_orig_create = ECSBackend.create_service
_orig_update = ECSBackend.update_service
_orig_delete = ECSBackend.delete_service


def create_service(self: ECSBackend, *args: Any, **kwargs: Any) -> Service:
    service = _orig_create(self, *args, **kwargs)
    if service.deployment_controller.get("type", "ECS") != "ECS":
        return service
    with STATE.lock:
        ROLLOUTS.pop(id(service), None)
        r = _track(service)
        _scale(r, service.desired_count or 0, STATE.clock.now())
        _apply(service, r)
    return service


def update_service(self: ECSBackend, service_properties: dict[str, Any]) -> Service:
    props = dict(service_properties)
    cluster = props.get("cluster", "default")
    name = str(props.get("service", "")).split("/")[-1]
    with STATE.lock:
        try:
            existing = self._get_service(cluster, name)
        except Exception:
            existing = None
        if existing is not None:
            tick()
            r = _track(existing)
            _apply(existing, r)
            old_td = existing.task_definition
        service = _orig_update(self, service_properties)
        if existing is None or service.deployment_controller.get("type", "ECS") != "ECS":
            return service
        now = STATE.clock.now()
        new_td = props.get("task_definition")
        if props.get("force_new_deployment") or (new_td and service.task_definition != old_td):
            old = r.primary
            old.update(status="ACTIVE", updatedAt=_now_dt())
            r.active = old
            r.old_running = r.running
            r.running = 0
            r.pending = []
            r.primary = _new_deployment(service)
            _scale(r, service.desired_count, now)
        else:
            _scale(r, service.desired_count, now)
        _apply(service, r)
        return service


def delete_service(self: ECSBackend, cluster_name: str, service_name: str, force: bool) -> Service:
    service = _orig_delete(self, cluster_name, service_name, force)
    with STATE.lock:
        ROLLOUTS.pop(id(service), None)
        SERVICES.pop(id(service), None)
    return service


def describe_operations() -> list[dict[str, Any]]:
    out = []
    for key, svc in SERVICES.items():
        r = ROLLOUTS[key]
        if r.pending:
            out.append({"type": "ecs_rollout", "service": svc.arn,
                        "running": r.running, "pending": len(r.pending),
                        "desired": svc.desired_count, "done_at": max(r.pending)})
    return out


def install() -> None:
    ECSBackend.create_service = create_service  # type: ignore[method-assign]
    ECSBackend.update_service = update_service  # type: ignore[method-assign]
    ECSBackend.delete_service = delete_service  # type: ignore[method-assign]
