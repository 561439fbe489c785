"""Lambda handlers of the cart REST API, behind API Gateway's Lambda proxy integration.

The table name comes from CART_TABLE and the event bus name from CART_BUS. Each handler
receives an API Gateway REST API event (payload format 1.0) and returns a proxy response.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from .domain import Cart, CartLine, InvalidRequestError, merge_lines, parse_add_item

# The source and detail type of the event that addItem puts on the bus.
EVENT_SOURCE = "cart"
ITEM_ADDED = "ItemAdded"

# How often addItem reads and conditionally writes a line before it reports a conflict.
MAX_WRITE_ATTEMPTS = 3

# The same file that serverless.yml gives API Gateway as the request model, so a direct
# invocation is validated like a request through the API.
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "add-item.json"
ADD_ITEM_SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

# POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL in serverless.yml configure the logger.
logger = Logger()

# Created once per execution environment and reused by its invocations.
dynamodb = boto3.client("dynamodb")
events = boto3.client("events")


def _json_number(value: object) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _response(status_code: int, body: object | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"statusCode": status_code, "headers": {}, "body": ""}
    if body is not None:
        response["headers"]["Content-Type"] = "application/json"
        response["body"] = json.dumps(body, default=_json_number)
    return response


def _key(user_id: str, sku: str) -> dict[str, Any]:
    return {"userId": {"S": user_id}, "sku": {"S": sku}}


def _line_from_item(item: dict[str, Any]) -> CartLine:
    return CartLine(
        sku=item["sku"]["S"],
        quantity=int(item["quantity"]["N"]),
        price=Decimal(item["price"]["N"]),
    )


def _item_from_line(user_id: str, line: CartLine) -> dict[str, Any]:
    return {
        **_key(user_id, line.sku),
        "quantity": {"N": str(line.quantity)},
        "price": {"N": str(line.price)},
    }


def _store_merged_line(user_id: str, added: CartLine) -> CartLine | None:
    """Merge ``added`` into the stored line and return it, or None if writes kept failing.

    The write is conditional on the line read before it, so two concurrent requests for
    one SKU cannot both add to the same old quantity and lose one of the additions.
    """
    table = os.environ["CART_TABLE"]
    key = _key(user_id, added.sku)

    for _ in range(MAX_WRITE_ATTEMPTS):
        stored = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        line = merge_lines(_line_from_item(stored) if stored else None, added)
        if stored:
            condition: dict[str, Any] = {
                "ConditionExpression": "quantity = :stored",
                "ExpressionAttributeValues": {":stored": stored["quantity"]},
            }
        else:
            condition = {"ConditionExpression": "attribute_not_exists(sku)"}

        try:
            dynamodb.put_item(TableName=table, Item=_item_from_line(user_id, line), **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            logger.info("cart line changed during the request, reading it again",
                        extra={"userId": user_id, "sku": added.sku})
            continue
        return line

    return None


def _publish_item_added(user_id: str, added: CartLine, line: CartLine) -> None:
    detail = {
        "userId": user_id,
        "sku": added.sku,
        "quantity": added.quantity,
        "cartQuantity": line.quantity,
        "price": added.price,
    }
    response = events.put_events(Entries=[{
        "EventBusName": os.environ["CART_BUS"],
        "Source": EVENT_SOURCE,
        "DetailType": ITEM_ADDED,
        "Detail": json.dumps(detail, default=_json_number),
    }])

    # PutEvents reports a rejected entry in its response instead of raising.
    if response["FailedEntryCount"]:
        entry = response["Entries"][0]
        raise RuntimeError(f"PutEvents rejected the {ITEM_ADDED} event: "
                           f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def add_item(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Add units of a SKU to a user's cart and put an ItemAdded event on the bus."""
    user_id = event["pathParameters"]["userId"]
    try:
        added = parse_add_item(event.get("body"), ADD_ITEM_SCHEMA)
    except InvalidRequestError as error:
        logger.info("rejected add item request", extra={"reason": str(error)})
        return _response(400, {"message": str(error)})

    line = _store_merged_line(user_id, added)
    if line is None:
        logger.warning("cart line kept changing during the request",
                       extra={"userId": user_id, "sku": added.sku,
                              "attempts": MAX_WRITE_ATTEMPTS})
        return _response(409, {"message": f"the cart line for SKU {added.sku} kept changing "
                                          f"during the request and was not updated. Retry "
                                          f"the request."})

    _publish_item_added(user_id, added, line)
    logger.info("item added", extra={"userId": user_id, "sku": line.sku,
                                     "quantity": line.quantity})
    return _response(200, line.to_dict())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def get_cart(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Return every line of a user's cart with the item count and total."""
    user_id = event["pathParameters"]["userId"]
    query: dict[str, Any] = {
        "TableName": os.environ["CART_TABLE"],
        "KeyConditionExpression": "userId = :userId",
        "ExpressionAttributeValues": {":userId": {"S": user_id}},
    }

    # Query returns at most 1 MB per page and LastEvaluatedKey while more remain.
    lines: list[CartLine] = []
    while True:
        page = dynamodb.query(**query)
        lines.extend(_line_from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    return _response(200, Cart.of(user_id, lines).to_dict())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def remove_item(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Remove a SKU from a user's cart, or return 404 when the cart has no such line."""
    user_id = event["pathParameters"]["userId"]
    sku = event["pathParameters"]["sku"]

    deleted = dynamodb.delete_item(TableName=os.environ["CART_TABLE"], Key=_key(user_id, sku),
                                   ReturnValues="ALL_OLD")
    if "Attributes" not in deleted:
        logger.info("item to remove not found", extra={"userId": user_id, "sku": sku})
        return _response(404, {"message": f"the cart has no item with SKU {sku}"})

    logger.info("item removed", extra={"userId": user_id, "sku": sku})
    return _response(204)
