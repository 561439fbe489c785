"""``httpApi`` events: the API Gateway HTTP API, its routes, integrations and authorizers.

Follows ``package/compile/events/http-api.js`` of serverless/serverless.
"""

from __future__ import annotations

from typing import Any

from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext, function_arn

__all__ = ["compile_http_api"]

_METHODS = ("GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD", "DELETE", "ANY")
_DEFAULT_CORS_HEADERS = [
    "Content-Type",
    "X-Amz-Date",
    "Authorization",
    "X-Api-Key",
    "X-Amz-Security-Token",
    "X-Amz-User-Agent",
    "X-Amzn-Trace-Id",
]


def _api_id() -> dict[str, str]:
    return {"Ref": naming.HTTP_API_LOGICAL_ID}


def _execute_api_arn() -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":execute-api:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":",
                _api_id(),
                "/*",
            ],
        ]
    }


def compile_http_api(ctx: CompileContext) -> None:
    """Compile every ``httpApi`` event of the service into one HTTP API."""
    config = ctx.provider.get("httpApi") or {}
    if config.get("id"):
        # NOTE: attaching routes to an existing HTTP API (provider.httpApi.id) is not supported.
        raise ctx.unsupported("provider.httpApi.id (an external HTTP API)", "provider.httpApi.id")

    authorizers = _authorizers(ctx, config)
    routes: dict[str, tuple[str, Any]] = {}
    used_methods: list[str] = []
    for key in ctx.functions:
        for index, event in enumerate(ctx.events(key)):
            if "httpApi" not in event:
                continue
            where = f"functions.{key}.events.{index}.httpApi"
            route_key, authorizer = _route(ctx, key, event["httpApi"], where, authorizers)
            if route_key in routes:
                raise ctx.invalid(
                    f"Duplicate route '{route_key}' configuration in function {key} for "
                    "httpApi event in serverless.yml",
                    where,
                )
            routes[route_key] = (key, authorizer)
            method = "ANY" if route_key == "*" else route_key.split(" ")[0]
            if method == "ANY":
                used_methods.extend(m for m in _METHODS if m != "ANY")
            else:
                used_methods.append(method)
    if not routes:
        return

    _compile_api(ctx, config, used_methods)
    for route_key, (key, authorizer) in routes.items():
        _compile_route(ctx, route_key, key, authorizer)
    for authorizer in authorizers.values():
        _compile_authorizer(ctx, authorizer)


def _authorizers(ctx: CompileContext, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for name, settings in (config.get("authorizers") or {}).items():
        where = f"provider.httpApi.authorizers.{name}"
        if settings.get("type") == "request":
            if bool(settings.get("functionArn")) == bool(settings.get("functionName")):
                raise ctx.invalid(
                    f'Either "functionArn" or "functionName" (not both) property needs to be '
                    f'set on authorizer "{name}"',
                    where,
                )
            if settings.get("functionName") and settings["functionName"] not in ctx.functions:
                raise ctx.invalid(
                    f'Function "{settings["functionName"]}" for HTTP API authorizer "{name}" '
                    "not found in service.",
                    where,
                )
        result[name] = {**settings, "name": settings.get("name") or name}
    return result


def _route(
    ctx: CompileContext,
    key: str,
    event: Any,
    where: str,
    authorizers: dict[str, dict[str, Any]],
) -> tuple[str, Any]:
    authorizer: Any = None
    if isinstance(event, dict):
        method = event.get("method")
        path = str(event.get("path"))
        authorizer = event.get("authorizer")
    else:
        text = str(event)
        method, _, path = (None, "", "*") if text == "*" else text.partition(" ")

    if path == "*":
        if method and method != "*":
            raise ctx.invalid(
                f'Invalid "path" property in function {key} for httpApi event in serverless.yml',
                where,
            )
        route_key = "*"
    else:
        if not method:
            raise ctx.invalid(
                f'Missing "method" property in function {key} for httpApi event in serverless.yml',
                where,
            )
        method = "ANY" if method == "*" else str(method).upper()
        if method not in _METHODS:
            raise ctx.invalid(
                f'Invalid "method" property in function {key} for httpApi event in serverless.yml',
                where,
            )
        route_key = f"{method} {path}"

    if authorizer is None:
        return route_key, None
    if isinstance(authorizer, str):
        authorizer = {"name": authorizer}
    if authorizer.get("type") == "aws_iam":
        return route_key, {"type": "aws_iam"}
    if authorizer.get("id"):
        raise ctx.invalid(
            f"Event references external authorizer '{authorizer['id']}', but httpApi is part "
            "of the current stack.",
            where,
        )
    if authorizer.get("name") not in authorizers:
        raise ctx.invalid(
            f"Event references not configured authorizer '{authorizer.get('name')}'", where
        )
    return route_key, {**authorizers[authorizer["name"]], "scopes": authorizer.get("scopes")}


def _compile_api(ctx: CompileContext, config: dict[str, Any], used_methods: list[str]) -> None:
    name = config.get("name") or (
        f"{ctx.service}-{ctx.stage}"
        if config.get("shouldStartNameWithService")
        else f"{ctx.stage}-{ctx.service}"
    )
    properties: dict[str, Any] = {
        "Name": str(name),
        "ProtocolType": "HTTP",
        "DisableExecuteApiEndpoint": config.get("disableDefaultEndpoint"),
    }
    tags = ctx.provider.get("tags")
    if tags:
        properties["Tags"] = dict(tags)
    cors = config.get("cors")
    if cors:
        properties["CorsConfiguration"] = _cors(cors, used_methods)
    ctx.resources[naming.HTTP_API_LOGICAL_ID] = {
        "Type": "AWS::ApiGatewayV2::Api",
        "Properties": properties,
    }

    stage_properties: dict[str, Any] = {
        "ApiId": _api_id(),
        "StageName": "$default",
        "AutoDeploy": True,
        "DefaultRouteSettings": {"DetailedMetricsEnabled": bool(config.get("metrics"))},
    }
    if tags:
        stage_properties["Tags"] = dict(tags)
    ctx.resources[naming.HTTP_API_STAGE_LOGICAL_ID] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": stage_properties,
    }
    ctx.outputs["HttpApiId"] = {"Description": "Id of the HTTP API", "Value": _api_id()}
    ctx.outputs["HttpApiUrl"] = {
        "Description": "URL of the HTTP API",
        "Value": {
            "Fn::Join": [
                "",
                [
                    "https://",
                    _api_id(),
                    ".execute-api.",
                    {"Ref": "AWS::Region"},
                    ".",
                    {"Ref": "AWS::URLSuffix"},
                ],
            ]
        },
    }


