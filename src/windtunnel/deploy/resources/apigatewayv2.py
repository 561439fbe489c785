"""Resource handlers for API Gateway HTTP and WebSocket APIs (the apigatewayv2 service)."""

from __future__ import annotations

import hashlib
from typing import Any

from windtunnel.deploy.resources.apigatewayv2_openapi import HttpApiImport, cors_configuration
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

_API_PROPERTIES = (
    "ApiKeySelectionExpression", "BasePath", "Body", "BodyS3Location", "CorsConfiguration",
    "CredentialsArn", "Description", "DisableExecuteApiEndpoint", "DisableSchemaValidation",
    "FailOnWarnings", "Name", "ProtocolType", "RouteKey", "RouteSelectionExpression", "Tags",
    "Target", "Version",
)
_CORS_PROPERTIES = ("AllowCredentials", "AllowHeaders", "AllowMethods", "AllowOrigins",
                    "ExposeHeaders", "MaxAge")


def _load_body(context: ResourceContext, properties: dict[str, Any]) -> dict[str, Any] | None:
    if "Body" in properties and "BodyS3Location" in properties:
        raise ResourceCreationFailed("Properties Body and BodyS3Location cannot both be set")
    if "BodyS3Location" in properties:
        text = read_local_file(context, properties["BodyS3Location"], "BodyS3Location")
        return parse_document(text, "BodyS3Location")
    body = properties.get("Body")
    if isinstance(body, str):
        return parse_document(body, "Body")
    return body


def _cors(properties: dict[str, Any]) -> dict[str, Any]:
    cors = dict(properties["CorsConfiguration"])
    check_properties(cors, _CORS_PROPERTIES)
    if "AllowCredentials" in cors:
        cors["AllowCredentials"] = coerce_boolean(cors["AllowCredentials"], "AllowCredentials")
    if "MaxAge" in cors:
        cors["MaxAge"] = coerce_integer(cors["MaxAge"], "MaxAge")
    return cors


