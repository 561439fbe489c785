"""``windtunnel validate``: load applications without serving and report what is emulated."""

from __future__ import annotations

import argparse
from collections import Counter

from windtunnel.cli.common import add_load_options, load_stacks, print_stack
from windtunnel.stack.environment import Environment

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` command."""
    parser = commands.add_parser(
        "validate", help="load applications without serving; list what is emulated",
        description="Load each application as 'up' would, print every resource type it "
                    "uses, and say which are emulated and which are only recorded.")
    add_load_options(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Load and report; exit 0 when everything loaded."""
    environment = Environment(region=arguments.region, strict=arguments.strict,
                              iam=arguments.iam or "enforce")
    for stack in load_stacks(environment, arguments):
        print_stack(stack)
        emulated = Counter(resource.resource_type for resource in stack.resources.values()
                           if resource.emulated)
        print("  Emulated:")
        for resource_type, count in sorted(emulated.items()):
            print(f"    {resource_type} x{count}")
    return 0
