"""Resource handlers for Step Functions state machines and activities."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
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
    is_s3_location,
    not_emulated,
    read_local_file,
)

# Properties that each type's CloudFormation schema accepts in a template. Read-only
# attributes are left out because a template cannot set them.
_PROPERTIES = {
    "AWS::StepFunctions::StateMachine": frozenset({
        "Definition", "DefinitionS3Location", "DefinitionString", "DefinitionSubstitutions",
        "EncryptionConfiguration", "LoggingConfiguration", "RoleArn", "StateMachineName",
        "StateMachineType", "Tags", "TracingConfiguration",
    }),
    "AWS::StepFunctions::Activity": frozenset({"EncryptionConfiguration", "Name", "Tags"}),
}

# Step Functions limits state machine and activity names to 80 characters.
_NAME_MAX = 80



def _tags(tags: Iterable[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    # The Step Functions API spells tag keys in lower case.
    return [{"key": str(tag["Key"]), "value": str(tag["Value"])} for tag in tags or ()]


def _read_definition(context: ResourceContext, properties: Mapping[str, Any]) -> str:
    """Return the definition text from Definition, DefinitionString or DefinitionS3Location."""
    if "Definition" in properties:
        return json.dumps(properties["Definition"])
    if "DefinitionString" in properties:
        return str(properties["DefinitionString"])

    location = properties.get("DefinitionS3Location")
    if location is None:
        raise ResourceCreationFailed(
            "Properties validation failed for resource with message: #: one of Definition, "
            "DefinitionString or DefinitionS3Location is required"
        )
    if is_s3_location(location):
        raise not_emulated(context.resource_type, "DefinitionS3Location",
                           f"the definition is an S3 object ({location}). Give it inline or as "
                           f"a local file path", type_first=True)
    # A local path, as SAM's DefinitionUri contains before packaging.
    return read_local_file(context, location, "DefinitionS3Location")


def _substitute(definition: str, substitutions: Mapping[str, Any]) -> str:
    """Replace each ``${Name}`` with its value, as CloudFormation does for substitutions."""
    for key, value in substitutions.items():
        text = _bool_text(value) if isinstance(value, bool) else str(value)
        definition = definition.replace("${" + key + "}", text)
    return definition


def _revision_id(arn: str, definition: str) -> str:
    # NOTE: moto 5 keeps no state machine revisions, so this ID is derived from the ARN and
    # definition (stable across loads) where AWS assigns a random UUID.
    digest = hashlib.sha256(f"{arn}\n{definition}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


@provisions("AWS::StepFunctions::StateMachine")
def create_state_machine(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a state machine from an inline, string or local file definition."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "RoleArn")
    stepfunctions = context.client("stepfunctions")

    definition = _read_definition(context, properties)
    definition = _substitute(definition, properties.get("DefinitionSubstitutions", {}))
    name = properties.get("StateMachineName") or context.physical_name(max_length=_NAME_MAX)
    request: dict[str, Any] = {
        "name": name,
        "definition": definition,
        "roleArn": properties["RoleArn"],
        "type": properties.get("StateMachineType", "STANDARD"),
    }
    logging = properties.get("LoggingConfiguration")
    if logging is not None:
        request["loggingConfiguration"] = {
            "level": logging.get("Level", "OFF"),
            "includeExecutionData": coerce_boolean(
                logging.get("IncludeExecutionData", False),
                "LoggingConfiguration/IncludeExecutionData"),
            "destinations": [
                {"cloudWatchLogsLogGroup": {
                    "logGroupArn": destination["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                for destination in logging.get("Destinations", ())
            ],
        }
    tracing = properties.get("TracingConfiguration")
    if tracing is not None:
        request["tracingConfiguration"] = {
            "enabled": coerce_boolean(tracing.get("Enabled", False),
                                      "TracingConfiguration/Enabled"),
        }
    encryption = properties.get("EncryptionConfiguration")
    if encryption is not None:
        request["encryptionConfiguration"] = _encryption(encryption)
    if properties.get("Tags"):
        request["tags"] = _tags(properties["Tags"])
    arn = stepfunctions.create_state_machine(**request)["stateMachineArn"]

    return Provisioned(physical_id=arn, attributes={
        "Arn": arn,
        "Name": name,
        "StateMachineRevisionId": _revision_id(arn, definition),
    })


def _encryption(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """Translate an EncryptionConfiguration into the API's lower camel case."""
    request: dict[str, Any] = {"type": configuration["Type"]}
    if "KmsKeyId" in configuration:
        request["kmsKeyId"] = configuration["KmsKeyId"]
    if "KmsDataKeyReusePeriodSeconds" in configuration:
        request["kmsDataKeyReusePeriodSeconds"] = coerce_integer(
            configuration["KmsDataKeyReusePeriodSeconds"],
            "EncryptionConfiguration/KmsDataKeyReusePeriodSeconds")
    return request


@provisions("AWS::StepFunctions::Activity")
def create_activity(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an activity that workers poll for tasks."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "Name")
    stepfunctions = context.client("stepfunctions")

    request: dict[str, Any] = {"name": properties["Name"]}
    if properties.get("Tags"):
        request["tags"] = _tags(properties["Tags"])
    if "EncryptionConfiguration" in properties:
        request["encryptionConfiguration"] = _encryption(properties["EncryptionConfiguration"])
    arn = stepfunctions.create_activity(**request)["activityArn"]
    return Provisioned(physical_id=arn, attributes={"Arn": arn, "Name": properties["Name"]})


def _bool_text(value: bool) -> str:
    return "true" if value else "false"

