"""Unit tests of the handlers with the boto3 clients replaced by mocks; no AWS, no windtunnel."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.unit

TABLE = "cart-table"
BUS = "cart-bus"

# The api_event fixture's builder; conftest cannot be imported under --import-mode=importlib.
ApiEventFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """Import the handler module with its environment set and its clients mocked."""
    # boto3 needs a region to create the module's clients, even though they are replaced.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("CART_TABLE", TABLE)
    monkeypatch.setenv("CART_BUS", BUS)
    module = importlib.import_module("cart.handlers")

    with mock.patch.object(module, "dynamodb") as dynamodb, \
            mock.patch.object(module, "events") as events:
        events.put_events.return_value = {"FailedEntryCount": 0,
                                          "Entries": [{"EventId": "event-1"}]}
        dynamodb.get_item.return_value = {}
        yield module


def _add_item_event(api_event: ApiEventFactory, body: object) -> dict[str, Any]:
    return api_event("POST", "/{userId}/items", {"userId": "user-1"}, body=body)


def test_add_item_new_line(handlers: ModuleType, api_event: ApiEventFactory,
                           lambda_context: Any) -> None:
    """addItem writes a new line only if none exists and puts one ItemAdded event."""
    event = _add_item_event(api_event, {"sku": "PEN", "quantity": 2, "price": 1.25})

    response = handlers.add_item(event, lambda_context)

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"sku": "PEN", "quantity": 2, "price": 1.25,
                                            "subtotal": 2.5}
    handlers.dynamodb.get_item.assert_called_once_with(
        TableName=TABLE, Key={"userId": {"S": "user-1"}, "sku": {"S": "PEN"}},
        ConsistentRead=True)
    handlers.dynamodb.put_item.assert_called_once_with(
        TableName=TABLE,
        Item={"userId": {"S": "user-1"}, "sku": {"S": "PEN"}, "quantity": {"N": "2"},
              "price": {"N": "1.25"}},
        ConditionExpression="attribute_not_exists(sku)")

    [entry] = handlers.events.put_events.call_args.kwargs["Entries"]
    assert entry["EventBusName"] == BUS
    assert entry["Source"] == "cart"
    assert entry["DetailType"] == "ItemAdded"
    assert json.loads(entry["Detail"]) == {"userId": "user-1", "sku": "PEN", "quantity": 2,
                                           "cartQuantity": 2, "price": 1.25}


def test_add_item_merges_stored_line(handlers: ModuleType, api_event: ApiEventFactory,
                                     lambda_context: Any) -> None:
    """addItem adds to the stored quantity, on condition that the line is unchanged."""
    handlers.dynamodb.get_item.return_value = {"Item": {
        "userId": {"S": "user-1"}, "sku": {"S": "PEN"},
        "quantity": {"N": "3"}, "price": {"N": "1.5"},
    }}
    event = _add_item_event(api_event, {"sku": "PEN", "quantity": 2, "price": 1.25})

    response = handlers.add_item(event, lambda_context)

    assert response["statusCode"] == 200
    assert json.loads(response["body"])["quantity"] == 5
    put = handlers.dynamodb.put_item.call_args.kwargs
    assert put["Item"]["quantity"] == {"N": "5"}
    assert put["Item"]["price"] == {"N": "1.25"}
    assert put["ConditionExpression"] == "quantity = :stored"
    assert put["ExpressionAttributeValues"] == {":stored": {"N": "3"}}


def test_add_item_conflict(handlers: ModuleType, api_event: ApiEventFactory,
                           lambda_context: Any) -> None:
    """addItem returns 409 and publishes nothing when every conditional write fails."""
    handlers.dynamodb.put_item.side_effect = ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException",
                   "Message": "The conditional request failed"}}, "PutItem")
    event = _add_item_event(api_event, {"sku": "PEN", "quantity": 1, "price": 1})

    response = handlers.add_item(event, lambda_context)

    assert response["statusCode"] == 409
    assert handlers.dynamodb.put_item.call_count == handlers.MAX_WRITE_ATTEMPTS
    handlers.events.put_events.assert_not_called()


def test_add_item_other_error_raises(handlers: ModuleType, api_event: ApiEventFactory,
                                     lambda_context: Any) -> None:
    """An error other than a failed condition is not retried and reaches Lambda."""
    handlers.dynamodb.put_item.side_effect = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "PutItem")
    event = _add_item_event(api_event, {"sku": "PEN", "quantity": 1, "price": 1})

    with pytest.raises(ClientError, match="AccessDeniedException"):
        handlers.add_item(event, lambda_context)

    assert handlers.dynamodb.put_item.call_count == 1


def test_add_item_invalid_body(handlers: ModuleType, api_event: ApiEventFactory,
                               lambda_context: Any) -> None:
    """addItem returns 400 for a body that fails the schema and calls no AWS API."""
    event = _add_item_event(api_event, {"sku": "PEN", "quantity": 0, "price": 1})

    response = handlers.add_item(event, lambda_context)

    assert response["statusCode"] == 400
    assert "quantity: 0 is less than the minimum of 1" in json.loads(response["body"])["message"]
    handlers.dynamodb.get_item.assert_not_called()
    handlers.dynamodb.put_item.assert_not_called()
    handlers.events.put_events.assert_not_called()


def test_add_item_rejected_event(handlers: ModuleType, api_event: ApiEventFactory,
                                 lambda_context: Any) -> None:
    """A PutEvents entry that EventBridge rejects makes addItem fail."""
    handlers.events.put_events.return_value = {
        "FailedEntryCount": 1,
        "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
    }
    event = _add_item_event(api_event, {"sku": "PEN", "quantity": 1, "price": 1})

    with pytest.raises(RuntimeError, match="InternalFailure: try again"):
        handlers.add_item(event, lambda_context)


def test_get_cart_follows_pages(handlers: ModuleType, api_event: ApiEventFactory,
                                lambda_context: Any) -> None:
    """getCart queries until no LastEvaluatedKey remains and totals every page."""
    pen = {"userId": {"S": "user-1"}, "sku": {"S": "PEN"},
           "quantity": {"N": "2"}, "price": {"N": "1.5"}}
    book = {"userId": {"S": "user-1"}, "sku": {"S": "BOOK"},
            "quantity": {"N": "1"}, "price": {"N": "10"}}
    handlers.dynamodb.query.side_effect = [
        {"Items": [book], "LastEvaluatedKey": {"userId": {"S": "user-1"},
                                               "sku": {"S": "BOOK"}}},
        {"Items": [pen]},
    ]
    event = api_event("GET", "/{userId}", {"userId": "user-1"})

    response = handlers.get_cart(event, lambda_context)

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert [item["sku"] for item in body["items"]] == ["BOOK", "PEN"]
    assert body["itemCount"] == 3
    assert body["total"] == 13
    second_query = handlers.dynamodb.query.call_args_list[1].kwargs
    assert second_query["ExclusiveStartKey"] == {"userId": {"S": "user-1"},
                                                 "sku": {"S": "BOOK"}}


def test_remove_missing_item(handlers: ModuleType, api_event: ApiEventFactory,
                             lambda_context: Any) -> None:
    """removeItem returns 404 when DeleteItem returns no old attributes."""
    handlers.dynamodb.delete_item.return_value = {}
    event = api_event("DELETE", "/{userId}/items/{sku}", {"userId": "user-1", "sku": "PEN"})

    response = handlers.remove_item(event, lambda_context)

    assert response["statusCode"] == 404
    handlers.dynamodb.delete_item.assert_called_once_with(
        TableName=TABLE, Key={"userId": {"S": "user-1"}, "sku": {"S": "PEN"}},
        ReturnValues="ALL_OLD")
