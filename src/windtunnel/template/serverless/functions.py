"""Functions, their log groups and versions, and layers, as the Framework compiles them.

Follows ``package/compile/functions.js``, ``package/compile/layers.js`` and
``package/lib/function-log-groups.js`` of serverless/serverless.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from windtunnel.template.model import CODE_PATH_METADATA
from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext

__all__ = ["compile_functions", "compile_layers", "compile_log_groups"]

# Defaults of functions.js and provider.js: 1024 MB, 6 seconds, nodejs20.x.
DEFAULT_MEMORY_SIZE = 1024
DEFAULT_TIMEOUT = 6
DEFAULT_RUNTIME = "nodejs20.x"


def _artifact_prefix(ctx: CompileContext) -> str:
    return f"serverless/{ctx.service}/{ctx.stage}/{ctx.instance_id}"


def compile_log_groups(ctx: CompileContext) -> None:
    """Add ``{Fn}LogGroup`` for every function that keeps the default log group."""
    retention = ctx.provider.get("logRetentionInDays")
    for key, function in ctx.functions.items():
        if not _has_default_log_group(ctx, function):
            continue
        properties: dict[str, Any] = {"LogGroupName": f"/aws/lambda/{ctx.function_name(key)}"}
        days = function.get("logRetentionInDays") or retention
        if days:
            properties["RetentionInDays"] = days
        ctx.resources[naming.log_group_logical_id(key)] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": properties,
        }


def _has_default_log_group(ctx: CompileContext, function: dict[str, Any]) -> bool:
    provider_logs = ctx.provider.get("logs") or {}
    custom_group = (function.get("logs") or {}).get("logGroup") or (
        (provider_logs.get("lambda") or {}).get("logGroup")
    )
    return not function.get("disableLogs") and not custom_group


def _code_path(ctx: CompileContext, key: str, function: dict[str, Any]) -> str:
    package = function.get("package") or {}
    artifact = package.get("artifact") or (ctx.config.get("package") or {}).get("artifact")
    if artifact:
        # NOTE: a package artifact is recorded as the zip file itself; it is not unpacked.
        return str((ctx.service_dir / str(artifact)).resolve())
    return str(ctx.service_dir)


def compile_functions(ctx: CompileContext) -> None:
    """Add ``{Fn}LambdaFunction`` and, when functions are versioned, ``{Fn}LambdaVersion...``."""
    provider = ctx.provider
    for key, function in ctx.functions.items():
        path = f"functions.{key}"
        if "image" in function:
            # NOTE: container image functions are not compiled.
            raise ctx.unsupported(f"function '{key}' uses a container image", f"{path}.image")
        if not function.get("handler"):
            raise ctx.invalid(f"function '{key}' has no handler", path)

        properties: dict[str, Any] = {
            "Code": {
                "S3Bucket": {"Ref": naming.DEPLOYMENT_BUCKET_LOGICAL_ID},
                "S3Key": f"{_artifact_prefix(ctx)}/{ctx.service}.zip",
            },
            "Handler": function["handler"],
            "Runtime": function.get("runtime") or provider.get("runtime") or DEFAULT_RUNTIME,
            "FunctionName": ctx.function_name(key),
            "MemorySize": function.get("memorySize")
            or provider.get("memorySize")
            or DEFAULT_MEMORY_SIZE,
            "Timeout": function.get("timeout") or provider.get("timeout") or DEFAULT_TIMEOUT,
        }
        architecture = function.get("architecture") or provider.get("architecture")
        if architecture:
            properties["Architectures"] = [architecture]
        if function.get("description"):
            properties["Description"] = function["description"]

        tags = {**(provider.get("tags") or {}), **(function.get("tags") or {})}
        if tags:
            properties["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]

        environment = {**(provider.get("environment") or {}), **(function.get("environment") or {})}
        if function.get("environment") is not None or provider.get("environment") is not None:
            properties["Environment"] = {"Variables": environment}

        reserved = function.get("reservedConcurrency")
        if reserved is not None:
            properties["ReservedConcurrentExecutions"] = reserved

        layers = function.get("layers") or provider.get("layers")
        if layers:
            properties["Layers"] = list(layers)

        resource: dict[str, Any] = {
            "Type": "AWS::Lambda::Function",
            "Properties": properties,
            "DependsOn": [],
            "Metadata": {CODE_PATH_METADATA: _code_path(ctx, key, function)},
        }
        if _has_default_log_group(ctx, function):
            resource["DependsOn"].append(naming.log_group_logical_id(key))
        _set_role(ctx, key, function, resource)
        if function.get("condition"):
            resource["Condition"] = function["condition"]
        depends_on = function.get("dependsOn")
        if depends_on:
            resource["DependsOn"].extend(
                [depends_on] if isinstance(depends_on, str) else depends_on
            )

        function_id = naming.lambda_logical_id(key)
        ctx.resources[function_id] = resource

        versioned = function.get("versionFunction")
        if versioned is None:
            versioned = provider.get("versionFunctions", True)
        if versioned:
            _add_version(ctx, key, function, properties)


def _set_role(
    ctx: CompileContext, key: str, function: dict[str, Any], resource: dict[str, Any]
) -> None:
    # compileRole in functions.js: an ARN string as is, a logical ID through Fn::GetAtt.
    role = function.get("role") or ctx.provider.get("role")
    iam_role = (ctx.provider.get("iam") or {}).get("role")
    if role is None and (
        isinstance(iam_role, str) or (isinstance(iam_role, dict) and "Fn::GetAtt" in iam_role)
    ):
        role = iam_role
    if role is None:
        role = naming.ROLE_LOGICAL_ID

    if isinstance(role, str) and role.startswith("arn:"):
        resource["Properties"]["Role"] = role
    elif isinstance(role, str):
        resource["Properties"]["Role"] = {"Fn::GetAtt": [role, "Arn"]}
        if role != naming.ROLE_LOGICAL_ID:
            resource["DependsOn"].append(role)
    elif isinstance(role, dict) and "Fn::GetAtt" in role:
        resource["Properties"]["Role"] = role
        resource["DependsOn"].append(role["Fn::GetAtt"][0])
    else:
        resource["Properties"]["Role"] = role


def _add_version(
    ctx: CompileContext, key: str, function: dict[str, Any], properties: dict[str, Any]
) -> None:
    # The Framework hashes the artifact and the function configuration; windtunnel has no
    # artifact, so the digest covers the configuration only and changes when it changes.
    payload = json.dumps(properties, sort_keys=True, default=str).encode()
    digest = base64.b64encode(hashlib.sha256(payload).digest()).decode()
    version_id = naming.version_logical_id(key, digest)
    version: dict[str, Any] = {
        "Type": "AWS::Lambda::Version",
        "DeletionPolicy": "Retain",
        "Properties": {"FunctionName": {"Ref": naming.lambda_logical_id(key)}},
    }
    # NOTE: CodeSha256 is omitted because no deployment package is built.
    if function.get("description"):
        version["Properties"]["Description"] = function["description"]
    ctx.resources[version_id] = version
    ctx.outputs[f"{naming.lambda_logical_id(key)}QualifiedArn"] = {
        "Description": "Current Lambda function version",
        "Value": {"Ref": version_id},
    }


def compile_layers(ctx: CompileContext) -> None:
    """Add ``{Layer}LambdaLayer`` for each entry of ``layers:`` and its QualifiedArn output."""
    layers = ctx.config.get("layers") or {}
    for name, layer in layers.items():
        layer = layer or {}
        path = f"layers.{name}"
        if not layer.get("path") and not (layer.get("package") or {}).get("artifact"):
            raise ctx.invalid(f"layer '{name}' needs a path or package.artifact", path)
        content_path = layer.get("path") or layer["package"]["artifact"]
        properties: dict[str, Any] = {
            "Content": {
                "S3Bucket": {"Ref": naming.DEPLOYMENT_BUCKET_LOGICAL_ID},
                "S3Key": f"{_artifact_prefix(ctx)}/{name}.zip",
            },
            "LayerName": layer.get("name") or name,
        }
        if layer.get("description"):
            properties["Description"] = layer["description"]
        if layer.get("compatibleRuntimes"):
            properties["CompatibleRuntimes"] = layer["compatibleRuntimes"]
        if layer.get("compatibleArchitectures"):
            properties["CompatibleArchitectures"] = layer["compatibleArchitectures"]
        if layer.get("licenseInfo"):
            properties["LicenseInfo"] = layer["licenseInfo"]

        layer_id = naming.layer_logical_id(name)
        ctx.resources[layer_id] = {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": properties,
            "Metadata": {
                CODE_PATH_METADATA: str((ctx.service_dir / Path(str(content_path))).resolve())
            },
        }
        if layer.get("retain"):
            ctx.resources[layer_id]["DeletionPolicy"] = "Retain"
        ctx.outputs[f"{layer_id}QualifiedArn"] = {
            "Description": "Current Lambda layer version",
            "Value": {"Ref": layer_id},
        }
