"""Order a template's resources so that each is created after everything it refers to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.errors import CircularDependencyError, TemplateError, UnresolvedReferenceError
from windtunnel.template.intrinsics import collect_references

__all__ = ["creation_order", "dependencies_of"]


def dependencies_of(logical_id: str, resource: Mapping[str, Any],
                    resource_names: frozenset[str]) -> set[str]:
    """Return the resources that ``logical_id`` refers to or names in ``DependsOn``."""
    references = collect_references(resource.get("Properties", {}))
    dependencies = {name for name in references if name in resource_names}

    depends_on = resource.get("DependsOn", [])
    if isinstance(depends_on, str):
        depends_on = [depends_on]
    if not isinstance(depends_on, list):
        raise TemplateError(
            "Template format error: DependsOn must be a string or a list of strings",
            path=f"Resources.{logical_id}.DependsOn",
        )
    for name in depends_on:
        if name not in resource_names:
            raise UnresolvedReferenceError(
                f"Template format error: Unresolved resource dependencies [{name}] in the "
                f"Resources block of the template",
                path=f"Resources.{logical_id}.DependsOn",
            )
        dependencies.add(name)
    # A resource that refers to itself is a cycle of one, which CloudFormation rejects as
    # a circular dependency. It stays in the set, so creation_order reports it.
    return dependencies


def creation_order(resources: Mapping[str, Mapping[str, Any]],
                   active: frozenset[str]) -> list[str]:
    """Return the ``active`` resources in an order that respects every dependency.

    Resources with no order between them keep their template order. A cycle raises
    :class:`CircularDependencyError` with CloudFormation's message.
    """
    names = frozenset(resources)
    pending: dict[str, set[str]] = {}
    for logical_id in resources:
        if logical_id in active:
            pending[logical_id] = dependencies_of(logical_id, resources[logical_id],
                                                  names) & active

    order: list[str] = []
    while pending:
        ready = [name for name, needs in pending.items() if not needs]
        if not ready:
            cycle = sorted(_cycle_members(pending))
            raise CircularDependencyError(
                f"Template format error: Circular dependency between resources: "
                f"[{', '.join(cycle)}]",
                path="Resources",
            )
        for name in ready:
            order.append(name)
            del pending[name]
        for needs in pending.values():
            needs.difference_update(ready)
    return order


def _cycle_members(pending: dict[str, set[str]]) -> set[str]:
    """Narrow blocked resources to those on a cycle, dropping ones that only wait for it."""
    members = {name: set(needs) for name, needs in pending.items()}
    while True:
        needed = set().union(*members.values())
        leaves = [name for name in members if name not in needed]
        if not leaves:
            return set(members)
        for name in leaves:
            del members[name]
