"""Resource handlers for S3 buckets and bucket policies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.iam import (
    PolicyProblem,
    PolicyUse,
    find_policy_problem,
    rejected_policy,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
    reject_not_emulated,
)

# Properties of AWS::S3::Bucket, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html
_BUCKET_PROPERTIES = frozenset({
    "AbacStatus", "AccelerateConfiguration", "AccessControl", "AnalyticsConfigurations",
    "BucketEncryption", "BucketName", "CorsConfiguration", "IntelligentTieringConfigurations",
    "InventoryConfigurations", "LifecycleConfiguration", "LoggingConfiguration",
    "MetadataConfiguration", "MetadataTableConfiguration", "MetricsConfigurations",
    "NotificationConfiguration", "ObjectLockConfiguration", "ObjectLockEnabled",
    "OwnershipControls", "PublicAccessBlockConfiguration", "ReplicationConfiguration", "Tags",
    "VersioningConfiguration", "WebsiteConfiguration",
})
# NOTE: these bucket configurations are not passed to moto yet, so a template using them fails.
_BUCKET_NOT_EMULATED = frozenset({
    "AbacStatus", "AnalyticsConfigurations", "IntelligentTieringConfigurations",
    "InventoryConfigurations", "MetadataConfiguration", "MetadataTableConfiguration",
    "MetricsConfigurations", "ReplicationConfiguration",
})

# S3's limit for a bucket name, which must be lowercase.
_BUCKET_NAME_MAX_LENGTH = 63

# The template's AccessControl values and the canned ACLs of the S3 API, from
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl
_CANNED_ACLS = {
    "AuthenticatedRead": "authenticated-read", "AwsExecRead": "aws-exec-read",
    "BucketOwnerFullControl": "bucket-owner-full-control",
    "BucketOwnerRead": "bucket-owner-read", "LogDeliveryWrite": "log-delivery-write",
    "Private": "private", "PublicRead": "public-read", "PublicReadWrite": "public-read-write",
}

# Regions whose website endpoint joins "s3-website" and the region with a dash, from
# https://docs.aws.amazon.com/general/latest/gr/s3.html#s3_website_region_endpoints
_DASHED_WEBSITE_REGIONS = frozenset({
    "us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2",
    "ap-northeast-1", "eu-west-1", "sa-east-1", "us-gov-west-1",
})

_BUCKET_POLICY_PROPERTIES = frozenset({"Bucket", "PolicyDocument"})


@provisions("AWS::S3::Bucket")
def create_bucket(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a bucket and apply each configuration with its own S3 call."""
    check_properties(properties, _BUCKET_PROPERTIES)
    reject_not_emulated(context.resource_type, properties, _BUCKET_NOT_EMULATED)

    name = properties.get("BucketName") or context.physical_name(
        max_length=_BUCKET_NAME_MAX_LENGTH, lowercase=True)
    client = context.client("s3")
    client.create_bucket(**_create_bucket_request(context, name, properties))

    if "OwnershipControls" in properties:
        client.put_bucket_ownership_controls(Bucket=name,
                                             OwnershipControls=properties["OwnershipControls"])
    if "PublicAccessBlockConfiguration" in properties:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=_public_access_block(
                properties["PublicAccessBlockConfiguration"]))
    if "BucketEncryption" in properties:
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration=_encryption(properties["BucketEncryption"]))
    if "VersioningConfiguration" in properties:
        client.put_bucket_versioning(
            Bucket=name,
            VersioningConfiguration={"Status": properties["VersioningConfiguration"]["Status"]})
    if "ObjectLockConfiguration" in properties:
        client.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration=_object_lock(properties["ObjectLockConfiguration"]))
    if "AccelerateConfiguration" in properties:
        status = properties["AccelerateConfiguration"]["AccelerationStatus"]
        client.put_bucket_accelerate_configuration(Bucket=name,
                                                   AccelerateConfiguration={"Status": status})
    if "CorsConfiguration" in properties:
        client.put_bucket_cors(Bucket=name,
                               CORSConfiguration=_cors(properties["CorsConfiguration"]))
    if "LifecycleConfiguration" in properties:
        client.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration=_lifecycle(properties["LifecycleConfiguration"]))
    if "WebsiteConfiguration" in properties:
        client.put_bucket_website(Bucket=name,
                                  WebsiteConfiguration=_website(properties["WebsiteConfiguration"]))
    if "LoggingConfiguration" in properties:
        client.put_bucket_logging(
            Bucket=name,
            BucketLoggingStatus=_logging(name, properties["LoggingConfiguration"]))
    if "NotificationConfiguration" in properties:
        client.put_bucket_notification_configuration(
            Bucket=name,
            NotificationConfiguration=_notifications(properties["NotificationConfiguration"]))
    if properties.get("Tags"):
        client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": properties["Tags"]})

    return Provisioned(physical_id=name, attributes=_bucket_attributes(context, name))


