"""MOCK integrations of REST APIs: SAM's CORS preflight methods and static templates.

Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html
(the request template's statusCode selects the integration response)
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-corsconfiguration.html
(SAM's Cors adds an OPTIONS method with a MOCK integration that returns the CORS headers)
"""

from __future__ import annotations

from pathlib import Path

from windtunnel import Stack

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"

SAM_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    Cors:
      AllowMethods: "'GET,POST,OPTIONS'"
      AllowHeaders: "'content-type'"
      AllowOrigin: "'https://app.example.com'"
Resources:
  Items:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Get: {Type: Api, Properties: {Path: /items, Method: GET}}
"""

MOCK_TEMPLATE = """
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: mocked}
  Health:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: health}
  Templated:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: vtl}
  HealthGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Health
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: MOCK
        RequestTemplates: {application/json: '{"statusCode": 503}'}
        IntegrationResponses:
          - StatusCode: "200"
            ResponseTemplates: {application/json: '{"healthy": true}'}
          - StatusCode: "503"
            SelectionPattern: "5\\\\d{2}"
            ResponseParameters: {method.response.header.Retry-After: "'30'"}
            ResponseTemplates: {application/json: '{"healthy": false}'}
      MethodResponses:
        - StatusCode: "200"
        - StatusCode: "503"
          ResponseParameters: {method.response.header.Retry-After: true}
  TemplatedGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Templated
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: MOCK
        RequestTemplates: {application/json: '{"statusCode": $input.params("code")}'}
        IntegrationResponses:
          - StatusCode: "200"
          - StatusCode: "404"
            SelectionPattern: "404"
            ResponseTemplates: {application/json: '{"missing": "$input.params(''code'')"}'}
      MethodResponses: [{StatusCode: "200"}, {StatusCode: "404"}]
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [HealthGet, TemplatedGet]
    Properties: {RestApiId: !Ref Api, StageName: test}
"""


def test_sam_cors_preflight(tmp_path: Path) -> None:
    """The OPTIONS method SAM adds returns the CORS headers and runs no function."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(SAM_TEMPLATE)

    with Stack.local(tmp_path, stack_name="cors") as stack:
        response = stack.http.options("/items", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
        invocations = stack.invocations

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-allow-methods"] == "GET,POST,OPTIONS"
    assert response.headers["access-control-allow-headers"] == "content-type"
    assert invocations == []


def test_status_selects_integration_response(tmp_path: Path) -> None:
    """statusCode 503 from the request template selects the response whose pattern
    matches it, with its static header and template; a Velocity request template chooses
    the status from a query parameter."""
    (tmp_path / "template.yaml").write_text(MOCK_TEMPLATE)

    with Stack.local(tmp_path, stack_name="mocked") as stack:
        health = stack.http.get("/health")
        templated = stack.http.get("/vtl?code=200")
        missing = stack.http.get("/vtl?code=404")

    assert health.status_code == 503
    assert health.headers["Retry-After"] == "30"
    assert health.json() == {"healthy": False}
    assert templated.status_code == 200
    assert templated.content == b""
    assert missing.status_code == 404
    assert missing.json() == {"missing": "404"}
