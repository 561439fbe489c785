"""Resource handlers for Lambda functions, versions, aliases, layers and their event sources."""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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
    not_emulated,
    reject_not_emulated,
    tags_to_dict,
)
from windtunnel.runtime.code import register_code_path
from windtunnel.template.model import CODE_PATH_METADATA

logger = logging.getLogger(__name__)

# Properties that each type's CloudFormation schema accepts in a template. Read-only
# attributes are left out because a template cannot set them.
_PROPERTIES = {
    "AWS::Lambda::Function": frozenset({
        "Architectures", "CapacityProviderConfig", "Code", "CodeSigningConfigArn",
        "DeadLetterConfig", "Description", "DurableConfig", "Environment", "EphemeralStorage",
        "FileSystemConfigs", "FunctionName", "FunctionScalingConfig", "Handler", "ImageConfig",
        "KmsKeyArn", "Layers", "LoggingConfig", "MemorySize", "PackageType",
        "PublishToLatestPublished", "RecursiveLoop", "ReservedConcurrentExecutions", "Role",
        "Runtime", "RuntimeManagementConfig", "SnapStart", "Tags", "TenancyConfig", "Timeout",
        "TracingConfig", "VpcConfig",
    }),
    "AWS::Lambda::Permission": frozenset({
        "Action", "EventSourceToken", "FunctionName", "FunctionUrlAuthType",
        "InvokedViaFunctionUrl", "Principal", "PrincipalOrgID", "SourceAccount", "SourceArn",
    }),
    "AWS::Lambda::EventSourceMapping": frozenset({
        "AmazonManagedKafkaEventSourceConfig", "BatchSize", "BisectBatchOnFunctionError",
        "DestinationConfig", "DocumentDBEventSourceConfig", "Enabled", "EventSourceArn",
        "FilterCriteria", "FunctionName", "FunctionResponseTypes", "KmsKeyArn", "LoggingConfig",
        "MaximumBatchingWindowInSeconds", "MaximumRecordAgeInSeconds", "MaximumRetryAttempts",
        "MetricsConfig", "ParallelizationFactor", "ProvisionedPollerConfig", "Queues",
        "ScalingConfig", "SelfManagedEventSource", "SelfManagedKafkaEventSourceConfig",
        "SourceAccessConfigurations", "StartingPosition", "StartingPositionTimestamp", "Tags",
        "Topics", "TumblingWindowInSeconds",
    }),
    "AWS::Lambda::Version": frozenset({
        "CodeSha256", "Description", "FunctionName", "FunctionScalingConfig",
        "ProvisionedConcurrencyConfig", "RuntimePolicy",
    }),
    "AWS::Lambda::Alias": frozenset({
        "Description", "FunctionName", "FunctionVersion", "Name",
        "ProvisionedConcurrencyConfig", "RoutingConfig",
    }),
    "AWS::Lambda::LayerVersion": frozenset({
        "CompatibleArchitectures", "CompatibleRuntimes", "Content", "Description", "LayerName",
        "LicenseInfo",
    }),
    "AWS::Lambda::LayerVersionPermission": frozenset({
        "Action", "LayerVersionArn", "OrganizationId", "Principal",
    }),
    "AWS::Lambda::Url": frozenset({
        "AuthType", "Cors", "InvokeMode", "Qualifier", "TargetFunctionArn",
    }),
    "AWS::Lambda::EventInvokeConfig": frozenset({
        "DestinationConfig", "FunctionName", "MaximumEventAgeInSeconds", "MaximumRetryAttempts",
        "Qualifier",
    }),
}

# Lambda's limits: function names 64 characters, statement IDs 100, layer names 140.
_FUNCTION_NAME_MAX = 64
_STATEMENT_ID_MAX = 100
_LAYER_NAME_MAX = 140

