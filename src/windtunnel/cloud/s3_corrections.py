"""Keep moto's own bucket-policy check from denying what S3 allows.

moto checks bucket policies on object requests itself, without their conditions, so a
bucket whose policy denies requests with ``aws:SecureTransport`` false (the policy that
the CDK's ``enforceSSL`` writes) denied every request. windtunnel evaluates bucket policies
with its IAM engine for the principals it checks. moto's check now evaluates the policy
with that engine for an anonymous caller over HTTPS: it still applies a public Allow and
an unconditional Deny, and no longer applies what a condition rules out. Source:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
(managing access based on HTTP or HTTPS requests)
"""

from __future__ import annotations

import json
import logging
from typing import Any

__all__ = ["evaluate_bucket_policies_with_conditions"]

logger = logging.getLogger(__name__)


def evaluate_bucket_policies_with_conditions() -> None:
    """Replace moto's condition-blind bucket-policy check with the IAM engine's."""
    from moto.s3 import models

    original = models.FakeBucket.get_permission
    if getattr(original, "windtunnel_correction", False):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        from moto.iam.access_control import PermissionResult

        from windtunnel.iam.errors import MalformedPolicyError
        from windtunnel.iam.evaluation import Reason, evaluate
        from windtunnel.iam.request import AuthorizationRequest, PrincipalType

        if self.policy is None:
            return PermissionResult.NEUTRAL
        try:
            document = json.loads(self.policy)
            request = AuthorizationRequest(
                principal="*", action=action, resource=resource,
                principal_type=PrincipalType.ANONYMOUS,
                context={"aws:SecureTransport": True})
            decision = evaluate(request, [], resource_policy=document)
        except (ValueError, MalformedPolicyError) as error:
            logger.warning("bucket policy of %s could not be evaluated: %s", self.name, error)
            return PermissionResult.NEUTRAL
        if decision.reason is Reason.EXPLICIT_DENY:
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED if decision.allowed else PermissionResult.NEUTRAL

    get_permission.windtunnel_correction = True  # type: ignore[attr-defined]
    models.FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
