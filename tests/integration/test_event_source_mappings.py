"""Event source mappings invoke functions with SQS messages and stream records.

One SAM application, loaded once for the module and reset after each test, maps queues and
streams to functions that have the permissions AWS requires for their mappings. The tests
send messages or write records with the SDK and drive the virtual clock.
Sources:
- SQS: batches, deletion on success, visibility timeout and dead-letter queue after a
  failure, the event shape, the execution role's permissions:
  https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
- Filtering, where messages that match no filter are deleted:
  https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html
- Batching window (MaximumBatchingWindowInSeconds):
  https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
- Message delays: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html
- FIFO queues, where a message group stays in order and waits while its messages are in
  flight: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html
- Kinesis and DynamoDB streams (order, retries, bisection, on-failure destinations):
  https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
  https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
  https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
  https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

EVENTS = Path(__file__).resolve().parents[1] / "events"

HANDLER = '''
import base64


def _payload(record):
    if "body" in record:
        return record["body"]
    if "kinesis" in record:
        return base64.b64decode(record["kinesis"]["data"]).decode()
    note = record["dynamodb"].get("NewImage", {}).get("note", {}).get("S")
    return note or record["eventName"]


def handler(event, context):
    bodies = [_payload(record) for record in event["Records"]]
    if any(body.startswith("fail") for body in bodies):
        raise RuntimeError("failing on purpose")
    return {"bodies": bodies, "records": event["Records"]}


def report(event, context):
    failures = []
    for record in event["Records"]:
        if _payload(record).startswith("bad"):
            identifier = record.get("messageId") or record["kinesis"]["sequenceNumber"]
            failures.append({"itemIdentifier": identifier})
    seen = [_payload(record) for record in event["Records"]]
    return {"batchItemFailures": failures, "seen": seen}
'''

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Handler: app.handler
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt JobsDlq.Arn
        maxReceiveCount: 2
  JobsDlq:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Jobs.QueueName}
      Events:
        Jobs:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5}

  Reports:
    Type: AWS::SQS::Queue
  Reporter:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.report
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Reports.QueueName}
      Events:
        Reports:
          Type: SQS
          Properties:
            Queue: !GetAtt Reports.Arn
            FunctionResponseTypes: [ReportBatchItemFailures]

  Orders:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      ContentBasedDeduplication: true
      VisibilityTimeout: 30
  OrderWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Orders.QueueName}
      Events:
        Orders:
          Type: SQS
          Properties: {Queue: !GetAtt Orders.Arn, BatchSize: 1}

  Filtered:
    Type: AWS::SQS::Queue
  FilteredWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Filtered.QueueName}
      Events:
        Filtered:
          Type: SQS
          Properties:
            Queue: !GetAtt Filtered.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["order"]}}'
                - Pattern: '{"body": [{"prefix": "text-"}]}'

  Windowed:
    Type: AWS::SQS::Queue
  WindowWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Windowed.QueueName}
      Events:
        Windowed:
          Type: SQS
          Properties:
            Queue: !GetAtt Windowed.Arn
            BatchSize: 3
            MaximumBatchingWindowInSeconds: 20

  Delayed:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: 60
  DelayWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Delayed.QueueName}
      Events:
        Delayed:
          Type: SQS
          Properties: {Queue: !GetAtt Delayed.Arn}

  Paused:
    Type: AWS::SQS::Queue
  PausedWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Paused.QueueName}
      Events:
        Paused:
          Type: SQS
          Properties: {Queue: !GetAtt Paused.Arn, Enabled: false}

  Locked:
    Type: AWS::SQS::Queue
  BareRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  LockedWorker:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt BareRole.Arn
      Events:
        Locked:
          Type: SQS
          Properties: {Queue: !GetAtt Locked.Arn}

  Alerts:
    Type: AWS::SNS::Topic
  AlertsSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt Jobs.Arn
      RawMessageDelivery: true
  JobsPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Jobs]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt Jobs.Arn
            Condition:
              ArnEquals: {aws:SourceArn: !Ref Alerts}

  Telemetry:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  Bisected:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  Reported:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  StreamFailures:
    Type: AWS::SQS::Queue
  StreamWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - KinesisStreamReadPolicy: {StreamName: !Ref Telemetry}
        - KinesisStreamReadPolicy: {StreamName: !Ref Bisected}
        - SQSSendMessagePolicy: {QueueName: !GetAtt StreamFailures.QueueName}
      Events:
        Telemetry:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Telemetry.Arn
            StartingPosition: TRIM_HORIZON
            MaximumRetryAttempts: 2
            DestinationConfig:
              OnFailure: {Type: SQS, Destination: !GetAtt StreamFailures.Arn}
        Bisected:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Bisected.Arn
            StartingPosition: TRIM_HORIZON
            BisectBatchOnFunctionError: true
            MaximumRetryAttempts: 0
            DestinationConfig:
              OnFailure: {Type: SQS, Destination: !GetAtt StreamFailures.Arn}
  StreamReporter:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.report
      Policies:
        - KinesisStreamReadPolicy: {StreamName: !Ref Reported}
      Events:
        Reported:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Reported.Arn
            StartingPosition: TRIM_HORIZON
            FunctionResponseTypes: [ReportBatchItemFailures]

  Users:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
  Ledger:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  LedgerWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBStreamReadPolicy: {TableName: !Ref Ledger, StreamName: "*"}
        - SNSPublishMessagePolicy: {TopicName: !GetAtt LedgerFailures.TopicName}
      Events:
        Ledger:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Ledger.StreamArn
            StartingPosition: TRIM_HORIZON
            MaximumRecordAgeInSeconds: 60
            DestinationConfig:
              OnFailure: {Type: SNS, Destination: !Ref LedgerFailures}
  LedgerFailures:
    Type: AWS::SNS::Topic
  LedgerFailuresQueue:
    Type: AWS::SQS::Queue
  LedgerFailuresSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref LedgerFailures
      Protocol: sqs
      Endpoint: !GetAtt LedgerFailuresQueue.Arn
      RawMessageDelivery: true
  LedgerFailuresQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref LedgerFailuresQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt LedgerFailuresQueue.Arn
  TableWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBStreamReadPolicy: {TableName: !Ref Users, StreamName: "*"}
      Events:
        Users:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Users.StreamArn
            StartingPosition: LATEST
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName": ["INSERT", "MODIFY"]}'
"""


