"""The authorization request: principal, action, resource and request context."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from windtunnel.iam.wildcards import arn_components

__all__ = ["AuthorizationRequest", "ContextValue", "PrincipalType"]

ContextValue = str | bool | int | float | datetime | Sequence[str]
"""A context key's value: one value, or a list for multivalued keys such as aws:TagKeys."""


class PrincipalType(enum.Enum):
    """The kind of principal making a request; values are those of ``aws:PrincipalType``."""

    ROOT = "Account"
    USER = "User"
    ROLE_SESSION = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    ANONYMOUS = "Anonymous"
    SERVICE = "Service"
    """An AWS service principal such as ``sns.amazonaws.com``; not an aws:PrincipalType value."""


def _principal_type(principal: str) -> PrincipalType:
    if principal in ("*", "anonymous"):
        return PrincipalType.ANONYMOUS
    components = arn_components(principal)
    if components is None:
        if principal.endswith((".amazonaws.com", ".amazonaws.com.cn")):
            return PrincipalType.SERVICE
        raise ValueError(
            f"invalid principal {principal!r}: expected an IAM user, root or sts "
            "assumed-role ARN, a service principal such as 'sns.amazonaws.com', or '*'")
    service, resource = components[2], components[5]
    if service == "iam" and resource == "root":
        return PrincipalType.ROOT
    if service == "iam" and resource.startswith("user/"):
        return PrincipalType.USER
    if service == "sts" and resource.startswith("assumed-role/"):
        return PrincipalType.ROLE_SESSION
    if service == "sts" and resource.startswith("federated-user/"):
        return PrincipalType.FEDERATED_USER
    raise ValueError(
        f"invalid principal {principal!r}: requests come from users, role sessions "
        "(arn:aws:sts::<account>:assumed-role/<role>/<session>), federated users or root")


def _context_strings(value: ContextValue) -> list[str]:
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return [moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
    if isinstance(value, int | float | str):
        return [str(value)]
    return [str(item) for item in value]


@dataclass(frozen=True)
class AuthorizationRequest:
    """One request to authorize, the input of :func:`windtunnel.iam.evaluate`.

    ``principal`` is the caller's ARN (``arn:aws:sts::123456789012:assumed-role/app/s1``
    for a role session), a service principal name, or ``"*"`` for an anonymous caller.
    ``principal_type``, ``account`` and ``role_arn`` are derived from it when omitted.
    Pass ``role_arn`` for a role with a path, because a session ARN does not show the path.
    ``resource_account`` defaults to the account in ``resource``; an ARN without an
    account, as S3 uses, counts as the caller's account.
    """

    principal: str
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    principal_type: PrincipalType | None = None
    account: str | None = None
    role_arn: str | None = None
    resource_account: str | None = None

    def __post_init__(self) -> None:
        principal_type = self.principal_type or _principal_type(self.principal)
        object.__setattr__(self, "principal_type", principal_type)
        components = arn_components(self.principal)
        if self.account is None and components is not None:
            object.__setattr__(self, "account", components[4])
        if (self.role_arn is None and principal_type is PrincipalType.ROLE_SESSION
                and components is not None):
            role_name = components[5].split("/")[1]
            object.__setattr__(
                self, "role_arn", f"arn:{components[1]}:iam::{components[4]}:role/{role_name}")
        resource_components = arn_components(self.resource)
        if self.resource_account is None and resource_components is not None:
            object.__setattr__(self, "resource_account", resource_components[4] or None)

    @property
    def kind(self) -> PrincipalType:
        """The principal type, given or derived."""
        assert self.principal_type is not None  # set by __post_init__
        return self.principal_type

    @property
    def same_account(self) -> bool:
        """Whether the resource belongs to the caller's account.

        True as well when either side has no account: S3 ARNs carry none, and service
        principals and anonymous callers belong to no account.
        """
        if self.resource_account is None or self.account is None:
            return True
        return self.resource_account == self.account

    def context_values(self) -> dict[str, list[str]]:
        """Build the request context: lower-cased keys mapped to string values.

        ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType`` and, for IAM
        users, ``aws:username`` are filled in from the principal unless ``context`` sets them.
        For a role session aws:PrincipalArn is the role's ARN, as in AWS. Time keys such as
        ``aws:CurrentTime`` are not filled in, so the caller passes its (virtual) clock.
        """
        values: dict[str, list[str]] = {}
        kind = self.kind
        if kind is PrincipalType.ROLE_SESSION and self.role_arn:
            values["aws:principalarn"] = [self.role_arn]
        elif kind not in (PrincipalType.ANONYMOUS, PrincipalType.SERVICE):
            values["aws:principalarn"] = [self.principal]
        if self.account:
            values["aws:principalaccount"] = [self.account]
        if kind is not PrincipalType.SERVICE:
            values["aws:principaltype"] = [kind.value]
        if kind is PrincipalType.USER:
            values["aws:username"] = [self.principal.rsplit("/", 1)[-1]]
        for key, value in self.context.items():
            values[key.lower()] = _context_strings(value)
        return values

    def identities(self) -> list[tuple[str, str]]:
        """List the principal names that a Principal element can use for this caller.

        Each entry is ``(kind, name)`` where kind is ``"direct"`` for the caller itself,
        ``"role"`` for the role behind a session and ``"account"`` for its account, which
        is named by its 12-digit ID.
        """
        kind = self.kind
        if kind is PrincipalType.ANONYMOUS:
            return []
        if kind is PrincipalType.SERVICE:
            return [("direct", self.principal)]
        names: list[tuple[str, str]] = []
        account_kind = "direct" if kind is PrincipalType.ROOT else "account"
        if self.account:
            names.append((account_kind, self.account))
        if kind is PrincipalType.ROLE_SESSION and self.role_arn:
            names.append(("role", self.role_arn))
        if kind is not PrincipalType.ROOT:
            names.append(("direct", self.principal))
        return names
