"""Conformance table: the resources AWS's SAM transform generates, as the SAM docs list them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from windtunnel.template.sam import translate_sam
from windtunnel.template.yaml import load_yaml

FIXTURE = Path(__file__).parents[3] / "fixtures" / "sam" / "app" / "template.yaml"

DOCS = "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide"
FUNCTION_DOC = f"{DOCS}/sam-specification-generated-resources-function.html"
API_DOC = f"{DOCS}/sam-specification-generated-resources-api.html"
HTTP_API_DOC = f"{DOCS}/sam-specification-generated-resources-httpapi.html"
SIMPLE_TABLE_DOC = f"{DOCS}/sam-specification-generated-resources-simpletable.html"
LAYER_DOC = f"{DOCS}/sam-specification-generated-resources-layerversion.html"
STATE_MACHINE_DOC = f"{DOCS}/sam-specification-generated-resources-statemachine.html"
APPLICATION_DOC = f"{DOCS}/sam-specification-generated-resources-application.html"
POLICY_TEMPLATES_DOC = f"{DOCS}/serverless-policy-template-list.html"
GLOBALS_DOC = f"{DOCS}/sam-specification-template-anatomy-globals.html"
MANAGED_POLICIES_DOC = "https://docs.aws.amazon.com/aws-managed-policy/latest/reference"


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    body = load_yaml(FIXTURE.read_text(encoding="utf-8"), file=FIXTURE)
    template = translate_sam(body, path=FIXTURE, parameters={})
    result: dict[str, Any] = template["Resources"]
    return result


def find_one(resources: dict[str, Any], pattern: str) -> str:
    """Return the one logical ID that matches ``pattern`` in full."""
    matches = [logical_id for logical_id in resources if re.fullmatch(pattern, logical_id)]
    assert len(matches) == 1, f"{pattern} matched {matches}"
    return matches[0]


# Logical ID (a regular expression, because some carry a content hash), the resource type
# the docs name, and the page that names them.
GENERATED_RESOURCES = [
    # AWS::Serverless::Function: the function and its execution role.
    ("OrdersFunction", "AWS::Lambda::Function", FUNCTION_DOC),
    ("OrdersFunctionRole", "AWS::IAM::Role", FUNCTION_DOC),
    # AutoPublishAlias: <function>Version<hash> and <function>Alias<alias>.
    ("OrdersFunctionVersion[0-9a-f]{10}", "AWS::Lambda::Version", FUNCTION_DOC),
    ("OrdersFunctionAliaslive", "AWS::Lambda::Alias", FUNCTION_DOC),
    # Api event without RestApiId: the implicit ServerlessRestApi and its Prod stage.
    ("ServerlessRestApi", "AWS::ApiGateway::RestApi", FUNCTION_DOC),
    ("ServerlessRestApiDeployment[0-9a-f]{10}", "AWS::ApiGateway::Deployment", FUNCTION_DOC),
    ("ServerlessRestApiProdStage", "AWS::ApiGateway::Stage", FUNCTION_DOC),
    ("OrdersFunctionGetOrdersPermissionProd", "AWS::Lambda::Permission", FUNCTION_DOC),
    # HttpApi event without ApiId: the implicit ServerlessHttpApi and its $default stage.
    ("ServerlessHttpApi", "AWS::ApiGatewayV2::Api", HTTP_API_DOC),
    ("ServerlessHttpApiApiGatewayDefaultStage", "AWS::ApiGatewayV2::Stage", HTTP_API_DOC),
    ("OrdersFunctionPostOrderPermission", "AWS::Lambda::Permission", FUNCTION_DOC),
    # SQS and DynamoDB events: one event source mapping named <function><event>.
    ("WorkerFunctionQueue", "AWS::Lambda::EventSourceMapping", FUNCTION_DOC),
    ("WorkerFunctionStream", "AWS::Lambda::EventSourceMapping", FUNCTION_DOC),
    # EventBridgeRule and Schedule events: a rule and a permission for it.
    ("WorkerFunctionOrderPlaced", "AWS::Events::Rule", FUNCTION_DOC),
    ("WorkerFunctionOrderPlacedPermission", "AWS::Lambda::Permission", FUNCTION_DOC),
    ("WorkerFunctionNightly", "AWS::Events::Rule", FUNCTION_DOC),
    ("WorkerFunctionNightlyPermission", "AWS::Lambda::Permission", FUNCTION_DOC),
    # AWS::Serverless::SimpleTable keeps its logical ID.
    ("OrdersTable", "AWS::DynamoDB::Table", SIMPLE_TABLE_DOC),
    # AWS::Serverless::LayerVersion: <layer><hash>.
    ("CommonLayer[0-9a-f]{10}", "AWS::Lambda::LayerVersion", LAYER_DOC),
    # AWS::Serverless::Api: the API, <api>Deployment<hash> and <api><stage>Stage.
    ("OrdersApi", "AWS::ApiGateway::RestApi", API_DOC),
    ("OrdersApiDeployment[0-9a-f]{10}", "AWS::ApiGateway::Deployment", API_DOC),
    ("OrdersApiv1Stage", "AWS::ApiGateway::Stage", API_DOC),
    # AWS::Serverless::StateMachine: the state machine and its role.
    ("OrdersStateMachine", "AWS::StepFunctions::StateMachine", STATE_MACHINE_DOC),
    ("OrdersStateMachineRole", "AWS::IAM::Role", STATE_MACHINE_DOC),
    # AWS::Serverless::Application: a nested stack with the same logical ID.
    ("Billing", "AWS::CloudFormation::Stack", APPLICATION_DOC),
]


@pytest.mark.parametrize(
    ("pattern", "resource_type", "source"),
    GENERATED_RESOURCES,
    ids=[row[0] for row in GENERATED_RESOURCES],
)
def test_generated_resource(
    resources: dict[str, Any], pattern: str, resource_type: str, source: str
) -> None:
    """The transform generates each resource that the SAM docs list, under its logical ID."""
    logical_id = find_one(resources, pattern)
    assert resources[logical_id]["Type"] == resource_type, source


def test_no_serverless_resources_remain(resources: dict[str, Any]) -> None:
    """Every AWS::Serverless::* resource is replaced by CloudFormation resources."""
    left = [r["Type"] for r in resources.values() if r["Type"].startswith("AWS::Serverless::")]
    assert left == []


def test_alias_points_at_version(resources: dict[str, Any]) -> None:
    """AutoPublishAlias creates an alias named after it on the published version."""
    # Source: FUNCTION_DOC, "AutoPublishAlias property is specified".
    version_id = find_one(resources, "OrdersFunctionVersion[0-9a-f]{10}")
    alias = resources["OrdersFunctionAliaslive"]["Properties"]
    assert alias["Name"] == "live"
    assert alias["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}


def test_api_event_permission_scope(resources: dict[str, Any]) -> None:
    """An Api event allows API Gateway to invoke the function for its method and path."""
    # Source: FUNCTION_DOC, "Api event source is specified".
    permission = resources["OrdersFunctionGetOrdersPermissionProd"]["Properties"]
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["Principal"] == "apigateway.amazonaws.com"
    source_arn = permission["SourceArn"]["Fn::Sub"]
    assert source_arn[0].endswith("/orders")
    assert source_arn[1]["__ApiId__"] == {"Ref": "ServerlessRestApi"}


def test_sqs_event_mapping(resources: dict[str, Any]) -> None:
    """An SQS event maps the queue to the function with the event's batch size."""
    # Source: f"{DOCS}/sam-property-function-sqs.html"
    mapping = resources["WorkerFunctionQueue"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["OrdersQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": "WorkerFunction"}
    assert mapping["BatchSize"] == 5


def test_dynamodb_event_mapping(resources: dict[str, Any]) -> None:
    """A DynamoDB event maps the table's stream with its starting position."""
    # Source: f"{DOCS}/sam-property-function-dynamodb.html"
    mapping = resources["WorkerFunctionStream"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["StreamTable", "StreamArn"]}
    assert mapping["StartingPosition"] == "LATEST"


def test_eventbridge_rule_pattern(resources: dict[str, Any]) -> None:
    """An EventBridgeRule event becomes a rule with the pattern, targeting the function."""
    # Source: f"{DOCS}/sam-property-function-eventbridgerule.html"
    rule = resources["WorkerFunctionOrderPlaced"]["Properties"]
    assert rule["EventPattern"] == {"source": ["orders"]}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["WorkerFunction", "Arn"]}


