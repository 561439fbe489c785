"""Parse and validate IAM policy documents into typed statements.

Sources: the IAM User Guide page for each element, for example
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
Every element that takes a list also takes a single string. A policy without ``Version``
uses ``2008-10-17``, in which policy variables are not replaced.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from windtunnel.iam.conditions import ConditionOperator, parse_operator
from windtunnel.iam.errors import MalformedPolicyError

__all__ = [
    "CURRENT_VERSION",
    "Condition",
    "Effect",
    "Policy",
    "PolicyKind",
    "PrincipalSet",
    "Statement",
    "parse_policy",
]

CURRENT_VERSION = "2012-10-17"
LEGACY_VERSION = "2008-10-17"


class Effect(enum.Enum):
    """The ``Effect`` of a statement."""

    ALLOW = "Allow"
    DENY = "Deny"


class PolicyKind(enum.Enum):
    """Where a policy is attached, which decides the elements it must and may contain."""

    IDENTITY = "identity"
    """Attached to a user, group or role; also permissions boundaries and session policies."""

    RESOURCE = "resource"
    """Attached to a resource: bucket policies, Lambda resource policies, trust policies."""


@dataclass(frozen=True)
class PrincipalSet:
    """The principals a ``Principal`` or ``NotPrincipal`` element names.

    ``everyone`` is true for ``"*"`` and for ``{"AWS": "*"}``. The other fields hold the
    values listed under each principal type.
    """

    everyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    """One operator and key of a ``Condition`` block with the values listed for it."""

    operator: ConditionOperator
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One statement of a policy. ``None`` means the element is absent."""

    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principals: PrincipalSet | None
    not_principals: PrincipalSet | None
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Policy:
    """A parsed policy document."""

    version: str
    statements: tuple[Statement, ...]
    id: str | None = None

    @property
    def supports_variables(self) -> bool:
        """Whether policy variables are replaced, which needs Version 2012-10-17."""
        return self.version == CURRENT_VERSION


