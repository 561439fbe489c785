"""REST API AWS (Lambda non-proxy) integrations with request and response mapping templates.

Sources:
- Template selection by Content-Type (application/json when absent) and by Accept, with
  the first template as the fallback, and the parameter mapping expressions:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html
- ``$input``, ``$context``, ``$stageVariables`` and ``$util``:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
- Passthrough behaviors (415 Unsupported Media Type):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
- Lambda errors: ``selectionPattern`` against ``errorMessage``, the default response
  otherwise, the deserialized custom error in body-to-header mappings, and the method
  response that each status code needs:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html
- Lambda permission required for API Gateway (500 otherwise):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from windtunnel import Stack

HANDLERS = '''
import json

def echo(event, context):
    return event

def fail(event, context):
    raise ValueError(event["reason"])

def custom(event, context):
    raise Exception(json.dumps({"errorType": "NotFound", "httpStatus": 404,
                                "trace": {"function": "find()"}}))
'''

ECHO_TEMPLATE = (
    '{"name": "$input.path(\'$.name\')", "id": "$input.params(\'id\')", '
    '"q": "$input.params(\'q\')", "agent": "$input.params(\'X-Agent\')", '
    '"stage": "$context.stage", "method": "$context.httpMethod", '
    '"resourcePath": "$context.resourcePath", "color": "$stageVariables.color", '
    '"whole": $input.json(\'$\'), "encoded": "$util.base64Encode($input.path(\'$.name\'))"}'
)

# Each @uri:Name@ becomes the Lambda integration URI of function Name.
TEMPLATE_SOURCE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Timeout: 3}
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.echo}
  Fail:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.fail}
  Custom:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.custom}
  Locked:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.echo}
  EchoPermission:
    Type: AWS::Lambda::Permission
    Properties: {Action: lambda:InvokeFunction, FunctionName: !Ref Echo,
                 Principal: apigateway.amazonaws.com}
  FailPermission:
    Type: AWS::Lambda::Permission
    Properties: {Action: lambda:InvokeFunction, FunctionName: !Ref Fail,
                 Principal: apigateway.amazonaws.com}
  CustomPermission:
    Type: AWS::Lambda::Permission
    Properties: {Action: lambda:InvokeFunction, FunctionName: !Ref Custom,
                 Principal: apigateway.amazonaws.com}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: mapped}
  EchoResource:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: echo}
  EchoId:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !Ref EchoResource, PathPart: "{id}"}
  EchoPost:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref EchoId
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: @uri:Echo@
        PassthroughBehavior: WHEN_NO_MATCH
        RequestTemplates:
          application/json: @echo_template@
          application/xml: '{"kind": "xml", "body": "$util.base64Encode($input.body)"}'
        IntegrationResponses:
          - StatusCode: "200"
            ResponseParameters:
              method.response.header.X-Stage: integration.response.body.stage
              method.response.header.X-Static: "'fixed'"
              method.response.header.X-Request: context.requestId
            ResponseTemplates:
              application/json: >-
                {"greeting": "hello $input.path('$.name')", "event": $input.body}
              text/plain: 'hello $input.path(''$.name'')'
      MethodResponses:
        - StatusCode: "200"
          ResponseParameters:
            method.response.header.X-Stage: true
            method.response.header.X-Static: true
            method.response.header.X-Request: true
  StrictResource:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: strict}
  StrictPost:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref StrictResource
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: @uri:Echo@
        PassthroughBehavior: NEVER
        RequestTemplates: {application/json: '{"strict": true}'}
        IntegrationResponses: [{StatusCode: "200"}]
      MethodResponses: [{StatusCode: "200"}]
  FailResource:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: fail}
  FailGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref FailResource
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: @uri:Fail@
        RequestTemplates: {application/json: '{"reason": "$input.params(''reason'')"}'}
        IntegrationResponses:
          - StatusCode: "200"
          - StatusCode: "400"
            SelectionPattern: "Malformed.*"
            ResponseTemplates: {application/json: '{"error": $input.json(''$.errorMessage'')}'}
      MethodResponses: [{StatusCode: "200"}, {StatusCode: "400"}]
  CustomResource:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: custom}
  CustomGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref CustomResource
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: @uri:Custom@
        IntegrationResponses:
          - StatusCode: "404"
            SelectionPattern: '.*"httpStatus": 404.*'
            ResponseParameters:
              method.response.header.X-Error-Type: integration.response.body.errorMessage.errorType
              method.response.header.X-Trace: integration.response.body.errorMessage.trace
      MethodResponses:
        - StatusCode: "404"
          ResponseParameters:
            method.response.header.X-Error-Type: true
            method.response.header.X-Trace: true
  UnlistedResource:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: unlisted}
  UnlistedPost:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref UnlistedResource
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: @uri:Echo@
        IntegrationResponses: [{StatusCode: "200"}]
      MethodResponses: [{StatusCode: "201"}]
  LockedResource:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: locked}
  LockedPost:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref LockedResource
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Uri: @uri:Locked@
        IntegrationResponses: [{StatusCode: "200"}]
      MethodResponses: [{StatusCode: "200"}]
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [EchoPost, StrictPost, FailGet, CustomGet, UnlistedPost, LockedPost]
    Properties: {RestApiId: !Ref Api}
  Stage:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref Api
      DeploymentId: !Ref Deployment
      StageName: dev
      Variables: {color: blue}
"""

