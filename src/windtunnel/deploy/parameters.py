"""Resolve template parameters: defaults, overrides, SSM-backed types and constraints.

Types and constraints follow
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from windtunnel.errors import ParameterError

__all__ = ["resolve_parameters"]

_SSM_VALUE_TYPE = re.compile(r"^AWS::SSM::Parameter::Value<(.+)>$")


def resolve_parameters(
    declarations: Mapping[str, Any],
    values: Mapping[str, str],
    *,
    ssm_lookup: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """Return the value of every declared parameter, checked against its constraints.

    ``values`` contains overrides by parameter name. ``ssm_lookup`` reads a parameter from the
    local parameter store, for the ``AWS::SSM::Parameter::Value<...>`` types.
    """
    unknown = sorted(set(values) - set(declarations))
    if unknown:
        raise ParameterError(
            f"Parameters: [{', '.join(unknown)}] do not exist in the template",
            path="Parameters",
        )

    missing = [name for name, declaration in declarations.items()
               if name not in values and "Default" not in (declaration or {})]
    if missing:
        raise ParameterError(
            f"Parameters: [{', '.join(missing)}] must have values. Pass each one with "
            f"--param NAME=VALUE (or params={{...}} in Python), or give it a Default.",
            path="Parameters",
        )

    resolved: dict[str, Any] = {}
    for name, declaration in declarations.items():
        declaration = declaration or {}
        raw = values[name] if name in values else declaration["Default"]
        resolved[name] = _typed_value(name, declaration, _as_text(raw), ssm_lookup)
    return resolved


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _typed_value(name: str, declaration: Mapping[str, Any], raw: str,
                 ssm_lookup: Callable[[str], str | None] | None) -> Any:
    parameter_type = str(declaration.get("Type", "String"))
    path = f"Parameters.{name}"

    ssm_type = _SSM_VALUE_TYPE.match(parameter_type)
    if ssm_type:
        stored = ssm_lookup(raw) if ssm_lookup is not None else None
        if stored is None:
            raise ParameterError(
                f"Parameter {name} reads the SSM parameter {raw!r}, which does not exist. "
                f"Create it in the local parameter store or pass --param {name}=VALUE.",
                path=path,
            )
        value_type = ssm_type.group(1)
        if value_type.startswith("List<") or value_type == "CommaDelimitedList":
            return [item.strip() for item in stored.split(",")]
        return stored

    if parameter_type == "Number":
        _check_number(name, raw, declaration, path)
        _check_allowed(name, raw, declaration, path)
        return raw
    if parameter_type == "List<Number>" or parameter_type == "CommaDelimitedList" or \
            parameter_type.startswith("List<"):
        items = [item.strip() for item in raw.split(",")] if raw else []
        for item in items:
            if parameter_type == "List<Number>":
                _check_number(name, item, declaration, path)
            _check_allowed(name, item, declaration, path)
        return items

    _check_string(name, raw, declaration, path)
    _check_allowed(name, raw, declaration, path)
    return raw


def _check_allowed(name: str, value: str, declaration: Mapping[str, Any], path: str) -> None:
    allowed = declaration.get("AllowedValues")
    if allowed is not None and value not in [_as_text(item) for item in allowed]:
        raise ParameterError(f"Parameter '{name}' must be one of AllowedValues", path=path)


def _check_string(name: str, value: str, declaration: Mapping[str, Any], path: str) -> None:
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise ParameterError(f"Parameter '{name}' must match pattern {pattern}", path=path)
    if "MinLength" in declaration and len(value) < int(declaration["MinLength"]):
        raise ParameterError(
            f"Parameter '{name}' must contain at least {declaration['MinLength']} characters",
            path=path,
        )
    if "MaxLength" in declaration and len(value) > int(declaration["MaxLength"]):
        raise ParameterError(
            f"Parameter '{name}' must contain at most {declaration['MaxLength']} characters",
            path=path,
        )


def _check_number(name: str, value: str, declaration: Mapping[str, Any], path: str) -> None:
    try:
        number = float(value)
    except ValueError:
        raise ParameterError(f"Parameter '{name}' must be a number", path=path) from None
    if "MinValue" in declaration and number < float(declaration["MinValue"]):
        raise ParameterError(
            f"Parameter '{name}' must be a number not less than {declaration['MinValue']}",
            path=path,
        )
    if "MaxValue" in declaration and number > float(declaration["MaxValue"]):
        raise ParameterError(
            f"Parameter '{name}' must be a number not greater than {declaration['MaxValue']}",
            path=path,
        )
