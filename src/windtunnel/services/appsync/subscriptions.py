"""Subscriptions of GraphQL APIs: who listens to which mutation, and what each receives.

A subscription field lists the mutations that trigger it with
``@aws_subscribe(mutations: [...])``. When one of those mutations succeeds, each
subscription of that field receives the mutation's result (the fields the mutation
selected), if the result passes the subscription's filters:

- argument filters: each argument the subscription gave (not null) must equal the field
  of the same name in the result;
- enhanced filters, set by the subscription's resolver with
  ``$extensions.setSubscriptionFilter`` or ``extensions.setSubscriptionFilter``: one of
  the ``filterGroup`` entries must hold, and a group holds when all its ``filters`` do.

The subscriber's own selection set is then applied to the result; a field the mutation
did not select is null. Sources:
https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-data.html
(``@aws_subscribe``, argument filtering, the mutation's selection set),
https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-enhanced-filtering.html
(filter groups, operators) and
https://docs.aws.amazon.com/appsync/latest/devguide/extensions.html (``$extensions``).

Limitations:
- Subscription invalidation (``invalidateSubscriptions``,
  ``setSubscriptionInvalidationFilter``) is not emulated; a resolver that calls them fails
  with an error that names them.
- Argument filters and enhanced filters both apply when a resolver sets a filter.
  NOTE: AWS does not say whether a subscription's arguments still filter once its
  resolver sets an enhanced filter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLResolveInfo,
    GraphQLSchema,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    execute_sync,
)
from graphql.language import FieldNode

__all__ = ["Subscription", "SubscriptionHub", "filter_matches", "subscribed_fields",
           "top_level_fields"]

logger = logging.getLogger(__name__)

# The enhanced filter operators, from the enhanced filtering page named above.
FILTER_OPERATORS = frozenset({
    "eq", "ne", "le", "lt", "ge", "gt", "contains", "notContains", "beginsWith", "in",
    "notIn", "between", "containsAny",
})


@dataclass
class Subscription:
    """One started subscription: its field, the filters, and where its data goes."""

    subscription_id: str
    api_id: str
    field_name: str
    arguments: dict[str, Any]
    filter: Mapping[str, Any] | None
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]
    schema: GraphQLSchema
    deliver: Callable[[dict[str, Any]], bool]
    """Sends one ``data`` payload to the subscriber; returns False once it is gone."""
    owner: object = field(default=None, compare=False)
    """The connection that started the subscription."""


def subscribed_fields(schema: GraphQLSchema, mutation_field: str) -> list[str]:
    """Return the subscription fields whose ``@aws_subscribe`` lists ``mutation_field``."""
    subscription_type = schema.subscription_type
    if subscription_type is None:
        return []
    names = []
    for name, definition in subscription_type.fields.items():
        node = definition.ast_node
        for directive in (node.directives if node is not None else ()) or ():
            if directive.name.value != "aws_subscribe":
                continue
            for argument in directive.arguments:
                if argument.name.value != "mutations":
                    continue
                value = argument.value
                listed = value.values if isinstance(value, ListValueNode) else [value]
                if any(isinstance(item, StringValueNode) and item.value == mutation_field
                       for item in listed):
                    names.append(name)
    return names


def top_level_fields(document: DocumentNode,
                     operation_name: str | None) -> tuple[OperationType, list[FieldNode]]:
    """Return the operation's type and its top-level fields (direct selections only)."""
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else None
        if operation_name is None or name == operation_name:
            fields = [selection for selection in definition.selection_set.selections
                      if isinstance(selection, FieldNode)]
            return definition.operation, fields
    return OperationType.QUERY, []


class SubscriptionHub:
    """The subscriptions of every API in one cloud, and their delivery."""

    def __init__(self) -> None:
        self._subscriptions: dict[tuple[str, str], list[Subscription]] = {}
        self._lock = threading.Lock()

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            key = (subscription.api_id, subscription.field_name)
            self._subscriptions.setdefault(key, []).append(subscription)

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            listed = self._subscriptions.get((subscription.api_id, subscription.field_name))
            if listed is not None and subscription in listed:
                listed.remove(subscription)

    def count(self, api_id: str) -> int:
        """Return how many subscriptions of ``api_id`` are active."""
        with self._lock:
            return sum(len(listed) for (api, _), listed in self._subscriptions.items()
                       if api == api_id)

    def publish(self, api_id: str, schema: GraphQLSchema, mutation_field: str,
                result: object) -> int:
        """Deliver a mutation's result to the matching subscriptions; return how many."""
        if not isinstance(result, Mapping):
            # A mutation that returned null (or failed) triggers nothing.
            return 0
        delivered = 0
        for field_name in subscribed_fields(schema, mutation_field):
            with self._lock:
                candidates = list(self._subscriptions.get((api_id, field_name), ()))
            for subscription in candidates:
                if not _arguments_match(subscription.arguments, result):
                    continue
                if subscription.filter is not None and not filter_matches(
                        subscription.filter, result):
                    continue
                payload = _project(subscription, result)
                if subscription.deliver(payload):
                    delivered += 1
                else:
                    self.remove(subscription)
        return delivered


