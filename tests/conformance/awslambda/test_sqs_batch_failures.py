"""Partial batch responses of functions mapped to SQS queues (ReportBatchItemFailures).

Each case is a response that a function returns for a batch of two messages, with the
number of messages that stay in the queue for a retry. None stay when Lambda treats the
batch as a complete success, both stay when it treats the batch as a complete failure, and
only the reported one stays for a valid partial response.
Sources:
- "Success and failure conditions": Lambda treats a batch as a complete success for an
  empty or null batchItemFailures list and an empty or null response, and as a complete
  failure for an invalid JSON response, an empty string or null itemIdentifier, an
  itemIdentifier with a bad key name, or a message ID that doesn't exist; a function that
  throws fails the whole batch.
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
- The response syntax, ``{"batchItemFailures": [{"itemIdentifier": <message ID>}]}``:
  https://docs.aws.amazon.com/lambda/latest/dg/example_serverless_SQS_Lambda_batch_item_failures_section.html
- Without ReportBatchItemFailures on the mapping, the response is not read:
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.runtime.event_sources.batch_response import failed_items

HANDLER = '''
import json


def handler(event, context):
    records = event["Records"]
    case = json.loads(records[0]["body"])["case"]
    second = records[1]["messageId"]
    if case == "function error":
        raise RuntimeError("the whole batch failed")
    return {
        "empty list": {"batchItemFailures": []},
        "null list": {"batchItemFailures": None},
        "empty response": {},
        "null response": None,
        "empty string identifier": {"batchItemFailures": [{"itemIdentifier": ""}]},
        "null identifier": {"batchItemFailures": [{"itemIdentifier": None}]},
        "bad key name": {"batchItemFailures": [{"itemId": second}]},
        "unknown message ID": {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        "second message failed": {"batchItemFailures": [{"itemIdentifier": second}]},
    }[case]
'''

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Reports:
    Type: AWS::SQS::Queue
  Unread:
    Type: AWS::SQS::Queue
  Reporter:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Reports.QueueName}
        - SQSPollerPolicy: {QueueName: !GetAtt Unread.QueueName}
      Events:
        Reports:
          Type: SQS
          Properties:
            Queue: !GetAtt Reports.Arn
            FunctionResponseTypes: [ReportBatchItemFailures]
        Unread:
          Type: SQS
          Properties:
            Queue: !GetAtt Unread.Arn
"""


@pytest.fixture(scope="module")
def application(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("reporter")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root / "template.yaml") as stack:
        yield stack


@pytest.fixture
def stack(application: EmulatedStack) -> Iterator[EmulatedStack]:
    yield application
    application.reset()


def _remaining_after(stack: EmulatedStack, queue: str, case: str) -> int:
    """Send a batch for ``case``; return how many of its messages stay in the queue."""
    sqs = stack.client("sqs")
    url = stack.physical_id(queue)
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "first", "MessageBody": json.dumps({"case": case})},
        {"Id": "second", "MessageBody": "second"}])

    stack.settle()

    assert len(stack.invocations) == 1
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.mark.parametrize(("case", "remaining"), [
    ("empty list", 0),
    ("null list", 0),
    ("empty response", 0),
    ("null response", 0),
    ("empty string identifier", 2),
    ("null identifier", 2),
    ("bad key name", 2),
    ("unknown message ID", 2),
    ("function error", 2),
    ("second message failed", 1),
])
def test_partial_batch_response(stack: EmulatedStack, case: str, remaining: int) -> None:
    """Lambda deletes the messages its reading of the response calls successful."""
    assert _remaining_after(stack, "Reports", case) == remaining


def test_response_ignored_without_report_type(stack: EmulatedStack) -> None:
    """Without ReportBatchItemFailures a reported failure is not read: all are deleted."""
    assert _remaining_after(stack, "Unread", "second message failed") == 0


def test_invalid_json_fails_batch() -> None:
    """An invalid JSON response fails the batch (a Python handler cannot return one)."""
    assert failed_items(b'{"batchItemFailures": [', ["id-1", "id-2"]) is None
