"""EventBridge targets through a loaded stack: input settings, dead-letter queues, metrics.

Sources:
- Targets receive the event, a constant Input, the InputPath selection or the
  InputTransformer output: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
- The event's fields (account included): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
- Retriable errors such as throttling are retried with backoff until MaximumRetryAttempts
  or MaximumEventAgeInSeconds runs out (default 185 attempts and 24 hours), then the event
  goes to the dead-letter queue with EXHAUSTED_RETRY_CONDITION:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
- Missing permissions and missing targets are not retried; the event goes to the target's
  dead-letter queue with RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE and
  RETRY_ATTEMPTS attributes, and the queue policy must allow events.amazonaws.com:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
- Metrics in AWS/Events by RuleName (Invocations, FailedInvocations, InvocationsSentToDlq,
  InvocationsFailedToBeSentToDlq, TriggeredRules, MatchedEvents):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
- PutTargets limits (RetryPolicy ranges): https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel import EmulatedStack, Stack
from windtunnel.cloud.moto_corrections import _rule_delivery_services
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.events.targets.delivery import (
    cancel_pending_retries,
    deliver_to_targets,
)

pytestmark = pytest.mark.integration

HANDLERS = """
def consume(event, context):
    return event
"""

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31

Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/

Resources:
  ShopBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: shop

  ConsumerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.consume
  ConsumerPermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref ConsumerFunction
      Action: lambda:InvokeFunction
      Principal: events.amazonaws.com
      SourceArn: !GetAtt OrderRule.Arn

  OrderRule:
    Type: AWS::Events::Rule
    Properties:
      Name: orders
      EventBusName: !Ref ShopBus
      EventPattern:
        source: [shop]
      Targets:
        - Id: whole-event
          Arn: !GetAtt EventQueue.Arn
        - Id: detail-only
          Arn: !GetAtt DetailQueue.Arn
          InputPath: $.detail
        - Id: text
          Arn: !GetAtt TextQueue.Arn
          InputTransformer:
            InputPathsMap:
              order: $.detail.order
              customer: $.detail.customer
            InputTemplate: '"Order <order> for <customer>"'
        - Id: function
          Arn: !GetAtt ConsumerFunction.Arn
          Input: '{"constant": "input"}'

  FailingRule:
    Type: AWS::Events::Rule
    Properties:
      Name: failing
      EventBusName: !Ref ShopBus
      EventPattern:
        source: [shop]
      Targets:
        - Id: closed-queue
          Arn: !GetAtt ClosedQueue.Arn
          DeadLetterConfig:
            Arn: !GetAtt DeadLetterQueue.Arn
        - Id: missing-function
          Arn: !Sub arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:missing
          RetryPolicy:
            MaximumRetryAttempts: 3
            MaximumEventAgeInSeconds: 120
          DeadLetterConfig:
            Arn: !GetAtt DeadLetterQueue.Arn
        - Id: closed-dead-letter-queue
          Arn: !GetAtt ClosedQueue.Arn
          DeadLetterConfig:
            Arn: !GetAtt ClosedDeadLetterQueue.Arn

  EventQueue:
    Type: AWS::SQS::Queue
  DetailQueue:
    Type: AWS::SQS::Queue
  TextQueue:
    Type: AWS::SQS::Queue
  OrderQueuesPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref EventQueue, !Ref DetailQueue, !Ref TextQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: "*"
            Condition:
              ArnEquals: {aws:SourceArn: !GetAtt OrderRule.Arn}

  # No policy: EventBridge may not send to it.
  ClosedQueue:
    Type: AWS::SQS::Queue
  ClosedDeadLetterQueue:
    Type: AWS::SQS::Queue
  DeadLetterQueue:
    Type: AWS::SQS::Queue
  DeadLetterQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref DeadLetterQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt DeadLetterQueue.Arn
            Condition:
              ArnEquals: {aws:SourceArn: [!GetAtt FailingRule.Arn, !GetAtt OrderRule.Arn]}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("eventbridge-targets")
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLERS)
    with Stack.local(root, stack_name="targets") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def fresh_state(stack: EmulatedStack) -> None:
    stack.reset()


def _rule_arn(stack: EmulatedStack, logical_id: str) -> str:
    return str(stack.deployed.resources[logical_id].attributes["Arn"])


def _put_order(stack: EmulatedStack, order: int) -> str:
    response = stack.client("events").put_events(Entries=[{
        "EventBusName": "shop",
        "Source": "shop",
        "DetailType": "OrderPlaced",
        "Detail": json.dumps({"order": order, "customer": "ana"}),
    }])
    assert response["FailedEntryCount"] == 0
    return str(response["Entries"][0]["EventId"])


def _receive(stack: EmulatedStack, logical_id: str) -> list[dict[str, Any]]:
    response = stack.client("sqs").receive_message(
        QueueUrl=stack.physical_id(logical_id), MaxNumberOfMessages=10,
        MessageAttributeNames=["All"])
    return list(response.get("Messages", []))


def _metric_sum(stack: EmulatedStack, rule_name: str, metric: str) -> float:
    now = datetime.datetime.now(datetime.UTC)
    response = stack.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Events", MetricName=metric,
        Dimensions=[{"Name": "RuleName", "Value": rule_name}],
        StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(hours=1),
        Period=7200, Statistics=["Sum"])
    return float(sum(point["Sum"] for point in response["Datapoints"]))


def test_queue_receives_event_as_eventbridge_shapes_it(stack: EmulatedStack) -> None:
    """A queue target gets the nine event fields, with account and no ingestion-time."""
    event_id = _put_order(stack, 1)

    [message] = _receive(stack, "EventQueue")
    body = json.loads(message["Body"])

    assert list(body) == ["version", "id", "detail-type", "source", "account", "time",
                          "region", "resources", "detail"]
    assert body["id"] == event_id
    assert body["account"] == "123456789012"
    assert body["detail"] == {"order": 1, "customer": "ana"}


def test_queue_receives_input_path(stack: EmulatedStack) -> None:
    """InputPath $.detail sends only the detail to a queue target."""
    _put_order(stack, 2)

    [message] = _receive(stack, "DetailQueue")

    assert json.loads(message["Body"]) == {"order": 2, "customer": "ana"}


def test_queue_receives_transformed_text(stack: EmulatedStack) -> None:
    """A string template reaches a queue target as the text, quotes included."""
    _put_order(stack, 3)

    [message] = _receive(stack, "TextQueue")

    assert message["Body"] == '"Order 3 for ana"'


def test_function_receives_constant_input(stack: EmulatedStack) -> None:
    """A Lambda target with Input is invoked with the constant JSON."""
    _put_order(stack, 4)
    stack.settle()

    [delivery] = stack.events.delivered("ConsumerFunction")
    consumer = stack.function_name("ConsumerFunction")
    [invocation] = [result for result in stack.invocations
                    if result.function_name == consumer]

    assert delivery.json() == {"constant": "input"}
    assert invocation.payload == {"constant": "input"}


def test_denied_target_goes_to_dead_letter_queue(stack: EmulatedStack) -> None:
    """A queue policy that denies EventBridge sends the event to the DLQ without retries."""
    event_id = _put_order(stack, 5)
    stack.settle()
    failing_rule = _rule_arn(stack, "FailingRule")
    closed_queue = str(stack.deployed.resources["ClosedQueue"].attributes["Arn"])

    messages = _receive(stack, "DeadLetterQueue")
    [denied] = [message for message in messages
                if message["MessageAttributes"]["TARGET_ARN"]["StringValue"] == closed_queue]
    attributes = {name: value["StringValue"]
                  for name, value in denied["MessageAttributes"].items()}

    assert _receive(stack, "ClosedQueue") == []
    assert json.loads(denied["Body"])["id"] == event_id
    assert attributes["RULE_ARN"] == failing_rule
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert attributes["ERROR_MESSAGE"]


def test_missing_function_goes_to_dead_letter_queue(stack: EmulatedStack) -> None:
    """A function that does not exist is not retried; the DLQ message carries NO_RESOURCE."""
    _put_order(stack, 6)
    stack.settle()
    stack.clock.advance(600)

    messages = _receive(stack, "DeadLetterQueue")
    [missing] = [message for message in messages
                 if message["MessageAttributes"]["TARGET_ARN"]["StringValue"].endswith(
                     ":function:missing")]
    attributes = {name: value["StringValue"]
                  for name, value in missing["MessageAttributes"].items()}

    assert attributes["ERROR_CODE"] == "NO_RESOURCE"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert len(messages) == 2


def test_delivery_metrics(stack: EmulatedStack) -> None:
    """Each rule writes its delivery metrics to AWS/Events with the RuleName dimension."""
    before = {metric: _metric_sum(stack, "failing", metric) for metric in (
        "MatchedEvents", "TriggeredRules", "Invocations", "FailedInvocations",
        "InvocationsSentToDlq", "InvocationsFailedToBeSentToDlq")}
    orders_before = _metric_sum(stack, "orders", "Invocations")

    _put_order(stack, 7)
    stack.settle()

    def added(metric: str) -> float:
        return _metric_sum(stack, "failing", metric) - before[metric]

    assert added("MatchedEvents") == 1
    assert added("TriggeredRules") == 1
    assert added("Invocations") == 3
    assert added("FailedInvocations") == 3
    assert added("InvocationsSentToDlq") == 2
    assert added("InvocationsFailedToBeSentToDlq") == 1
    assert _metric_sum(stack, "orders", "Invocations") - orders_before == 4


@pytest.mark.parametrize(("policy", "message"), [
    ({"MaximumRetryAttempts": 186},
     "1 validation error detected: Value '186' at "
     "'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: "
     "Member must have value less than or equal to 185"),
    ({"MaximumEventAgeInSeconds": 90000},
     "1 validation error detected: Value '90000' at "
     "'targets.1.member.retryPolicy.maximumEventAgeInSeconds' failed to satisfy "
     "constraint: Member must have value less than or equal to 86400"),
])
def test_put_targets_rejects_retry_policy(stack: EmulatedStack, policy: dict[str, int],
                                          message: str) -> None:
    """PutTargets returns ValidationException for a retry policy out of range."""
    queue_arn = str(stack.deployed.resources["EventQueue"].attributes["Arn"])

    with pytest.raises(ClientError) as raised:
        stack.client("events").put_targets(Rule="orders", EventBusName="shop", Targets=[
            {"Id": "bad", "Arn": queue_arn, "RetryPolicy": policy}])

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"] == message
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_put_targets_rejects_invalid_input(stack: EmulatedStack) -> None:
    """PutTargets rejects an Input that is not JSON, and the rule keeps its targets."""
    queue_arn = str(stack.deployed.resources["EventQueue"].attributes["Arn"])
    events = stack.client("events")

    with pytest.raises(ClientError) as raised:
        events.put_targets(Rule="orders", EventBusName="shop", Targets=[
            {"Id": "bad", "Arn": queue_arn, "Input": "not json"}])
    targets = events.list_targets_by_rule(Rule="orders", EventBusName="shop")["Targets"]

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"] == \
        "Input for target bad is not valid JSON text."
    assert "bad" not in [target["Id"] for target in targets]


class ThrottlingLambda:
    """Lambda's Invoke API returning TooManyRequestsException for the first ``failures``
    requests, then passing the rest to the stack's real invoker."""

    def __init__(self, stack: EmulatedStack, failures: int) -> None:
        self.failures = failures
        self.requests = 0
        self._invoke = _rule_delivery_services().invoke_function

    def __call__(self, rule_arn: str, function_arn: str, payload: bytes) -> None:
        self.requests += 1
        if self.requests <= self.failures:
            raise AwsError("TooManyRequestsException", "Rate Exceeded.", status=429)
        assert self._invoke is not None
        self._invoke(rule_arn, function_arn, payload)


