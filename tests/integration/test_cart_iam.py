"""The cart example's IAM statements, enforced: narrowing a function's role breaks its calls.

Each test copies the example, changes one statement of serverless.yml and checks that the
function's call fails as in AWS, with DynamoDB's or EventBridge's AccessDeniedException
and IAM's message: "User: <session ARN> is not authorized to perform: <action> on
resource: <ARN> because no identity-based policy allows the <action> action".
Sources:
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/access-control-overview.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

CART = Path(__file__).resolve().parents[2] / "examples" / "cart"
ACCOUNT = "123456789012"
ADD_ITEM_STATEMENTS = """    iamRoleStatements:
      - Effect: Allow
        Action:
          - dynamodb:GetItem
          - dynamodb:PutItem
        Resource: !GetAtt CartTable.Arn
      - Effect: Allow
        Action: events:PutEvents
        Resource: !GetAtt CartBus.Arn
"""


def _cart_with(tmp_path: Path, statements: str | None = None,
               iam: str = "enforce") -> EmulatedStack:
    """Load a copy of the cart whose addItem role has ``statements`` instead."""
    app = tmp_path / "cart"
    shutil.copytree(CART, app, ignore=shutil.ignore_patterns(".venv", "__pycache__",
                                                            ".pytest_cache"))
    template = app / "serverless.yml"
    text = template.read_text()
    assert ADD_ITEM_STATEMENTS in text, "the cart example's addItem statements changed"
    if statements is not None:
        template.write_text(text.replace(ADD_ITEM_STATEMENTS, statements))
    return Stack.local(app, iam=iam)


@pytest.fixture
def unchanged(tmp_path: Path) -> Iterator[EmulatedStack]:
    with _cart_with(tmp_path) as stack:
        yield stack


def _add_item_event(user_id: str = "user-1") -> dict[str, Any]:
    return {
        "resource": "/{userId}/items", "path": f"/{user_id}/items", "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"userId": user_id}, "stageVariables": None,
        "requestContext": {"resourcePath": "/{userId}/items", "httpMethod": "POST",
                           "stage": "dev", "requestId": "test-request"},
        "body": json.dumps({"sku": "PEN", "quantity": 1, "price": 2}),
        "isBase64Encoded": False,
    }


def _denial(stack: EmulatedStack, action: str, resource: str) -> str:
    role_arn = stack.client("lambda").get_function_configuration(
        FunctionName="cart-dev-addItem")["Role"]
    role_name = role_arn.rsplit("/", 1)[-1]
    return (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/cart-dev-addItem is not "
            f"authorized to perform: {action} on resource: {resource} because no "
            f"identity-based policy allows the {action} action")


def _table_arn(stack: EmulatedStack) -> str:
    table = stack.outputs["CartTableName"]
    return f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}"


def test_unchanged_cart_is_allowed(unchanged: EmulatedStack) -> None:
    """The example's own statements allow every call its functions make."""
    response = unchanged.http.post("/user-1/items", json={"sku": "PEN", "quantity": 1,
                                                           "price": 2})

    assert response.status_code == 200
    assert unchanged.iam.denials == []
    assert {record.action for record in unchanged.iam.decisions} >= {
        "dynamodb:GetItem", "dynamodb:PutItem", "events:PutEvents"}


