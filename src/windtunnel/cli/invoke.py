"""``windtunnel invoke``: load an application, invoke one function and print the result."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from windtunnel.cli.common import add_load_options, load_stacks
from windtunnel.deploy.model import DeployedStack
from windtunnel.errors import WindtunnelError
from windtunnel.runtime.functions import INVOCATION_TYPES
from windtunnel.runtime.result import InvocationResult
from windtunnel.stack.environment import Environment
from windtunnel.stack.local import EmulatedStack

__all__ = ["EXIT_FUNCTION_ERROR", "register", "run"]

# Exit status when the function itself failed (the Invoke API's FunctionError).
EXIT_FUNCTION_ERROR = 1

_FUNCTION_TYPE = "AWS::Lambda::Function"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``invoke`` command."""
    parser = commands.add_parser(
        "invoke", help="load an application and invoke one of its functions",
        description="Load the application as 'up' would, invoke FUNCTION once in process, "
                    "print the response payload (JSON) to standard output and the "
                    "invocation's logs to standard error. Exit status 1 when the function "
                    "failed, 2 for errors in the input.")
    parser.add_argument(
        "function", metavar="FUNCTION",
        help="the function: its logical ID, its key in serverless.yml, its name or its ARN")
    add_load_options(parser)
    parser.add_argument("--event", metavar="FILE",
                        help="a file with the event as JSON, or - for standard input "
                             "(default: {})")
    parser.add_argument("--qualifier", metavar="QUALIFIER",
                        help="the version or alias to invoke (default: $LATEST)")
    parser.add_argument("--invocation-type", choices=INVOCATION_TYPES,
                        default="RequestResponse",
                        help="RequestResponse waits for the response; Event runs the function "
                             "asynchronously, and the command waits for it to finish; DryRun "
                             "only checks the request (default: RequestResponse)")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Invoke the function; exit 0 on success and 1 when the function failed."""
    event = read_event(arguments.event)
    environment = Environment(region=arguments.region, strict=arguments.strict,
                              iam=arguments.iam or "enforce")
    load_stacks(environment, arguments)
    stack = EmulatedStack(environment, find_function_stack(environment, arguments.function))

    result = stack.invoke(arguments.function, event, qualifier=arguments.qualifier,
                          invocation_type=arguments.invocation_type)
    if arguments.invocation_type != "RequestResponse":
        print(f"windtunnel: {arguments.invocation_type} invocation of {result.function_name} "
              f"returned status {result.status_code} (request ID {result.request_id})",
              file=sys.stderr)
    if result.raw_payload:
        sys.stdout.write(result.raw_payload.decode("utf-8", errors="replace") + "\n")
        sys.stdout.flush()
    if arguments.invocation_type == "Event":
        # Lambda runs the function after accepting the event and discards its response.
        # The logs and the error of that run are what the command can report.
        stack.settle()
        result = _completed(stack, result)
    if result.logs:
        sys.stderr.write(result.logs if result.logs.endswith("\n") else result.logs + "\n")

    if result.function_error is not None:
        error = result.error or {}
        print(f"windtunnel: {result.function_name} failed ({result.function_error}): "
              f"{error.get('errorType', 'unknown error type')}: "
              f"{error.get('errorMessage', '')}", file=sys.stderr)
        return EXIT_FUNCTION_ERROR
    return 0


def read_event(source: str | None) -> bytes:
    """Read the event from a file or from standard input (``-``); check that it is JSON."""
    if source is None:
        return b"{}"
    if source == "-":
        name, payload = "standard input", sys.stdin.buffer.read()
    else:
        name = source
        try:
            payload = Path(source).read_bytes()
        except OSError as error:
            raise WindtunnelError(f"the event file {source} could not be read: "
                                  f"{error.strerror}") from None
    try:
        json.loads(payload)
    except ValueError as error:
        raise WindtunnelError(f"the event in {name} is not valid JSON ({error}); Lambda "
                              f"accepts only JSON events") from None
    return payload


def find_function_stack(environment: Environment, function: str) -> DeployedStack:
    """Return the loaded stack that defines ``function``; raise an error listing them all."""
    from windtunnel.template.serverless.naming import lambda_logical_id

    name = _name_in_arn(function)
    stacks = environment.registry.stacks()
    for stack in stacks:
        serverless_id = (lambda_logical_id(function)
                         if stack.template.format == "serverless" else None)
        for logical_id, resource in stack.resources.items():
            if resource.resource_type != _FUNCTION_TYPE:
                continue
            if function in (logical_id, resource.physical_id) or logical_id == serverless_id \
                    or name == resource.physical_id:
                return stack
    raise WindtunnelError(_unknown_function_message(function, stacks))


def _name_in_arn(function: str) -> str | None:
    # Full ARNs (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]) and partial ones
    # (ACCOUNT:function:NAME) carry the name after ":function:".
    _, separator, rest = function.partition(":function:")
    return rest.split(":", 1)[0] if separator else None


def _unknown_function_message(function: str, stacks: list[DeployedStack]) -> str:
    functions = [(logical_id, resource.physical_id)
                 for stack in stacks for logical_id, resource in stack.resources.items()
                 if resource.resource_type == _FUNCTION_TYPE]
    names = ", ".join(stack.name for stack in stacks)
    if not functions:
        return f"no function {function!r}: stack {names} defines no Lambda function"
    width = max(len(logical_id) for logical_id, _ in functions)
    listing = "\n".join(f"  {logical_id.ljust(width)}  {physical_id}"
                        for logical_id, physical_id in sorted(functions))
    return (f"no function {function!r} in stack {names}; pass one of these logical IDs or "
            f"function names:\n{listing}")


def _completed(stack: EmulatedStack, accepted: InvocationResult) -> InvocationResult:
    for result in stack.invocations:
        if result.request_id == accepted.request_id:
            return result
    return accepted
