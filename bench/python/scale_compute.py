"""Baseline scale-compute (status): are this region's ECS services at their active count
and steady? Python 3.11 + boto3, sample style."""
import logging

import boto3

from common import REGION, region_config

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ecs = boto3.client("ecs", region_name=REGION)
autoscaling = boto3.client("application-autoscaling", region_name=REGION)


def handler(event, context):
    target = region_config(event["to_region"])
    services, done = [], True
    for s in target["ecs"]:
        svc = ecs.describe_services(cluster=s["cluster"], services=[s["service"]])["services"][0]
        scalable = autoscaling.describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[f"service/{s['cluster']}/{s['service']}"],
            ScalableDimension="ecs:service:DesiredCount")["ScalableTargets"]
        primary = next((d for d in svc["deployments"] if d["status"] == "PRIMARY"), {})
        steady = (svc["desiredCount"] >= s["active_desired_count"]
                  and svc["runningCount"] == svc["desiredCount"]
                  and primary.get("rolloutState", "COMPLETED") == "COMPLETED")
        done = done and steady
        services.append({"service": s["service"], "desired": svc["desiredCount"], "running": svc["runningCount"],
                         "min_capacity": scalable[0]["MinCapacity"] if scalable else None})
    logger.info("scale-compute status: %s", services)
    return {"step": "scale-compute", "run_id": event["run_id"],
            "outcome": {"state": "done" if done else "in_progress", "wait_seconds": 15},
            "detail": {"services": services}, "writes": []}