@pytest.fixture(scope="module")
def application(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("mapped")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root / "template.yaml") as stack:
        yield stack


@pytest.fixture
def stack(application: EmulatedStack) -> Iterator[EmulatedStack]:
    yield application
    application.reset()


def _url(stack: EmulatedStack, queue: str) -> str:
    return str(stack.physical_id(queue))


def _send(stack: EmulatedStack, queue: str, *bodies: str, **arguments: Any) -> None:
    sqs = stack.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=_url(stack, queue), MessageBody=body, **arguments)


def _results(stack: EmulatedStack, function: str) -> list[Any]:
    name = stack.function_name(function)
    return [result for result in stack.invocations if result.function_name == name]


def _bodies(stack: EmulatedStack, function: str) -> list[list[str]]:
    """Return what each successful invocation of ``function`` received, oldest first."""
    return [result.payload["bodies"] for result in _results(stack, function)
            if result.function_error is None]


def _counts(stack: EmulatedStack, queue: str) -> tuple[int, int]:
    """Return the visible and the in-flight messages of a queue."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=_url(stack, queue), AttributeNames=["All"])["Attributes"]
    return (int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]))


# --- SQS ------------------------------------------------------------------------------------


def test_messages_arrive_in_one_batch(stack: EmulatedStack) -> None:
    """Messages sent before settle() make one invocation and are deleted after it."""
    _send(stack, "Jobs", "job-0", "job-1", "job-2")

    assert _results(stack, "Worker") == []
    stack.settle()

    assert _bodies(stack, "Worker") == [["job-0", "job-1", "job-2"]]
    assert _counts(stack, "Jobs") == (0, 0)


def test_batches_hold_batch_size(stack: EmulatedStack) -> None:
    """Twelve messages with BatchSize 5 make batches of 5, 5 and 2."""
    sqs = stack.client("sqs")
    for first in (0, 10):
        sqs.send_message_batch(QueueUrl=_url(stack, "Jobs"), Entries=[
            {"Id": str(number), "MessageBody": f"job-{number}"}
            for number in range(first, min(first + 10, 12))])

    stack.settle()

    batches = _bodies(stack, "Worker")
    assert [len(batch) for batch in batches] == [5, 5, 2]
    assert sorted(body for batch in batches for body in batch) == sorted(
        f"job-{number}" for number in range(12))


def test_event_has_lambda_shape(stack: EmulatedStack) -> None:
    """A record has the keys of AWS's sample event, and lower camel case attributes."""
    sample = json.loads((EVENTS / "sqs" / "two-messages-with-attribute.json").read_text())
    expected = sample["Records"][0]
    sent = stack.client("sqs").send_message(
        QueueUrl=_url(stack, "Jobs"), MessageBody='{"orderId": "o-1"}', MessageAttributes={
            "tenant": {"DataType": "String", "StringValue": "acme"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})

    stack.settle()

    record = _results(stack, "Worker")[0].payload["records"][0]
    assert list(record) == list(expected)
    assert list(record["attributes"]) == list(expected["attributes"])
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"orderId": "o-1"}'
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.client("sqs").get_queue_attributes(
        QueueUrl=_url(stack, "Jobs"), AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert record["awsRegion"] == "us-east-1"
    assert record["messageAttributes"]["tenant"] == expected["messageAttributes"]["tenant"]
    assert record["messageAttributes"]["blob"] == {
        "binaryValue": base64.b64encode(b"\x00\x01").decode(), "stringListValues": [],
        "binaryListValues": [], "dataType": "Binary"}


def test_failed_batch_returns_after_visibility_timeout(stack: EmulatedStack) -> None:
    """A failed batch stays in flight for the queue's visibility timeout, then returns."""
    _send(stack, "Jobs", "fail-once")

    stack.settle()
    assert [result.function_error for result in _results(stack, "Worker")] == ["Unhandled"]
    assert _counts(stack, "Jobs") == (0, 1)

    stack.clock.advance(29)
    assert len(_results(stack, "Worker")) == 1

    stack.clock.advance(1)
    assert [result.function_error for result in _results(stack, "Worker")] == [
        "Unhandled", "Unhandled"]


def test_redrive_policy_moves_message(stack: EmulatedStack) -> None:
    """After maxReceiveCount receives, the message goes to the dead-letter queue."""
    _send(stack, "Jobs", "fail-always")

    stack.settle()
    stack.clock.advance(30)
    stack.clock.advance(30)

    assert len(_results(stack, "Worker")) == 2
    assert _counts(stack, "Jobs") == (0, 0)
    dead = stack.client("sqs").receive_message(QueueUrl=_url(stack, "JobsDlq"),
                                               AttributeNames=["All"])["Messages"]
    assert [message["Body"] for message in dead] == ["fail-always"]
    assert dead[0]["Attributes"]["ApproximateReceiveCount"] == "3"


def test_partial_batch_response_keeps_failed(stack: EmulatedStack) -> None:
    """With ReportBatchItemFailures only the reported messages stay in the queue."""
    _send(stack, "Reports", "good-1", "bad-1", "good-2")

    stack.settle()

    first = _results(stack, "Reporter")
    assert len(first) == 1
    assert _counts(stack, "Reports") == (0, 1)

    stack.clock.advance(30)

    retried = _results(stack, "Reporter")
    assert len(retried) == 2
    assert first[0].payload["seen"] == ["good-1", "bad-1", "good-2"]
    assert retried[1].payload["seen"] == ["bad-1"]
    assert len(retried[1].payload["batchItemFailures"]) == 1
    assert _counts(stack, "Reports") == (0, 1)


def test_fifo_group_waits_after_failure(stack: EmulatedStack) -> None:
    """A failed message holds back its group; another group goes on."""
    sqs = stack.client("sqs")
    for group, body in (("a", "fail-a1"), ("a", "a2"), ("b", "b1")):
        sqs.send_message(QueueUrl=_url(stack, "Orders"), MessageBody=body, MessageGroupId=group)

    stack.settle()

    assert _bodies(stack, "OrderWorker") == [["b1"]]
    assert [result.function_error for result in _results(stack, "OrderWorker")] == [
        "Unhandled", None]


def test_fifo_group_keeps_order(stack: EmulatedStack) -> None:
    """Messages of one group arrive in the order they were sent, with FIFO attributes."""
    sqs = stack.client("sqs")
    for number in range(4):
        sqs.send_message(QueueUrl=_url(stack, "Orders"), MessageBody=f"step-{number}",
                         MessageGroupId="customer-7")

    stack.settle()

    assert _bodies(stack, "OrderWorker") == [[f"step-{number}"] for number in range(4)]
    sample = json.loads((EVENTS / "sqs" / "fifo-message.json").read_text())["Records"][0]
    records = [result.payload["records"][0] for result in _results(stack, "OrderWorker")]
    assert list(records[0]["attributes"]) == list(sample["attributes"])
    assert records[0]["attributes"]["MessageGroupId"] == "customer-7"
    sequence_numbers = [int(record["attributes"]["SequenceNumber"]) for record in records]
    assert sequence_numbers == sorted(sequence_numbers)
    assert len(set(sequence_numbers)) == 4


def test_filter_criteria_deletes_others(stack: EmulatedStack) -> None:
    """Only matching messages are delivered; the others are deleted from the queue."""
    _send(stack, "Filtered", '{"kind": "order"}', '{"kind": "refund"}', "text-note",
          "other-note", '"text-quoted"')

    stack.settle()

    assert _bodies(stack, "FilteredWorker") == [['{"kind": "order"}', "text-note"]]
    assert _counts(stack, "Filtered") == (0, 0)


def test_batching_window_waits(stack: EmulatedStack) -> None:
    """Lambda waits up to the batching window unless a full batch is waiting."""
    _send(stack, "Windowed", "early")

    stack.settle()
    assert _results(stack, "WindowWorker") == []

    stack.clock.advance(19)
    _send(stack, "Windowed", "late")
    stack.settle()
    assert _results(stack, "WindowWorker") == []

    stack.clock.advance(1)
    assert _bodies(stack, "WindowWorker") == [["early", "late"]]

    _send(stack, "Windowed", "one", "two", "three")
    stack.settle()
    assert _bodies(stack, "WindowWorker")[1] == ["one", "two", "three"]


def test_queue_delay_uses_virtual_clock(stack: EmulatedStack) -> None:
    """A queue's DelaySeconds holds messages back until the clock passes it."""
    _send(stack, "Delayed", "later")

    stack.settle()
    stack.clock.advance(59)
    assert _results(stack, "DelayWorker") == []

    stack.clock.advance(1)
    assert _bodies(stack, "DelayWorker") == [["later"]]


def test_message_delay_uses_virtual_clock(stack: EmulatedStack) -> None:
    """A message's own DelaySeconds delays only that message."""
    _send(stack, "Jobs", "delayed", DelaySeconds=10)
    _send(stack, "Jobs", "now")

    stack.settle()
    assert _bodies(stack, "Worker") == [["now"]]

    stack.clock.advance(10)
    assert _bodies(stack, "Worker") == [["now"], ["delayed"]]


def test_disabled_mapping_waits_for_enabling(stack: EmulatedStack) -> None:
    """A disabled mapping is not polled; enabling it delivers what is waiting."""
    _send(stack, "Paused", "waiting")
    stack.settle()
    assert _results(stack, "PausedWorker") == []

    awslambda = stack.client("lambda")
    mapping = awslambda.list_event_source_mappings(
        FunctionName=stack.function_name("PausedWorker"))["EventSourceMappings"][0]
    awslambda.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    stack.settle()

    assert _bodies(stack, "PausedWorker") == [["waiting"]]


def test_mapping_created_through_api(stack: EmulatedStack) -> None:
    """CreateEventSourceMapping delivers messages already in the queue."""
    _send(stack, "Paused", "before")
    queue_arn = stack.client("sqs").get_queue_attributes(
        QueueUrl=_url(stack, "Paused"), AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    awslambda = stack.client("lambda")
    for mapping in awslambda.list_event_source_mappings(EventSourceArn=queue_arn)[
            "EventSourceMappings"]:
        awslambda.delete_event_source_mapping(UUID=mapping["UUID"])

    awslambda.create_event_source_mapping(FunctionName=stack.function_name("Worker"),
                                          EventSourceArn=queue_arn, BatchSize=2)
    stack.settle()

    assert _bodies(stack, "Worker") == [["before"]]


def test_role_without_receive_is_not_polled(stack: EmulatedStack,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Without sqs:ReceiveMessage in the execution role, nothing is delivered."""
    caplog.set_level(logging.WARNING, logger="windtunnel.runtime.event_sources")
    _send(stack, "Locked", "secret")

    stack.settle()
    _send(stack, "Locked", "another")
    stack.settle()

    assert _results(stack, "LockedWorker") == []
    assert _counts(stack, "Locked") == (2, 0)
    warnings = [record.getMessage() for record in caplog.records
                if "is not polled" in record.getMessage()]
    assert len(warnings) == 1
    assert "does not allow sqs:ReceiveMessage" in warnings[0]
    assert stack.function_name("LockedWorker") in warnings[0]


def test_sns_subscription_reaches_function(stack: EmulatedStack) -> None:
    """A message that SNS delivers to a mapped queue invokes the function."""
    stack.client("sns").publish(TopicArn=stack.physical_id("Alerts"), Message="from-sns")

    stack.settle()

    assert _bodies(stack, "Worker") == [["from-sns"]]


def test_reset_cancels_pending_polls(stack: EmulatedStack) -> None:
    """reset() drops the scheduled polls and retries with the messages."""
    _send(stack, "Delayed", "never")
    _send(stack, "Jobs", "fail-then-reset")
    stack.settle()
    assert len(stack.clock.pending()) >= 2

    stack.reset()
    stack.clock.advance(120)

    assert stack.invocations == []
    assert stack.clock.pending() == []


# --- Kinesis --------------------------------------------------------------------------------


def _put(stack: EmulatedStack, stream: str, *payloads: str) -> list[str]:
    kinesis = stack.client("kinesis")
    return [kinesis.put_record(StreamName=stack.physical_id(stream), Data=payload.encode(),
                               PartitionKey="device-9")["SequenceNumber"]
            for payload in payloads]


def _failure_records(stack: EmulatedStack) -> list[dict[str, Any]]:
    return _failure_messages(stack, "StreamFailures")


def test_kinesis_records_in_order(stack: EmulatedStack) -> None:
    """Records arrive in one batch, in order, shaped like AWS's sample."""
    sample = json.loads((EVENTS / "kinesis" / "record.json").read_text())["Records"][0]
    sequence_numbers = _put(stack, "Telemetry", '{"temp": 21.5}', '{"temp": 22.0}')

    stack.settle()

    results = _results(stack, "StreamWorker")
    assert [result.payload["bodies"] for result in results] == [
        ['{"temp": 21.5}', '{"temp": 22.0}']]
    record = results[0].payload["records"][0]
    assert list(record) == list(sample)
    assert list(record["kinesis"]) == list(sample["kinesis"])
    assert record["kinesis"]["sequenceNumber"] == sequence_numbers[0]
    assert record["eventID"] == f"shardId-000000000000:{sequence_numbers[0]}"
    assert record["eventSourceARN"].endswith(f"stream/{stack.physical_id('Telemetry')}")
    assert record["invokeIdentityArn"] == stack.client("lambda").get_function_configuration(
        FunctionName=stack.function_name("StreamWorker"))["Role"]


def test_kinesis_retries_then_destination(stack: EmulatedStack) -> None:
    """A failing batch blocks the shard, is retried MaximumRetryAttempts times, and then
    goes to the on-failure destination; later records follow."""
    sequence_numbers = _put(stack, "Telemetry", "fail-reading")

    stack.settle()
    _put(stack, "Telemetry", "after")
    stack.settle()
    assert [result.function_error for result in _results(stack, "StreamWorker")] == [
        "Unhandled"]

    stack.clock.advance(10)

    results = _results(stack, "StreamWorker")
    assert [result.function_error for result in results] == [
        "Unhandled", "Unhandled", "Unhandled", None]
    assert results[-1].payload["bodies"] == ["after"]
    (failure,) = _failure_records(stack)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["KinesisBatchInfo"]
    assert info["shardId"] == "shardId-000000000000"
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence_numbers[0]
    assert info["batchSize"] == 1
    assert info["streamArn"].endswith(f"stream/{stack.physical_id('Telemetry')}")


def test_kinesis_bisect_isolates_bad_record(stack: EmulatedStack) -> None:
    """Bisection splits a failed batch until the failing record is alone."""
    _put(stack, "Bisected", "ok-1", "ok-2", "fail-3", "ok-4")

    stack.settle()

    delivered = [body for batch in _bodies(stack, "StreamWorker") for body in batch]
    assert delivered == ["ok-1", "ok-2", "ok-4"]
    (failure,) = _failure_records(stack)
    assert failure["KinesisBatchInfo"]["batchSize"] == 1


def test_kinesis_partial_response_retries_from_first_failure(stack: EmulatedStack) -> None:
    """With ReportBatchItemFailures Lambda retries from the reported sequence number."""
    _put(stack, "Reported", "good-1", "bad-2", "good-3")

    stack.settle()
    stack.clock.advance(1)

    results = _results(stack, "StreamReporter")
    assert [result.payload["seen"] for result in results] == [
        ["good-1", "bad-2", "good-3"], ["bad-2", "good-3"]]


def test_kinesis_latest_position_survives_reset(stack: EmulatedStack) -> None:
    """After reset() a mapping reads on from its position at the snapshot."""
    _put(stack, "Telemetry", "before-reset")
    stack.settle()
    stack.reset()

    _put(stack, "Telemetry", "after-reset")
    stack.settle()

    assert _bodies(stack, "StreamWorker") == [["after-reset"]]


# --- DynamoDB Streams -----------------------------------------------------------------------


def test_dynamodb_stream_records(stack: EmulatedStack) -> None:
    """Writes after the mapping reach the function; the filter drops REMOVE records."""
    sample = json.loads((EVENTS / "dynamodb-stream" / "modify.json").read_text())["Records"][0]
    dynamodb = stack.client("dynamodb")
    table = stack.physical_id("Users")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "user#1"}, "name": {"S": "Jan"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "user#1"}, "name": {"S": "Jane"}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "user#1"}})

    stack.settle()

    (result,) = _results(stack, "TableWorker")
    assert result.payload["bodies"] == ["INSERT", "MODIFY"]
    modify = result.payload["records"][1]
    assert list(modify) == list(sample)
    assert list(modify["dynamodb"]) == list(sample["dynamodb"])
    assert modify["dynamodb"]["OldImage"]["name"] == {"S": "Jan"}
    assert modify["dynamodb"]["NewImage"]["name"] == {"S": "Jane"}
    assert modify["eventVersion"] == "1.1"
    assert modify["eventSourceARN"] == dynamodb.describe_table(TableName=table)[
        "Table"]["LatestStreamArn"]


def test_dynamodb_record_age_limit(stack: EmulatedStack) -> None:
    """A record older than MaximumRecordAgeInSeconds is dropped and described to SNS."""
    dynamodb = stack.client("dynamodb")
    dynamodb.put_item(TableName=stack.physical_id("Ledger"),
                      Item={"pk": {"S": "entry#1"}, "note": {"S": "fail-forever"}})

    stack.settle()
    stack.clock.advance(59)
    assert _failure_messages(stack, "LedgerFailuresQueue") == []
    stack.clock.advance(60)

    attempts = len(_results(stack, "LedgerWorker"))
    (failure,) = _failure_messages(stack, "LedgerFailuresQueue")
    assert failure["requestContext"]["approximateInvokeCount"] == attempts
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == dynamodb.describe_table(
        TableName=stack.physical_id("Ledger"))["Table"]["LatestStreamArn"]
    stack.clock.advance(600)
    assert len(_results(stack, "LedgerWorker")) == attempts


def _failure_messages(stack: EmulatedStack, queue: str) -> list[dict[str, Any]]:
    messages = stack.client("sqs").receive_message(
        QueueUrl=_url(stack, queue), MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]
