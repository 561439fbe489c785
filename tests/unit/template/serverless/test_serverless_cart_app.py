"""The cart fixture app compiled end to end, checked for the resources the Framework generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from windtunnel.template.model import CODE_PATH_METADATA
from windtunnel.template.serverless import ServerlessTemplate, compile_serverless

CART = Path(__file__).parents[3] / "fixtures" / "serverless" / "cart"


@pytest.fixture(scope="module")
def cart() -> ServerlessTemplate:
    return compile_serverless(CART / "serverless.yml", environ={})


def test_stack_identity(cart: ServerlessTemplate) -> None:
    """The stack is {service}-{stage} in the region serverless.yml falls back to."""
    assert cart.format == "serverless"
    assert cart.stack_name == "cart-dev"
    assert cart.region == "eu-west-1"
    assert cart.warnings == []


def test_functions(cart: ServerlessTemplate) -> None:
    """Each function has its name, runtime, memory from custom, environment and code path."""
    resources = cart.body["Resources"]
    add_item = resources["AddItemLambdaFunction"]
    properties = add_item["Properties"]
    assert properties["FunctionName"] == "cart-dev-addItem"
    assert properties["Runtime"] == "python3.12"
    assert properties["MemorySize"] == 256
    assert properties["Timeout"] == 6
    assert resources["RemoveItemLambdaFunction"]["Properties"]["Timeout"] == 10
    assert properties["Environment"]["Variables"] == {
        "TABLE_NAME": "cart-items-dev",
        "EVENT_BUS_NAME": "cart-bus-dev",
        "LOG_LEVEL": "INFO",
    }
    assert add_item["Metadata"][CODE_PATH_METADATA] == str(CART.resolve())
    assert resources["AddItemLogGroup"]["Properties"] == {
        "LogGroupName": "/aws/lambda/cart-dev-addItem",
        "RetentionInDays": 14,
    }


def test_per_function_roles(cart: ServerlessTemplate) -> None:
    """iamRoleStatements give each function {Fn}IamRoleLambdaExecution with its statements."""
    resources = cart.body["Resources"]
    function = resources["GetCartLambdaFunction"]
    assert function["Properties"]["Role"] == {
        "Fn::GetAtt": ["GetCartIamRoleLambdaExecution", "Arn"]
    }
    assert function["DependsOn"] == ["GetCartIamRoleLambdaExecution", "GetCartLogGroup"]
    statements = resources["GetCartIamRoleLambdaExecution"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    assert statements[-1] == {
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": {"Fn::GetAtt": ["CartTable", "Arn"]},
    }
    # The provider statement is not inherited unless iamRoleStatementsInherit is set.
    assert all(s.get("Action") != "xray:PutTraceSegments" for s in statements)
    shared = resources["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert shared["Statement"][-1]["Action"] == "xray:PutTraceSegments"


def test_rest_api_routes(cart: ServerlessTemplate) -> None:
    """The three http events share resources under /{userId} and get their methods."""
    resources = cart.body["Resources"]
    assert resources["ApiGatewayResourceUseridVar"]["Properties"]["PathPart"] == "{userId}"
    assert resources["ApiGatewayResourceUseridVarItemsSkuVar"]["Properties"]["ParentId"] == {
        "Ref": "ApiGatewayResourceUseridVarItems"
    }
    assert resources["ApiGatewayMethodUseridVarItemsPost"]["Properties"]["HttpMethod"] == "POST"
    assert resources["ApiGatewayMethodUseridVarGet"]["Properties"]["HttpMethod"] == "GET"
    delete = resources["ApiGatewayMethodUseridVarItemsSkuVarDelete"]["Properties"]
    assert delete["Integration"]["Uri"]["Fn::Join"][1][5] == {
        "Fn::GetAtt": ["RemoveItemLambdaFunction", "Arn"]
    }
    assert "ApiGatewayMethodUseridVarItemsOptions" in resources


def test_request_schema_from_file(cart: ServerlessTemplate) -> None:
    """request.schemas loaded with ${file()} becomes a model the POST method validates against."""
    resources = cart.body["Resources"]
    model = resources["ApiGatewayMethodUseridVarItemsPostApplicationJsonModel"]["Properties"]
    assert model["Schema"]["required"] == ["sku", "quantity"]
    post = resources["ApiGatewayMethodUseridVarItemsPost"]["Properties"]
    assert post["RequestModels"] == {
        "application/json": {"Ref": "ApiGatewayMethodUseridVarItemsPostApplicationJsonModel"}
    }
    assert post["RequestValidatorId"] == {"Ref": "ApiGatewayCartRequestValidator"}


def test_user_resources_and_outputs(cart: ServerlessTemplate) -> None:
    """resources: are merged; short-form tags become long-form intrinsics."""
    body = cart.body
    assert body["Resources"]["CartTable"]["Properties"]["TableName"] == "cart-items-dev"
    assert body["Resources"]["CartBus"]["Properties"]["Name"] == "cart-bus-dev"
    assert body["Outputs"]["AddItemFunctionArn"]["Value"] == {
        "Fn::GetAtt": ["AddItemLambdaFunction", "Arn"]
    }
    for output in (
        "ServiceEndpoint",
        "ServerlessDeploymentBucketName",
        "AddItemLambdaFunctionQualifiedArn",
        "CartTableName",
    ):
        assert output in body["Outputs"]


def test_stage_option(tmp_path: Path) -> None:
    """--stage prod changes names and picks custom.memory.prod."""
    template = compile_serverless(CART / "serverless.yml", stage="prod", environ={})
    properties = template.body["Resources"]["AddItemLambdaFunction"]["Properties"]
    assert template.stack_name == "cart-prod"
    assert properties["FunctionName"] == "cart-prod-addItem"
    assert properties["MemorySize"] == 1024