@provisions("AWS::ApiGatewayV2::Api")
def create_api(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an HTTP or WebSocket API from properties, an OpenAPI body or quick create."""
    check_properties(properties, _API_PROPERTIES)
    # NOTE: BasePath changes how an import maps the document's server path onto routes.
    reject_not_emulated(context.resource_type, properties, ("BasePath",), type_first=True)
    document = _load_body(context, properties)
    if document is None:
        require_properties(properties, "Name", "ProtocolType")
    if "FailOnWarnings" in properties:
        # Every construct windtunnel cannot import already fails, warnings included.
        coerce_boolean(properties["FailOnWarnings"], "FailOnWarnings")
    protocol_type = properties.get("ProtocolType", "HTTP")
    if document is not None and protocol_type != "HTTP":
        raise ResourceCreationFailed("Property Body applies to HTTP APIs only")
    if "Target" not in properties:
        for name in ("RouteKey", "CredentialsArn"):
            if name in properties:
                raise ResourceCreationFailed(f"Property {name} requires Target (quick create)")

    info = (document or {}).get("info") or {}
    request: dict[str, Any] = drop_none({
        "Name": properties.get("Name") or info.get("title"),
        "ProtocolType": protocol_type,
        "Description": properties.get("Description", info.get("description")),
        "Version": properties.get("Version", info.get("version")),
        "ApiKeySelectionExpression": properties.get("ApiKeySelectionExpression"),
        "RouteSelectionExpression": properties.get("RouteSelectionExpression"),
    })
    if "Version" in request:
        request["Version"] = str(request["Version"])
    if "Name" not in request:
        require_properties(properties, "Name")
    cors = cors_configuration(document) if document is not None else None
    if "CorsConfiguration" in properties:
        cors = _cors(properties)
    if cors:
        request["CorsConfiguration"] = cors
    for name in ("DisableExecuteApiEndpoint", "DisableSchemaValidation"):
        if name in properties:
            request[name] = coerce_boolean(properties[name], name)
    if "Tags" in properties:
        request["Tags"] = tags_to_dict(properties["Tags"])

    client = context.client("apigatewayv2")
    api = client.create_api(**request)
    api_id = api["ApiId"]
    if document is not None:
        HttpApiImport(client, api_id, document).run()
    if "Target" in properties:
        _quick_create(client, api_id, properties)

    return Provisioned(physical_id=api_id, attributes={
        "ApiEndpoint": api["ApiEndpoint"],
        "ApiId": api_id,
    })


def _quick_create(client: Any, api_id: str, properties: dict[str, Any]) -> None:
    # Quick create makes an integration, a catch-all route and a $default stage that deploys
    # automatically. A Lambda ARN gets AWS_PROXY and a URL gets HTTP_PROXY.
    target = str(properties["Target"])
    integration: dict[str, Any] = {"ApiId": api_id, "IntegrationUri": target}
    if target.startswith("arn:"):
        integration.update(IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0")
    else:
        integration.update(IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                           PayloadFormatVersion="1.0")
    if "CredentialsArn" in properties:
        integration["CredentialsArn"] = properties["CredentialsArn"]
    integration_id = client.create_integration(**integration)["IntegrationId"]
    client.create_route(ApiId=api_id, RouteKey=properties.get("RouteKey", "$default"),
                        Target=f"integrations/{integration_id}")
    client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)


_ROUTE_PROPERTIES = {
    "ApiKeyRequired": "ApiKeyRequired",
    "AuthorizationScopes": "AuthorizationScopes",
    "AuthorizationType": "AuthorizationType",
    "AuthorizerId": "AuthorizerId",
    "ModelSelectionExpression": "ModelSelectionExpression",
    "OperationName": "OperationName",
    "RequestModels": "RequestModels",
    "RequestParameters": "RequestParameters",
    "RouteKey": "RouteKey",
    "RouteResponseSelectionExpression": "RouteResponseSelectionExpression",
    "Target": "Target",
}


@provisions("AWS::ApiGatewayV2::Route")
def create_route(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a route, such as ``GET /items/{id}`` or ``$default``."""
    check_properties(properties, ("ApiId", *_ROUTE_PROPERTIES))
    require_properties(properties, "ApiId", "RouteKey")
    request = {_ROUTE_PROPERTIES[key]: value for key, value in properties.items()
               if key in _ROUTE_PROPERTIES}
    if "ApiKeyRequired" in request:
        request["ApiKeyRequired"] = coerce_boolean(request["ApiKeyRequired"], "ApiKeyRequired")
    if "RequestParameters" in request:
        # Templates give each parameter either a boolean or a ParameterConstraints object.
        request["RequestParameters"] = {
            key: {"Required": coerce_boolean(value.get("Required", False) if isinstance(value, dict)
                                      else value, "RequestParameters")}
            for key, value in request["RequestParameters"].items()
        }
    route = context.client("apigatewayv2").create_route(ApiId=properties["ApiId"], **request)
    return Provisioned(physical_id=route["RouteId"], attributes={"RouteId": route["RouteId"]})


_INTEGRATION_PROPERTIES = (
    "ConnectionId", "ConnectionType", "ContentHandlingStrategy", "CredentialsArn",
    "Description", "IntegrationMethod", "IntegrationSubtype", "IntegrationType",
    "IntegrationUri", "PassthroughBehavior", "PayloadFormatVersion", "RequestParameters",
    "RequestTemplates", "ResponseParameters", "TemplateSelectionExpression",
    "TimeoutInMillis", "TlsConfig",
)


@provisions("AWS::ApiGatewayV2::Integration")
def create_integration(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an integration (AWS_PROXY, HTTP_PROXY, AWS, HTTP or MOCK)."""
    check_properties(properties, ("ApiId", *_INTEGRATION_PROPERTIES))
    require_properties(properties, "ApiId", "IntegrationType")
    request = {key: value for key, value in properties.items()
               if key in _INTEGRATION_PROPERTIES}
    if "TimeoutInMillis" in request:
        request["TimeoutInMillis"] = coerce_integer(request["TimeoutInMillis"], "TimeoutInMillis")
    if "TlsConfig" in request:
        check_properties(request["TlsConfig"], ("ServerNameToVerify",))
    if "ResponseParameters" in request:
        # CloudFormation lists {Destination, Source} pairs, and the API maps destination to source.
        request["ResponseParameters"] = {
            status: ({pair["Destination"]: pair["Source"]
                      for pair in mapping["ResponseParameters"]}
                     if isinstance(mapping.get("ResponseParameters"), list) else mapping)
            for status, mapping in request["ResponseParameters"].items()
        }
    integration = context.client("apigatewayv2").create_integration(ApiId=properties["ApiId"],
                                                                    **request)
    integration_id = integration["IntegrationId"]
    return Provisioned(physical_id=integration_id, attributes={"IntegrationId": integration_id})


_AUTHORIZER_PROPERTIES = (
    "AuthorizerCredentialsArn", "AuthorizerPayloadFormatVersion",
    "AuthorizerResultTtlInSeconds", "AuthorizerType", "AuthorizerUri",
    "EnableSimpleResponses", "IdentitySource", "IdentityValidationExpression",
    "JwtConfiguration", "Name",
)


@provisions("AWS::ApiGatewayV2::Authorizer")
def create_authorizer(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a JWT authorizer or a Lambda REQUEST authorizer."""
    check_properties(properties, ("ApiId", *_AUTHORIZER_PROPERTIES))
    require_properties(properties, "ApiId", "AuthorizerType", "Name")
    request = {key: value for key, value in properties.items()
               if key in _AUTHORIZER_PROPERTIES}
    if "EnableSimpleResponses" in request:
        request["EnableSimpleResponses"] = coerce_boolean(request["EnableSimpleResponses"],
                                                   "EnableSimpleResponses")
    if "AuthorizerResultTtlInSeconds" in request:
        request["AuthorizerResultTtlInSeconds"] = coerce_integer(
            request["AuthorizerResultTtlInSeconds"], "AuthorizerResultTtlInSeconds")
    if "JwtConfiguration" in request:
        check_properties(request["JwtConfiguration"], ("Audience", "Issuer"))
    authorizer = context.client("apigatewayv2").create_authorizer(ApiId=properties["ApiId"],
                                                                  **request)
    authorizer_id = authorizer["AuthorizerId"]
    return Provisioned(physical_id=authorizer_id, attributes={"AuthorizerId": authorizer_id})


_STAGE_PROPERTIES = (
    "AccessLogSettings", "AccessPolicyId", "ApiId", "AutoDeploy", "ClientCertificateId",
    "DefaultRouteSettings", "DeploymentId", "Description", "RouteSettings", "StageName",
    "StageVariables", "Tags",
)
_ROUTE_SETTING_PROPERTIES = ("DataTraceEnabled", "DetailedMetricsEnabled", "LoggingLevel",
                             "ThrottlingBurstLimit", "ThrottlingRateLimit")


def _route_settings(settings: dict[str, Any]) -> dict[str, Any]:
    check_properties(settings, _ROUTE_SETTING_PROPERTIES)
    converted: dict[str, Any] = {}
    for name in ("DataTraceEnabled", "DetailedMetricsEnabled"):
        if name in settings:
            converted[name] = coerce_boolean(settings[name], name)
    if "LoggingLevel" in settings:
        converted["LoggingLevel"] = settings["LoggingLevel"]
    if "ThrottlingBurstLimit" in settings:
        converted["ThrottlingBurstLimit"] = coerce_integer(settings["ThrottlingBurstLimit"],
                                                   "ThrottlingBurstLimit")
    if "ThrottlingRateLimit" in settings:
        converted["ThrottlingRateLimit"] = float(settings["ThrottlingRateLimit"])
    return converted


@provisions("AWS::ApiGatewayV2::Stage")
def create_stage(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a stage, such as ``$default`` with AutoDeploy."""
    check_properties(properties, _STAGE_PROPERTIES)
    require_properties(properties, "ApiId", "StageName")
    # NOTE: AccessPolicyId and ClientCertificateId have no effect on a local endpoint.
    reject_not_emulated(context.resource_type, properties,
                        ("AccessPolicyId", "ClientCertificateId"), type_first=True)
    request: dict[str, Any] = drop_none({
        "ApiId": properties["ApiId"],
        "StageName": properties["StageName"],
        "DeploymentId": properties.get("DeploymentId"),
        "Description": properties.get("Description"),
        "StageVariables": properties.get("StageVariables"),
    })
    if "AutoDeploy" in properties:
        request["AutoDeploy"] = coerce_boolean(properties["AutoDeploy"], "AutoDeploy")
    if "AccessLogSettings" in properties:
        check_properties(properties["AccessLogSettings"], ("DestinationArn", "Format"))
        request["AccessLogSettings"] = properties["AccessLogSettings"]
    if "DefaultRouteSettings" in properties:
        request["DefaultRouteSettings"] = _route_settings(properties["DefaultRouteSettings"])
    if "RouteSettings" in properties:
        request["RouteSettings"] = {key: _route_settings(value)
                                    for key, value in properties["RouteSettings"].items()}
    if "Tags" in properties:
        request["Tags"] = tags_to_dict(properties["Tags"])
    stage = context.client("apigatewayv2").create_stage(**request)
    return Provisioned(physical_id=stage["StageName"])


@provisions("AWS::ApiGatewayV2::Deployment")
def create_deployment(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a deployment: a snapshot of an API's routes that a stage serves."""
    check_properties(properties, ("ApiId", "Description", "StageName"))
    require_properties(properties, "ApiId")
    client = context.client("apigatewayv2")
    # Fail as AWS does when the API or the stage does not exist.
    client.get_api(ApiId=properties["ApiId"])
    if "StageName" in properties:
        client.get_stage(ApiId=properties["ApiId"], StageName=properties["StageName"])

    # NOTE: moto 5.2 has no CreateDeployment for apigatewayv2, so nothing stores the
    # deployment. The ID derives from the stack and logical ID, and stages serve the API's
    # current routes.
    digest = hashlib.sha256(f"{context.stack_id}/{context.logical_id}".encode()).hexdigest()
    deployment_id = digest[:6]
    return Provisioned(physical_id=deployment_id, attributes={"DeploymentId": deployment_id})


@provisions("AWS::ApiGatewayV2::RouteResponse")
def create_route_response(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a route response of a WebSocket route."""
    check_properties(properties, ("ApiId", "ModelSelectionExpression", "ResponseModels",
                                  "ResponseParameters", "RouteId", "RouteResponseKey"))
    require_properties(properties, "ApiId", "RouteId", "RouteResponseKey")
    request = {key: properties[key] for key in ("ModelSelectionExpression", "ResponseModels",
                                                "ResponseParameters") if key in properties}
    # NOTE: moto 5.2 does not store ResponseParameters of a route response.
    response = context.client("apigatewayv2").create_route_response(
        ApiId=properties["ApiId"], RouteId=properties["RouteId"],
        RouteResponseKey=properties["RouteResponseKey"], **request,
    )
    response_id = response["RouteResponseId"]
    return Provisioned(physical_id=response_id, attributes={"RouteResponseId": response_id})


@provisions("AWS::ApiGatewayV2::IntegrationResponse")
def create_integration_response(context: ResourceContext, properties: dict[str, Any]
                                ) -> Provisioned:
    """Create an integration response of a WebSocket integration."""
    check_properties(properties, ("ApiId", "ContentHandlingStrategy", "IntegrationId",
                                  "IntegrationResponseKey", "ResponseParameters",
                                  "ResponseTemplates", "TemplateSelectionExpression"))
    require_properties(properties, "ApiId", "IntegrationId", "IntegrationResponseKey")
    request = {key: properties[key] for key in ("ContentHandlingStrategy", "ResponseParameters",
                                                "ResponseTemplates",
                                                "TemplateSelectionExpression")
               if key in properties}
    response = context.client("apigatewayv2").create_integration_response(
        ApiId=properties["ApiId"], IntegrationId=properties["IntegrationId"],
        IntegrationResponseKey=properties["IntegrationResponseKey"], **request,
    )
    response_id = response["IntegrationResponseId"]
    return Provisioned(physical_id=response_id,
                       attributes={"IntegrationResponseId": response_id})