def test_without_put_item_add_item_fails(tmp_path: Path) -> None:
    """Removing dynamodb:PutItem fails the function with DynamoDB's AccessDeniedException."""
    statements = ADD_ITEM_STATEMENTS.replace("          - dynamodb:PutItem\n", "")
    with _cart_with(tmp_path, statements) as stack:
        result = stack.invoke("addItem", _add_item_event())
        response = stack.http.post("/user-2/items", json={"sku": "PEN", "quantity": 1,
                                                           "price": 2})
        expected = _denial(stack, "dynamodb:PutItem", _table_arn(stack))

    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "ClientError"
    assert result.payload["errorMessage"] == (
        f"An error occurred (AccessDeniedException) when calling the PutItem operation: "
        f"{expected}")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_other_table_resource_is_denied(tmp_path: Path) -> None:
    """A statement whose resource names another table does not cover the cart table."""
    statements = ADD_ITEM_STATEMENTS.replace(
        "        Resource: !GetAtt CartTable.Arn\n",
        f"        Resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/another-table\n")
    with _cart_with(tmp_path, statements) as stack:
        result = stack.invoke("addItem", _add_item_event())
        expected = _denial(stack, "dynamodb:GetItem", _table_arn(stack))

    assert result.function_error == "Unhandled"
    assert result.payload["errorMessage"] == (
        f"An error occurred (AccessDeniedException) when calling the GetItem operation: "
        f"{expected}")


def test_without_put_events_publish_is_denied(tmp_path: Path) -> None:
    """Removing events:PutEvents fails the publish with EventBridge's AccessDeniedException."""
    statements = ADD_ITEM_STATEMENTS.replace(
        "      - Effect: Allow\n        Action: events:PutEvents\n"
        "        Resource: !GetAtt CartBus.Arn\n", "")
    with _cart_with(tmp_path, statements) as stack:
        result = stack.invoke("addItem", _add_item_event())
        bus = stack.outputs["CartBusName"]
        expected = _denial(stack, "events:PutEvents",
                           f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{bus}")

    assert result.function_error == "Unhandled"
    assert result.payload["errorMessage"] == (
        f"An error occurred (AccessDeniedException) when calling the PutEvents operation: "
        f"{expected}")


def test_warn_mode_allows_and_records(tmp_path: Path) -> None:
    """In warn mode the call goes through and the denial is recorded for the report."""
    statements = ADD_ITEM_STATEMENTS.replace("          - dynamodb:PutItem\n", "")
    with _cart_with(tmp_path, statements, iam="warn") as stack:
        result = stack.invoke("addItem", _add_item_event())
        denials = stack.iam.denials

    assert result.function_error is None
    assert [(d.action, d.function_name, d.enforced) for d in denials] == [
        ("dynamodb:PutItem", "cart-dev-addItem", False)]


def test_role_change_applies_to_next_call(unchanged: EmulatedStack) -> None:
    """Changing the role's policy through IAM takes effect on the next call, as in AWS."""
    iam = unchanged.client("iam")
    role_name = unchanged.client("lambda").get_function_configuration(
        FunctionName="cart-dev-addItem")["Role"].rsplit("/", 1)[-1]
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role_name, PolicyName=policy_name)

    result = unchanged.invoke("addItem", _add_item_event())

    assert result.function_error == "Unhandled"
    assert "AccessDeniedException" in result.payload["errorMessage"]


def test_report_flags_broad_grant_and_suggests_used(tmp_path: Path) -> None:
    """A dynamodb:* on * grant is flagged; the suggestion is the two actions on the table."""
    statements = """    iamRoleStatements:
      - Effect: Allow
        Action: dynamodb:*
        Resource: "*"
      - Effect: Allow
        Action: events:PutEvents
        Resource: !GetAtt CartBus.Arn
"""
    with _cart_with(tmp_path, statements) as stack:
        response = stack.http.post("/user-1/items", json={"sku": "PEN", "quantity": 1,
                                                           "price": 2})
        usage = stack.iam.report().function("cart-dev-addItem")
        table_arn = _table_arn(stack)

    broad = [grant for grant in usage.grants if grant.action == "dynamodb:*"]
    dynamodb = [statement for statement in usage.suggested.statements
                if any(action.startswith("dynamodb:") for action in statement["Action"])]
    assert response.status_code == 200
    assert len(broad) == 1
    assert broad[0].resource == "*"
    assert broad[0].broad
    assert broad[0].used_actions == ("dynamodb:GetItem", "dynamodb:PutItem")
    assert dynamodb == [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                         "Resource": [table_arn]}]
    assert "iamRoleStatements" in usage.suggested.text
