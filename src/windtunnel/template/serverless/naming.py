"""Logical IDs and names that the Serverless Framework gives the resources it generates.

Each function mirrors one method of the Framework's naming module,
``lib/plugins/aws/lib/naming.js`` (serverless/serverless, v3 and v4), so that user
``resources:`` that ``Ref`` or ``Fn::GetAtt`` generated resources find them.
"""

from __future__ import annotations

import re

__all__ = [
    "api_key_logical_id",
    "authorizer_logical_id",
    "bucket_logical_id",
    "capitalize",
    "endpoint_model_logical_id",
    "event_bridge_permission_logical_id",
    "event_bridge_rule_logical_id",
    "event_bus_logical_id",
    "http_api_authorizer_logical_id",
    "http_api_integration_logical_id",
    "http_api_permission_logical_id",
    "http_api_route_logical_id",
    "lambda_logical_id",
    "layer_logical_id",
    "log_group_logical_id",
    "method_logical_id",
    "model_logical_id",
    "normalize_alphanumeric",
    "normalize_name",
    "normalize_path",
    "normalize_path_part",
    "normalize_resource_name",
    "queue_logical_id",
    "resource_logical_id",
    "rest_api_permission_logical_id",
    "s3_permission_logical_id",
    "schedule_logical_id",
    "schedule_permission_logical_id",
    "sns_permission_logical_id",
    "sns_subscription_logical_id",
    "stream_logical_id",
    "topic_logical_id",
    "upper_first",
    "validator_logical_id",
    "version_logical_id",
]

ROLE_LOGICAL_ID = "IamRoleLambdaExecution"
DEPLOYMENT_BUCKET_LOGICAL_ID = "ServerlessDeploymentBucket"
DEPLOYMENT_BUCKET_POLICY_LOGICAL_ID = "ServerlessDeploymentBucketPolicy"
DEPLOYMENT_BUCKET_OUTPUT = "ServerlessDeploymentBucketName"
REST_API_LOGICAL_ID = "ApiGatewayRestApi"
HTTP_API_LOGICAL_ID = "HttpApi"
HTTP_API_STAGE_LOGICAL_ID = "HttpApiStage"


def upper_first(name: str) -> str:
    """Upper-case the first character only, like lodash ``upperFirst``."""
    return name[:1].upper() + name[1:]


def capitalize(name: str) -> str:
    """Upper-case the first character and lower-case the rest, like lodash ``capitalize``."""
    return name[:1].upper() + name[1:].lower()


def normalize_name(name: str) -> str:
    """Return ``naming.normalizeName``: the name with its first character upper-cased."""
    return upper_first(name)


def normalize_alphanumeric(name: str) -> str:
    """Return ``naming.normalizeNameToAlphaNumericOnly``: letters and digits only."""
    return normalize_name(re.sub(r"[^0-9A-Za-z]", "", name))


def normalize_resource_name(name: str) -> str:
    """Return ``naming.getNormalizedResourceName``: ``-`` and ``_`` spelled out."""
    return normalize_name(name.replace("-", "Dash").replace("_", "Underscore"))


def normalize_path_part(part: str) -> str:
    """Return ``naming.normalizePathPart`` for one segment of a resource path."""
    text = capitalize(part).replace("-", "Dash")
    # naming.js uses the greedy /\{(.*)\}/ here, so "{a}{b}" becomes "a}{bVar".
    text = re.sub(r"\{(.*)\}", r"\1Var", text)
    return upper_first(re.sub(r"[^0-9A-Za-z]", "", text))


def normalize_path(path: str) -> str:
    """Return ``naming.normalizePath``: each ``/``-separated part normalized and joined."""
    return "".join(normalize_path_part(part) for part in path.split("/"))


def lambda_logical_id(function_name: str) -> str:
    return f"{normalize_resource_name(function_name)}LambdaFunction"


def log_group_logical_id(function_name: str) -> str:
    return f"{normalize_resource_name(function_name)}LogGroup"


def version_logical_id(function_name: str, digest: str) -> str:
    suffix = re.sub(r"[^0-9a-z]", "", digest, flags=re.IGNORECASE)
    return f"{normalize_resource_name(function_name)}LambdaVersion{suffix}"


def layer_logical_id(layer_name: str) -> str:
    return f"{normalize_resource_name(layer_name)}LambdaLayer"


