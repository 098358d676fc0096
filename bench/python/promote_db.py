"""Baseline promote-db (status): is this region's Aurora cluster the writer of its global
cluster, and what was the replication lag? Python 3.11 + boto3, sample style."""
import datetime
import logging

import boto3

from common import REGION, region_config

logger = logging.getLogger()
logger.setLevel(logging.INFO)

rds = boto3.client("rds", region_name=REGION)
cloudwatch = boto3.client("cloudwatch", region_name=REGION)


def replication_lag_ms(cluster_id):
    now = datetime.datetime.now(datetime.timezone.utc)
    queries = [{
        "Id": f"m{i}",
        "MetricStat": {"Metric": {"Namespace": "AWS/RDS", "MetricName": name,
                                  "Dimensions": [{"Name": "DBClusterIdentifier", "Value": cluster_id}]},
                       "Period": 60, "Stat": "Maximum"},
        "ReturnData": True,
    } for i, name in enumerate(["AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"])]
    resp = cloudwatch.get_metric_data(MetricDataQueries=queries,
                                      StartTime=now - datetime.timedelta(minutes=5), EndTime=now)
    for result in resp["MetricDataResults"]:
        if result["Values"]:
            return max(result["Values"])
    return None


def handler(event, context):
    target = region_config(event["to_region"])
    clusters, done = [], True
    for c in target["aurora"]:
        g = rds.describe_global_clusters(GlobalClusterIdentifier=c["global_cluster_id"])["GlobalClusters"][0]
        cluster = rds.describe_db_clusters(DBClusterIdentifier=c["cluster_id"])["DBClusters"][0]
        writer = next((m["DBClusterArn"] for m in g["GlobalClusterMembers"] if m.get("IsWriter")), None)
        ok = writer == c["cluster_arn"] and cluster["Status"] == "available" and g["Status"] == "available"
        # The lag matters only before promotion (the RPO evidence).
        lag = None if writer == c["cluster_arn"] else replication_lag_ms(c["cluster_id"])
        done = done and ok
        clusters.append({"cluster_id": c["cluster_id"], "writer": writer, "global_status": g["Status"],
                         "cluster_status": cluster["Status"], "replication_lag_ms": lag,
                         "failover_state": g.get("FailoverState")})
    logger.info("promote-db status: %s", clusters)
    state = "done" if done else "in_progress"
    return {"step": "promote-db", "run_id": event["run_id"], "outcome": {"state": state, "wait_seconds": 10},
            "detail": {"clusters": clusters}, "writes": []}
