"""Metric alarms evaluate on PutMetricData; every transition is logged with its modeled time;
published SNS messages can be read back."""

import json
import urllib.request


def _alarm(cw, name, **kw):
    args = dict(AlarmName=name, Namespace="Drover/Probe", MetricName="ProbeSuccessRatio",
                Dimensions=[{"Name": "Target", "Value": "us-east-1"}], Statistic="Sum", Period=60,
                EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=3,
                ComparisonOperator="GreaterThanOrEqualToThreshold")
    args.update(kw)
    cw.put_metric_alarm(**args)


def _put(cw, values, name="ProbeSuccessRatio"):
    cw.put_metric_data(Namespace="Drover/Probe", MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": "Target", "Value": "us-east-1"}], "Values": values}])


def _state(cw, name):
    return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def test_alarm_needs_datapoints_to_alarm_breaching_periods(emu):
    cw = emu.client("cloudwatch", "us-west-2")
    _alarm(cw, "probe")
    _put(cw, [5])
    assert _state(cw, "probe") != "ALARM", "one breaching period of two is not enough"
    _put(cw, [1, 1, 1])  # Sum 3 breaches (>= 3)
    assert _state(cw, "probe") == "ALARM"
    _put(cw, [0])
    assert _state(cw, "probe") == "OK", "one of the last two periods breaching: back to OK"
    transitions = emu.control("GET", "alarm-transitions")["transitions"]
    names = [(t["alarm_name"], t["to"]) for t in transitions]
    assert ("probe", "ALARM") in names and names[-1] == ("probe", "OK")
    assert all(isinstance(t["modeled_time"], float) for t in transitions)


def test_only_matching_metric_and_dimensions_count(emu):
    cw = emu.client("cloudwatch", "us-west-2")
    _alarm(cw, "probe", EvaluationPeriods=1, DatapointsToAlarm=1)
    _put(cw, [9], name="Other")
    cw.put_metric_data(Namespace="Drover/Probe", MetricData=[
        {"MetricName": "ProbeSuccessRatio", "Dimensions": [{"Name": "Target", "Value": "eu-west-1"}], "Value": 9}])
    assert _state(cw, "probe") != "ALARM"
    other_region = emu.client("cloudwatch", "us-east-1")
    _alarm(other_region, "probe", EvaluationPeriods=1, DatapointsToAlarm=1)
    _put(cw, [9])
    assert _state(cw, "probe") == "ALARM"
    assert _state(other_region, "probe") != "ALARM", "regions evaluate separately"


def test_gate_alarm_closes_when_the_gate_metric_drops(emu):
    cw = emu.client("cloudwatch", "us-west-2")
    cw.put_metric_alarm(AlarmName="gate", Namespace="Drover/Gate", MetricName="RecordGate",
                        Dimensions=[{"Name": "Record", "Value": "us-east-1"}], Statistic="Minimum",
                        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="LessThanThreshold")
    put = lambda v: cw.put_metric_data(Namespace="Drover/Gate", MetricData=[
        {"MetricName": "RecordGate", "Dimensions": [{"Name": "Record", "Value": "us-east-1"}], "Value": v}])
    put(1)
    assert _state(cw, "gate") == "OK"
    put(0)
    assert _state(cw, "gate") == "ALARM"


def test_published_messages_read_back(emu):
    sns = emu.client("sns", "us-west-2")
    kms = emu.client("kms", "us-west-2")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    arn = sns.create_topic(Name="events", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    sns.publish(TopicArn=arn, Message='{"a": 1}', Subject="subj",
                MessageAttributes={"severity": {"DataType": "String", "StringValue": "critical"}})
    with urllib.request.urlopen(f"{emu.endpoint}/_drover/sns/messages?topic_arn={arn}") as r:
        got = json.loads(r.read())
    assert got["kms_master_key_id"] == key
    [m] = got["messages"]
    assert m["subject"] == "subj" and json.loads(m["message"]) == {"a": 1}
    assert m["attributes"] == {"severity": "critical"}


def test_dns_answer_follows_health_and_fails_open(emu):
    from drover_emulator.seed import seed

    topo = seed(emu.endpoint, "us-east-1", "us-west-2", "shop")
    r53 = topo["regions"][0]["route53"]
    q = f"zone_id={r53['hosted_zone_id']}&name={r53['record_name']}&type=CNAME"

    def answer():
        with urllib.request.urlopen(f"{emu.endpoint}/_drover/dns/answer?{q}") as r:
            return json.loads(r.read())

    a = answer()
    assert [x["set_identifier"] for x in a["answers"]] == ["us-east-1"] and not a["fail_open"]
    hc = {reg["name"]: reg["route53"]["health_check_id"] for reg in topo["regions"]}
    emu.control("POST", f"health-checks/{hc['us-east-1']}", {"status": "unhealthy"})
    a = answer()
    assert [x["set_identifier"] for x in a["answers"]] == ["us-west-2"], "the zero-weight standby answers"
    emu.control("POST", f"health-checks/{hc['us-west-2']}", {"status": "unhealthy"})
    a = answer()
    assert a["fail_open"] and [x["set_identifier"] for x in a["answers"]] == ["us-east-1"]
    # The data plane answers while the control plane's region is down.
    emu.control("POST", "regions/us-east-1/down", {})
    assert answer()["answers"]


def test_clock_advance_to_moves_forward_only(emu):
    now = emu.control("GET", "clock")["modeled_now"]
    after = emu.control("POST", "clock", {"advance_to": now + 60})["modeled_now"]
    assert after >= now + 60
    again = emu.control("POST", "clock", {"advance_to": now + 30})["modeled_now"]
    assert again >= after, "an earlier target does not move the clock back"


def test_wall_clock_times_map_onto_the_modeled_clock_across_jumps(emu):
    import time
    before = time.time()
    m_before = emu.control("GET", "clock")["modeled_now"]
    emu.control("POST", "clock", {"advance": 100})
    after = time.time()
    got = emu.control("POST", "clock/at", {"wall": [before, after]})["modeled"]
    assert abs(got[0] - m_before) < 0.5, (got[0], m_before)
    assert got[1] - got[0] >= 100, got
