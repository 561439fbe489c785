"""The stacks loaded into one endpoint and the values they export."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from windtunnel.deploy.model import DeployedStack
from windtunnel.errors import TemplateError, UnresolvedReferenceError

__all__ = ["StackRegistry"]


class StackRegistry:
    """Every stack deployed into one cloud, by name and by stack ID, nested ones included."""

    def __init__(self) -> None:
        self._stacks: dict[str, DeployedStack] = {}
        self._exports: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def add(self, stack: DeployedStack) -> None:
        """Register a deployed stack, its nested stacks and their exports."""
        with self._lock:
            stacks = list(_with_nested(stack))
            new_exports: dict[str, tuple[str, str]] = {}
            for member in stacks:
                if member.name in self._stacks:
                    raise TemplateError(f"Stack [{member.name}] already exists")
                for output in member.outputs:
                    if output.export_name is None:
                        continue
                    owner = self._exports.get(output.export_name) or \
                        new_exports.get(output.export_name)
                    if owner is not None:
                        raise TemplateError(
                            f"Export with name {output.export_name} is already exported by "
                            f"stack {owner[0].split('/')[1]}",
                            path=f"Outputs.{output.key}.Export",
                        )
                    new_exports[output.export_name] = (member.stack_id, _text(output.value))
            for member in stacks:
                self._stacks[member.name] = member
            self._exports.update(new_exports)

    def get(self, name_or_id: str) -> DeployedStack | None:
        """Return the stack with this name or stack ID, or None."""
        stack = self._stacks.get(name_or_id)
        if stack is not None:
            return stack
        for candidate in self._stacks.values():
            if candidate.stack_id == name_or_id:
                return candidate
        return None

    def stacks(self) -> list[DeployedStack]:
        """Return every stack, in the order they were added."""
        return list(self._stacks.values())

    def exports(self) -> list[tuple[str, str, str]]:
        """Return ``(name, value, exporting stack ID)`` for every export."""
        return [(name, value, stack_id) for name, (stack_id, value) in self._exports.items()]

    def import_value(self, name: str, path: str) -> str:
        """Return the value exported as ``name``, for ``Fn::ImportValue``."""
        export = self._exports.get(name)
        if export is None:
            raise UnresolvedReferenceError(
                f"No export named {name} found. Load the stack that exports it into the same "
                f"endpoint first (pass its template before this one).",
                path=path,
            )
        return export[1]


def _with_nested(stack: DeployedStack) -> Iterator[DeployedStack]:
    yield stack
    for resource in stack.resources.values():
        if resource.nested_stack is not None:
            yield from _with_nested(resource.nested_stack)


def _text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)
