"""``http`` events: the API Gateway REST API, its resources, methods and permissions.

Follows ``package/compile/events/api-gateway/`` of serverless/serverless: rest-api.js,
resources.js, method/*.js, cors.js, permissions.js, authorizers.js,
request-validator.js, deployment.js, api-keys.js and usage-plan*.js.
"""

from __future__ import annotations

from typing import Any

from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext, function_arn

__all__ = ["compile_rest_api"]

_DEFAULT_CORS_HEADERS = [
    "Content-Type",
    "X-Amz-Date",
    "Authorization",
    "X-Api-Key",
    "X-Amz-Security-Token",
    "X-Amz-User-Agent",
    "X-Amzn-Trace-Id",
]


def _rest_api_id() -> dict[str, str]:
    return {"Ref": naming.REST_API_LOGICAL_ID}


def _parse_event(ctx: CompileContext, key: str, index: int, event: Any) -> dict[str, Any]:
    path = f"functions.{key}.events.{index}.http"
    if isinstance(event, str):
        method, _, route = event.partition(" ")
        event = {"method": method, "path": route}
    if not isinstance(event, dict) or "path" not in event or "method" not in event:
        raise ctx.invalid("an http event needs a path and a method", path)

    integration = str(event.get("integration") or "AWS_PROXY").upper().replace("-", "_")
    integration = {"LAMBDA_PROXY": "AWS_PROXY", "LAMBDA": "AWS"}.get(integration, integration)
    if integration != "AWS_PROXY":
        # NOTE: lambda (AWS), HTTP, HTTP_PROXY and MOCK integrations are not compiled.
        raise ctx.unsupported(
            f"http event of function '{key}' uses integration '{event['integration']}'; "
            "only lambda-proxy is supported",
            f"{path}.integration",
        )
    if event.get("async"):
        raise ctx.unsupported(f"http event of function '{key}' sets async", f"{path}.async")
    return {**event, "path": str(event["path"]).strip("/"), "function": key, "where": path}


def compile_rest_api(ctx: CompileContext) -> None:
    """Compile every ``http`` event of the service into one REST API."""
    events: list[dict[str, Any]] = []
    for key in ctx.functions:
        for index, event in enumerate(ctx.events(key)):
            if "http" in event:
                events.append(_parse_event(ctx, key, index, event["http"]))
    api_gateway = ctx.provider.get("apiGateway") or {}
    if not events:
        return
    if api_gateway.get("restApiId"):
        # NOTE: attaching to an existing REST API (provider.apiGateway.restApiId) is not supported.
        raise ctx.unsupported(
            "provider.apiGateway.restApiId (a shared REST API) is not supported",
            "provider.apiGateway.restApiId",
        )

    _compile_rest_api_resource(ctx, api_gateway)
    resource_ids = _compile_resources(ctx, [event["path"] for event in events])
    method_ids: list[str] = []
    cors_by_path: dict[str, dict[str, Any]] = {}
    for event in events:
        method_ids.append(_compile_method(ctx, event, resource_ids, api_gateway))
        if event.get("cors"):
            _collect_cors(event, cors_by_path)
    for resource_path, cors in cors_by_path.items():
        method_ids.append(_compile_cors_method(ctx, resource_path, cors, resource_ids))

    deployment_id = f"ApiGatewayDeployment{ctx.instance_id}"
    ctx.resources[deployment_id] = {
        "Type": "AWS::ApiGateway::Deployment",
        "Properties": {
            "RestApiId": _rest_api_id(),
            "StageName": ctx.stage,
            "Description": api_gateway.get("description"),
        },
        "DependsOn": method_ids,
    }
    ctx.outputs["ServiceEndpoint"] = {
        "Description": "URL of the service endpoint",
        "Value": {
            "Fn::Join": [
                "",
                [
                    "https://",
                    _rest_api_id(),
                    ".execute-api.",
                    {"Ref": "AWS::Region"},
                    ".",
                    {"Ref": "AWS::URLSuffix"},
                    f"/{ctx.stage}",
                ],
            ]
        },
    }
    _compile_api_keys(ctx, api_gateway, deployment_id)


