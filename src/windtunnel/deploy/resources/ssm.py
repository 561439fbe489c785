"""Resource handlers for SSM parameters."""

from __future__ import annotations

from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    ResourceCreationFailed,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import check_properties

# Properties of AWS::SSM::Parameter, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ssm-parameter.html
_PARAMETER_PROPERTIES = frozenset({
    "AllowedPattern", "DataType", "Description", "Name", "Policies", "Tags", "Tier", "Type",
    "Value",
})
# CloudFormation creates String and StringList parameters only; SecureString is not allowed.
_PARAMETER_TYPES = ("String", "StringList")

# SSM's limit for a parameter name, the path included.
_PARAMETER_NAME_MAX_LENGTH = 2048


@provisions("AWS::SSM::Parameter")
def create_parameter(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Put a String or StringList parameter; ``Ref`` returns its name."""
    check_properties(properties, _PARAMETER_PROPERTIES)
    require_properties(properties, "Type", "Value")

    parameter_type = properties["Type"]
    if parameter_type not in _PARAMETER_TYPES:
        raise ResourceCreationFailed(
            f"Properties validation failed for resource with message: "
            f"#/Type: {parameter_type} is not a valid enum value"
        )

    name = properties.get("Name") or context.physical_name(
        max_length=_PARAMETER_NAME_MAX_LENGTH)
    request: dict[str, Any] = {"Name": name, "Type": parameter_type,
                               "Value": str(properties["Value"])}
    for key in ("AllowedPattern", "DataType", "Description", "Policies", "Tier"):
        if key in properties:
            request[key] = properties[key]
    # The template gives tags as a JSON object, the API as a list of Key/Value pairs.
    tags = properties.get("Tags") or {}
    if tags:
        request["Tags"] = [{"Key": key, "Value": str(value)} for key, value in tags.items()]

    context.client("ssm").put_parameter(**request)
    # Reads of this parameter return endpoint URLs in its value pointed at the emulation.
    context.service_state.setdefault("localized-values", set()).add(name)
    return Provisioned(physical_id=name,
                       attributes={"Type": parameter_type, "Value": request["Value"]})
