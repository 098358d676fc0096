"""Facts of the seeded emulator that set the physical floor of the RTO.

`python floor_facts.py ENDPOINT REGION ALARM PRIMARY` prints JSON: the probe alarm's period
and evaluation periods (detection time) and the TTL of the primary's weighted record.
"""
import json
import sys

import boto3

endpoint, region, alarm_name, primary = sys.argv[1:5]
kw = dict(endpoint_url=endpoint, aws_access_key_id="AKIDDROVERTEST",
          aws_secret_access_key="drover-test-secret")
alarm = boto3.client("cloudwatch", region_name=region, **kw).describe_alarms(
    AlarmNames=[alarm_name])["MetricAlarms"][0]
r53 = boto3.client("route53", region_name="us-east-1", **kw)
ttl = None
for zone in r53.list_hosted_zones()["HostedZones"]:
    for rr in r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]:
        if rr.get("SetIdentifier") == primary:
            ttl = rr.get("TTL")
print(json.dumps({"alarm": {"name": alarm_name, "period": alarm["Period"],
                            "evaluation_periods": alarm["EvaluationPeriods"],
                            "datapoints_to_alarm": alarm.get("DatapointsToAlarm")},
                  "ttl": ttl}))