def _cors(cors: Any, used_methods: list[str]) -> dict[str, Any]:
    def as_list(value: Any) -> list[Any]:
        return list(value) if isinstance(value, list) else [value]

    settings = cors if isinstance(cors, dict) else {}
    methods = settings.get("allowedMethods")
    if methods is None:
        # http-api.js fills the methods from OPTIONS plus those the routes use.
        methods = ["OPTIONS"]
        for method in used_methods:
            if method not in methods:
                methods.append(method)
    result: dict[str, Any] = {
        "AllowCredentials": True if settings.get("allowCredentials") else None,
        "AllowHeaders": as_list(settings.get("allowedHeaders") or _DEFAULT_CORS_HEADERS),
        "AllowMethods": as_list(methods),
        "AllowOrigins": as_list(settings.get("allowedOrigins") or ["*"]),
        "ExposeHeaders": as_list(settings["exposedResponseHeaders"])
        if settings.get("exposedResponseHeaders")
        else None,
        "MaxAge": settings.get("maxAge"),
    }
    return result


def _compile_route(ctx: CompileContext, route_key: str, key: str, authorizer: Any) -> None:
    integration_id = naming.http_api_integration_logical_id(key)
    function = ctx.functions[key]
    payload = (function.get("httpApi") or {}).get("payload") or (
        (ctx.provider.get("httpApi") or {}).get("payload") or "2.0"
    )
    ctx.resources[naming.http_api_permission_logical_id(key)] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": function_arn(key),
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": _execute_api_arn(),
        },
    }
    ctx.resources[integration_id] = {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {
            "ApiId": _api_id(),
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": function_arn(key),
            "PayloadFormatVersion": str(payload),
            "TimeoutInMillis": 30000,
        },
    }
    properties: dict[str, Any] = {
        "ApiId": _api_id(),
        "RouteKey": "$default" if route_key == "*" else route_key,
        "Target": {"Fn::Join": ["/", ["integrations", {"Ref": integration_id}]]},
    }
    if authorizer is not None:
        kind = authorizer.get("type")
        properties["AuthorizationType"] = {"request": "CUSTOM", "aws_iam": "AWS_IAM"}.get(
            kind, "JWT"
        )
        if kind != "aws_iam":
            properties["AuthorizerId"] = {
                "Ref": naming.http_api_authorizer_logical_id(authorizer["name"])
            }
            if authorizer.get("scopes"):
                scopes = authorizer["scopes"]
                properties["AuthorizationScopes"] = scopes if isinstance(scopes, list) else [scopes]
    ctx.resources[naming.http_api_route_logical_id(route_key)] = {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": properties,
        "DependsOn": integration_id,
    }


def _compile_authorizer(ctx: CompileContext, authorizer: dict[str, Any]) -> None:
    identity_source = authorizer.get("identitySource") or []
    properties: dict[str, Any] = {
        "ApiId": _api_id(),
        "Name": authorizer["name"],
        "IdentitySource": identity_source
        if isinstance(identity_source, list)
        else [identity_source],
    }
    if authorizer.get("type") == "request":
        target = authorizer.get("functionArn") or function_arn(authorizer["functionName"])
        properties.update(
            {
                "AuthorizerType": "REQUEST",
                "EnableSimpleResponses": authorizer.get("enableSimpleResponses"),
                "AuthorizerResultTtlInSeconds": authorizer.get("resultTtlInSeconds"),
                "AuthorizerPayloadFormatVersion": authorizer.get("payloadVersion") or "2.0",
                "AuthorizerUri": {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":apigateway:",
                            {"Ref": "AWS::Region"},
                            ":lambda:path/2015-03-31/functions/",
                            target,
                            "/invocations",
                        ],
                    ]
                },
            }
        )
        if not authorizer.get("managedExternally"):
            permission_id = (
                f"{naming.normalize_resource_name(authorizer['name'])}"
                "LambdaAuthorizerPermissionHttpApi"
            )
            ctx.resources[permission_id] = {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": target,
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                    "SourceArn": _execute_api_arn(),
                },
            }
    else:
        audience = authorizer.get("audience")
        properties["AuthorizerType"] = "JWT"
        properties["JwtConfiguration"] = {
            "Audience": audience if isinstance(audience, list) else [audience],
            "Issuer": authorizer.get("issuerUrl"),
        }
    ctx.resources[naming.http_api_authorizer_logical_id(authorizer["name"])] = {
        "Type": "AWS::ApiGatewayV2::Authorizer",
        "Properties": properties,
    }
