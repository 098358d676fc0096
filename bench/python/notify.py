"""Baseline notify: publish the run's report to the region's KMS-encrypted SNS topic.
Python 3.11 + boto3, sample style."""
import datetime
import json
import logging

import boto3

from common import REGION, region_config

logger = logging.getLogger()
logger.setLevel(logging.INFO)

sns = boto3.client("sns", region_name=REGION)


def handler(event, context):
    topic_arn = region_config(REGION)["sns"]["topic_arn"]
    # The report says whether the topic is encrypted (the KMS key, as evidence).
    kms_key = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"].get("KmsMasterKeyId")
    steps = [{"step": r.get("step"), "state": r.get("outcome", {}).get("state"), "elapsed_ms": r.get("elapsed_ms")}
             for r in event.get("results", [])]
    message = {
        "schema": "drover.event/v1",
        "event_type": event["event_type"],
        "run_id": event["run_id"],
        "mode": event["mode"],
        "from_region": event["from_region"],
        "to_region": event["to_region"],
        "steps": steps,
        "kms_key_id": kms_key,
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    resp = sns.publish(
        TopicArn=topic_arn,
        Subject=f"drover {event['mode']} {event['event_type']}: {event['from_region']} -> {event['to_region']}"[:100],
        Message=json.dumps(message),
        MessageAttributes={
            "event_type": {"DataType": "String", "StringValue": event["event_type"]},
            "mode": {"DataType": "String", "StringValue": event["mode"]},
            "run_id": {"DataType": "String", "StringValue": event["run_id"]},
        },
    )
    logger.info("published %s", resp["MessageId"])
    return {"step": "notify", "run_id": event["run_id"], "outcome": {"state": "done"},
            "detail": {"topic_arn": topic_arn, "kms_key_id": kms_key, "message_id": resp["MessageId"]}}
