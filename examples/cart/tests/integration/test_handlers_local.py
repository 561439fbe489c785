"""Integration tests: each handler invoked with an API Gateway event against the stack.

On the local target the handlers run in windtunnel's Lambda runtime with their own
environment variables and role, and their boto3 calls reach the emulated table and bus. On
the AWS target Lambda runs them in the deployed stack. The tests check what the handlers
stored and published through the stack's own clients, each under a user ID of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.integration

# The api_event fixture's builder; conftest cannot be imported under --import-mode=importlib.
ApiEventFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def app(cart_stack: EmulatedStack) -> EmulatedStack:
    """Return the stack whose functions the tests invoke."""
    return cart_stack


def _add_item(app: EmulatedStack, api_event: ApiEventFactory, user_id: str,
              body: object) -> Any:
    event = api_event("POST", "/{userId}/items", {"userId": user_id}, body=body)
    return app.invoke("addItem", event).raise_for_error()


def _stored_line(app: EmulatedStack, user_id: str, sku: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = app.client("dynamodb").get_item(
        TableName=app.outputs["CartTableName"],
        Key={"userId": {"S": user_id}, "sku": {"S": sku}},
        ConsistentRead=True,
    ).get("Item")
    return item


def test_add_item_stores_line(app: EmulatedStack, api_event: ApiEventFactory,
                              user_id: str) -> None:
    """addItem writes the line to the cart table and returns it with its subtotal."""
    result = _add_item(app, api_event, user_id, {"sku": "PEN", "quantity": 2, "price": 1.25})

    assert result.function_error is None
    assert result.payload["statusCode"] == 200
    assert json.loads(result.payload["body"]) == {"sku": "PEN", "quantity": 2, "price": 1.25,
                                                  "subtotal": 2.5}
    assert _stored_line(app, user_id, "PEN") == {
        "userId": {"S": user_id},
        "sku": {"S": "PEN"},
        "quantity": {"N": "2"},
        "price": {"N": "1.25"},
    }


def test_add_item_merges_quantity(app: EmulatedStack, api_event: ApiEventFactory,
                                  user_id: str) -> None:
    """Adding a SKU twice stores one line with both quantities and the newer price."""
    _add_item(app, api_event, user_id, {"sku": "PEN", "quantity": 2, "price": 1.25})
    result = _add_item(app, api_event, user_id, {"sku": "PEN", "quantity": 3, "price": 1.5})

    assert json.loads(result.payload["body"])["quantity"] == 5
    stored = _stored_line(app, user_id, "PEN")
    assert stored is not None
    assert stored["quantity"] == {"N": "5"}
    assert Decimal(stored["price"]["N"]) == Decimal("1.5")


def test_add_item_publishes_item_added(app: EmulatedStack, api_event: ApiEventFactory,
                                       user_id: str, bus_events: Any) -> None:
    """addItem puts one ItemAdded event on the cart bus, which a rule delivers to SQS."""
    _add_item(app, api_event, user_id, {"sku": "PEN", "quantity": 2, "price": 1.25})

    [event] = bus_events.received()

    assert event["source"] == "cart"
    assert event["detail-type"] == "ItemAdded"
    assert event["detail"] == {"userId": user_id, "sku": "PEN", "quantity": 2,
                               "cartQuantity": 2, "price": 1.25}


def test_invalid_body_stores_nothing(app: EmulatedStack, api_event: ApiEventFactory,
                                     user_id: str, bus_events: Any) -> None:
    """A body that fails the schema gets 400, with no line stored and no event put."""
    event = api_event("POST", "/{userId}/items", {"userId": user_id},
                      body={"sku": "PEN", "quantity": 0, "price": 1})

    result = app.invoke("addItem", event)

    assert result.function_error is None
    assert result.payload["statusCode"] == 400
    assert "quantity" in json.loads(result.payload["body"])["message"]
    assert _stored_line(app, user_id, "PEN") is None
    assert bus_events.received() == []


def test_add_item_logs_json(app: EmulatedStack, api_event: ApiEventFactory,
                            user_id: str) -> None:
    """addItem logs JSON lines with the service name and API Gateway's request ID."""
    event = api_event("POST", "/{userId}/items", {"userId": user_id},
                      body={"sku": "PEN", "quantity": 1, "price": 1})

    result = app.invoke("addItem", event).raise_for_error()

    records = [json.loads(line) for line in result.logs.splitlines() if line.startswith("{")]
    [added] = [record for record in records if record.get("message") == "item added"]
    assert added["service"] == "cart"
    assert added["level"] == "INFO"
    assert added["function_name"] == "cart-dev-addItem"
    assert added["correlation_id"] == event["requestContext"]["requestId"]