# CloudFormation writes inline ZipFile code to a file named "index" with the runtime's
# extension (only Node.js and Python runtimes accept inline code).
_INLINE_EXTENSIONS = {"python": ".py", "nodejs": ".js"}
_PLACEHOLDER_NAME = "windtunnel-placeholder.txt"
_PLACEHOLDER_TEXT = (
    "windtunnel runs this function from the local path recorded in the resource's "
    f"{CODE_PATH_METADATA} metadata, not from this package.\n"
)
# A fixed timestamp keeps the placeholder's bytes, and so CodeSha256, the same on every load.
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)



def _zip(name: str, content: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP), content)
    return buffer.getvalue()


def _function_package(code: Mapping[str, Any], runtime: str | None) -> bytes:
    """Build the deployment package stored in the embedded Lambda.

    Inline ``ZipFile`` source is kept as ``index.py`` or ``index.js``. Code from S3 or from a
    local directory is not copied: the runtime loads it from the path in the resource's
    metadata, so the stored package is a small placeholder.
    """
    if "ZipFile" in code:
        family = next((prefix for prefix in _INLINE_EXTENSIONS
                       if runtime and runtime.startswith(prefix)), None)
        if family is None:
            raise ResourceCreationFailed(
                f"Code.ZipFile (inline code) is supported only for Node.js and Python "
                f"runtimes, not {runtime}"
            )
        return _zip(f"index{_INLINE_EXTENSIONS[family]}", str(code["ZipFile"]))
    return _zip(_PLACEHOLDER_NAME, _PLACEHOLDER_TEXT)


def _variable_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise ResourceCreationFailed(
            "Properties validation failed for resource with message: "
            "#/Environment/Variables: expected type: String, found: JSONObject")
    return str(value)


def _function_request(context: ResourceContext, properties: Mapping[str, Any],
                      name: str) -> dict[str, Any]:
    """Translate function properties into a CreateFunction request."""
    code = properties["Code"]
    runtime = properties.get("Runtime")
    request: dict[str, Any] = {
        "FunctionName": name,
        "Role": properties["Role"],
        "Code": {"ZipFile": _function_package(code, runtime)},
        "PackageType": "Zip",
        # Lambda's documented defaults, stated so the stored configuration shows them.
        "Timeout": coerce_integer(properties.get("Timeout", 3), "Timeout"),
        "MemorySize": coerce_integer(properties.get("MemorySize", 128), "MemorySize"),
        "Publish": False,
    }
    for key in ("Runtime", "Handler", "Description", "TracingConfig",
                "DeadLetterConfig", "VpcConfig", "FileSystemConfigs", "ImageConfig",
                "LoggingConfig", "CodeSigningConfigArn", "SnapStart", "Architectures"):
        if key in properties:
            request[key] = properties[key]
    if "Layers" in properties:
        request["Layers"] = _local_layers(context, name, properties["Layers"] or [])
    if "Environment" in properties:
        # CloudFormation passes scalar values of the string-typed variables as text, so a
        # template may write numbers and booleans there.
        variables = (properties["Environment"] or {}).get("Variables") or {}
        request["Environment"] = {"Variables": {
            name: _variable_text(value) for name, value in variables.items()}}
    if "KmsKeyArn" in properties:
        request["KMSKeyArn"] = properties["KmsKeyArn"]
    if "EphemeralStorage" in properties:
        request["EphemeralStorage"] = {
            "Size": coerce_integer(properties["EphemeralStorage"]["Size"], "EphemeralStorage/Size"),
        }
    if properties.get("Tags"):
        request["Tags"] = tags_to_dict(properties["Tags"])
    return request


def _local_layers(context: ResourceContext, function_name: str,
                  layers: list[Any]) -> list[str]:
    """Keep the layers of this account; leave out public layers of other accounts.

    Layers that AWS or vendors publish (Powertools, the Lambda Insights extension) live in
    their publishers' accounts and cannot be downloaded here. The function then imports
    those packages from the Python environment that runs windtunnel, so they must be
    installed there, as the warning tells the user.
    """
    kept: list[str] = []
    for layer in layers:
        arn = str(layer)
        parts = arn.split(":")
        if len(parts) >= 5 and parts[4] not in ("", context.account_id):
            logger.warning(
                "function %s uses layer %s of account %s, which cannot be downloaded "
                "locally; the function imports those packages from this Python "
                "environment instead, so install them there (for Powertools: pip install "
                "aws-lambda-powertools)", function_name, arn, parts[4])
            continue
        kept.append(arn)
    return kept


