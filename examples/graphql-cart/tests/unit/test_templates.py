"""Unit tests of the VTL resolver templates, rendered with ``stack.appsync.evaluate``.

Sources:
- https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-resolver-mapping-template-reference-dynamodb-getitem.html
  (the GetItem request document: ``operation``, ``key``, ``consistentRead``)
- https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-resolver-mapping-template-reference-dynamodb-updateitem.html
  (the UpdateItem request document: ``update.expression``, ``update.expressionValues``)
- https://docs.aws.amazon.com/appsync/latest/devguide/dynamodb-helpers-in-util-dynamodb.html
  (``toDynamoDBJson``: a string becomes ``{"S": ...}``, a number ``{"N": ...}``)
- https://docs.aws.amazon.com/appsync/latest/devguide/utility-helpers-in-util.html
  (``$util.error`` and ``$util.unauthorized``, "Not Authorized to access {field} on type
  {type}")
"""

from __future__ import annotations

from pathlib import Path

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.unit

ADD_ITEM_INFO = {"fieldName": "addItem", "parentTypeName": "Mutation"}


def test_cart_line_request_gets_item(stack: EmulatedStack, resolvers: Path) -> None:
    """The cartLine request is a consistent GetItem on the userId and sku key."""
    result = stack.appsync.evaluate(resolvers / "cartLine.request.vtl",
                                    {"arguments": {"userId": "ann", "sku": "PEN"}})

    assert result.succeeded, result.error_message
    assert result.json() == {
        "version": "2018-05-29",
        "operation": "GetItem",
        "key": {"userId": {"S": "ann"}, "sku": {"S": "PEN"}},
        "consistentRead": True,
    }


def test_cart_line_response_returns_item(stack: EmulatedStack, resolvers: Path) -> None:
    """The cartLine response passes the item on, and null when no line exists."""
    item = {"userId": "ann", "sku": "PEN", "quantity": 2, "price": 1.25}

    found = stack.appsync.evaluate(resolvers / "cartLine.response.vtl", {"result": item})
    missing = stack.appsync.evaluate(resolvers / "cartLine.response.vtl", {"result": None})

    assert found.json() == item
    assert missing.json() is None


def test_cart_line_response_raises_error(stack: EmulatedStack, resolvers: Path) -> None:
    """A DynamoDB error becomes the field's error, with its message and type."""
    context = {"result": None, "error": {"message": "User is not authorized",
                                         "type": "DynamoDB:AccessDeniedException"}}

    result = stack.appsync.evaluate(resolvers / "cartLine.response.vtl", context)

    assert not result.succeeded
    assert result.error_message == "User is not authorized"
    assert result.error is not None
    assert result.error.error_type == "DynamoDB:AccessDeniedException"


def test_put_line_request_updates_item(stack: EmulatedStack, resolvers: Path) -> None:
    """putLine adds the quantity and sets the price in one UpdateItem."""
    arguments = {"userId": "ann", "sku": "PEN", "quantity": 2, "price": 1.25}

    result = stack.appsync.evaluate(resolvers / "putLine.request.vtl",
                                    {"arguments": arguments})

    assert result.json() == {
        "version": "2018-05-29",
        "operation": "UpdateItem",
        "key": {"userId": {"S": "ann"}, "sku": {"S": "PEN"}},
        "update": {
            "expression": "ADD quantity :quantity SET price = :price",
            "expressionValues": {":quantity": {"N": 2}, ":price": {"N": 1.25}},
        },
    }


def test_authorize_owner_admits_owner(stack: EmulatedStack, resolvers: Path) -> None:
    """The owner of the cart passes, and the NONE data source gets their user name."""
    context = {"arguments": {"userId": "ann"}, "identity": {"username": "ann"},
               "info": ADD_ITEM_INFO}

    result = stack.appsync.evaluate(resolvers / "authorizeOwner.request.vtl", context)

    assert result.json() == {"version": "2018-05-29", "payload": "ann"}


@pytest.mark.parametrize("identity", [{"username": "bob"}, None], ids=["other-user", "api-key"])
def test_authorize_owner_rejects_others(stack: EmulatedStack, resolvers: Path,
                                        identity: object) -> None:
    """Another user, or a caller without a user (an API key), is not authorized."""
    context = {"arguments": {"userId": "ann"}, "identity": identity, "info": ADD_ITEM_INFO}

    result = stack.appsync.evaluate(resolvers / "authorizeOwner.request.vtl", context)

    assert result.error_message == "Not Authorized to access addItem on type Mutation"
    assert result.error is not None
    assert result.error.error_type == "Unauthorized"


@pytest.mark.parametrize(("quantity", "price", "message"), [
    (0, 1.0, "quantity must be at least 1"),
    (1, -0.5, "price must not be negative"),
])
def test_add_item_before_rejects_arguments(stack: EmulatedStack, resolvers: Path,
                                           quantity: int, price: float, message: str) -> None:
    """The pipeline's before template raises a ValidationError for bad arguments."""
    context = {"arguments": {"quantity": quantity, "price": price}}

    result = stack.appsync.evaluate(resolvers / "addItem.before.vtl", context)

    assert result.error_message == message
    assert result.error is not None
    assert result.error.error_type == "ValidationError"


def test_add_item_before_passes_valid_arguments(stack: EmulatedStack, resolvers: Path) -> None:
    """Valid arguments render an empty object, which becomes ``$ctx.prev.result``."""
    result = stack.appsync.evaluate(resolvers / "addItem.before.vtl",
                                    {"arguments": {"quantity": 1, "price": 0}})

    assert result.json() == {}


def test_add_item_after_returns_line(stack: EmulatedStack, resolvers: Path) -> None:
    """The pipeline's after template returns the last function's result."""
    line = {"userId": "ann", "sku": "PEN", "quantity": 3, "price": 1.25}

    result = stack.appsync.evaluate(resolvers / "addItem.after.vtl", {"prev": {"result": line}})

    assert result.json() == line


def test_subscriber_follows_own_cart(stack: EmulatedStack, resolvers: Path) -> None:
    """The onItemAdded response refuses a user pool user who follows another cart, and
    lets API key clients (no identity) follow any cart."""
    template = resolvers / "onItemAdded.response.vtl"
    info = {"fieldName": "onItemAdded", "parentTypeName": "Subscription"}

    other = stack.appsync.evaluate(template, {"arguments": {"userId": "bob"},
                                              "identity": {"username": "ann"}, "info": info,
                                              "result": {}})
    back_office = stack.appsync.evaluate(template, {"arguments": {"userId": "bob"},
                                                    "identity": None, "info": info,
                                                    "result": {}})

    assert other.error_message == "Not Authorized to access onItemAdded on type Subscription"
    assert back_office.succeeded, back_office.error_message
    assert back_office.json() is None
