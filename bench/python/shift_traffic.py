"""Baseline shift-traffic (status): is the old primary's gate closed, this region's record
healthy, the weights on this region, the Route 53 change INSYNC? Python 3.11 + boto3, sample style."""
import datetime
import logging

import boto3

from common import REGION, peer_of, region_config

logger = logging.getLogger()
logger.setLevel(logging.INFO)

cloudwatch = boto3.client("cloudwatch", region_name=REGION)
# Route 53 is a global service signed for us-east-1 (what boto3 does without an endpoint override).
route53 = boto3.client("route53", region_name="us-east-1")


def gate_open(gate):
    now = datetime.datetime.now(datetime.timezone.utc)
    resp = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "gate", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": gate["namespace"], "MetricName": gate["metric_name"],
                       "Dimensions": [{"Name": k, "Value": v} for k, v in gate["dimensions"].items()]},
            "Period": 1, "Stat": "Minimum"}}],
        StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(seconds=1))
    points = sorted(zip(resp["MetricDataResults"][0]["Timestamps"], resp["MetricDataResults"][0]["Values"]))
    return points[-1][1] >= 1.0 if points else None


def handler(event, context):
    target, source = region_config(event["to_region"]), peer_of(event["to_region"])
    old_gate_open = gate_open(source["gate"])
    health = route53.get_health_check_status(HealthCheckId=target["route53"]["health_check_id"])
    healthy = all(o["StatusReport"]["Status"].startswith("Success") for o in health["HealthCheckObservations"])
    r53 = target["route53"]
    records = route53.list_resource_record_sets(HostedZoneId=r53["hosted_zone_id"], StartRecordName=r53["record_name"],
                                                StartRecordType=r53["record_type"])["ResourceRecordSets"]
    weights = {r["SetIdentifier"]: r.get("Weight") for r in records
               if r["Name"].rstrip(".") == r53["record_name"].rstrip(".") and "SetIdentifier" in r}
    change_status = None
    if event.get("change_id"):
        change_status = route53.get_change(Id=event["change_id"])["ChangeInfo"]["Status"]
    done = (old_gate_open is False and healthy and weights.get(r53["set_identifier"]) == r53["active_weight"]
            and change_status in (None, "INSYNC"))
    logger.info("shift-traffic status: gate=%s healthy=%s weights=%s change=%s", old_gate_open, healthy, weights, change_status)
    return {"step": "shift-traffic", "run_id": event["run_id"],
            "outcome": {"state": "done" if done else "in_progress", "wait_seconds": 10},
            "detail": {"old_primary_gate_open": old_gate_open, "target_healthy": healthy, "weights": weights,
                       "change_status": change_status}, "writes": []}
