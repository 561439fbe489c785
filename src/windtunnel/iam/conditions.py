"""Condition operators and how a ``Condition`` block is matched against a request.

Sources:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html

The rules, as those pages state them:

- Operators in a block, and keys under one operator, combine with AND.
- Several values for one key combine with OR, but with NOR for a negated operator such as
  ``StringNotEquals``: the request value must match none of them.
- A key missing from the request context makes the condition false, except that it makes a
  negated operator true, an ``...IfExists`` operator true and ``Null: true`` true.
- ``ForAllValues:`` is true when every request value passes, and also when the key is
  missing or empty. ``ForAnyValue:`` needs at least one request value to pass, so a missing
  or empty key makes it false.
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.variables import ContextValues, resolve
from windtunnel.iam.wildcards import Pattern, match_arn, match_pattern

__all__ = [
    "ConditionOperator",
    "SetQualifier",
    "condition_matches",
    "operator_names",
    "parse_operator",
]


class SetQualifier(enum.Enum):
    """The set operator prefix for multivalued context keys."""

    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_EPOCH = re.compile(r"\d+(\.\d+)?")


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text.strip()) else None


def _date(text: str) -> datetime | None:
    """Parse an ISO 8601 date or a POSIX time in seconds; without a zone it is UTC."""
    text = text.strip()
    if _EPOCH.fullmatch(text):
        return datetime.fromtimestamp(float(text), UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _ip_in_network(network_text: str, address_text: str) -> bool:
    try:
        network = ipaddress.ip_network(network_text.strip(), strict=False)
        address = ipaddress.ip_address(address_text.strip())
    except ValueError:
        return False
    return address.version == network.version and address in network


Comparison = Callable[[float, float], bool]
_ORDERINGS: dict[str, Comparison] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _numeric(order: Comparison) -> Callable[[Pattern, str], bool]:
    def compare(policy: Pattern, request: str) -> bool:
        expected, actual = _number(policy.text), _number(request)
        return expected is not None and actual is not None and order(actual, expected)
    return compare


def _dates(order: Comparison) -> Callable[[Pattern, str], bool]:
    def compare(policy: Pattern, request: str) -> bool:
        expected, actual = _date(policy.text), _date(request)
        if expected is None or actual is None:
            return False
        return order(actual.timestamp(), expected.timestamp())
    return compare


def _binary_equals(policy: Pattern, request: str) -> bool:
    expected, actual = _binary(policy.text), _binary(request)
    if expected is None or actual is None:
        return policy.text == request
    return expected == actual


@dataclass(frozen=True)
class _Spec:
    """The comparison behind one base operator, and whether it is negated."""

    compare: Callable[[Pattern, str], bool]
    negated: bool = False
    variables: bool = False  # whether policy variables are replaced in its values


def _string_equals(policy: Pattern, request: str) -> bool:
    return policy.text == request


def _string_equals_ignore_case(policy: Pattern, request: str) -> bool:
    return policy.text.casefold() == request.casefold()


def _string_like(policy: Pattern, request: str) -> bool:
    return match_pattern(policy, request)


def _bool(policy: Pattern, request: str) -> bool:
    return policy.text.lower() == request.lower()


def _ip_address(policy: Pattern, request: str) -> bool:
    return _ip_in_network(policy.text, request)


def _build_specs() -> dict[str, _Spec]:
    specs: dict[str, _Spec] = {
        "StringEquals": _Spec(_string_equals, variables=True),
        "StringNotEquals": _Spec(_string_equals, negated=True, variables=True),
        "StringEqualsIgnoreCase": _Spec(_string_equals_ignore_case, variables=True),
        "StringNotEqualsIgnoreCase": _Spec(_string_equals_ignore_case, negated=True,
                                           variables=True),
        "StringLike": _Spec(_string_like, variables=True),
        "StringNotLike": _Spec(_string_like, negated=True, variables=True),
        "Bool": _Spec(_bool, variables=True),
        "BinaryEquals": _Spec(_binary_equals),
        "IpAddress": _Spec(_ip_address),
        "NotIpAddress": _Spec(_ip_address, negated=True),
        # Both ARN operators accept wildcards in each of the six ARN components.
        "ArnEquals": _Spec(match_arn, variables=True),
        "ArnLike": _Spec(match_arn, variables=True),
        "ArnNotEquals": _Spec(match_arn, negated=True, variables=True),
        "ArnNotLike": _Spec(match_arn, negated=True, variables=True),
    }
    for suffix, order in _ORDERINGS.items():
        specs[f"Numeric{suffix}"] = _Spec(_numeric(order))
        specs[f"Date{suffix}"] = _Spec(_dates(order))
    specs["NumericNotEquals"] = _Spec(_numeric(_ORDERINGS["Equals"]), negated=True)
    specs["DateNotEquals"] = _Spec(_dates(_ORDERINGS["Equals"]), negated=True)
    return specs


_SPECS = _build_specs()
_NULL = "Null"


def operator_names() -> list[str]:
    """List the base operator names, without set prefixes or the IfExists suffix."""
    return sorted([*_SPECS, _NULL])


@dataclass(frozen=True)
class ConditionOperator:
    """A condition operator as written, split into its prefix, base name and suffix."""

    text: str
    base: str
    qualifier: SetQualifier | None = None
    if_exists: bool = False

    @property
    def negated(self) -> bool:
        """Whether the operator matches when the request value matches none of the values."""
        return self.base != _NULL and _SPECS[self.base].negated


def parse_operator(text: str, *, path: str = "") -> ConditionOperator:
    """Parse ``ForAnyValue:StringLikeIfExists`` and the like into a :class:`ConditionOperator`."""
    qualifier: SetQualifier | None = None
    base = text
    if ":" in text:
        prefix, base = text.split(":", 1)
        try:
            qualifier = SetQualifier(prefix)
        except ValueError:
            raise MalformedPolicyError(
                f"unknown set operator {prefix!r}; expected ForAllValues or ForAnyValue",
                path=path) from None
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base.removesuffix("IfExists")
    if (base not in _SPECS and base != _NULL) or (base == _NULL and if_exists):
        raise MalformedPolicyError(
            f"unknown condition operator {text!r}; valid base operators are "
            f"{', '.join(operator_names())}", path=path)
    return ConditionOperator(text, base, qualifier, if_exists)


def _null_matches(values: Sequence[str], present: bool) -> bool:
    # Null with "true" matches a missing key and "false" a present one. Values are OR-ed.
    return any((value.lower() == "true") != present for value in values)


def condition_matches(operator: ConditionOperator, key: str, values: Sequence[str],
                      context: ContextValues, *, variables: bool) -> bool:
    """Return whether one operator and key of a ``Condition`` block hold for a request.

    ``context`` maps lower-cased context keys to their values, because IAM compares
    condition key names case-insensitively. ``variables`` is true when the policy's
    version allows policy variables in the values.
    """
    request_values = list(context.get(key.lower(), ()))
    present = bool(request_values)
    if operator.base == _NULL:
        return _null_matches(values, present)

    spec = _SPECS[operator.base]
    patterns: list[Pattern] = []
    for value in values:
        pattern = resolve(value, context, variables=variables and spec.variables)
        if pattern is None:
            # NOTE: IAM documents only that an unresolved variable "might" make the whole
            # statement invalid; here the condition is false, also for negated operators.
            return False
        patterns.append(pattern)

    if not present:
        if operator.if_exists or operator.qualifier is SetQualifier.FOR_ALL_VALUES:
            return True
        if operator.qualifier is SetQualifier.FOR_ANY_VALUE:
            return False
        return spec.negated

    def matches_any_value(request_value: str) -> bool:
        return any(spec.compare(pattern, request_value) for pattern in patterns)

    def passes(request_value: str) -> bool:
        return matches_any_value(request_value) != spec.negated

    if operator.qualifier is SetQualifier.FOR_ALL_VALUES:
        return all(passes(v) for v in request_values)
    if operator.qualifier is SetQualifier.FOR_ANY_VALUE:
        return any(passes(v) for v in request_values)
    if spec.negated:
        return not any(matches_any_value(v) for v in request_values)
    return any(matches_any_value(v) for v in request_values)
