"""JSON forms of decision records and statements, so that report parts can cross processes.

A statement is written as the IAM JSON it was parsed from (``Sid``, ``Effect``, ``Action``,
``Resource``, ``Principal``, ``Condition`` ...) and parsed back with
:func:`~windtunnel.iam.policy.parse_policy`, which restores the same :class:`Statement`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from windtunnel.iam.evaluation import MatchedStatement, PolicyType, Reason
from windtunnel.iam.policy import CURRENT_VERSION, PolicyKind, PrincipalSet, Statement, parse_policy
from windtunnel.iam.records import DecisionRecord

__all__ = ["record_from_json", "record_to_json", "statement_from_json", "statement_to_json"]

_PRINCIPAL_KEYS = (("AWS", "aws"), ("Service", "service"), ("Federated", "federated"),
                   ("CanonicalUser", "canonical_user"))


def _principals_to_json(principals: PrincipalSet) -> Any:
    listed = {key: list(getattr(principals, field)) for key, field in _PRINCIPAL_KEYS
              if getattr(principals, field)}
    if principals.everyone and not listed:
        return "*"
    return listed


def statement_to_json(statement: Statement) -> dict[str, Any]:
    """Write ``statement`` as the IAM JSON element that parses back to it."""
    document: dict[str, Any] = {}
    if statement.sid is not None:
        document["Sid"] = statement.sid
    document["Effect"] = statement.effect.value
    elements = (("Action", statement.actions), ("NotAction", statement.not_actions),
                ("Resource", statement.resources), ("NotResource", statement.not_resources))
    for key, values in elements:
        if values is not None:
            document[key] = list(values)
    if statement.principals is not None:
        document["Principal"] = _principals_to_json(statement.principals)
    if statement.not_principals is not None:
        document["NotPrincipal"] = _principals_to_json(statement.not_principals)
    if statement.conditions:
        block: dict[str, dict[str, list[str]]] = {}
        for condition in statement.conditions:
            block.setdefault(condition.operator.text, {})[condition.key] = list(condition.values)
        document["Condition"] = block
    return document


def statement_from_json(document: Mapping[str, Any], index: int,
                        kind: PolicyKind = PolicyKind.IDENTITY) -> Statement:
    """Parse a statement written by :func:`statement_to_json` and give it back its index.

    Raises :class:`~windtunnel.iam.errors.MalformedPolicyError` for an invalid statement.
    """
    policy = parse_policy({"Version": CURRENT_VERSION, "Statement": [dict(document)]}, kind)
    return dataclasses.replace(policy.statements[0], index=index)


def _matched_to_json(matched: MatchedStatement) -> dict[str, Any]:
    return {
        "policy_type": matched.policy_type.value,
        "policy_index": matched.policy_index,
        "statement_index": matched.statement.index,
        "statement": statement_to_json(matched.statement),
    }


def _matched_from_json(data: Mapping[str, Any]) -> MatchedStatement:
    policy_type = PolicyType(data["policy_type"])
    kind = PolicyKind.RESOURCE if policy_type is PolicyType.RESOURCE else PolicyKind.IDENTITY
    statement = statement_from_json(data["statement"], int(data["statement_index"]), kind)
    return MatchedStatement(policy_type, int(data["policy_index"]), statement)


def record_to_json(record: DecisionRecord) -> dict[str, Any]:
    """Write a decision record as JSON-ready values."""
    return {
        "principal": record.principal,
        "role_arn": record.role_arn,
        "function_name": record.function_name,
        "service": record.service,
        "operation": record.operation,
        "action": record.action,
        "resource": record.resource,
        "allowed": record.allowed,
        "reason": record.reason.value,
        "enforced": record.enforced,
        "matched_statements": [_matched_to_json(m) for m in record.matched_statements],
        "policy_type": record.policy_type.value if record.policy_type else None,
    }


def record_from_json(data: Mapping[str, Any]) -> DecisionRecord:
    """Read a decision record written by :func:`record_to_json`.

    Raises KeyError or ValueError when a field is missing or has an unknown value.
    """
    return DecisionRecord(
        principal=str(data["principal"]),
        role_arn=data["role_arn"],
        function_name=data["function_name"],
        service=str(data["service"]),
        operation=data["operation"],
        action=str(data["action"]),
        resource=str(data["resource"]),
        allowed=bool(data["allowed"]),
        reason=Reason(data["reason"]),
        enforced=bool(data["enforced"]),
        matched_statements=tuple(_matched_from_json(m) for m in data["matched_statements"]),
        policy_type=PolicyType(data["policy_type"]) if data.get("policy_type") else None,
    )
