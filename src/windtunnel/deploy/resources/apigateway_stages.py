"""Resource handlers for REST API deployments, stages, API keys and usage plans."""

from __future__ import annotations

from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
    drop_none,
    reject_not_emulated,
    tags_to_dict,
)

_METHOD_SETTING_PROPERTIES = (
    "CacheDataEncrypted", "CacheTtlInSeconds", "CachingEnabled", "DataTraceEnabled",
    "HttpMethod", "LoggingLevel", "MetricsEnabled", "ResourcePath", "ThrottlingBurstLimit",
    "ThrottlingRateLimit",
)

# Method setting properties and the UpdateStage patch path suffix of each.
_METHOD_SETTING_PATHS = {
    "MetricsEnabled": "metrics/enabled",
    "LoggingLevel": "logging/loglevel",
    "DataTraceEnabled": "logging/dataTrace",
    "ThrottlingBurstLimit": "throttling/burstLimit",
    "ThrottlingRateLimit": "throttling/rateLimit",
    "CachingEnabled": "caching/enabled",
    "CacheTtlInSeconds": "caching/ttlInSeconds",
    "CacheDataEncrypted": "caching/dataEncrypted",
}


def _patch_value(name: str, value: Any) -> str:
    if name in ("MetricsEnabled", "DataTraceEnabled", "CachingEnabled", "CacheDataEncrypted",
                "TracingEnabled"):
        return "true" if coerce_boolean(value, name) else "false"
    if name in ("ThrottlingBurstLimit", "CacheTtlInSeconds"):
        return str(coerce_integer(value, name))
    return str(value)


def _method_setting_operations(settings: dict[str, Any], prefix: str) -> list[dict[str, str]]:
    return [
        {"op": "replace", "path": f"{prefix}/{suffix}", "value": _patch_value(name,
                                                                              settings[name])}
        for name, suffix in _METHOD_SETTING_PATHS.items() if name in settings
    ]


def _stage_patch_operations(settings: dict[str, Any]) -> list[dict[str, str]]:
    """Build the UpdateStage operations for a stage's method and access log settings."""
    # Settings given on a deployment's StageDescription apply to every method ("/*/*").
    operations = _method_setting_operations(settings, "/*/*")

    for method_setting in settings.get("MethodSettings") or []:
        check_properties(method_setting, _METHOD_SETTING_PROPERTIES)
        resource_path = str(method_setting.get("ResourcePath", "/*"))
        if resource_path == "/":
            resource_path = "/~1"
        http_method = str(method_setting.get("HttpMethod", "*"))
        operations += _method_setting_operations(method_setting,
                                                 f"{resource_path}/{http_method}")

    access_log = settings.get("AccessLogSetting")
    if access_log:
        check_properties(access_log, ("DestinationArn", "Format"))
        operations += [
            {"op": "replace", "path": f"/accessLogSettings/{key[0].lower()}{key[1:]}",
             "value": str(access_log[key])}
            for key in ("DestinationArn", "Format") if key in access_log
        ]
    return operations


