"""Task states calling services: optimized integrations, nested executions, the AWS SDK and
activities, each through the embedded cloud as the state machine's role.

Sources:
- Optimized integrations and their parameters (DynamoDB PutItem/GetItem, SQS SendMessage
  with a JSON MessageBody, SNS Publish, EventBridge PutEvents with a JSON Detail):
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-sqs.html
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html
- Nested executions: ".sync" returns DescribeExecution's answer with Output as a string,
  ".sync:2" with Output as JSON:
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html
- AWS SDK integrations: "ServiceName.ErrorName", both in PascalCase, with the Exception
  suffix: https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
- Activities: a worker calls GetActivityTask, then SendTaskSuccess with the token:
  https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders: {Type: AWS::Serverless::SimpleTable, Properties: {PrimaryKey: {Name: id, Type: String}}}
  Outbox: {Type: AWS::SQS::Queue}
  Alerts: {Type: AWS::SNS::Topic}
  Bus: {Type: AWS::Events::EventBus, Properties: {Name: orders}}
  Approvals: {Type: AWS::StepFunctions::Activity, Properties: {Name: approvals}}
  Child:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: child
      Definition:
        StartAt: Double
        States:
          Double: {Type: Pass, Parameters: {"total.$": "States.MathAdd($.n, $.n)"}, End: true}
  Parent:
    Type: AWS::Serverless::StateMachine
    Properties:
      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref Orders}
        - SQSSendMessagePolicy: {QueueName: !GetAtt Outbox.QueueName}
        - SNSPublishMessagePolicy: {TopicName: !GetAtt Alerts.TopicName}
        - EventBridgePutEventsPolicy: {EventBusName: orders}
        - StepFunctionsExecutionPolicy: {StateMachineName: child}
        - Statement:
            - Effect: Allow
              Action: [states:DescribeExecution, states:StopExecution]
              Resource: !Sub "arn:aws:states:${AWS::Region}:${AWS::AccountId}:execution:child:*"
            - Effect: Allow
              Action: [events:PutTargets, events:PutRule, events:DescribeRule]
              Resource: !Sub "arn:aws:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctions*"
            - Effect: Allow
              Action: [states:GetActivityTask]
              Resource: !Ref Approvals
      Definition:
        StartAt: Start
        States:
          Start: {Type: Pass, End: true}
Outputs:
  OrdersTable: {Value: !Ref Orders}
  OutboxUrl: {Value: !Ref Outbox}
  AlertsArn: {Value: !Ref Alerts}
  ChildArn: {Value: !Ref Child}
  ActivityArn: {Value: !Ref Approvals}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("sfn-integrations")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root) as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def _reset(stack: EmulatedStack) -> None:
    stack.reset()


def _run(stack: EmulatedStack, states: dict[str, Any], body: Any = None,
         start_at: str | None = None) -> dict[str, Any]:
    """Run a definition as the Parent state machine's role; return DescribeExecution."""
    client = stack.client("stepfunctions")
    role = client.describe_state_machine(
        stateMachineArn=stack.physical_id("Parent"))["roleArn"]
    definition = {"StartAt": start_at or next(iter(states)), "States": states}
    name = f"run-{abs(hash(json.dumps(definition, sort_keys=True))) % 10**9}"
    try:
        arn = client.create_state_machine(name=name, definition=json.dumps(definition),
                                          roleArn=role)["stateMachineArn"]
    except client.exceptions.StateMachineAlreadyExists:
        arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    execution = client.start_execution(stateMachineArn=arn, input=json.dumps(body or {}))
    stack.settle()
    return dict(client.describe_execution(executionArn=execution["executionArn"]))


def test_dynamodb_put_then_get(stack: EmulatedStack) -> None:
    table = stack.outputs["OrdersTable"]
    described = _run(stack, {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table,
                               "Item": {"id": {"S.$": "$.id"}, "total": {"N": "12"}}},
                "ResultPath": None, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S.$": "$.id"}}},
                "ResultSelector": {"total.$": "$.Item.total.N"}, "End": True},
    }, {"id": "o-1"})

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {"total": "12"}


