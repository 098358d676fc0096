"""The CloudWatch rpc-v2-cbor bridge, driven by hand-made CBOR requests exactly as
aws-sdk-cloudwatch >= 1.100 sends them."""

from __future__ import annotations

import gzip
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import cbor2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def cbor_call(emu, op: str, payload: dict, region: str = "us-west-2", gzipped=False):
    url = f"{emu.endpoint}/service/GraniteServiceVersion20100801/operation/{op}"
    body = cbor2.dumps(payload, datetime_as_timestamp=True, timezone=timezone.utc)
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
               "Accept": "application/cbor"}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    req = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(Credentials("testing", "testing"), "monitoring", region).add_auth(req)
    http = urllib.request.Request(url, data=body, method="POST", headers=dict(req.headers))
    try:
        with urllib.request.urlopen(http, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def has_epoch_tag(raw: bytes) -> bool:
    """Timestamps must be CBOR tag 1 with a float (0xC1 0xFB: aws-smithy-cbor reads the
    epoch seconds with f64(), which refuses integers), not tag 0 (an RFC 3339 string)."""
    return any(raw[i] == 0xC1 and raw[i + 1] == 0xFB
               for i in range(len(raw) - 1))


def test_put_then_get_metric_data_round_trip(emu):
    now = int(time.time())
    status, headers, raw = cbor_call(emu, "PutMetricData", {
        "Namespace": "Drover/Gate",
        "MetricData": [{
            "MetricName": "RecordGate", "Value": 1.0, "Unit": "Count",
            "Timestamp": datetime.fromtimestamp(now, tz=timezone.utc),
            "Dimensions": [{"Name": "Application", "Value": "shop"},
                           {"Name": "Record", "Value": "us-east-1"}],
        }],
    }, gzipped=True)
    assert status == 200, raw
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    assert headers["Content-Type"] == "application/cbor"
    assert cbor2.loads(raw) == {}

    status, headers, raw = cbor_call(emu, "GetMetricData", {
        "MetricDataQueries": [{"Id": "gate", "MetricStat": {
            "Metric": {"Namespace": "Drover/Gate", "MetricName": "RecordGate",
                       "Dimensions": [{"Name": "Application", "Value": "shop"},
                                      {"Name": "Record", "Value": "us-east-1"}]},
            "Period": 60, "Stat": "Maximum"}}],
        "StartTime": cbor2.CBORTag(1, now - 600),
        "EndTime": cbor2.CBORTag(1, now + 60),
    })
    assert status == 200, raw
    out = cbor2.loads(raw)
    result = out["MetricDataResults"][0]
    assert result["Id"] == "gate" and result["StatusCode"] == "Complete"
    assert result["Values"] == [1.0]
    ts = result["Timestamps"][0]
    assert isinstance(ts, datetime) and abs(ts.timestamp() - now) < 120
    assert has_epoch_tag(raw)
    assert headers["smithy-protocol"] == "rpc-v2-cbor"

    # The same data through boto3 (awsJson) agrees.
    cw = emu.client("cloudwatch", "us-west-2")
    stats = cw.get_metric_statistics(
        Namespace="Drover/Gate", MetricName="RecordGate",
        Dimensions=[{"Name": "Application", "Value": "shop"},
                    {"Name": "Record", "Value": "us-east-1"}],
        StartTime=datetime.fromtimestamp(now - 600, tz=timezone.utc),
        EndTime=datetime.fromtimestamp(now + 60, tz=timezone.utc),
        Period=60, Statistics=["Maximum"])
    assert [d["Maximum"] for d in stats["Datapoints"]] == [1.0]


def test_alarm_operations(emu):
    status, _, raw = cbor_call(emu, "PutMetricAlarm", {
        "AlarmName": "drover-shop-gate-us-east-1", "Namespace": "Drover/Gate",
        "MetricName": "RecordGate", "Statistic": "Maximum", "Period": 60,
        "EvaluationPeriods": 1, "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Dimensions": [{"Name": "Record", "Value": "us-east-1"}]})
    assert status == 200 and cbor2.loads(raw) == {}
    status, _, raw = cbor_call(emu, "SetAlarmState", {
        "AlarmName": "drover-shop-gate-us-east-1", "StateValue": "ALARM",
        "StateReason": "gate closed"})
    assert status == 200 and cbor2.loads(raw) == {}
    status, _, raw = cbor_call(emu, "DescribeAlarms", {
        "AlarmNames": ["drover-shop-gate-us-east-1"]})
    out = cbor2.loads(raw)
    alarm = out["MetricAlarms"][0]
    assert alarm["AlarmName"] == "drover-shop-gate-us-east-1"
    assert alarm["StateValue"] == "ALARM" and alarm["StateReason"] == "gate closed"
    assert alarm["Threshold"] == 1.0 and alarm["EvaluationPeriods"] == 1
    assert isinstance(alarm["StateUpdatedTimestamp"], datetime) and has_epoch_tag(raw)
    status, _, raw = cbor_call(emu, "GetMetricStatistics", {
        "Namespace": "Drover/Gate", "MetricName": "RecordGate",
        "StartTime": cbor2.CBORTag(1, time.time() - 600),
        "EndTime": cbor2.CBORTag(1, time.time()), "Period": 60, "Statistics": ["Sum"]})
    assert status == 200 and cbor2.loads(raw)["Datapoints"] == []
    status, _, raw = cbor_call(emu, "DeleteAlarms", {
        "AlarmNames": ["drover-shop-gate-us-east-1"]})
    assert status == 200
    status, _, raw = cbor_call(emu, "DescribeAlarms", {})
    assert cbor2.loads(raw)["MetricAlarms"] == []


def test_errors_are_cbor(emu):
    status, headers, raw = cbor_call(emu, "SetAlarmState", {
        "AlarmName": "missing", "StateValue": "ALARM", "StateReason": "x"})
    assert status == 404 or status == 400
    err = cbor2.loads(raw)
    assert err["__type"].endswith("#ResourceNotFound")
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    assert headers["x-amzn-query-error"].startswith("ResourceNotFound;")

    emu.control("POST", "faults", {"service": "monitoring", "kind": "throttle", "count": 1})
    status, headers, raw = cbor_call(emu, "DescribeAlarms", {})
    assert status == 400
    assert cbor2.loads(raw)["__type"] == "com.amazonaws.cloudwatch#Throttling"
    assert headers["x-amzn-query-error"] == "Throttling;Sender"
    calls = emu.control("GET", "calls")["calls"]
    assert (calls[-1]["service"], calls[-1]["action"], calls[-1]["mutating"]) == (
        "monitoring", "DescribeAlarms", False)
