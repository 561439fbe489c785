"""Tests of the API Gateway REST API resource handlers against moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from windtunnel.constants import DEFAULT_REGION
from windtunnel.deploy.resources import apigateway, apigateway_stages
from windtunnel.deploy.resources.base import ResourceCreationFailed, handler_for

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
EXTENSIONS_DOCS = ("https://docs.aws.amazon.com/apigateway/latest/developerguide/"
                   "api-gateway-swagger-extensions.html")
LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
              "arn:aws:lambda:us-east-1:123456789012:function:items/invocations")


@pytest.fixture
def client(make_context: Any) -> Any:
    """A boto3 API Gateway client on the same moto backend as the handlers."""
    return boto3.client("apigateway", region_name=DEFAULT_REGION)


def create(make_context: Any, resource_type: str, properties: dict[str, Any],
           logical_id: str = "Resource") -> Any:
    handler = handler_for(resource_type)
    assert handler is not None
    return handler(make_context(logical_id, resource_type), properties)


def rest_api(make_context: Any) -> tuple[str, str]:
    provisioned = create(make_context, "AWS::ApiGateway::RestApi", {"Name": "shop"}, "Api")
    return provisioned.physical_id, provisioned.attributes["RootResourceId"]


def resources_by_path(client: Any, api_id: str) -> dict[str, dict[str, Any]]:
    items = client.get_resources(restApiId=api_id, embed=["methods"])["items"]
    return {item["path"]: item for item in items}


def test_handlers_registered() -> None:
    """Every REST API type in scope has a handler."""
    assert apigateway_stages.__name__.endswith("apigateway_stages")
    assert apigateway.__name__.endswith("apigateway")
    for resource_type in ("RestApi", "Resource", "Method", "Model", "RequestValidator",
                          "Authorizer", "Deployment", "Stage", "ApiKey", "UsagePlan",
                          "UsagePlanKey", "GatewayResponse", "Account"):
        assert handler_for(f"AWS::ApiGateway::{resource_type}") is not None


# source: {DOCS}aws-resource-apigateway-restapi.html (Return values)
def test_rest_api_ref_and_attributes(make_context: Any, client: Any) -> None:
    """Ref is the REST API ID. RestApiId and RootResourceId are attributes."""
    provisioned = create(make_context, "AWS::ApiGateway::RestApi", {
        "Name": "shop", "Description": "the shop", "ApiKeySourceType": "AUTHORIZER",
        "EndpointConfiguration": {"Types": ["REGIONAL"]}, "MinimumCompressionSize": "1024",
        "DisableExecuteApiEndpoint": "true", "BinaryMediaTypes": ["image/png"],
        "Policy": {"Version": "2012-10-17", "Statement": []},
        "Tags": [{"Key": "team", "Value": "web"}],
    })

    api = client.get_rest_api(restApiId=provisioned.physical_id)
    root = resources_by_path(client, api["id"])["/"]
    assert provisioned.attributes == {"RestApiId": api["id"], "RootResourceId": root["id"]}
    assert api["name"] == "shop"
    assert api["description"] == "the shop"
    assert api["apiKeySource"] == "AUTHORIZER"
    assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert api["minimumCompressionSize"] == 1024
    assert api["disableExecuteApiEndpoint"] is True
    assert api["binaryMediaTypes"] == ["image/png"]
    assert json.loads(api["policy"]) == {"Version": "2012-10-17", "Statement": []}
    assert api["tags"] == {"team": "web"}


@pytest.mark.parametrize(("resource_type", "properties", "missing", "source"), [
    ("AWS::ApiGateway::RestApi", {}, "Name", "aws-resource-apigateway-restapi.html"),
    ("AWS::ApiGateway::Resource", {"RestApiId": "x", "PathPart": "a"}, "ParentId",
     "aws-resource-apigateway-resource.html"),
    ("AWS::ApiGateway::Method", {"RestApiId": "x", "ResourceId": "y"}, "HttpMethod",
     "aws-resource-apigateway-method.html"),
    ("AWS::ApiGateway::Authorizer", {"RestApiId": "x", "Type": "TOKEN"}, "Name",
     "aws-resource-apigateway-authorizer.html"),
    ("AWS::ApiGateway::Deployment", {}, "RestApiId",
     "aws-resource-apigateway-deployment.html"),
    ("AWS::ApiGateway::UsagePlanKey", {"KeyId": "k", "KeyType": "API_KEY"}, "UsagePlanId",
     "aws-resource-apigateway-usageplankey.html"),
    ("AWS::ApiGateway::GatewayResponse", {"RestApiId": "x"}, "ResponseType",
     "aws-resource-apigateway-gatewayresponse.html"),
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
    "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Method", "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::Account",
])
def test_unknown_property(make_context: Any, resource_type: str) -> None:
    """A property outside the type's schema fails as CloudFormation fails."""
    with pytest.raises(ResourceCreationFailed) as raised:
        create(make_context, resource_type, {"Foo": 1})
    assert raised.value.reason == ("Properties validation failed for resource with message: "
                                   "#: extraneous key [Foo] is not permitted")


