"""Asynchronous invocation: retries on the virtual clock, destinations and dead letters.

Sources:
- Retries: "If the function returns an error, by default Lambda attempts to run it two
  more times, with a one-minute wait between the first two attempts, and two minutes
  between the second and third attempts."
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
- MaximumRetryAttempts (0-2) and MaximumEventAgeInSeconds (60-21600):
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html
- Invocation records, destinations and the dead-letter queue's RequestID, ErrorCode and
  ErrorMessage attributes:
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
- Reserved concurrency of zero: "Lambda begins sending new events to the configured
  dead-letter queue or the on-failure event destination, without any retries" (same page).
- SAM's EventInvokeConfig and DeadLetterQueue add the execution role's permissions:
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventinvokeconfiguration.html
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-deadletterqueue.html
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = """
attempts = {}


def flaky(event, context):
    key = event["id"]
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] <= event.get("failures", 0):
        raise RuntimeError(f"attempt {attempts[key]} of {key} failed")
    return {"id": key, "attempts": attempts[key]}


def record(event, context):
    return event
"""

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Handler: app.flaky}
Resources:
  SuccessQueue: {Type: AWS::SQS::Queue}
  FailureQueue: {Type: AWS::SQS::Queue}
  DeadLetters: {Type: AWS::SQS::Queue}
  ClosedQueue: {Type: AWS::SQS::Queue}
  ResultTopic: {Type: AWS::SNS::Topic}
  TopicReader: {Type: AWS::SQS::Queue}
  TopicReaderPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref TopicReader]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt TopicReader.Arn
  TopicReaderSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref ResultTopic
      Protocol: sqs
      Endpoint: !GetAtt TopicReader.Arn
      RawMessageDelivery: true

  Worker:
    Type: AWS::Serverless::Function
    Properties:
      EventInvokeConfig:
        MaximumRetryAttempts: 2
        DestinationConfig:
          OnSuccess: {Type: SQS, Destination: !GetAtt SuccessQueue.Arn}
          OnFailure: {Type: SQS, Destination: !GetAtt FailureQueue.Arn}
  DeadLetterWorker:
    Type: AWS::Serverless::Function
    Properties:
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt DeadLetters.Arn}
  DisabledLetters: {Type: AWS::SQS::Queue}
  Disabled:
    Type: AWS::Serverless::Function
    Properties:
      ReservedConcurrentExecutions: 0
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt DisabledLetters.Arn}
  Notifier:
    Type: AWS::Serverless::Function
    Properties:
      EventInvokeConfig:
        DestinationConfig:
          OnSuccess: {Type: SNS, Destination: !Ref ResultTopic}
          OnFailure: {Type: Lambda, Destination: !GetAtt Recorder.Arn}
  Recorder:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.record}

  # The role of this function has no permission to send to ClosedQueue.
  Unpermitted:
    Type: AWS::Serverless::Function
  UnpermittedInvokeConfig:
    Type: AWS::Lambda::EventInvokeConfig
    Properties:
      FunctionName: !Ref Unpermitted
      Qualifier: $LATEST
      MaximumRetryAttempts: 0
      DestinationConfig:
        OnFailure: {Destination: !GetAtt ClosedQueue.Arn}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("async")
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    with Stack.local(root, stack_name="async-invocation") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def _reset(stack: EmulatedStack) -> None:
    stack.reset()


def _invoke(stack: EmulatedStack, function: str, event: dict[str, Any]) -> str:
    result = stack.invoke(function, event, invocation_type="Event")
    assert result.status_code == 202
    stack.settle()
    return result.request_id


def _attempts(stack: EmulatedStack, function: str) -> int:
    name = stack.function_name(function)
    return sum(1 for invocation in stack.invocations if invocation.function_name == name)


def _messages(stack: EmulatedStack, queue: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = stack.physical_id(queue)
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   MessageAttributeNames=["All"])
    return list(response.get("Messages", []))


def test_failed_event_retried_after_one_then_two_minutes(stack: EmulatedStack) -> None:
    """The second attempt runs 60 seconds after the first, the third 120 seconds later."""
    _invoke(stack, "Worker", {"id": "a", "failures": 5})
    assert _attempts(stack, "Worker") == 1

    stack.clock.advance(59)
    stack.settle()
    assert _attempts(stack, "Worker") == 1
    stack.clock.advance(1)
    stack.settle()
    assert _attempts(stack, "Worker") == 2

    stack.clock.advance(119)
    stack.settle()
    assert _attempts(stack, "Worker") == 2
    stack.clock.advance(1)
    stack.settle()
    assert _attempts(stack, "Worker") == 3

    stack.clock.advance(3600)
    stack.settle()
    assert _attempts(stack, "Worker") == 3


def test_exhausted_retries_send_failure_record(stack: EmulatedStack) -> None:
    """After three failed attempts the OnFailure queue gets a RetriesExhausted record."""
    request_id = _invoke(stack, "Worker", {"id": "b", "failures": 5})
    assert _messages(stack, "FailureQueue") == []

    stack.clock.advance(180)
    stack.settle()

    [message] = _messages(stack, "FailureQueue")
    record = json.loads(message["Body"])
    worker_arn = stack.client("lambda").get_function(
        FunctionName=stack.physical_id("Worker"))["Configuration"]["FunctionArn"]
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{worker_arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"id": "b", "failures": 5}
    assert record["responseContext"] == {
        "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "attempt 3 of b failed"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["timestamp"].endswith("Z")
    assert _messages(stack, "SuccessQueue") == []


def test_success_after_retry_sends_success_record(stack: EmulatedStack) -> None:
    """An event that succeeds on its second attempt sends a Success record, without
    functionError."""
    _invoke(stack, "Worker", {"id": "c", "failures": 1})
    stack.clock.advance(60)
    stack.settle()

    [message] = _messages(stack, "SuccessQueue")
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"id": "c", "attempts": 2}
    assert _messages(stack, "FailureQueue") == []


def test_retry_attempts_zero_fails_at_once(stack: EmulatedStack) -> None:
    """MaximumRetryAttempts 0 discards the event after its first failed attempt."""
    stack.client("lambda").put_function_event_invoke_config(
        FunctionName=stack.physical_id("Worker"), MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": _queue_arn(stack, "FailureQueue")}})

    _invoke(stack, "Worker", {"id": "d", "failures": 5})

    [message] = _messages(stack, "FailureQueue")
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    stack.clock.advance(600)
    stack.settle()
    assert _attempts(stack, "Worker") == 1


def test_event_age_limit_stops_retries(stack: EmulatedStack) -> None:
    """With MaximumEventAgeInSeconds 60, the retry at 60 seconds runs and the one at 180
    seconds does not; the record's condition is EventAgeExceeded."""
    stack.client("lambda").put_function_event_invoke_config(
        FunctionName=stack.physical_id("Worker"), MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": _queue_arn(stack, "FailureQueue")}})

    _invoke(stack, "Worker", {"id": "e", "failures": 5})
    stack.clock.advance(600)
    stack.settle()

    assert _attempts(stack, "Worker") == 2
    [message] = _messages(stack, "FailureQueue")
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2


def test_dead_letter_queue_receives_event(stack: EmulatedStack) -> None:
    """Without OnFailure, the discarded event goes to the DLQ as it was, with attributes."""
    request_id = _invoke(stack, "DeadLetterWorker", {"id": "f", "failures": 5})
    stack.clock.advance(60)
    stack.settle()
    assert _messages(stack, "DeadLetters") == []

    stack.clock.advance(120)
    stack.settle()

    [message] = _messages(stack, "DeadLetters")
    assert json.loads(message["Body"]) == {"id": "f", "failures": 5}
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"] == {"DataType": "String", "StringValue": request_id}
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attributes["ErrorMessage"]["StringValue"] == "attempt 3 of f failed"


def test_zero_concurrency_goes_to_dead_letters(stack: EmulatedStack) -> None:
    """A function with a reserved concurrency of zero sends its events to the DLQ at once."""
    request_id = _invoke(stack, "Disabled", {"id": "z"})

    [message] = _messages(stack, "DisabledLetters")
    assert json.loads(message["Body"]) == {"id": "z"}
    assert message["MessageAttributes"]["RequestID"]["StringValue"] == request_id
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "429"
    assert _attempts(stack, "Disabled") == 0


def test_dead_letter_config_returned_by_lambda(stack: EmulatedStack) -> None:
    """GetFunctionConfiguration returns the DeadLetterConfig the function was created with."""
    configuration = stack.client("lambda").get_function_configuration(
        FunctionName=stack.physical_id("DeadLetterWorker"))

    assert configuration["DeadLetterConfig"] == {
        "TargetArn": _queue_arn(stack, "DeadLetters")}


def test_sns_and_lambda_destinations(stack: EmulatedStack) -> None:
    """A Success record is published to the topic; a failure record invokes a function."""
    _invoke(stack, "Notifier", {"id": "g"})
    [message] = _messages(stack, "TopicReader")
    assert json.loads(message["Body"])["requestContext"]["condition"] == "Success"

    _invoke(stack, "Notifier", {"id": "h", "failures": 5})
    stack.clock.advance(180)
    stack.settle()

    recorder = stack.function_name("Recorder")
    [delivered] = [invocation for invocation in stack.invocations
                   if invocation.function_name == recorder]
    assert delivered.payload["requestContext"]["condition"] == "RetriesExhausted"
    assert delivered.payload["requestPayload"] == {"id": "h", "failures": 5}


def test_destination_denied_to_role_gets_nothing(stack: EmulatedStack,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A destination the execution role may not send to receives no record."""
    with caplog.at_level(logging.WARNING, logger="windtunnel.runtime.async_invocations"):
        _invoke(stack, "Unpermitted", {"id": "i", "failures": 5})

    assert _messages(stack, "ClosedQueue") == []
    assert any("sqs:SendMessage" in record.getMessage() for record in caplog.records)


def _queue_arn(stack: EmulatedStack, queue: str) -> str:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical_id(queue), AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])

