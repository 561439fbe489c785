"""GraphQL requests served by APPSYNC_JS unit and pipeline resolvers.

Sources:
- JS = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-reference-overview-js.html
  (the request function's return value goes to the data source; the response function
  reads ``ctx.result`` and returns the field's value; pipeline functions pass
  ``ctx.prev.result`` and share ``ctx.stash``)
- NONE = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-reference-none-js.html
  (a NONE data source returns the request's ``payload``)
- RUNTIME = https://docs.aws.amazon.com/appsync/latest/devguide/runtime-utils-js.html
  (``runtime.earlyReturn`` in a unit resolver skips the data source and the response)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.services.appsync.dataplane import GraphqlPlane
from windtunnel.stack.graphql import StackGraphql

JS = "https://docs.aws.amazon.com/appsync/latest/devguide/resolver-reference-overview-js.html"
NONE = "https://docs.aws.amazon.com/appsync/latest/devguide/resolver-reference-none-js.html"
RUNTIME = "https://docs.aws.amazon.com/appsync/latest/devguide/runtime-utils-js.html"

SCHEMA = """
type Query { echo(text: String): String early: String fail: String chain(id: ID!): String }
schema { query: Query }
"""
RUNTIME_PROPERTY = {"Name": "APPSYNC_JS", "RuntimeVersion": "1.0.0"}

ECHO = """export function request(ctx) {
  return { payload: ctx.args.text.toUpperCase() };
}
export function response(ctx) { return `${ctx.result}!`; }"""

EARLY = """import { runtime, util } from '@aws-appsync/utils';
export function request(ctx) { runtime.earlyReturn('early'); return { payload: 'late' }; }
export function response(ctx) { util.error('the response function ran'); }"""

FAIL = """import { util } from '@aws-appsync/utils';
export function request(ctx) { return { payload: null }; }
export function response(ctx) { util.error('Nope', 'Custom'); }"""

PIPELINE = """export function request(ctx) { ctx.stash.trail = ['before']; return {}; }
export function response(ctx) { return `${ctx.prev.result}|${ctx.stash.trail.join(',')}`; }"""

STEP = """export function request(ctx) {
  ctx.stash.trail.push('step');
  return { payload: `item-${ctx.args.id}` };
}
export function response(ctx) { return ctx.result; }"""


def _resolver(field: str, code: str) -> dict[str, Any]:
    return {"Type": "AWS::AppSync::Resolver", "DependsOn": ["Schema", "NoneSource"],
            "Properties": {"ApiId": {"Fn::GetAtt": "Api.ApiId"}, "TypeName": "Query",
                           "FieldName": field, "DataSourceName": "none", "Code": code,
                           "Runtime": RUNTIME_PROPERTY}}


def _template() -> dict[str, Any]:
    api = {"Fn::GetAtt": "Api.ApiId"}
    resources: dict[str, Any] = {
        "Api": {"Type": "AWS::AppSync::GraphQLApi",
                "Properties": {"Name": "js", "AuthenticationType": "API_KEY"}},
        "Key": {"Type": "AWS::AppSync::ApiKey", "Properties": {"ApiId": api}},
        "Schema": {"Type": "AWS::AppSync::GraphQLSchema",
                   "Properties": {"ApiId": api, "Definition": SCHEMA}},
        "NoneSource": {"Type": "AWS::AppSync::DataSource",
                       "Properties": {"ApiId": api, "Name": "none", "Type": "NONE"}},
        "Echo": _resolver("echo", ECHO),
        "Early": _resolver("early", EARLY),
        "Fail": _resolver("fail", FAIL),
        "Step": {"Type": "AWS::AppSync::FunctionConfiguration", "DependsOn": "NoneSource",
                 "Properties": {"ApiId": api, "Name": "step", "DataSourceName": "none",
                                "Code": STEP, "Runtime": RUNTIME_PROPERTY}},
        "Chain": {"Type": "AWS::AppSync::Resolver", "DependsOn": "Schema", "Properties": {
            "ApiId": api, "TypeName": "Query", "FieldName": "chain", "Kind": "PIPELINE",
            "PipelineConfig": {"Functions": [{"Fn::GetAtt": "Step.FunctionId"}]},
            "Code": PIPELINE, "Runtime": RUNTIME_PROPERTY}},
    }
    return {"Resources": resources,
            "Outputs": {"Key": {"Value": {"Fn::GetAtt": "Key.ApiKey"}}}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("graphql_js")
    (root / "template.json").write_text(json.dumps(_template()))
    with Stack.local(root / "template.json", stack_name="graphqljs") as loaded:
        environment = loaded.environment
        environment.cloud.register_data_plane(
            GraphqlPlane.plane, GraphqlPlane(environment.cloud, now=environment.clock.now))
        yield loaded


def query(stack: EmulatedStack, text: str) -> dict[str, Any]:
    response = StackGraphql(stack)(text, None, headers={"x-api-key": stack.outputs["Key"]})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_unit_resolver_runs_both_functions(stack: EmulatedStack) -> None:
    """JS, NONE: request builds the payload; response turns ctx.result into the value."""
    assert query(stack, '{ echo(text: "hi") }') == {"data": {"echo": "HI!"}}, JS


def test_early_return_skips_response(stack: EmulatedStack) -> None:
    """RUNTIME: earlyReturn skips the data source and the response function."""
    assert query(stack, "{ early }") == {"data": {"early": "early"}}, RUNTIME


def test_util_error_fails_field(stack: EmulatedStack) -> None:
    """JS: util.error in the response function fails the field with the error."""
    body = query(stack, "{ fail }")
    assert body["data"] == {"fail": None}, JS
    assert body["errors"][0]["message"] == "Nope", JS
    assert body["errors"][0]["errorType"] == "Custom", JS


def test_pipeline_of_code(stack: EmulatedStack) -> None:
    """JS: pipeline functions share ctx.stash and pass ctx.prev.result to the response."""
    body = query(stack, '{ chain(id: "7") }')
    assert body == {"data": {"chain": "item-7|before,step"}}, JS
