"""Evaluate CloudFormation intrinsic functions, condition functions and pseudo parameters.

The rules and error texts follow the CloudFormation intrinsic function reference:
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from windtunnel.errors import (
    CircularDependencyError,
    TemplateError,
    UnresolvedReferenceError,
    UnsupportedFeatureError,
)

__all__ = [
    "NO_VALUE",
    "Resolver",
    "collect_references",
    "pseudo_parameters",
    "url_suffix",
]


class _NoValue:
    """The value of ``{"Ref": "AWS::NoValue"}``: the enclosing property is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def partition_of(region: str) -> str:
    """Return the ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def url_suffix(region: str) -> str:
    """Return the domain suffix of AWS endpoints in a region (``AWS::URLSuffix``)."""
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def pseudo_parameters(*, region: str, account_id: str, stack_name: str,
                      stack_id: str) -> dict[str, Any]:
    """Return the values of CloudFormation's pseudo parameters for one stack.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
    """
    return {
        "AWS::AccountId": account_id,
        "AWS::NotificationARNs": [],
        "AWS::Partition": partition_of(region),
        "AWS::Region": region,
        "AWS::StackId": stack_id,
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": url_suffix(region),
    }


def _availability_zones(region: str) -> list[str]:
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    zones = RegionsAndZonesBackend.zones.get(region)
    if zones:
        return [zone.name for zone in zones]
    return [f"{region}{letter}" for letter in "abc"]


@dataclass
class Resolver:
    """Resolves intrinsic functions against one stack's parameters, conditions and resources.

    ``resource_ref`` and ``resource_attribute`` look up resources that the deployment has
    created so far; ``import_value`` looks up exports of other stacks. Each raises
    :class:`UnresolvedReferenceError` for names it does not know.
    """

    parameters: Mapping[str, Any]
    pseudo: Mapping[str, Any]
    mappings: Mapping[str, Any] = field(default_factory=dict)
    condition_definitions: Mapping[str, Any] = field(default_factory=dict)
    resource_ref: Callable[[str, str], Any] | None = None
    resource_attribute: Callable[[str, str, str], Any] | None = None
    import_value: Callable[[str, str], Any] | None = None
    resource_names: frozenset[str] = frozenset()
    _conditions: dict[str, bool] = field(default_factory=dict)
    _evaluating: list[str] = field(default_factory=list)

    # --- conditions -----------------------------------------------------------------

    def condition(self, name: str, path: str) -> bool:
        """Return the value of the named condition, evaluating it once."""
        if name in self._conditions:
            return self._conditions[name]
        if name not in self.condition_definitions:
            raise UnresolvedReferenceError(
                f"Template error: unresolved condition dependency {name} in Fn::If",
                path=path,
            )
        if name in self._evaluating:
            cycle = [*self._evaluating[self._evaluating.index(name):], name]
            raise CircularDependencyError(
                f"Template format error: Circular dependency between conditions: "
                f"[{', '.join(cycle)}]",
                path=f"Conditions.{name}",
            )
        self._evaluating.append(name)
        try:
            value = self.resolve(self.condition_definitions[name], f"Conditions.{name}")
        finally:
            self._evaluating.pop()
        if not isinstance(value, bool):
            raise TemplateError(
                f"Template format error: condition {name} must evaluate to true or false, "
                f"got {value!r}",
                path=f"Conditions.{name}",
            )
        self._conditions[name] = value
        return value

    # --- resolution ----------------------------------------------------------------

    def resolve(self, value: Any, path: str) -> Any:
        """Resolve every intrinsic function in ``value``; ``AWS::NoValue`` entries vanish."""
        if isinstance(value, dict):
            if len(value) == 1:
                (key, argument), = value.items()
                function = _FUNCTIONS.get(key)
                if function is not None:
                    return function(self, argument, f"{path}.{key}")
                if key.startswith("Fn::"):
                    raise UnsupportedFeatureError(
                        f"the intrinsic function {key} is not supported", path=path
                    )
            resolved: dict[str, Any] = {}
            for key, item in value.items():
                result = self.resolve(item, f"{path}.{key}")
                if result is not NO_VALUE:
                    resolved[key] = result
            return resolved
        if isinstance(value, list):
            items = [self.resolve(item, f"{path}[{index}]") for index, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        return value

    def ref(self, name: str, path: str) -> Any:
        """Return what ``Ref`` gives for a parameter, pseudo parameter or resource."""
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if self.resource_ref is not None and name in self.resource_names:
            return self.resource_ref(name, path)
        raise _unresolved(name, path)

    def get_att(self, resource: str, attribute: str, path: str) -> Any:
        """Return what ``Fn::GetAtt`` gives for a resource attribute."""
        if self.resource_attribute is None or resource not in self.resource_names:
            raise _unresolved(resource, path)
        return self.resource_attribute(resource, attribute, path)


def _unresolved(name: str, path: str) -> UnresolvedReferenceError:
    block = path.split(".", 1)[0] or "Resources"
    # Wording from CloudFormation's template validation error, see
    # https://repost.aws/knowledge-center/cloudformation-template-validation
    return UnresolvedReferenceError(
        f"Template format error: Unresolved resource dependencies [{name}] in the "
        f"{block} block of the template",
        path=path,
    )


def _expect_list(argument: Any, function: str, length: int | None, path: str) -> list[Any]:
    if not isinstance(argument, list) or (length is not None and len(argument) != length):
        shape = f"a list of {length} values" if length is not None else "a list"
        raise TemplateError(f"Template error: {function} takes {shape}", path=path)
    return argument


def _as_string(value: Any, function: str, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    raise TemplateError(
        f"Template error: every value in {function} must resolve to a string, got "
        f"{json.dumps(value, default=str)}",
        path=path,
    )


def _fn_ref(resolver: Resolver, argument: Any, path: str) -> Any:
    name = resolver.resolve(argument, path)
    if not isinstance(name, str):
        raise TemplateError("Template error: Ref takes the name of a parameter or resource",
                            path=path)
    return resolver.ref(name, path)


def _fn_get_att(resolver: Resolver, argument: Any, path: str) -> Any:
    if isinstance(argument, str):
        resource, _, attribute = argument.partition(".")
        arguments: list[Any] = [resource, attribute]
    else:
        arguments = _expect_list(argument, "Fn::GetAtt", 2, path)
    resource = arguments[0]
    attribute = resolver.resolve(arguments[1], path)
    if not isinstance(resource, str) or not isinstance(attribute, str) or not attribute:
        raise TemplateError(
            "Template error: every Fn::GetAtt object requires two non-empty parameters",
            path=path,
        )
    return resolver.get_att(resource, attribute, path)


def _fn_sub(resolver: Resolver, argument: Any, path: str) -> Any:
    variables: dict[str, Any] = {}
    if isinstance(argument, list):
        template, variable_map = _expect_list(argument, "Fn::Sub", 2, path)
        if not isinstance(variable_map, dict):
            raise TemplateError("Template error: the second argument of Fn::Sub must be a map",
                                path=path)
        variables = {key: resolver.resolve(value, f"{path}[1].{key}")
                     for key, value in variable_map.items()}
    else:
        template = argument
    if not isinstance(template, str):
        raise TemplateError("Template error: the first argument of Fn::Sub must be a string",
                            path=path)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            # "${!Literal}" writes "${Literal}" as it is.
            return "${" + name[1:] + "}"
        name = name.strip()
        if name in variables:
            value = variables[name]
        elif "." in name and name not in resolver.pseudo:
            resource, _, attribute = name.partition(".")
            value = resolver.get_att(resource, attribute, path)
        else:
            value = resolver.ref(name, path)
        return _as_string(value, "Fn::Sub", path)

    return _SUB_VARIABLE.sub(substitute, template)


def _fn_join(resolver: Resolver, argument: Any, path: str) -> str:
    delimiter, values = _expect_list(argument, "Fn::Join", 2, path)
    values = resolver.resolve(values, f"{path}[1]")
    if not isinstance(delimiter, str) or not isinstance(values, list):
        raise TemplateError(
            "Template error: Fn::Join takes a delimiter and a list of values", path=path
        )
    return delimiter.join(_as_string(value, "Fn::Join", path) for value in values)


def _fn_select(resolver: Resolver, argument: Any, path: str) -> Any:
    index, values = _expect_list(argument, "Fn::Select", 2, path)
    index = resolver.resolve(index, f"{path}[0]")
    values = resolver.resolve(values, f"{path}[1]")
    try:
        position = int(index)
    except (TypeError, ValueError):
        raise TemplateError("Template error: Fn::Select requires a number as its index",
                            path=path) from None
    if not isinstance(values, list):
        raise TemplateError("Template error: Fn::Select requires a list to select from",
                            path=path)
    if not 0 <= position < len(values):
        raise TemplateError(
            f"Template error: Fn::Select cannot select nonexistent value at index {position}",
            path=path,
        )
    return values[position]


def _fn_split(resolver: Resolver, argument: Any, path: str) -> list[str]:
    delimiter, source = _expect_list(argument, "Fn::Split", 2, path)
    source = resolver.resolve(source, f"{path}[1]")
    if not isinstance(delimiter, str) or not isinstance(source, str):
        raise TemplateError("Template error: Fn::Split takes a delimiter and a string",
                            path=path)
    return source.split(delimiter)


def _fn_base64(resolver: Resolver, argument: Any, path: str) -> str:
    value = _as_string(resolver.resolve(argument, path), "Fn::Base64", path)
    return base64.b64encode(value.encode()).decode()


def _fn_get_azs(resolver: Resolver, argument: Any, path: str) -> list[str]:
    region = resolver.resolve(argument, path) or resolver.pseudo["AWS::Region"]
    return _availability_zones(str(region))


def _fn_find_in_map(resolver: Resolver, argument: Any, path: str) -> Any:
    arguments = _expect_list(argument, "Fn::FindInMap", None, path)
    if len(arguments) not in (3, 4):
        raise TemplateError("Template error: Fn::FindInMap takes three values", path=path)
    names = [resolver.resolve(value, f"{path}[{index}]")
             for index, value in enumerate(arguments[:3])]
    default: Any = NO_VALUE
    if len(arguments) == 4:
        # The DefaultValue form comes with the AWS::LanguageExtensions transform.
        options = arguments[3]
        if not isinstance(options, dict) or "DefaultValue" not in options:
            raise TemplateError("Template error: the fourth value of Fn::FindInMap must be "
                                "{DefaultValue: ...}", path=path)
        default = resolver.resolve(options["DefaultValue"], f"{path}[3].DefaultValue")
    node: Any = resolver.mappings
    for name in names:
        if not isinstance(node, dict) or str(name) not in node:
            if default is not NO_VALUE:
                return default
            raise UnresolvedReferenceError(
                f"Template error: Unable to get mapping for "
                f"{'::'.join(str(part) for part in names)}",
                path=path,
            )
        node = node[str(name)]
    return node


def _fn_import_value(resolver: Resolver, argument: Any, path: str) -> Any:
    name = resolver.resolve(argument, path)
    if resolver.import_value is None:
        raise UnresolvedReferenceError(
            f"No export named {name} found. Load the stack that exports it into the same "
            f"endpoint first.",
            path=path,
        )
    return resolver.import_value(str(name), path)


def _fn_cidr(resolver: Resolver, argument: Any, path: str) -> list[str]:
    block, count, bits = (resolver.resolve(value, path)
                          for value in _expect_list(argument, "Fn::Cidr", 3, path))
    network = ipaddress.ip_network(str(block), strict=False)
    prefix = network.max_prefixlen - int(bits)
    subnets = network.subnets(new_prefix=prefix)
    return [str(next(subnets)) for _ in range(int(count))]


def _fn_if(resolver: Resolver, argument: Any, path: str) -> Any:
    name, when_true, when_false = _expect_list(argument, "Fn::If", 3, path)
    if resolver.condition(str(name), path):
        return resolver.resolve(when_true, f"{path}[1]")
    return resolver.resolve(when_false, f"{path}[2]")


def _fn_equals(resolver: Resolver, argument: Any, path: str) -> bool:
    left, right = (resolver.resolve(value, path)
                   for value in _expect_list(argument, "Fn::Equals", 2, path))
    # CloudFormation compares the string forms: a Number parameter equals "1" and 1.
    if isinstance(left, int | float | bool) or isinstance(right, int | float | bool):
        return bool(_as_string(left, "Fn::Equals", path) == _as_string(right, "Fn::Equals", path))
    return bool(left == right)


def _condition_values(resolver: Resolver, argument: Any, function: str,
                      path: str) -> list[bool]:
    values = _expect_list(argument, function, None, path)
    if function != "Fn::Not" and not 2 <= len(values) <= 10:
        raise TemplateError(f"Template error: {function} takes between 2 and 10 conditions",
                            path=path)
    results = []
    for index, value in enumerate(values):
        result = resolver.resolve(value, f"{path}[{index}]")
        if not isinstance(result, bool):
            raise TemplateError(f"Template error: every value in {function} must be a "
                                f"condition", path=path)
        results.append(result)
    return results


def _fn_and(resolver: Resolver, argument: Any, path: str) -> bool:
    return all(_condition_values(resolver, argument, "Fn::And", path))


def _fn_or(resolver: Resolver, argument: Any, path: str) -> bool:
    return any(_condition_values(resolver, argument, "Fn::Or", path))


def _fn_not(resolver: Resolver, argument: Any, path: str) -> bool:
    values = _condition_values(resolver, argument, "Fn::Not", path)
    if len(values) != 1:
        raise TemplateError("Template error: Fn::Not takes a list of one condition", path=path)
    return not values[0]


def _fn_condition(resolver: Resolver, argument: Any, path: str) -> bool:
    return resolver.condition(str(argument), path)


def _fn_length(resolver: Resolver, argument: Any, path: str) -> int:
    values = resolver.resolve(argument, path)
    if not isinstance(values, list):
        raise TemplateError("Template error: Fn::Length takes a list", path=path)
    return len(values)


def _fn_to_json_string(resolver: Resolver, argument: Any, path: str) -> str:
    return json.dumps(resolver.resolve(argument, path), separators=(",", ":"))


_FUNCTIONS: dict[str, Callable[[Resolver, Any, str], Any]] = {
    "Ref": _fn_ref,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::Base64": _fn_base64,
    "Fn::GetAZs": _fn_get_azs,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::ImportValue": _fn_import_value,
    "Fn::Cidr": _fn_cidr,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Fn::Not": _fn_not,
    "Condition": _fn_condition,
    "Fn::Length": _fn_length,
    "Fn::ToJsonString": _fn_to_json_string,
}


def collect_references(value: Any) -> set[str]:
    """Return the names that ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` mention in ``value``.

    The result includes parameter and pseudo parameter names; callers keep the resource
    names. Both branches of ``Fn::If`` count, as they do for CloudFormation's ordering.
    """
    names: set[str] = set()
    _collect(value, names)
    return names


def _collect(value: Any, names: set[str]) -> None:
    if isinstance(value, dict):
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref" and isinstance(argument, str):
                names.add(argument)
                return
            if key == "Fn::GetAtt":
                if isinstance(argument, str):
                    names.add(argument.partition(".")[0])
                elif isinstance(argument, list) and argument and isinstance(argument[0], str):
                    names.add(argument[0])
                    _collect(argument[1:], names)
                return
            if key == "Fn::Sub":
                template = argument[0] if isinstance(argument, list) else argument
                local = (set(argument[1]) if isinstance(argument, list) and len(argument) > 1
                         and isinstance(argument[1], dict) else set())
                if isinstance(template, str):
                    for match in _SUB_VARIABLE.finditer(template):
                        name = match.group(1).strip()
                        if not name.startswith("!") and name not in local:
                            names.add(name.partition(".")[0] if "::" not in name else name)
                if isinstance(argument, list):
                    _collect(argument[1:], names)
                return
        for item in value.values():
            _collect(item, names)
    elif isinstance(value, list):
        for item in value:
            _collect(item, names)
