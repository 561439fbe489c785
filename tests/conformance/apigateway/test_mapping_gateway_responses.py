"""Gateway responses: customized status codes, headers and templates of REST API errors.

Sources:
- Gateway responses, their mapping sources (``method.request.*``, ``$context``,
  ``$stageVariables``, literals) and templates:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html
- Response types, default status codes, the DEFAULT_4XX and DEFAULT_5XX fallbacks and
  their status code override:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
- The default template ``{"message":$context.error.messageString}`` and the OpenAPI
  extension:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.html
"""

from __future__ import annotations

import json
from pathlib import Path

from windtunnel import Stack

BASE = """
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: responses}
  Validator:
    Type: AWS::ApiGateway::RequestValidator
    Properties: {RestApiId: !Ref Api, ValidateRequestParameters: true}
  Items:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: items}
  ItemsGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Items
      HttpMethod: GET
      AuthorizationType: NONE
      RequestValidatorId: !Ref Validator
      RequestParameters: {method.request.querystring.page: true}
      Integration:
        Type: MOCK
        RequestTemplates: {application/json: '{"statusCode": 200}'}
        IntegrationResponses: [{StatusCode: "200"}]
      MethodResponses: [{StatusCode: "200"}]
  ItemsPost:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Items
      HttpMethod: POST
      AuthorizationType: NONE
      Integration:
        Type: MOCK
        PassthroughBehavior: NEVER
        RequestTemplates: {application/json: '{"statusCode": 200}'}
        IntegrationResponses: [{StatusCode: "200"}]
      MethodResponses: [{StatusCode: "200"}]
  Broken:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: broken}
  BrokenGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Broken
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: MOCK
        RequestTemplates: {application/json: '{"statusCode": 200}'}
        IntegrationResponses: [{StatusCode: "200"}]
"""

CUSTOMIZATIONS = """
  MissingToken:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: MISSING_AUTHENTICATION_TOKEN
      StatusCode: "404"
      ResponseParameters:
        gatewayresponse.header.X-Hint: "'check the path'"
        gatewayresponse.header.X-Caller: method.request.header.X-Caller
        gatewayresponse.header.X-Color: stageVariables.color
      ResponseTemplates:
        application/json: >-
          {"error": $context.error.messageString,
          "type": "$context.error.responseType", "stage": "$context.stage"}
  Default4xx:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: DEFAULT_4XX
      ResponseParameters:
        gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
  Default5xx:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: DEFAULT_5XX
      StatusCode: "503"
      ResponseTemplates:
        application/json: '{"failure": "$context.error.message", "request": "$context.requestId"}'
"""

DEPLOYMENT = """
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [ItemsGet, ItemsPost, BrokenGet]
    Properties: {RestApiId: !Ref Api}
  Stage:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref Api
      DeploymentId: !Ref Deployment
      StageName: v1
      Variables: {color: green}
"""

TEMPLATE = BASE + CUSTOMIZATIONS + DEPLOYMENT

OPENAPI_TEMPLATE = """
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Body:
        openapi: "3.0.1"
        info: {title: imported, version: "1"}
        paths:
          /ping:
            get:
              responses: {"200": {description: ok}}
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates: {application/json: '{"statusCode": 200}'}
                responses: {default: {statusCode: "200"}}
        x-amazon-apigateway-gateway-responses:
          MISSING_AUTHENTICATION_TOKEN:
            statusCode: 404
            responseParameters:
              gatewayresponse.header.X-Reason: "'no such route'"
            responseTemplates:
              application/json: '{"reason": $context.error.messageString}'
  Deployment:
    Type: AWS::ApiGateway::Deployment
    Properties: {RestApiId: !Ref Api, StageName: live}
"""


def test_customized_type(tmp_path: Path) -> None:
    """A type's own customization sets the status, headers from literals, request headers
    and stage variables, and a template reading $context.error."""
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with Stack.local(tmp_path, stack_name="responses") as stack:
        response = stack.http.get("/nowhere", headers={"X-Caller": "tests"})

    assert response.status_code == 404
    assert response.headers["X-Hint"] == "check the path"
    assert response.headers["X-Caller"] == "tests"
    assert response.headers["X-Color"] == "green"
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.json() == {"error": "Missing Authentication Token",
                               "type": "MISSING_AUTHENTICATION_TOKEN", "stage": "v1"}


def test_default_4xx_covers_other_types(tmp_path: Path) -> None:
    """DEFAULT_4XX adds its header to 4XX types without their own customization, which keep
    their status codes and the default {"message": ...} body."""
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with Stack.local(tmp_path, stack_name="responses") as stack:
        parameters = stack.http.get("/items")
        media_type = stack.http.post("/items", content=b"x",
                                     headers={"Content-Type": "text/plain"})
        allowed = stack.http.get("/items", params={"page": "2"})

    assert parameters.status_code == 400
    assert parameters.headers["Access-Control-Allow-Origin"] == "*"
    assert parameters.json() == {"message": "Missing required request parameters: [page]"}
    assert media_type.status_code == 415
    assert media_type.headers["Access-Control-Allow-Origin"] == "*"
    assert media_type.json() == {"message": "Unsupported Media Type"}
    assert allowed.status_code == 200
    assert "Access-Control-Allow-Origin" not in allowed.headers


def test_default_5xx_status_override(tmp_path: Path) -> None:
    """DEFAULT_5XX with a status code replaces the status and body of 5XX errors, such as
    an integration response without a method response (API_CONFIGURATION_ERROR)."""
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with Stack.local(tmp_path, stack_name="responses") as stack:
        response = stack.http.get("/broken")

    assert response.status_code == 503
    body = response.json()
    assert body["failure"] == "Internal server error"
    assert body["request"] == response.headers["x-amzn-RequestId"]


def test_uncustomized_api_keeps_defaults(tmp_path: Path) -> None:
    """Without customizations the default body is {"message":"..."} with its status."""
    (tmp_path / "template.yaml").write_text(BASE + DEPLOYMENT)

    with Stack.local(tmp_path, stack_name="responses") as stack:
        response = stack.http.get("/nowhere")

    assert response.status_code == 403
    assert response.content == b'{"message":"Missing Authentication Token"}'
    assert "X-Hint" not in response.headers


def test_openapi_gateway_responses(tmp_path: Path) -> None:
    """x-amazon-apigateway-gateway-responses in an OpenAPI body customizes the API."""
    (tmp_path / "template.yaml").write_text(OPENAPI_TEMPLATE)

    with Stack.local(tmp_path, stack_name="imported") as stack:
        missing = stack.http.get("/pong")
        found = stack.http.get("/ping")

    assert missing.status_code == 404
    assert missing.headers["X-Reason"] == "no such route"
    assert json.loads(missing.content) == {"reason": "Missing Authentication Token"}
    assert found.status_code == 200