def _deliver_throttled(stack: EmulatedStack, lambda_api: ThrottlingLambda,
                       retry_policy: dict[str, int]) -> None:
    """Deliver one event from OrderRule to the consumer function through ``lambda_api``."""
    from moto.events.models import events_backends

    rule = events_backends["123456789012"]["us-east-1"].event_buses["shop"].rules["orders"]
    services = dataclasses.replace(_rule_delivery_services(), invoke_function=lambda_api,
                                   clock=stack.clock)
    target = {
        "Id": "throttled",
        "Arn": str(stack.deployed.resources["ConsumerFunction"].attributes["Arn"]),
        "RetryPolicy": retry_policy,
        "DeadLetterConfig": {
            "Arn": str(stack.deployed.resources["DeadLetterQueue"].attributes["Arn"])},
    }
    event = {"version": "0", "id": "retried-event", "detail-type": "OrderPlaced",
             "source": "shop", "account": "123456789012", "time": time.time(),
             "region": "us-east-1", "resources": [], "detail": {"order": 8},
             "ingestion-time": time.time()}
    deliver_to_targets(rule, [target], event, services)


def test_throttled_delivery_retries_then_dead_letter_queue(stack: EmulatedStack) -> None:
    """Throttling is retried after 1 and 2 seconds; after MaximumRetryAttempts the event
    goes to the DLQ with EXHAUSTED_RETRY_CONDITION MaximumRetryAttempts."""
    lambda_api = ThrottlingLambda(stack, failures=10)

    _deliver_throttled(stack, lambda_api,
                       {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600})
    requests_at_start = lambda_api.requests
    stack.clock.advance(1)
    requests_after_first_retry = lambda_api.requests
    queued_before_last_retry = _receive(stack, "DeadLetterQueue")
    stack.clock.advance(2)
    [message] = _receive(stack, "DeadLetterQueue")
    attributes = {name: value["StringValue"]
                  for name, value in message["MessageAttributes"].items()}

    assert requests_at_start == 1
    assert requests_after_first_retry == 2
    assert queued_before_last_retry == []
    assert lambda_api.requests == 3
    assert json.loads(message["Body"])["id"] == "retried-event"
    assert attributes["ERROR_CODE"] == "THROTTLING"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "2"
    assert attributes["TARGET_ARN"].endswith(":function:" +
                                             stack.function_name("ConsumerFunction"))