def _create_bucket_request(context: ResourceContext, name: str,
                           properties: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"Bucket": name}
    # us-east-1 is S3's default location and the API rejects it as an explicit constraint.
    if context.region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": context.region}
    if "AccessControl" in properties:
        request["ACL"] = _CANNED_ACLS.get(properties["AccessControl"],
                                          properties["AccessControl"])
    if coerce_boolean(properties.get("ObjectLockEnabled", False), "ObjectLockEnabled"):
        request["ObjectLockEnabledForBucket"] = True
    return request


def _bucket_attributes(context: ResourceContext, name: str) -> dict[str, str]:
    """Build the Fn::GetAtt values, whose formats the resource reference gives by example."""
    domain = "amazonaws.com.cn" if context.partition == "aws-cn" else "amazonaws.com"
    region = context.region
    separator = "-" if region in _DASHED_WEBSITE_REGIONS else "."
    return {
        "Arn": f"arn:{context.partition}:s3:::{name}",
        "DomainName": f"{name}.s3.{domain}",
        "DualStackDomainName": f"{name}.s3.dualstack.{region}.{domain}",
        "RegionalDomainName": f"{name}.s3.{region}.{domain}",
        "WebsiteURL": f"http://{name}.s3-website{separator}{region}.{domain}",
    }


def _public_access_block(value: Mapping[str, Any]) -> dict[str, bool]:
    path = "PublicAccessBlockConfiguration"
    return {key: coerce_boolean(item, f"{path}/{key}") for key, item in value.items()}


def _encryption(value: Mapping[str, Any]) -> dict[str, Any]:
    """Translate encryption rules; the API prefixes ServerSideEncryptionByDefault with Apply."""
    rules = []
    for position, rule in enumerate(value.get("ServerSideEncryptionConfiguration", [])):
        translated: dict[str, Any] = {}
        if "ServerSideEncryptionByDefault" in rule:
            translated["ApplyServerSideEncryptionByDefault"] = rule["ServerSideEncryptionByDefault"]
        if "BucketKeyEnabled" in rule:
            translated["BucketKeyEnabled"] = coerce_boolean(
                rule["BucketKeyEnabled"],
                f"BucketEncryption/ServerSideEncryptionConfiguration/{position}/BucketKeyEnabled")
        rules.append(translated)
    return {"Rules": rules}


def _object_lock(value: Mapping[str, Any]) -> dict[str, Any]:
    configuration: dict[str, Any] = {"ObjectLockEnabled": value.get("ObjectLockEnabled",
                                                                    "Enabled")}
    retention = value.get("Rule", {}).get("DefaultRetention")
    if retention is not None:
        path = "ObjectLockConfiguration/Rule/DefaultRetention"
        default_retention: dict[str, Any] = {"Mode": retention.get("Mode")}
        for unit in ("Days", "Years"):
            if unit in retention:
                default_retention[unit] = coerce_integer(retention[unit], f"{path}/{unit}")
        configuration["Rule"] = {"DefaultRetention": default_retention}
    return configuration


def _cors(value: Mapping[str, Any]) -> dict[str, Any]:
    """Translate CorsRules, whose field names differ from the API's in three places."""
    renamed = {"ExposedHeaders": "ExposeHeaders", "Id": "ID", "MaxAge": "MaxAgeSeconds"}
    rules = []
    for position, rule in enumerate(value.get("CorsRules", [])):
        translated = {renamed.get(key, key): item for key, item in rule.items()}
        if "MaxAgeSeconds" in translated:
            translated["MaxAgeSeconds"] = coerce_integer(
                translated["MaxAgeSeconds"], f"CorsConfiguration/CorsRules/{position}/MaxAge")
        rules.append(translated)
    return {"CORSRules": rules}


def _lifecycle(value: Mapping[str, Any]) -> dict[str, Any]:
    return {"Rules": [_lifecycle_rule(rule, f"LifecycleConfiguration/Rules/{position}")
                      for position, rule in enumerate(value.get("Rules", []))]}


