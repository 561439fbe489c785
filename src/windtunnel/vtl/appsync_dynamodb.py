"""AppSync's ``$util.dynamodb`` and ``$util.transform``: DynamoDB values and expressions.

Sources:
https://docs.aws.amazon.com/appsync/latest/devguide/dynamodb-helpers-in-util-dynamodb.html
and https://docs.aws.amazon.com/appsync/latest/devguide/transformation-helpers-in-utils-transform.html

Limitations:
- A number is written as a JSON number (``{"N": 12345}``), as the AWS examples show;
  AppSync's DynamoDB data source accepts that form.
- ``toDynamoDBFilterExpression`` and ``toDynamoDBConditionExpression`` put parentheses
  around comparisons and around each ``and``/``or`` group. The AWS documentation shows
  one example of each, so the layout of other combinations is not confirmed.
- ``toSubscriptionFilter`` supports the field filters, ``or`` and ``and``; the
  ``(Map, List)`` and ``(Map, List, Map)`` forms drop the listed fields and add the rule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from windtunnel.vtl.appsync_json import to_json
from windtunnel.vtl.methods import JavaException
from windtunnel.vtl.values import JavaObject, MissingMember, is_number, to_java_string

__all__ = ["DynamodbUtil", "TransformUtil", "to_attribute_value"]

logger = logging.getLogger(__name__)


def to_attribute_value(value: object) -> dict[str, object]:
    """Convert a template value to a DynamoDB attribute value, choosing the type."""
    if value is None:
        return {"NULL": None}
    if isinstance(value, bool):
        return {"BOOL": value}
    if is_number(value):
        return {"N": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [to_attribute_value(item) for item in value]}
    if isinstance(value, dict):
        return {"M": _map_values(value)}
    return {"S": to_java_string(value)}


def _map_values(value: dict[object, object]) -> dict[object, object]:
    return {str(key): to_attribute_value(item) for key, item in value.items()}


def _require(kind: str, value: object, check: Callable[[object], bool]) -> None:
    if not check(value):
        raise JavaException("java.lang.IllegalArgumentException",
                            f"expected {kind} but got {to_java_string(value)}")


def _string_set(value: object) -> dict[str, object]:
    _require("a list of strings", value, lambda v: isinstance(v, list) and all(
        isinstance(item, str) for item in v))
    assert isinstance(value, list)
    return {"SS": list(value)}


def _number_set(value: object) -> dict[str, object]:
    _require("a list of numbers", value, lambda v: isinstance(v, list) and all(
        is_number(item) for item in v))
    assert isinstance(value, list)
    return {"NS": list(value)}


def _s3_object(arguments: list[object]) -> dict[str, object]:
    key, bucket, region = (to_java_string(argument) for argument in arguments[:3])
    location: dict[str, object] = {"key": key, "bucket": bucket, "region": region}
    if len(arguments) == 4:
        location["version"] = to_java_string(arguments[3])
    return {"S": json.dumps({"s3": location}, separators=(",", ":"))}


def _from_s3_object(text: object) -> object:
    try:
        document = json.loads(to_java_string(text))
        location = document["s3"]
    except (ValueError, KeyError, TypeError):
        raise JavaException("java.lang.IllegalArgumentException",
                            f"not an S3 object: {to_java_string(text)}") from None
    return dict(location) if isinstance(location, dict) else location


_CONVERTERS: dict[str, Callable[[object], object]] = {
    "toDynamoDB": to_attribute_value,
    "toString": lambda value: {"S": to_java_string(value)},
    "toStringSet": _string_set,
    "toNumber": lambda value: {"N": value},
    "toNumberSet": _number_set,
    "toBinary": lambda value: {"B": to_java_string(value)},
    "toBinarySet": lambda value: {"BS": [to_java_string(item) for item in value]}
    if isinstance(value, list) else {"BS": [to_java_string(value)]},
    "toBoolean": lambda value: {"BOOL": value},
    "toList": lambda value: {"L": [to_attribute_value(item) for item in value]}
    if isinstance(value, list) else to_attribute_value(value),
    "toMap": lambda value: {"M": _map_values(value)}
    if isinstance(value, dict) else to_attribute_value(value),
    "toMapValues": lambda value: _map_values(value)
    if isinstance(value, dict) else to_attribute_value(value),
}


class DynamodbUtil(JavaObject):
    """``$util.dynamodb``: values in DynamoDB's typed JSON format."""

    java_class_name = "com.amazonaws.deepdish.transform.util.DynamodbUtils"

    def call(self, name: str, arguments: list[object]) -> object:
        if name in ("toNull", "toNullJson") and not arguments:
            result: object = {"NULL": None}
        elif name in ("toS3Object", "toS3ObjectJson") and len(arguments) in (3, 4):
            result = _s3_object(arguments)
        elif name == "fromS3ObjectJson" and len(arguments) == 1:
            return _from_s3_object(arguments[0])
        else:
            base = name.removesuffix("Json")
            converter = _CONVERTERS.get(base)
            if converter is None or len(arguments) != 1:
                raise MissingMember(name)
            result = converter(arguments[0])
        return to_json(result) if name.endswith("Json") else result


# --- $util.transform ----------------------------------------------------------

_COMPARISONS = {"eq": "=", "ne": "<>", "le": "<=", "lt": "<", "ge": ">=", "gt": ">"}


