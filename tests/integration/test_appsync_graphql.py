"""A GraphQL API served on 127.0.0.1 and reached through its GraphQLUrl output.

Sources:
- https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-appsync-graphqlapi.html
  (``GraphQLUrl``: the endpoint that clients POST GraphQL requests to)
- https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-none.html
  (a NONE data source returns the request's payload)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from windtunnel import EmulatedStack, Stack

TEMPLATE = """
Resources:
  Api:
    Type: AWS::AppSync::GraphQLApi
    Properties: {Name: hello, AuthenticationType: API_KEY}
  Key:
    Type: AWS::AppSync::ApiKey
    Properties: {ApiId: !GetAtt Api.ApiId}
  Schema:
    Type: AWS::AppSync::GraphQLSchema
    Properties:
      ApiId: !GetAtt Api.ApiId
      Definition: "type Query { hello(name: String!): String }"
  None:
    Type: AWS::AppSync::DataSource
    Properties: {ApiId: !GetAtt Api.ApiId, Name: none, Type: NONE}
  Hello:
    Type: AWS::AppSync::Resolver
    DependsOn: [Schema, None]
    Properties:
      ApiId: !GetAtt Api.ApiId
      TypeName: Query
      FieldName: hello
      DataSourceName: none
      RequestMappingTemplate: '{"version": "2018-05-29", "payload": "Hello, $ctx.args.name"}'
      ResponseMappingTemplate: '$util.toJson($ctx.result)'
Outputs:
  Url: {Value: !GetAtt Api.GraphQLUrl}
  Key: {Value: !GetAtt Key.ApiKey}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("served")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root / "template.yaml", stack_name="served") as loaded:
        loaded.serve()
        yield loaded


def test_graphql_url_serves_queries(stack: EmulatedStack) -> None:
    """A plain HTTP client POSTs to the GraphQLUrl output and gets the resolver's value."""
    url = stack.outputs["Url"]
    assert url.startswith("http://127.0.0.1:")
    response = httpx.post(url, json={"query": '{ hello(name: "Ann") }'},
                          headers={"x-api-key": stack.outputs["Key"]})
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello, Ann"}}


def test_graphql_url_requires_the_key(stack: EmulatedStack) -> None:
    """Without x-api-key the API returns 401 over HTTP too."""
    response = httpx.post(stack.outputs["Url"], json={"query": '{ hello(name: "x") }'})
    assert response.status_code == 401
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"


def test_the_aws_hostname_reaches_the_api(stack: EmulatedStack) -> None:
    """A request with the API's AWS Host header ({id}.appsync-api.{region}.amazonaws.com,
    https://docs.aws.amazon.com/appsync/latest/devguide/graphql-endpoints.html) reaches it;
    the ID is the one in the GraphQL URL."""
    api_id = stack.outputs["Url"].rstrip("/").split("/")[-2]
    endpoint = stack.serve()

    response = httpx.post(f"{endpoint}/graphql", json={"query": '{ hello(name: "Bo") }'},
                          headers={"x-api-key": stack.outputs["Key"],
                                   "Host": f"{api_id}.appsync-api.us-east-1.amazonaws.com"})

    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello, Bo"}}


def test_realtime_hostname_needs_websocket(stack: EmulatedStack) -> None:
    """A plain HTTP request to {id}.appsync-realtime-api.{region}.amazonaws.com gets an
    error that names WebSocket connections, instead of reaching the GraphQL API."""
    api_id = stack.outputs["Url"].rstrip("/").split("/")[-2]

    response = httpx.get(f"{stack.serve()}/graphql",
                         headers={"Host": f"{api_id}.appsync-realtime-api.us-east-1"
                                          f".amazonaws.com"})

    assert response.status_code == 400
    assert "WebSocket" in response.json()["errors"][0]["message"]
