"""The mock configuration file of Step Functions Local: mocked Task responses per test case.

The file has two top-level objects. ``StateMachines`` maps a state machine name to its
``TestCases``, and each test case maps a state name to the name of a mocked response.
``MockedResponses`` maps that name to invocation keys (``"0"``, or an inclusive range such
as ``"1-2"``), each holding exactly one ``Return`` (the service's result) or ``Throw``
(``Error`` and ``Cause``). An execution selects a test case by appending ``#TestCase`` to
the state machine ARN in StartExecution.
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-test-sm-exec.html
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from windtunnel.constants import ENV_SFN_MOCK_CONFIG
from windtunnel.errors import WindtunnelError

__all__ = [
    "DEFAULT_FILE_NAME",
    "ENV_SFN_MOCK_CONFIG",
    "MissingMockedResponseError",
    "MockConfig",
    "MockConfigError",
    "MockedResponse",
    "TestCaseMocks",
    "UnknownTestCaseError",
    "find_mock_config",
    "split_test_case",
]

logger = logging.getLogger(__name__)

# The file that Step Functions Local reads from its working directory when the variable is unset.
DEFAULT_FILE_NAME = "MockConfigFile.json"

_INVOCATION_KEY = re.compile(r"(\d+)(?:-(\d+))?")


class MockConfigError(WindtunnelError):
    """A mock configuration file that cannot be used as written, or a lookup it cannot resolve."""


class UnknownTestCaseError(MockConfigError):
    """StartExecution named a test case that the mock configuration does not define."""


class MissingMockedResponseError(MockConfigError):
    """A mocked state was invoked more times than its mocked response covers.

    Step Functions Local fails the execution in this case: "If you do not specify a mocked
    response for a specific retry attempt, for example, retry "3", the state machine
    execution will fail."
    """


@dataclass(frozen=True)
class MockedResponse:
    """One invocation's outcome: a ``Return`` result, or a ``Throw`` error and cause."""

    result: Any = None
    error: str | None = None
    cause: str | None = None

    @property
    def is_error(self) -> bool:
        """True for a ``Throw`` response."""
        return self.error is not None


@dataclass(frozen=True)
class _InvocationRange:
    first: int
    last: int
    response: MockedResponse


@dataclass(frozen=True)
class _ResponseSeries:
    """A named entry of ``MockedResponses``: responses by invocation number."""

    name: str
    ranges: tuple[_InvocationRange, ...]

    def at(self, invocation: int) -> MockedResponse | None:
        for invocation_range in self.ranges:
            if invocation_range.first <= invocation <= invocation_range.last:
                return invocation_range.response
        return None


class TestCaseMocks:
    """The mocked states of one test case of one state machine."""

    # Not a pytest test class, although its name starts with "Test".
    __test__ = False

    def __init__(
        self, state_machine_name: str, test_case: str, states: Mapping[str, _ResponseSeries]
    ) -> None:
        self.state_machine_name = state_machine_name
        self.test_case = test_case
        self._states = dict(states)

    def state_names(self) -> list[str]:
        """The states the test case mocks."""
        return list(self._states)

    def mocks(self, state_name: str) -> bool:
        """Tell whether the test case mocks this state; an unmocked Task calls its service."""
        return state_name in self._states

    def response(self, state_name: str, invocation: int) -> MockedResponse | None:
        """Return the mocked response for the state's ``invocation``-th call, counted from 0.

        Every invocation of the state in the execution counts, retries included. Return None
        when the test case does not mock the state. Raise
        :class:`MissingMockedResponseError` when it mocks the state but no invocation key
        covers ``invocation``.
        """
        series = self._states.get(state_name)
        if series is None:
            return None

        response = series.at(invocation)
        if response is None:
            covered = ", ".join(_describe(r) for r in series.ranges)
            raise MissingMockedResponseError(
                f"mocked response {series.name!r} has no entry for invocation {invocation} of "
                f"state {state_name!r} (test case {self.test_case!r} of state machine "
                f"{self.state_machine_name!r}); it covers invocations {covered}. Add an "
                f'invocation key such as "{invocation}" to MockedResponses.{series.name}.'
            )
        return response


