"""GraphQL requests to an AppSync API: schema, unit and pipeline resolvers, AppSync errors.

Sources:
- RESOLVERS = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-components.html
  (unit resolvers: request template, data source, response template; pipeline resolvers:
  before template, functions in order, ``$ctx.prev.result`` and ``$ctx.stash``, after
  template)
- NONE = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-none.html
  (the payload of the request is the result)
- UTIL = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-util-reference.html
  (``$util.error(message, errorType, data)`` ends the field with an error; ``appendError``
  adds one and keeps the value; ``#return`` skips the data source and response template)
- SCALARS = https://docs.aws.amazon.com/appsync/latest/devguide/scalars.html (AWSJSON is
  parsed for resolvers and returned as JSON text; AWSDateTime is an ISO 8601 date time)
- AUTHZ = https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html (a field
  whose directives exclude the caller's mode is null with "Not Authorized to access FIELD
  on type TYPE"; missing credentials get 401 UnauthorizedException)
- ERRORS = https://spec.graphql.org/October2021/#sec-Errors (``path``, ``locations``,
  null in place of a failed field)
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

RESOLVERS = "https://docs.aws.amazon.com/appsync/latest/devguide/resolver-components.html"
NONE = ("https://docs.aws.amazon.com/appsync/latest/devguide/"
        "resolver-mapping-template-reference-none.html")
UTIL = "https://docs.aws.amazon.com/appsync/latest/devguide/resolver-util-reference.html"
SCALARS = "https://docs.aws.amazon.com/appsync/latest/devguide/scalars.html"
AUTHZ = "https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html"
ERRORS = "https://spec.graphql.org/October2021/#sec-Errors"

SCHEMA = """
type Post { id: ID! title: String tags: [String] }
type Query {
  echo(text: String): String
  post(id: ID!): Post
  fail(message: String!): String
  warn: String
  early: String
  pipeline(id: ID!): Post
  date(at: AWSDateTime): AWSDateTime
  json(value: AWSJSON): AWSJSON
  iamOnly: String @aws_iam
}
schema { query: Query }
"""

PAYLOAD = '{"version": "2018-05-29", "payload": %s}'
TO_JSON = "$util.toJson($ctx.result)"


def _resolver(field: str, request: str, response: str = TO_JSON) -> dict[str, Any]:
    return {"Type": "AWS::AppSync::Resolver", "DependsOn": "Schema", "Properties": {
        "ApiId": {"Fn::GetAtt": "Api.ApiId"}, "TypeName": "Query", "FieldName": field,
        "DataSourceName": "none", "RequestMappingTemplate": request,
        "ResponseMappingTemplate": response}}


def _function(name: str, request: str, response: str) -> dict[str, Any]:
    return {"Type": "AWS::AppSync::FunctionConfiguration", "DependsOn": "NoneSource",
            "Properties": {"ApiId": {"Fn::GetAtt": "Api.ApiId"}, "Name": name,
                           "DataSourceName": "none", "FunctionVersion": "2018-05-29",
                           "RequestMappingTemplate": request,
                           "ResponseMappingTemplate": response}}


def _template() -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Api": {"Type": "AWS::AppSync::GraphQLApi",
                "Properties": {"Name": "posts", "AuthenticationType": "API_KEY",
                               "AdditionalAuthenticationProviders": [
                                   {"AuthenticationType": "AWS_IAM"}]}},
        "Key": {"Type": "AWS::AppSync::ApiKey",
                "Properties": {"ApiId": {"Fn::GetAtt": "Api.ApiId"}}},
        "Schema": {"Type": "AWS::AppSync::GraphQLSchema",
                   "Properties": {"ApiId": {"Fn::GetAtt": "Api.ApiId"}, "Definition": SCHEMA}},
        "NoneSource": {"Type": "AWS::AppSync::DataSource",
                       "Properties": {"ApiId": {"Fn::GetAtt": "Api.ApiId"}, "Name": "none",
                                      "Type": "NONE"}},
        "Echo": _resolver("echo", PAYLOAD % "$util.toJson($ctx.args.text)"),
        "Post": _resolver("post", PAYLOAD % '{"id": $util.toJson($ctx.args.id), '
                                            '"title": "Hello", "tags": ["a", "b"]}'),
        "Fail": _resolver("fail", PAYLOAD % "null",
                          '$util.error($ctx.args.message, "Custom", {"reason": "test"})'),
        "Warn": _resolver("warn", PAYLOAD % '"kept"',
                          '$util.appendError("careful", "Warning")$util.toJson($ctx.result)'),
        "Early": _resolver("early", '#return("from request")\n' + PAYLOAD % '"unused"',
                           '$util.error("the response template ran")'),
        "Date": _resolver("date", PAYLOAD % "$util.toJson($ctx.args.at)"),
        "Json": _resolver("json", PAYLOAD % '{"type": "$util.typeOf($ctx.args.value)", '
                                            '"value": $util.toJson($ctx.args.value)}'),
        "IamOnly": _resolver("iamOnly", PAYLOAD % '"secret"'),
        "First": _function(
            "first",
            '$util.qr($ctx.stash.put("seen", ["first"]))'
            + PAYLOAD % "$util.toJson($ctx.prev.result)",
            '{"id": $util.toJson($ctx.result.id), "title": "from first"}'),
        "Second": _function(
            "second",
            '$util.qr($ctx.stash.seen.add("second"))'
            + PAYLOAD % "$util.toJson($ctx.prev.result)",
            TO_JSON),
        "Pipeline": {"Type": "AWS::AppSync::Resolver", "DependsOn": "Schema", "Properties": {
            "ApiId": {"Fn::GetAtt": "Api.ApiId"}, "TypeName": "Query", "FieldName": "pipeline",
            "Kind": "PIPELINE",
            "PipelineConfig": {"Functions": [{"Fn::GetAtt": "First.FunctionId"},
                                             {"Fn::GetAtt": "Second.FunctionId"}]},
            "RequestMappingTemplate": '{"id": $util.toJson($ctx.args.id)}',
            "ResponseMappingTemplate":
                '{"id": $util.toJson($ctx.prev.result.id), '
                '"title": $util.toJson($ctx.result.title), '
                '"tags": $util.toJson($ctx.stash.seen)}'}},
    }
    return {"Resources": resources,
            "Outputs": {"Key": {"Value": {"Fn::GetAtt": "Key.ApiKey"}},
                        "Url": {"Value": {"Fn::GetAtt": "Api.GraphQLUrl"}}}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("graphql")
    (root / "template.json").write_text(json.dumps(_template()))
    with Stack.local(root / "template.json", stack_name="graphql") as loaded:
        environment = loaded.environment
        environment.cloud.register_data_plane(
            GraphqlPlane.plane, GraphqlPlane(environment.cloud, now=environment.clock.now))
        yield loaded


def query(stack: EmulatedStack, text: str, variables: dict[str, Any] | None = None,
          ) -> dict[str, Any]:
    response = StackGraphql(stack)(text, variables, headers={"x-api-key": stack.outputs["Key"]})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_unit_resolver_with_none_source(stack: EmulatedStack) -> None:
    """NONE: the request's payload is the result that the response template returns."""
    assert query(stack, '{ echo(text: "hi") }') == {"data": {"echo": "hi"}}, NONE


