"""``sqs`` and ``stream`` events: Lambda event source mappings for queues and streams.

Follows ``package/compile/events/sqs.js`` and ``stream.js`` of serverless/serverless.
"""

from __future__ import annotations

import json
from typing import Any

from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext, function_arn

__all__ = ["compile_sqs", "compile_streams"]


def _role_dependency(ctx: CompileContext, key: str) -> list[str]:
    """Return provider.resolveFunctionIamRoleResourceName as a DependsOn list."""
    function = ctx.functions[key]
    role = function.get("role") or ctx.provider.get("role")
    if role is None:
        iam_role = (ctx.provider.get("iam") or {}).get("role")
        if isinstance(iam_role, str) or (isinstance(iam_role, dict) and "Fn::GetAtt" in iam_role):
            role = iam_role
    if role is None:
        return [naming.ROLE_LOGICAL_ID]
    if isinstance(role, str):
        return [] if ":" in role else [role]
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        return [role["Fn::GetAtt"][0]]
    return []


def _name_from_arn(arn: Any, separator: str) -> str:
    if isinstance(arn, dict):
        if "Fn::GetAtt" in arn:
            return str(arn["Fn::GetAtt"][0])
        if "Fn::ImportValue" in arn:
            return str(arn["Fn::ImportValue"])
        if "Ref" in arn:
            return str(arn["Ref"])
        if "Fn::Join" in arn:
            return str(arn["Fn::Join"][1][-1]).split("/")[-1]
        raise ValueError(f"cannot take a name from {arn!r}")
    if separator == ":":
        return str(arn).split(":")[-1]
    return str(arn).split("/")[1]


def compile_sqs(ctx: CompileContext) -> None:
    """Add ``{Fn}EventSourceMappingSQS{Queue}`` per sqs event and the shared-role statement."""
    arns: list[Any] = []
    for key in ctx.functions:
        for index, event in enumerate(ctx.events(key)):
            if "sqs" not in event:
                continue
            config = event["sqs"] if isinstance(event["sqs"], dict) else {"arn": event["sqs"]}
            arn = config.get("arn")
            where = f"functions.{key}.events.{index}.sqs"
            try:
                queue_name = _name_from_arn(arn, ":")
            except ValueError:
                raise ctx.invalid(
                    "the sqs event needs an arn (a string or an intrinsic)", where
                ) from None

            properties: dict[str, Any] = {
                "BatchSize": config.get("batchSize") or 10,
                "MaximumBatchingWindowInSeconds": config.get("maximumBatchingWindow"),
                "EventSourceArn": arn,
                "FunctionName": function_arn(key),
                "Enabled": config.get("enabled", True),
            }
            if config.get("functionResponseType") is not None:
                properties["FunctionResponseTypes"] = [config["functionResponseType"]]
            if config.get("filterPatterns"):
                properties["FilterCriteria"] = {
                    "Filters": [{"Pattern": _json(p)} for p in config["filterPatterns"]]
                }
            if config.get("maximumConcurrency"):
                properties["ScalingConfig"] = {"MaximumConcurrency": config["maximumConcurrency"]}
            ctx.resources[naming.queue_logical_id(key, queue_name)] = {
                "Type": "AWS::Lambda::EventSourceMapping",
                "DependsOn": _role_dependency(ctx, key),
                "Properties": properties,
            }
            if not ctx.has_dedicated_role(key):
                arns.append(arn)

    statements = ctx.shared_role_statements()
    if statements is not None and arns:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": arns,
            }
        )


def compile_streams(ctx: CompileContext) -> None:
    """Add ``{Fn}EventSourceMapping{Type}{Stream}`` per stream event and role statements."""
    dynamodb: list[Any] = []
    kinesis: list[Any] = []
    for key in ctx.functions:
        for index, event in enumerate(ctx.events(key)):
            if "stream" not in event:
                continue
            config = (
                event["stream"] if isinstance(event["stream"], dict) else {"arn": event["stream"]}
            )
            arn = config.get("arn")
            where = f"functions.{key}.events.{index}.stream"
            stream_type = config.get("type") or (
                arn.split(":")[2] if isinstance(arn, str) else None
            )
            if stream_type not in {"dynamodb", "kinesis"}:
                raise ctx.invalid(
                    "the stream event needs type: dynamodb or kinesis when its arn is an intrinsic",
                    where,
                )
            if config.get("consumer"):
                # NOTE: Kinesis enhanced fan-out consumers (stream.consumer) are not compiled.
                raise ctx.unsupported(
                    f"stream event of function '{key}' sets consumer", f"{where}.consumer"
                )
            try:
                stream_name = _name_from_arn(arn, "/")
            except (ValueError, IndexError):
                raise ctx.invalid("the stream event needs an arn", where) from None

            properties: dict[str, Any] = {
                "BatchSize": config.get("batchSize") or 10,
                "Enabled": config.get("enabled", True),
                "EventSourceArn": arn,
                "FunctionName": function_arn(key),
                "ParallelizationFactor": config.get("parallelizationFactor"),
                "StartingPosition": config.get("startingPosition") or "TRIM_HORIZON",
            }
            optional = {
                "maximumRetryAttempts": "MaximumRetryAttempts",
                "bisectBatchOnFunctionError": "BisectBatchOnFunctionError",
                "maximumRecordAgeInSeconds": "MaximumRecordAgeInSeconds",
                "maximumBatchingWindow": "MaximumBatchingWindowInSeconds",
                "tumblingWindowInSeconds": "TumblingWindowInSeconds",
            }
            for setting, property_name in optional.items():
                if config.get(setting) is not None:
                    properties[property_name] = config[setting]
            if config.get("functionResponseType"):
                properties["FunctionResponseTypes"] = [config["functionResponseType"]]
            if config.get("filterPatterns"):
                properties["FilterCriteria"] = {
                    "Filters": [{"Pattern": _json(p)} for p in config["filterPatterns"]]
                }
            if config.get("destinations"):
                # NOTE: on-failure destinations of stream events are not compiled.
                raise ctx.unsupported(
                    f"stream event of function '{key}' sets destinations", f"{where}.destinations"
                )
            ctx.resources[naming.stream_logical_id(key, stream_type, stream_name)] = {
                "Type": "AWS::Lambda::EventSourceMapping",
                "DependsOn": _role_dependency(ctx, key),
                "Properties": properties,
            }
            if not ctx.has_dedicated_role(key):
                (dynamodb if stream_type == "dynamodb" else kinesis).append(arn)

    statements = ctx.shared_role_statements()
    if statements is None:
        return
    if dynamodb:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:DescribeStream",
                    "dynamodb:ListStreams",
                ],
                "Resource": dynamodb,
            }
        )
    if kinesis:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:DescribeStream",
                    "kinesis:ListStreams",
                ],
                "Resource": kinesis,
            }
        )


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
