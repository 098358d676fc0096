"""CodeDeploy ECS blue/green deployments in modeled time.

moto's CodeDeploy stores applications, deployment groups and deployments, and a
deployment stays `Created` for ever. Here a deployment of an ECS application runs
the ECS blue/green lifecycle on the modeled clock:

  Created -> InProgress: BeforeInstall, Install, AfterInstall, AllowTestTraffic,
  AfterAllowTestTraffic, BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic
  -> (termination wait) -> Succeeded

* A lifecycle event with a hook in the AppSpec waits in `InProgress` until
  PutLifecycleEventHookExecutionStatus reports its execution (or
  `codedeploy_hook_timeout` passes). The pending executions are readable through the
  control API, so a test can play CodeDeploy invoking the hook Lambda. Events without
  a hook are `Skipped`.
* Install starts the replacement (green) task set: `ecs_task_start`. The task
  definition must exist in ECS, and the group's service must use the CODE_DEPLOY
  deployment controller.
* AllowTestTraffic takes `codedeploy_step`; AllowTraffic shifts production traffic by
  the deployment configuration (ECSAllAtOnce after `codedeploy_step`;
  ECSCanaryNPercentMMinutes: N %, then 100 % after M minutes; ECSLinearNPercentEveryMMinutes:
  N % more every M minutes). When green has 100 %, the ECS service's task definition
  becomes the new one.
* The old (blue) task set is kept for the group's
  terminateBlueInstancesOnDeploymentSuccess.terminationWaitTimeInMinutes
  (`instanceTerminationWaitTimeStarted` true, deployment still InProgress), then the
  deployment is Succeeded.
* A hook reporting Failed (or timing out) fails the deployment (HOOK_EXECUTION_FAILURE);
  an alarm of the group's enabled alarm configuration in ALARM stops it (Stopped,
  ALARM_ACTIVE); StopDeployment stops it (MANUAL_STOP). With automatic rollback for that
  event (the deployment's override, else the group's), CodeDeploy creates a rollback
  deployment (creator `codeDeployRollback`) that moves traffic back to blue in
  `codedeploy_step` and restores the service's task definition.
* One active deployment per deployment group (DeploymentLimitExceededException).

Approximations: listeners and target groups are not rewired in ELB (the traffic split
is reported by GetDeploymentTarget only); the rollback deployment has one lifecycle
event (AllowTraffic); a deployment of a non-ECS application keeps moto's behaviour.
"""

from __future__ import annotations

import base64
import json
import re
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import yaml
from moto.codedeploy import responses as cd_responses
from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random

from . import state as state_module
from .state import STATE

NEW_DURATIONS = {
    # Each CodeDeploy step that is not a task start or a traffic schedule (test traffic, rollback).
    "codedeploy_step": 5.0,
    # A lifecycle hook that never reports fails after an hour (the documented limit).
    "codedeploy_hook_timeout": 3600.0,
}

LIFECYCLE = ["BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic",
             "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
HOOKABLE = {"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic",
            "AfterAllowTraffic"}
FINAL = {"Succeeded", "Failed", "Stopped"}


def _error(code: str, message: str) -> CodeDeployException:
    err = CodeDeployException(code, message)
    err.code = 400
    return err


@dataclass
class Execution:
    id: str
    region: str
    deployment_id: str
    lifecycle_event: str
    function: str
    started: float
    status: str = "Pending"
    reported: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region, "deployment_id": self.deployment_id,
            "lifecycle_event": self.lifecycle_event, "function": self.function,
            "execution_id": self.id, "status": self.status,
            "started_modeled": self.started, "reported_modeled": self.reported,
            # What CodeDeploy sends the hook Lambda.
            "event": {"DeploymentId": self.deployment_id,
                      "LifecycleEventHookExecutionId": self.id},
        }


