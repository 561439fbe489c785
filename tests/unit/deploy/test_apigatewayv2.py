"""Tests of the API Gateway HTTP and WebSocket API resource handlers against moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from windtunnel.constants import DEFAULT_REGION
from windtunnel.deploy.resources.base import ResourceCreationFailed, handler_for

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
OPENAPI_DOCS = ("https://docs.aws.amazon.com/apigateway/latest/developerguide/"
                "http-api-open-api.html")
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:items"
LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
              f"{FUNCTION_ARN}/invocations")


@pytest.fixture
def client(make_context: Any) -> Any:
    """A boto3 apigatewayv2 client on the same moto backend as the handlers."""
    return boto3.client("apigatewayv2", region_name=DEFAULT_REGION)


def create(make_context: Any, resource_type: str, properties: dict[str, Any],
           logical_id: str = "Resource") -> Any:
    handler = handler_for(resource_type)
    assert handler is not None
    return handler(make_context(logical_id, resource_type), properties)


def http_api(make_context: Any) -> str:
    provisioned = create(make_context, "AWS::ApiGatewayV2::Api",
                         {"Name": "items", "ProtocolType": "HTTP"}, "Api")
    return str(provisioned.physical_id)


# source: {DOCS}aws-resource-apigatewayv2-api.html (Return values)
def test_api_ref_and_attributes(make_context: Any, client: Any) -> None:
    """Ref is the API ID. ApiEndpoint and ApiId are attributes."""
    provisioned = create(make_context, "AWS::ApiGatewayV2::Api", {
        "Name": "items", "ProtocolType": "HTTP", "Description": "item API",
        "DisableExecuteApiEndpoint": "false", "Version": 2,
        "CorsConfiguration": {"AllowOrigins": ["https://example.com"], "MaxAge": "600",
                              "AllowCredentials": "true"},
        "Tags": {"team": "web"},
    })

    api = client.get_api(ApiId=provisioned.physical_id)
    assert provisioned.attributes == {"ApiEndpoint": api["ApiEndpoint"], "ApiId": api["ApiId"]}
    assert api["ApiEndpoint"] == (
        f"https://{api['ApiId']}.execute-api.{DEFAULT_REGION}.amazonaws.com")
    assert api["Description"] == "item API"
    assert api["Version"] == "2"
    assert api["CorsConfiguration"] == {"AllowOrigins": ["https://example.com"], "MaxAge": 600,
                                        "AllowCredentials": True}
    assert api["Tags"] == {"team": "web"}


# source: {DOCS}aws-resource-apigatewayv2-api.html (RouteSelectionExpression)
def test_websocket_api(make_context: Any, client: Any) -> None:
    """A WebSocket API keeps its route selection expression."""
    provisioned = create(make_context, "AWS::ApiGatewayV2::Api", {
        "Name": "chat", "ProtocolType": "WEBSOCKET",
        "RouteSelectionExpression": "$request.body.action",
    })
    api = client.get_api(ApiId=provisioned.physical_id)
    assert api["ProtocolType"] == "WEBSOCKET"
    assert api["RouteSelectionExpression"] == "$request.body.action"


# source: {DOCS}aws-resource-apigatewayv2-api.html (Target: quick create)
def test_quick_create(make_context: Any, client: Any) -> None:
    """Target creates a Lambda proxy integration, a $default route and an auto-deploy stage."""
    provisioned = create(make_context, "AWS::ApiGatewayV2::Api", {
        "Name": "quick", "ProtocolType": "HTTP", "Target": FUNCTION_ARN,
    })

    api_id = provisioned.physical_id
    [integration] = client.get_integrations(ApiId=api_id)["Items"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == FUNCTION_ARN
    assert integration["PayloadFormatVersion"] == "2.0"
    [route] = client.get_routes(ApiId=api_id)["Items"]
    assert route["RouteKey"] == "$default"
    assert route["Target"] == f"integrations/{integration['IntegrationId']}"
    assert client.get_stage(ApiId=api_id, StageName="$default")["AutoDeploy"] is True


@pytest.mark.parametrize(("resource_type", "properties", "missing", "source"), [
    ("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"}, "Name",
     "aws-resource-apigatewayv2-api.html"),
    ("AWS::ApiGatewayV2::Route", {"ApiId": "a"}, "RouteKey",
     "aws-resource-apigatewayv2-route.html"),
    ("AWS::ApiGatewayV2::Integration", {"ApiId": "a"}, "IntegrationType",
     "aws-resource-apigatewayv2-integration.html"),
    ("AWS::ApiGatewayV2::Authorizer", {"ApiId": "a", "AuthorizerType": "JWT"}, "Name",
     "aws-resource-apigatewayv2-authorizer.html"),
    ("AWS::ApiGatewayV2::Stage", {"ApiId": "a"}, "StageName",
     "aws-resource-apigatewayv2-stage.html"),
    ("AWS::ApiGatewayV2::Deployment", {}, "ApiId",
     "aws-resource-apigatewayv2-deployment.html"),
])
def test_missing_required_property(make_context: Any, resource_type: str,
                                   properties: dict[str, Any], missing: str,
                                   source: str) -> None:
    """A missing required property fails CloudFormation's schema validation."""
    with pytest.raises(ResourceCreationFailed) as raised:
        create(make_context, resource_type, properties)
    assert raised.value.reason == ("Properties validation failed for resource with message: "
                                   f"#: required key [{missing}] not found")