def test_clone_from_not_emulated(make_context: Any) -> None:
    """CloneFrom raises an error naming the property."""
    with pytest.raises(ResourceCreationFailed, match="CloneFrom is not emulated"):
        create(make_context, "AWS::ApiGateway::RestApi", {"Name": "x", "CloneFrom": "abc"})


# source: {DOCS}aws-resource-apigateway-resource.html and aws-resource-apigateway-method.html
def test_resource_and_method_with_integration(make_context: Any, client: Any) -> None:
    """A method stores its settings, method responses, integration and its responses."""
    api_id, root_id = rest_api(make_context)
    resource = create(make_context, "AWS::ApiGateway::Resource",
                      {"RestApiId": api_id, "ParentId": root_id, "PathPart": "items"})
    assert resource.attributes == {"ResourceId": resource.physical_id}

    method = create(make_context, "AWS::ApiGateway::Method", {
        "RestApiId": api_id, "ResourceId": resource.physical_id, "HttpMethod": "post",
        "AuthorizationType": "AWS_IAM", "ApiKeyRequired": "true", "OperationName": "addItem",
        "RequestParameters": {"method.request.querystring.page": "false"},
        "RequestModels": {"application/json": "Empty"},
        "MethodResponses": [{"StatusCode": 200,
                             "ResponseParameters": {"method.response.header.X-Id": True}}],
        "Integration": {
            "Type": "AWS", "IntegrationHttpMethod": "POST", "Uri": LAMBDA_URI,
            "RequestTemplates": {"application/json": "{\"id\": \"$input.params('id')\"}"},
            "PassthroughBehavior": "NEVER", "TimeoutInMillis": "5000",
            "ContentHandling": "CONVERT_TO_TEXT",
            "Credentials": "arn:aws:iam::123456789012:role/api",
            "IntegrationResponses": [{"StatusCode": "200", "SelectionPattern": "",
                                      "ResponseTemplates": {"application/json": "$input.body"},
                                      "ResponseParameters": {
                                          "method.response.header.X-Id": "'1'"}}],
        },
    }, "ItemsPost")

    assert method.physical_id.startswith("test-stack-ItemsPost-")
    stored = client.get_method(restApiId=api_id, resourceId=resource.physical_id,
                               httpMethod="POST")
    assert stored["authorizationType"] == "AWS_IAM"
    assert stored["apiKeyRequired"] is True
    assert stored["operationName"] == "addItem"
    assert stored["requestParameters"] == {"method.request.querystring.page": False}
    assert stored["requestModels"] == {"application/json": "Empty"}
    assert stored["methodResponses"]["200"]["responseParameters"] == {
        "method.response.header.X-Id": True}
    integration = stored["methodIntegration"]
    assert integration["type"] == "AWS"
    assert integration["httpMethod"] == "POST"
    assert integration["uri"] == LAMBDA_URI
    assert integration["passthroughBehavior"] == "NEVER"
    assert integration["timeoutInMillis"] == 5000
    assert integration["contentHandling"] == "CONVERT_TO_TEXT"
    assert integration["credentials"] == "arn:aws:iam::123456789012:role/api"
    assert integration["integrationResponses"]["200"]["responseTemplates"] == {
        "application/json": "$input.body"}


