"""Match events against compiled EventBridge patterns.

An event is flattened into leaf values keyed by dotted path, so ``{"a": {"b": 1}}`` and
``{"a.b": 1}`` give the same path ``a.b``. Arrays are transparent: each element is stored
under the array's own path. Empty arrays and empty objects produce no leaf, so they count
as absent.

Matching is array-consistent like ruler's ``rulesForJSONEvent``: when one branch uses
several fields from elements of the same array, the values must come from the same
element. Each leaf therefore carries a trail of ``(array id, element index)`` pairs. When
no array lies on the paths a pattern reads, every trail is empty and each condition is
checked on its own, without that search.

NOTE: an event key that contains a dot, such as ``{"a.b": 1}``, is matched like nesting.
Ruler's RulerTest matches pattern ``{"detail": {"c.count": [5]}}`` against an event key
``c.count`` under ``detail``, but a top-level event key ``detail.c.count`` is untested there
and unverified on EventBridge.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from windtunnel.services.events.patterns_compile import (
    MAX_PATTERN_LENGTH,
    Branch,
    FieldCondition,
    compile_branches,
    load_pattern_json,
)

# The arrays a leaf sits in, outermost first, as (array id, element index) pairs.
Trail = tuple[tuple[int, int], ...]
# Flattened event: dotted path -> leaf values with their trails.
FlatEvent = dict[str, list[tuple[Any, Trail]]]


def flatten_event(event: Mapping[str, Any],
                  read_paths: frozenset[str] | None = None) -> FlatEvent:
    """Flatten an event into its leaf values keyed by dotted path.

    With ``read_paths`` (the paths a pattern reads and every prefix of them), the parts of the
    event that no condition reads are skipped.
    """
    fields: FlatEvent = {}
    array_ids = 0
    stack: list[tuple[str, Any, Trail]] = [("", event, ())]
    while stack:
        path, node, trail = stack.pop()
        node_type = type(node)
        # Exact type checks first: the abstract-class checks are slow for every JSON leaf.
        if node_type is dict or (node_type not in _LEAF_TYPES and isinstance(node, Mapping)):
            for key, child in node.items():
                child_path = f"{path}.{key}" if path else str(key)
                if read_paths is None or child_path in read_paths:
                    stack.append((child_path, child, trail))
        elif node_type is list or (node_type not in _LEAF_TYPES and isinstance(node, list)):
            array_ids += 1
            for index, element in enumerate(node):
                stack.append((path, element, (*trail, (array_ids, index))))
        else:
            fields.setdefault(path, []).append((node, trail))
    return fields


# The types of JSON leaves, which are neither objects nor arrays.
_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})
_ABSENT = object()

# For one event path: each object key below it that leads to a path some pattern reads,
# mapped to that path and its own plan. A key may contain dots, because an event key
# "a.b" reaches the same path as the nested keys "a" and "b".
ReadPlan = dict[str, tuple[str, "ReadPlan"]]


def build_read_plan(paths: Iterable[str]) -> ReadPlan:
    """Return the plan for the event root that reaches ``paths`` and nothing else."""
    plans: dict[str, ReadPlan] = {"": {}}
    for path in _paths_and_prefixes(paths):
        plans.setdefault(path, {})
    for path, plan in plans.items():
        parts = path.split(".") if path else []
        for end in range(len(parts)):
            parent = ".".join(parts[:end])
            plans[parent][".".join(parts[end:])] = (path, plan)
    return plans[""]


def gather_fields(event: Mapping[str, Any], plan: ReadPlan) -> tuple[FlatEvent, bool]:
    """Flatten the parts of ``event`` that ``plan`` reaches, like ``flatten_event``.

    Returns the fields and whether an array was entered. Event object keys are taken to be
    strings, as they are in JSON. For each object the cheaper of two walks is chosen: the
    plan's keys are looked up, or the object's keys are looked up in the plan.
    """
    fields: FlatEvent = {}
    array_ids = 0
    stack: list[tuple[str, Any, ReadPlan, Trail]] = [("", event, plan, ())]
    while stack:
        path, node, node_plan, trail = stack.pop()
        node_type = type(node)
        if node_type is dict or (node_type not in _LEAF_TYPES and isinstance(node, Mapping)):
            if len(node_plan) <= len(node):
                for key, (child_path, child_plan) in node_plan.items():
                    child = node.get(key, _ABSENT)
                    if child is _ABSENT:
                        continue
                    if type(child) in _LEAF_TYPES:
                        # Stored at once: most children are leaves, and this skips the stack.
                        values = fields.get(child_path)
                        if values is None:
                            fields[child_path] = [(child, trail)]
                        else:
                            values.append((child, trail))
                    else:
                        stack.append((child_path, child, child_plan, trail))
            else:
                for key, child in node.items():
                    entry = node_plan.get(key)
                    if entry is None:
                        continue
                    if type(child) in _LEAF_TYPES:
                        values = fields.get(entry[0])
                        if values is None:
                            fields[entry[0]] = [(child, trail)]
                        else:
                            values.append((child, trail))
                    else:
                        stack.append((entry[0], child, entry[1], trail))
        elif node_type is list or (node_type not in _LEAF_TYPES and isinstance(node, list)):
            array_ids += 1
            for index, element in enumerate(node):
                stack.append((path, element, node_plan, (*trail, (array_ids, index))))
        else:
            values = fields.get(path)
            if values is None:
                fields[path] = [(node, trail)]
            else:
                values.append((node, trail))
    return fields, array_ids > 0


def branch_matches_without_arrays(branch: Branch, fields: FlatEvent) -> bool:
    """Return whether ``branch`` holds on a flattened event in which no array was entered.

    Without arrays every leaf's trail is empty, so each condition holds on its own: through
    a value it accepts, or through absence when the path has no value at all.
    """
    for condition in branch:
        values = fields.get(condition.path)
        if values is None:
            if not condition.allows_absence:
                return False
            continue
        for value, _ in values:
            if condition.accepts(value):
                break
        else:
            return False
    return True


def branch_matches(branch: Branch, fields: FlatEvent) -> bool:
    """Return whether every condition of ``branch`` holds on one flattened event."""
    choices: list[_Choice] = []
    for condition in branch:
        choice = _choice_for(condition, fields)
        if choice is None:
            return False
        if choice is not _SATISFIED:
            choices.append(choice)
    if not choices:
        return True
    # Conditions that cannot be met by absence go first, so that absences are checked
    # against the array elements the other conditions picked.
    choices.sort(key=lambda choice: (choice.absent_trails is not None, len(choice.trails)))
    return _choose_consistent(choices, 0, {}, [])


@dataclass(frozen=True)
class _Choice:
    """The ways one condition can hold: through one of ``trails``, or through absence.

    ``absent_trails`` lists the trails of every leaf at the path when absence is allowed.
    Absence holds when none of them is consistent with the elements the other conditions
    picked: ``{"firstName": ["Anna"], "ids": [{"exists": false}]}`` matches an array of
    people where Anna has no ids even though another person has.
    """

    trails: list[Trail]
    absent_trails: list[Trail] | None


_SATISFIED = _Choice([], None)


def _choice_for(condition: FieldCondition, fields: FlatEvent) -> _Choice | None:
    """Return how ``condition`` can hold, ``_SATISFIED`` when always, or None when never."""
    entries = fields.get(condition.path)
    if not entries:
        return _SATISFIED if condition.allows_absence else None
    trails = list(dict.fromkeys(trail for value, trail in entries if condition.accepts(value)))
    if () in trails:
        return _SATISFIED
    all_trails = [trail for _, trail in entries]
    absent_trails = None
    if condition.allows_absence and () not in all_trails:
        absent_trails = list(dict.fromkeys(all_trails))
    if not trails and absent_trails is None:
        return None
    return _Choice(trails, absent_trails)


def _is_consistent(trail: Trail, chosen: dict[int, int]) -> bool:
    return all(chosen.get(array_id, index) == index for array_id, index in trail)


def _choose_consistent(
    choices: list[_Choice],
    position: int,
    chosen: dict[int, int],
    absences: list[list[Trail]],
) -> bool:
    """Pick one way per condition so that no array is entered at two different elements."""
    if position == len(choices):
        return not any(
            _is_consistent(trail, chosen) for trails in absences for trail in trails
        )
    choice = choices[position]
    for trail in choice.trails:
        if not _is_consistent(trail, chosen):
            continue
        added = [array_id for array_id, _ in trail if array_id not in chosen]
        for array_id, index in trail:
            chosen.setdefault(array_id, index)
        if _choose_consistent(choices, position + 1, chosen, absences):
            return True
        for array_id in added:
            del chosen[array_id]
    if choice.absent_trails is not None:
        absences.append(choice.absent_trails)
        if _choose_consistent(choices, position + 1, chosen, absences):
            return True
        absences.pop()
    return False


def _paths_and_prefixes(paths: Iterable[str]) -> frozenset[str]:
    read_paths: set[str] = set()
    for path in paths:
        parts = path.split(".")
        read_paths.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return frozenset(read_paths)


class Pattern:
    """A validated EventBridge event pattern.

    ``paths`` is the set of flattened field paths that its conditions read.
    """

    def __init__(self, source: Any, branches: list[Branch]) -> None:
        self.source = source
        self.branches = branches
        self.paths = frozenset(condition.path for branch in branches for condition in branch)
        self._read_plan = build_read_plan(self.paths)

    def matches(self, event: Mapping[str, Any] | str) -> bool:
        """Return whether ``event`` matches, like the ``TestEventPattern`` API."""
        fields, entered_array = gather_fields(_load_event(event), self._read_plan)
        if entered_array:
            return self.matches_flat(fields)
        for branch in self.branches:  # noqa: SIM110 (a loop is faster than any() here)
            if branch_matches_without_arrays(branch, fields):
                return True
        return False

    def matches_flat(self, fields: FlatEvent) -> bool:
        """Return whether an already flattened event matches."""
        return any(branch_matches(branch, fields) for branch in self.branches)

    def __repr__(self) -> str:
        return f"Pattern({json.dumps(self.source, default=str)})"


def compile_pattern(
    pattern: str | dict[str, Any], *, max_length: int = MAX_PATTERN_LENGTH
) -> Pattern:
    """Validate an event pattern like EventBridge and compile it.

    ``max_length`` is the account's "Event pattern size" quota in characters. Raises
    InvalidEventPatternError with AWS's message when EventBridge would reject the pattern.
    """
    document, length = load_pattern_json(pattern)
    return Pattern(document, compile_branches(document, length, max_length))


def matches(pattern: str | dict[str, Any] | Pattern, event: Mapping[str, Any] | str) -> bool:
    """Return whether ``event`` matches ``pattern``, like the ``TestEventPattern`` API."""
    compiled = pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)
    return compiled.matches(event)


def _load_event(event: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(event, str):
        loaded = json.loads(event)
        if not isinstance(loaded, dict):
            raise ValueError("An event must be a JSON object")
        return loaded
    return event