def _lifecycle_rule(rule: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Translate one template lifecycle rule, which flattens what the API nests."""
    translated: dict[str, Any] = {"Status": rule["Status"], "Filter": _lifecycle_filter(rule)}
    if "Id" in rule:
        translated["ID"] = rule["Id"]

    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = coerce_integer(rule["ExpirationInDays"], f"{path}/ExpirationInDays")
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = coerce_boolean(
            rule["ExpiredObjectDeleteMarker"], f"{path}/ExpiredObjectDeleteMarker")
    if expiration:
        translated["Expiration"] = expiration

    # Transition is the older single-transition form of Transitions.
    transitions = list(rule.get("Transitions", []))
    if "Transition" in rule:
        transitions.append(rule["Transition"])
    if transitions:
        translated["Transitions"] = [_transition(item, f"{path}/Transitions")
                                     for item in transitions]

    noncurrent = list(rule.get("NoncurrentVersionTransitions", []))
    if "NoncurrentVersionTransition" in rule:
        noncurrent.append(rule["NoncurrentVersionTransition"])
    if noncurrent:
        translated["NoncurrentVersionTransitions"] = [
            _noncurrent_transition(item, f"{path}/NoncurrentVersionTransitions")
            for item in noncurrent
        ]

    if "NoncurrentVersionExpiration" in rule:
        translated["NoncurrentVersionExpiration"] = {
            key: coerce_integer(item, f"{path}/NoncurrentVersionExpiration/{key}")
            for key, item in rule["NoncurrentVersionExpiration"].items()
        }
    elif "NoncurrentVersionExpirationInDays" in rule:
        days = coerce_integer(rule["NoncurrentVersionExpirationInDays"],
                              f"{path}/NoncurrentVersionExpirationInDays")
        translated["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}

    if "AbortIncompleteMultipartUpload" in rule:
        days = coerce_integer(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"],
                              f"{path}/AbortIncompleteMultipartUpload/DaysAfterInitiation")
        translated["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return translated


def _lifecycle_filter(rule: Mapping[str, Any]) -> dict[str, Any]:
    """Build the API's Filter from the rule's prefix, tag filters and object size limits."""
    conditions: dict[str, Any] = {}
    if "Prefix" in rule:
        conditions["Prefix"] = rule["Prefix"]
    if rule.get("TagFilters"):
        conditions["Tags"] = rule["TagFilters"]
    for size in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if size in rule:
            conditions[size] = coerce_integer(rule[size], size)

    # A single prefix or tag is the filter itself, and several conditions are joined by And.
    # A rule without conditions applies to every object, which an empty prefix expresses.
    if not conditions:
        return {"Prefix": ""}
    if len(conditions) == 1 and "Tags" not in conditions:
        return conditions
    if len(conditions) == 1 and len(conditions["Tags"]) == 1:
        return {"Tag": conditions["Tags"][0]}
    return {"And": conditions}


def _transition(value: Mapping[str, Any], path: str) -> dict[str, Any]:
    transition: dict[str, Any] = {"StorageClass": value["StorageClass"]}
    if "TransitionInDays" in value:
        transition["Days"] = coerce_integer(value["TransitionInDays"], f"{path}/TransitionInDays")
    if "TransitionDate" in value:
        transition["Date"] = value["TransitionDate"]
    return transition


def _noncurrent_transition(value: Mapping[str, Any], path: str) -> dict[str, Any]:
    transition: dict[str, Any] = {
        "StorageClass": value["StorageClass"],
        "NoncurrentDays": coerce_integer(value["TransitionInDays"], f"{path}/TransitionInDays"),
    }
    if "NewerNoncurrentVersions" in value:
        transition["NewerNoncurrentVersions"] = coerce_integer(
            value["NewerNoncurrentVersions"], f"{path}/NewerNoncurrentVersions")
    return transition


def _website(value: Mapping[str, Any]) -> dict[str, Any]:
    """Translate the website configuration, whose documents the API nests in objects."""
    website: dict[str, Any] = {}
    if "IndexDocument" in value:
        website["IndexDocument"] = {"Suffix": value["IndexDocument"]}
    if "ErrorDocument" in value:
        website["ErrorDocument"] = {"Key": value["ErrorDocument"]}
    if "RedirectAllRequestsTo" in value:
        website["RedirectAllRequestsTo"] = value["RedirectAllRequestsTo"]
    if "RoutingRules" in value:
        website["RoutingRules"] = [
            {
                key: item for key, item in (("Condition", rule.get("RoutingRuleCondition")),
                                            ("Redirect", rule.get("RedirectRule")))
                if item is not None
            }
            for rule in value["RoutingRules"]
        ]
    return website


def _logging(name: str, value: Mapping[str, Any]) -> dict[str, Any]:
    # Without a destination bucket, S3 server access logs go to the bucket itself.
    enabled = {
        "TargetBucket": value.get("DestinationBucketName", name),
        "TargetPrefix": value.get("LogFilePrefix", ""),
    }
    if "TargetObjectKeyFormat" in value:
        enabled["TargetObjectKeyFormat"] = value["TargetObjectKeyFormat"]
    return {"LoggingEnabled": enabled}


def _notifications(value: Mapping[str, Any]) -> dict[str, Any]:
    """Translate the notification configuration into PutBucketNotificationConfiguration's form.

    The template gives one event per configuration and names the target Function, Queue or
    Topic. The API takes a list of events and the target's ARN under another name.
    """
    notifications: dict[str, Any] = {}
    targets = (
        ("LambdaConfigurations", "Function", "LambdaFunctionConfigurations", "LambdaFunctionArn"),
        ("QueueConfigurations", "Queue", "QueueConfigurations", "QueueArn"),
        ("TopicConfigurations", "Topic", "TopicConfigurations", "TopicArn"),
    )
    for template_key, target_key, api_key, arn_key in targets:
        configurations = []
        for configuration in value.get(template_key, []):
            translated: dict[str, Any] = {
                arn_key: configuration[target_key],
                "Events": [configuration["Event"]],
            }
            rules = configuration.get("Filter", {}).get("S3Key", {}).get("Rules")
            if rules:
                translated["Filter"] = {"Key": {"FilterRules": rules}}
            configurations.append(translated)
        if configurations:
            notifications[api_key] = configurations

    bridge = value.get("EventBridgeConfiguration")
    if bridge is not None and coerce_boolean(
            bridge.get("EventBridgeEnabled", True),
            "NotificationConfiguration/EventBridgeConfiguration/EventBridgeEnabled"):
        notifications["EventBridgeConfiguration"] = {}
    return notifications


@provisions("AWS::S3::BucketPolicy")
def create_bucket_policy(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Attach a policy to a bucket; ``Ref`` returns the bucket name."""
    check_properties(properties, _BUCKET_POLICY_PROPERTIES)
    require_properties(properties, "Bucket", "PolicyDocument")

    document = properties["PolicyDocument"]
    _check_bucket_policy(context, document)
    policy = document if isinstance(document, str) else json.dumps(document)
    context.client("s3").put_bucket_policy(Bucket=properties["Bucket"], Policy=policy)
    return Provisioned(physical_id=properties["Bucket"])


# S3's MalformedPolicy messages, as AWS returns them ("Invalid principal in policy":
# https://repost.aws/knowledge-center/s3-invalid-principal-in-policy-error). The conformance
# tests in tests/conformance/iam/test_malformed_policies.py cite the other responses.
# NOTE: the messages for a missing Statement, Action or Resource follow the wording for a
# missing Principal and are not confirmed. Other syntax errors get "Invalid policy syntax.".
_BUCKET_POLICY_MESSAGES = {
    PolicyProblem.MISSING_STATEMENT: "Missing required field Statement",
    PolicyProblem.MISSING_PRINCIPAL: "Missing required field Principal",
    PolicyProblem.INVALID_PRINCIPAL: "Invalid principal in policy",
    PolicyProblem.MISSING_ACTION: "Missing required field Action",
    PolicyProblem.MISSING_RESOURCE: "Missing required field Resource",
}


def _check_bucket_policy(context: ResourceContext, document: Any) -> None:
    """Raise S3's ``MalformedPolicy`` error for a bucket policy that is not valid."""
    problem = find_policy_problem(document, PolicyUse.RESOURCE, resource_required=True)
    if problem is None:
        return
    if problem is PolicyProblem.INVALID_JSON:
        text = str(document).lstrip()
        message = ("This policy contains invalid Json" if text.startswith("{") else
                   "Policies must be valid JSON and the first byte must be '{'")
    else:
        message = _BUCKET_POLICY_MESSAGES.get(problem, "Invalid policy syntax.")
    raise rejected_policy(context, "PutBucketPolicy", "MalformedPolicy", message)
