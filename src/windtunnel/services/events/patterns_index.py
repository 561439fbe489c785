"""An index of many event patterns that finds the matching ones without testing them all.

Each pattern branch that requires a field to equal one of a few exact values (a string,
number, boolean or null) is filed under that field path and those values. Matching an
event then looks up the event's own values at the indexed paths and fully tests only
the branches found there. Branches without such a field, for example ones built only from
``prefix`` or ``numeric``, are tested on every event.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar

from windtunnel.services.events.patterns_compile import Branch, FieldCondition
from windtunnel.services.events.patterns_match import (
    FlatEvent,
    Pattern,
    branch_matches,
    compile_pattern,
    flatten_event,
)
from windtunnel.services.events.patterns_matchers import ExactLiteral, ExactNumber, ExactString

RuleId = TypeVar("RuleId", bound=Hashable)

# A JSON type tag with the value, so that "1", 1 and true never share a key.
ValueKey = tuple[str, Any]


def value_key(value: Any) -> ValueKey | None:
    """Return the index key of an event leaf value."""
    if value is None or isinstance(value, bool):
        return ("literal", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, int | float | Decimal):
        return ("number", value)
    return None


def _has_key(fields: FlatEvent, path: str, keys: frozenset[ValueKey]) -> bool:
    """Tell whether any event value at ``path`` is one of ``keys``."""
    return any(value_key(value) in keys for value, _ in fields.get(path, ()))


def _condition_keys(condition: FieldCondition) -> list[ValueKey] | None:
    """Return the keys of a condition made only of exact values, or None."""
    if condition.allows_absence or not condition.matchers:
        return None
    keys: list[ValueKey] = []
    for matcher in condition.matchers:
        if isinstance(matcher, ExactString) and matcher.address is None:
            keys.append(("string", matcher.value))
        elif isinstance(matcher, ExactNumber):
            keys.append(("number", matcher.value))
        elif isinstance(matcher, ExactLiteral):
            keys.append(("literal", matcher.value))
        else:
            return None
    return keys


class PatternIndex(Generic[RuleId]):
    """Event patterns keyed by rule id, searched for the rules that match an event."""

    def __init__(self) -> None:
        self._patterns: dict[RuleId, Pattern] = {}
        # path -> value key -> (rule id, branch number) entries filed there.
        self._keyed: dict[str, dict[ValueKey, set[tuple[RuleId, int]]]] = {}
        self._unkeyed: dict[tuple[RuleId, int], Branch] = {}
        # A second exact-value condition of a filed branch: a cheap check that rules out
        # most candidates before the whole branch is matched.
        self._second: dict[tuple[RuleId, int], tuple[str, frozenset[ValueKey]]] = {}
        self._filed: dict[RuleId, list[tuple[str, list[ValueKey]]]] = {}
        # Insertion sequence numbers, to return matches in the order rules were added.
        self._order: dict[RuleId, int] = {}
        self._next_order = 0

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._patterns

    def add(self, rule_id: RuleId, pattern: str | dict[str, Any] | Pattern) -> Pattern:
        """Add or replace the pattern of ``rule_id`` and return it compiled.

        Raises InvalidEventPatternError, leaving the index unchanged, for an invalid pattern.
        """
        compiled = pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)
        if rule_id in self._patterns:
            self.remove(rule_id)
        self._patterns[rule_id] = compiled
        self._order[rule_id] = self._next_order
        self._next_order += 1
        filed: list[tuple[str, list[ValueKey]]] = []
        for number, branch in enumerate(compiled.branches):
            entry = (rule_id, number)
            best = self._choose_key_condition(branch)
            if best is None:
                self._unkeyed[entry] = branch
                continue
            path, keys = best
            second = self._second_key_condition(branch, path)
            if second is not None:
                self._second[entry] = second
            table = self._keyed.setdefault(path, {})
            for key in keys:
                table.setdefault(key, set()).add(entry)
            filed.append((path, keys))
        self._filed[rule_id] = filed
        return compiled

    def remove(self, rule_id: RuleId) -> None:
        """Remove a rule; raises KeyError when it is not in the index."""
        compiled = self._patterns.pop(rule_id)
        del self._order[rule_id]
        for number in range(len(compiled.branches)):
            self._unkeyed.pop((rule_id, number), None)
            self._second.pop((rule_id, number), None)
        for path, keys in self._filed.pop(rule_id):
            table = self._keyed[path]
            for key in keys:
                entries = table.get(key)
                if entries is None:
                    continue
                entries.difference_update({(rule_id, n) for n in range(len(compiled.branches))})
                if not entries:
                    del table[key]
            if not table:
                del self._keyed[path]

    def matching(self, event: Mapping[str, Any]) -> list[RuleId]:
        """Return the ids of the rules whose pattern matches ``event``, in insertion order."""
        fields = flatten_event(event)
        matched: set[RuleId] = set()
        for (rule_id, _), branch in self._unkeyed.items():
            if rule_id not in matched and branch_matches(branch, fields):
                matched.add(rule_id)
        for rule_id, number in self._candidates(fields):
            if rule_id in matched:
                continue
            second = self._second.get((rule_id, number))
            if second is not None and not _has_key(fields, *second):
                continue
            if branch_matches(self._patterns[rule_id].branches[number], fields):
                matched.add(rule_id)
        return sorted(matched, key=self._order.__getitem__)

    def _candidates(self, fields: FlatEvent) -> set[tuple[RuleId, int]]:
        candidates: set[tuple[RuleId, int]] = set()
        paths = self._keyed.keys() & fields.keys()
        for path in paths:
            table = self._keyed[path]
            for value, _ in fields[path]:
                key = value_key(value)
                if key is not None:
                    candidates |= table.get(key, set())
        return candidates

    def _second_key_condition(self, branch: Branch, first_path: str
                              ) -> tuple[str, frozenset[ValueKey]] | None:
        """Pick another exact-value condition than the one the branch is filed under."""
        for condition in branch:
            keys = _condition_keys(condition)
            if keys is not None and condition.path != first_path:
                return condition.path, frozenset(keys)
        return None

    def _choose_key_condition(self, branch: Branch) -> tuple[str, list[ValueKey]] | None:
        """Pick the exact-value condition with the fewest values to file a branch under."""
        best: tuple[str, list[ValueKey]] | None = None
        for condition in branch:
            keys = _condition_keys(condition)
            if keys is not None and (best is None or len(keys) < len(best[1])):
                best = (condition.path, keys)
        return best
