"""The invocation record that Lambda sends to an asynchronous invocation's destinations.

Source of every case: the record format and its example records in
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
A record has version "1.0" and a requestContext with requestId, functionArn, condition
and approximateInvokeCount. Its responseContext has statusCode and executedVersion, and
functionError when the invocation failed. Timeouts count as function errors:
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = """
import time


def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("bad input")
    return {"echo": event}
"""

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Records: {Type: AWS::SQS::Queue}
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Timeout: 1
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        DestinationConfig:
          OnSuccess: {Type: SQS, Destination: !GetAtt Records.Arn}
          OnFailure: {Type: SQS, Destination: !GetAtt Records.Arn}
"""

RECORD_KEYS = {"version", "timestamp", "requestContext", "requestPayload",
               "responseContext", "responsePayload"}


@dataclass(frozen=True)
class Case:
    name: str
    event: dict[str, Any]
    condition: str
    response_context: dict[str, Any]
    response_error_type: str | None


CASES = [
    Case("success", {"id": 1}, "Success",
         {"statusCode": 200, "executedVersion": "$LATEST"}, None),
    Case("function error", {"fail": True}, "RetriesExhausted",
         {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
         "ValueError"),
    Case("timeout", {"sleep": 1.5}, "RetriesExhausted",
         {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
         "Sandbox.Timedout"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("record")
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    with Stack.local(root, stack_name="invocation-record") as loaded:
        yield loaded


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_invocation_record_shape(stack: EmulatedStack, case: Case) -> None:
    """Each outcome yields a record with the documented keys and values."""
    stack.reset()
    result = stack.invoke("Function", case.event, invocation_type="Event")
    stack.settle()

    sqs = stack.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.physical_id("Records"),
                                   MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1
    record = json.loads(messages[0]["Body"])
    function_arn = stack.client("lambda").get_function(
        FunctionName=stack.physical_id("Function"))["Configuration"]["FunctionArn"]

    assert set(record) == RECORD_KEYS
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": result.request_id,
        "functionArn": f"{function_arn}:$LATEST",
        "condition": case.condition,
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == case.event
    assert record["responseContext"] == case.response_context
    if case.response_error_type is None:
        assert record["responsePayload"] == {"echo": case.event}
    else:
        assert record["responsePayload"]["errorType"] == case.response_error_type