def test_nested_fields_read_the_parent_result(stack: EmulatedStack) -> None:
    """RESOLVERS: fields without resolvers take the parent's value of the same name."""
    body = query(stack, 'query Get($id: ID!) { post(id: $id) { id title tags } }', {"id": "p1"})
    assert body == {"data": {"post": {"id": "p1", "title": "Hello", "tags": ["a", "b"]}}}, \
        RESOLVERS


def test_util_error_fails_the_field(stack: EmulatedStack) -> None:
    """UTIL: $util.error gives the message, errorType and data; the field is null."""
    body = query(stack, '{\n  echo(text: "ok")\n  fail(message: "broken")\n}')
    assert body["data"] == {"echo": "ok", "fail": None}, ERRORS
    [error] = body["errors"]
    assert error["message"] == "broken", UTIL
    assert error["errorType"] == "Custom", UTIL
    assert error["data"] == {"reason": "test"}, UTIL
    assert error["path"] == ["fail"], ERRORS
    assert error["locations"] == [{"line": 3, "column": 3, "sourceName": None}], ERRORS


def test_append_error_keeps_the_value(stack: EmulatedStack) -> None:
    """UTIL: $util.appendError adds an error and the field keeps its value."""
    body = query(stack, "{ warn }")
    assert body["data"] == {"warn": "kept"}, UTIL
    assert [(error["message"], error["errorType"], error["path"])
            for error in body["errors"]] == [("careful", "Warning", ["warn"])], UTIL