def _strings(value: Any, path: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise MalformedPolicyError("must be a string or a non-empty list of strings", path=path)
    for item in items:
        if not isinstance(item, str):
            raise MalformedPolicyError(f"contains {item!r}, which is not a string", path=path)
    return tuple(items)


def _condition_value(value: Any, path: str) -> str:
    # JSON booleans and numbers are accepted and compared in their text form.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise MalformedPolicyError(f"value {value!r} is not a string, number or boolean", path=path)


def _parse_principals(value: Any, path: str) -> PrincipalSet:
    if value == "*":
        return PrincipalSet(everyone=True)
    if not isinstance(value, Mapping) or not value:
        raise MalformedPolicyError('must be "*" or a map such as {"AWS": [...]}', path=path)
    lists: dict[str, tuple[str, ...]] = {}
    for principal_type, names in value.items():
        field = {"AWS": "aws", "Service": "service", "Federated": "federated",
                 "CanonicalUser": "canonical_user"}.get(principal_type)
        if field is None:
            raise MalformedPolicyError(
                f"unknown principal type {principal_type!r}; expected AWS, Service, "
                "Federated or CanonicalUser", path=path)
        lists[field] = _strings(names, f"{path}.{principal_type}")
    everyone = "*" in lists.get("aws", ())
    return PrincipalSet(everyone=everyone, **lists)


def _parse_conditions(value: Any, path: str) -> tuple[Condition, ...]:
    if not isinstance(value, Mapping):
        raise MalformedPolicyError("must be a map of condition operators", path=path)
    conditions: list[Condition] = []
    for operator_name, keys in value.items():
        operator_path = f"{path}.{operator_name}"
        operator = parse_operator(operator_name, path=operator_path)
        if not isinstance(keys, Mapping) or not keys:
            raise MalformedPolicyError("must be a non-empty map of condition keys",
                                       path=operator_path)
        for key, raw in keys.items():
            key_path = f"{operator_path}.{key}"
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise MalformedPolicyError("must list at least one value", path=key_path)
            values = tuple(_condition_value(item, key_path) for item in items)
            conditions.append(Condition(operator, key, values))
    return tuple(conditions)


def _pair(raw: Mapping[str, Any], name: str, negated: str, path: str,
          ) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    if name in raw and negated in raw:
        raise MalformedPolicyError(f"has both {name} and {negated}; use one", path=path)
    positive = _strings(raw[name], f"{path}.{name}") if name in raw else None
    negative = _strings(raw[negated], f"{path}.{negated}") if negated in raw else None
    return positive, negative


def _parse_statement(raw: Any, index: int, kind: PolicyKind, path: str) -> Statement:
    if not isinstance(raw, Mapping):
        raise MalformedPolicyError("must be a JSON object", path=path)
    effect_text = raw.get("Effect")
    if effect_text not in ("Allow", "Deny"):
        raise MalformedPolicyError(f'Effect is {effect_text!r}; expected "Allow" or "Deny"',
                                   path=path)
    actions, not_actions = _pair(raw, "Action", "NotAction", path)
    if actions is None and not_actions is None:
        raise MalformedPolicyError("is missing Action or NotAction", path=path)
    resources, not_resources = _pair(raw, "Resource", "NotResource", path)
    if kind is PolicyKind.IDENTITY and resources is None and not_resources is None:
        raise MalformedPolicyError("is missing Resource or NotResource", path=path)

    if "Principal" in raw and "NotPrincipal" in raw:
        raise MalformedPolicyError("has both Principal and NotPrincipal; use one", path=path)
    principals = not_principals = None
    if "Principal" in raw:
        principals = _parse_principals(raw["Principal"], f"{path}.Principal")
    if "NotPrincipal" in raw:
        not_principals = _parse_principals(raw["NotPrincipal"], f"{path}.NotPrincipal")
    has_principal = principals is not None or not_principals is not None
    if kind is PolicyKind.IDENTITY and has_principal:
        raise MalformedPolicyError(
            "has a Principal or NotPrincipal, which identity-based policies do not allow",
            path=path)
    if kind is PolicyKind.RESOURCE and not has_principal:
        raise MalformedPolicyError("is missing Principal or NotPrincipal", path=path)
    if not_principals is not None and effect_text != "Deny":
        raise MalformedPolicyError(
            'uses NotPrincipal with "Allow"; NotPrincipal is supported only with "Deny"',
            path=path)

    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicyError(f"Sid {sid!r} is not a string", path=path)
    conditions = _parse_conditions(raw.get("Condition", {}), f"{path}.Condition")
    return Statement(index, sid, Effect(effect_text), actions, not_actions, resources,
                     not_resources, principals, not_principals, conditions)


def parse_policy(document: Mapping[str, Any], kind: PolicyKind = PolicyKind.IDENTITY) -> Policy:
    """Parse a policy document, given as decoded JSON, into a :class:`Policy`.

    Raises :class:`MalformedPolicyError` naming the element that is invalid.
    """
    if not isinstance(document, Mapping):
        raise MalformedPolicyError("a policy document must be a JSON object")
    version = document.get("Version", LEGACY_VERSION)
    if version not in (CURRENT_VERSION, LEGACY_VERSION):
        raise MalformedPolicyError(
            f"Version {version!r} is not supported; use {CURRENT_VERSION!r}", path="Version")
    raw_statements = document.get("Statement")
    if raw_statements is None:
        raise MalformedPolicyError("the policy has no Statement", path="Statement")
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise MalformedPolicyError("must be an object or a list of objects", path="Statement")
    statements = tuple(
        _parse_statement(raw, index, kind, f"Statement[{index}]")
        for index, raw in enumerate(raw_statements)
    )
    policy_id = document.get("Id")
    return Policy(version, statements, policy_id if isinstance(policy_id, str) else None)