def _arguments_match(arguments: Mapping[str, Any], result: Mapping[str, Any]) -> bool:
    return all(result.get(name) == value for name, value in arguments.items()
               if value is not None)


def _project(subscription: Subscription, result: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the subscriber's selection set to the mutation's result."""

    def read(source: object, info: GraphQLResolveInfo[Any], **_: Any) -> object:
        if isinstance(source, Mapping):
            return source.get(info.field_name)
        return None

    outcome = execute_sync(subscription.schema, subscription.document,
                           root_value={subscription.field_name: dict(result)},
                           variable_values=subscription.variables,
                           operation_name=subscription.operation_name,
                           field_resolver=read)
    payload: dict[str, Any] = {"data": outcome.data}
    if outcome.errors:
        payload["errors"] = [{"message": error.message, "path": error.path}
                             for error in outcome.errors]
    return payload


# --- enhanced filters ------------------------------------------------------------------


def filter_matches(subscription_filter: Mapping[str, Any], value: Mapping[str, Any]) -> bool:
    """Return whether a mutation result passes a ``filterGroup`` filter."""
    groups = subscription_filter.get("filterGroup") or []
    return any(all(_condition_holds(condition, value)
                   for condition in group.get("filters") or [])
               for group in groups if isinstance(group, Mapping))


def check_filter(subscription_filter: object) -> str | None:
    """Return what is wrong with a filter set by a resolver, or None when it is valid."""
    if not isinstance(subscription_filter, Mapping) or not isinstance(
            subscription_filter.get("filterGroup"), list):
        return "A subscription filter must be a map with a filterGroup list."
    for group in subscription_filter["filterGroup"]:
        if not isinstance(group, Mapping) or not isinstance(group.get("filters"), list):
            return "Each filter group must be a map with a filters list."
        for condition in group["filters"]:
            if not isinstance(condition, Mapping) or "fieldName" not in condition:
                return "Each filter must name a fieldName."
            if condition.get("operator") not in FILTER_OPERATORS:
                return (f"The filter operator {condition.get('operator')!r} is not "
                        f"supported; use one of {', '.join(sorted(FILTER_OPERATORS))}.")
    return None


def _field_value(value: Mapping[str, Any], path: str) -> object:
    current: object = value
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def _condition_holds(condition: Mapping[str, Any], value: Mapping[str, Any]) -> bool:
    # NOTE: contains on strings (substring) and on lists (member), between with both ends
    # included, and containsAny on list fields are not checked against AppSync responses.
    actual = _field_value(value, str(condition.get("fieldName")))
    operator = condition.get("operator")
    expected = condition.get("value")
    if operator == "eq":
        return bool(actual == expected)
    if operator == "ne":
        return bool(actual != expected)
    if operator in ("le", "lt", "ge", "gt"):
        return _compare(actual, expected, str(operator))
    if operator in ("contains", "notContains"):
        contained = _contains(actual, expected)
        return contained if operator == "contains" else not contained
    if operator == "beginsWith":
        return isinstance(actual, str) and isinstance(expected, str) and \
            actual.startswith(expected)
    if operator in ("in", "notIn"):
        member = isinstance(expected, list) and actual in expected
        return member if operator == "in" else not member
    if operator == "between":
        return (isinstance(expected, list) and len(expected) == 2
                and _compare(actual, expected[0], "ge") and _compare(actual, expected[1], "le"))
    if operator == "containsAny":
        return isinstance(actual, list) and isinstance(expected, list) and \
            any(item in actual for item in expected)
    return False


def _compare(actual: object, expected: object, operator: str) -> bool:
    numbers = (int, float)
    comparable = ((isinstance(actual, numbers) and isinstance(expected, numbers)
                   and not isinstance(actual, bool) and not isinstance(expected, bool))
                  or (isinstance(actual, str) and isinstance(expected, str)))
    if not comparable:
        return False
    left: Any = actual
    right: Any = expected
    if operator == "le":
        return bool(left <= right)
    if operator == "lt":
        return bool(left < right)
    if operator == "ge":
        return bool(left >= right)
    return bool(left > right)


def _contains(actual: object, expected: object) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, list):
        return expected in actual
    return False
