"""The modeled-time extensions of moto, installed once on import."""

from __future__ import annotations

from typing import Any

from . import alarm_eval, codedeploy, ecs_rollout, rds_global, route53_changes

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    rds_global.install()
    ecs_rollout.install()
    route53_changes.install()
    alarm_eval.install()
    codedeploy.install()
    _installed = True


def tick(service: str | None = None) -> None:
    if service in (None, "rds"):
        rds_global.tick()
    if service in (None, "ecs"):
        ecs_rollout.tick()
    if service in (None, "codedeploy", "ecs"):  # a deployment changes the ECS service
        codedeploy.tick()


def reset() -> None:
    rds_global.reset()
    ecs_rollout.reset()
    route53_changes.reset()
    alarm_eval.reset()
    codedeploy.reset()


def describe_operations() -> dict[str, Any]:
    from .state import STATE

    with STATE.lock:
        rds_global.tick()
        ecs_rollout.tick()
        return {
            "modeled_now": STATE.clock.now(),
            "operations": rds_global.describe_operations()
            + ecs_rollout.describe_operations()
            + route53_changes.describe_operations()
            + codedeploy.describe_operations(),
        }


install()
