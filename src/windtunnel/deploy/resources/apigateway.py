"""Resource handlers for API Gateway REST APIs: the API, its resources, methods and parts."""

from __future__ import annotations

import json
from typing import Any

# Importing apigateway_stages registers the deployment, stage, key and usage plan handlers.
from windtunnel.deploy.resources import apigateway_stages  # noqa: F401
from windtunnel.deploy.resources.apigateway_openapi import OpenApiImport, document_settings
from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    ResourceCreationFailed,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
    drop_none,
    parse_document,
    read_local_file,
    reject_not_emulated,
    tags_to_dict,
)

_REST_API_PROPERTIES = (
    "ApiKeySourceType", "BinaryMediaTypes", "Body", "BodyS3Location", "CloneFrom",
    "Description", "DisableExecuteApiEndpoint", "EndpointConfiguration", "FailOnWarnings",
    "MinimumCompressionSize", "Mode", "Name", "Parameters", "Policy", "Tags",
)

# Import parameters of ImportRestApi that windtunnel applies, with their accepted values.
_IMPORT_PARAMETERS = {
    "endpointConfigurationTypes": ("EDGE", "REGIONAL", "PRIVATE"),
    "ignore": ("documentation",),
    "basepath": ("ignore",),
}


def _load_body(context: ResourceContext, properties: dict[str, Any]) -> dict[str, Any] | None:
    if "Body" in properties and "BodyS3Location" in properties:
        raise ResourceCreationFailed("Properties Body and BodyS3Location cannot both be set")
    if "BodyS3Location" in properties:
        text = read_local_file(context, properties["BodyS3Location"], "BodyS3Location")
        return parse_document(text, "BodyS3Location")
    body = properties.get("Body")
    if body is None:
        return None
    if isinstance(body, str):
        return parse_document(body, "Body")
    if not isinstance(body, dict):
        raise ResourceCreationFailed("Property Body is not a JSON object")
    return body


def _import_parameters(properties: dict[str, Any]) -> dict[str, str]:
    parameters = {str(key): str(value) for key, value in
                  (properties.get("Parameters") or {}).items()}
    for key, value in parameters.items():
        accepted = _IMPORT_PARAMETERS.get(key)
        if accepted is None or value not in accepted:
            raise ResourceCreationFailed(
                f"Property Parameters: import parameter {key}={value} is not emulated by "
                "windtunnel"
            )
    return parameters


