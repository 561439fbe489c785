"""Publish an SNS message for each OrderCreated event, so subscribers learn of new orders."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

_sns = boto3.client("sns")


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Publish the event's detail to the topic named by TOPIC_ARN; return the message ID."""
    detail = event["detail"]
    response = _sns.publish(
        TopicArn=os.environ["TOPIC_ARN"],
        Subject=f"Order {detail['orderId']} created",
        Message=json.dumps(detail),
        MessageAttributes={
            "eventType": {"DataType": "String", "StringValue": event["detail-type"]},
        },
    )
    logger.info("published order %s as message %s", detail["orderId"], response["MessageId"])
    return {"messageId": response["MessageId"]}
