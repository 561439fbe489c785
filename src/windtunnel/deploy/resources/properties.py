"""Property checks and conversions that every resource handler shares.

CloudFormation validates properties against the type's JSON schema before it calls a service,
and it converts template values such as ``"5"`` or ``"true"`` to the schema's types. The
helpers here reproduce those failure messages and conversions, read the local files that
``*S3Location`` properties name, and build the failure for properties that windtunnel does
not emulate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed

__all__ = [
    "check_properties",
    "coerce_boolean",
    "coerce_integer",
    "coerce_integers",
    "drop_none",
    "is_s3_location",
    "not_emulated",
    "parse_document",
    "read_local_file",
    "reject_not_emulated",
    "tags_to_dict",
    "type_mismatch",
]

_VALIDATION_FAILED = "Properties validation failed for resource with message: "


def check_properties(properties: Mapping[str, Any], allowed: Iterable[str],
                     path: str = "") -> None:
    """Raise CloudFormation's validation failure for a key that the schema does not define.

    ``path`` names the object being checked (``GenerateSecretString``) and is empty for the
    resource's top-level properties.
    """
    allowed_names = set(allowed)
    for name in properties:
        if name not in allowed_names:
            raise ResourceCreationFailed(
                f"{_VALIDATION_FAILED}#{'/' + path if path else ''}: "
                f"extraneous key [{name}] is not permitted"
            )


def type_mismatch(path: str, expected: str, found: str) -> ResourceCreationFailed:
    """Build CloudFormation's failure for a property value of the wrong type."""
    return ResourceCreationFailed(
        f"{_VALIDATION_FAILED}#/{path}: expected type: {expected}, found: {found}"
    )


def coerce_integer(value: Any, path: str) -> int:
    """Return an Integer property, which templates may write as a string of digits."""
    if isinstance(value, bool):
        raise type_mismatch(path, "Integer", "Boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise type_mismatch(path, "Integer", "String") from None
    raise type_mismatch(path, "Integer", type(value).__name__)


def coerce_integers(value: Mapping[str, Any], path: str) -> dict[str, int]:
    """Return an object whose every field is an Integer property."""
    return {key: coerce_integer(item, f"{path}/{key}") for key, item in value.items()}


def coerce_boolean(value: Any, path: str) -> bool:
    """Return a Boolean property; CloudFormation accepts "true" and "false" in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise type_mismatch(path, "Boolean", "String")
    raise type_mismatch(path, "Boolean", type(value).__name__)


def tags_to_dict(tags: Any) -> dict[str, str]:
    """Turn CloudFormation's list of Key/Value tags, or a tag map, into a tag map.

    Most types take tags as a ``[{Key, Value}]`` list, but some (``AWS::ApiGatewayV2::Api``,
    ``AWS::Cognito::UserPool``'s ``UserPoolTags``) take a map. Keys and values become strings.
    """
    if isinstance(tags, Mapping):
        return {str(key): str(value) for key, value in tags.items()}
    return {str(tag["Key"]): str(tag["Value"]) for tag in tags or []}


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the request parameters whose values are set, as boto3 rejects None."""
    return {key: value for key, value in values.items() if value is not None}


def not_emulated(resource_type: str, name: str, detail: str = "", *,
                 type_first: bool = False) -> ResourceCreationFailed:
    """Build the failure for a property whose effect windtunnel cannot reproduce.

    The message is "Property {name} of {resource_type} is not emulated by windtunnel",
    followed by ``detail`` or by the advice to remove the property. ``type_first`` gives
    "{resource_type} property {name} is not emulated by windtunnel" instead.
    """
    # TODO: settle on one wording. The API Gateway, AppSync, Lambda, Cognito, EventBridge and
    # Step Functions handlers pass type_first. The API Gateway, Lambda and Step Functions unit
    # tests match that word order, and the S3 unit tests match the other one.
    if type_first:
        message = f"{resource_type} property {name} is not emulated by windtunnel"
        return ResourceCreationFailed(f"{message}: {detail}" if detail else message)
    return ResourceCreationFailed(
        f"Property {name} of {resource_type} is not emulated by windtunnel; "
        f"{detail or 'remove it to deploy locally'}"
    )


def reject_not_emulated(resource_type: str, properties: Mapping[str, Any],
                        names: Iterable[str], *, type_first: bool = False) -> None:
    """Raise :func:`not_emulated` for the first property in ``properties`` listed in ``names``."""
    unemulated = set(names)
    for name in properties:
        if name in unemulated:
            raise not_emulated(resource_type, name, type_first=type_first)


def is_s3_location(location: Any) -> bool:
    """Check whether an ``*S3Location`` value names an S3 object rather than a local file.

    An S3 location is a ``{Bucket, Key}`` object or an ``s3://`` URI.
    """
    return isinstance(location, Mapping) or (
        isinstance(location, str) and location.startswith("s3://"))


def read_local_file(context: ResourceContext, location: Any, name: str) -> str:
    """Read the file that an ``*S3Location`` property names by a local path.

    Templates deployed locally point these properties at files beside the template, and a
    relative path resolves against the template's directory. An S3 location would need the
    object from S3 before the stack exists, which windtunnel does not do, so it is rejected.
    """
    if is_s3_location(location):
        raise ResourceCreationFailed(
            f"Property {name} with an Amazon S3 location is not emulated by windtunnel. "
            f"Give a local file path relative to the template instead"
        )
    if not isinstance(location, str):
        raise type_mismatch(name, "String", type(location).__name__)

    path = Path(location.removeprefix("file://"))
    if not path.is_absolute():
        path = context.template_dir / path
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ResourceCreationFailed(
            f"Property {name}: cannot read file {path}: {error.strerror}"
        ) from None


def parse_document(text: str, name: str) -> dict[str, Any]:
    """Parse a document property, such as an OpenAPI definition, given as JSON or YAML text."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ResourceCreationFailed(
                f"Property {name} is not a valid JSON or YAML document: {error}"
            ) from None
    if not isinstance(document, dict):
        raise ResourceCreationFailed(f"Property {name} is not a JSON object")
    return document
