"""Options and output shared by the commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from windtunnel.constants import DEFAULT_PORT, ENV_PORT, ENV_REGION
from windtunnel.deploy.model import DeployedStack
from windtunnel.errors import WindtunnelError
from windtunnel.stack.environment import Environment

__all__ = ["add_load_options", "load_stacks", "parse_parameters", "print_stack"]


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose what to load and how."""
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH",
        help="a template file, or a directory with serverless.yml, template.yaml or cdk.out "
             "(default: the current directory); several PATHs load several stacks")
    parser.add_argument("--stack-name", metavar="NAME", action="append", default=[],
                        help="the stack name (default: the name the format implies, "
                             "samconfig.toml's stack_name, or the directory name); with "
                             "several PATHs, give one per PATH, in the same order")
    parser.add_argument("--stage", metavar="STAGE",
                        help="the Serverless Framework stage (default: provider.stage or dev)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a template parameter value; repeat for several")
    parser.add_argument("--region", metavar="REGION",
                        default=os.environ.get(ENV_REGION),
                        help=f"the AWS region to emulate (default: ${ENV_REGION}, the "
                             f"template's own region, or us-east-1)")
    parser.add_argument("--strict", action="store_true",
                        help="fail when a resource type is not emulated instead of listing it")
    parser.add_argument("--iam", choices=("enforce", "warn", "off"), default=None,
                        help="how IAM policies apply to the calls functions make: enforce "
                             "(deny as AWS does; the default), warn (allow, and log what AWS "
                             "would deny) or off")
    # Also accepted before the command; SUPPRESS keeps the earlier value when absent here.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and debug logs")


def port_number(text: str) -> int:
    """Parse a TCP port for argparse: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def default_port() -> int:
    """Return the port from the environment, or the default."""
    value = os.environ.get(ENV_PORT)
    if value is None:
        return DEFAULT_PORT
    try:
        return port_number(value)
    except argparse.ArgumentTypeError as error:
        raise WindtunnelError(f"{ENV_PORT}: {error}") from None


def parse_parameters(pairs: list[str]) -> dict[str, str]:
    """Turn ``KEY=VALUE`` arguments into a mapping."""
    parameters: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise WindtunnelError(f"--param {pair!r} is not KEY=VALUE")
        parameters[key] = value
    return parameters


def load_stacks(environment: Environment, arguments: argparse.Namespace) -> list[DeployedStack]:
    """Load every PATH of the command line into ``environment``."""
    paths = arguments.paths or [Path.cwd()]
    names: list[str | None] = list(arguments.stack_name)
    if not names:
        names = [None] * len(paths)
    if len(names) != len(paths):
        raise WindtunnelError(
            f"{len(paths)} PATHs and {len(names)} --stack-name options: give one "
            f"--stack-name per PATH, in the same order, or none")
    parameters = parse_parameters(arguments.param)
    stacks: list[DeployedStack] = []
    for path, name in zip(paths, names, strict=True):
        stacks.extend(environment.load(path, stack_name=name, stage=arguments.stage,
                                       parameters=parameters))
    return stacks


def print_stack(stack: DeployedStack, *, elapsed: float | None = None) -> None:
    """Print a stack's outputs and what was not emulated."""
    timing = f", loaded in {elapsed * 1000:.0f} ms" if elapsed is not None else ""
    print(f"Stack {stack.name} ({stack.template.format}, {len(stack.resources)} resources"
          f"{timing})")
    if stack.outputs:
        print("  Outputs:")
        width = max(len(output.key) for output in stack.outputs)
        for output in stack.outputs:
            print(f"    {output.key.ljust(width)}  {output.local_value}")
    if stack.not_emulated:
        print(f"  Not emulated (recorded only): {', '.join(sorted(stack.not_emulated))}")
    sys.stdout.flush()
