"""End-to-end tests: the cart API driven with GraphQL requests, with both authorization modes.

Sources:
- https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html (API_KEY with
  ``x-api-key``, user pool tokens in ``Authorization``, directives per field, "Not
  Authorized to access {field} on type {type}")
- https://repost.aws/knowledge-center/aws-appsync-graphql-request-unauth-error (a request
  without credentials gets HTTP 401 with an ``UnauthorizedException``)
- https://docs.aws.amazon.com/appsync/latest/devguide/pipeline-resolvers.html (the
  functions of a pipeline run in order; an error in one ends the resolver)
- https://docs.aws.amazon.com/appsync/latest/devguide/troubleshooting-and-common-mistakes.html
  (a failed field is null and has an entry in ``errors``)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.e2e

ADD_ITEM = """
mutation AddItem($userId: ID!, $sku: String!, $quantity: Int!, $price: Float!) {
  addItem(userId: $userId, sku: $sku, quantity: $quantity, price: $price) {
    userId sku quantity price
  }
}
"""
CART_LINE = "query Line($userId: ID!, $sku: String!) { cartLine(userId: $userId, sku: $sku) " \
            "{ sku quantity price } }"
CART = "query Cart($userId: ID!) { cart(userId: $userId) { itemCount total lines { sku } } }"


def send(stack: EmulatedStack, query: str, variables: dict[str, Any],
         headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Send a GraphQL request and return the HTTP status and the JSON body."""
    response = stack.graphql(query, variables, headers=headers)
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_owner_adds_and_reads_items(stack: EmulatedStack, sign_in: Callable[[str], str],
                                    user_id: str) -> None:
    """A signed-in user adds to their cart; the line and the totals reflect both adds."""
    owner = {"Authorization": sign_in(user_id)}

    first = send(stack, ADD_ITEM, {"userId": user_id, "sku": "PEN", "quantity": 2,
                                   "price": 1.25}, owner)
    second = send(stack, ADD_ITEM, {"userId": user_id, "sku": "PEN", "quantity": 1,
                                    "price": 1.5}, owner)
    send(stack, ADD_ITEM, {"userId": user_id, "sku": "INK", "quantity": 1, "price": 4.0},
         owner)
    line = send(stack, CART_LINE, {"userId": user_id, "sku": "PEN"}, owner)
    cart = send(stack, CART, {"userId": user_id}, owner)

    assert first == (200, {"data": {"addItem": {"userId": user_id, "sku": "PEN",
                                                "quantity": 2, "price": 1.25}}})
    assert second[1]["data"]["addItem"]["quantity"] == 3
    assert line == (200, {"data": {"cartLine": {"sku": "PEN", "quantity": 3, "price": 1.5}}})
    assert cart[0] == 200
    assert cart[1]["data"]["cart"]["itemCount"] == 4
    assert cart[1]["data"]["cart"]["total"] == 8.5
    assert sorted(line["sku"] for line in cart[1]["data"]["cart"]["lines"]) == ["INK", "PEN"]


def test_api_key_reads_cart(stack: EmulatedStack, sign_in: Callable[[str], str],
                            api_key: str, user_id: str) -> None:
    """An API key reads the lines and the cart that a user wrote."""
    owner = {"Authorization": sign_in(user_id)}
    send(stack, ADD_ITEM, {"userId": user_id, "sku": "PEN", "quantity": 2, "price": 1.25},
         owner)

    line = send(stack, CART_LINE, {"userId": user_id, "sku": "PEN"}, {"x-api-key": api_key})
    cart = send(stack, CART, {"userId": user_id}, {"x-api-key": api_key})

    assert line == (200, {"data": {"cartLine": {"sku": "PEN", "quantity": 2, "price": 1.25}}})
    assert cart == (200, {"data": {"cart": {"itemCount": 2, "total": 2.5,
                                            "lines": [{"sku": "PEN"}]}}})


def test_missing_line_is_null(stack: EmulatedStack, api_key: str, user_id: str) -> None:
    """A line that does not exist is null, without an error."""
    status, body = send(stack, CART_LINE, {"userId": user_id, "sku": "NONE"},
                        {"x-api-key": api_key})

    assert (status, body) == (200, {"data": {"cartLine": None}})


def test_api_key_cannot_add_item(stack: EmulatedStack, api_key: str, user_id: str) -> None:
    """addItem accepts only user pool tokens, so an API key gets a field error."""
    status, body = send(stack, ADD_ITEM, {"userId": user_id, "sku": "PEN", "quantity": 1,
                                          "price": 1.0}, {"x-api-key": api_key})

    assert status == 200
    assert body["data"] == {"addItem": None}
    error = body["errors"][0]
    assert error["errorType"] == "Unauthorized"
    assert error["message"] == "Not Authorized to access addItem on type Mutation"
    assert error["path"] == ["addItem"]


def test_user_cannot_add_to_other_cart(stack: EmulatedStack, sign_in: Callable[[str], str],
                                       api_key: str, user_id: str) -> None:
    """The pipeline's authorization function stops the write to another user's cart."""
    intruder = {"Authorization": sign_in(f"{user_id}-other")}

    status, body = send(stack, ADD_ITEM, {"userId": user_id, "sku": "PEN", "quantity": 1,
                                          "price": 1.0}, intruder)
    line = send(stack, CART_LINE, {"userId": user_id, "sku": "PEN"}, {"x-api-key": api_key})

    assert status == 200
    assert body["data"] == {"addItem": None}
    assert body["errors"][0]["errorType"] == "Unauthorized"
    assert body["errors"][0]["message"] == "Not Authorized to access addItem on type Mutation"
    assert line[1] == {"data": {"cartLine": None}}


def test_invalid_quantity_is_rejected(stack: EmulatedStack, sign_in: Callable[[str], str],
                                      api_key: str, user_id: str) -> None:
    """The before template rejects a quantity below 1, and nothing is written."""
    owner = {"Authorization": sign_in(user_id)}

    status, body = send(stack, ADD_ITEM, {"userId": user_id, "sku": "PEN", "quantity": 0,
                                          "price": 1.0}, owner)
    line = send(stack, CART_LINE, {"userId": user_id, "sku": "PEN"}, {"x-api-key": api_key})

    assert status == 200
    assert body["data"] == {"addItem": None}
    assert body["errors"][0]["errorType"] == "ValidationError"
    assert body["errors"][0]["message"] == "quantity must be at least 1"
    assert line[1] == {"data": {"cartLine": None}}


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "Valid authorization header not provided."),
    ({"x-api-key": "da2-notakeyofthisapi"}, "You are not authorized to make this call."),
    ({"Authorization": "not-a-token"}, "Unable to parse JWT token."),
], ids=["no-credentials", "unknown-key", "malformed-token"])
def test_bad_credentials_get_401(stack: EmulatedStack, user_id: str,
                                 headers: dict[str, str], message: str) -> None:
    """Missing or invalid credentials get 401 UnauthorizedException before any resolver."""
    status, body = send(stack, CART, {"userId": user_id}, headers)

    assert status == 401
    assert body == {"errors": [{"errorType": "UnauthorizedException", "message": message}]}