class MockConfig:
    """A parsed, validated mock configuration file."""

    def __init__(
        self,
        test_cases: Mapping[str, Mapping[str, Mapping[str, _ResponseSeries]]],
        source: str,
    ) -> None:
        self._test_cases = test_cases
        self.source = source

    @classmethod
    def load(cls, path: str | Path) -> MockConfig:
        """Read and validate a mock configuration file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise MockConfigError(
                f"{path}: cannot read the mock configuration file ({error.strerror}). "
                f"Check the path given explicitly or in {ENV_SFN_MOCK_CONFIG}."
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise MockConfigError(
                f"{path}:{error.lineno}:{error.colno}: the mock configuration file is not "
                f"valid JSON ({error.msg})."
            ) from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> MockConfig:
        """Validate a mock configuration given as parsed JSON."""
        parser = _Parser(source)
        return cls(parser.parse(data), source)

    def state_machine_names(self) -> list[str]:
        """Return the state machines the file configures."""
        return list(self._test_cases)

    def test_case(self, state_machine_name: str, test_case: str) -> TestCaseMocks:
        """Return the mocks of one test case.

        Raise :class:`UnknownTestCaseError` when the file does not define the state machine
        or the test case.
        """
        cases = self._test_cases.get(state_machine_name)
        if cases is None:
            known = ", ".join(sorted(self._test_cases)) or "none"
            raise UnknownTestCaseError(
                f"{self.source}: no test cases for state machine {state_machine_name!r} "
                f"(test case {test_case!r} was requested). The file configures these state "
                f"machines: {known}. Add StateMachines.{state_machine_name}.TestCases."
                f"{test_case} or correct the name in the state machine ARN."
            )
        states = cases.get(test_case)
        if states is None:
            known = ", ".join(sorted(cases)) or "none"
            raise UnknownTestCaseError(
                f"{self.source}: state machine {state_machine_name!r} has no test case "
                f"{test_case!r}. Defined test cases: {known}."
            )
        return TestCaseMocks(state_machine_name, test_case, states)


def split_test_case(state_machine_arn: str) -> tuple[str, str | None]:
    """Split ``arn...:stateMachine:Name#TestCase`` into the ARN and the test case name."""
    arn, separator, test_case = state_machine_arn.partition("#")
    if not separator:
        return state_machine_arn, None
    return arn, test_case


def find_mock_config(explicit: str | Path | None = None) -> Path | None:
    """Return the mock configuration file to use, or None when there is none.

    An explicit path wins over ``SFN_MOCK_CONFIG``. Without either, Step Functions Local
    reads ``MockConfigFile.json`` from the directory it was started in, and so does this
    function (the current working directory), if the file exists.
    https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-test-sm-exec.html
    """
    if explicit is not None:
        return Path(explicit)

    from_environment = os.environ.get(ENV_SFN_MOCK_CONFIG)
    if from_environment:
        return Path(from_environment)

    default = Path.cwd() / DEFAULT_FILE_NAME
    if default.is_file():
        logger.debug("using the mock configuration file %s", default)
        return default
    return None


def _describe(invocation_range: _InvocationRange) -> str:
    if invocation_range.first == invocation_range.last:
        return str(invocation_range.first)
    return f"{invocation_range.first}-{invocation_range.last}"