# source: {DOCS}aws-resource-apigateway-authorizer.html (Return values: AuthorizerId)
@pytest.mark.parametrize(("authorizer_type", "extra"), [
    ("TOKEN", {"AuthorizerUri": LAMBDA_URI, "IdentitySource": "method.request.header.Auth",
               "IdentityValidationExpression": "^Bearer .+$",
               "AuthorizerResultTtlInSeconds": "60"}),
    ("REQUEST", {"AuthorizerUri": LAMBDA_URI,
                 "IdentitySource": "method.request.header.Auth,method.request.querystring.q"}),
    ("COGNITO_USER_POOLS", {
        "ProviderARNs": ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x"],
        "IdentitySource": "method.request.header.Authorization"}),
])
def test_authorizer_types(make_context: Any, client: Any, authorizer_type: str,
                          extra: dict[str, Any]) -> None:
    """TOKEN, REQUEST and COGNITO_USER_POOLS authorizers keep their settings."""
    api_id, _ = rest_api(make_context)
    provisioned = create(make_context, "AWS::ApiGateway::Authorizer",
                         {"RestApiId": api_id, "Name": "auth", "Type": authorizer_type, **extra})

    stored = client.get_authorizer(restApiId=api_id, authorizerId=provisioned.physical_id)
    assert provisioned.attributes == {"AuthorizerId": stored["id"]}
    assert stored["type"] == authorizer_type
    assert stored["identitySource"] == extra["IdentitySource"]
    if "IdentityValidationExpression" in extra:
        assert stored["identityValidationExpression"] == "^Bearer .+$"
        assert stored["authorizerResultTtlInSeconds"] == 60
    if "ProviderARNs" in extra:
        assert stored["providerARNs"] == extra["ProviderARNs"]


# source: {DOCS}aws-resource-apigateway-model.html and
# aws-resource-apigateway-requestvalidator.html (Return values)
def test_model_and_request_validator(make_context: Any, client: Any) -> None:
    """Ref of a model is its name. Ref of a validator is its ID."""
    api_id, _ = rest_api(make_context)
    model = create(make_context, "AWS::ApiGateway::Model", {
        "RestApiId": api_id, "Name": "Item", "ContentType": "application/json",
        "Schema": {"type": "object", "required": ["id"]},
    })
    validator = create(make_context, "AWS::ApiGateway::RequestValidator", {
        "RestApiId": api_id, "Name": "body", "ValidateRequestBody": "true",
    })

    assert model.physical_id == "Item"
    stored_model = client.get_model(restApiId=api_id, modelName="Item")
    assert json.loads(stored_model["schema"]) == {"type": "object", "required": ["id"]}
    stored_validator = client.get_request_validator(restApiId=api_id,
                                                    requestValidatorId=validator.physical_id)
    assert validator.attributes == {"RequestValidatorId": stored_validator["id"]}
    assert stored_validator["validateRequestBody"] is True
    assert stored_validator["validateRequestParameters"] is False


# source: {DOCS}aws-resource-apigateway-gatewayresponse.html
def test_gateway_response(make_context: Any, client: Any) -> None:
    """A gateway response keeps its status code, parameters and templates."""
    api_id, _ = rest_api(make_context)
    create(make_context, "AWS::ApiGateway::GatewayResponse", {
        "RestApiId": api_id, "ResponseType": "MISSING_AUTHENTICATION_TOKEN", "StatusCode": 404,
        "ResponseParameters": {"gatewayresponse.header.k": "'v'"},
        "ResponseTemplates": {"application/json": "{\"message\": \"gone\"}"},
    })

    stored = client.get_gateway_response(restApiId=api_id,
                                         responseType="MISSING_AUTHENTICATION_TOKEN")
    assert stored["statusCode"] == "404"
    assert stored["responseParameters"] == {"gatewayresponse.header.k": "'v'"}
    assert stored["responseTemplates"] == {"application/json": "{\"message\": \"gone\"}"}


def deployable_api(make_context: Any, client: Any) -> str:
    api_id, root_id = rest_api(make_context)
    create(make_context, "AWS::ApiGateway::Method", {
        "RestApiId": api_id, "ResourceId": root_id, "HttpMethod": "GET",
        "Integration": {"Type": "MOCK", "RequestTemplates": {
            "application/json": "{\"statusCode\": 200}"}},
    }, "RootGet")
    return api_id


