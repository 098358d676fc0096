from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import botocore.exceptions
import pytest

from helpers import make_global


def _ecs_service(emu, region="us-west-2", desired=1):
    ecs = emu.client("ecs", region)
    ecs.create_cluster(clusterName="shop-usw2")
    ecs.register_task_definition(
        family="web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": "nginx", "essential": True}])
    ecs.create_service(cluster="shop-usw2", serviceName="web", taskDefinition="web",
                       desiredCount=desired, launchType="FARGATE")
    return ecs


def _svc(ecs):
    return ecs.describe_services(cluster="shop-usw2", services=["web"])["services"][0]


def test_ecs_running_count_climbs_in_modeled_time(emu):
    ecs = _ecs_service(emu)
    s = _svc(ecs)
    assert (s["runningCount"], s["pendingCount"]) == (0, 1)
    assert s["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    emu.control("POST", "clock", {"advance": 61})
    s = _svc(ecs)
    assert (s["runningCount"], s["pendingCount"]) == (1, 0)
    assert s["deployments"][0]["rolloutState"] == "COMPLETED"
    dep_id = s["deployments"][0]["id"]

    s = ecs.update_service(cluster="shop-usw2", service="web", desiredCount=4)["service"]
    assert (s["desiredCount"], s["runningCount"], s["pendingCount"]) == (4, 1, 3)
    s = _svc(ecs)
    assert len(s["deployments"]) == 1
    primary = s["deployments"][0]
    assert primary["status"] == "PRIMARY" and primary["rolloutState"] == "IN_PROGRESS"
    assert primary["id"] == dep_id
    emu.control("POST", "clock", {"advance": 30})
    assert _svc(ecs)["runningCount"] == 1
    emu.control("POST", "clock", {"advance": 31})
    s = _svc(ecs)
    assert (s["runningCount"], s["pendingCount"]) == (4, 0)
    assert s["deployments"][0]["rolloutState"] == "COMPLETED"

    # Same desired count: nothing new.
    ecs.update_service(cluster="shop-usw2", service="web", desiredCount=4)
    s = _svc(ecs)
    assert [d["id"] for d in s["deployments"]] == [dep_id]
    assert s["deployments"][0]["rolloutState"] == "COMPLETED"

    # Scale-in is immediate.
    ecs.update_service(cluster="shop-usw2", service="web", desiredCount=1)
    s = _svc(ecs)
    assert (s["runningCount"], s["pendingCount"]) == (1, 0)


def test_ecs_force_new_deployment(emu):
    ecs = _ecs_service(emu, desired=2)
    emu.control("POST", "clock", {"advance": 61})
    old = _svc(ecs)["deployments"][0]["id"]
    ecs.update_service(cluster="shop-usw2", service="web", forceNewDeployment=True)
    s = _svc(ecs)
    assert [d["status"] for d in s["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert s["deployments"][1]["id"] == old and s["runningCount"] == 2
    emu.control("POST", "clock", {"advance": 61})
    s = _svc(ecs)
    assert [d["status"] for d in s["deployments"]] == ["PRIMARY"]
    assert s["deployments"][0]["id"] != old
    assert s["deployments"][0]["rolloutState"] == "COMPLETED"


def _zone(emu):
    r53 = emu.client("route53")
    zid = r53.create_hosted_zone(Name="shop.example.com", CallerReference="x")["HostedZone"]["Id"]
    return r53, zid


def _upsert(r53, zid, weight):
    return r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": "app.shop.example.com", "Type": "CNAME", "SetIdentifier": "us-east-1",
            "Weight": weight, "TTL": 60,
            "ResourceRecords": [{"Value": "a.example.com"}]}}]})["ChangeInfo"]


def test_route53_change_pending_then_insync_with_unique_ids(emu):
    r53, zid = _zone(emu)
    c1 = _upsert(r53, zid, 100)
    c2 = _upsert(r53, zid, 0)
    assert c1["Status"] == "PENDING" and c2["Status"] == "PENDING"
    assert c1["Id"] != c2["Id"] and c1["Id"].startswith("/change/C")
    assert r53.get_change(Id=c1["Id"])["ChangeInfo"]["Status"] == "PENDING"
    emu.control("POST", "clock", {"advance": 61})
    assert r53.get_change(Id=c1["Id"])["ChangeInfo"]["Status"] == "INSYNC"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        r53.get_change(Id="/change/CNOTHERE")
    assert ei.value.response["Error"]["Code"] == "NoSuchChange"
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    rrs = r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
    assert [r["Weight"] for r in rrs if r.get("SetIdentifier") == "us-east-1"] == [0]


