"""Unit tests of the APPSYNC_JS resolver of Query.cart, through the EvaluateCode API.

Sources:
- https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateCode.html
  (``evaluationResult`` as JSON text, or ``error.message``)
- https://docs.aws.amazon.com/appsync/latest/devguide/built-in-modules-js.html
  (``ddb.query`` builds a Query request with a key condition from ``query``)
- https://docs.aws.amazon.com/appsync/latest/devguide/resolver-reference-overview-js.html
  (``util.error`` ends the resolver with the message and type)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.unit

RUNTIME = {"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"}


def evaluate(stack: EmulatedStack, resolvers: Path, function: str,
             context: dict[str, Any]) -> dict[str, Any]:
    """Run the request or response function of cart.js with EvaluateCode."""
    response: dict[str, Any] = stack.client("appsync").evaluate_code(
        runtime=RUNTIME, code=(resolvers / "cart.js").read_text(encoding="utf-8"),
        context=json.dumps(context), function=function)
    return response


def test_cart_request_queries_user(stack: EmulatedStack, resolvers: Path) -> None:
    """The request function is a consistent Query on the user's partition key."""
    response = evaluate(stack, resolvers, "request", {"arguments": {"userId": "ann"}})

    assert "error" not in response
    request = json.loads(response["evaluationResult"])
    assert request["operation"] == "Query"
    assert request["consistentRead"] is True
    query = request["query"]
    assert query["expression"].count("=") == 1
    name, value = query["expression"].split(" = ")
    assert query["expressionNames"][name] == "userId"
    assert query["expressionValues"][value] == {"S": "ann"}


def test_cart_response_sums_lines(stack: EmulatedStack, resolvers: Path) -> None:
    """The response function counts the units and adds the prices in cents."""
    lines = [{"userId": "ann", "sku": "PEN", "quantity": 3, "price": 0.1},
             {"userId": "ann", "sku": "INK", "quantity": 1, "price": 2.5}]
    context = {"arguments": {"userId": "ann"}, "result": {"items": lines}}

    response = evaluate(stack, resolvers, "response", context)

    assert json.loads(response["evaluationResult"]) == {
        "userId": "ann", "lines": lines, "itemCount": 4, "total": 2.8}


def test_cart_response_empty_cart(stack: EmulatedStack, resolvers: Path) -> None:
    """A cart without lines has no items and a total of 0."""
    context = {"arguments": {"userId": "ann"}, "result": {"items": []}}

    response = evaluate(stack, resolvers, "response", context)

    assert json.loads(response["evaluationResult"]) == {
        "userId": "ann", "lines": [], "itemCount": 0, "total": 0}


def test_cart_response_raises_error(stack: EmulatedStack, resolvers: Path) -> None:
    """A data source error ends the resolver with its message."""
    context = {"arguments": {"userId": "ann"}, "result": None,
               "error": {"message": "User is not authorized",
                         "type": "DynamoDB:AccessDeniedException"}}

    response = evaluate(stack, resolvers, "response", context)

    assert "evaluationResult" not in response
    assert response["error"]["message"] == "User is not authorized"
