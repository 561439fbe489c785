"""EvaluateMappingTemplate through boto3 and the embedded cloud.

Source: API = https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateMappingTemplate.html
(request members ``template`` and ``context`` with their lengths; response members
``evaluationResult``, ``error``, ``logs``, ``stash`` and ``outErrors``; BadRequestException
with status 400).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.pipeline import Cloud
from windtunnel.services.appsync.provider import AppSyncProvider

API = "https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateMappingTemplate.html"

REQUEST_TEMPLATE = """{
    "version": "2017-02-28",
    "operation": "GetItem",
    "key": {
        "id": $util.dynamodb.toDynamoDBJson($ctx.args.id)
    }
}"""


@pytest.fixture(scope="module")
def appsync() -> Any:
    cloud = Cloud()
    cloud.register(AppSyncProvider())
    return cloud.client("appsync")


def evaluate(client: Any, template: str, context: object) -> dict[str, Any]:
    response: dict[str, Any] = client.evaluate_mapping_template(
        template=template, context=json.dumps(context))
    response.pop("ResponseMetadata")
    return response


def test_request_template(appsync: Any) -> None:
    """API: evaluationResult is the rendered request template."""
    response = evaluate(appsync, REQUEST_TEMPLATE, {"arguments": {"id": "post-1"}})
    assert json.loads(response["evaluationResult"]) == {
        "version": "2017-02-28", "operation": "GetItem", "key": {"id": {"S": "post-1"}}}, API
    assert "error" not in response, API
    assert response["logs"] == [], API


def test_response_template(appsync: Any) -> None:
    """API: a response template reads $ctx.result."""
    response = evaluate(appsync, "$util.toJson($ctx.result)",
                        {"result": {"id": "post-1", "title": "Hi"}})
    assert json.loads(response["evaluationResult"]) == {"id": "post-1", "title": "Hi"}, API


def test_stash_and_logs(appsync: Any) -> None:
    """API: stash is the final stash as JSON; logs list $util.log messages."""
    template = ('$util.qr($ctx.stash.put("seen", true))$util.log.info("id {}", [$ctx.args.id])'
                "ok")
    response = evaluate(appsync, template, {"arguments": {"id": "7"}, "stash": {"a": 1}})
    assert response["evaluationResult"] == "ok", API
    assert json.loads(response["stash"]) == {"a": 1, "seen": True}, API
    assert response["logs"] == ["id 7"], API


def test_error_response(appsync: Any) -> None:
    """API: a template that calls $util.error reports error.message and no result."""
    response = evaluate(appsync, '$util.error("Post not found", "NotFound")', {})
    assert response["error"] == {"message": "Post not found"}, API
    assert "evaluationResult" not in response, API


def test_out_errors(appsync: Any) -> None:
    """API: outErrors lists the errors added with $util.appendError, as JSON."""
    response = evaluate(appsync, '$util.appendError("partial", "Warn")done', {})
    assert response["evaluationResult"] == "done", API
    out_errors = json.loads(response["outErrors"])
    assert [error["message"] for error in out_errors] == ["partial"], API
    assert [error["errorType"] for error in out_errors] == ["Warn"], API


def test_syntax_error_is_reported(appsync: Any) -> None:
    """API: a template that does not parse is reported in error, not as a request error."""
    response = evaluate(appsync, "#if($ctx.args.id) no end", {})
    assert "no #end closes it" in response["error"]["message"], API


@pytest.mark.parametrize("context", ["{not json", '["a list"]'])
def test_invalid_context(appsync: Any, context: str) -> None:
    """API: a context that is not a JSON object is a BadRequestException (400)."""
    with pytest.raises(ClientError) as raised:
        appsync.evaluate_mapping_template(template="ok", context=context)
    assert raised.value.response["Error"]["Code"] == "BadRequestException", API
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, API


def test_context_too_long(appsync: Any) -> None:
    """API: context is at most 28000 characters."""
    context = json.dumps({"a": "x" * 28_000})
    with pytest.raises(ClientError) as raised:
        appsync.evaluate_mapping_template(template="ok", context=context)
    assert raised.value.response["Error"]["Code"] == "BadRequestException", API
    assert "less than or equal to 28000" in raised.value.response["Error"]["Message"], API


def test_other_operations_reach_moto(appsync: Any) -> None:
    """The provider answers only EvaluateMappingTemplate; moto serves the GraphQL APIs."""
    created = appsync.create_graphql_api(name="posts", authenticationType="API_KEY")
    api_id = created["graphqlApi"]["apiId"]
    assert appsync.get_graphql_api(apiId=api_id)["graphqlApi"]["name"] == "posts"
