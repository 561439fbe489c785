"""Resource handlers for Secrets Manager secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    reject_not_emulated,
)

# Properties of AWS::SecretsManager::Secret, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secret.html
_SECRET_PROPERTIES = frozenset({
    "Description", "GenerateSecretString", "KmsKeyId", "Name", "ReplicaRegions",
    "SecretString", "Tags",
})
# NOTE: replicas would live in other regions, which the stack's clients cannot reach.
_SECRET_NOT_EMULATED = frozenset({"ReplicaRegions"})

# Options of GenerateSecretString that GetRandomPassword takes under the same name, from
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-secretsmanager-secret-generatesecretstring.html
_PASSWORD_SWITCHES = ("ExcludeLowercase", "ExcludeNumbers", "ExcludePunctuation",
                      "ExcludeUppercase", "IncludeSpace", "RequireEachIncludedType")
_GENERATE_OPTIONS = frozenset({*_PASSWORD_SWITCHES, "ExcludeCharacters", "GenerateStringKey",
                               "PasswordLength", "SecretStringTemplate"})

# Secrets Manager's limit for a secret name.
_SECRET_NAME_MAX_LENGTH = 512

_RESOURCE_POLICY_PROPERTIES = frozenset({"BlockPublicPolicy", "ResourcePolicy", "SecretId"})


@provisions("AWS::SecretsManager::Secret")
def create_secret(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a secret with a given or generated value; ``Ref`` returns its ARN."""
    check_properties(properties, _SECRET_PROPERTIES)
    reject_not_emulated(context.resource_type, properties, _SECRET_NOT_EMULATED)
    if "SecretString" in properties and "GenerateSecretString" in properties:
        raise ResourceCreationFailed(
            "Properties validation failed for resource with message: "
            "#: only 1 subschema matches out of 2 (set SecretString or GenerateSecretString, "
            "not both)"
        )

    client = context.client("secretsmanager")
    name = properties.get("Name") or context.physical_name(max_length=_SECRET_NAME_MAX_LENGTH)
    request: dict[str, Any] = {"Name": name}
    for key in ("Description", "KmsKeyId"):
        if key in properties:
            request[key] = properties[key]
    if properties.get("Tags"):
        request["Tags"] = properties["Tags"]

    # Without SecretString or GenerateSecretString the secret is created without a value.
    if "SecretString" in properties:
        request["SecretString"] = properties["SecretString"]
    elif "GenerateSecretString" in properties:
        request["SecretString"] = _generate_secret_string(client,
                                                          properties["GenerateSecretString"])

    arn = client.create_secret(**request)["ARN"]
    if "SecretString" in properties:
        # Reads of this secret return endpoint URLs in its value pointed at the emulation.
        context.service_state.setdefault("localized-values", set()).update(
            {arn, request["Name"]})
    return Provisioned(physical_id=arn, attributes={"Id": arn})


def _generate_secret_string(client: Any, options: Mapping[str, Any]) -> str:
    """Generate a password with Secrets Manager and place it in the template, if any."""
    path = "GenerateSecretString"
    check_properties(options, _GENERATE_OPTIONS, path)

    request: dict[str, Any] = {}
    if "PasswordLength" in options:
        request["PasswordLength"] = coerce_integer(options["PasswordLength"],
                                                   f"{path}/PasswordLength")
    if "ExcludeCharacters" in options:
        request["ExcludeCharacters"] = options["ExcludeCharacters"]
    for switch in _PASSWORD_SWITCHES:
        if switch in options:
            request[switch] = coerce_boolean(options[switch], f"{path}/{switch}")
    password: str = client.get_random_password(**request)["RandomPassword"]

    template = options.get("SecretStringTemplate")
    string_key = options.get("GenerateStringKey")
    if template is None and string_key is None:
        return password
    if template is None or string_key is None:
        raise ResourceCreationFailed(
            f"Properties validation failed for resource with message: #/{path}: "
            f"SecretStringTemplate and GenerateStringKey must be specified together"
        )
    document = json.loads(template)
    document[string_key] = password
    return json.dumps(document)


@provisions("AWS::SecretsManager::ResourcePolicy")
def create_resource_policy(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Attach a resource policy to a secret; ``Ref`` returns the secret's ARN."""
    check_properties(properties, _RESOURCE_POLICY_PROPERTIES)
    require_properties(properties, "ResourcePolicy", "SecretId")

    document = properties["ResourcePolicy"]
    request: dict[str, Any] = {
        "SecretId": properties["SecretId"],
        "ResourcePolicy": document if isinstance(document, str) else json.dumps(document),
    }
    if "BlockPublicPolicy" in properties:
        request["BlockPublicPolicy"] = coerce_boolean(properties["BlockPublicPolicy"],
                                                      "BlockPublicPolicy")
    arn = context.client("secretsmanager").put_resource_policy(**request)["ARN"]
    return Provisioned(physical_id=arn)
