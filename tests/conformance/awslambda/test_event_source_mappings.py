"""ListEventSourceMappings filters by function name or ARN alike.

Source: https://docs.aws.amazon.com/lambda/latest/api/API_ListEventSourceMappings.html
("FunctionName: The name or ARN of the Lambda function ... Function name, Function ARN,
Version or Alias ARN, Partial ARN").
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from windtunnel.cloud.pipeline import Cloud


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture
def mapped() -> tuple[Any, str]:
    cloud = Cloud()
    role = cloud.client("iam").create_role(
        RoleName="role", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    awslambda = cloud.client("lambda")
    arn = awslambda.create_function(FunctionName="consumer", Runtime="python3.12",
                                    Handler="index.handler", Role=role,
                                    Code={"ZipFile": _code()})["FunctionArn"]
    sqs = cloud.client("sqs")
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    awslambda.create_event_source_mapping(FunctionName=arn, EventSourceArn=queue_arn)
    return awslambda, arn


@pytest.mark.parametrize("form", ["name", "arn", "partial"])
def test_mapping_found_by_any_function_form(mapped: tuple[Any, str], form: str) -> None:
    """A mapping created with the ARN is listed for the name, the ARN and a partial ARN."""
    awslambda, arn = mapped
    names = {"name": "consumer", "arn": arn, "partial": "123456789012:function:consumer"}

    mappings = awslambda.list_event_source_mappings(FunctionName=names[form])

    assert len(mappings["EventSourceMappings"]) == 1


def test_mapping_not_found_for_other_function(mapped: tuple[Any, str]) -> None:
    """Another function's name lists nothing."""
    awslambda, _arn = mapped

    assert awslambda.list_event_source_mappings(FunctionName="other")[
        "EventSourceMappings"] == []