def _compile_rest_api_resource(ctx: CompileContext, api_gateway: dict[str, Any]) -> None:
    name = ctx.provider.get("apiName") or (
        f"{ctx.service}-{ctx.stage}"
        if api_gateway.get("shouldStartNameWithService")
        else f"{ctx.stage}-{ctx.service}"
    )
    endpoint_type = str(ctx.provider.get("endpointType") or "EDGE").upper()
    properties: dict[str, Any] = {
        "Name": name,
        "BinaryMediaTypes": api_gateway.get("binaryMediaTypes"),
        "DisableExecuteApiEndpoint": api_gateway.get("disableDefaultEndpoint"),
        "EndpointConfiguration": {"Types": [endpoint_type]},
        "Policy": "",
    }
    policy = api_gateway.get("resourcePolicy")
    if policy:
        properties["Policy"] = {"Version": "2012-10-17", "Statement": policy}
    if api_gateway.get("apiKeySourceType"):
        properties["ApiKeySourceType"] = str(api_gateway["apiKeySourceType"]).upper()
    if api_gateway.get("minimumCompressionSize") is not None:
        properties["MinimumCompressionSize"] = api_gateway["minimumCompressionSize"]
    ctx.resources[naming.REST_API_LOGICAL_ID] = {
        "Type": "AWS::ApiGateway::RestApi",
        "Properties": properties,
    }


def _compile_resources(ctx: CompileContext, paths: list[str]) -> dict[str, Any]:
    """Add one ``ApiGatewayResource{Path}`` per path prefix; return path -> resource id."""
    resource_ids: dict[str, Any] = {
        "": {"Fn::GetAtt": [naming.REST_API_LOGICAL_ID, "RootResourceId"]}
    }
    for full_path in paths:
        if not full_path:
            continue
        parts = full_path.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if prefix in resource_ids:
                continue
            logical_id = naming.resource_logical_id(prefix)
            ctx.resources[logical_id] = {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {
                    "ParentId": resource_ids["/".join(parts[: depth - 1])],
                    "PathPart": parts[depth - 1],
                    "RestApiId": _rest_api_id(),
                },
            }
            resource_ids[prefix] = {"Ref": logical_id}
    return resource_ids


def _compile_method(
    ctx: CompileContext,
    event: dict[str, Any],
    resource_ids: dict[str, Any],
    api_gateway: dict[str, Any],
) -> str:
    key = event["function"]
    method = str(event["method"]).upper()
    resource_name = naming.normalize_path(event["path"]) if event["path"] else ""
    method_id = naming.method_logical_id(resource_name, method)
    permission_id = naming.rest_api_permission_logical_id(key)
    request = event.get("request") or {}

    parameters: dict[str, Any] = {}
    for name, value in (request.get("parameters") or {}).items():
        # method/index.js flattens nested maps: querystrings.x -> method.request.querystring.x
        if isinstance(value, dict) and name in {"querystrings", "headers", "paths"}:
            location = {"querystrings": "querystring", "headers": "header", "paths": "path"}[name]
            for item, required in value.items():
                if isinstance(required, dict):
                    required = required.get("required", True)
                parameters[f"method.request.{location}.{item}"] = required
        else:
            parameters[name] = value.get("required", True) if isinstance(value, dict) else value

    properties: dict[str, Any] = {
        "HttpMethod": method,
        "RequestParameters": parameters,
        "ResourceId": resource_ids[event["path"]],
        "RestApiId": _rest_api_id(),
        "OperationName": event.get("operationId"),
        "ApiKeyRequired": bool(event.get("private")),
        "AuthorizationType": "NONE",
        "Integration": {
            "IntegrationHttpMethod": "POST",
            "Type": "AWS_PROXY",
            "Uri": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":apigateway:",
                        {"Ref": "AWS::Region"},
                        ":lambda:path/2015-03-31/functions/",
                        function_arn(key),
                        "/invocations",
                    ],
                ]
            },
            "TimeoutInMillis": event.get("timeoutInMillis") or api_gateway.get("timeoutInMillis"),
        },
        "MethodResponses": [],
    }
    resource: dict[str, Any] = {
        "Type": "AWS::ApiGateway::Method",
        "Properties": properties,
        "DependsOn": [permission_id],
    }
    if event.get("authorizer"):
        _apply_authorizer(ctx, event, resource)
    _apply_validation(ctx, event, resource_name, method, properties, api_gateway)
    ctx.resources[method_id] = resource

    ctx.resources[permission_id] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": function_arn(key),
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {
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
                        _rest_api_id(),
                        "/*/*",
                    ],
                ]
            },
        },
    }
    return method_id