TEMPLATE = re.sub(
    r"@uri:(\w+)@",
    r'!Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${\1.Arn}'
    r'/invocations"',
    TEMPLATE_SOURCE.replace("@echo_template@", json.dumps(ECHO_TEMPLATE)))


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root: Path = tmp_path_factory.mktemp("mapping")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLERS)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="mapping") as stack:
        yield stack.http


def test_request_template_builds_event(http: httpx.Client) -> None:
    """The application/json template's output is the Lambda event: $input, $context,
    $stageVariables and $util are filled in from the method request."""
    response = http.post("/echo/i7?q=fast", json={"name": "Ada"},
                         headers={"X-Agent": "probe"})

    assert response.status_code == 200
    event = response.json()["event"]
    assert event["name"] == "Ada"
    assert event["id"] == "i7"
    assert event["q"] == "fast"
    assert event["agent"] == "probe"
    assert event["stage"] == "dev"
    assert event["method"] == "POST"
    assert event["resourcePath"] == "/echo/{id}"
    assert event["color"] == "blue"
    assert event["whole"] == {"name": "Ada"}
    assert event["encoded"] == "QWRh"


def test_content_type_selects_template(http: httpx.Client) -> None:
    """The Content-Type's media type (parameters ignored) selects the request template."""
    response = http.post("/echo/i7", content=b"<a/>",
                         headers={"Content-Type": "application/xml; charset=UTF-8"})

    assert response.status_code == 200
    assert response.json()["event"] == {"kind": "xml", "body": "PGEvPg=="}


def test_missing_content_type_means_json(http: httpx.Client) -> None:
    """A request without Content-Type uses the application/json template."""
    response = http.post("/echo/i8", content=b'{"name": "Bo"}')

    assert response.json()["event"]["name"] == "Bo"


def test_when_no_match_passes_body(http: httpx.Client) -> None:
    """WHEN_NO_MATCH sends the body unmapped when no template matches the Content-Type."""
    response = http.post("/echo/i7", content=b'{"raw": true}',
                         headers={"Content-Type": "text/plain"})

    assert response.status_code == 200
    assert response.json()["event"] == {"raw": True}


def test_never_rejects_unmatched_type(http: httpx.Client) -> None:
    """NEVER rejects a Content-Type without a template: 415 Unsupported Media Type."""
    rejected = http.post("/strict", content=b"{}", headers={"Content-Type": "text/plain"})
    accepted = http.post("/strict", json={})

    assert rejected.status_code == 415
    assert rejected.json() == {"message": "Unsupported Media Type"}
    assert accepted.status_code == 200
    assert accepted.json() == {"strict": True}


def test_response_template_and_headers(http: httpx.Client) -> None:
    """The default integration response maps headers from the body, a static value and
    the context, and its template renders the function's result."""
    response = http.post("/echo/i7", json={"name": "Ada"})

    assert response.headers["X-Stage"] == "dev"
    assert response.headers["X-Static"] == "fixed"
    assert response.headers["X-Request"] == response.headers["x-amzn-RequestId"]
    assert response.headers["content-type"] == "application/json"
    assert response.json()["greeting"] == "hello Ada"


def test_accept_selects_response_template(http: httpx.Client) -> None:
    """The Accept header selects the response template and the Content-Type."""
    response = http.post("/echo/i7", json={"name": "Ada"}, headers={"Accept": "text/plain"})

    assert response.text == "hello Ada"
    assert response.headers["content-type"] == "text/plain"


def test_error_pattern_selects_response(http: httpx.Client) -> None:
    """A Lambda error whose errorMessage matches a selectionPattern gets that status."""
    response = http.get("/fail", params={"reason": "Malformed input"})

    assert response.status_code == 400
    assert response.json() == {"error": "Malformed input"}


def test_unmatched_error_uses_default(http: httpx.Client) -> None:
    """An error no pattern matches takes the default response: 200 with the error payload."""
    response = http.get("/fail", params={"reason": "disk full"})

    assert response.status_code == 200
    assert response.json()["errorMessage"] == "disk full"
    assert response.json()["errorType"] == "ValueError"


def test_custom_error_maps_to_headers(http: httpx.Client) -> None:
    """A JSON errorMessage is deserialized for body-to-header mappings; an object field
    becomes JSON text."""
    response = http.get("/custom")

    assert response.status_code == 404
    assert response.headers["X-Error-Type"] == "NotFound"
    assert json.loads(response.headers["X-Trace"]) == {"function": "find()"}


def test_status_without_method_response(http: httpx.Client) -> None:
    """An integration response whose status code has no method response is a
    configuration error: 500."""
    response = http.post("/unlisted", json={})

    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}


def test_function_without_permission(http: httpx.Client) -> None:
    """Without a resource policy allowing API Gateway, the invocation fails with 500."""
    response = http.post("/locked", json={})

    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}