def test_health_check_control(emu):
    r53 = emu.client("route53")
    hc = r53.create_health_check(CallerReference="hc1", HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": "x.example.com", "Port": 443,
        "ResourcePath": "/healthz"})["HealthCheck"]["Id"]

    def statuses():
        obs = r53.get_health_check_status(HealthCheckId=hc)["HealthCheckObservations"]
        return {o["StatusReport"]["Status"].split(":")[0] for o in obs}

    assert statuses() == {"Success"}
    emu.control("POST", f"health-checks/{hc}", {"status": "unhealthy"})
    assert statuses() == {"Failure"}
    emu.control("POST", f"health-checks/{hc}", {"status": "healthy"})
    assert statuses() == {"Success"}


def test_alarm_control(emu):
    cw = emu.client("cloudwatch", "us-west-2")
    cw.put_metric_alarm(AlarmName="drover-shop-probe-us-east-1", Namespace="Drover/Probe",
                        MetricName="Failures", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    emu.control("POST", "alarms", {"region": "us-west-2",
                                    "alarm_name": "drover-shop-probe-us-east-1",
                                    "state": "ALARM", "reason": "probe failed"})
    a = cw.describe_alarms(AlarmNames=["drover-shop-probe-us-east-1"])["MetricAlarms"][0]
    assert a["StateValue"] == "ALARM" and a["StateReason"] == "probe failed"


def test_replication_lag_datapoints(emu):
    emu.control("POST", "replication-lag", {"region": "us-west-2", "cluster_id": "shop-usw2",
                                             "lag_ms": 250})
    cw = emu.client("cloudwatch", "us-west-2")
    now = datetime.now(timezone.utc)
    res = cw.get_metric_data(
        MetricDataQueries=[{"Id": "lag", "MetricStat": {"Metric": {
            "Namespace": "AWS/RDS", "MetricName": name,
            "Dimensions": [{"Name": "DBClusterIdentifier", "Value": "shop-usw2"}]},
            "Period": 60, "Stat": "Maximum"}}
            for name in ["AuroraGlobalDBReplicationLag"]],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1))
    assert res["MetricDataResults"][0]["Values"] == [250.0]
    stats = cw.get_metric_statistics(
        Namespace="AWS/RDS", MetricName="AuroraGlobalDBRPOLag",
        Dimensions=[{"Name": "DBClusterIdentifier", "Value": "shop-usw2"}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1),
        Period=60, Statistics=["Maximum"])
    assert [d["Maximum"] for d in stats["Datapoints"]] == [250.0]


def test_modeled_time_accuracy(emu):
    """At speed 60 a modeled 60 s failover completes after about 1 s real."""
    pa, sa = make_global(emu)
    emu.control("POST", "clock", {"speed": 60})
    rds = emu.client("rds", "us-west-2")
    c0 = emu.control("GET", "clock")["modeled_now"]
    t0 = time.monotonic()
    rds.failover_global_cluster(GlobalClusterIdentifier="shop-global",
                                TargetDbClusterIdentifier=sa, AllowDataLoss=True)
    while True:
        gc = rds.describe_global_clusters(GlobalClusterIdentifier="shop-global")
        if "FailoverState" not in gc["GlobalClusters"][0]:
            break
        assert time.monotonic() - t0 < 10, "failover never completed"
        time.sleep(0.02)
    real = time.monotonic() - t0
    modeled = emu.control("GET", "clock")["modeled_now"] - c0
    print(f"\nmodeled-time accuracy: speed=60 aurora_failover=60s modeled; "
          f"observed {modeled:.2f} modeled s in {real:.3f} real s "
          f"(ideal 1.000 s)")
    assert 60 <= modeled <= 60 + 30
    assert 0.9 <= real <= 3.0
