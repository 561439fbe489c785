"""The result type of the operation table: one action on one resource, with its context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from windtunnel.iam.request import ContextValue

__all__ = ["AccessCheck"]


@dataclass(frozen=True)
class AccessCheck:
    """One authorization check: an action on a resource, with its request context.

    ``action`` is written as IAM names it (``dynamodb:PutItem``, ``lambda:InvokeFunction``).
    ``resource`` is the resource's ARN, or ``"*"`` for actions that take no resource.
    ``context`` holds the service-specific condition keys of the request
    (``dynamodb:LeadingKeys``, ``s3:prefix``, ``events:source`` ...); the global keys
    (``aws:SecureTransport``, ``aws:CurrentTime`` ...) are added by the caller.
    """

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
