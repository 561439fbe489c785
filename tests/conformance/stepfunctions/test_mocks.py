"""The Step Functions Local mock configuration file, checked against the documented rules.

Sources: the mock file reference
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html and the
test walkthrough https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-test-sm-exec.html
(archived in github.com/awsdocs/aws-step-functions-developer-guide, ``doc_source/``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from windtunnel.services.stepfunctions.mocks import (
    MissingMockedResponseError,
    MockConfig,
    MockConfigError,
    MockedResponse,
    UnknownTestCaseError,
    find_mock_config,
    split_test_case,
)

CONFIG_FILE = "https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html"
WALKTHROUGH = "https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-test-sm-exec.html"

LAMBDA_OK = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
SQS_OK = {"MD5OfMessageBody": "md5-of-body", "MessageId": "message-1"}


def documented_sample() -> dict[str, Any]:
    """The documented example: one state machine, three test cases, four mocked responses."""
    return {
        "StateMachines": {
            "LambdaSQSIntegration": {
                "TestCases": {
                    "HappyPath": {
                        "LambdaState": "MockedLambdaSuccess",
                        "SQSState": "MockedSQSSuccess",
                    },
                    "RetryPath": {
                        "LambdaState": "MockedLambdaRetry",
                        "SQSState": "MockedSQSSuccess",
                    },
                    "HybridPath": {"LambdaState": "MockedLambdaSuccess"},
                }
            }
        },
        "MockedResponses": {
            "MockedLambdaSuccess": {"0": {"Return": LAMBDA_OK}},
            "LambdaMockedResourceNotReady": {
                "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Not ready."}}
            },
            "MockedSQSSuccess": {"0": {"Return": SQS_OK}},
            "MockedLambdaRetry": {
                "0": {
                    "Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Not ready."}
                },
                "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Timed out."}},
                "3": {"Return": LAMBDA_OK},
            },
        },
    }


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(documented_sample()), encoding="utf-8")
    return path


def test_happy_path(sample_file: Path) -> None:
    """HappyPath returns the mocked Lambda and SQS results (WALKTHROUGH)."""
    case = MockConfig.load(sample_file).test_case("LambdaSQSIntegration", "HappyPath")

    assert case.response("LambdaState", 0) == MockedResponse(result=LAMBDA_OK)
    assert case.response("SQSState", 0) == MockedResponse(result=SQS_OK)


RETRY_PATH = [
    # invocation, expected response, source
    (0, MockedResponse(error="Lambda.ResourceNotReadyException", cause="Not ready."), WALKTHROUGH),
    (1, MockedResponse(error="Lambda.TimeoutException", cause="Timed out."), WALKTHROUGH),
    (2, MockedResponse(error="Lambda.TimeoutException", cause="Timed out."), WALKTHROUGH),
    (3, MockedResponse(result=LAMBDA_OK), WALKTHROUGH),
]


@pytest.mark.parametrize(("invocation", "expected", "source"), RETRY_PATH)
def test_retry_path(
    sample_file: Path, invocation: int, expected: MockedResponse, source: str
) -> None:
    """Invocation keys count every call from 0, retries included; "1-2" is inclusive."""
    case = MockConfig.load(sample_file).test_case("LambdaSQSIntegration", "RetryPath")

    assert case.response("LambdaState", invocation) == expected, source


def test_invocation_past_last_key_fails(sample_file: Path) -> None:
    """A mocked state invoked beyond its keys fails the execution (WALKTHROUGH, retry "3" note)."""
    case = MockConfig.load(sample_file).test_case("LambdaSQSIntegration", "HappyPath")

    with pytest.raises(MissingMockedResponseError) as caught:
        case.response("LambdaState", 1)

    assert "invocation 1" in str(caught.value)
    assert "MockedLambdaSuccess" in str(caught.value)


def test_hybrid_path_unmocked_state(sample_file: Path) -> None:
    """HybridPath leaves SQSState unmocked, so it calls the service (WALKTHROUGH)."""
    case = MockConfig.load(sample_file).test_case("LambdaSQSIntegration", "HybridPath")

    assert case.mocks("LambdaState")
    assert not case.mocks("SQSState")
    assert case.response("SQSState", 0) is None


def test_unknown_test_case(sample_file: Path) -> None:
    """A test case the file does not define is an error that lists the defined ones."""
    config = MockConfig.load(sample_file)

    with pytest.raises(UnknownTestCaseError) as caught:
        config.test_case("LambdaSQSIntegration", "SadPath")

    assert "HappyPath, HybridPath, RetryPath" in str(caught.value)


def test_unknown_state_machine(sample_file: Path) -> None:
    """A state machine the file does not configure is an error that names the known ones."""
    with pytest.raises(UnknownTestCaseError) as caught:
        MockConfig.load(sample_file).test_case("Other", "HappyPath")

    assert "LambdaSQSIntegration" in str(caught.value)


def test_split_test_case() -> None:
    """StartExecution selects a test case with ``#test_name`` after the ARN (WALKTHROUGH)."""
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:LambdaSQSIntegration"

    assert split_test_case(f"{arn}#HappyPath") == (arn, "HappyPath")
    assert split_test_case(arn) == (arn, None)