# source: {DOCS}aws-resource-apigateway-deployment.html (Return values, StageDescription)
def test_deployment_creates_stage(make_context: Any, client: Any) -> None:
    """StageName and StageDescription create a stage serving the deployment."""
    api_id = deployable_api(make_context, client)
    provisioned = create(make_context, "AWS::ApiGateway::Deployment", {
        "RestApiId": api_id, "StageName": "prod", "StageDescription": {
            "Description": "production", "Variables": {"table": "items"},
            "TracingEnabled": "true", "MetricsEnabled": "true", "ThrottlingBurstLimit": 10,
            "MethodSettings": [{"ResourcePath": "/~1items", "HttpMethod": "GET",
                                "LoggingLevel": "INFO"}],
        },
    })

    assert provisioned.attributes == {"DeploymentId": provisioned.physical_id}
    stage = client.get_stage(restApiId=api_id, stageName="prod")
    assert stage["deploymentId"] == provisioned.physical_id
    assert stage["description"] == "production"
    assert stage["variables"] == {"table": "items"}
    assert stage["tracingEnabled"] is True
    assert stage["methodSettings"]["*/*"]["metricsEnabled"] is True
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 10
    assert stage["methodSettings"]["~1items/GET"]["loggingLevel"] == "INFO"


# source: {DOCS}aws-resource-apigateway-stage.html (Ref returns the stage name)
def test_stage(make_context: Any, client: Any) -> None:
    """A stage keeps variables, tracing and method settings. Ref is its name."""
    api_id = deployable_api(make_context, client)
    deployment = create(make_context, "AWS::ApiGateway::Deployment", {"RestApiId": api_id})
    provisioned = create(make_context, "AWS::ApiGateway::Stage", {
        "RestApiId": api_id, "DeploymentId": deployment.physical_id, "StageName": "dev",
        "Variables": {"mode": "test"}, "TracingEnabled": True,
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*",
                            "DataTraceEnabled": "false", "CachingEnabled": True}],
    })

    assert provisioned.physical_id == "dev"
    stage = client.get_stage(restApiId=api_id, stageName="dev")
    assert stage["deploymentId"] == deployment.physical_id
    assert stage["variables"] == {"mode": "test"}
    assert stage["tracingEnabled"] is True
    assert stage["methodSettings"]["*/*"]["cachingEnabled"] is True
    assert stage["methodSettings"]["*/*"]["dataTraceEnabled"] is False


# source: {DOCS}aws-resource-apigateway-apikey.html, aws-resource-apigateway-usageplan.html,
# aws-resource-apigateway-usageplankey.html (Return values)
def test_api_key_usage_plan_and_key(make_context: Any, client: Any) -> None:
    """API keys, usage plans and usage plan keys keep their settings and return their IDs."""
    key = create(make_context, "AWS::ApiGateway::ApiKey", {
        "Name": "partner", "Value": "a" * 30, "Enabled": "true",
    }, "Key")
    plan = create(make_context, "AWS::ApiGateway::UsagePlan", {
        "UsagePlanName": "gold", "Throttle": {"BurstLimit": "5", "RateLimit": 2.5},
        "Quota": {"Limit": 1000, "Period": "DAY"},
    }, "Plan")
    plan_key = create(make_context, "AWS::ApiGateway::UsagePlanKey", {
        "KeyId": key.physical_id, "KeyType": "API_KEY", "UsagePlanId": plan.physical_id,
    }, "PlanKey")

    stored_key = client.get_api_key(apiKey=key.physical_id, includeValue=True)
    assert key.attributes == {"APIKeyId": stored_key["id"]}
    assert stored_key["value"] == "a" * 30
    assert stored_key["enabled"] is True
    stored_plan = client.get_usage_plan(usagePlanId=plan.physical_id)
    assert plan.attributes == {"Id": stored_plan["id"]}
    assert stored_plan["throttle"] == {"burstLimit": 5, "rateLimit": 2.5}
    assert stored_plan["quota"] == {"limit": 1000, "period": "DAY"}
    assert plan_key.physical_id == f"{key.physical_id}:{plan.physical_id}"
    assert plan_key.attributes == {"Id": key.physical_id}
    keys = client.get_usage_plan_keys(usagePlanId=plan.physical_id)["items"]
    assert [item["id"] for item in keys] == [key.physical_id]


