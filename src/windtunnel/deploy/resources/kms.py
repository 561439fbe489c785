"""Resource handlers for KMS keys and aliases."""

from __future__ import annotations

import json
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
)

# Properties of AWS::KMS::Key, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html
_KEY_PROPERTIES = frozenset({
    "BypassPolicyLockoutSafetyCheck", "Description", "EnableKeyRotation", "Enabled",
    "KeyPolicy", "KeySpec", "KeyUsage", "MultiRegion", "Origin", "PendingWindowInDays",
    "RotationPeriodInDays", "Tags",
})
# The range of PendingWindowInDays that the resource reference allows.
_PENDING_WINDOW_DAYS = range(7, 31)

_ALIAS_PROPERTIES = frozenset({"AliasName", "TargetKeyId"})


@provisions("AWS::KMS::Key")
def create_key(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a key, then apply its enabled state and rotation; ``Ref`` returns the key ID."""
    check_properties(properties, _KEY_PROPERTIES)

    # PendingWindowInDays applies when the stack deletes the key; it is checked here only.
    if "PendingWindowInDays" in properties:
        days = coerce_integer(properties["PendingWindowInDays"], "PendingWindowInDays")
        if days not in _PENDING_WINDOW_DAYS:
            raise ResourceCreationFailed(
                f"Properties validation failed for resource with message: "
                f"#/PendingWindowInDays: {days} is not in the range 7 to 30"
            )

    request: dict[str, Any] = {}
    if "KeyPolicy" in properties:
        policy = properties["KeyPolicy"]
        request["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    for key in ("Description", "KeySpec", "KeyUsage", "Origin"):
        if key in properties:
            request[key] = properties[key]
    for key in ("BypassPolicyLockoutSafetyCheck", "MultiRegion"):
        if key in properties:
            request[key] = coerce_boolean(properties[key], key)
    if properties.get("Tags"):
        # KMS names the tag fields TagKey and TagValue.
        request["Tags"] = [{"TagKey": tag["Key"], "TagValue": tag["Value"]}
                           for tag in properties["Tags"]]

    client = context.client("kms")
    metadata = client.create_key(**request)["KeyMetadata"]
    key_id = metadata["KeyId"]

    if not coerce_boolean(properties.get("Enabled", True), "Enabled"):
        client.disable_key(KeyId=key_id)
    if coerce_boolean(properties.get("EnableKeyRotation", False), "EnableKeyRotation"):
        rotation: dict[str, Any] = {"KeyId": key_id}
        if "RotationPeriodInDays" in properties:
            rotation["RotationPeriodInDays"] = coerce_integer(
                properties["RotationPeriodInDays"], "RotationPeriodInDays")
        client.enable_key_rotation(**rotation)

    return Provisioned(physical_id=key_id,
                       attributes={"Arn": metadata["Arn"], "KeyId": key_id})


@provisions("AWS::KMS::Alias")
def create_alias(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Point an alias at a key; ``Ref`` returns the alias name."""
    check_properties(properties, _ALIAS_PROPERTIES)
    require_properties(properties, "AliasName", "TargetKeyId")

    context.client("kms").create_alias(AliasName=properties["AliasName"],
                                       TargetKeyId=properties["TargetKeyId"])
    return Provisioned(physical_id=properties["AliasName"])