@pytest.mark.parametrize("resource_type", [
    "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Stage",
    "AWS::ApiGatewayV2::Deployment",
])
def test_unknown_property(make_context: Any, resource_type: str) -> None:
    """A property outside the type's schema fails as CloudFormation fails."""
    with pytest.raises(ResourceCreationFailed) as raised:
        create(make_context, resource_type, {"Foo": 1})
    assert raised.value.reason == ("Properties validation failed for resource with message: "
                                   "#: extraneous key [Foo] is not permitted")


# source: {DOCS}aws-resource-apigatewayv2-integration.html and
# aws-resource-apigatewayv2-route.html (Return values)
def test_integration_and_route(make_context: Any, client: Any) -> None:
    """An integration keeps payload format, timeout and parameters. A route targets it."""
    api_id = http_api(make_context)
    integration = create(make_context, "AWS::ApiGatewayV2::Integration", {
        "ApiId": api_id, "IntegrationType": "AWS_PROXY", "IntegrationUri": FUNCTION_ARN,
        "PayloadFormatVersion": "2.0", "TimeoutInMillis": "12000",
        "RequestParameters": {"append:header.source": "api"},
    }, "Integration")
    route = create(make_context, "AWS::ApiGatewayV2::Route", {
        "ApiId": api_id, "RouteKey": "GET /items/{id}", "AuthorizationType": "AWS_IAM",
        "OperationName": "getItem", "Target": f"integrations/{integration.physical_id}",
    }, "Route")

    stored = client.get_integration(ApiId=api_id, IntegrationId=integration.physical_id)
    assert integration.attributes == {"IntegrationId": stored["IntegrationId"]}
    assert stored["PayloadFormatVersion"] == "2.0"
    assert stored["TimeoutInMillis"] == 12000
    assert stored["RequestParameters"] == {"append:header.source": "api"}
    stored_route = client.get_route(ApiId=api_id, RouteId=route.physical_id)
    assert route.attributes == {"RouteId": stored_route["RouteId"]}
    assert stored_route["RouteKey"] == "GET /items/{id}"
    assert stored_route["AuthorizationType"] == "AWS_IAM"
    assert stored_route["Target"] == f"integrations/{integration.physical_id}"


# source: {DOCS}aws-resource-apigatewayv2-integration.html (HTTP_PROXY)
def test_http_proxy_integration(make_context: Any, client: Any) -> None:
    """An HTTP_PROXY integration keeps its method and URL."""
    api_id = http_api(make_context)
    provisioned = create(make_context, "AWS::ApiGatewayV2::Integration", {
        "ApiId": api_id, "IntegrationType": "HTTP_PROXY", "IntegrationMethod": "GET",
        "IntegrationUri": "https://example.com/{proxy}", "PayloadFormatVersion": "1.0",
    })
    stored = client.get_integration(ApiId=api_id, IntegrationId=provisioned.physical_id)
    assert stored["IntegrationType"] == "HTTP_PROXY"
    assert stored["IntegrationMethod"] == "GET"
    assert stored["IntegrationUri"] == "https://example.com/{proxy}"


# source: {DOCS}aws-resource-apigatewayv2-authorizer.html
def test_jwt_and_request_authorizers(make_context: Any, client: Any) -> None:
    """JWT and Lambda REQUEST authorizers keep their configuration."""
    api_id = http_api(make_context)
    jwt = create(make_context, "AWS::ApiGatewayV2::Authorizer", {
        "ApiId": api_id, "Name": "jwt", "AuthorizerType": "JWT",
        "IdentitySource": ["$request.header.Authorization"],
        "JwtConfiguration": {"Audience": ["client"], "Issuer": "https://issuer.example.com"},
    }, "Jwt")
    request = create(make_context, "AWS::ApiGatewayV2::Authorizer", {
        "ApiId": api_id, "Name": "lambda", "AuthorizerType": "REQUEST",
        "AuthorizerUri": LAMBDA_URI, "AuthorizerPayloadFormatVersion": "2.0",
        "EnableSimpleResponses": "true", "AuthorizerResultTtlInSeconds": "0",
        "IdentitySource": ["$request.header.X-Token"],
    }, "Lambda")

    stored_jwt = client.get_authorizer(ApiId=api_id, AuthorizerId=jwt.physical_id)
    assert jwt.attributes == {"AuthorizerId": stored_jwt["AuthorizerId"]}
    assert stored_jwt["JwtConfiguration"] == {"Audience": ["client"],
                                              "Issuer": "https://issuer.example.com"}
    stored_request = client.get_authorizer(ApiId=api_id, AuthorizerId=request.physical_id)
    assert stored_request["EnableSimpleResponses"] is True
    assert stored_request["AuthorizerPayloadFormatVersion"] == "2.0"
    assert stored_request["AuthorizerResultTtlInSeconds"] == 0
    assert stored_request["IdentitySource"] == ["$request.header.X-Token"]