def test_schedule_rule_expression(resources: dict[str, Any]) -> None:
    """A Schedule event becomes a rule with the schedule expression."""
    # Source: f"{DOCS}/sam-property-function-schedule.html"
    rule = resources["WorkerFunctionNightly"]["Properties"]
    assert rule["ScheduleExpression"] == "rate(1 day)"


@pytest.mark.parametrize(
    ("role", "policy_name"),
    [
        # Every function role gets basic execution (FUNCTION_DOC); SQS and DynamoDB
        # events add their execution roles.
        ("OrdersFunctionRole", "service-role/AWSLambdaBasicExecutionRole"),
        ("OrdersFunctionRole", "AWSXrayWriteOnlyAccess"),
        ("WorkerFunctionRole", "service-role/AWSLambdaSQSQueueExecutionRole"),
        ("WorkerFunctionRole", "service-role/AWSLambdaDynamoDBExecutionRole"),
    ],
)
def test_managed_policy_arns(resources: dict[str, Any], role: str, policy_name: str) -> None:
    """Managed policies are attached by their ARN, with the path IAM lists them under."""
    # Source: f"{MANAGED_POLICIES_DOC}/{policy_name.split('/')[-1]}.html"
    arns = resources[role]["Properties"]["ManagedPolicyArns"]
    assert f"arn:aws:iam::aws:policy/{policy_name}" in arns


