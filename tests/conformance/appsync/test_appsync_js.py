"""EvaluateCode and the APPSYNC_JS runtime through boto3 and the embedded cloud.

Sources:
API = https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateCode.html
(request members ``runtime``, ``code``, ``context``, ``function``; response members
``evaluationResult``, ``error`` with ``codeErrors``, ``logs``, ``stash``, ``outErrors``),
FEATURES = https://docs.aws.amazon.com/appsync/latest/devguide/supported-features.html
(the statements and operators that the runtime rejects),
UTIL = https://docs.aws.amazon.com/appsync/latest/devguide/built-in-util-js.html,
RUNTIME = https://docs.aws.amazon.com/appsync/latest/devguide/runtime-utils-js.html,
MODULES = https://docs.aws.amazon.com/appsync/latest/devguide/built-in-modules-js.html,
DYNAMODB = https://docs.aws.amazon.com/appsync/latest/devguide/dynamodb-helpers-in-util-dynamodb-js.html.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.pipeline import Cloud
from windtunnel.services.appsync.provider import AppSyncProvider

API = "https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateCode.html"
FEATURES = "https://docs.aws.amazon.com/appsync/latest/devguide/supported-features.html"
UTIL = "https://docs.aws.amazon.com/appsync/latest/devguide/built-in-util-js.html"
RUNTIME = "https://docs.aws.amazon.com/appsync/latest/devguide/runtime-utils-js.html"
MODULES = "https://docs.aws.amazon.com/appsync/latest/devguide/built-in-modules-js.html"
DYNAMODB = ("https://docs.aws.amazon.com/appsync/latest/devguide/"
            "dynamodb-helpers-in-util-dynamodb-js.html")

NOW = datetime.datetime(2024, 5, 1, 12, 30, 15, tzinfo=datetime.UTC)

RESOLVER = """import { util } from '@aws-appsync/utils';

export function request(ctx) {
  return {
    operation: 'GetItem',
    key: util.dynamodb.toMapValues({ id: ctx.args.id }),
  };
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  return ctx.result;
}
"""


@pytest.fixture(scope="module")
def appsync() -> Any:
    cloud = Cloud()
    cloud.register(AppSyncProvider(now=lambda: NOW))
    return cloud.client("appsync")


def evaluate(client: Any, code: str, context: object, function: str = "request") -> dict[str, Any]:
    response: dict[str, Any] = client.evaluate_code(
        runtime={"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"}, code=code,
        context=json.dumps(context), function=function)
    response.pop("ResponseMetadata")
    return response


def test_request_function(appsync: Any) -> None:
    """API: evaluationResult is the request function's return value as JSON."""
    response = evaluate(appsync, RESOLVER, {"arguments": {"id": "post-1"}})
    assert json.loads(response["evaluationResult"]) == {
        "operation": "GetItem", "key": {"id": {"S": "post-1"}}}, API
    assert "error" not in response, API
    assert response["logs"] == [], API


def test_response_function(appsync: Any) -> None:
    """API: the response function reads ctx.result."""
    response = evaluate(appsync, RESOLVER, {"result": {"id": "post-1", "title": "Hi"}},
                        "response")
    assert json.loads(response["evaluationResult"]) == {"id": "post-1", "title": "Hi"}, API


def test_util_error_reports_message(appsync: Any) -> None:
    """UTIL: util.error ends the function; EvaluateCode reports its message."""
    response = evaluate(appsync, RESOLVER, {"error": {"message": "Item missing",
                                                      "type": "NotFound"}}, "response")
    assert response["error"]["message"] == "Item missing", UTIL
    assert "evaluationResult" not in response, API


def test_stash_logs_and_out_errors(appsync: Any) -> None:
    """API: stash, logs and outErrors report ctx.stash, console output and appendError."""
    code = """import { util } from '@aws-appsync/utils';
export function request(ctx) {
  ctx.stash.seen = true;
  console.log('checking', ctx.args.id);
  util.appendError('Soft failure', 'Warning');
  return {};
}"""
    response = evaluate(appsync, code, {"arguments": {"id": "a"}, "stash": {"before": 1}})
    assert json.loads(response["stash"]) == {"before": 1, "seen": True}, API
    assert len(response["logs"]) == 1, API
    assert "checking a" in response["logs"][0], API
    out_errors = json.loads(response["outErrors"])
    assert [(error["message"], error["errorType"]) for error in out_errors] == [
        ("Soft failure", "Warning")], UTIL


def test_early_return(appsync: Any) -> None:
    """RUNTIME: runtime.earlyReturn ends the request function with the given value."""
    code = """import { runtime } from '@aws-appsync/utils';
export function request(ctx) {
  runtime.earlyReturn({ cached: ctx.args.id });
  return { unreachable: true };
}"""
    response = evaluate(appsync, code, {"arguments": {"id": "x"}})
    assert json.loads(response["evaluationResult"]) == {"cached": "x"}, RUNTIME


def test_auto_id_is_uuid(appsync: Any) -> None:
    """UTIL: util.autoId returns a 128-bit random UUID, a new one on each call."""
    code = """import { util } from '@aws-appsync/utils';
export function request(ctx) { return [util.autoId(), util.autoId()]; }"""
    first, second = json.loads(evaluate(appsync, code, {})["evaluationResult"])
    uuid_form = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert uuid_form.fullmatch(first), UTIL
    assert uuid_form.fullmatch(second), UTIL
    assert first != second, UTIL