# source: {DOCS}aws-resource-apigatewayv2-stage.html (Ref returns the stage name)
def test_stage(make_context: Any, client: Any) -> None:
    """A stage keeps AutoDeploy, stage variables and route settings."""
    api_id = http_api(make_context)
    provisioned = create(make_context, "AWS::ApiGatewayV2::Stage", {
        "ApiId": api_id, "StageName": "$default", "AutoDeploy": "true",
        "StageVariables": {"table": "items"},
        "DefaultRouteSettings": {"ThrottlingBurstLimit": "10", "ThrottlingRateLimit": 5,
                                 "DetailedMetricsEnabled": "true"},
        "RouteSettings": {"GET /items": {"ThrottlingBurstLimit": 1}},
    })

    assert provisioned.physical_id == "$default"
    stage = client.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AutoDeploy"] is True
    assert stage["StageVariables"] == {"table": "items"}
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 10,
                                             "ThrottlingRateLimit": 5.0,
                                             "DetailedMetricsEnabled": True}
    assert stage["RouteSettings"] == {"GET /items": {"ThrottlingBurstLimit": 1}}


# source: {DOCS}aws-resource-apigatewayv2-deployment.html (Return values)
def test_deployment_id(make_context: Any) -> None:
    """Ref and DeploymentId return the same deployment ID."""
    api_id = http_api(make_context)
    provisioned = create(make_context, "AWS::ApiGatewayV2::Deployment", {"ApiId": api_id})
    assert provisioned.attributes == {"DeploymentId": provisioned.physical_id}


HTTP_API_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.1",
    "info": {"title": "orders", "version": "2024-01-01"},
    "x-amazon-apigateway-cors": {"allowOrigins": ["*"], "allowMethods": ["GET"]},
    "components": {
        "securitySchemes": {
            "jwt": {"type": "oauth2", "x-amazon-apigateway-authorizer": {
                "type": "jwt", "identitySource": "$request.header.Authorization",
                "jwtConfiguration": {"audience": ["app"], "issuer": "https://id.example.com"}}},
        },
        "x-amazon-apigateway-integrations": {
            "orders": {"type": "aws_proxy", "uri": FUNCTION_ARN, "httpMethod": "POST",
                       "payloadFormatVersion": "2.0", "timeoutInMillis": 5000}},
    },
    "paths": {
        "/orders": {"get": {
            "security": [{"jwt": ["orders.read"]}],
            "x-amazon-apigateway-integration": {
                "$ref": "#/components/x-amazon-apigateway-integrations/orders"}}},
        "$default": {"x-amazon-apigateway-any-method": {
            "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "ANY", "uri": "https://example.com",
                "payloadFormatVersion": "1.0"}}},
    },
}


# source: OPENAPI_DOCS (x-amazon-apigateway-integrations, -authorizer, -cors, $default)
def test_openapi_body_from_local_file(make_context: Any, client: Any, tmp_path: Path) -> None:
    """A local OpenAPI 3 body creates routes, integrations, authorizers and CORS."""
    (tmp_path / "openapi.json").write_text(json.dumps(HTTP_API_DOCUMENT))
    provisioned = create(make_context, "AWS::ApiGatewayV2::Api",
                         {"BodyS3Location": "openapi.json"})

    api_id = provisioned.physical_id
    api = client.get_api(ApiId=api_id)
    assert api["Name"] == "orders"
    assert api["CorsConfiguration"] == {"AllowOrigins": ["*"], "AllowMethods": ["GET"]}
    routes = {route["RouteKey"]: route for route in client.get_routes(ApiId=api_id)["Items"]}
    assert set(routes) == {"GET /orders", "$default"}
    assert routes["GET /orders"]["AuthorizationType"] == "JWT"
    # moto 5.2 has no GetAuthorizers, so the route's authorizer is read by its ID.
    authorizer = client.get_authorizer(ApiId=api_id,
                                       AuthorizerId=routes["GET /orders"]["AuthorizerId"])
    assert authorizer["JwtConfiguration"]["Issuer"] == "https://id.example.com"
    assert routes["GET /orders"]["AuthorizationScopes"] == ["orders.read"]
    integration_id = routes["GET /orders"]["Target"].removeprefix("integrations/")
    integration = client.get_integration(ApiId=api_id, IntegrationId=integration_id)
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["TimeoutInMillis"] == 5000


def test_body_unknown_extension(make_context: Any) -> None:
    """A document extension the import cannot store fails instead of being dropped."""
    document = {**HTTP_API_DOCUMENT, "x-amazon-apigateway-policy": {}}
    with pytest.raises(ResourceCreationFailed, match="x-amazon-apigateway-policy"):
        create(make_context, "AWS::ApiGatewayV2::Api", {"Body": document})


def test_base_path_not_emulated(make_context: Any) -> None:
    """BasePath raises an error naming the property."""
    with pytest.raises(ResourceCreationFailed, match="BasePath is not emulated"):
        create(make_context, "AWS::ApiGatewayV2::Api",
               {"Body": HTTP_API_DOCUMENT, "BasePath": "split"})
