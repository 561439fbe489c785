"""The record of a deployed stack: its resources, outputs and what was not emulated."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from windtunnel.template.model import Template

__all__ = ["DeployedResource", "DeployedStack", "StackOutput"]


@dataclass
class DeployedResource:
    """One resource of a deployed stack."""

    logical_id: str
    resource_type: str
    physical_id: str
    attributes: dict[str, Any]
    properties: dict[str, Any]
    """The properties as created, with every intrinsic function resolved."""
    metadata: dict[str, Any]
    emulated: bool
    """False for a type that windtunnel only records (see ``DeployedStack.not_emulated``)."""
    timestamp: datetime.datetime
    status: str = "CREATE_COMPLETE"
    nested_stack: DeployedStack | None = None


@dataclass
class StackOutput:
    """One entry of a stack's Outputs section, resolved."""

    key: str
    value: Any
    """The value as AWS would compute it; exports and Fn::ImportValue use this one."""
    local_value: Any
    """The value with AWS endpoint URLs pointed at the local endpoint, for callers."""
    description: str | None = None
    export_name: str | None = None


@dataclass
class DeployedStack:
    """A template deployed into the embedded cloud."""

    name: str
    stack_id: str
    region: str
    account_id: str
    template: Template
    parameters: dict[str, Any]
    resources: dict[str, DeployedResource]
    outputs: list[StackOutput]
    not_emulated: list[str] = field(default_factory=list)
    """Resource types in the template that windtunnel records but does not emulate."""
    creation_time: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC))
    description: str | None = None
    parent_id: str | None = None
    root_id: str | None = None

    def output(self, key: str) -> Any:
        """Return the value of the output named ``key``."""
        for output in self.outputs:
            if output.key == key:
                return output.local_value
        available = ", ".join(output.key for output in self.outputs) or "none"
        raise KeyError(f"stack {self.name} has no output {key!r} (outputs: {available})")

    def physical_id(self, logical_id: str) -> str:
        """Return the physical ID of the resource with ``logical_id``."""
        try:
            return self.resources[logical_id].physical_id
        except KeyError:
            available = ", ".join(sorted(self.resources)) or "none"
            raise KeyError(
                f"stack {self.name} has no resource {logical_id!r} (resources: {available})"
            ) from None
