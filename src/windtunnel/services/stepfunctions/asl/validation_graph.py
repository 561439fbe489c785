"""Definition checks of transitions: targets that exist, reachable states, a terminal state.

Each scope (the machine, a Parallel branch, a Map's processor) is checked on its own,
because a transition cannot leave its scope.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from windtunnel.services.stepfunctions.asl.validation_report import (
    MISSING_END_STATE,
    MISSING_TRANSITION_TARGET,
    Report,
    child,
    item,
)
from windtunnel.services.stepfunctions.asl.validation_states import TERMINAL_TYPES, Scope

__all__ = ["check_transitions"]


def check_transitions(report: Report, scopes: list[Scope]) -> None:
    """Check the transitions of every scope, in the order the scopes were found."""
    for scope in scopes:
        _check_scope(report, scope)


def _check_scope(report: Report, scope: Scope) -> None:
    states = scope.states
    states_location = child(scope.location, "States")

    # Recorded from AWS: every dangling target is named "Next", whichever field holds it,
    # e.g. "Missing 'Next' target: pass3" at /States/pass1/Next, and at /StartAt for a
    # StartAt that names no state.
    if isinstance(scope.start_at, str) and scope.start_at not in states:
        _report_missing_target(report, scope.start_at, child(scope.location, "StartAt"))
    for name, state in states.items():
        for target, location in _targets(state, child(states_location, name)):
            if target not in states:
                _report_missing_target(report, target, location)

    if not any(_is_terminal(state) for state in states.values()):
        # Recorded from AWS: "Workflow has no terminal state" without a location; it
        # replaces the reachability check, so no state is also reported unreachable.
        report.error(MISSING_END_STATE, "Workflow has no terminal state", None)
        return

    reachable = _reachable(scope)
    for name in states:
        if name not in reachable:
            # Recorded from AWS: 'State "pass2" is not reachable.' at /States/pass2.
            report.error(MISSING_TRANSITION_TARGET, f'State "{name}" is not reachable.',
                         child(states_location, name))


def _report_missing_target(report: Report, target: str, location: str) -> None:
    report.error(MISSING_TRANSITION_TARGET, f"Missing 'Next' target: {target}", location)


def _targets(state: Any, location: str) -> Iterator[tuple[str, str]]:
    """The names a state can move to, each with the location of the field naming it."""
    if not isinstance(state, Mapping):
        return
    if isinstance(state.get("Next"), str):
        yield state["Next"], child(location, "Next")

    choices = state.get("Choices")
    if state.get("Type") == "Choice" and isinstance(choices, list):
        for index, rule in enumerate(choices):
            if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
                yield rule["Next"], child(item(child(location, "Choices"), index), "Next")
    if state.get("Type") == "Choice" and isinstance(state.get("Default"), str):
        yield state["Default"], child(location, "Default")

    catchers = state.get("Catch")
    if isinstance(catchers, list):
        for index, catcher in enumerate(catchers):
            if isinstance(catcher, Mapping) and isinstance(catcher.get("Next"), str):
                yield catcher["Next"], child(item(child(location, "Catch"), index), "Next")


def _is_terminal(state: Any) -> bool:
    if not isinstance(state, Mapping):
        return False
    return state.get("End") is True or state.get("Type") in TERMINAL_TYPES


def _reachable(scope: Scope) -> set[str]:
    """The names of the states that a path from StartAt can reach."""
    start = scope.start_at
    if not isinstance(start, str) or start not in scope.states:
        return set()

    reachable = {start}
    pending = [start]
    while pending:
        name = pending.pop()
        for target, _location in _targets(scope.states[name], ""):
            if target in scope.states and target not in reachable:
                reachable.add(target)
                pending.append(target)
    return reachable