INVALID = [
    # mocked response entries, key path named in the error, source
    (
        {"0": {"Return": 1, "Throw": {"Error": "E", "Cause": "C"}}},
        "MockedResponses.R.0",
        CONFIG_FILE,
    ),
    ({"0": {}}, "MockedResponses.R.0", CONFIG_FILE),
    ({"0": {"Throw": {"Error": "E"}}}, "MockedResponses.R.0.Throw.Cause", CONFIG_FILE),
    ({"0": {"Throw": {"Error": 1, "Cause": "C"}}}, "MockedResponses.R.0.Throw.Error", CONFIG_FILE),
    (
        {"0": {"Throw": {"Error": "E", "Cause": None}}},
        "MockedResponses.R.0.Throw.Cause",
        CONFIG_FILE,
    ),
    ({"first": {"Return": 1}}, "MockedResponses.R.first", CONFIG_FILE),
    ({"2-1": {"Return": 1}}, "MockedResponses.R.2-1", CONFIG_FILE),
    ({"-1": {"Return": 1}}, "MockedResponses.R.-1", CONFIG_FILE),
    ({"0-2": {"Return": 1}, "2": {"Return": 2}}, "MockedResponses.R", CONFIG_FILE),
]


@pytest.mark.parametrize(("entries", "path", "source"), INVALID)
def test_invalid_response_rejected(entries: dict[str, Any], path: str, source: str) -> None:
    """An invocation has one Return or Throw, and Throw needs Error and Cause strings."""
    data = {
        "StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}},
        "MockedResponses": {"R": entries},
    }

    with pytest.raises(MockConfigError) as caught:
        MockConfig.from_dict(data, source="cfg.json")

    assert str(caught.value).startswith(f"cfg.json: {path}:"), source


def test_explicit_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit path wins over SFN_MOCK_CONFIG."""
    monkeypatch.setenv("SFN_MOCK_CONFIG", str(tmp_path / "env.json"))

    assert find_mock_config(tmp_path / "explicit.json") == tmp_path / "explicit.json"


def test_environment_variable_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SFN_MOCK_CONFIG names the file, under any name (WALKTHROUGH, step 2)."""
    monkeypatch.setenv("SFN_MOCK_CONFIG", str(tmp_path / "EnvSpecifiedMockConfig.json"))
    (tmp_path / "MockConfigFile.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert find_mock_config() == tmp_path / "EnvSpecifiedMockConfig.json"


def test_working_directory_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variable, MockConfigFile.json in the working directory is read (WALKTHROUGH)."""
    monkeypatch.delenv("SFN_MOCK_CONFIG", raising=False)
    (tmp_path / "MockConfigFile.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert find_mock_config() == tmp_path / "MockConfigFile.json"


def test_no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a path, the variable or the default file there is no mock configuration."""
    monkeypatch.delenv("SFN_MOCK_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    assert find_mock_config() is None