@dataclass
class Track:
    region: str
    backend: CodeDeployBackend
    deployment: DeploymentInfo
    created: float
    events: list[dict[str, Any]]
    kind: str = "deploy"  # or "rollback"
    hooks: dict[str, str] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    cursor: float = 0.0  # modeled time the current event started
    index: int = 0
    new_td: str | None = None
    old_td: str | None = None
    cluster: str = ""
    service: str = ""
    target_groups: list[str] = field(default_factory=list)
    green_weight: float = 0.0
    green_running: int = 0
    td_switched: bool = False
    termination_until: float | None = None
    revision_error: str | None = None
    error: dict[str, str] | None = None
    rollback_info: dict[str, str] = field(default_factory=dict)
    started_at: float | None = None
    completed_at: float | None = None
    updated: float = 0.0
    previous_revision: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.deployment.deployment_id

    @property
    def status(self) -> str:
        return self.deployment.status


TRACKS: dict[str, Track] = {}  # deployment id -> track


def reset() -> None:
    TRACKS.clear()


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=timezone.utc)


def _new_deployment_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    while True:
        did = "d-" + "".join(alphabet[mock_random.randint(0, len(alphabet) - 1)] for _ in range(9))
        if did not in TRACKS:
            return did


def _execution_id(deployment_id: str, event: str) -> str:
    token = {"deploymentId": deployment_id, "lifecycleEventName": event,
             "n": mock_random.randint(0, 10**12)}
    return base64.b64encode(json.dumps(token).encode()).decode()


def _ecs_backend(region: str, account: str) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def _group_of(t: Track) -> Any:
    return t.deployment.deployment_group


def _rollback_events(t: Track) -> set[str]:
    conf = t.deployment.auto_rollback_configuration or getattr(
        _group_of(t), "auto_rollback_configuration", None) or {}
    if not conf.get("enabled"):
        return set()
    return set(conf.get("events") or [])


def _termination_wait(t: Track) -> float:
    conf = getattr(_group_of(t), "blue_green_deployment_configuration", None) or {}
    term = conf.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    if term.get("action", "TERMINATE") != "TERMINATE":
        return 0.0
    return float(term.get("terminationWaitTimeInMinutes") or 0) * 60.0


def _traffic_schedule(config_name: str) -> tuple[str, float, float]:
    """(kind, percent, step seconds) of a predefined ECS deployment configuration."""
    m = re.fullmatch(r"CodeDeployDefault\.ECS(Canary|Linear)(\d+)Percent(?:Every)?(\d+)Minutes?",
                     config_name or "")
    if m:
        return m.group(1).lower(), float(m.group(2)), float(m.group(3)) * 60.0
    return "all", 100.0, 0.0


