"""IAM policy evaluation: parse policies and decide whether a request is allowed.

Pure Python with no AWS calls. The service emulations ask :func:`evaluate` before they act.
"""

from __future__ import annotations

from windtunnel.iam.conditions import ConditionOperator, SetQualifier, parse_operator
from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.evaluation import Decision, MatchedStatement, PolicyType, Reason, evaluate
from windtunnel.iam.policy import Effect, Policy, PolicyKind, Statement, parse_policy
from windtunnel.iam.request import AuthorizationRequest, ContextValue, PrincipalType

__all__ = [
    "AuthorizationRequest",
    "ConditionOperator",
    "ContextValue",
    "Decision",
    "Effect",
    "MalformedPolicyError",
    "MatchedStatement",
    "Policy",
    "PolicyKind",
    "PolicyType",
    "PrincipalType",
    "Reason",
    "SetQualifier",
    "Statement",
    "evaluate",
    "parse_operator",
    "parse_policy",
]