def _stage_request(settings: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = drop_none({
        "description": settings.get("Description"),
        "variables": settings.get("Variables"),
    })
    if "CacheClusterEnabled" in settings:
        request["cacheClusterEnabled"] = coerce_boolean(settings["CacheClusterEnabled"],
                                                 "CacheClusterEnabled")
    if "CacheClusterSize" in settings:
        request["cacheClusterSize"] = str(settings["CacheClusterSize"])
    if "TracingEnabled" in settings:
        request["tracingEnabled"] = coerce_boolean(settings["TracingEnabled"], "TracingEnabled")
    if "Tags" in settings:
        request["tags"] = tags_to_dict(settings["Tags"])
    return request


_STAGE_DESCRIPTION_PROPERTIES = (
    "AccessLogSetting", "CacheClusterEnabled", "CacheClusterSize", "CacheDataEncrypted",
    "CacheTtlInSeconds", "CachingEnabled", "CanarySetting", "ClientCertificateId",
    "DataTraceEnabled", "Description", "DocumentationVersion", "LoggingLevel", "MethodSettings",
    "MetricsEnabled", "Tags", "ThrottlingBurstLimit", "ThrottlingRateLimit", "TracingEnabled",
    "Variables",
)


@provisions("AWS::ApiGateway::Deployment")
def create_deployment(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a deployment and, when StageName is set, the stage that serves it."""
    check_properties(properties, ("DeploymentCanarySettings", "Description", "RestApiId",
                                  "StageDescription", "StageName"))
    require_properties(properties, "RestApiId")
    # NOTE: canary releases split traffic between deployments, which windtunnel does not do.
    reject_not_emulated(context.resource_type, properties, ("DeploymentCanarySettings",),
                        type_first=True)
    stage_settings = properties.get("StageDescription") or {}
    check_properties(stage_settings, _STAGE_DESCRIPTION_PROPERTIES)
    reject_not_emulated(context.resource_type, stage_settings,
                        ("CanarySetting", "ClientCertificateId", "DocumentationVersion"),
                        type_first=True)

    client = context.client("apigateway")
    rest_api_id = properties["RestApiId"]
    stage_name = properties.get("StageName")
    request = drop_none({"restApiId": rest_api_id,
                         "description": properties.get("Description")})
    if stage_name:
        request["stageName"] = stage_name
        stage_request = _stage_request(stage_settings)
        request.update(drop_none({
            "stageDescription": stage_request.get("description"),
            "variables": stage_request.get("variables"),
            "cacheClusterEnabled": stage_request.get("cacheClusterEnabled"),
            "cacheClusterSize": stage_request.get("cacheClusterSize"),
            "tracingEnabled": stage_request.get("tracingEnabled"),
        }))
    deployment = client.create_deployment(**request)

    if stage_name:
        _update_stage(client, context, rest_api_id, stage_name, stage_settings)
    return Provisioned(physical_id=deployment["id"], attributes={"DeploymentId": deployment["id"]})


def _update_stage(client: Any, context: ResourceContext, rest_api_id: str, stage_name: str,
                  settings: dict[str, Any]) -> None:
    operations = _stage_patch_operations(settings)
    # moto 5.2 ignores these CreateDeployment fields, so the stage gets them by UpdateStage.
    if "Description" in settings:
        operations.append({"op": "replace", "path": "/description",
                           "value": str(settings["Description"])})
    if "TracingEnabled" in settings:
        operations.append({"op": "replace", "path": "/tracingEnabled",
                           "value": _patch_value("TracingEnabled", settings["TracingEnabled"])})
    if "CacheClusterEnabled" in settings:
        operations.append({"op": "replace", "path": "/cacheClusterEnabled",
                           "value": _patch_value("CachingEnabled",
                                                 settings["CacheClusterEnabled"])})
    if "CacheClusterSize" in settings:
        operations.append({"op": "replace", "path": "/cacheClusterSize",
                           "value": str(settings["CacheClusterSize"])})
    if operations:
        client.update_stage(restApiId=rest_api_id, stageName=stage_name,
                            patchOperations=operations)
    if "Tags" in settings:
        client.tag_resource(
            resourceArn=context.arn("apigateway", f"/restapis/{rest_api_id}/stages/{stage_name}",
                                    account_id=""),
            tags=tags_to_dict(settings["Tags"]),
        )


_STAGE_PROPERTIES = (
    "AccessLogSetting", "CacheClusterEnabled", "CacheClusterSize", "CanarySetting",
    "ClientCertificateId", "DeploymentId", "Description", "DocumentationVersion",
    "MethodSettings", "RestApiId", "StageName", "Tags", "TracingEnabled", "Variables",
)


@provisions("AWS::ApiGateway::Stage")
def create_stage(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a stage that serves a deployment."""
    check_properties(properties, _STAGE_PROPERTIES)
    require_properties(properties, "RestApiId")
    reject_not_emulated(context.resource_type, properties,
                        ("CanarySetting", "ClientCertificateId", "DocumentationVersion"),
                        type_first=True)

    stage_name = properties.get("StageName") or context.physical_name(max_length=128)
    request = _stage_request(properties)
    client = context.client("apigateway")
    client.create_stage(restApiId=properties["RestApiId"], stageName=stage_name,
                        deploymentId=properties.get("DeploymentId", ""), **request)
    operations = _stage_patch_operations(properties)
    if operations:
        client.update_stage(restApiId=properties["RestApiId"], stageName=stage_name,
                            patchOperations=operations)
    return Provisioned(physical_id=stage_name)


@provisions("AWS::ApiGateway::ApiKey")
def create_api_key(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an API key, optionally bound to stages."""
    check_properties(properties, ("CustomerId", "Description", "Enabled", "GenerateDistinctId",
                                  "Name", "StageKeys", "Tags", "Value"))
    stage_keys = []
    for stage_key in properties.get("StageKeys") or []:
        check_properties(stage_key, ("RestApiId", "StageName"))
        stage_keys.append(drop_none({"restApiId": stage_key.get("RestApiId"),
                                     "stageName": stage_key.get("StageName")}))

    request = drop_none({
        "name": properties.get("Name") or context.physical_name(max_length=128),
        "description": properties.get("Description"),
        "customerId": properties.get("CustomerId"),
        "value": properties.get("Value"),
        "stageKeys": stage_keys or None,
        "tags": tags_to_dict(properties["Tags"]) if "Tags" in properties else None,
    })
    # CloudFormation creates keys disabled unless Enabled is true.
    request["enabled"] = coerce_boolean(properties.get("Enabled", False), "Enabled")
    if "GenerateDistinctId" in properties:
        request["generateDistinctId"] = coerce_boolean(properties["GenerateDistinctId"],
                                                "GenerateDistinctId")
    key = context.client("apigateway").create_api_key(**request)
    return Provisioned(physical_id=key["id"], attributes={"APIKeyId": key["id"]})


def _throttle(settings: dict[str, Any], name: str) -> dict[str, Any]:
    check_properties(settings, ("BurstLimit", "RateLimit"))
    throttle: dict[str, Any] = {}
    if "BurstLimit" in settings:
        throttle["burstLimit"] = coerce_integer(settings["BurstLimit"], f"{name}/BurstLimit")
    if "RateLimit" in settings:
        throttle["rateLimit"] = float(settings["RateLimit"])
    return throttle


@provisions("AWS::ApiGateway::UsagePlan")
def create_usage_plan(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a usage plan with its API stages, throttle and quota."""
    check_properties(properties, ("ApiStages", "Description", "Quota", "Tags", "Throttle",
                                  "UsagePlanName"))
    api_stages = []
    for api_stage in properties.get("ApiStages") or []:
        check_properties(api_stage, ("ApiId", "Stage", "Throttle"))
        stage: dict[str, Any] = drop_none({"apiId": api_stage.get("ApiId"),
                                           "stage": api_stage.get("Stage")})
        if "Throttle" in api_stage:
            stage["throttle"] = {path: _throttle(settings, "ApiStages/Throttle")
                                 for path, settings in api_stage["Throttle"].items()}
        api_stages.append(stage)

    request: dict[str, Any] = drop_none({
        "name": properties.get("UsagePlanName") or context.physical_name(max_length=128),
        "description": properties.get("Description"),
        "apiStages": api_stages or None,
        "tags": tags_to_dict(properties["Tags"]) if "Tags" in properties else None,
    })
    if "Throttle" in properties:
        request["throttle"] = _throttle(properties["Throttle"], "Throttle")
    if "Quota" in properties:
        quota = properties["Quota"]
        check_properties(quota, ("Limit", "Offset", "Period"))
        request["quota"] = drop_none({
            "limit": coerce_integer(quota["Limit"], "Quota/Limit") if "Limit" in quota else None,
            "offset": (coerce_integer(quota["Offset"], "Quota/Offset") if "Offset" in quota
                       else None),
            "period": quota.get("Period"),
        })
    plan = context.client("apigateway").create_usage_plan(**request)
    return Provisioned(physical_id=plan["id"], attributes={"Id": plan["id"]})


@provisions("AWS::ApiGateway::UsagePlanKey")
def create_usage_plan_key(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Attach an API key to a usage plan."""
    check_properties(properties, ("KeyId", "KeyType", "UsagePlanId"))
    require_properties(properties, "KeyId", "KeyType", "UsagePlanId")
    key = context.client("apigateway").create_usage_plan_key(
        usagePlanId=properties["UsagePlanId"], keyId=properties["KeyId"],
        keyType=properties["KeyType"],
    )
    # Ref joins the key ID and the usage plan ID with ":".
    return Provisioned(physical_id=f"{key['id']}:{properties['UsagePlanId']}",
                       attributes={"Id": key["id"]})