@provisions("AWS::Lambda::Function")
def create_function(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a function whose configuration matches the template, keeping its code local."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "Code", "Role")
    code = properties["Code"]
    if properties.get("PackageType") == "Image" or "ImageUri" in code:
        raise not_emulated(context.resource_type, "PackageType",
                           "container image functions are not emulated; use a .zip package",
                           type_first=True)
    reject_not_emulated(context.resource_type, properties, (
        "CapacityProviderConfig", "DurableConfig", "FunctionScalingConfig", "TenancyConfig",
        "PublishToLatestPublished"), type_first=True)
    # Defaults are accepted because they change nothing. Other values have no local effect.
    if properties.get("RecursiveLoop", "Terminate") != "Terminate":
        raise not_emulated(context.resource_type, "RecursiveLoop", type_first=True)
    runtime_management = properties.get("RuntimeManagementConfig", {"UpdateRuntimeOn": "Auto"})
    if runtime_management.get("UpdateRuntimeOn") != "Auto":
        raise not_emulated(context.resource_type, "RuntimeManagementConfig", type_first=True)
    lambda_client = context.client("lambda")

    name = properties.get("FunctionName") or context.physical_name(
        max_length=_FUNCTION_NAME_MAX)
    function = lambda_client.create_function(**_function_request(context, properties, name))
    code_path = context.metadata.get(CODE_PATH_METADATA)
    if code_path:
        register_code_path(context.service_state, name, str(code_path))

    if "ReservedConcurrentExecutions" in properties:
        lambda_client.put_function_concurrency(
            FunctionName=name,
            ReservedConcurrentExecutions=coerce_integer(
                properties["ReservedConcurrentExecutions"], "ReservedConcurrentExecutions"),
        )

    # GetAtt SnapStartResponse reports what was requested, because moto 5 always reports off.
    snap_start_on = properties.get("SnapStart", {}).get("ApplyOn") == "PublishedVersions"
    return Provisioned(physical_id=name, attributes={
        "Arn": function["FunctionArn"],
        "SnapStartResponse.ApplyOn": "PublishedVersions" if snap_start_on else "None",
        "SnapStartResponse.OptimizationStatus": "On" if snap_start_on else "Off",
    })


@provisions("AWS::Lambda::Permission")
def create_permission(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Add a statement to a function's resource-based policy."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "FunctionName", "Action", "Principal")
    lambda_client = context.client("lambda")

    statement_id = context.physical_name(max_length=_STATEMENT_ID_MAX)
    request: dict[str, Any] = {
        "FunctionName": properties["FunctionName"],
        "StatementId": statement_id,
        "Action": properties["Action"],
        "Principal": properties["Principal"],
    }
    for key in ("SourceArn", "SourceAccount", "EventSourceToken", "PrincipalOrgID",
                "FunctionUrlAuthType", "InvokedViaFunctionUrl"):
        if key in properties:
            request[key] = properties[key]
    if "InvokedViaFunctionUrl" in request:
        request["InvokedViaFunctionUrl"] = coerce_boolean(request["InvokedViaFunctionUrl"],
                                                          "InvokedViaFunctionUrl")
    lambda_client.add_permission(**request)

    # NOTE: Ref for this type is the generated statement ID here, and the documented Id
    # attribute has the same value. AWS's exact Ref format is unconfirmed.
    return Provisioned(physical_id=statement_id, attributes={"Id": statement_id})


# Event source mapping properties passed to CreateEventSourceMapping, with their coercion.
_MAPPING_INTEGERS = ("BatchSize", "MaximumBatchingWindowInSeconds", "MaximumRecordAgeInSeconds",
                     "MaximumRetryAttempts", "ParallelizationFactor", "TumblingWindowInSeconds")
_MAPPING_BOOLEANS = ("Enabled", "BisectBatchOnFunctionError")
_MAPPING_PASSED = ("EventSourceArn", "FunctionName", "FilterCriteria", "FunctionResponseTypes",
                   "StartingPosition", "DestinationConfig", "ScalingConfig", "KMSKeyArn",
                   "Queues", "Topics", "SourceAccessConfigurations", "SelfManagedEventSource",
                   "SelfManagedKafkaEventSourceConfig", "AmazonManagedKafkaEventSourceConfig",
                   "DocumentDBEventSourceConfig", "MetricsConfig", "ProvisionedPollerConfig",
                   "LoggingConfig")


@provisions("AWS::Lambda::EventSourceMapping")
def create_event_source_mapping(context: ResourceContext,
                                properties: dict[str, Any]) -> Provisioned:
    """Create an event source mapping from an SQS queue, Kinesis stream or DynamoDB stream."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "FunctionName")
    lambda_client = context.client("lambda")

    renamed = dict(properties)
    if "KmsKeyArn" in renamed:
        renamed["KMSKeyArn"] = renamed.pop("KmsKeyArn")
    request: dict[str, Any] = {key: renamed[key] for key in _MAPPING_PASSED if key in renamed}
    for key in _MAPPING_INTEGERS:
        if key in properties:
            request[key] = coerce_integer(properties[key], key)
    for key in _MAPPING_BOOLEANS:
        if key in properties:
            request[key] = coerce_boolean(properties[key], key)
    if "ScalingConfig" in request and "MaximumConcurrency" in request["ScalingConfig"]:
        request["ScalingConfig"] = {
            "MaximumConcurrency": coerce_integer(request["ScalingConfig"]["MaximumConcurrency"],
                                                 "ScalingConfig/MaximumConcurrency"),
        }
    if "StartingPositionTimestamp" in properties:
        # The template gives seconds since the epoch, and the API takes a timestamp.
        request["StartingPositionTimestamp"] = datetime.fromtimestamp(
            float(properties["StartingPositionTimestamp"]), tz=UTC)
    if properties.get("Tags"):
        request["Tags"] = tags_to_dict(properties["Tags"])
    mapping = lambda_client.create_event_source_mapping(**request)

    return Provisioned(physical_id=mapping["UUID"], attributes={
        "Id": mapping["UUID"],
        "EventSourceMappingArn": mapping.get("EventSourceMappingArn") or context.arn(
            "lambda", f"event-source-mapping:{mapping['UUID']}"),
    })


@provisions("AWS::Lambda::Version")
def create_version(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Publish a version of a function's current code and configuration."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "FunctionName")
    reject_not_emulated(context.resource_type, properties, (
        "ProvisionedConcurrencyConfig", "RuntimePolicy", "FunctionScalingConfig"), type_first=True)
    lambda_client = context.client("lambda")

    request: dict[str, Any] = {"FunctionName": properties["FunctionName"]}
    if "Description" in properties:
        request["Description"] = properties["Description"]
    if "CodeSha256" in properties:
        request["CodeSha256"] = properties["CodeSha256"]
    version = lambda_client.publish_version(**request)

    return Provisioned(physical_id=version["FunctionArn"], attributes={
        "Version": version["Version"],
        "FunctionArn": version["FunctionArn"],
    })


@provisions("AWS::Lambda::Alias")
def create_alias(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an alias, with weighted routing to a second version when configured."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "FunctionName", "FunctionVersion", "Name")
    reject_not_emulated(context.resource_type, properties, ("ProvisionedConcurrencyConfig",),
                        type_first=True)
    lambda_client = context.client("lambda")

    request: dict[str, Any] = {
        "FunctionName": properties["FunctionName"],
        "Name": properties["Name"],
        "FunctionVersion": str(properties["FunctionVersion"]),
    }
    if "Description" in properties:
        request["Description"] = properties["Description"]
    routing = properties.get("RoutingConfig")
    if routing is not None:
        # The template lists weights as objects, but the API takes a version-to-weight map.
        weights = {
            str(entry["FunctionVersion"]): float(entry["FunctionWeight"])
            for entry in routing.get("AdditionalVersionWeights", ())
        }
        request["RoutingConfig"] = {"AdditionalVersionWeights": weights}
    alias = lambda_client.create_alias(**request)

    return Provisioned(physical_id=alias["AliasArn"], attributes={"AliasArn": alias["AliasArn"]})


@provisions("AWS::Lambda::LayerVersion")
def create_layer_version(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Publish a layer version whose content stays local, like a function's code."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "Content")
    lambda_client = context.client("lambda")

    request: dict[str, Any] = {
        "LayerName": properties.get("LayerName") or context.physical_name(
            max_length=_LAYER_NAME_MAX),
        "Content": {"ZipFile": _zip(_PLACEHOLDER_NAME, _PLACEHOLDER_TEXT)},
    }
    for key in ("CompatibleRuntimes", "CompatibleArchitectures", "Description", "LicenseInfo"):
        if key in properties:
            request[key] = properties[key]
    layer = lambda_client.publish_layer_version(**request)

    arn = layer["LayerVersionArn"]
    content_path = context.metadata.get(CODE_PATH_METADATA)
    if content_path:
        register_code_path(context.service_state, arn, str(content_path))
    return Provisioned(physical_id=arn, attributes={"LayerVersionArn": arn})


@provisions("AWS::Lambda::LayerVersionPermission")
def create_layer_version_permission(context: ResourceContext,
                                    properties: dict[str, Any]) -> Provisioned:
    """Grant an account or organization use of a layer version."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "LayerVersionArn", "Action", "Principal")
    lambda_client = context.client("lambda")

    layer_version_arn = str(properties["LayerVersionArn"])
    layer_arn, _, version_number = layer_version_arn.rpartition(":")
    statement_id = context.physical_name(max_length=_STATEMENT_ID_MAX)
    request: dict[str, Any] = {
        "LayerName": layer_arn,
        "VersionNumber": int(version_number),
        "StatementId": statement_id,
        "Action": properties["Action"],
        "Principal": properties["Principal"],
    }
    if "OrganizationId" in properties:
        request["OrganizationId"] = properties["OrganizationId"]
    lambda_client.add_layer_version_permission(**request)

    # NOTE: the physical ID joins the layer version ARN and the generated statement ID with
    # "#", which is how the Id attribute is shaped here. AWS's exact format is unconfirmed.
    permission_id = f"{layer_version_arn}#{statement_id}"
    return Provisioned(physical_id=permission_id, attributes={"Id": permission_id})


@provisions("AWS::Lambda::Url")
def create_url(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a function URL configuration."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "TargetFunctionArn", "AuthType")
    lambda_client = context.client("lambda")

    request: dict[str, Any] = {
        "FunctionName": properties["TargetFunctionArn"],
        "AuthType": properties["AuthType"],
    }
    for key in ("Qualifier", "Cors", "InvokeMode"):
        if key in properties:
            request[key] = properties[key]
    url = lambda_client.create_function_url_config(**request)

    return Provisioned(physical_id=url["FunctionArn"], attributes={
        "FunctionArn": url["FunctionArn"],
        "FunctionUrl": url["FunctionUrl"],
    })


@provisions("AWS::Lambda::EventInvokeConfig")
def create_event_invoke_config(context: ResourceContext,
                               properties: dict[str, Any]) -> Provisioned:
    """Configure retries, event age and destinations for asynchronous invocation."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "FunctionName", "Qualifier")
    lambda_client = context.client("lambda")

    request: dict[str, Any] = {
        "FunctionName": properties["FunctionName"],
        "Qualifier": str(properties["Qualifier"]),
    }
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if key in properties:
            request[key] = coerce_integer(properties[key], key)
    if "DestinationConfig" in properties:
        request["DestinationConfig"] = properties["DestinationConfig"]
    lambda_client.put_function_event_invoke_config(**request)

    # NOTE: this type documents no Ref value. The physical ID joins the schema's primary
    # identifier (function name, then qualifier) with "|".
    return Provisioned(physical_id=f"{properties['FunctionName']}|{request['Qualifier']}")