def statement_actions(role: dict[str, Any]) -> list[list[str]]:
    policies = role["Properties"]["Policies"]
    return [
        statement["Action"]
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def test_dynamodb_crud_policy(resources: dict[str, Any]) -> None:
    """DynamoDBCrudPolicy expands to the actions the policy template list gives."""
    # Source: POLICY_TEMPLATES_DOC, DynamoDBCrudPolicy.
    actions = statement_actions(resources["OrdersFunctionRole"])
    assert sorted(actions[0]) == sorted(
        [
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
            "dynamodb:ConditionCheckItem",
        ]
    )


def test_sqs_send_message_policy(resources: dict[str, Any]) -> None:
    """SQSSendMessagePolicy expands to sqs:SendMessage* on the queue."""
    # Source: POLICY_TEMPLATES_DOC, SQSSendMessagePolicy.
    actions = statement_actions(resources["OrdersFunctionRole"])
    assert actions[1] == ["sqs:SendMessage*"]


@pytest.mark.parametrize("function", ["OrdersFunction", "WorkerFunction", "InlineFunction"])
def test_globals_apply(resources: dict[str, Any], function: str) -> None:
    """Globals.Function values apply to every function that does not set them."""
    # Source: GLOBALS_DOC
    properties = resources[function]["Properties"]
    assert properties["Runtime"] == "python3.12"
    assert properties["Timeout"] == 10
    assert properties["Environment"]["Variables"]["STAGE"] == {"Ref": "Stage"}


def test_simple_table_defaults(resources: dict[str, Any]) -> None:
    """SimpleTable creates an on-demand table keyed by the primary key."""
    # Source: f"{DOCS}/sam-resource-simpletable.html"
    table = resources["OrdersTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_state_machine_substitutions(resources: dict[str, Any]) -> None:
    """A state machine keeps DefinitionSubstitutions for Step Functions to apply."""
    # Source: f"{DOCS}/sam-resource-statemachine.html"
    properties = resources["OrdersStateMachine"]["Properties"]
    assert properties["DefinitionSubstitutions"] == {
        "OrdersFunctionArn": {"Fn::GetAtt": ["OrdersFunction", "Arn"]}
    }
