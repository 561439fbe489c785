"""``windtunnel iam report`` as a user runs it: a real subprocess that runs pytest on an app.

The app's function is granted ``dynamodb:*`` on ``*`` and calls only GetItem and PutItem
on its table, so the report flags the grant as broad and suggests those two actions on
that table. The suggestion uses SAM's ``Policies`` syntax:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-policies
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.cli.harness import run_command

from windtunnel.cli.main import main
from windtunnel.iam.report import IamReport

TIMEOUT = 180

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Timeout: 3}
Resources:
  Items:
    Type: AWS::Serverless::SimpleTable
  Cart:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Environment: {Variables: {TABLE: !Ref Items}}
      Policies:
        - Statement:
            - Effect: Allow
              Action: "dynamodb:*"
              Resource: "*"
Outputs:
  TableName: {Value: !Ref Items}
"""

HANDLERS = """
import os

import boto3


def handler(event, context):
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName=os.environ["TABLE"], Item={"id": {"S": event["id"]}})
    return dynamodb.get_item(TableName=os.environ["TABLE"], Key={"id": {"S": event["id"]}})["Item"]
"""

TESTS = """
import pytest


@pytest.mark.integration
@pytest.mark.parametrize("item", ["a", "b", "c"])
def test_store(stack, item):
    assert stack.invoke("Cart", {"id": item}).raise_for_error().payload == {"id": {"S": item}}


def test_without_stack():
    assert True
"""

PYPROJECT = """
[tool.pytest.ini_options]
addopts = ["--strict-markers", "-p", "no:cacheprovider"]
filterwarnings = ["error"]
"""


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_command("iam", "iam", "report", *arguments, cwd=cwd, timeout=TIMEOUT)


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


def table_arn(report: IamReport) -> str:
    [arn] = {record.resource for record in report.records if record.action.startswith("dynamodb")}
    assert re.fullmatch(r"arn:aws:dynamodb:us-east-1:123456789012:table/shop-Items-\S+", arn)
    return arn


def cart_entry(data: dict[str, Any]) -> dict[str, Any]:
    [entry] = [e for e in data["principals"] if re.fullmatch(r"shop-Cart-\S+", e["name"])]
    return entry


def test_table_follows_pytest_output(app: Path) -> None:
    """The run prints pytest's output, then the report: broad grant, used actions, suggestion."""
    result = run_cli(str(app), cwd=app.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    report_text = result.stdout[result.stdout.index("windtunnel IAM report (SAM)"):]
    words = " ".join(report_text.split())
    assert "1 function, 6 allowed calls, 0 denied calls, 1 grant to review" in words
    assert "broad dynamodb:* on * (every dynamodb action, every resource)" in words
    assert "used only for dynamodb:GetItem, dynamodb:PutItem on 1 resource (6 calls)" in words
    assert re.search(r"^ +3  dynamodb:GetItem  arn:aws:dynamodb:\S+:table/shop-Items-\S+$",
                     report_text, re.MULTILINE)

    suggestion = report_text[report_text.index("    Policies:"):]
    policies = yaml.safe_load("\n".join(line[4:] for line in suggestion.splitlines()))
    [statement] = policies["Policies"][0]["Statement"]
    assert statement["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert re.fullmatch(r"arn:aws:dynamodb:us-east-1:123456789012:table/shop-Items-\S+",
                        statement["Resource"][0])


def test_json_option_prints_only_report(app: Path) -> None:
    """--json prints the report as JSON on stdout and pytest's output on stderr."""
    result = run_cli(str(app), "--json", cwd=app.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stderr
    data = json.loads(result.stdout)
    report = IamReport.from_json(data)
    cart = cart_entry(data)
    assert [(row["action"], row["calls"]) for row in cart["used"]] == [
        ("dynamodb:GetItem", 3), ("dynamodb:PutItem", 3)]
    assert cart["suggested"]["statements"] == [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": [table_arn(report)]}]


def test_output_option_writes_json(app: Path, tmp_path: Path) -> None:
    """--output writes the JSON report to a file and still prints the table."""
    output = tmp_path / "iam.json"

    result = run_cli(str(app), "--output", str(output), cwd=app.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "windtunnel IAM report (SAM)" in result.stdout
    report = IamReport.from_json(json.loads(output.read_text()))
    assert report.template_format == "sam"
    assert len(report.records) == 6


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="needs pytest-xdist")
def test_xdist_workers_merge_parts(app: Path) -> None:
    """Under pytest-xdist the controller merges every worker's part, counting calls once."""
    result = run_cli(str(app), "--json", "--", "-n", "2", cwd=app.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert [(row["action"], row["calls"]) for row in cart_entry(data)["used"]] == [
        ("dynamodb:GetItem", 3), ("dynamodb:PutItem", 3)]
    assert len(data["roles"]) == 1


def test_failed_tests_exit_zero(app: Path) -> None:
    """Failing tests still give a report, exit status 0 and a note on stderr."""
    (app / "tests" / "test_failing.py").write_text("def test_fails(stack):\n"
                                                   "    assert False\n")

    result = run_cli(str(app), cwd=app.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 failed, 4 passed" in result.stdout
    assert "windtunnel IAM report (SAM)" in result.stdout
    assert "some tests failed; the report covers the calls that the tests made" in result.stderr


def test_no_tests_collected_exits_five(app: Path) -> None:
    """When pytest selects no test, the command exits with pytest's status 5."""
    result = run_cli(str(app), "--", "-k", "no_such_test", cwd=app.parent)

    assert result.returncode == 5, result.stdout + result.stderr
    assert "windtunnel IAM report: no authorization decisions were recorded." in result.stdout


def test_pytest_usage_error_exits_four(app: Path) -> None:
    """A pytest usage error stops the run before a report exists; the status is pytest's."""
    result = run_cli(str(app), "--", "--no-such-option", cwd=app.parent)

    assert result.returncode == 4
    assert "pytest stopped with exit status 4 before the IAM report was written" in result.stderr


def test_missing_path_exits_2(tmp_path: Path) -> None:
    """A PATH that does not exist is a user error that names it."""
    result = run_cli("nowhere", cwd=tmp_path)

    assert result.returncode == 2
    assert f"{tmp_path / 'nowhere'} does not exist" in result.stderr


def test_main_lists_iam_report(capsys: pytest.CaptureFixture[str]) -> None:
    """The windtunnel command has the iam report command, with its exit status documented."""
    with pytest.raises(SystemExit) as exit_info:
        main(["iam", "report", "--help"])

    assert exit_info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "[-- PYTEST ARGS]" in help_text
    assert "Exit status: 0 when the report was made, also when tests failed" in help_text