def test_time_helpers(appsync: Any) -> None:
    """UTIL: util.time reads the clock; nowFormatted takes a DateTimeFormatter pattern."""
    code = """import { util } from '@aws-appsync/utils';
export function request(ctx) {
  return {
    iso: util.time.nowISO8601(),
    seconds: util.time.nowEpochSeconds(),
    day: util.time.nowFormatted('yyyy-MM-dd'),
    parsed: util.time.parseISO8601ToEpochMilliSeconds('2024-05-01T00:00:00Z'),
  };
}"""
    result = json.loads(evaluate(appsync, code, {})["evaluationResult"])
    assert result["iso"] == "2024-05-01T12:30:15Z", UTIL
    assert result["seconds"] == int(NOW.timestamp()), UTIL
    assert result["day"] == "2024-05-01", UTIL
    assert result["parsed"] == 1714521600000, UTIL


def test_dynamodb_module(appsync: Any) -> None:
    """MODULES: ddb.get and ddb.put build GetItem and PutItem requests with typed keys."""
    code = """import * as ddb from '@aws-appsync/utils/dynamodb';
export function request(ctx) {
  return [ddb.get({ key: { id: ctx.args.id } }),
          ddb.put({ key: { id: ctx.args.id }, item: { title: 'Hi', votes: 3 } })];
}"""
    get, put = json.loads(evaluate(appsync, code, {"arguments": {"id": "p"}})[
        "evaluationResult"])
    assert get == {"operation": "GetItem", "key": {"id": {"S": "p"}}}, MODULES
    assert put["operation"] == "PutItem", MODULES
    assert put["key"] == {"id": {"S": "p"}}, MODULES
    assert put["attributeValues"] == {"title": {"S": "Hi"}, "votes": {"N": 3}}, DYNAMODB


def test_named_import_alias(appsync: Any) -> None:
    """MODULES: named imports may be renamed with ``as``."""
    code = """import { util as u } from '@aws-appsync/utils';
export function request(ctx) { return u.base64Encode('hello'); }"""
    assert json.loads(evaluate(appsync, code, {})["evaluationResult"]) == "aGVsbG8=", UTIL


UNSUPPORTED = [
    ("try", "try { return {}; } catch (e) { return {}; }"),
    ("throw", "throw new Error('x');"),
    ("while", "let i = 0; while (i < 3) { i += 1; } return {};"),
    ("do-while", "let i = 0; do { i += 1; } while (i < 3); return {};"),
    ("c-style for", "for (let i = 0; i < 3; i += 1) { } return {};"),
    ("continue", "for (const x of [1]) { continue; } return {};"),
    ("increment", "let i = 0; i++; return {};"),
    ("in operator", "return { has: 'id' in ctx.args };"),
]


@pytest.mark.parametrize(("feature", "body"), UNSUPPORTED, ids=[case[0] for case in UNSUPPORTED])
def test_unsupported_feature_rejected(appsync: Any, feature: str, body: str) -> None:
    """FEATURES: code that uses an unsupported statement or operator fails with code errors."""
    code = f"export function request(ctx) {{\n  {body}\n}}"
    response = evaluate(appsync, code, {})
    assert "evaluationResult" not in response, FEATURES
    code_errors = response["error"]["codeErrors"]
    assert code_errors, FEATURES
    assert code_errors[0]["location"]["line"] == 2, FEATURES


SUPPORTED = [
    ("for-of", "let total = 0; for (const x of [1, 2]) { total += x; } return total;", 3),
    ("for-in", "let keys = ''; for (const key in { a: 1, b: 2 }) { keys += key; } return keys;",
     "ab"),
    ("nullish and optional chaining", "return ctx.args?.missing?.deep ?? 'fallback';",
     "fallback"),
    ("template literal", "const name = 'x'; return `id-${name}`;", "id-x"),
    ("keyword as property", "const o = { do: 1 }; return o.do;", 1),
]


@pytest.mark.parametrize(("feature", "body", "expected"), SUPPORTED,
                         ids=[case[0] for case in SUPPORTED])
def test_supported_feature_runs(appsync: Any, feature: str, body: str, expected: object) -> None:
    """FEATURES: for-in, for-of, ?? and ?. are supported."""
    code = f"export function request(ctx) {{\n  {body}\n}}"
    response = evaluate(appsync, code, {"arguments": {}})
    assert "error" not in response, (response, FEATURES)
    assert json.loads(response["evaluationResult"]) == expected, FEATURES


def test_syntax_error_reported(appsync: Any) -> None:
    """API: code that does not parse is reported in error.codeErrors."""
    response = evaluate(appsync, "export function request(ctx) {\n  return { ;\n}", {})
    assert response["error"]["codeErrors"][0]["errorType"] == "PARSER_ERROR", API


def test_unknown_module_rejected(appsync: Any) -> None:
    """MODULES: only the AppSync utility modules can be imported."""
    code = "import axios from 'axios';\nexport function request(ctx) { return {}; }"
    response = evaluate(appsync, code, {})
    assert "axios" in response["error"]["codeErrors"][0]["value"], MODULES


def test_runtime_name_validated(appsync: Any) -> None:
    """API: runtime.name allows only APPSYNC_JS; other values are a BadRequestException."""
    with pytest.raises(ClientError) as raised:
        appsync.evaluate_code(runtime={"name": "NODEJS", "runtimeVersion": "1.0.0"},
                              code=RESOLVER, context="{}", function="request")
    assert raised.value.response["Error"]["Code"] == "BadRequestException", API
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, API