# source: {DOCS}aws-resource-apigateway-apikey.html (Enabled: default false)
def test_api_key_disabled_by_default(make_context: Any, client: Any) -> None:
    """An API key without Enabled is created disabled."""
    key = create(make_context, "AWS::ApiGateway::ApiKey", {})
    assert client.get_api_key(apiKey=key.physical_id)["enabled"] is False


# source: {DOCS}aws-resource-apigateway-account.html
def test_account(make_context: Any, client: Any) -> None:
    """Account sets the CloudWatch Logs role ARN."""
    role = "arn:aws:iam::123456789012:role/apigw-logs"
    provisioned = create(make_context, "AWS::ApiGateway::Account", {"CloudWatchRoleArn": role})
    assert client.get_account()["cloudwatchRoleArn"] == role
    assert provisioned.attributes == {"Id": provisioned.physical_id}


SWAGGER: dict[str, Any] = {
    "swagger": "2.0",
    "info": {"title": "petstore", "version": "1"},
    "x-amazon-apigateway-binary-media-types": ["image/png"],
    "x-amazon-apigateway-api-key-source": "HEADER",
    "x-amazon-apigateway-request-validators": {
        "all": {"validateRequestBody": True, "validateRequestParameters": True}},
    "x-amazon-apigateway-gateway-responses": {
        "DEFAULT_4XX": {"statusCode": 400,
                        "responseTemplates": {"application/json": "{\"error\": true}"}}},
    "securityDefinitions": {
        "token": {"type": "apiKey", "name": "Authorization", "in": "header",
                  "x-amazon-apigateway-authtype": "custom",
                  "x-amazon-apigateway-authorizer": {
                      "type": "token", "authorizerUri": LAMBDA_URI,
                      "authorizerResultTtlInSeconds": 300,
                      "identityValidationExpression": "^Bearer"}},
        "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
    },
    "definitions": {
        "Pet": {"type": "object", "properties": {"tag": {"$ref": "#/definitions/Tag"}}},
        "Tag": {"type": "string"},
    },
    "paths": {
        "/pets/{petId}": {
            "parameters": [{"name": "petId", "in": "path", "required": True}],
            "post": {
                "operationId": "addPet",
                "security": [{"token": []}, {"api_key": []}],
                "parameters": [{"name": "body", "in": "body",
                                "schema": {"$ref": "#/definitions/Pet"}},
                               {"name": "verbose", "in": "query"}],
                "x-amazon-apigateway-request-validator": "all",
                "responses": {"200": {"description": "ok",
                                      "headers": {"X-Id": {"type": "string"}}}},
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy", "httpMethod": "POST", "uri": LAMBDA_URI,
                    "timeoutInMillis": 3000,
                    "responses": {"default": {"statusCode": "200"}},
                },
            },
        },
        "/": {"x-amazon-apigateway-any-method": {
            "responses": {},
            "x-amazon-apigateway-integration": {"type": "mock"}}},
    },
}


# source: EXTENSIONS_DOCS (x-amazon-apigateway-authorizer, -request-validators,
# -gateway-responses, -binary-media-types, -integration, -any-method)
def test_swagger_body_import(make_context: Any, client: Any) -> None:
    """A Swagger 2.0 body stores paths, methods, authorizers, validators and extensions."""
    provisioned = create(make_context, "AWS::ApiGateway::RestApi", {"Body": SWAGGER}, "Pets")
    api_id = provisioned.physical_id

    api = client.get_rest_api(restApiId=api_id)
    assert api["name"] == "petstore"
    assert api["binaryMediaTypes"] == ["image/png"]
    resources = resources_by_path(client, api_id)
    assert set(resources) == {"/", "/pets", "/pets/{petId}"}
    assert resources["/"]["id"] == provisioned.attributes["RootResourceId"]
    assert "ANY" in resources["/"]["resourceMethods"]

    [authorizer] = client.get_authorizers(restApiId=api_id)["items"]
    assert authorizer["type"] == "TOKEN"
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert authorizer["identityValidationExpression"] == "^Bearer"
    [validator] = client.get_request_validators(restApiId=api_id)["items"]
    method = client.get_method(restApiId=api_id, resourceId=resources["/pets/{petId}"]["id"],
                               httpMethod="POST")
    assert method["authorizationType"] == "CUSTOM"
    assert method["authorizerId"] == authorizer["id"]
    assert method["apiKeyRequired"] is True
    assert method["operationName"] == "addPet"
    assert method["requestValidatorId"] == validator["id"]
    assert method["requestParameters"] == {"method.request.path.petId": True,
                                           "method.request.querystring.verbose": False}
    assert method["requestModels"] == {"application/json": "Pet"}
    assert method["methodResponses"]["200"]["responseParameters"] == {
        "method.response.header.X-Id": False}
    assert method["methodIntegration"]["type"] == "AWS_PROXY"
    assert method["methodIntegration"]["timeoutInMillis"] == 3000

    pet = json.loads(client.get_model(restApiId=api_id, modelName="Pet")["schema"])
    assert pet["properties"]["tag"]["$ref"] == (
        f"https://apigateway.amazonaws.com/restapis/{api_id}/models/Tag")
    response = client.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")
    assert response["statusCode"] == "400"