@provisions("AWS::ApiGateway::RestApi")
def create_rest_api(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a REST API, importing its OpenAPI body when the template gives one."""
    check_properties(properties, _REST_API_PROPERTIES)
    # NOTE: CloneFrom would copy another API's resources, which windtunnel does not do.
    reject_not_emulated(context.resource_type, properties, ("CloneFrom",), type_first=True)
    if properties.get("Mode", "overwrite") not in ("overwrite", "merge"):
        raise ResourceCreationFailed(f"Property Mode has an invalid value {properties['Mode']}")
    if "FailOnWarnings" in properties:
        # Every construct windtunnel cannot import already fails, warnings included.
        coerce_boolean(properties["FailOnWarnings"], "FailOnWarnings")

    parameters = _import_parameters(properties)
    document = _load_body(context, properties)
    if document is None:
        require_properties(properties, "Name")
    settings = (document_settings(document,
                                  ignore_documentation=parameters.get("ignore") == "documentation")
                if document is not None else None)

    request: dict[str, Any] = {}
    if settings is not None:
        request = drop_none({
            "name": settings.name,
            "description": settings.description,
            "apiKeySource": settings.api_key_source,
            "policy": settings.policy,
            "minimumCompressionSize": settings.minimum_compression_size,
            "disableExecuteApiEndpoint": settings.disable_execute_api_endpoint,
        })
    # Template properties take precedence over the document's own values.
    request.update(drop_none({
        "name": properties.get("Name"),
        "description": properties.get("Description"),
        "apiKeySource": properties.get("ApiKeySourceType"),
    }))
    if "name" not in request:
        require_properties(properties, "Name")
    if "Policy" in properties:
        policy = properties["Policy"]
        request["policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    if "MinimumCompressionSize" in properties:
        request["minimumCompressionSize"] = coerce_integer(properties["MinimumCompressionSize"],
                                                   "MinimumCompressionSize")
    if "DisableExecuteApiEndpoint" in properties:
        request["disableExecuteApiEndpoint"] = coerce_boolean(
            properties["DisableExecuteApiEndpoint"], "DisableExecuteApiEndpoint")
    endpoint = _endpoint_configuration(properties, parameters, settings)
    if endpoint:
        request["endpointConfiguration"] = endpoint
    if "Tags" in properties:
        request["tags"] = tags_to_dict(properties["Tags"])

    client = context.client("apigateway")
    api = client.create_rest_api(**request)
    api_id = api["id"]

    binary_media_types = list(properties.get("BinaryMediaTypes") or (
        settings.binary_media_types if settings is not None else []))
    if binary_media_types:
        # A media type in a patch path escapes "/" as "~1" (JSON Pointer). moto 5.2 reads the
        # value instead, so both are sent.
        client.update_rest_api(restApiId=api_id, patchOperations=[
            {"op": "add", "path": "/binaryMediaTypes/" + media_type.replace("/", "~1"),
             "value": media_type}
            for media_type in binary_media_types
        ])

    if document is not None:
        OpenApiImport(client, api_id, api["rootResourceId"], document).run()

    return Provisioned(physical_id=api_id, attributes={
        "RestApiId": api_id,
        "RootResourceId": api["rootResourceId"],
    })


def _endpoint_configuration(properties: dict[str, Any], parameters: dict[str, str],
                            settings: Any) -> dict[str, Any]:
    endpoint: dict[str, Any] = {}
    if "endpointConfigurationTypes" in parameters:
        endpoint["types"] = [parameters["endpointConfigurationTypes"]]
    if settings is not None and settings.vpc_endpoint_ids:
        endpoint["vpcEndpointIds"] = list(settings.vpc_endpoint_ids)
    configuration = properties.get("EndpointConfiguration") or {}
    check_properties(configuration, ("Types", "VpcEndpointIds", "IpAddressType"))
    if "Types" in configuration:
        endpoint["types"] = list(configuration["Types"])
    if "VpcEndpointIds" in configuration:
        endpoint["vpcEndpointIds"] = list(configuration["VpcEndpointIds"])
    if "IpAddressType" in configuration:
        endpoint["ipAddressType"] = configuration["IpAddressType"]
    return endpoint


@provisions("AWS::ApiGateway::Resource")
def create_resource(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a resource (a path part) under a parent resource."""
    check_properties(properties, ("ParentId", "PathPart", "RestApiId"))
    require_properties(properties, "ParentId", "PathPart", "RestApiId")
    resource = context.client("apigateway").create_resource(
        restApiId=properties["RestApiId"], parentId=properties["ParentId"],
        pathPart=properties["PathPart"],
    )
    return Provisioned(physical_id=resource["id"], attributes={"ResourceId": resource["id"]})


_METHOD_PROPERTIES = (
    "ApiKeyRequired", "AuthorizationScopes", "AuthorizationType", "AuthorizerId", "HttpMethod",
    "Integration", "MethodResponses", "OperationName", "RequestModels", "RequestParameters",
    "RequestValidatorId", "ResourceId", "RestApiId",
)
_INTEGRATION_PROPERTIES = {
    "CacheKeyParameters": "cacheKeyParameters",
    "CacheNamespace": "cacheNamespace",
    "ConnectionId": "connectionId",
    "ConnectionType": "connectionType",
    "ContentHandling": "contentHandling",
    "Credentials": "credentials",
    "IntegrationHttpMethod": "integrationHttpMethod",
    "PassthroughBehavior": "passthroughBehavior",
    "RequestParameters": "requestParameters",
    "RequestTemplates": "requestTemplates",
    "TimeoutInMillis": "timeoutInMillis",
    "Type": "type",
    "Uri": "uri",
}


def _bool_map(values: Any, name: str) -> dict[str, bool]:
    return {str(key): coerce_boolean(value, name) for key, value in (values or {}).items()}


@provisions("AWS::ApiGateway::Method")
def create_method(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a method with its method responses, integration and integration responses."""
    check_properties(properties, _METHOD_PROPERTIES)
    require_properties(properties, "HttpMethod", "ResourceId", "RestApiId")
    method = {
        "restApiId": properties["RestApiId"],
        "resourceId": properties["ResourceId"],
        "httpMethod": str(properties["HttpMethod"]).upper(),
    }
    request = dict(method)
    request["authorizationType"] = properties.get("AuthorizationType", "NONE")
    if "ApiKeyRequired" in properties:
        request["apiKeyRequired"] = coerce_boolean(properties["ApiKeyRequired"], "ApiKeyRequired")
    if "RequestParameters" in properties:
        request["requestParameters"] = _bool_map(properties["RequestParameters"],
                                                 "RequestParameters")
    request.update(drop_none({
        "authorizerId": properties.get("AuthorizerId"),
        "authorizationScopes": properties.get("AuthorizationScopes"),
        "operationName": properties.get("OperationName"),
        "requestModels": properties.get("RequestModels"),
        "requestValidatorId": properties.get("RequestValidatorId"),
    }))

    client = context.client("apigateway")
    client.put_method(**request)
    for response in properties.get("MethodResponses") or []:
        check_properties(response, ("ResponseModels", "ResponseParameters", "StatusCode"))
        require_properties(response, "StatusCode")
        client.put_method_response(**method, statusCode=str(response["StatusCode"]), **drop_none({
            "responseModels": response.get("ResponseModels"),
            "responseParameters": (_bool_map(response["ResponseParameters"],
                                             "ResponseParameters")
                                   if "ResponseParameters" in response else None),
        }))
    if "Integration" in properties:
        _put_integration(client, method, properties["Integration"])

    # Ref returns a generated method ID such as mysta-metho-01234b567890example:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-method.html
    return Provisioned(physical_id=context.physical_name(max_length=64))


def _put_integration(client: Any, method: dict[str, Any], integration: dict[str, Any]) -> None:
    check_properties(integration, (*_INTEGRATION_PROPERTIES, "IntegrationResponses"))
    require_properties(integration, "Type")
    request = {_INTEGRATION_PROPERTIES[key]: value for key, value in integration.items()
               if key in _INTEGRATION_PROPERTIES}
    if "timeoutInMillis" in request:
        request["timeoutInMillis"] = coerce_integer(request["timeoutInMillis"], "TimeoutInMillis")
    # NOTE: moto 5.2 accepts but does not store cacheKeyParameters and connectionId.
    client.put_integration(**method, **request)

    for response in integration.get("IntegrationResponses") or []:
        check_properties(response, ("ContentHandling", "ResponseParameters",
                                    "ResponseTemplates", "SelectionPattern", "StatusCode"))
        require_properties(response, "StatusCode")
        client.put_integration_response(**method, statusCode=str(response["StatusCode"]),
                                        **drop_none({
            "selectionPattern": response.get("SelectionPattern"),
            "responseParameters": response.get("ResponseParameters"),
            "responseTemplates": response.get("ResponseTemplates"),
            "contentHandling": response.get("ContentHandling"),
        }))


@provisions("AWS::ApiGateway::Model")
def create_model(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a model (a JSON schema for request or response bodies)."""
    check_properties(properties, ("ContentType", "Description", "Name", "RestApiId", "Schema"))
    require_properties(properties, "RestApiId")
    name = properties.get("Name") or context.physical_name(max_length=64).replace("-", "")
    schema = properties.get("Schema")
    model = context.client("apigateway").create_model(restApiId=properties["RestApiId"],
                                                      name=name, **drop_none({
        "contentType": properties.get("ContentType", "application/json"),
        "description": properties.get("Description"),
        "schema": schema if schema is None or isinstance(schema, str) else json.dumps(schema),
    }))
    return Provisioned(physical_id=model["name"])


@provisions("AWS::ApiGateway::RequestValidator")
def create_request_validator(context: ResourceContext, properties: dict[str, Any]
                             ) -> Provisioned:
    """Create a request validator."""
    check_properties(properties, ("Name", "RestApiId", "ValidateRequestBody",
                                  "ValidateRequestParameters"))
    require_properties(properties, "RestApiId")
    validator = context.client("apigateway").create_request_validator(
        restApiId=properties["RestApiId"],
        name=properties.get("Name") or context.physical_name(max_length=128),
        validateRequestBody=coerce_boolean(properties.get("ValidateRequestBody", False),
                                    "ValidateRequestBody"),
        validateRequestParameters=coerce_boolean(properties.get("ValidateRequestParameters", False),
                                          "ValidateRequestParameters"),
    )
    return Provisioned(physical_id=validator["id"],
                       attributes={"RequestValidatorId": validator["id"]})


_AUTHORIZER_PROPERTIES = {
    "AuthType": "authType",
    "AuthorizerCredentials": "authorizerCredentials",
    "AuthorizerResultTtlInSeconds": "authorizerResultTtlInSeconds",
    "AuthorizerUri": "authorizerUri",
    "IdentitySource": "identitySource",
    "IdentityValidationExpression": "identityValidationExpression",
    "ProviderARNs": "providerARNs",
}


@provisions("AWS::ApiGateway::Authorizer")
def create_authorizer(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a TOKEN, REQUEST or COGNITO_USER_POOLS authorizer."""
    check_properties(properties, (*_AUTHORIZER_PROPERTIES, "Name", "RestApiId", "Type"))
    require_properties(properties, "Name", "RestApiId", "Type")
    request = {_AUTHORIZER_PROPERTIES[key]: value for key, value in properties.items()
               if key in _AUTHORIZER_PROPERTIES}
    if "authorizerResultTtlInSeconds" in request:
        request["authorizerResultTtlInSeconds"] = coerce_integer(
            request["authorizerResultTtlInSeconds"], "AuthorizerResultTtlInSeconds")

    client = context.client("apigateway")
    authorizer = client.create_authorizer(restApiId=properties["RestApiId"],
                                          name=properties["Name"], type=properties["Type"],
                                          **request)
    expression = request.get("identityValidationExpression")
    if expression and authorizer.get("identityValidationExpression") != expression:
        # moto 5.2 drops identityValidationExpression on CreateAuthorizer only.
        client.update_authorizer(
            restApiId=properties["RestApiId"], authorizerId=authorizer["id"],
            patchOperations=[{"op": "replace", "path": "/identityValidationExpression",
                              "value": expression}],
        )
    return Provisioned(physical_id=authorizer["id"], attributes={"AuthorizerId": authorizer["id"]})


@provisions("AWS::ApiGateway::GatewayResponse")
def create_gateway_response(context: ResourceContext, properties: dict[str, Any]
                            ) -> Provisioned:
    """Set the gateway response of one response type (for example DEFAULT_4XX)."""
    check_properties(properties, ("ResponseParameters", "ResponseTemplates", "ResponseType",
                                  "RestApiId", "StatusCode"))
    require_properties(properties, "ResponseType", "RestApiId")
    status_code = properties.get("StatusCode")
    context.client("apigateway").put_gateway_response(**drop_none({
        "restApiId": properties["RestApiId"],
        "responseType": properties["ResponseType"],
        "statusCode": None if status_code is None else str(status_code),
        "responseParameters": properties.get("ResponseParameters"),
        "responseTemplates": properties.get("ResponseTemplates"),
    }))
    return Provisioned(physical_id=context.physical_name(max_length=64),
                       attributes={"Id": context.physical_name(max_length=64)})


@provisions("AWS::ApiGateway::Account")
def update_account(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Set the account-wide CloudWatch Logs role of API Gateway."""
    check_properties(properties, ("CloudWatchRoleArn",))
    if "CloudWatchRoleArn" in properties:
        context.client("apigateway").update_account(patchOperations=[
            {"op": "replace", "path": "/cloudwatchRoleArn",
             "value": properties["CloudWatchRoleArn"]},
        ])
    physical_id = context.physical_name(max_length=64)
    return Provisioned(physical_id=physical_id, attributes={"Id": physical_id})
