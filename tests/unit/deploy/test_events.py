"""Tests of the EventBridge resource handlers against moto's EventBridge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from windtunnel.deploy.resources.base import ResourceCreationFailed, handler_for

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference"
BUS_DOCS = f"{DOCS}/aws-resource-events-eventbus.html"
RULE_DOCS = f"{DOCS}/aws-resource-events-rule.html"
BUS_POLICY_DOCS = f"{DOCS}/aws-resource-events-eventbuspolicy.html"

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
PATTERN = {"source": ["app.orders"], "detail-type": ["OrderPlaced"]}


def create(make_context: Any, logical_id: str, resource_type: str,
           properties: dict[str, Any]) -> Any:
    handler = handler_for(resource_type)
    assert handler is not None
    return handler(make_context(logical_id, resource_type), properties)


@pytest.fixture
def events(make_context: Any) -> Any:
    return make_context("Any", "AWS::Events::Rule").client("events")


def test_event_bus_with_policy(make_context: Any, events: Any) -> None:
    """A bus's Ref is its name, with Arn, Name and Policy attributes (BUS_DOCS)."""
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowAccount", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "events:PutEvents",
        "Resource": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/app",
    }]}

    result = create(make_context, "Bus", "AWS::Events::EventBus", {
        "Name": "app", "Description": "application events", "Policy": policy,
        "Tags": [{"Key": "team", "Value": "core"}],
    })

    bus = events.describe_event_bus(Name="app")
    arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/app"
    assert bus["Arn"] == arn
    assert json.loads(bus["Policy"])["Statement"][0]["Sid"] == "AllowAccount"
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "core"}]
    assert result.physical_id == "app"
    assert result.attributes["Arn"] == arn
    assert result.attributes["Name"] == "app"
    assert json.loads(result.attributes["Policy"]) == policy


def test_event_bus_requires_name(make_context: Any) -> None:
    """Name is required (BUS_DOCS)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[Name\] not found"):
        create(make_context, "Bus", "AWS::Events::EventBus", {})


def test_rule_on_default_bus(make_context: Any, events: Any) -> None:
    """A rule keeps its pattern and state, and its Ref is the rule name (RULE_DOCS)."""
    result = create(make_context, "OrderRule", "AWS::Events::Rule", {
        "EventPattern": PATTERN, "State": "DISABLED", "Description": "orders",
        "Targets": [{"Arn": QUEUE_ARN, "Id": "queue"}],
    })

    rule = events.describe_rule(Name=result.physical_id)
    assert json.loads(rule["EventPattern"]) == PATTERN
    assert rule["State"] == "DISABLED"
    assert rule["Description"] == "orders"
    assert result.physical_id.startswith("test-stack-OrderRule-")
    assert len(result.physical_id) <= 64
    assert result.attributes["Arn"] == (
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{result.physical_id}")


def test_rule_on_custom_bus_ref(make_context: Any, events: Any) -> None:
    """On a custom bus, Ref returns "bus name|rule name" (RULE_DOCS)."""
    events.create_event_bus(Name="app")

    result = create(make_context, "Rule", "AWS::Events::Rule", {
        "Name": "orders", "EventBusName": "app", "EventPattern": json.dumps(PATTERN),
    })

    assert result.physical_id == "app|orders"
    assert result.attributes["Arn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/app/orders"
    assert events.describe_rule(Name="orders", EventBusName="app")["State"] == "ENABLED"


def test_rule_on_bus_given_by_arn(make_context: Any, events: Any) -> None:
    """EventBusName may be a bus ARN, and Ref still uses the bus name."""
    bus_arn = events.create_event_bus(Name="app")["EventBusArn"]

    result = create(make_context, "Rule", "AWS::Events::Rule", {
        "Name": "orders", "EventBusName": bus_arn, "EventPattern": PATTERN,
        "Targets": [{"Arn": QUEUE_ARN, "Id": "queue"}],
    })

    assert result.physical_id == "app|orders"
    targets = events.list_targets_by_rule(Rule="orders", EventBusName="app")["Targets"]
    assert [target["Id"] for target in targets] == ["queue"]


def test_rule_target_options(make_context: Any, events: Any) -> None:
    """Targets keep input, transformer, retry policy, dead-letter queue and SQS parameters."""
    transformer = {"InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '{"order": <id>}'}
    targets = [
        {"Arn": f"{QUEUE_ARN}.fifo", "Id": "fifo", "SqsParameters": {"MessageGroupId": "g"},
         "InputPath": "$.detail"},
        {"Arn": QUEUE_ARN, "Id": "constant", "Input": '{"fixed": true}',
         "RetryPolicy": {"MaximumRetryAttempts": "4", "MaximumEventAgeInSeconds": "600"},
         "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"}},
        {"Arn": QUEUE_ARN, "Id": "shaped", "InputTransformer": transformer,
         "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events"},
    ]

    create(make_context, "Rule", "AWS::Events::Rule",
           {"Name": "orders", "EventPattern": PATTERN, "Targets": targets})

    stored = {target["Id"]: target
              for target in events.list_targets_by_rule(Rule="orders")["Targets"]}
    assert stored["fifo"]["SqsParameters"] == {"MessageGroupId": "g"}
    assert stored["fifo"]["InputPath"] == "$.detail"
    assert stored["constant"]["Input"] == '{"fixed": true}'
    assert stored["constant"]["RetryPolicy"] == {"MaximumRetryAttempts": 4,
                                                 "MaximumEventAgeInSeconds": 600}
    assert stored["constant"]["DeadLetterConfig"] == {
        "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"}
    assert stored["shaped"]["InputTransformer"] == transformer
    assert stored["shaped"]["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/events"


def test_rule_schedule_expression(make_context: Any, events: Any) -> None:
    """A scheduled rule keeps its schedule expression."""
    create(make_context, "Rule", "AWS::Events::Rule",
           {"Name": "nightly", "ScheduleExpression": "cron(0 2 * * ? *)"})

    assert events.describe_rule(Name="nightly")["ScheduleExpression"] == "cron(0 2 * * ? *)"


def test_rule_target_requires_id(make_context: Any) -> None:
    """Each target requires Arn and Id (RULE_DOCS, Target)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[Id\] not found"):
        create(make_context, "Rule", "AWS::Events::Rule",
               {"EventPattern": PATTERN, "Targets": [{"Arn": QUEUE_ARN}]})


