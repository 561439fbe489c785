"""A function invoked by an event source mapping sends to another mapped queue.

With ``isolation="process"`` the first handler runs in a child process and reaches the
emulation over HTTP while its own poll is still running, so the second poll must be
scheduled from the server's thread without waiting for the first. The delivery itself is
Lambda's SQS behavior: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
"""

from __future__ import annotations

from pathlib import Path

import pytest

from windtunnel import Stack
from windtunnel.runtime.functions import Isolation

HANDLER = '''
import os

import boto3


def forward(event, context):
    sqs = boto3.client("sqs")
    for record in event["Records"]:
        sqs.send_message(QueueUrl=os.environ["NEXT"], MessageBody="forwarded:" + record["body"])
    return {}


def sink(event, context):
    return {"bodies": [record["body"] for record in event["Records"]]}
'''

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/}
Resources:
  First: {Type: AWS::SQS::Queue}
  Second: {Type: AWS::SQS::Queue}
  Forwarder:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.forward
      Environment: {Variables: {NEXT: !Ref Second}}
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt First.QueueName}
        - SQSSendMessagePolicy: {QueueName: !GetAtt Second.QueueName}
      Events:
        First: {Type: SQS, Properties: {Queue: !GetAtt First.Arn}}
  Sink:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.sink
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Second.QueueName}
      Events:
        Second: {Type: SQS, Properties: {Queue: !GetAtt Second.Arn}}
"""


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_mapped_queues_chain(tmp_path: Path, isolation: Isolation) -> None:
    """The message passes through both functions within one settle()."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with Stack.local(tmp_path / "template.yaml", isolation=isolation) as stack:
        stack.client("sqs").send_message(QueueUrl=stack.physical_id("First"),
                                         MessageBody="hello")
        stack.settle()

        results = stack.invocations
        assert [result.function_name for result in results] == [
            stack.function_name("Forwarder"), stack.function_name("Sink")]
        assert [result.function_error for result in results] == [None, None]
        assert results[1].payload == {"bodies": ["forwarded:hello"]}
