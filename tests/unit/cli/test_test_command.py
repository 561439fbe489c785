"""``windtunnel test`` as a user runs it: a real subprocess that runs pytest on an app."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT = 120

# Runs a command the way windtunnel.cli.main does, with this command registered, so that
# the test does not depend on main.py listing it.
HARNESS = """
import argparse
import sys

from windtunnel.cli import test
from windtunnel.errors import WindtunnelError

argv = sys.argv[1:]
command = []
if "--" in argv:
    split = argv.index("--")
    argv, command = argv[:split], argv[split + 1:]
parser = argparse.ArgumentParser(prog="windtunnel")
parser.add_argument("--debug", action="store_true")
test.register(parser.add_subparsers(required=True))
arguments = parser.parse_args(argv)
arguments.command = command
try:
    sys.exit(arguments.run(arguments))
except WindtunnelError as error:
    print(f"windtunnel: error: {error}", file=sys.stderr)
    sys.exit(2)
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Timeout: 3}
Resources:
  Items:
    Type: AWS::Serverless::SimpleTable
  PutItem:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.put_item
      Environment: {Variables: {TABLE: !Ref Items, GREETING: !Ref Greeting}}
      Policies: [{DynamoDBWritePolicy: {TableName: !Ref Items}}]
Outputs:
  TableName: {Value: !Ref Items}
"""

HANDLERS = """
import os

import boto3


def put_item(event, context):
    boto3.client("dynamodb").put_item(TableName=os.environ["TABLE"],
                                      Item={"id": {"S": event["id"]}})
    return {"stored": event["id"], "greeting": os.environ["GREETING"]}
"""

TESTS = """
import pytest


def scan(stack):
    return stack.client("dynamodb").scan(TableName=stack.outputs["TableName"])["Items"]


@pytest.mark.unit
def test_unit():
    assert 1 + 1 == 2


@pytest.mark.integration
@pytest.mark.parametrize("item", ["a", "b", "c"])
def test_store(stack, item):
    result = stack.invoke("PutItem", {"id": item}).raise_for_error()
    assert result.payload["greeting"] == "hello"
    assert scan(stack) == [{"id": {"S": item}}]


@pytest.mark.e2e
def test_greeting_parameter(stack):
    assert stack.invoke("PutItem", {"id": "e2e"}).payload["greeting"] == "hello"
"""

# Settings that make warnings errors, as the example applications use.
PYPROJECT = """
[tool.pytest.ini_options]
addopts = ["--strict-markers", "-p", "no:cacheprovider"]
filterwarnings = ["error"]
"""


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The outer pytest's own settings must not reach the inner one.
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-c", HARNESS, *arguments], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=cwd, env=environment, check=False)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "src").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src" / "app.py").write_text(HANDLERS)
    (root / "tests" / "test_shop.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def test_summary_after_pytest_output(app: Path) -> None:
    """The run ends with the summary and pytest's closing line; the status is pytest's."""
    result = run_cli("test", str(app), cwd=app.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout[result.stdout.index("windtunnel summary"):]
    assert re.search(r"^  unit +1 passed$", summary, re.MULTILINE)
    assert re.search(r"^  integration +3 passed$", summary, re.MULTILINE)
    assert re.search(r"^  e2e +1 passed$", summary, re.MULTILINE)
    assert re.search(r"^  unmarked +none$", summary, re.MULTILINE)
    assert re.search(r"^  shop-PutItem-\S+ +4$", summary, re.MULTILINE)
    assert re.search(r"^  dynamodb +PutItem 4, Scan 3$", summary, re.MULTILINE)
    assert re.search(r"=+ 5 passed in [\d.]+s =+$", result.stdout.rstrip().splitlines()[-1])


def test_current_directory_is_default(app: Path) -> None:
    """Without PATH, the application is the current directory."""
    result = run_cli("test", cwd=app)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_failures_set_exit_status(app: Path) -> None:
    """A failing test makes the command exit as pytest does, with 1."""
    (app / "tests" / "test_failing.py").write_text(
        "def test_fails(stack):\n"
        "    stack.invoke('PutItem', {'id': 'x'})\n"
        "    assert False\n")

    result = run_cli("test", str(app), cwd=app.parent)

    assert result.returncode == 1
    assert "windtunnel invocations" in result.stdout
    assert re.search(r"^  unmarked +1 failed$", result.stdout, re.MULTILINE)


def test_pytest_arguments_after_separator(app: Path) -> None:
    """Arguments after -- reach pytest; here -m selects one level."""
    result = run_cli("test", str(app), "--", "-m", "integration", cwd=app.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^  integration +3 passed$", result.stdout, re.MULTILINE)
    assert re.search(r"^  unit +none$", result.stdout, re.MULTILINE)
    assert "3 passed, 2 deselected" in result.stdout


def test_param_option_reaches_stack(app: Path) -> None:
    """--param sets a template parameter of the stack that the tests use."""
    result = run_cli("test", str(app), "--param", "Greeting=hi", "--", "-k", "e2e",
                     cwd=app.parent)

    assert result.returncode == 1
    assert "assert 'hi' == 'hello'" in result.stdout


def test_tests_in_application_directory(app: Path) -> None:
    """An application without a tests directory has its tests collected from PATH."""
    (app / "tests" / "test_shop.py").rename(app / "test_shop.py")
    (app / "tests").rmdir()

    result = run_cli("test", str(app / "template.yaml"), cwd=app.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_missing_path_exits_2(tmp_path: Path) -> None:
    """A PATH that does not exist is a user error that names it."""
    result = run_cli("test", "nowhere", cwd=tmp_path)

    assert result.returncode == 2
    assert f"{tmp_path / 'nowhere'} does not exist" in result.stderr