def _apply_authorizer(ctx: CompileContext, event: dict[str, Any], resource: dict[str, Any]) -> None:
    authorizer = event["authorizer"]
    where = f"{event['where']}.authorizer"
    properties = resource["Properties"]
    if isinstance(authorizer, str):
        authorizer = {"name": authorizer} if ":" not in authorizer else {"arn": authorizer}
        if str(event["authorizer"]).upper() == "AWS_IAM":
            authorizer = {"type": "AWS_IAM"}
    authorizer_type = str(authorizer.get("type") or "").upper()

    if authorizer_type == "AWS_IAM":
        properties["AuthorizationType"] = "AWS_IAM"
        return
    if authorizer.get("authorizerId"):
        properties["AuthorizationType"] = (
            "CUSTOM" if authorizer_type in {"TOKEN", "REQUEST"} else authorizer["type"]
        )
        properties["AuthorizerId"] = authorizer["authorizerId"]
        return

    arn = authorizer.get("arn")
    name = authorizer.get("name")
    if arn is None and name is not None:
        if name not in ctx.functions:
            raise ctx.invalid(f"authorizer function '{name}' is not defined in functions", where)
        arn = function_arn(name)
    elif isinstance(arn, str) and name is None:
        # naming.extractAuthorizerNameFromArn: the part after the last "-" of the name.
        name = arn.split(":")[-1].split("-")[-1]
    if arn is None or name is None:
        raise ctx.invalid("Please provide either an authorizer name or ARN", where)

    authorizer_id = naming.authorizer_logical_id(name)
    is_cognito = authorizer_type == "COGNITO_USER_POOLS" or (
        isinstance(arn, str) and ":cognito-idp:" in arn
    )
    ttl = authorizer.get("resultTtlInSeconds")
    identity_source = authorizer.get("identitySource")
    if identity_source is None and not (authorizer_type == "REQUEST" and ttl == 0):
        identity_source = "method.request.header.Authorization"
    authorizer_properties: dict[str, Any] = {
        "AuthorizerResultTtlInSeconds": 300 if ttl is None else ttl,
        "IdentitySource": identity_source,
        "Name": name,
        "RestApiId": _rest_api_id(),
        "IdentityValidationExpression": authorizer.get("identityValidationExpression"),
    }
    if is_cognito:
        authorizer_properties["Type"] = "COGNITO_USER_POOLS"
        authorizer_properties["ProviderARNs"] = [arn]
        properties["AuthorizationType"] = "COGNITO_USER_POOLS"
        if authorizer.get("scopes"):
            properties["AuthorizationScopes"] = authorizer["scopes"]
    else:
        authorizer_properties["Type"] = authorizer_type or "TOKEN"
        authorizer_properties["AuthorizerUri"] = {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":apigateway:",
                    {"Ref": "AWS::Region"},
                    ":lambda:path/2015-03-31/functions/",
                    arn,
                    "/invocations",
                ],
            ]
        }
        properties["AuthorizationType"] = "CUSTOM"
        permission_id = naming.rest_api_permission_logical_id(name)
        if not authorizer.get("managedExternally") and permission_id not in ctx.resources:
            ctx.resources[permission_id] = {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": arn,
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                    "SourceArn": {
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
                                _rest_api_id(),
                                "/*/*",
                            ],
                        ]
                    },
                },
            }
    properties["AuthorizerId"] = {"Ref": authorizer_id}
    resource["DependsOn"].append(authorizer_id)
    ctx.resources[authorizer_id] = {
        "Type": "AWS::ApiGateway::Authorizer",
        "Properties": authorizer_properties,
    }


