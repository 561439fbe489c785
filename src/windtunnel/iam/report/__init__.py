"""The least-privilege report: what each function's role was granted, used and denied.

:func:`build_report` takes the authorization decisions recorded while the tests ran and
the roles with their policies. The :class:`IamReport` it returns lists per function the
calls allowed and denied, the grants that are broad or were never used, and a suggested
policy in the application's template syntax.
"""

from __future__ import annotations

from windtunnel.iam.report.analysis import (
    LAMBDA_SERVICE_ACTIONS,
    DeniedCall,
    GrantUse,
    PrincipalKind,
    PrincipalUsage,
    UsedPermission,
)
from windtunnel.iam.report.inputs import NamedPolicy, PolicyAttachment, RoleGrants
from windtunnel.iam.report.model import IamReport, build_report
from windtunnel.iam.report.suggestion import SuggestedPolicy

__all__ = [
    "LAMBDA_SERVICE_ACTIONS",
    "DeniedCall",
    "GrantUse",
    "IamReport",
    "NamedPolicy",
    "PolicyAttachment",
    "PrincipalKind",
    "PrincipalUsage",
    "RoleGrants",
    "SuggestedPolicy",
    "UsedPermission",
    "build_report",
]
