"""The contract between the deployment engine and the per-service resource handlers.

A handler creates one CloudFormation resource type through the same service APIs that
CloudFormation calls, using a boto3 client bound to the embedded cloud, and returns what
``Ref`` and ``Fn::GetAtt`` give for that type. Register one with :func:`provisions`::

    @provisions("AWS::SQS::Queue")
    def create_queue(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
        ...

Handlers receive properties with every intrinsic function already resolved and
``AWS::NoValue`` removed. They raise :class:`ResourceCreationFailed` with CloudFormation's
message for invalid properties; a botocore ``ClientError`` that escapes a handler is turned
into CloudFormation's "Resource handler returned message" by the engine.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Handler",
    "Provisioned",
    "ResourceContext",
    "ResourceCreationFailed",
    "emulated_types",
    "handler_for",
    "provisions",
    "require_properties",
]


@dataclass
class Provisioned:
    """The result of creating one resource."""

    physical_id: str
    """The value ``Ref`` returns, which ``ListStackResources`` shows as ``PhysicalResourceId``."""

    attributes: dict[str, Any] = field(default_factory=dict)
    """``Fn::GetAtt`` values by attribute name, as documented for the resource type."""


class ResourceCreationFailed(Exception):
    """A resource that cannot be created; ``reason`` is CloudFormation's status reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ResourceContext:
    """The resource a handler creates and the stack around it."""

    stack_name: str
    stack_id: str
    logical_id: str
    resource_type: str
    region: str
    account_id: str
    template_dir: Path
    """The directory of the template file; relative paths in properties resolve against it."""
    metadata: Mapping[str, Any]
    """The resource's ``Metadata`` section (readers record local code paths there)."""
    client_factory: Callable[[str], Any]
    """Returns a boto3 client for a service name, bound to the embedded cloud."""
    service_state: dict[str, Any] = field(default_factory=dict)
    """State that windtunnel keeps for services itself (what moto cannot store), by service
    name. It belongs to the cloud, so snapshots and resets include it."""

    def client(self, service: str) -> Any:
        """Return a boto3 client for ``service`` with administrator credentials."""
        return self.client_factory(service)

    @property
    def partition(self) -> str:
        """The ARN partition of the stack's region."""
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def arn(self, service: str, resource: str, *, region: str | None = None,
            account_id: str | None = None) -> str:
        """Build an ARN in this stack's partition, region and account (pass ``""`` to omit)."""
        region = self.region if region is None else region
        account_id = self.account_id if account_id is None else account_id
        return f"arn:{self.partition}:{service}:{region}:{account_id}:{resource}"

    def physical_name(self, *, max_length: int, lowercase: bool = False,
                      suffix: str = "") -> str:
        """Generate the name CloudFormation gives a resource whose template names none.

        CloudFormation's pattern is ``{stack name}-{logical ID}-{random suffix}``, with the
        stack name and logical ID shortened when the whole would exceed the type's limit.
        The suffix here derives from the stack and logical ID, so names are the same on every
        load. ``suffix`` is appended after it (``.fifo`` for FIFO queues).
        """
        return generate_physical_name(
            self.stack_name, self.logical_id, max_length=max_length, lowercase=lowercase,
            suffix=suffix,
        )


_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits
_RANDOM_SUFFIX_LENGTH = 12


def generate_physical_name(stack_name: str, logical_id: str, *, max_length: int,
                           lowercase: bool = False, suffix: str = "") -> str:
    """Generate CloudFormation's ``{stack}-{logical ID}-{suffix}`` name within ``max_length``."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()
    random_part = "".join(_SUFFIX_ALPHABET[byte % len(_SUFFIX_ALPHABET)]
                          for byte in digest[:_RANDOM_SUFFIX_LENGTH])

    # Room left for the stack name and logical ID once the separators and suffixes are in.
    room = max_length - len(random_part) - len(suffix) - 2
    stack_part, logical_part = stack_name, logical_id
    if len(stack_part) + len(logical_part) > room:
        # Shorten the longer of the two first, as CloudFormation keeps both recognisable.
        half = max(room // 2, 1)
        if len(logical_part) < half:
            stack_part = stack_part[: room - len(logical_part)]
        elif len(stack_part) < half:
            logical_part = logical_part[: room - len(stack_part)]
        else:
            stack_part = stack_part[:half]
            logical_part = logical_part[: room - half]

    name = f"{stack_part}-{logical_part}-{random_part}{suffix}"
    return name.lower() if lowercase else name


Handler = Callable[[ResourceContext, dict[str, Any]], Provisioned]

_HANDLERS: dict[str, Handler] = {}


def provisions(*resource_types: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler that creates ``resource_types``."""

    def register(handler: Handler) -> Handler:
        for resource_type in resource_types:
            if resource_type in _HANDLERS:
                raise RuntimeError(f"two handlers registered for {resource_type}")
            _HANDLERS[resource_type] = handler
        return handler

    return register


def handler_for(resource_type: str) -> Handler | None:
    """Return the handler registered for ``resource_type``, or None if it is not emulated."""
    return _HANDLERS.get(resource_type)


def emulated_types() -> frozenset[str]:
    """Return every resource type that some handler creates."""
    return frozenset(_HANDLERS)


def require_properties(properties: Mapping[str, Any], *names: str) -> None:
    """Raise CloudFormation's validation failure when a required property is missing."""
    missing = [name for name in names if name not in properties]
    if missing:
        keys = ", ".join(missing)
        raise ResourceCreationFailed(
            f"Properties validation failed for resource with message: "
            f"#: required key [{keys}] not found"
        )