def test_throttled_delivery_stops_at_maximum_event_age(stack: EmulatedStack) -> None:
    """Retries stop when the next one would come after MaximumEventAgeInSeconds: with 60
    seconds, retries run at 1, 3, 7, 15 and 31 seconds, and one at 63 would be too late."""
    lambda_api = ThrottlingLambda(stack, failures=1000)

    _deliver_throttled(stack, lambda_api, {"MaximumEventAgeInSeconds": 60})
    stack.clock.advance(3600)
    [message] = _receive(stack, "DeadLetterQueue")
    attributes = {name: value["StringValue"]
                  for name, value in message["MessageAttributes"].items()}

    assert lambda_api.requests == 6
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    assert attributes["RETRY_ATTEMPTS"] == "5"


def test_throttled_delivery_succeeds_on_retry(stack: EmulatedStack) -> None:
    """A retry that Lambda accepts invokes the function once; nothing goes to the DLQ."""
    lambda_api = ThrottlingLambda(stack, failures=2)

    _deliver_throttled(stack, lambda_api, {})
    stack.clock.advance(10)
    stack.settle()
    consumer = stack.function_name("ConsumerFunction")
    invocations = [result for result in stack.invocations
                   if result.function_name == consumer]

    assert lambda_api.requests == 3
    assert [invocation.payload["detail"] for invocation in invocations] == [{"order": 8}]
    assert _receive(stack, "DeadLetterQueue") == []


def test_cancelled_retries_do_not_run(stack: EmulatedStack) -> None:
    """cancel_pending_retries drops scheduled retries, so nothing reaches the DLQ later."""
    lambda_api = ThrottlingLambda(stack, failures=10)

    _deliver_throttled(stack, lambda_api, {"MaximumRetryAttempts": 2})
    cancelled = cancel_pending_retries()
    stack.clock.advance(600)

    assert cancelled == 1
    assert lambda_api.requests == 1
    assert _receive(stack, "DeadLetterQueue") == []
