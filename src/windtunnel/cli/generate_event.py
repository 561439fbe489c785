"""``windtunnel generate-event``: print a sample AWS event as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from windtunnel.constants import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from windtunnel.events import SOURCES, EventOptionError, generate

__all__ = ["register"]


def _epilog() -> str:
    lines = ["sources and their options (set with the flags above or --set KEY=VALUE):"]
    for source in SOURCES.values():
        lines.append(f"  {source.name:30} {source.description}")
        names = ", ".join(option.name for option in source.options)
        lines.append(f"  {'':30} options: {names}")
    lines.append("every source also takes region, account, seed and time.")
    return "\n".join(lines)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``generate-event`` command."""
    parser = commands.add_parser(
        "generate-event", help="print a sample AWS event as JSON",
        description="Print the event that a Lambda function receives from SOURCE, with\n"
                    "the fields AWS documents for it and realistic IDs and timestamps.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", metavar="SOURCE", choices=list(SOURCES),
                        help="the event source, one of: " + ", ".join(SOURCES))

    parser.add_argument("--method", help="the HTTP method of an API request (default: GET)")
    parser.add_argument("--path", help="the path of an API request, optionally with ?query")
    parser.add_argument("--resource", help="the resource path or route of an API request, "
                                           "e.g. /{userId}/items")
    parser.add_argument("--stage", help="the API stage name")

    body = parser.add_mutually_exclusive_group()
    body.add_argument("--body", help="the payload: an API request body, an SQS message body, "
                                     "an SNS message, Kinesis data, EventBridge detail or "
                                     "a DynamoDB new image (JSON for the last two)")
    body.add_argument("--body-file", type=Path, metavar="FILE",
                      help="read the payload from FILE")

    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                        help="an API request header; repeat for several")
    parser.add_argument("--query", action="append", default=[], metavar="NAME=VALUE",
                        help="an API query string parameter; repeat for several")
    parser.add_argument("--path-param", action="append", default=[], metavar="NAME=VALUE",
                        help="an API path parameter; repeat for several")

    parser.add_argument("--region", help=f"the AWS Region (default: {DEFAULT_REGION})")
    parser.add_argument("--account",
                        help=f"the AWS account ID (default: {DEFAULT_ACCOUNT_ID})")
    parser.add_argument("--seed", help="make IDs and timestamps repeatable")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="settings",
                        help="any option of SOURCE, e.g. queue=jobs; a VALUE that is a JSON "
                             "object, array, true, false or null is decoded; repeat for "
                             "several")
    # Also accepted before the command. SUPPRESS keeps the earlier value when absent here.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and debug logs")
    parser.set_defaults(run=run)


def _pair(text: str, flag: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise EventOptionError(f"{flag} {text!r} is not NAME=VALUE")
    return name, value


def _setting_value(text: str) -> Any:
    """Decode JSON objects, arrays and literals, and leave every other value as a string."""
    if text[:1] in ("{", "[") or text in ("true", "false", "null"):
        try:
            return json.loads(text)
        except ValueError as error:
            raise EventOptionError(f"--set value {text!r} is not valid JSON: {error}") \
                from None
    return text


def _payload(arguments: argparse.Namespace) -> str | bytes | None:
    body_file: Path | None = arguments.body_file
    if body_file is not None:
        try:
            content = body_file.read_bytes()
        except OSError as error:
            raise EventOptionError(f"cannot read --body-file {body_file}: "
                                   f"{error.strerror}") from None
        try:
            return content.decode()
        except UnicodeDecodeError:
            # Binary content stays bytes, which API events carry base64-encoded.
            return content
    body: str | None = arguments.body
    return body


def collect_options(arguments: argparse.Namespace) -> dict[str, Any]:
    """Turn the command-line flags into keyword arguments for ``generate``."""
    source = SOURCES[arguments.source]
    options: dict[str, Any] = {}
    for flag in ("method", "path", "resource", "stage", "region", "account", "seed"):
        value = getattr(arguments, flag)
        if value is not None:
            options[flag] = value
    if "seed" in options and options["seed"].lstrip("-").isdigit():
        # An integer seed gives the same event as generate(..., seed=<int>) in Python.
        options["seed"] = int(options["seed"])

    headers: dict[str, list[str]] = {}
    for text in arguments.header:
        name, value = _pair(text, "--header")
        headers.setdefault(name, []).append(value)
    if headers:
        options["headers"] = headers
    if arguments.query:
        options["query"] = "&".join(arguments.query)
    if arguments.path_param:
        options["path_parameters"] = dict(_pair(text, "--path-param")
                                          for text in arguments.path_param)

    payload = _payload(arguments)
    if payload is not None:
        if source.payload_option is None:
            raise EventOptionError(f"event source {source.name!r} takes no --body; its "
                                   f"options: {', '.join(source.option_names())}")
        if source.payload_is_json:
            payload = _setting_value(payload if isinstance(payload, str) else payload.decode())
        options[source.payload_option] = payload

    for text in arguments.settings:
        name, value = _pair(text, "--set")
        options[name.replace("-", "_")] = _setting_value(value)
    return options


def run(arguments: argparse.Namespace) -> int:
    """Generate the event, print it as JSON and return exit status 0."""
    event = generate(arguments.source, **collect_options(arguments))
    json.dump(event, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
