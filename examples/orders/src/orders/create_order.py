"""Store orders that arrive on the SQS queue and announce each one on the event bus.

Triggered by an SQS event source mapping with ``ReportBatchItemFailures``, so a message
that fails is retried alone instead of with its whole batch.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# The source and detail type of the event that the notify function's rule matches.
EVENT_SOURCE = "orders"
ORDER_CREATED = "OrderCreated"

_dynamodb = boto3.resource("dynamodb")
_events = boto3.client("events")


class InvalidOrderError(ValueError):
    """An order message that lacks a required field."""


def parse_order(body: str) -> dict[str, Any]:
    """Parse an order from a message body, with numbers as Decimal because DynamoDB requires it."""
    order = json.loads(body, parse_float=Decimal)
    if not isinstance(order, dict):
        raise InvalidOrderError("invalid order: the message body is not a JSON object")
    for field in ("orderId", "customerId", "items"):
        if field not in order:
            raise InvalidOrderError(f"invalid order: missing field {field!r}")
    return order


def store_order(order: dict[str, Any]) -> None:
    """Write the order to the table named by ORDERS_TABLE, once per orderId."""
    table = _dynamodb.Table(os.environ["ORDERS_TABLE"])
    item = {**order, "status": "CREATED", "createdAt": datetime.now(UTC).isoformat()}
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(orderId)")
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        # SQS delivers a message at least once, so a redelivered order may already be stored.
        logger.info("order %s is already stored", order["orderId"])


def publish_order_created(order: dict[str, Any]) -> None:
    """Put an OrderCreated event on the bus named by EVENT_BUS_NAME."""
    detail = {
        "orderId": order["orderId"],
        "customerId": order["customerId"],
        "itemCount": len(order["items"]),
    }
    response = _events.put_events(Entries=[{
        "EventBusName": os.environ["EVENT_BUS_NAME"],
        "Source": EVENT_SOURCE,
        "DetailType": ORDER_CREATED,
        "Detail": json.dumps(detail),
    }])
    if response["FailedEntryCount"]:
        raise RuntimeError(f"PutEvents failed for order {order['orderId']}: "
                           f"{response['Entries'][0].get('ErrorMessage')}")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process a batch of SQS messages and return the IDs of the messages that failed."""
    failures: list[dict[str, str]] = []
    for record in event["Records"]:
        try:
            order = parse_order(record["body"])
            store_order(order)
            publish_order_created(order)
        except Exception:
            logger.exception("failed to process message %s", record["messageId"])
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
