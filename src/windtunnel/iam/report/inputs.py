"""The grants of a role: its policies by name, and the functions that use the role."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = ["NamedPolicy", "PolicyAttachment", "RoleGrants", "merge_roles"]

PolicyAttachment = Literal["inline", "managed"]


@dataclass(frozen=True)
class NamedPolicy:
    """One identity-based policy of a role, as a decoded JSON document."""

    name: str
    """The inline policy's name, or the managed policy's name."""
    document: Mapping[str, Any]
    kind: PolicyAttachment
    """``inline`` for a policy embedded in the role, ``managed`` for an attached one."""
    arn: str | None = None
    """The managed policy's ARN; None for inline policies."""

    def __post_init__(self) -> None:
        if self.kind not in get_args(PolicyAttachment):
            raise ValueError(f"policy kind {self.kind!r} is invalid; expected 'inline' or "
                             f"'managed'")

    def to_json(self) -> dict[str, Any]:
        """Return the policy as JSON-ready values."""
        return {"name": self.name, "kind": self.kind, "arn": self.arn,
                "document": self.document}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NamedPolicy:
        """Read a policy written by :meth:`to_json`."""
        return cls(name=str(data["name"]), document=data["document"], kind=data["kind"],
                   arn=data.get("arn"))

    def identity(self) -> tuple[str, str, str | None, str]:
        """Return a key that is equal for equal policies, for de-duplication."""
        return (self.kind, self.name, self.arn, json.dumps(self.document, sort_keys=True))


@dataclass(frozen=True)
class RoleGrants:
    """A role, the functions whose execution role it is, and its identity-based policies."""

    role_arn: str
    role_name: str
    function_names: tuple[str, ...]
    """The names of the Lambda functions that run with this role; empty for other roles."""
    policies: tuple[NamedPolicy, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the role as JSON-ready values."""
        return {
            "role_arn": self.role_arn,
            "role_name": self.role_name,
            "function_names": list(self.function_names),
            "policies": [policy.to_json() for policy in self.policies],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoleGrants:
        """Read a role written by :meth:`to_json`."""
        return cls(
            role_arn=str(data["role_arn"]),
            role_name=str(data["role_name"]),
            function_names=tuple(str(name) for name in data["function_names"]),
            policies=tuple(NamedPolicy.from_json(policy) for policy in data["policies"]),
        )


def merge_roles(roles: Iterable[RoleGrants]) -> tuple[RoleGrants, ...]:
    """Combine the descriptions of each role into one, sorted by role ARN.

    Parts from several test processes describe the same roles. When they differ, because
    a test changed a role, the merged role has every function and every distinct policy.
    Functions and policies come out sorted by name, so the result does not depend on the
    order of the parts.
    """
    functions: dict[str, set[str]] = {}
    policies: dict[str, dict[tuple[str, str, str | None, str], NamedPolicy]] = {}
    names: dict[str, str] = {}
    for role in roles:
        names.setdefault(role.role_arn, role.role_name)
        functions.setdefault(role.role_arn, set()).update(role.function_names)
        by_identity = policies.setdefault(role.role_arn, {})
        for policy in role.policies:
            by_identity.setdefault(policy.identity(), policy)
    return tuple(
        RoleGrants(
            role_arn=arn,
            role_name=names[arn],
            function_names=tuple(sorted(functions[arn])),
            policies=tuple(sorted(policies[arn].values(), key=lambda p: p.identity())),
        )
        for arn in sorted(names)
    )
