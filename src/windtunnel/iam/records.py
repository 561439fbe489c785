"""Records of the authorization decisions made while an application runs.

The embedded cloud records one :class:`DecisionRecord` for every check it makes for a
principal that windtunnel issued credentials to; the least-privilege report reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from windtunnel.iam.evaluation import MatchedStatement, PolicyType, Reason

__all__ = ["DecisionRecord"]


@dataclass(frozen=True)
class DecisionRecord:
    """One authorization decision for one action on one resource."""

    principal: str
    """The caller's ARN (``arn:aws:sts::123456789012:assumed-role/role/session``)."""
    role_arn: str | None
    """The role behind a role session; None for users and service principals."""
    function_name: str | None
    """The Lambda function whose execution role made the call, if any."""
    service: str
    operation: str | None
    action: str
    resource: str
    allowed: bool
    reason: Reason
    enforced: bool
    """False when the decision was only reported (``warn`` mode) and the call went ahead."""
    matched_statements: tuple[MatchedStatement, ...] = ()
    """The statements that allowed or explicitly denied the request."""
    policy_type: PolicyType | None = None
    """For a denial, the kind of policy that denied it or that had no matching Allow."""
