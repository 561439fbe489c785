"""Handlers of the cart's activity pipeline: ItemAdded events become per-SKU totals.

An EventBridge rule on the cart bus invokes ``forward_item_added`` with each ItemAdded
event, which sends the event's detail to the activity queue (ACTIVITY_QUEUE_URL). The
queue's event source mapping invokes ``count_skus`` with batches of messages. It adds each
message's quantity to the SKU's total in SKU_TOTALS_TABLE and reports the messages it could
not process. Only those are received again, and after three receives the queue moves them
to its dead-letter queue.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from .domain import InvalidActivityError, parse_activity

logger = Logger()

sqs = boto3.client("sqs")
dynamodb = boto3.client("dynamodb")


def forward_item_added(event: dict[str, Any], context: LambdaContext) -> None:
    """Send the detail of an ItemAdded event to the activity queue."""
    detail = event["detail"]
    sqs.send_message(QueueUrl=os.environ["ACTIVITY_QUEUE_URL"],
                     MessageBody=json.dumps(detail, separators=(",", ":")))
    logger.info("forwarded ItemAdded", extra={"sku": detail.get("sku"),
                                              "eventId": event.get("id")})


def count_skus(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Add each message's quantity to its SKU's total; report the messages that failed."""
    failures: list[dict[str, str]] = []
    for record in event["Records"]:
        try:
            sku, quantity = parse_activity(record["body"])
        except InvalidActivityError as error:
            logger.warning("invalid activity message", extra={
                "messageId": record["messageId"], "reason": str(error)})
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        dynamodb.update_item(
            TableName=os.environ["SKU_TOTALS_TABLE"], Key={"sku": {"S": sku}},
            UpdateExpression="ADD units :quantity",
            ExpressionAttributeValues={":quantity": {"N": str(quantity)}})
    return {"batchItemFailures": failures}