# source: EXTENSIONS_DOCS and {DOCS}aws-resource-apigateway-restapi.html (BodyS3Location)
def test_openapi3_body_from_local_file(make_context: Any, client: Any, tmp_path: Path) -> None:
    """BodyS3Location names a local OpenAPI 3 file beside the template."""
    document = {
        "openapi": "3.0.1", "info": {"title": "orders", "version": "1"},
        "components": {"schemas": {"Order": {"type": "object"}}},
        "paths": {"/orders": {"put": {
            "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Order"}}}},
            "responses": {"201": {"description": "created", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}},
            "x-amazon-apigateway-integration": {
                "type": "http", "httpMethod": "PUT", "uri": "https://example.com/orders",
                "responses": {"2\\d{2}": {"statusCode": "201"}}},
        }}},
    }
    (tmp_path / "api.yaml").write_text(json.dumps(document))

    provisioned = create(make_context, "AWS::ApiGateway::RestApi",
                         {"Name": "renamed", "BodyS3Location": "api.yaml"})

    api_id = provisioned.physical_id
    assert client.get_rest_api(restApiId=api_id)["name"] == "renamed"
    resource_id = resources_by_path(client, api_id)["/orders"]["id"]
    method = client.get_method(restApiId=api_id, resourceId=resource_id, httpMethod="PUT")
    assert method["requestModels"] == {"application/json": "Order"}
    assert method["methodResponses"]["201"]["responseModels"] == {"application/json": "Order"}
    assert method["methodIntegration"]["integrationResponses"]["201"]["selectionPattern"] == (
        "2\\d{2}")


def test_body_s3_bucket_not_emulated(make_context: Any) -> None:
    """BodyS3Location with a bucket and key raises an error naming the property."""
    with pytest.raises(ResourceCreationFailed, match="BodyS3Location with an Amazon S3"):
        create(make_context, "AWS::ApiGateway::RestApi",
               {"BodyS3Location": {"Bucket": "b", "Key": "api.yaml"}})


@pytest.mark.parametrize(("document", "message"), [
    ({**SWAGGER, "x-amazon-apigateway-documentation": {"documentationParts": []}},
     "x-amazon-apigateway-documentation"),
    ({**SWAGGER, "x-amazon-apigateway-cors": {}}, "x-amazon-apigateway-cors"),
    ({"swagger": "2.0", "info": {"title": "t"}, "paths": {"/a": {"get": {
        "x-amazon-apigateway-integration": {"type": "mock", "payloadFormatVersion": "2.0"}}}}},
     "payloadFormatVersion"),
    ({"info": {"title": "t"}, "paths": {}}, "neither Swagger 2.0 nor OpenAPI 3"),
])
def test_body_unsupported_construct(make_context: Any, document: dict[str, Any],
                                    message: str) -> None:
    """An extension or field the import cannot store fails instead of being dropped."""
    with pytest.raises(ResourceCreationFailed, match=message):
        create(make_context, "AWS::ApiGateway::RestApi", {"Body": document})


def test_ignore_documentation_parameter(make_context: Any, client: Any) -> None:
    """Parameters ignore=documentation imports a body with documentation parts."""
    document = {**SWAGGER, "x-amazon-apigateway-documentation": {"documentationParts": []}}
    provisioned = create(make_context, "AWS::ApiGateway::RestApi",
                         {"Body": document, "Parameters": {"ignore": "documentation"}})
    assert client.get_rest_api(restApiId=provisioned.physical_id)["name"] == "petstore"