def test_rule_rejects_unknown_property(make_context: Any) -> None:
    """A property outside the schema fails as CloudFormation fails."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"#: extraneous key \[Pattern\] is not permitted"):
        create(make_context, "Rule", "AWS::Events::Rule", {"Pattern": PATTERN})


def test_bus_policy_statement(make_context: Any, events: Any) -> None:
    """A Statement joins the bus's policy with StatementId as its Sid (BUS_POLICY_DOCS)."""
    events.create_event_bus(Name="app")
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                 "Action": "events:PutEvents",
                 "Resource": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/app"}

    result = create(make_context, "Policy", "AWS::Events::EventBusPolicy",
                    {"EventBusName": "app", "StatementId": "partner", "Statement": statement})

    policy = json.loads(events.describe_event_bus(Name="app")["Policy"])
    assert policy["Statement"] == [{**statement, "Sid": "partner"}]
    assert result.physical_id == "partner"


def test_bus_policy_principal_form(make_context: Any, events: Any) -> None:
    """Action and Principal grant an account PutEvents on the default bus."""
    create(make_context, "Policy", "AWS::Events::EventBusPolicy", {
        "StatementId": "partner", "Action": "events:PutEvents", "Principal": "111122223333",
    })

    policy = json.loads(events.describe_event_bus(Name="default")["Policy"])
    assert policy["Statement"][0]["Sid"] == "partner"
    assert policy["Statement"][0]["Action"] == "events:PutEvents"


def test_bus_policy_requires_statement_id(make_context: Any) -> None:
    """StatementId is required (BUS_POLICY_DOCS)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[StatementId\] not found"):
        create(make_context, "Policy", "AWS::Events::EventBusPolicy",
               {"Action": "events:PutEvents", "Principal": "111122223333"})


def test_archive(make_context: Any, events: Any) -> None:
    """An archive's Ref is its name and Arn is an attribute."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-archive.html
    bus_arn = events.create_event_bus(Name="app")["EventBusArn"]

    result = create(make_context, "Archive", "AWS::Events::Archive", {
        "ArchiveName": "orders", "SourceArn": bus_arn, "EventPattern": PATTERN,
        "RetentionDays": "7",
    })

    archive = events.describe_archive(ArchiveName="orders")
    assert archive["EventSourceArn"] == bus_arn
    assert archive["RetentionDays"] == 7
    assert json.loads(archive["EventPattern"]) == PATTERN
    assert result.physical_id == "orders"
    assert result.attributes["Arn"] == archive["ArchiveArn"]


def test_connection_and_api_destination(make_context: Any, events: Any) -> None:
    """A connection and an API destination are created with their attributes."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-connection.html
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-apidestination.html
    connection = create(make_context, "Connection", "AWS::Events::Connection", {
        "Name": "partner", "AuthorizationType": "API_KEY",
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key",
                                                    "ApiKeyValue": "secret"}},
    })
    destination = create(make_context, "Destination", "AWS::Events::ApiDestination", {
        "Name": "partner-api", "ConnectionArn": connection.attributes["Arn"],
        "InvocationEndpoint": "https://partner.example.com/events", "HttpMethod": "POST",
        "InvocationRateLimitPerSecond": "10",
    })

    stored = events.describe_api_destination(Name="partner-api")
    assert stored["ConnectionArn"] == connection.attributes["Arn"]
    assert stored["HttpMethod"] == "POST"
    assert stored["InvocationRateLimitPerSecond"] == 10
    assert connection.physical_id == "partner"
    assert connection.attributes["ArnForPolicy"] == (
        f"arn:aws:events:{REGION}:{ACCOUNT}:connection/partner")
    assert destination.physical_id == "partner-api"
    assert destination.attributes["Arn"] == stored["ApiDestinationArn"]