def _apply_validation(
    ctx: CompileContext,
    event: dict[str, Any],
    resource_name: str,
    method: str,
    properties: dict[str, Any],
    api_gateway: dict[str, Any],
) -> None:
    request = event.get("request") or {}
    required = any(
        value for value in properties["RequestParameters"].values() if value is not False
    )
    schemas = request.get("schemas")
    if request.get("schema") and not schemas:
        schemas = request["schema"]
    if not required and not schemas:
        return

    validator_id = naming.validator_logical_id(ctx.service)
    ctx.resources[validator_id] = {
        "Type": "AWS::ApiGateway::RequestValidator",
        "Properties": {
            "RestApiId": _rest_api_id(),
            "ValidateRequestBody": True,
            "ValidateRequestParameters": True,
            "Name": f"{ctx.service}-{ctx.stage} | Validate request body and querystring parameters",
        },
    }
    properties["RequestValidatorId"] = {"Ref": validator_id}

    provider_schemas = (api_gateway.get("request") or {}).get("schemas") or {}
    for content_type, schema in (schemas or {}).items():
        if isinstance(schema, str) and schema in provider_schemas:
            definition = provider_schemas[schema]
            model_id = naming.model_logical_id(schema)
            model_name = definition.get("name") if isinstance(definition, dict) else None
            description = definition.get("description") if isinstance(definition, dict) else None
            body = (
                definition.get("schema", definition) if isinstance(definition, dict) else definition
            )
        else:
            model_id = naming.endpoint_model_logical_id(resource_name, method, content_type)
            is_explicit = isinstance(schema, dict) and "schema" in schema
            model_name = schema.get("name") if is_explicit else None
            description = schema.get("description") if is_explicit else None
            body = schema["schema"] if is_explicit else schema
        ctx.resources[model_id] = {
            "Type": "AWS::ApiGateway::Model",
            "Properties": {
                "RestApiId": _rest_api_id(),
                "ContentType": content_type,
                "Schema": body,
                "Name": model_name,
                "Description": description,
            },
        }
        properties.setdefault("RequestModels", {})[content_type] = {"Ref": model_id}


def _collect_cors(event: dict[str, Any], cors_by_path: dict[str, dict[str, Any]]) -> None:
    # validate.js getCors, then merged per path the way validate.js merges corsPreflight.
    method = str(event["method"]).upper()
    config: dict[str, Any] = {
        "origin": "*",
        "methods": ["OPTIONS"],
        "headers": list(_DEFAULT_CORS_HEADERS),
        "allowCredentials": False,
    }
    if isinstance(event["cors"], dict):
        if event["cors"].get("origins"):
            del config["origin"]
        config.update(event["cors"])
        headers = config.get("headers") or _DEFAULT_CORS_HEADERS
        config["headers"] = [headers] if isinstance(headers, str) else list(headers)
        config["methods"] = list(config.get("methods") or [])
        config["allowCredentials"] = bool(config.get("allowCredentials"))
        if "OPTIONS" not in config["methods"]:
            config["methods"].append("OPTIONS")
        if method not in config["methods"]:
            config["methods"].append(method)
    else:
        config["methods"].append(method)

    merged = cors_by_path.setdefault(event["path"], {"headers": [], "methods": [], "origins": []})
    for field in ("headers", "methods", "origins"):
        for item in config.get(field) or []:
            if item not in merged[field]:
                merged[field].append(item)
    merged["origin"] = config.get("origin")
    merged["allowCredentials"] = merged.get("allowCredentials") or config["allowCredentials"]
    for field in ("maxAge", "cacheControl"):
        if config.get(field):
            merged[field] = config[field]


