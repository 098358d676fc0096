"""Create drover's whole two-region topology in a running emulator (through the AWS
APIs, with boto3) and return the topology config (docs/topology.example.json schema).

The seed ends in a steady state: ECS services running at their desired counts and
Route 53 changes INSYNC (it advances the modeled clock past the longest duration)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
import boto3.session
from botocore.config import Config

CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
ACTIVE_DESIRED = 4
STANDBY_DESIRED = 1


def region_short(region: str) -> str:
    """us-east-1 -> use1, us-west-2 -> usw2, eu-central-1 -> euc1."""
    parts = region.split("-")
    if len(parts) < 3:
        return region.replace("-", "")
    return parts[0] + "".join(p[0] for p in parts[1:-1]) + parts[-1]


def _control(endpoint: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{endpoint}/_drover/{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def seed(endpoint: str, primary: str = "us-east-1", standby: str = "us-west-2",
         app: str = "shop") -> dict[str, Any]:
    """Seed the emulator and return the topology config."""
    return seed_full(endpoint, primary, standby, app)[0]


def seed_full(endpoint: str, primary: str = "us-east-1", standby: str = "us-west-2",
              app: str = "shop") -> tuple[dict[str, Any], dict[str, Any]]:
    """Seed the emulator; return (topology config, extra ids the schema has no place
    for: per region the SQS queue subscribed to the events topic, the target group)."""
    endpoint = endpoint.rstrip("/")
    cfg = Config(retries={"total_max_attempts": 5, "mode": "standard"})

    session = boto3.session.Session()
    clients: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        # Client creation dominates the seed's run time: make each one once.
        key = (service, region)
        if key not in clients:
            clients[key] = session.client(service, region_name=region, endpoint_url=endpoint,
                                          config=cfg, **CREDS)
        return clients[key]

    regions = [primary, standby]
    other = {primary: standby, standby: primary}
    gid = f"{app}-global"
    zone_name = f"{app}.example.com"
    record_name = f"app.{zone_name}"
    topic_name = f"drover-{app}-events"
    lease_table = f"drover-{app}-lease"

    # Aurora PostgreSQL global database: writer in the primary, reader in the standby.
    client("rds", primary).create_global_cluster(
        GlobalClusterIdentifier=gid, Engine="aurora-postgresql", EngineVersion="16.4",
        StorageEncrypted=True)
    aurora: dict[str, dict[str, str]] = {}
    for region in regions:
        cid = f"{app}-{region_short(region)}"
        kwargs: dict[str, Any] = dict(
            DBClusterIdentifier=cid, Engine="aurora-postgresql", EngineVersion="16.4",
            GlobalClusterIdentifier=gid, StorageEncrypted=True)
        if region == primary:
            kwargs.update(MasterUsername="drover", MasterUserPassword="not-a-real-secret-1")
        arn = client("rds", region).create_db_cluster(**kwargs)["DBCluster"]["DBClusterArn"]
        client("rds", region).create_db_instance(
            DBInstanceIdentifier=f"{cid}-1", DBClusterIdentifier=cid,
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
        aurora[region] = {"global_cluster_id": gid, "cluster_id": cid, "cluster_arn": arn}

    out_regions: dict[str, dict[str, Any]] = {}
    for region in regions:
        short = region_short(region)
        name = f"{app}-{short}"

        # Network and ALB.
        ec2 = client("ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                              AvailabilityZone=f"{region}{az}")["Subnet"]["SubnetId"]
            for i, az in enumerate("ab")
        ]
        sg = ec2.create_security_group(GroupName=f"{name}-web", Description="web",
                                       VpcId=vpc)["GroupId"]
        elb = client("elbv2", region)
        lb = elb.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[sg],
                                      Scheme="internet-facing", Type="application")[
            "LoadBalancers"][0]
        tg = elb.create_target_group(Name=f"{name}-web", Protocol="HTTP", Port=8080,
                                     VpcId=vpc, TargetType="ip",
                                     HealthCheckPath="/healthz")["TargetGroups"][0]
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward",
                                             "TargetGroupArn": tg["TargetGroupArn"]}])

        # ECS Fargate service.
        ecs = client("ecs", region)
        ecs.create_cluster(clusterName=name)
        ecs.register_task_definition(
            family=f"{app}-web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
            cpu="512", memory="1024",
            containerDefinitions=[{"name": "web", "image": f"{app}/web:seed",
                                   "essential": True,
                                   "portMappings": [{"containerPort": 8080}]}])
        ecs.create_service(
            cluster=name, serviceName="web", taskDefinition=f"{app}-web",
            desiredCount=ACTIVE_DESIRED if region == primary else STANDBY_DESIRED,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": subnets, "securityGroups": [sg], "assignPublicIp": "DISABLED"}},
            loadBalancers=[{"targetGroupArn": tg["TargetGroupArn"], "containerName": "web",
                            "containerPort": 8080}])

        # Events: KMS-encrypted SNS topic with an SQS tap (raw delivery off).
        key_arn = client("kms", region).create_key(
            Description=f"drover {app} events")["KeyMetadata"]["Arn"]
        sns = client("sns", region)
        topic = sns.create_topic(Name=topic_name,
                                 Attributes={"KmsMasterKeyId": key_arn})["TopicArn"]
        sqs = client("sqs", region)
        qurl = sqs.create_queue(QueueName=f"{topic_name}-tap")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=qurl, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                      Attributes={"RawMessageDelivery": "false"})

        # Lease table.
        client("dynamodb", region).create_table(
            TableName=lease_table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "lease_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lease_id", "KeyType": "HASH"}])

        # A placeholder failover state machine so the config carries a real ARN.
        sfn_arn = client("stepfunctions", region).create_state_machine(
            name=f"drover-{app}-failover",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::123456789012:role/drover-{app}-sfn")["stateMachineArn"]

        out_regions[region] = {
            "name": region,
            "aurora": [aurora[region]],
            "ecs": [{"cluster": name, "service": "web",
                     "active_desired_count": ACTIVE_DESIRED,
                     "standby_desired_count": STANDBY_DESIRED}],
            "alb": {"arn": lb["LoadBalancerArn"], "dns_name": lb["DNSName"],
                    "health_url": f"https://{lb['DNSName']}/healthz"},
            "sns": {"topic_arn": topic, "kms_key_id": key_arn},
            "lease_table": lease_table,
            "state_machine_arn": sfn_arn,
            "_tap_queue_url": qurl,
            "_target_group_arn": tg["TargetGroupArn"],
        }

    # Alarms: probes run in the other region; ALB 5xx in the region itself; the
    # traffic gate of a region's record is published from the other region (the one
    # that takes over), and created in both so either side can read it.
    signals = []
    for region in regions:
        lb_dim = out_regions[region]["alb"]["arn"].split(":loadbalancer/")[-1]
        cw_self = client("cloudwatch", region)
        cw_other = client("cloudwatch", other[region])
        probe = f"drover-{app}-probe-{region}"
        cw_other.put_metric_alarm(
            AlarmName=probe, Namespace="Drover/Probe", MetricName="ProbeSuccessRatio",
            Dimensions=[{"Name": "Application", "Value": app},
                        {"Name": "Target", "Value": region}],
            Statistic="Average", Period=10, EvaluationPeriods=3, DatapointsToAlarm=3,
            Threshold=0.5, ComparisonOperator="LessThanThreshold",
            TreatMissingData="notBreaching")
        alb5xx = f"drover-{app}-alb-5xx-{region}"
        cw_self.put_metric_alarm(
            AlarmName=alb5xx, Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_ELB_5XX_Count",
            Dimensions=[{"Name": "LoadBalancer", "Value": lb_dim}],
            Statistic="Sum", Period=60, EvaluationPeriods=3, Threshold=50,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")
        gate = f"drover-{app}-gate-{region}"
        for cw in (cw_other, cw_self):
            cw.put_metric_alarm(
                AlarmName=gate, Namespace="Drover/Gate", MetricName="RecordGate",
                Dimensions=[{"Name": "Application", "Value": app},
                            {"Name": "Record", "Value": region}],
                Statistic="Minimum", Period=60, EvaluationPeriods=1, Threshold=1,
                ComparisonOperator="LessThanThreshold",
                TreatMissingData="notBreaching")
            cw.set_alarm_state(AlarmName=gate, StateValue="OK", StateReason="seeded open")
        for cw, name in ((cw_other, probe), (cw_self, alb5xx)):
            cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="seeded healthy")
        out_regions[region]["gate"] = {
            "namespace": "Drover/Gate", "metric_name": "RecordGate",
            "dimensions": {"Application": app, "Record": region},
            "alarm_name": gate,
        }
        signals.append({"alarm_name": probe, "region": other[region], "watches": region,
                        "group": "probe"})
        signals.append({"alarm_name": alb5xx, "region": region, "watches": region,
                        "group": "alb"})

    # Route 53: one zone, weighted CNAMEs with set identifier = region, each with a
    # CLOUDWATCH_METRIC health check on its gate alarm (published in the other region).
    r53 = client("route53", "us-east-1")
    zone_id = r53.create_hosted_zone(Name=zone_name, CallerReference=f"drover-{app}-zone")[
        "HostedZone"]["Id"].split("/")[-1]
    changes = []
    for region in regions:
        hc_id = r53.create_health_check(
            CallerReference=f"drover-{app}-gate-{region}",
            HealthCheckConfig={
                "Type": "CLOUDWATCH_METRIC",
                "AlarmIdentifier": {"Region": other[region],
                                    "Name": f"drover-{app}-gate-{region}"},
                "InsufficientDataHealthStatus": "LastKnownStatus",
            })["HealthCheck"]["Id"]
        weight = 100 if region == primary else 0
        changes.append({"Action": "UPSERT", "ResourceRecordSet": {
            "Name": record_name, "Type": "CNAME", "SetIdentifier": region, "Weight": weight,
            "TTL": 60, "HealthCheckId": hc_id,
            "ResourceRecords": [{"Value": out_regions[region]["alb"]["dns_name"]}]}})
        out_regions[region]["route53"] = {
            "hosted_zone_id": zone_id, "record_name": record_name, "record_type": "CNAME",
            "set_identifier": region, "health_check_id": hc_id,
            "active_weight": 100, "standby_weight": 0,
        }
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
        "Comment": "drover seed", "Changes": changes})

    # Replication lag evidence for the secondary.
    _control(endpoint, "POST", "replication-lag", {
        "region": standby, "cluster_id": aurora[standby]["cluster_id"], "lag_ms": 200})

    # Settle: tasks running, DNS change INSYNC.
    durations = _control(endpoint, "GET", "durations")
    _control(endpoint, "POST", "clock", {"advance": max(durations.values()) + 1})

    key_order = ["name", "aurora", "ecs", "alb", "route53", "gate", "sns", "lease_table",
                 "state_machine_arn"]
    topology = {
        "schema_version": 1,
        "application": app,
        "regions": [{k: out_regions[r][k] for k in key_order} for r in regions],
        "objectives": {"rto_seconds": 900, "rpo_seconds": 60},
        "policy": {
            "quorum": 2,
            "signals": signals,
            "cooldown_seconds": 3600,
            "lease_ttl_seconds": 1800,
            "allow_detach_promote": False,
            "fence_old_primary": False,
            "approval_required": [],
        },
    }
    extras = {r: {"events_tap_queue_url": out_regions[r]["_tap_queue_url"],
                  "target_group_arn": out_regions[r]["_target_group_arn"]} for r in regions}
    return topology, extras
