"""``stack.stepfunctions``: executions to the end with mocks, and mistakes in mocks.

The mock rules are those of Step Functions Local's mock configuration file: a state's
mocked responses by invocation number (retries counted), "Return" or "Throw":
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack, WindtunnelError

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
            Retry: [{ErrorEquals: [Throttled], IntervalSeconds: 5, MaxAttempts: 2}]
            ResultSelector: {score.$: $.Payload.score}
            Next: Pause
          Pause: {Type: Wait, Seconds: 600, Next: Done}
          Done: {Type: Succeed}
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("approvals")
    (root / "template.yaml").write_text(TEMPLATE)
    return root


@pytest.fixture(scope="module")
def stack(app: Path) -> Iterator[EmulatedStack]:
    with Stack.local(app) as loaded:
        yield loaded


def test_execute_runs_waits_and_retries_on_the_clock(stack: EmulatedStack) -> None:
    before = stack.clock.now()

    result = stack.stepfunctions.execute("Approvals", {"id": 1}, mocks={"Score": [
        {"Throw": {"Error": "Throttled", "Cause": "slow down"}},
        {"Return": {"Payload": {"score": 90}}}]})

    assert result.status == "SUCCEEDED"
    assert result.output == {"score": 90}
    assert result.path == ["Score", "Pause", "Done"]
    assert [event["taskFailedEventDetails"]["error"] for event in result.events("TaskFailed")] \
        == ["Throttled"]
    assert (stack.clock.now() - before).total_seconds() == 605


def test_a_mock_for_a_state_that_does_not_exist_is_rejected(stack: EmulatedStack) -> None:
    with pytest.raises(WindtunnelError, match=r"'Scorer'.*its states are Done, Pause, Score"):
        stack.stepfunctions.execute("Approvals", {}, mocks={"Scorer": {"Return": {}}})


def test_a_misspelled_return_is_named(stack: EmulatedStack) -> None:
    with pytest.raises(WindtunnelError, match="found the keys 'Returns'"):
        stack.stepfunctions.execute("Approvals", {}, mocks={"Score": {"Returns": {}}})


def test_a_mock_file_may_name_the_state_machine_by_logical_id(app: Path,
                                                             tmp_path: Path) -> None:
    mock_file = tmp_path / "MockConfigFile.json"
    mock_file.write_text(json.dumps({
        "StateMachines": {"Approvals": {"TestCases": {"High": {"Score": "HighScore"}}}},
        "MockedResponses": {"HighScore": {"0": {"Return": {"Payload": {"score": 99}}}}},
    }))

    with Stack.local(app, sfn_mock_config=mock_file) as mocked:
        result = mocked.stepfunctions.execute("Approvals", {}, test_case="High")

    assert result.output == {"score": 99}