class _Expression:
    """An expression being built, with its attribute names and values."""

    def __init__(self) -> None:
        self.names: dict[str, object] = {}
        self.values: dict[str, object] = {}

    def name(self, field: str) -> str:
        placeholder = f"#{field}"
        self.names[placeholder] = field
        return placeholder

    def value(self, placeholder: str, value: object) -> str:
        self.values[placeholder] = to_attribute_value(value)
        return placeholder

    def condition(self, field: str, operator: str, operand: object) -> str:
        name = self.name(field)
        if operator in _COMPARISONS:
            value = self.value(f":{field}_{operator}", operand)
            return f"({name} {_COMPARISONS[operator]} {value})"
        if operator == "contains":
            return f"contains({name}, {self.value(f':{field}_contains', operand)})"
        if operator == "notContains":
            return f"(NOT contains({name}, {self.value(f':{field}_notContains', operand)}))"
        if operator == "beginsWith":
            return f"begins_with({name}, {self.value(f':{field}_beginsWith', operand)})"
        if operator == "between":
            if not (isinstance(operand, list) and len(operand) == 2):
                raise JavaException("java.lang.IllegalArgumentException",
                                    f"between needs a list of two values for {field}")
            low = self.value(f":{field}_between_0", operand[0])
            high = self.value(f":{field}_between_1", operand[1])
            return f"({name} BETWEEN {low} AND {high})"
        if operator == "attributeExists":
            function = "attribute_exists" if operand is True else "attribute_not_exists"
            return f"{function}({name})"
        if operator == "attributeType":
            return f"attribute_type({name}, {self.value(f':{field}_attributeType', operand)})"
        raise JavaException("java.lang.IllegalArgumentException",
                            f"unsupported operator '{operator}' for {field}")

    def group(self, filters: object) -> str:
        """Build the expression of a map of filters, joined with AND."""
        if not isinstance(filters, dict):
            raise JavaException("java.lang.IllegalArgumentException",
                                f"expected a map of filters but got {to_java_string(filters)}")
        parts: list[str] = []
        for key, operand in filters.items():
            field = str(key)
            if field in ("and", "or"):
                if not isinstance(operand, list):
                    raise JavaException("java.lang.IllegalArgumentException",
                                        f"'{field}' needs a list of filters")
                joined = f" {field.upper()} ".join(self.group(item) for item in operand)
                parts.append(f"({joined})")
            elif field == "not":
                parts.append(f"(NOT {self.group(operand)})")
            elif isinstance(operand, dict):
                parts.extend(self.condition(field, str(operator), value)
                             for operator, value in operand.items())
            else:
                raise JavaException("java.lang.IllegalArgumentException",
                                    f"expected a map of operators for {field}")
        if len(parts) == 1:
            return parts[0]
        return "(" + " AND ".join(parts) + ")"

    def render(self, filters: object) -> str:
        expression = self.group(filters)
        document: dict[str, object] = {"expression": expression,
                                       "expressionNames": self.names}
        if self.values:
            document["expressionValues"] = self.values
        return to_json(document)


_SUBSCRIPTION_OPERATORS = frozenset({
    "eq", "ne", "le", "lt", "ge", "gt", "contains", "notContains", "beginsWith", "in",
    "notIn", "between", "containsAny",
})


def _subscription_filters(filters: object, excluded: set[str]) -> list[list[object]]:
    """Return the filter groups (alternatives) of a subscription filter map."""
    if not isinstance(filters, dict):
        raise JavaException("java.lang.IllegalArgumentException",
                            f"expected a map of filters but got {to_java_string(filters)}")
    groups: list[list[object]] = [[]]
    for key, operand in filters.items():
        field = str(key)
        if field == "or" and isinstance(operand, list):
            alternatives = [group for item in operand
                            for group in _subscription_filters(item, excluded)]
            groups = [base + alternative for base in groups for alternative in alternatives]
        elif field == "and" and isinstance(operand, list):
            for item in operand:
                groups = [base + extra for base in groups
                          for extra in _subscription_filters(item, excluded)]
        elif field in excluded:
            continue
        elif isinstance(operand, dict):
            for operator, value in operand.items():
                if operator not in _SUBSCRIPTION_OPERATORS:
                    raise JavaException("java.lang.IllegalArgumentException",
                                        f"unsupported subscription filter operator "
                                        f"'{operator}' for {field}")
                for group in groups:
                    group.append({"fieldName": field, "operator": operator, "value": value})
        else:
            raise JavaException("java.lang.IllegalArgumentException",
                                f"expected a map of operators for {field}")
    return groups


def _subscription_filter(arguments: list[object]) -> object:
    excluded = {str(item) for item in arguments[1]} if (
        len(arguments) > 1 and isinstance(arguments[1], list)) else set()
    groups = _subscription_filters(arguments[0], excluded)
    if len(arguments) == 3:
        groups = [group + extra for group in groups
                  for extra in _subscription_filters(arguments[2], set())]
    return {"filterGroup": [{"filters": group} for group in groups if group]}


class TransformUtil(JavaObject):
    """``$util.transform``: filter, condition and subscription filter expressions."""

    java_class_name = "com.amazonaws.deepdish.transform.util.TransformUtils"

    def call(self, name: str, arguments: list[object]) -> object:
        if name in ("toDynamoDBFilterExpression", "toDynamoDBConditionExpression") and len(
                arguments) == 1:
            return _Expression().render(arguments[0])
        if name == "toElasticsearchQueryDSL" or name == "toOpenSearchQueryDSL":
            raise JavaException("java.lang.UnsupportedOperationException",
                                f"$util.transform.{name} is not supported by the emulation")
        if name == "toSubscriptionFilter" and 1 <= len(arguments) <= 3:
            return _subscription_filter(arguments)
        raise MissingMember(name)