def _compile_cors_method(
    ctx: CompileContext, resource_path: str, cors: dict[str, Any], resource_ids: dict[str, Any]
) -> str:
    origin = cors.get("origin")
    origins = cors.get("origins") or None
    if origin and "," in origin:
        origins = [part.strip() for part in origin.split(",")]
    if origins:
        origin = origins[0]
        # NOTE: the response template that echoes one of several allowed origins is not generated.
    headers = {
        "Access-Control-Allow-Origin": f"'{origin}'",
        "Access-Control-Allow-Headers": f"'{','.join(cors['headers'])}'",
        "Access-Control-Allow-Methods": f"'{','.join(cors['methods'])}'",
    }
    if cors.get("allowCredentials"):
        headers["Access-Control-Allow-Credentials"] = "'true'"
    if cors.get("maxAge"):
        headers["Access-Control-Max-Age"] = f"'{cors['maxAge']}'"
    if cors.get("cacheControl"):
        headers["Cache-Control"] = f"'{cors['cacheControl']}'"
    if "ANY" in cors["methods"]:
        headers["Access-Control-Allow-Methods"] = headers["Access-Control-Allow-Methods"].replace(
            "ANY", "DELETE,GET,HEAD,PATCH,POST,PUT"
        )

    resource_name = naming.normalize_path(resource_path) if resource_path else ""
    method_id = naming.method_logical_id(resource_name, "options")
    ctx.resources[method_id] = {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "AuthorizationType": "NONE",
            "HttpMethod": "OPTIONS",
            "MethodResponses": [
                {
                    "StatusCode": "200",
                    "ResponseParameters": {f"method.response.header.{h}": True for h in headers},
                    "ResponseModels": {},
                }
            ],
            "RequestParameters": {},
            "Integration": {
                "Type": "MOCK",
                "RequestTemplates": {"application/json": "{statusCode:200}"},
                "ContentHandling": "CONVERT_TO_TEXT",
                "IntegrationResponses": [
                    {
                        "StatusCode": "200",
                        "ResponseParameters": {
                            f"method.response.header.{h}": v for h, v in headers.items()
                        },
                        "ResponseTemplates": {"application/json": ""},
                    }
                ],
            },
            "ResourceId": resource_ids[resource_path],
            "RestApiId": _rest_api_id(),
        },
    }
    return method_id


def _compile_api_keys(ctx: CompileContext, api_gateway: dict[str, Any], deployment_id: str) -> None:
    api_keys = api_gateway.get("apiKeys") or []
    usage_plan = api_gateway.get("usagePlan")
    if isinstance(usage_plan, list):
        # NOTE: several named usage plans (a list under usagePlan) are not compiled.
        raise ctx.unsupported(
            "a list of named usage plans is not supported", "provider.apiGateway.usagePlan"
        )
    if not api_keys and not usage_plan:
        return

    key_ids: list[str] = []
    for number, definition in enumerate(api_keys, start=1):
        if isinstance(definition, dict) and "name" not in definition and "value" not in definition:
            raise ctx.unsupported(
                "API keys grouped by usage plan are not supported",
                f"provider.apiGateway.apiKeys.{number - 1}",
            )
        is_mapping = isinstance(definition, dict)
        key_id = naming.api_key_logical_id(number)
        ctx.resources[key_id] = {
            "Type": "AWS::ApiGateway::ApiKey",
            "Properties": {
                "Enabled": definition.get("enabled", True) if is_mapping else True,
                "Name": definition.get("name") if is_mapping else definition,
                "Value": definition.get("value") if is_mapping else None,
                "Description": definition.get("description") if is_mapping else None,
                "CustomerId": definition.get("customerId") if is_mapping else None,
                "StageKeys": [{"RestApiId": _rest_api_id(), "StageName": ctx.stage}],
            },
            "DependsOn": deployment_id,
        }
        key_ids.append(key_id)

    plan = usage_plan if isinstance(usage_plan, dict) else {}
    properties: dict[str, Any] = {
        "ApiStages": [{"ApiId": _rest_api_id(), "Stage": ctx.stage}],
        "Description": f"Usage plan for {ctx.service} {ctx.stage} stage",
        "UsagePlanName": f"{ctx.service}-{ctx.stage}",
    }
    if plan.get("quota"):
        quota = plan["quota"]
        properties["Quota"] = {
            "Limit": quota.get("limit"),
            "Offset": quota.get("offset"),
            "Period": quota.get("period"),
        }
    if plan.get("throttle"):
        throttle = plan["throttle"]
        properties["Throttle"] = {
            "BurstLimit": throttle.get("burstLimit"),
            "RateLimit": throttle.get("rateLimit"),
        }
    ctx.resources["ApiGatewayUsagePlan"] = {
        "Type": "AWS::ApiGateway::UsagePlan",
        "DependsOn": deployment_id,
        "Properties": properties,
    }
    for number, key_id in enumerate(key_ids, start=1):
        ctx.resources[f"ApiGatewayUsagePlanKey{number}"] = {
            "Type": "AWS::ApiGateway::UsagePlanKey",
            "Properties": {
                "KeyId": {"Ref": key_id},
                "KeyType": "API_KEY",
                "UsagePlanId": {"Ref": "ApiGatewayUsagePlan"},
            },
        }
