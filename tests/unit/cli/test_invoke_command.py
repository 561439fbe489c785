"""``windtunnel invoke`` as a user runs it, in real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT = 60

# Runs a command the way windtunnel.cli.main does, with this command registered, so that
# the test does not depend on main.py listing it.
HARNESS = """
import argparse
import sys

from windtunnel.cli import invoke
from windtunnel.errors import WindtunnelError

parser = argparse.ArgumentParser(prog="windtunnel")
parser.add_argument("--debug", action="store_true")
invoke.register(parser.add_subparsers(required=True))
arguments = parser.parse_args(sys.argv[1:])
arguments.command = []
try:
    sys.exit(arguments.run(arguments))
except WindtunnelError as error:
    print(f"windtunnel: error: {error}", file=sys.stderr)
    sys.exit(2)
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Timeout: 3}
Resources:
  Items:
    Type: AWS::Serverless::SimpleTable
  PutItem:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.put_item
      Environment: {Variables: {TABLE: !Ref Items}}
      Policies: [{DynamoDBWritePolicy: {TableName: !Ref Items}}]
  Fail:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.fail}
"""

HANDLERS = """
import os

import boto3


def put_item(event, context):
    print("storing", event["id"])
    boto3.client("dynamodb").put_item(TableName=os.environ["TABLE"],
                                      Item={"id": {"S": event["id"]}})
    return {"stored": event["id"], "price": 1.10}


def fail(event, context):
    raise ValueError("bad input")
"""


def run_cli(*arguments: str, cwd: Path, stdin: str | None = None,
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", HARNESS, *arguments], input=stdin,
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd,
                          check=False)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLERS)
    (tmp_path / "event.json").write_text('{"id": "from-file"}')
    return tmp_path


def test_success_prints_payload_and_logs(app: Path) -> None:
    """The payload goes to stdout as the function returned it, the logs to stderr."""
    result = run_cli("invoke", "PutItem", "--event", "event.json", cwd=app)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"stored": "from-file", "price": 1.1}
    assert result.stdout == '{"stored": "from-file", "price": 1.1}\n'
    assert "START RequestId:" in result.stderr
    assert "storing from-file" in result.stderr
    assert "REPORT RequestId:" in result.stderr


def test_event_from_standard_input(app: Path) -> None:
    """--event - reads the event from standard input; PATH names the application."""
    result = run_cli("invoke", "PutItem", str(app), "--event", "-",
                     cwd=app.parent, stdin='{"id": "piped"}')

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stored"] == "piped"


def test_function_by_physical_name(app: Path) -> None:
    """The deployed function name works as well as the logical ID."""
    unknown = run_cli("invoke", "Nothing", cwd=app)
    name = next(line.split()[1] for line in unknown.stderr.splitlines()
                if line.strip().startswith("PutItem "))

    result = run_cli("invoke", name, "--event", "event.json", cwd=app)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stored"] == "from-file"


def test_function_error_exits_1(app: Path) -> None:
    """A failed function prints Lambda's error payload and exits with status 1."""
    result = run_cli("invoke", "Fail", cwd=app)

    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "bad input"
    assert "[ERROR] ValueError: bad input" in result.stderr
    assert result.stderr.rstrip().endswith("failed (Unhandled): ValueError: bad input")


def test_unknown_function_lists_functions(app: Path) -> None:
    """An unknown function exits 2 and lists each function's logical ID and name."""
    result = run_cli("invoke", "Nothing", "--stack-name", "shop", cwd=app)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    message = next(index for index, line in enumerate(lines) if "no function" in line)
    assert lines[message] == ("windtunnel: error: no function 'Nothing' in stack shop; pass "
                              "one of these logical IDs or function names:")
    assert lines[message + 1].split()[0] == "Fail"
    assert lines[message + 1].split()[1].startswith("shop-Fail-")
    assert lines[message + 2].split()[0] == "PutItem"
    assert lines[message + 2].split()[1].startswith("shop-PutItem-")
    assert len(lines) == message + 3
    assert "Traceback" not in result.stderr


def test_event_that_is_not_json_exits_2(app: Path) -> None:
    """An event that is not JSON is a user error, reported before anything is loaded."""
    result = run_cli("invoke", "PutItem", "--event", "-", cwd=app, stdin="not json")

    assert result.returncode == 2
    assert "the event in standard input is not valid JSON" in result.stderr


def test_missing_event_file_exits_2(app: Path) -> None:
    """An event file that does not exist is named in the error."""
    result = run_cli("invoke", "PutItem", "--event", "missing.json", cwd=app)

    assert result.returncode == 2
    assert "the event file missing.json could not be read: No such file or directory" \
        in result.stderr


def test_event_invocation_waits_and_prints_logs(app: Path) -> None:
    """An Event invocation prints no payload, but the logs of the run it caused."""
    result = run_cli("invoke", "PutItem", "--event", "event.json",
                     "--invocation-type", "Event", cwd=app)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Event invocation of" in result.stderr
    assert "returned status 202" in result.stderr
    assert "storing from-file" in result.stderr


def test_event_invocation_failure_exits_1(app: Path) -> None:
    """A function that fails after an Event invocation still makes the command fail."""
    result = run_cli("invoke", "Fail", "--invocation-type", "Event", cwd=app)

    assert result.returncode == 1
    assert "failed (Unhandled): ValueError: bad input" in result.stderr


def test_unknown_qualifier_exits_2(app: Path) -> None:
    """Lambda's own error for a version that does not exist is a user error."""
    result = run_cli("invoke", "PutItem", "--qualifier", "7", cwd=app)

    assert result.returncode == 2
    assert "ResourceNotFoundException" in result.stderr
