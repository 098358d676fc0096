from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drover_emulator.seed import seed_full

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "docs" / "topology.example.json"


def shape(x):
    if isinstance(x, dict):
        return {k: shape(v) for k, v in x.items()}
    if isinstance(x, list):
        return [shape(x[0])] if x else []
    return type(x).__name__


def test_seed_matches_schema_and_is_live(emu):
    topo, ids = seed_full(emu.endpoint)
    example = json.loads(EXAMPLE.read_text())
    assert shape(topo) == shape(example)
    assert list(topo) == list(example)
    assert [list(r) for r in topo["regions"]] == [list(r) for r in example["regions"]]
    use1, usw2 = topo["regions"]

    gc = emu.client("rds", "us-west-2").describe_global_clusters(
        GlobalClusterIdentifier="shop-global")["GlobalClusters"][0]
    writers = {m["DBClusterArn"]: m["IsWriter"] for m in gc["GlobalClusterMembers"]}
    assert writers == {use1["aurora"][0]["cluster_arn"]: True,
                       usw2["aurora"][0]["cluster_arn"]: False}

    for region, running in (("us-east-1", 4), ("us-west-2", 1)):
        r = next(x for x in topo["regions"] if x["name"] == region)
        svc = emu.client("ecs", region).describe_services(
            cluster=r["ecs"][0]["cluster"], services=["web"])["services"][0]
        assert (svc["runningCount"], svc["deployments"][0]["rolloutState"]) == (
            running, "COMPLETED")

    r53 = emu.client("route53")
    rrs = r53.list_resource_record_sets(HostedZoneId=use1["route53"]["hosted_zone_id"])
    weights = {r["SetIdentifier"]: (r["Weight"], r["HealthCheckId"])
               for r in rrs["ResourceRecordSets"] if r.get("SetIdentifier")}
    assert weights == {"us-east-1": (100, use1["route53"]["health_check_id"]),
                       "us-west-2": (0, usw2["route53"]["health_check_id"])}

    # The gate: closing drover-shop-gate-us-east-1 (published in us-west-2) makes the
    # CLOUDWATCH_METRIC health check on us-east-1's record fail.
    hc = use1["route53"]["health_check_id"]

    def hc_status():
        obs = r53.get_health_check_status(HealthCheckId=hc)["HealthCheckObservations"]
        return {o["StatusReport"]["Status"].split(":")[0] for o in obs}

    assert hc_status() == {"Success"}
    emu.client("cloudwatch", "us-west-2").set_alarm_state(
        AlarmName=use1["gate"]["alarm_name"], StateValue="ALARM", StateReason="gate closed")
    assert hc_status() == {"Failure"}
    cfg = r53.get_health_check(HealthCheckId=hc)["HealthCheck"]["HealthCheckConfig"]
    assert cfg["AlarmIdentifier"] == {"Region": "us-west-2", "Name": use1["gate"]["alarm_name"]}

    # Every signal alarm exists where the topology says.
    for sig in topo["policy"]["signals"]:
        alarms = emu.client("cloudwatch", sig["region"]).describe_alarms(
            AlarmNames=[sig["alarm_name"]])["MetricAlarms"]
        assert len(alarms) == 1, sig

    # Events reach the SQS tap through the KMS-encrypted topic.
    sns = emu.client("sns", "us-west-2")
    assert sns.get_topic_attributes(TopicArn=usw2["sns"]["topic_arn"])["Attributes"][
        "KmsMasterKeyId"] == usw2["sns"]["kms_key_id"]
    sns.publish(TopicArn=usw2["sns"]["topic_arn"], Message='{"hello": 1}')
    sqs = emu.client("sqs", "us-west-2")
    msgs = sqs.receive_message(QueueUrl=ids["us-west-2"]["events_tap_queue_url"],
                               WaitTimeSeconds=1)["Messages"]
    assert json.loads(msgs[0]["Body"])["Message"] == '{"hello": 1}'

    ddb = emu.client("dynamodb", "us-west-2")
    table = ddb.describe_table(TableName=usw2["lease_table"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "lease_id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_seed_cli(emu, tmp_path):
    out = tmp_path / "topology.json"
    env_path = str(Path(__file__).resolve().parents[1])
    res = subprocess.run(
        [sys.executable, "-m", "drover_emulator", "seed", "--endpoint", emu.endpoint,
         "--out", str(out), "--primary", "us-west-2", "--standby", "us-east-1",
         "--app", "cart"],
        cwd=env_path, capture_output=True, text=True, timeout=60, check=True)
    printed = json.loads(res.stdout.strip().splitlines()[-1])
    assert printed["out"] == str(out)
    topo = json.loads(out.read_text())
    assert topo["application"] == "cart"
    assert [r["name"] for r in topo["regions"]] == ["us-west-2", "us-east-1"]
    assert topo["regions"][0]["aurora"][0]["cluster_id"] == "cart-usw2"
    assert topo["regions"][0]["route53"]["record_name"] == "app.cart.example.com"