def _green_weight(t: Track, elapsed: float) -> tuple[float, float | None]:
    """Green's share `elapsed` seconds into AllowTraffic, and when the shift is complete."""
    kind, pct, step = _traffic_schedule(str(t.deployment.deployment_config_name))
    if kind == "all":
        d = STATE.duration("codedeploy_step")
        return (100.0 if elapsed >= d else 0.0), d
    if kind == "canary":
        return (100.0 if elapsed >= step else pct), step
    steps_needed = -(-100 // int(pct)) - 1  # first increment is immediate
    weight = min(100.0, pct * (1 + int(elapsed // step))) if step > 0 else 100.0
    return weight, steps_needed * step


def _parse_appspec(t: Track) -> None:
    rev = t.deployment.revision or {}
    if rev.get("revisionType") != "AppSpecContent":
        t.revision_error = "An ECS deployment needs an AppSpecContent revision."
        return
    content = (rev.get("appSpecContent") or {}).get("content") or ""
    try:
        spec = yaml.safe_load(content)  # JSON is YAML
        props = spec["Resources"][0]["TargetService"]["Properties"]
        t.new_td = str(props["TaskDefinition"])
        lb = props["LoadBalancerInfo"]
        str(lb["ContainerName"]), int(lb["ContainerPort"])
    except Exception as e:  # noqa: BLE001 - any shape error is an invalid revision
        t.revision_error = f"The AppSpec file is not valid: {type(e).__name__}: {e}"
        return
    for entry in spec.get("Hooks") or []:
        if not isinstance(entry, dict):
            t.revision_error = "The AppSpec file is not valid: Hooks entries are maps"
            return
        for event, function in entry.items():
            if event not in HOOKABLE:
                t.revision_error = (f"The AppSpec file is not valid: {event} is not a lifecycle "
                                    f"event an ECS deployment can hook")
                return
            t.hooks[event] = str(function)


# ---------- the state machine ----------

def _finish(t: Track, status: str, at: float) -> None:
    t.deployment.status = status
    t.completed_at = at
    t.updated = at
    counts = {"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0,
              "Ready": 0}
    counts["Succeeded" if status == "Succeeded" else "Failed"] = 1
    t.deployment.deployment_overview = counts


def _set_service_td(t: Track, td: str | None) -> None:
    if not td:
        return
    try:
        svc = _ecs_backend(t.region, t.backend.account_id)._get_service(t.cluster, t.service)
        svc.task_definition = td
    except Exception:  # noqa: BLE001 - the service may be gone; nothing to restore
        pass


def _fail(t: Track, code: str, message: str, at: float, status: str = "Failed",
          rollback_event: str = "DEPLOYMENT_FAILURE", force_rollback: bool | None = None) -> None:
    if 0 <= t.index < len(t.events) and t.events[t.index]["status"] == "InProgress":
        t.events[t.index].update(status="Failed", endTime=at)
    for ex in t.executions:
        if ex.status == "Pending":
            ex.status = "Unknown"
    t.error = {"code": code, "message": message}
    _finish(t, status, at)
    rollback = force_rollback if force_rollback is not None else (
        rollback_event in _rollback_events(t))
    if rollback and t.kind == "deploy":
        _start_rollback(t, at)


def _start_rollback(t: Track, at: float) -> None:
    d = t.deployment
    rb = DeploymentInfo(d.application, d.deployment_group, d.revision, d.deployment_config_name,
                        f"Rollback of {d.deployment_id}", None, None, None, None, None, None,
                        "codeDeployRollback")
    rb.deployment_id = _new_deployment_id()
    rb.status = "InProgress"
    rb.create_time = _dt(at)
    t.backend.deployments[rb.deployment_id] = rb
    rt = Track(region=t.region, backend=t.backend, deployment=rb, created=at,
               events=[{"lifecycleEventName": "AllowTraffic", "status": "Pending",
                        "startTime": None, "endTime": None}],
               kind="rollback", cursor=at, new_td=t.old_td, old_td=t.new_td, cluster=t.cluster,
               service=t.service, target_groups=t.target_groups, green_weight=t.green_weight,
               green_running=t.green_running, started_at=at, updated=at)
    rt.td_switched = t.td_switched
    rt.rollback_info = {"rollbackTriggeringDeploymentId": d.deployment_id,
                        "rollbackMessage": f"Rollback of deployment {d.deployment_id}"}
    t.rollback_info = {"rollbackDeploymentId": rb.deployment_id,
                       "rollbackMessage": f"Deployment {d.deployment_id} was rolled back by "
                                          f"deployment {rb.deployment_id}"}
    TRACKS[rb.deployment_id] = rt


def _alarm_firing(t: Track) -> str | None:
    conf = getattr(_group_of(t), "alarm_configuration", None)
    if isinstance(conf, dict):
        enabled, alarms = conf.get("enabled"), conf.get("alarms") or []
    elif conf is not None:
        enabled, alarms = conf.enabled, conf.alarms
    else:
        return None
    if not enabled:
        return None
    from moto.cloudwatch.models import cloudwatch_backends

    cw = cloudwatch_backends[t.backend.account_id][t.region]
    for a in alarms:
        name = a.get("name") if isinstance(a, dict) else None
        alarm = cw.alarms.get(name) if name else None
        if alarm is not None and alarm.state_value == "ALARM":
            return name
    return None


def _start_event(t: Track, ev: dict[str, Any], at: float) -> None:
    ev.update(status="InProgress", startTime=at)
    t.cursor = at
    t.updated = at
    name = ev["lifecycleEventName"]
    if t.kind == "deploy" and name in t.hooks:
        t.executions.append(Execution(
            id=_execution_id(t.id, name), region=t.region, deployment_id=t.id,
            lifecycle_event=name, function=t.hooks[name], started=at))


def _complete_event(t: Track, ev: dict[str, Any], at: float, status: str = "Succeeded") -> None:
    ev.update(status=status, endTime=at)
    t.index += 1
    t.cursor = at
    t.updated = at


def _step(t: Track, now: float) -> bool:
    """Advances one event if it can; False when it has to wait."""
    if t.status in FINAL:
        return False
    if t.status == "Created":
        if t.revision_error:
            _fail(t, "INVALID_REVISION", t.revision_error, t.created)
            return False
        t.deployment.status = "InProgress"
        t.started_at = t.cursor = t.updated = t.created
        t.deployment.start_time = _dt(t.created)
        return True
    if t.kind == "deploy":
        firing = _alarm_firing(t)
        if firing:
            _fail(t, "ALARM_ACTIVE", f"One or more alarms have been activated according to the "
                  f"Amazon CloudWatch metrics you selected: {firing}", now, status="Stopped",
                  rollback_event="DEPLOYMENT_STOP_ON_ALARM")
            return False
    if t.index >= len(t.events):
        return _after_events(t, now)
    ev = t.events[t.index]
    name = ev["lifecycleEventName"]
    if ev["status"] == "Pending":
        _start_event(t, ev, t.cursor)
        return True
    step = STATE.duration("codedeploy_step")
    if t.kind == "rollback":  # AllowTraffic back to blue
        if now < t.cursor + step:
            return False
        t.green_weight, t.green_running = 0.0, 0
        if t.td_switched:
            _set_service_td(t, t.new_td)  # the old task definition
        _complete_event(t, ev, t.cursor + step)
        return True
    execution = next((x for x in t.executions if x.lifecycle_event == name), None)
    if execution is not None:
        if execution.status == "Succeeded":
            _complete_event(t, ev, execution.reported or now)
            return True
        if execution.status == "Failed":
            _fail(t, "HOOK_EXECUTION_FAILURE",
                  f"The deployment failed because the {name} lifecycle hook "
                  f"({execution.function}) reported Failed.", execution.reported or now)
            return False
        timeout = STATE.duration("codedeploy_hook_timeout")
        if now >= execution.started + timeout:
            execution.status = "Failed"
            _fail(t, "HOOK_EXECUTION_FAILURE",
                  f"The {name} lifecycle hook ({execution.function}) did not report a status "
                  f"within {int(timeout)} seconds.", execution.started + timeout)
            return False
        return False
    if name in HOOKABLE:
        _complete_event(t, ev, t.cursor, status="Skipped")
        return True
    if name == "Install":
        ecs = _ecs_backend(t.region, t.backend.account_id)
        try:
            svc = ecs._get_service(t.cluster, t.service)
        except Exception:  # noqa: BLE001
            _fail(t, "INVALID_ECS_SERVICE", f"The ECS service {t.service} in cluster "
                  f"{t.cluster} does not exist.", t.cursor)
            return False
        if (svc.deployment_controller or {}).get("type") != "CODE_DEPLOY":
            _fail(t, "INVALID_ECS_SERVICE", f"The ECS service {t.service} does not use the "
                  "CODE_DEPLOY deployment controller.", t.cursor)
            return False
        try:
            ecs.describe_task_definition(t.new_td or "")
        except Exception:  # noqa: BLE001
            _fail(t, "ECS_UPDATE_ERROR", f"Unable to create the replacement task set: task "
                  f"definition {t.new_td} does not exist.", t.cursor)
            return False
        t.old_td = svc.task_definition
        done = t.cursor + STATE.duration("ecs_task_start")
        if now < done:
            return False
        t.green_running = int(svc.desired_count or 0)
        _complete_event(t, ev, done)
        return True
    if name == "AllowTestTraffic":
        if now < t.cursor + step:
            return False
        _complete_event(t, ev, t.cursor + step)
        return True
    if name == "AllowTraffic":
        weight, complete_after = _green_weight(t, now - t.cursor)
        if weight != t.green_weight:
            t.green_weight = weight
            t.updated = now
        if complete_after is None or now < t.cursor + complete_after:
            return False
        t.green_weight = 100.0
        _set_service_td(t, t.new_td)
        t.td_switched = True
        _complete_event(t, ev, t.cursor + complete_after)
        return True
    _complete_event(t, ev, t.cursor)
    return True


def _after_events(t: Track, now: float) -> bool:
    if t.kind == "rollback":
        _finish(t, "Succeeded", t.cursor)
        return False
    wait = _termination_wait(t)
    if t.termination_until is None:
        t.termination_until = t.cursor + wait
        t.deployment.instance_termination_wait_time_started = wait > 0
        t.updated = t.cursor
        return True
    if now < t.termination_until:
        return False
    _finish(t, "Succeeded", t.termination_until)
    return False


def tick() -> None:
    with STATE.lock:
        now = STATE.clock.now()
        for t in list(TRACKS.values()):
            for _ in range(64):  # bounded: each step advances or waits
                if not _step(t, now):
                    break


# ---------- API handlers ----------

_orig_create_deployment = CodeDeployBackend.create_deployment


def create_deployment(self: CodeDeployBackend, application_name: str,
                      deployment_group_name: str, revision: dict[str, Any],
                      *args: Any, **kwargs: Any) -> str:
    with STATE.lock:
        tick()
        app = self.applications.get(application_name)
        if app is not None and app.compute_platform == "ECS":
            for t in TRACKS.values():
                d = t.deployment
                if (t.region == self.region_name and d.application_name == application_name
                        and d.deployment_group_name == deployment_group_name
                        and t.status not in FINAL):
                    raise _error("DeploymentLimitExceededException",
                                 f"The Deployment Group '{deployment_group_name}' already has "
                                 f"an active Deployment '{t.id}'")
        moto_id = _orig_create_deployment(self, application_name, deployment_group_name,
                                          revision, *args, **kwargs)
        if app is None or app.compute_platform != "ECS":
            return moto_id
        dep = self.deployments.pop(moto_id)
        dep.deployment_id = _new_deployment_id()
        self.deployments[dep.deployment_id] = dep
        now = STATE.clock.now()
        dep.create_time = _dt(now)
        group = dep.deployment_group
        services = group.ecs_services or [{}]
        pairs = ((group.load_balancer_info or {}).get("targetGroupPairInfoList") or [{}])[0]
        t = Track(region=self.region_name, backend=self, deployment=dep, created=now,
                  events=[{"lifecycleEventName": n, "status": "Pending", "startTime": None,
                           "endTime": None} for n in LIFECYCLE],
                  cluster=services[0].get("clusterName", ""),
                  service=services[0].get("serviceName", ""),
                  target_groups=[tg.get("name", "") for tg in pairs.get("targetGroups") or []],
                  cursor=now, updated=now)
        _parse_appspec(t)
        TRACKS[dep.deployment_id] = t
        return dep.deployment_id


def _lookup(self: CodeDeployResponse, deployment_id: str | None) -> Track:
    if not deployment_id:
        raise _error("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    self.codedeploy_backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException
    t = TRACKS.get(deployment_id)
    if t is None:
        raise _error("UnsupportedActionForDeploymentTypeException",
                     "This action is only supported for ECS blue/green deployments here.")
    return t


def put_lifecycle_event_hook_execution_status(self: CodeDeployResponse) -> ActionResult:
    deployment_id = self._get_param("deploymentId")
    execution_id = self._get_param("lifecycleEventHookExecutionId")
    status = self._get_param("status")
    with STATE.lock:
        tick()
        t = _lookup(self, deployment_id)
        if status not in ("Succeeded", "Failed"):
            raise _error("InvalidLifecycleEventHookExecutionStatusException",
                         f"The status {status} is not valid: only Succeeded and Failed can be set.")
        ex = next((x for x in t.executions if x.id == execution_id), None)
        if ex is None:
            raise _error("InvalidLifecycleEventHookExecutionIdException",
                         f"The lifecycle event hook execution ID {execution_id} is not valid "
                         f"for deployment {deployment_id}.")
        if ex.status != "Pending" or t.status in FINAL:
            raise _error("LifecycleEventAlreadyCompletedException",
                         f"The lifecycle event {ex.lifecycle_event} of deployment "
                         f"{deployment_id} is already complete.")
        ex.status = status
        ex.reported = STATE.clock.now()
        tick()
        return ActionResult({"lifecycleEventHookExecutionId": ex.id})


def stop_deployment(self: CodeDeployResponse) -> ActionResult:
    deployment_id = self._get_param("deploymentId")
    rollback = bool(self._get_param("autoRollbackEnabled"))
    with STATE.lock:
        tick()
        t = _lookup(self, deployment_id)
        if t.status in FINAL:
            raise _error("DeploymentAlreadyCompletedException",
                         f"The deployment {deployment_id} has already completed.")
        _fail(t, "MANUAL_STOP", "The deployment was stopped by a user.", STATE.clock.now(),
              status="Stopped", force_rollback=rollback)
        return ActionResult({"status": "Succeeded",
                             "statusMessage": f"Deployment {deployment_id} stopped"})


def list_deployment_targets(self: CodeDeployResponse) -> ActionResult:
    with STATE.lock:
        tick()
        t = _lookup(self, self._get_param("deploymentId"))
        if t.status == "Created":
            raise _error("DeploymentNotStartedException", "The deployment has not started.")
        return ActionResult({"targetIds": [f"{t.cluster}:{t.service}"]})


def get_deployment_target(self: CodeDeployResponse) -> ActionResult:
    with STATE.lock:
        tick()
        t = _lookup(self, self._get_param("deploymentId"))
        target_id = self._get_param("targetId")
        if not target_id:
            raise _error("DeploymentTargetIdRequiredException", "A deployment target ID must be specified.")
        if target_id != f"{t.cluster}:{t.service}":
            raise _error("DeploymentTargetDoesNotExistException",
                         f"The deployment target {target_id} does not exist.")
        if t.status == "Created":
            raise _error("DeploymentNotStartedException", "The deployment has not started.")
        return ActionResult({"deploymentTarget": {"deploymentTargetType": "ECSTarget",
                                                  "ecsTarget": _ecs_target(t)}})


def _ecs_target(t: Track) -> dict[str, Any]:
    account = t.backend.account_id
    desired = 0
    try:
        desired = int(_ecs_backend(t.region, account)._get_service(t.cluster, t.service).desired_count or 0)
    except Exception:  # noqa: BLE001
        pass
    blue_gone = t.status == "Succeeded" and t.kind == "deploy"
    sets = []
    if not blue_gone:
        sets.append({"identifer": f"ecs-svc/blue-{t.id}", "desiredCount": desired,
                     "pendingCount": 0, "runningCount": desired, "status": "PRIMARY",
                     "trafficWeight": 100.0 - t.green_weight,
                     "targetGroup": {"name": t.target_groups[0] if t.target_groups else ""},
                     "taskSetLabel": "Blue"})
    if t.green_running or t.green_weight or (t.kind == "deploy" and t.status not in FINAL):
        sets.append({"identifer": f"ecs-svc/green-{t.id}", "desiredCount": desired,
                     "pendingCount": max(0, desired - t.green_running),
                     "runningCount": t.green_running, "status": "ACTIVE",
                     "trafficWeight": t.green_weight,
                     "targetGroup": {"name": t.target_groups[1] if len(t.target_groups) > 1 else ""},
                     "taskSetLabel": "Green"})
    status = {"Succeeded": "Succeeded", "Failed": "Failed", "Stopped": "Failed",
              "Created": "Pending"}.get(t.status, "InProgress")
    return {
        "deploymentId": t.id,
        "targetId": f"{t.cluster}:{t.service}",
        "targetArn": f"arn:aws:ecs:{t.region}:{account}:service/{t.cluster}/{t.service}",
        "lastUpdatedAt": _dt(t.updated),
        "lifecycleEvents": [{"lifecycleEventName": e["lifecycleEventName"], "status": e["status"],
                             **({"startTime": _dt(e["startTime"])} if e["startTime"] else {}),
                             **({"endTime": _dt(e["endTime"])} if e["endTime"] else {})}
                            for e in t.events],
        "status": status,
        "taskSetsInfo": sets,
    }


_orig_deployment_info = cd_responses._deployment_info
_orig_group_info = cd_responses._deployment_group_info


def _deployment_info(deployment: DeploymentInfo) -> dict[str, Any]:
    info = _orig_deployment_info(deployment)
    t = TRACKS.get(deployment.deployment_id)
    if t is None:
        return info
    info.update(
        status=t.status,
        startTime=_dt(t.started_at),
        completeTime=_dt(t.completed_at),
        createTime=_dt(t.created),
        instanceTerminationWaitTimeStarted=bool(
            deployment.instance_termination_wait_time_started),
        deploymentOverview=deployment.deployment_overview,
    )
    info["errorInformation"] = dict(t.error) if t.error else {}
    info["rollbackInfo"] = dict(t.rollback_info)
    return {k: v for k, v in info.items() if v is not None}


def _deployment_group_info(group: Any) -> dict[str, Any]:
    info = _orig_group_info(group)
    conf = group.alarm_configuration
    if isinstance(conf, dict):
        info["alarmConfiguration"] = conf
    return info


def pending_executions(region: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    with STATE.lock:
        tick()
        return [x.to_json() for t in TRACKS.values() for x in t.executions
                if (region is None or x.region == region)
                and (status is None or x.status == status)]


def describe_operations() -> list[dict[str, Any]]:
    return [{"type": "codedeploy_deployment", "region": t.region, "id": t.id, "kind": t.kind,
             "status": t.status,
             "event": t.events[t.index]["lifecycleEventName"] if t.index < len(t.events) else None,
             "green_weight": t.green_weight}
            for t in TRACKS.values() if t.status not in FINAL]


def install() -> None:
    for k, v in NEW_DURATIONS.items():
        state_module.DEFAULT_DURATIONS.setdefault(k, v)
        STATE.durations.setdefault(k, v)
    CodeDeployBackend.create_deployment = create_deployment  # type: ignore[method-assign]
    cd_responses._deployment_info = _deployment_info
    cd_responses._deployment_group_info = _deployment_group_info
    CodeDeployResponse.put_lifecycle_event_hook_execution_status = (  # type: ignore[attr-defined]
        put_lifecycle_event_hook_execution_status)
    CodeDeployResponse.stop_deployment = stop_deployment  # type: ignore[attr-defined]
    CodeDeployResponse.list_deployment_targets = list_deployment_targets  # type: ignore[attr-defined]
    CodeDeployResponse.get_deployment_target = get_deployment_target  # type: ignore[attr-defined]
    from . import control

    @control.route("GET", "/codedeploy/hook-executions")
    def _hook_executions(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
        from urllib.parse import parse_qs

        q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        return 200, {"modeled_now": STATE.clock.now(),
                     "executions": pending_executions(q.get("region"), q.get("status"))}

    @control.route("GET", "/codedeploy/deployments")
    def _deployments(environ: dict, body: dict, m: Any) -> tuple[int, Any]:
        with STATE.lock:
            tick()
            return 200, {"modeled_now": STATE.clock.now(), "deployments": [
                {"region": t.region, "id": t.id, "kind": t.kind, "status": t.status,
                 "green_weight": t.green_weight, "new_task_definition": t.new_td,
                 "old_task_definition": t.old_td, "error": t.error,
                 "rollback_info": t.rollback_info,
                 "events": [{"name": e["lifecycleEventName"], "status": e["status"]}
                            for e in t.events]}
                for t in TRACKS.values()]}