def test_return_in_request_template(stack: EmulatedStack) -> None:
    """UTIL: #return in the request template skips the data source and response template."""
    assert query(stack, "{ early }") == {"data": {"early": "from request"}}, UTIL


def test_pipeline_passes_prev_result_and_stash(stack: EmulatedStack) -> None:
    """RESOLVERS: functions run in order with $ctx.prev.result; the stash is shared."""
    body = query(stack, '{ pipeline(id: "p9") { id title tags } }')
    assert body == {"data": {"pipeline": {"id": "p9", "title": "from first",
                                          "tags": ["first", "second"]}}}, RESOLVERS


def test_aws_json_is_parsed_for_resolvers(stack: EmulatedStack) -> None:
    """SCALARS: an AWSJSON argument is a map in the template and JSON text in the response."""
    body = query(stack, 'query J($v: AWSJSON) { json(value: $v) }', {"v": '{"a": [1, 2]}'})
    assert json.loads(body["data"]["json"]) == {"type": "Map", "value": {"a": [1, 2]}}, SCALARS


def test_aws_date_time_accepts_iso_8601(stack: EmulatedStack) -> None:
    """SCALARS: AWSDateTime takes an extended ISO 8601 date time with a zone offset."""
    body = query(stack, '{ date(at: "2007-12-03T10:15:30Z") }')
    assert body == {"data": {"date": "2007-12-03T10:15:30Z"}}, SCALARS


def test_aws_date_time_rejects_a_date(stack: EmulatedStack) -> None:
    """SCALARS: a date without a time is not an AWSDateTime; the request is not run."""
    body = query(stack, '{ date(at: "2007-12-03") }')
    assert body["data"] is None, SCALARS
    assert len(body["errors"]) == 1, SCALARS


def test_unknown_field_is_a_validation_error(stack: EmulatedStack) -> None:
    """ERRORS: a query that does not validate returns errors with locations and no data."""
    body = query(stack, "{ missing }")
    assert body["data"] is None, ERRORS
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 3, "sourceName": None}], \
        ERRORS


def test_field_for_another_mode_is_unauthorized(stack: EmulatedStack) -> None:
    """AUTHZ: an @aws_iam field read with an API key is null and Unauthorized."""
    body = query(stack, '{ echo(text: "a") iamOnly }')
    assert body["data"] == {"echo": "a", "iamOnly": None}, AUTHZ
    [error] = body["errors"]
    assert error["errorType"] == "Unauthorized", AUTHZ
    assert error["message"] == "Not Authorized to access iamOnly on type Query", AUTHZ


def test_missing_credentials_get_401(stack: EmulatedStack) -> None:
    """AUTHZ: a request without credentials gets 401 UnauthorizedException."""
    response = StackGraphql(stack)('{ echo(text: "a") }')
    assert response.status_code == 401, AUTHZ
    assert response.json()["errors"][0]["errorType"] == "UnauthorizedException", AUTHZ


def test_graphql_url_output_reaches_the_api(stack: EmulatedStack) -> None:
    """The GraphQLUrl output, made local, serves the API (path /_aws/appsync-api/...)."""
    url: str = stack.outputs["Url"]
    path = url.split("/_aws/appsync-api/", 1)[1]
    label = path.split("/", 1)[0]
    client = StackGraphql(stack).client()
    client.base_url = client.base_url.copy_with(path=f"/_aws/appsync-api/{label}")
    with client:
        response = client.post("/graphql", json={"query": '{ echo(text: "url") }'},
                               headers={"x-api-key": stack.outputs["Key"]})
    assert response.json() == {"data": {"echo": "url"}}