@pytest.mark.parametrize("name", ["getCart", "GetCartLambdaFunction", "cart-dev-getCart"])
def test_get_cart_totals(app: EmulatedStack, api_event: ApiEventFactory, user_id: str,
                         name: str) -> None:
    """getCart, named by function key, logical ID or function name, totals the lines."""
    _add_item(app, api_event, user_id, {"sku": "PEN", "quantity": 3, "price": 1.1})
    _add_item(app, api_event, user_id, {"sku": "BOOK", "quantity": 1, "price": 12.5})
    _add_item(app, api_event, f"{user_id}-other", {"sku": "INK", "quantity": 1, "price": 4})

    result = app.invoke(name, api_event("GET", "/{userId}", {"userId": user_id}))

    assert result.function_error is None
    assert result.payload["statusCode"] == 200
    body = json.loads(result.payload["body"])
    assert [item["sku"] for item in body["items"]] == ["BOOK", "PEN"]
    assert body["itemCount"] == 4
    assert Decimal(str(body["total"])) == Decimal("15.8")


def test_remove_item_deletes_line(app: EmulatedStack, api_event: ApiEventFactory,
                                  user_id: str) -> None:
    """removeItem deletes the line and returns 404 for a line that is already gone."""
    _add_item(app, api_event, user_id, {"sku": "PEN", "quantity": 1, "price": 1})
    event = api_event("DELETE", "/{userId}/items/{sku}", {"userId": user_id, "sku": "PEN"})

    first = app.invoke("RemoveItemLambdaFunction", event).raise_for_error()
    second = app.invoke("RemoveItemLambdaFunction", event).raise_for_error()

    assert first.payload["statusCode"] == 204
    assert _stored_line(app, user_id, "PEN") is None
    assert second.payload["statusCode"] == 404


# IAM changes reach AWS's other services only after a delay, and while getCart's role lacks
# Query, every other test's getCart call fails too, so a shared deployed stack cannot run
# this test:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
@pytest.mark.windtunnel_local_only
def test_get_cart_needs_query_permission(app: EmulatedStack, api_event: ApiEventFactory,
                                         user_id: str) -> None:
    """getCart fails with AccessDeniedException once its role no longer allows Query."""
    iam = app.client("iam")
    role_arn = app.client("lambda").get_function_configuration(
        FunctionName="cart-dev-getCart")["Role"]
    role_name = role_arn.rsplit("/", 1)[-1]
    originals: dict[str, dict[str, Any]] = {}
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name,
                                       PolicyName=policy_name)["PolicyDocument"]
        originals[policy_name] = json.loads(json.dumps(document))
        document["Statement"] = [statement for statement in document["Statement"]
                                 if "dynamodb:Query" not in statement["Action"]]
        iam.put_role_policy(RoleName=role_name, PolicyName=policy_name,
                            PolicyDocument=json.dumps(document))

    try:
        result = app.invoke("getCart", api_event("GET", "/{userId}", {"userId": user_id}))
    finally:
        # Put the role back, so that the test leaves the stack as it found it.
        for policy_name, original in originals.items():
            iam.put_role_policy(RoleName=role_name, PolicyName=policy_name,
                                PolicyDocument=json.dumps(original))

    assert result.function_error == "Unhandled"
    assert "AccessDeniedException" in result.payload["errorMessage"]


@pytest.mark.windtunnel_local_only
def test_reset_empties_cart(cart_stack: EmulatedStack) -> None:
    """Each test starts from the stack as deployed, with an empty cart table.

    Only the local target resets the stack between tests. On AWS, ``reset()`` raises.
    """
    table = cart_stack.outputs["CartTableName"]

    items = cart_stack.client("dynamodb").scan(TableName=table)["Items"]

    assert items == []


def test_roles_allow_only_called_actions(cart_stack: EmulatedStack) -> None:
    """Each function's role allows the DynamoDB and EventBridge actions it calls, no more."""
    lambda_client = cart_stack.client("lambda")
    iam = cart_stack.client("iam")
    expected = {
        "cart-dev-addItem": {"dynamodb:GetItem", "dynamodb:PutItem", "events:PutEvents"},
        "cart-dev-getCart": {"dynamodb:Query"},
        "cart-dev-removeItem": {"dynamodb:DeleteItem"},
    }

    for function_name, actions in expected.items():
        role_arn = lambda_client.get_function_configuration(FunctionName=function_name)["Role"]
        role_name = role_arn.rsplit("/", 1)[-1]
        allowed: set[str] = set()
        for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name,
                                           PolicyName=policy_name)["PolicyDocument"]
            for statement in document["Statement"]:
                statement_actions = statement["Action"]
                if isinstance(statement_actions, str):
                    statement_actions = [statement_actions]
                allowed.update(statement_actions)

        service_actions = {action for action in allowed if not action.startswith("logs:")}
        assert service_actions == actions, function_name


def test_functions_receive_resource_names(cart_stack: EmulatedStack) -> None:
    """The functions get the table and bus names of this stack through their environment."""
    lambda_client = cart_stack.client("lambda")

    variables = lambda_client.get_function_configuration(
        FunctionName="cart-dev-addItem")["Environment"]["Variables"]

    assert variables["CART_TABLE"] == cart_stack.outputs["CartTableName"]
    assert variables["CART_BUS"] == cart_stack.outputs["CartBusName"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "cart"