def test_a_failed_condition_is_a_dynamodb_error(stack: EmulatedStack) -> None:
    table = stack.outputs["OrdersTable"]
    described = _run(stack, {"Put": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": table, "Item": {"id": {"S": "o-2"}},
                       "ConditionExpression": "attribute_exists(id)"},
        "End": True}})

    assert described["status"] == "FAILED"
    assert described["error"] == "DynamoDB.ConditionalCheckFailedException"
    assert "Error Code: ConditionalCheckFailedException" in described["cause"]


def test_sqs_sns_and_eventbridge(stack: EmulatedStack) -> None:
    described = _run(stack, {
        "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": stack.outputs["OutboxUrl"],
                                "MessageBody": {"order.$": "$.id"}},
                 "ResultPath": "$.sent", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": stack.outputs["AlertsArn"],
                                   "Message.$": "$.id"},
                    "ResultPath": "$.published", "Next": "Announce"},
        "Announce": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                     "Parameters": {"Entries": [{"EventBusName": "orders",
                                                 "Source": "checkout",
                                                 "DetailType": "Order Placed",
                                                 "Detail": {"id.$": "$.id"}}]},
                     "ResultPath": "$.announced", "End": True},
    }, {"id": "o-3"})

    output = json.loads(described["output"])
    messages = stack.client("sqs").receive_message(QueueUrl=stack.outputs["OutboxUrl"])
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(messages["Messages"][0]["Body"]) == {"order": "o-3"}
    assert output["sent"]["MessageId"] == messages["Messages"][0]["MessageId"]
    assert "MessageId" in output["published"]
    assert output["announced"]["FailedEntryCount"] == 0
    [event] = stack.events.published("orders")
    assert event["detail"] == {"id": "o-3"}


@pytest.mark.parametrize(("resource", "output_is_text"), [
    ("arn:aws:states:::states:startExecution.sync", True),
    ("arn:aws:states:::states:startExecution.sync:2", False),
])
def test_a_nested_execution_runs_to_its_end(stack: EmulatedStack, resource: str,
                                            output_is_text: bool) -> None:
    described = _run(stack, {"Nested": {
        "Type": "Task", "Resource": resource,
        "Parameters": {"StateMachineArn": stack.outputs["ChildArn"], "Input": {"n.$": "$.n"}},
        "End": True}}, {"n": 21})

    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    assert output["Status"] == "SUCCEEDED"
    child_output = json.loads(output["Output"]) if output_is_text else output["Output"]
    assert child_output == {"total": 42}


def test_aws_sdk_errors_are_named_in_pascal_case(stack: EmulatedStack) -> None:
    described = _run(stack, {"Get": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
        "Parameters": {"TableName": stack.outputs["OrdersTable"],
                       "Key": {"id": {"S": "o-4"}}},
        "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                    "Parameters": {"TableName": "no-such-table",
                                   "Key": {"id": {"S": "o-4"}}},
                    "End": True}})

    assert described["status"] == "FAILED"
    # The role may not read the other table, so IAM denies the call; DynamoDB's API model
    # declares no AccessDeniedException, so the SDK's catch-all exception names it.
    assert described["error"] == "DynamoDb.DynamoDbException"
    assert "Error Code: AccessDeniedException" in described["cause"]


def test_an_activity_waits_for_its_worker(stack: EmulatedStack) -> None:
    client = stack.client("stepfunctions")
    role = client.describe_state_machine(stateMachineArn=stack.physical_id("Parent"))["roleArn"]
    definition = {"StartAt": "Approve", "States": {"Approve": {
        "Type": "Task", "Resource": stack.outputs["ActivityArn"], "End": True}}}
    arn = client.create_state_machine(name="activity-run", definition=json.dumps(definition),
                                      roleArn=role)["stateMachineArn"]
    execution = client.start_execution(stateMachineArn=arn, input='{"order": "o-5"}')

    task = client.get_activity_task(activityArn=stack.outputs["ActivityArn"],
                                    workerName="approver-1")
    client.send_task_success(taskToken=task["taskToken"], output='{"approved": true}')

    described = client.describe_execution(executionArn=execution["executionArn"])
    events = client.get_execution_history(executionArn=execution["executionArn"])["events"]
    assert json.loads(task["input"]) == {"order": "o-5"}
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"approved": True}
    assert [event["type"] for event in events][2:5] == [
        "ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
