"""``sns`` and ``s3`` events: topic subscriptions and bucket notifications that invoke functions.

Follows ``package/compile/events/sns.js`` and ``s3/index.js`` of serverless/serverless.
"""

from __future__ import annotations

import re
from typing import Any

from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext, function_arn

__all__ = ["compile_s3", "compile_sns"]

# The bucket name rule of the Framework's config schema (awsS3BucketName).
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def compile_sns(ctx: CompileContext) -> None:
    """Add the topic or subscription and the permission for each sns event."""
    for key in ctx.functions:
        for index, event in enumerate(ctx.events(key)):
            if "sns" not in event:
                continue
            where = f"functions.{key}.events.{index}.sns"
            config = event["sns"] if isinstance(event["sns"], dict) else {}
            topic_arn: Any = None
            if isinstance(event["sns"], dict):
                topic_arn = config.get("arn")
                topic_name = config.get("topicName")
                if isinstance(topic_arn, str):
                    topic_name = topic_name or topic_arn.split(":")[-1]
                if not topic_name:
                    raise ctx.invalid(
                        'Missing "sns.topicName" setting (it needs to be provided if "sns.arn" '
                        "is not provided as plain ARN string)",
                        where,
                    )
            elif str(event["sns"]).startswith("arn:"):
                topic_arn = event["sns"]
                topic_name = topic_arn.split(":")[-1]
            else:
                topic_name = str(event["sns"])
            if config.get("redrivePolicy"):
                # NOTE: SNS subscription dead-letter queues (redrivePolicy) are not compiled.
                raise ctx.unsupported(
                    f"sns event of function '{key}' sets redrivePolicy", f"{where}.redrivePolicy"
                )

            subscription_id = naming.sns_subscription_logical_id(key, topic_name)
            if topic_arn is not None:
                ctx.resources[subscription_id] = {
                    "Type": "AWS::SNS::Subscription",
                    "Properties": {
                        "TopicArn": topic_arn,
                        "Protocol": "lambda",
                        "Endpoint": function_arn(key),
                        "FilterPolicy": config.get("filterPolicy"),
                        "FilterPolicyScope": config.get("filterPolicyScope"),
                    },
                }
                source_arn: Any = topic_arn
            else:
                source_arn = {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":sns:",
                            {"Ref": "AWS::Region"},
                            ":",
                            {"Ref": "AWS::AccountId"},
                            ":",
                            topic_name,
                        ],
                    ]
                }
                _subscribe_to_own_topic(ctx, key, topic_name, config, subscription_id)

            ctx.resources[naming.sns_permission_logical_id(key, topic_name)] = {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": function_arn(key),
                    "Action": "lambda:InvokeFunction",
                    "Principal": "sns.amazonaws.com",
                    "SourceArn": source_arn,
                },
            }


def _subscribe_to_own_topic(
    ctx: CompileContext, key: str, topic_name: str, config: dict[str, Any], subscription_id: str
) -> None:
    topic_id = naming.topic_logical_id(topic_name)
    if topic_id not in ctx.resources:
        properties: dict[str, Any] = {"TopicName": topic_name}
        if config.get("displayName"):
            properties["DisplayName"] = config["displayName"]
        if config.get("kmsMasterKeyId"):
            properties["KmsMasterKeyId"] = config["kmsMasterKeyId"]
        ctx.resources[topic_id] = {"Type": "AWS::SNS::Topic", "Properties": properties}

    subscription = {"Endpoint": function_arn(key), "Protocol": "lambda"}
    if config.get("filterPolicy"):
        # sns.js: a filter policy needs its own AWS::SNS::Subscription resource.
        ctx.resources[subscription_id] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                **subscription,
                "TopicArn": {"Ref": topic_id},
                "FilterPolicy": config["filterPolicy"],
                "FilterPolicyScope": config.get("filterPolicyScope"),
            },
        }
    else:
        ctx.resources[topic_id]["Properties"].setdefault("Subscription", []).append(subscription)


def compile_s3(ctx: CompileContext) -> None:
    """Add ``S3Bucket{Name}`` with notification configurations and the invoke permissions."""
    provider_buckets = ctx.provider.get("s3") or {}
    configurations: dict[str, list[dict[str, Any]]] = {}
    bucket_refs: dict[str, str] = {}
    subscribers: list[tuple[str, str]] = []
    for key in ctx.functions:
        for index, event in enumerate(ctx.events(key)):
            if "s3" not in event:
                continue
            where = f"functions.{key}.events.{index}.s3"
            config = event["s3"] if isinstance(event["s3"], dict) else {"bucket": event["s3"]}
            if config.get("existing"):
                # NOTE: s3 events on existing buckets (a custom resource) are not compiled.
                raise ctx.unsupported(
                    f"s3 event of function '{key}' uses an existing bucket", f"{where}.existing"
                )
            bucket_ref = config.get("bucket")
            if not isinstance(bucket_ref, str):
                raise ctx.invalid(
                    'When specifying "s3.bucket" with CloudFormation intrinsic function, you '
                    'need to specify that the bucket is existing via "existing: true" property.',
                    where,
                )
            bucket_name = bucket_ref
            if bucket_ref in provider_buckets:
                bucket_name = (provider_buckets[bucket_ref] or {}).get("name") or bucket_ref
                bucket_refs[bucket_name] = bucket_ref
            if not _BUCKET_NAME.match(bucket_name):
                raise ctx.invalid(
                    f"{bucket_name} - Bucket name must conform to pattern "
                    f"{_BUCKET_NAME.pattern}. Please check provider.s3.{bucket_ref} and/or s3 "
                    f'events of function "{key}".',
                    where,
                )
            configuration: dict[str, Any] = {
                "Event": config.get("event") or "s3:ObjectCreated:*",
                "Function": function_arn(key),
            }
            if config.get("rules"):
                rules = [
                    {"Name": name, "Value": value}
                    for rule in config["rules"]
                    for name, value in rule.items()
                ]
                configuration["Filter"] = {"S3Key": {"Rules": rules}}
            configurations.setdefault(bucket_name, []).append(configuration)
            subscribers.append((key, bucket_name))

    for bucket_name, lambda_configurations in configurations.items():
        bucket_ref = bucket_refs.get(bucket_name)
        extra: dict[str, Any] = {}
        if bucket_ref is not None:
            for setting, value in (provider_buckets[bucket_ref] or {}).items():
                if setting != "name":
                    extra[naming.upper_first(setting)] = value
        notification = {"LambdaConfigurations": lambda_configurations}
        notification.update(extra.pop("NotificationConfiguration", None) or {})
        depends_on = [
            naming.s3_permission_logical_id(key, bucket_ref or name)
            for key, name in subscribers
            if name == bucket_name
        ]
        logical_id = naming.bucket_logical_id(bucket_ref or bucket_name)
        ctx.resources[logical_id] = {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": bucket_name,
                "NotificationConfiguration": notification,
                **extra,
            },
            "DependsOn": depends_on,
        }

    for key, bucket_name in subscribers:
        permission_id = naming.s3_permission_logical_id(
            key, bucket_refs.get(bucket_name, bucket_name)
        )
        ctx.resources[permission_id] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": function_arn(key),
                "Action": "lambda:InvokeFunction",
                "Principal": "s3.amazonaws.com",
                "SourceArn": {
                    "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{bucket_name}"]]
                },
                "SourceAccount": {"Ref": "AWS::AccountId"},
            },
        }
