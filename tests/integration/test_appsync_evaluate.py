"""Resolver mapping templates evaluated through a stack, in Python and through the API.

Sources:
- EvaluateMappingTemplate takes ``template`` and ``context`` (JSON) and returns
  ``evaluationResult``: https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateMappingTemplate.html
- ``$util.dynamodb.toDynamoDBJson("foo")`` gives ``{ "S" : "foo" }``:
  https://docs.aws.amazon.com/appsync/latest/devguide/dynamodb-helpers-in-util-dynamodb.html
- ``$util.error`` stops the template with its message:
  https://docs.aws.amazon.com/appsync/latest/devguide/utility-helpers-in-util.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack

GET_ITEM = """{
    "version": "2018-05-29",
    "operation": "GetItem",
    "key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}
}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("appsync")
    (root / "template.yaml").write_text("Resources:\n  Queue: {Type: AWS::SQS::Queue}\n")
    with Stack.local(root) as loaded:
        yield loaded


def test_evaluate_renders_a_request_template(stack: EmulatedStack, tmp_path: Path) -> None:
    template = tmp_path / "getItem.request.vtl"
    template.write_text(GET_ITEM)

    result = stack.appsync.evaluate(template, {"arguments": {"id": "7"}})

    assert result.succeeded
    assert result.json() == {"version": "2018-05-29", "operation": "GetItem",
                             "key": {"id": {"S": "7"}}}


def test_evaluate_reports_util_error(stack: EmulatedStack) -> None:
    result = stack.appsync.evaluate('$util.error("Not allowed", "Unauthorized")', {})

    assert not result.succeeded
    assert result.error_message == "Not allowed"


def test_the_api_answers_evaluate_mapping_template(stack: EmulatedStack) -> None:
    answer = stack.client("appsync").evaluate_mapping_template(
        template=GET_ITEM, context=json.dumps({"arguments": {"id": "8"}}))

    assert json.loads(answer["evaluationResult"])["key"] == {"id": {"S": "8"}}
