"""Unit tests of the mock configuration loader: file errors, key paths and fixes in messages.

Structure rules follow
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from windtunnel.services.stepfunctions.mocks import (
    MockConfig,
    MockConfigError,
    MockedResponse,
)


def config(responses: dict[str, Any], cases: dict[str, Any] | None = None) -> MockConfig:
    return MockConfig.from_dict(
        {
            "StateMachines": {"Machine": {"TestCases": cases or {"Case": {"Task": "R"}}}},
            "MockedResponses": responses,
        }
    )


def test_missing_file_names_path(tmp_path: Path) -> None:
    """A missing file is reported with its path and where the path came from."""
    with pytest.raises(MockConfigError) as caught:
        MockConfig.load(tmp_path / "absent.json")

    assert str(tmp_path / "absent.json") in str(caught.value)
    assert "SFN_MOCK_CONFIG" in str(caught.value)


def test_bad_json_names_line(tmp_path: Path) -> None:
    """Malformed JSON is reported with file, line and column."""
    path = tmp_path / "MockConfigFile.json"
    path.write_text('{\n  "StateMachines": ,\n}', encoding="utf-8")

    with pytest.raises(MockConfigError) as caught:
        MockConfig.load(path)

    assert str(caught.value).startswith(f"{path}:2:")


def test_unknown_top_level_field() -> None:
    """A misspelt top-level field is rejected rather than silently giving no mocks."""
    with pytest.raises(MockConfigError) as caught:
        MockConfig.from_dict({"StateMachines": {}, "MockedResponse": {}})

    assert "MockedResponse:" in str(caught.value)


def test_undefined_response_name() -> None:
    """A test case that names an undefined mocked response lists the defined ones."""
    with pytest.raises(MockConfigError) as caught:
        config({"Other": {"0": {"Return": 1}}})

    message = str(caught.value)
    assert "StateMachines.Machine.TestCases.Case.Task" in message
    assert "'R'" in message
    assert "Other" in message


def test_test_cases_required() -> None:
    """A state machine entry must hold TestCases."""
    with pytest.raises(MockConfigError) as caught:
        MockConfig.from_dict({"StateMachines": {"Machine": {}}, "MockedResponses": {}})

    assert "StateMachines.Machine" in str(caught.value)


def test_empty_response_rejected() -> None:
    """A mocked response needs at least one invocation key."""
    with pytest.raises(MockConfigError):
        config({"R": {}})


def test_reversed_range_suggests_fix() -> None:
    """A range written backwards is rejected with the corrected range."""
    with pytest.raises(MockConfigError) as caught:
        config({"R": {"3-1": {"Return": 1}}})

    assert '"1-3"' in str(caught.value)


def test_return_null_allowed() -> None:
    """``Return`` may hold any JSON value, null included."""
    case = config({"R": {"0": {"Return": None}}}).test_case("Machine", "Case")

    assert case.response("Task", 0) == MockedResponse(result=None)
    assert not MockedResponse(result=None).is_error


def test_gap_invocation_fails() -> None:
    """An invocation that falls between two keys fails like one past the last key."""
    case = config({"R": {"0": {"Return": 1}, "2": {"Return": 3}}}).test_case("Machine", "Case")

    assert case.response("Task", 2) == MockedResponse(result=3)
    with pytest.raises(MockConfigError) as caught:
        case.response("Task", 1)

    assert "covers invocations 0, 2" in str(caught.value)


def test_throw_is_error() -> None:
    """A Throw response carries the error and cause and no result."""
    case = config({"R": {"0-9": {"Throw": {"Error": "E", "Cause": "C"}}}}).test_case(
        "Machine", "Case"
    )

    response = case.response("Task", 9)

    assert response == MockedResponse(error="E", cause="C")
    assert response is not None
    assert response.is_error


def test_state_machine_names() -> None:
    """The configured state machine names are listed."""
    assert config({"R": {"0": {"Return": 1}}}).state_machine_names() == ["Machine"]
