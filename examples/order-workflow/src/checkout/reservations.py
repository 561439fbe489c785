"""Lambda handlers that reserve an order's items and release the reservation."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# Created once per execution environment, as Lambda reuses it between invocations.
_dynamodb = boto3.resource("dynamodb")


class InvalidOrder(Exception):
    """The order has no items, or an item without a positive quantity and price."""


def reserve_items(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reserve the order's items and return the reservation ID and the amount to charge.

    The event is the checkout input: ``orderId``, ``customerId``, ``currency`` and
    ``items``, each with ``sku``, ``quantity`` and ``unitPrice`` in the currency's minor
    unit (cents). A second call for the same order returns the stored reservation, so a
    retried task reserves nothing twice.
    """
    order_id = str(event["orderId"])
    items = event.get("items") or []
    if not items:
        raise InvalidOrder(f"order {order_id} has no items")

    amount = 0
    for item in items:
        quantity = item.get("quantity")
        unit_price = item.get("unitPrice")
        if not isinstance(quantity, int) or quantity < 1:
            raise InvalidOrder(f"item {item.get('sku')} of order {order_id} needs a "
                               f"quantity of at least 1, not {quantity!r}")
        if not isinstance(unit_price, int) or unit_price < 0:
            raise InvalidOrder(f"item {item.get('sku')} of order {order_id} needs a "
                               f"unitPrice in cents of at least 0, not {unit_price!r}")
        amount += quantity * unit_price

    table = _dynamodb.Table(os.environ["RESERVATIONS_TABLE"])
    reservation = {
        "orderId": order_id,
        "reservationId": str(uuid.uuid4()),
        "items": [{"sku": str(item["sku"]), "quantity": item["quantity"]} for item in items],
        "amount": amount,
        "status": "RESERVED",
        "reservedAt": datetime.now(UTC).isoformat(),
    }
    try:
        table.put_item(Item=reservation, ConditionExpression="attribute_not_exists(orderId)")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        stored = table.get_item(Key={"orderId": order_id}, ConsistentRead=True)["Item"]
        logger.info("order %s is already reserved as %s", order_id, stored["reservationId"])
        return {"reservationId": stored["reservationId"], "amount": int(stored["amount"])}

    logger.info("reserved %d items of order %s", len(items), order_id)
    return {"reservationId": reservation["reservationId"], "amount": amount}


def release_items(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Mark the order's reservation as released, with the error that ended the checkout.

    The event has ``orderId`` and ``reason``. Releasing a released reservation again
    changes nothing but the reason and time.
    """
    order_id = str(event["orderId"])
    table = _dynamodb.Table(os.environ["RESERVATIONS_TABLE"])
    table.update_item(
        Key={"orderId": order_id},
        UpdateExpression="SET #status = :released, releaseReason = :reason, "
                         "releasedAt = :now",
        # A reservation that does not exist is an error: nothing may create one here.
        ConditionExpression="attribute_exists(orderId)",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":released": "RELEASED",
                                   ":reason": str(event.get("reason") or "unknown"),
                                   ":now": datetime.now(UTC).isoformat()},
    )
    logger.info("released the reservation of order %s (%s)", order_id, event.get("reason"))
    return {"orderId": order_id, "status": "RELEASED"}