class _Parser:
    """Validate the file's structure, naming the key path of each problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> MockConfigError:
        return MockConfigError(f"{self.source}: {path}: {problem}")

    def parse(self, data: Any) -> dict[str, dict[str, dict[str, _ResponseSeries]]]:
        if not isinstance(data, Mapping):
            raise self.fail(
                "(top level)", "must be a JSON object with StateMachines and MockedResponses."
            )
        unknown = sorted(set(data) - {"StateMachines", "MockedResponses"})
        if unknown:
            raise self.fail(
                unknown[0],
                "is not a mock configuration field; the top level has only StateMachines "
                "and MockedResponses.",
            )

        responses = self.mocked_responses(data.get("MockedResponses", {}))
        state_machines = data.get("StateMachines", {})
        if not isinstance(state_machines, Mapping):
            raise self.fail("StateMachines", "must be an object keyed by state machine name.")

        result: dict[str, dict[str, dict[str, _ResponseSeries]]] = {}
        for machine_name, machine in state_machines.items():
            result[machine_name] = self.test_cases(
                f"StateMachines.{machine_name}", machine, responses
            )
        return result

    def test_cases(
        self, path: str, machine: Any, responses: Mapping[str, _ResponseSeries]
    ) -> dict[str, dict[str, _ResponseSeries]]:
        if not isinstance(machine, Mapping) or not isinstance(machine.get("TestCases"), Mapping):
            raise self.fail(
                path, 'must be an object with one field, "TestCases", an object of test cases.'
            )
        extra = sorted(set(machine) - {"TestCases"})
        if extra:
            raise self.fail(
                f"{path}.{extra[0]}", 'is not allowed; a state machine has only "TestCases".'
            )

        cases: dict[str, dict[str, _ResponseSeries]] = {}
        for case_name, states in machine["TestCases"].items():
            case_path = f"{path}.TestCases.{case_name}"
            if not isinstance(states, Mapping):
                raise self.fail(
                    case_path, "must be an object mapping state names to mocked response names."
                )
            cases[case_name] = {}
            for state_name, response_name in states.items():
                if not isinstance(response_name, str):
                    raise self.fail(
                        f"{case_path}.{state_name}",
                        "must be the name of an entry in MockedResponses (a string).",
                    )
                if response_name not in responses:
                    known = ", ".join(sorted(responses)) or "none"
                    raise self.fail(
                        f"{case_path}.{state_name}",
                        f"names the mocked response {response_name!r}, which MockedResponses "
                        f"does not define (defined: {known}).",
                    )
                cases[case_name][state_name] = responses[response_name]
        return cases

    def mocked_responses(self, data: Any) -> dict[str, _ResponseSeries]:
        if not isinstance(data, Mapping):
            raise self.fail("MockedResponses", "must be an object keyed by mocked response name.")
        return {
            name: self.series(f"MockedResponses.{name}", name, entries)
            for name, entries in data.items()
        }

    def series(self, path: str, name: str, entries: Any) -> _ResponseSeries:
        if not isinstance(entries, Mapping) or not entries:
            raise self.fail(
                path,
                'must be an object of invocation keys such as "0" or "1-2", each holding a '
                "Return or a Throw.",
            )

        ranges: list[_InvocationRange] = []
        for key, entry in entries.items():
            first, last = self.invocation_key(f"{path}.{key}", key)
            ranges.append(_InvocationRange(first, last, self.response(f"{path}.{key}", entry)))

        ranges.sort(key=lambda r: r.first)
        for previous, current in itertools.pairwise(ranges):
            if current.first <= previous.last:
                raise self.fail(
                    path,
                    f'invocation keys "{_describe(previous)}" and "{_describe(current)}" '
                    "overlap; each invocation needs exactly one response.",
                )
        # NOTE: Step Functions Local requires consecutive invocation numbers, but a gap is
        # accepted here and an invocation that falls into it fails the execution, as an
        # invocation past the last key does.
        return _ResponseSeries(name, tuple(ranges))

    def invocation_key(self, path: str, key: str) -> tuple[int, int]:
        match = _INVOCATION_KEY.fullmatch(key)
        if match is None:
            raise self.fail(
                path,
                'is not an invocation key; use a number counted from 0 such as "0", or an '
                'inclusive range such as "1-2".',
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise self.fail(path, f'ends before it starts; write the range as "{last}-{first}".')
        return first, last

    def response(self, path: str, entry: Any) -> MockedResponse:
        if not isinstance(entry, Mapping):
            raise self.fail(path, 'must be an object with exactly one field, "Return" or "Throw".')
        fields = sorted(entry)
        if fields not in (["Return"], ["Throw"]):
            found = ", ".join(fields) or "no fields"
            raise self.fail(
                path, f'must have exactly one field, "Return" or "Throw" (found: {found}).'
            )

        if "Return" in entry:
            return MockedResponse(result=entry["Return"])

        throw = entry["Throw"]
        throw_path = f"{path}.Throw"
        if not isinstance(throw, Mapping):
            raise self.fail(throw_path, 'must be an object with "Error" and "Cause" strings.')
        for field in ("Error", "Cause"):
            if not isinstance(throw.get(field), str):
                raise self.fail(f"{throw_path}.{field}", "is required and must be a string.")
        extra = sorted(set(throw) - {"Error", "Cause"})
        if extra:
            raise self.fail(
                f"{throw_path}.{extra[0]}", 'is not allowed; Throw has only "Error" and "Cause".'
            )
        return MockedResponse(error=throw["Error"], cause=throw["Cause"])
