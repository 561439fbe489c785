"""``windtunnel sfn coverage`` as a user runs it: a subprocess that runs pytest on an app.

The state machine has a Choice with two rules and a Default, a Retry and a Catch; the
app's tests take some of these paths, so the report names the others. The edges follow
the Amazon States Language's transitions (Next, Choices, Default, Retry, Catch):
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest
from tests.unit.cli.harness import run_command

TIMEOUT = 180

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Approvals:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Score
        States:
          Score:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke
            Parameters: {FunctionName: scorer, Payload.$: $}
            Retry: [{ErrorEquals: [Throttled], IntervalSeconds: 5}]
            Catch: [{ErrorEquals: [States.ALL], Next: Rejected}]
            Next: Decide
          Decide:
            Type: Choice
            Choices:
              - {Variable: $.Payload.score, NumericGreaterThan: 80, Next: Approved}
              - {Variable: $.Payload.score, NumericLessThan: 20, Next: Rejected}
            Default: Review
          Approved: {Type: Succeed}
          Review: {Type: Succeed}
          Rejected: {Type: Fail, Error: Rejected}
"""

TESTS = """
import pytest


@pytest.mark.parametrize("score", [90, 50])
def test_scores(windtunnel_stack, score):
    result = windtunnel_stack.stepfunctions.execute(
        "Approvals", {}, mocks={"Score": {"Return": {"Payload": {"score": score}}}})
    assert result.succeeded


def test_throttled_then_approved(windtunnel_stack):
    result = windtunnel_stack.stepfunctions.execute("Approvals", {}, mocks={"Score": [
        {"Throw": {"Error": "Throttled", "Cause": "slow down"}},
        {"Return": {"Payload": {"score": 99}}}]})
    assert result.succeeded
"""

PYPROJECT = """
[tool.pytest.ini_options]
addopts = ["-p", "no:cacheprovider"]

[tool.windtunnel]
template = "template.yaml"
"""


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_command("sfn", "sfn", "coverage", *arguments, cwd=cwd, timeout=TIMEOUT)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "approvals"
    (root / "tests").mkdir(parents=True)
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "tests" / "test_approvals.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def test_report_lists_what_the_tests_never_took(app: Path, tmp_path: Path) -> None:
    """The text report names the missed states and transitions; the diagram marks them."""
    diagram = tmp_path / "approvals.md"

    result = run_cli("--diagram", str(diagram), cwd=app)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    report = result.stdout[result.stdout.index("approvals/Approvals:"):]
    assert report.splitlines()[0] == ("approvals/Approvals: 78% of transitions (7/9), "
                                      "4/5 states")
    assert "  state never entered: Rejected" in report
    assert "  transition never taken: Decide --choice 1--> Rejected" in report
    assert "  transition never taken: Score --catch 0--> Rejected" in report
    assert "  transition never taken: Score --retry 0--> Score" not in report
    text = diagram.read_text()
    assert text.startswith("## approvals/Approvals\n\n```mermaid\nflowchart TD\n")
    assert "-.->|catch 0|" in text
    assert "-->|retry 0 x1|" in text


def test_fail_under_sets_the_exit_status(app: Path) -> None:
    """--fail-under exits with 3 when a state machine's coverage is below the threshold."""
    below = run_cli("--fail-under", "90", cwd=app)
    above = run_cli("--fail-under", "70", "--json", cwd=app)

    assert below.returncode == 3, below.stdout + below.stderr
    assert above.returncode == 0, above.stdout + above.stderr
    [machine] = json.loads(above.stdout)["stateMachines"]
    assert machine["label"] == "approvals/Approvals"
    assert machine["missedStates"] == ["Rejected"]


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="needs pytest-xdist")
def test_xdist_workers_hand_their_coverage_to_the_controller(app: Path) -> None:
    """Under pytest-xdist the controller merges what every worker's executions took."""
    result = run_cli("--json", "--", "-n", "2", cwd=app)

    assert result.returncode == 0, result.stdout + result.stderr
    [machine] = json.loads(result.stdout)["stateMachines"]
    assert machine["percent"] == 77.8
    assert "Decide --default--> Review" not in machine["missedTransitions"]
