"""SNS subscription filter policies: validation with SNS's errors, and matching for both scopes.

A filter policy uses the EventBridge pattern language, which windtunnel's pattern engine
(``windtunnel.services.events.patterns``) validates and matches. SNS adds its own rules on
top, from https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
and https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html:

- ``FilterPolicyScope`` is ``MessageAttributes`` (the default) or ``MessageBody``. Only the
  body scope accepts nested policies.
- A policy has at most 5 keys, and the product of the number of values in its arrays (each
  multiplied by its nesting depth in the body scope) is at most 150.
- SNS has no ``wildcard`` operator, and ``anything-but`` takes values or ``prefix`` only.
- Attribute scope compares ``String``, ``String.Array`` and ``Number`` attributes. A
  ``Number`` attribute is compared as a number, the elements of a ``String.Array`` as the JSON
  values they are, and a ``Binary`` attribute counts as absent.

Limitations:

- AWS appends Jackson's location (``\\n at [Source: ...; line: 1, column: N]``) to the
  messages of policies that do not parse, and these messages end before it.
- A policy that is not JSON gets a message of this module's own, not Jackson's text, and
  so does a policy above the documented 256 KB limit, whose AWS wording is unverified.
- Numbers outside -1e9..1e9, or with more than 5 decimal places, are not rejected or rounded.
- The quota of 200 filter policies per topic is not enforced.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from windtunnel.services.events.patterns import (
    InvalidEventPatternError,
    Pattern,
    compile_pattern,
)

__all__ = [
    "ATTRIBUTES_SCOPE",
    "BODY_SCOPE",
    "FilterPolicy",
    "InvalidFilterPolicyError",
    "compile_filter_policy",
    "validate_filter_policy_scope",
]

logger = logging.getLogger(__name__)

ATTRIBUTES_SCOPE = "MessageAttributes"
BODY_SCOPE = "MessageBody"
_SCOPES = (ATTRIBUTES_SCOPE, BODY_SCOPE)

MAX_KEYS = 5
MAX_COMBINATIONS = 150
# The maximum size of a filter policy, 256 KB.
MAX_POLICY_BYTES = 256 * 1024

# anything-but forms that EventBridge accepts and SNS does not: the SNS guide documents
# anything-but with values and with prefix only.
_UNSUPPORTED_ANYTHING_BUT = ("suffix", "wildcard", "equals-ignore-case")


class InvalidFilterPolicyError(ValueError):
    """A filter policy or scope that SNS rejects with ``InvalidParameter`` (HTTP 400).

    ``reason`` is the text after ``FilterPolicy:``, or the whole text after ``Invalid
    parameter:`` when ``about_policy`` is False. :meth:`message` renders what AWS returns,
    which differs between Subscribe and SetSubscriptionAttributes.
    """

    code = "InvalidParameter"

    def __init__(self, reason: str, *, about_policy: bool = True) -> None:
        self.reason = reason
        self.about_policy = about_policy
        super().__init__(self.message(subscribe=False))

    def message(self, *, subscribe: bool) -> str:
        """Render the message of Subscribe (``subscribe``) or SetSubscriptionAttributes.

        Recorded from AWS: Subscribe returns ``Invalid parameter: Attributes Reason:
        FilterPolicy: <reason>`` and SetSubscriptionAttributes ``Invalid parameter:
        FilterPolicy: <reason>``.
        """
        if not self.about_policy:
            return f"Invalid parameter: {self.reason}"
        if subscribe:
            return f"Invalid parameter: Attributes Reason: FilterPolicy: {self.reason}"
        return f"Invalid parameter: FilterPolicy: {self.reason}"


def validate_filter_policy_scope(scope: str) -> str:
    """Return ``scope`` when SNS accepts it as ``FilterPolicyScope``, else raise."""
    if scope not in _SCOPES:
        raise InvalidFilterPolicyError(
            f"FilterPolicyScope: Invalid value [{scope}]. Please use either "
            f"{BODY_SCOPE} or {ATTRIBUTES_SCOPE}", about_policy=False)
    return scope


@dataclass(frozen=True)
class FilterPolicy:
    """A validated filter policy of one subscription, for one scope."""

    source: str
    scope: str
    pattern: Pattern | None
    """None for the empty policy ``{}``, which every message matches."""

    def matches(self, message_attributes: Mapping[str, Any] | None, message: str) -> bool:
        """Return whether SNS delivers the message to the subscription.

        ``message_attributes`` are moto's: ``{name: {"Type": ..., "Value": ...}}``.
        """
        if self.pattern is None:
            return True
        if self.scope == BODY_SCOPE:
            body = _json_object(message)
            return body is not None and self.pattern.matches(body)
        return self.pattern.matches(attribute_values(message_attributes or {}))


def compile_filter_policy(text: str, scope: str | None = None) -> FilterPolicy:
    """Validate a filter policy as SNS does and compile it for ``scope``.

    ``scope`` None is the default, ``MessageAttributes``. Raises InvalidFilterPolicyError.
    """
    scope = validate_filter_policy_scope(scope or ATTRIBUTES_SCOPE)
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise InvalidFilterPolicyError("Filter policy is too large")
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise InvalidFilterPolicyError(f"Filter policy is not valid JSON: {error.msg}") \
            from None
    if document == {}:
        # NOTE: that SNS accepts "{}" as a policy that matches every message is unverified.
        return FilterPolicy(text, scope, None)

    try:
        pattern = compile_pattern(text, max_length=MAX_POLICY_BYTES)
    except InvalidEventPatternError as error:
        raise InvalidFilterPolicyError(error.reason) from None

    # The pattern engine accepted the policy, so every object contains objects or arrays.
    _check_operators(document)
    if scope == ATTRIBUTES_SCOPE and _is_nested(document):
        raise InvalidFilterPolicyError(
            "Filter policy scope MessageAttributes does not support nested filter policy",
            about_policy=False)
    branches = _expand_branches(document, ())
    if max(_key_count(branch) for branch in branches) > MAX_KEYS:
        raise InvalidFilterPolicyError(f"Filter policy can not have more than {MAX_KEYS} keys")
    if sum(_combinations(branch) for branch in branches) > MAX_COMBINATIONS:
        raise InvalidFilterPolicyError("Filter policy is too complex")
    return FilterPolicy(text, scope, pattern)


def _check_operators(node: Mapping[str, Any]) -> None:
    """Reject the EventBridge operators that SNS lacks."""
    for key, value in node.items():
        if key == "$or":
            for branch in value:
                _check_operators(branch)
        elif isinstance(value, dict):
            _check_operators(value)
        else:
            for item in value:
                if isinstance(item, dict):
                    _check_match_expression(item)


def _check_match_expression(expression: Mapping[str, Any]) -> None:
    name, value = next(iter(expression.items()))
    if name == "wildcard":
        # NOTE: the message assumes SNS treats wildcard as an unknown operator, as ruler
        # does for any name it does not know.
        raise InvalidFilterPolicyError("Unrecognized match type wildcard")
    if name == "anything-but" and isinstance(value, dict):
        form = next(iter(value))
        if form in _UNSUPPORTED_ANYTHING_BUT:
            raise InvalidFilterPolicyError(f"Unsupported anything-but pattern: {form}")


def _is_nested(node: Mapping[str, Any]) -> bool:
    for key, value in node.items():
        if key == "$or":
            if any(_is_nested(branch) for branch in value):
                return True
        elif isinstance(value, dict):
            return True
    return False


# One branch of a policy after "$or" expansion: key path -> number of values in its array.
_Branch = dict[tuple[str, ...], int]


def _expand_branches(node: Mapping[str, Any], path: tuple[str, ...]) -> list[_Branch]:
    branches: list[_Branch] = [{}]
    for key, value in node.items():
        if key == "$or":
            alternatives = [branch for item in value for branch in _expand_branches(item, path)]
        elif isinstance(value, dict):
            alternatives = _expand_branches(value, (*path, key))
        else:
            alternatives = [{(*path, key): len(value)}]
        branches = [{**branch, **alternative} for branch in branches
                    for alternative in alternatives]
    return branches


def _key_count(branch: _Branch) -> int:
    # For a nested policy SNS counts the top-level keys only.
    return len({path[0] for path in branch})


def _combinations(branch: _Branch) -> int:
    """Multiply the number of values of each array by its nesting depth, as SNS counts.

    The SNS guide's example: four values at depth three and three values at depth two give
    ``3 x 4 x 2 x 3 = 72``.
    """
    total = 1
    for path, count in branch.items():
        total *= count * len(path)
    # NOTE: that the branches of "$or" add up rather than multiply is unverified.
    return total


def attribute_values(message_attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Turn message attributes into the values a policy in attribute scope compares.

    ``String`` stays a string, ``Number`` becomes a number and ``String.Array`` the JSON array
    it contains. ``Binary`` attributes are left out, as SNS does not compare them.
    """
    values: dict[str, Any] = {}
    for name, attribute in message_attributes.items():
        data_type = str(attribute.get("Type", ""))
        value = attribute.get("Value")
        base_type = data_type.split(".", 1)[0]
        if data_type == "String.Array":
            array = _json_value(value)
            if isinstance(array, list):
                values[name] = array
            else:
                logger.debug("attribute %s is not a JSON array, so no policy compares it", name)
        elif base_type == "Number":
            number = _number(value)
            if number is not None:
                values[name] = number
        elif base_type == "String":
            values[name] = str(value)
    return values


def _number(value: Any) -> int | float | None:
    """Parse a ``Number`` attribute into the JSON number the pattern engine compares."""
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _json_value(text: Any) -> Any:
    try:
        return json.loads(str(text))
    except json.JSONDecodeError:
        return None


def _json_object(text: str) -> dict[str, Any] | None:
    """Parse a message body. A body that is not a JSON object matches no body policy."""
    value = _json_value(text)
    return value if isinstance(value, dict) else None
