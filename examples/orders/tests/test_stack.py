"""Integration tests of a deployed orders stack, found through its CloudFormation outputs.

The tests use plain boto3 and read the stack name from AWS_SAM_STACK_NAME, so they run
unchanged against a stack in AWS or against a local endpoint that AWS_ENDPOINT_URL names.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3
import pytest

# Output keys that the SAM, Serverless Framework and CloudFormation versions all declare.
EXPECTED_OUTPUTS = (
    "OrdersTableName",
    "OrdersQueueUrl",
    "OrdersDeadLetterQueueUrl",
    "NotificationsTopicArn",
    "EventBusName",
    "CreateOrderFunctionName",
)


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    """Return the stack's outputs by OutputKey."""
    stack_name = os.environ.get("AWS_SAM_STACK_NAME")
    if not stack_name:
        pytest.skip("AWS_SAM_STACK_NAME is not set: set it to the name of a deployed "
                    "orders stack, or run these tests through 'windtunnel up'")

    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0]["Outputs"]}


@pytest.fixture
def order() -> dict[str, Any]:
    """Return a new order whose orderId no other test run uses."""
    return {
        "orderId": f"test-{uuid.uuid4()}",
        "customerId": "customer-1",
        "items": [{"sku": "BOOK-1", "quantity": 2}],
    }


def test_stack_declares_outputs(outputs: dict[str, str]) -> None:
    """The stack declares every output that the tests below use."""
    for key in EXPECTED_OUTPUTS:
        assert outputs.get(key), f"output {key} is missing or empty"


def test_table_stores_order(outputs: dict[str, str], order: dict[str, Any]) -> None:
    """An item written to the orders table reads back unchanged."""
    table = boto3.resource("dynamodb").Table(outputs["OrdersTableName"])
    key = {"orderId": order["orderId"]}

    table.put_item(Item=order)
    try:
        stored = table.get_item(Key=key, ConsistentRead=True).get("Item")
    finally:
        table.delete_item(Key=key)

    assert stored is not None
    assert stored["customerId"] == "customer-1"
    assert stored["items"] == [{"sku": "BOOK-1", "quantity": 2}]


def test_table_key_is_order_id(outputs: dict[str, str]) -> None:
    """The orders table has orderId, a string, as its only key."""
    client = boto3.client("dynamodb")

    table = client.describe_table(TableName=outputs["OrdersTableName"])["Table"]

    assert table["KeySchema"] == [{"AttributeName": "orderId", "KeyType": "HASH"}]
    assert {"AttributeName": "orderId", "AttributeType": "S"} in table["AttributeDefinitions"]


def test_queue_accepts_order(outputs: dict[str, str], order: dict[str, Any]) -> None:
    """The orders queue accepts an order message and reports its dead-letter queue."""
    sqs = boto3.client("sqs")
    queue_url = outputs["OrdersQueueUrl"]

    # In AWS the create order function consumes this queue, so a receive here would race
    # with it. The send and receive round trip is tested on the dead-letter queue instead.
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(order))
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["RedrivePolicy", "QueueArn"])["Attributes"]
    dead_letter_arn = sqs.get_queue_attributes(
        QueueUrl=outputs["OrdersDeadLetterQueueUrl"],
        AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    assert sent["MessageId"]
    redrive_policy = json.loads(attributes["RedrivePolicy"])
    assert redrive_policy["deadLetterTargetArn"] == dead_letter_arn
    assert int(redrive_policy["maxReceiveCount"]) == 3


def test_dead_letter_queue_round_trip(outputs: dict[str, str], order: dict[str, Any]) -> None:
    """A message sent to the dead-letter queue is received with the same body."""
    sqs = boto3.client("sqs")
    queue_url = outputs["OrdersDeadLetterQueueUrl"]
    body = json.dumps(order)

    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=5).get("Messages", [])
    for message in received:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    assert body in [message["Body"] for message in received]


def test_topic_exists(outputs: dict[str, str]) -> None:
    """GetTopicAttributes on the notifications topic returns its own ARN."""
    topic_arn = outputs["NotificationsTopicArn"]

    attributes = boto3.client("sns").get_topic_attributes(TopicArn=topic_arn)["Attributes"]

    assert attributes["TopicArn"] == topic_arn


def test_bus_routes_order_created(outputs: dict[str, str]) -> None:
    """The event bus has a rule that matches OrderCreated events from the orders source."""
    events = boto3.client("events")
    bus_name = outputs["EventBusName"]

    bus = events.describe_event_bus(Name=bus_name)
    rules = events.list_rules(EventBusName=bus_name)["Rules"]

    assert bus["Name"] == bus_name
    patterns = [json.loads(rule["EventPattern"]) for rule in rules if "EventPattern" in rule]
    assert {"source": ["orders"], "detail-type": ["OrderCreated"]} in patterns


def test_rule_targets_function(outputs: dict[str, str]) -> None:
    """The OrderCreated rule sends events to a Lambda function."""
    events = boto3.client("events")
    bus_name = outputs["EventBusName"]
    rules = events.list_rules(EventBusName=bus_name)["Rules"]
    rule = next(rule for rule in rules if "OrderCreated" in rule.get("EventPattern", ""))

    targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus_name)["Targets"]

    assert len(targets) == 1
    assert ":lambda:" in targets[0]["Arn"]


def test_function_configuration(outputs: dict[str, str]) -> None:
    """The create order function runs Python 3.12 with the table and bus names set."""
    function_name = outputs["CreateOrderFunctionName"]

    configuration = boto3.client("lambda").get_function(
        FunctionName=function_name)["Configuration"]

    assert configuration["FunctionName"] == function_name
    assert configuration["Runtime"] == "python3.12"
    assert configuration["Handler"].endswith("create_order.handler")
    variables = configuration["Environment"]["Variables"]
    assert variables["ORDERS_TABLE"] == outputs["OrdersTableName"]
    assert variables["EVENT_BUS_NAME"] == outputs["EventBusName"]


def test_function_polls_queue(outputs: dict[str, str]) -> None:
    """An event source mapping connects the orders queue to the create order function."""
    sqs = boto3.client("sqs")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=outputs["OrdersQueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    mappings = boto3.client("lambda").list_event_source_mappings(
        FunctionName=outputs["CreateOrderFunctionName"])["EventSourceMappings"]

    assert [mapping["EventSourceArn"] for mapping in mappings] == [queue_arn]
    assert mappings[0]["BatchSize"] == 10
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