def resource_logical_id(resource_path: str) -> str:
    return f"ApiGatewayResource{normalize_path(resource_path)}"


def method_logical_id(resource_name: str, method: str) -> str:
    return f"ApiGatewayMethod{resource_name}{normalize_name(method.lower())}"


def authorizer_logical_id(function_name: str) -> str:
    return f"{normalize_resource_name(function_name)}ApiGatewayAuthorizer"


def validator_logical_id(service: str) -> str:
    return f"ApiGateway{normalize_alphanumeric(service)}RequestValidator"


def model_logical_id(schema_id: str) -> str:
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+", schema_id)
    camel = "".join(word.capitalize() for word in words)
    return f"ApiGateway{camel}Model"


def endpoint_model_logical_id(resource_name: str, method: str, content_type: str) -> str:
    # lodash startCase splits "application/json" into "Application Json".
    words = re.findall(r"[A-Za-z][a-z]*|[0-9]+", content_type)
    return (
        f"{method_logical_id(resource_name, method)}{''.join(upper_first(w) for w in words)}Model"
    )


def api_key_logical_id(number: int, name: str | None = None) -> str:
    if name:
        return f"ApiGatewayApiKey{normalize_name(name)}{number}"
    return f"ApiGatewayApiKey{number}"


def rest_api_permission_logical_id(function_name: str) -> str:
    return f"{normalize_resource_name(function_name)}LambdaPermissionApiGateway"


def http_api_permission_logical_id(function_name: str) -> str:
    return f"{normalize_resource_name(function_name)}LambdaPermissionHttpApi"


def http_api_integration_logical_id(function_name: str) -> str:
    return f"HttpApiIntegration{normalize_resource_name(function_name)}"


def http_api_route_logical_id(route_key: str) -> str:
    if route_key == "*":
        return "HttpApiRouteDefault"
    return f"HttpApiRoute{normalize_path(route_key)}"


def http_api_authorizer_logical_id(authorizer_name: str) -> str:
    return f"HttpApiAuthorizer{normalize_resource_name(authorizer_name)}"


def bucket_logical_id(bucket_name: str) -> str:
    return f"S3Bucket{normalize_alphanumeric(bucket_name)}"


def s3_permission_logical_id(function_name: str, bucket_name: str) -> str:
    return (
        f"{normalize_resource_name(function_name)}LambdaPermission"
        f"{normalize_alphanumeric(bucket_name)}S3"
    )


def topic_logical_id(topic_name: str) -> str:
    return f"SNSTopic{normalize_alphanumeric(topic_name)}"


def sns_permission_logical_id(function_name: str, topic_name: str) -> str:
    return (
        f"{normalize_resource_name(function_name)}LambdaPermission"
        f"{normalize_alphanumeric(topic_name)}SNS"
    )


def sns_subscription_logical_id(function_name: str, topic_name: str) -> str:
    return (
        f"{normalize_resource_name(function_name)}SnsSubscription"
        f"{normalize_alphanumeric(topic_name)}"
    )


def schedule_logical_id(function_name: str, index: int) -> str:
    return f"{normalize_resource_name(function_name)}EventsRuleSchedule{index}"


def schedule_permission_logical_id(function_name: str, index: int) -> str:
    return f"{normalize_resource_name(function_name)}LambdaPermissionEventsRuleSchedule{index}"


def queue_logical_id(function_name: str, queue_name: str) -> str:
    return (
        f"{normalize_resource_name(function_name)}EventSourceMappingSQS"
        f"{normalize_alphanumeric(queue_name)}"
    )


def stream_logical_id(function_name: str, stream_type: str, stream_name: str) -> str:
    return (
        f"{normalize_resource_name(function_name)}EventSourceMapping"
        f"{normalize_name(stream_type)}{normalize_alphanumeric(stream_name)}"
    )


def event_bus_logical_id(event_bus_name: str) -> str:
    return f"{normalize_resource_name(event_bus_name)}EventBridgeEventBus"


def event_bridge_rule_logical_id(rule_name: str) -> str:
    return f"{normalize_alphanumeric(rule_name)}EventBridgeRule"


def event_bridge_permission_logical_id(function_name: str, index: int) -> str:
    return f"{normalize_resource_name(function_name)}EventBridgeLambdaPermission{index}"
