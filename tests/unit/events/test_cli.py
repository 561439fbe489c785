"""``windtunnel generate-event`` as a user runs it, in a real subprocess.

Once ``windtunnel.cli.main`` registers the command, these tests run it through
``python -m windtunnel.cli.main``. Until then they run a small entry point that registers
only this command, with the same error handling as main: a message on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from windtunnel.cli.main import build_parser

TIMEOUT = 60

ENTRY_POINT = """
import argparse, sys
from windtunnel.cli import generate_event
from windtunnel.errors import WindtunnelError
parser = argparse.ArgumentParser(prog="windtunnel")
generate_event.register(parser.add_subparsers(required=True))
arguments = parser.parse_args()
try:
    sys.exit(arguments.run(arguments))
except WindtunnelError as error:
    print(f"windtunnel: error: {error}", file=sys.stderr)
    sys.exit(2)
"""


def registered_in_main() -> bool:
    parser = build_parser()
    commands = [action for action in parser._actions
                if isinstance(action, argparse._SubParsersAction)]
    return any("generate-event" in action.choices for action in commands)


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    if registered_in_main():
        command = [sys.executable, "-m", "windtunnel.cli.main"]
    else:
        command = [sys.executable, "-c", ENTRY_POINT]
    return subprocess.run([*command, "generate-event", *arguments], capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)


def event_of(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_prints_rest_event_with_path_parameter() -> None:
    """--resource and --path give the path parameter, method and body in the JSON event."""
    event = event_of(run_cli("apigateway-rest", "--method", "POST", "--resource",
                             "/{userId}/items", "--path", "/u1/items", "--body",
                             '{"name": "x"}', "--header", "X-Tag=a", "--query", "q=1"))

    assert event["pathParameters"] == {"userId": "u1"}
    assert event["httpMethod"] == "POST"
    assert event["body"] == '{"name": "x"}'
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["headers"]["X-Tag"] == "a"
    assert event["queryStringParameters"] == {"q": "1"}


def test_seed_matches_python_api() -> None:
    """An integer --seed gives the same event as generate(..., seed=<int>)."""
    from windtunnel.events import generate

    event = event_of(run_cli("sqs", "--seed", "9", "--body", "hi", "--set", "queue=jobs"))

    assert event == generate("sqs", seed=9, body="hi", queue="jobs")


def test_body_goes_to_payload_option() -> None:
    """--body sets the source's payload: an SNS message, EventBridge detail, Kinesis data."""
    sns = event_of(run_cli("sns", "--body", "hello"))
    bridge = event_of(run_cli("eventbridge", "--body", '{"a": 1}'))
    kinesis = event_of(run_cli("kinesis", "--body", "raw"))

    assert sns["Records"][0]["Sns"]["Message"] == "hello"
    assert bridge["detail"] == {"a": 1}
    assert base64.b64decode(kinesis["Records"][0]["kinesis"]["data"]) == b"raw"


def test_body_file(tmp_path: Path) -> None:
    """--body-file reads the payload, and binary content reaches API events as base64."""
    text = tmp_path / "message.json"
    text.write_text('{"orderId": "o-1"}')
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\xff")

    sqs = event_of(run_cli("sqs", "--body-file", str(text)))
    api = event_of(run_cli("apigateway-http", "--method", "PUT", "--body-file", str(binary)))

    assert sqs["Records"][0]["body"] == '{"orderId": "o-1"}'
    assert api["isBase64Encoded"] is True
    assert base64.b64decode(api["body"]) == b"\x89PNG\xff"


def test_set_decodes_json_values() -> None:
    """--set decodes objects and arrays as JSON and keeps other values as text."""
    event = event_of(run_cli("dynamodb-stream", "--set", "event_name=MODIFY",
                             "--set", 'keys={"pk": "u1"}', "--set",
                             'new_image={"n": 2}', "--set", "table=users"))
    record = event["Records"][0]

    assert record["eventName"] == "MODIFY"
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "u1"}, "n": {"N": "2"}}
    assert record["eventSourceARN"].startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/")


def test_set_accepts_eventbridge_source() -> None:
    """--set source=... reaches EventBridge's source option, not the SOURCE argument."""
    event = event_of(run_cli("eventbridge", "--set", "source=app.users",
                             "--set", "detail-type=User Created"))

    assert event["source"] == "app.users"
    assert event["detail-type"] == "User Created"


def test_help_lists_sources() -> None:
    """--help names every source with its options."""
    from windtunnel.events import SOURCES

    result = run_cli("--help")

    assert result.returncode == 0
    for name in SOURCES:
        assert name in result.stdout
    assert "options: event_name, keys, new_image" in result.stdout


def test_unknown_source_lists_choices() -> None:
    """An unknown SOURCE is a usage error that lists the sources."""
    result = run_cli("sqs-fifo")

    assert result.returncode == 2
    assert "invalid choice: 'sqs-fifo'" in result.stderr
    assert "apigateway-rest" in result.stderr


def test_unknown_option_is_one_line_error() -> None:
    """An option the source does not take is one error line, exit 2, no traceback."""
    result = run_cli("sqs", "--method", "GET")

    assert result.returncode == 2
    assert "unknown option method for event source 'sqs'" in result.stderr
    assert "Traceback" not in result.stderr


def test_body_on_source_without_payload() -> None:
    """--body on a source without a payload is an error that lists its options."""
    result = run_cli("schedule", "--body", "x")

    assert result.returncode == 2
    assert "takes no --body" in result.stderr
    assert "rule" in result.stderr


def test_bad_set_syntax() -> None:
    """--set without '=' is an error that quotes the argument."""
    result = run_cli("sqs", "--set", "queue")

    assert result.returncode == 2
    assert "--set 'queue' is not NAME=VALUE" in result.stderr
