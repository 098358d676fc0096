from __future__ import annotations

import time
import urllib.request

import botocore.exceptions
import pytest


def _code(ei):
    return (ei.value.response["Error"]["Code"],
            ei.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_throttle_per_protocol(emu):
    emu.control("POST", "faults", {"service": "*", "kind": "throttle", "count": None})
    cases = [
        (emu.client("rds", "us-west-2"), "describe_db_clusters", {}, "Throttling"),
        (emu.client("ecs", "us-west-2"), "list_clusters", {}, "ThrottlingException"),
        (emu.client("route53"), "list_hosted_zones", {}, "Throttling"),
        (emu.client("dynamodb", "us-west-2"), "list_tables", {}, "ThrottlingException"),
        (emu.client("sns", "us-west-2"), "list_topics", {}, "Throttling"),
        (emu.client("cloudwatch", "us-west-2"), "describe_alarms", {}, "Throttling"),
    ]
    for client, op, kw, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            getattr(client, op)(**kw)
        assert _code(ei) == (code, 400), op


def test_throttle_is_retried_by_botocore_and_count_is_honoured(emu):
    emu.control("POST", "faults", {"service": "rds", "region": "us-west-2",
                                    "action": "DescribeDBClusters", "kind": "throttle",
                                    "count": 2})
    rds = emu.client("rds", "us-west-2", retries=3)
    assert rds.describe_db_clusters()["DBClusters"] == []
    faults = emu.control("GET", "faults")["faults"]
    assert faults[0]["count"] == 0 and faults[0]["hits"] == 2
    # The other region and other actions are untouched.
    emu.client("rds", "us-east-1").describe_db_clusters()


def test_throttle_code_override(emu):
    emu.control("POST", "faults", {"service": "dynamodb", "action": "PutItem",
                                    "kind": "throttle",
                                    "code": "ProvisionedThroughputExceededException"})
    ddb = emu.client("dynamodb", "us-west-2")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    with pytest.raises(ddb.exceptions.ProvisionedThroughputExceededException) as ei:
        ddb.put_item(TableName="t", Item={"k": {"S": "a"}})
    assert _code(ei) == ("ProvisionedThroughputExceededException", 400)


def test_error5xx(emu):
    fid = emu.control("POST", "faults", {"service": "ecs", "kind": "error5xx"})["id"]
    ecs = emu.client("ecs", "us-east-1")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        ecs.list_clusters()
    assert _code(ei) == ("InternalFailure", 500)
    emu.control("DELETE", f"faults/{fid}")
    emu.control("POST", "faults", {"service": "rds", "kind": "error5xx", "status": 503})
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        emu.client("rds").describe_db_clusters()
    assert _code(ei) == ("ServiceUnavailable", 503)
    emu.control("DELETE", "faults")
    assert emu.control("GET", "faults")["faults"] == []
    ecs.list_clusters()


def test_latency(emu):
    emu.control("POST", "faults", {"service": "ecs", "kind": "latency", "latency_ms": 300,
                                    "count": 1})
    ecs = emu.client("ecs", "us-east-1")
    t0 = time.monotonic()
    ecs.list_clusters()
    slow = time.monotonic() - t0
    t0 = time.monotonic()
    ecs.list_clusters()
    fast = time.monotonic() - t0
    print(f"\nlatency fault: {slow*1000:.0f} ms with 300 ms injected, {fast*1000:.0f} ms after")
    assert slow >= 0.3
    assert fast < 0.3


def test_drop_is_a_connection_error(emu):
    emu.control("POST", "faults", {"service": "sns", "kind": "drop", "count": 1})
    sns = emu.client("sns", "us-east-1")
    with pytest.raises((botocore.exceptions.ConnectionClosedError,
                        botocore.exceptions.EndpointConnectionError,
                        botocore.exceptions.ConnectionError)):
        sns.list_topics()
    sns.list_topics()  # count honoured: the next call works
    calls = emu.control("GET", "calls")["calls"]
    assert calls[0]["fault"] == "drop" and calls[0]["status"] is None
    assert calls[1]["status"] == 200


def test_region_down_drops_and_other_region_works(emu):
    emu.control("POST", "regions/us-east-1/down")
    with pytest.raises((botocore.exceptions.ConnectionClosedError,
                        botocore.exceptions.ConnectionError)):
        emu.client("rds", "us-east-1").describe_db_clusters()
    with pytest.raises((botocore.exceptions.ConnectionClosedError,
                        botocore.exceptions.ConnectionError)):
        emu.client("route53").list_hosted_zones()  # Route 53's control plane is us-east-1
    emu.client("rds", "us-west-2").describe_db_clusters()
    emu.control("POST", "regions/us-east-1/down", {"mode": "error5xx"})
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        emu.client("ecs", "us-east-1").list_clusters()
    assert _code(ei)[1] == 503
    emu.control("POST", "regions/us-east-1/up")
    emu.client("rds", "us-east-1").describe_db_clusters()


def test_call_log_classifies_mutating(emu):
    emu.control("DELETE", "calls")
    rds = emu.client("rds", "us-west-2")
    rds.describe_db_clusters()
    emu.client("ecs", "us-east-1").create_cluster(clusterName="c")
    r53 = emu.client("route53")
    zid = r53.create_hosted_zone(Name="a.example.com", CallerReference="r")["HostedZone"]["Id"]
    r53.list_resource_record_sets(HostedZoneId=zid)
    emu.client("cloudwatch", "us-west-2").put_metric_data(
        Namespace="X", MetricData=[{"MetricName": "m", "Value": 1}])
    calls = emu.control("GET", "calls")["calls"]
    got = [(c["service"], c["region"], c["action"], c["mutating"], c["status"]) for c in calls]
    assert got == [
        ("rds", "us-west-2", "DescribeDBClusters", False, 200),
        ("ecs", "us-east-1", "CreateCluster", True, 200),
        ("route53", "us-east-1", "CreateHostedZone", True, 201),
        ("route53", "us-east-1", "ListResourceRecordSets", False, 200),
        ("monitoring", "us-west-2", "PutMetricData", True, 200),
    ]
    assert all(c["modeled_time"] >= c["real_time"] - 1 for c in calls)
    emu.control("DELETE", "calls")
    assert emu.control("GET", "calls")["calls"] == []


def test_control_api_errors(emu):
    req = urllib.request.Request(f"{emu.endpoint}/_drover/faults", data=b'{"kind":"nope"}',
                                 method="POST")
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req)
    assert ei.value.code == 400
    assert emu.control("POST", "durations", {"aurora_failover": 5})["aurora_failover"] == 5
    c = emu.control("POST", "clock", {"speed": 10})
    assert c["speed"] == 10
    c2 = emu.control("POST", "clock", {"advance": 100})
    assert c2["modeled_now"] >= c["modeled_now"] + 100
