"""An index of many event patterns that finds the matching ones without testing them all.

The index is a tree over the exact-value conditions of each pattern branch. A condition is
exact when it accepts only exact strings, numbers, booleans or null and does not allow
absence. A branch's exact conditions, sorted by path, are the edges from the root to the
node where the branch is filed. An edge is followed when the event has one of the
condition's values at its path. Matching an event walks only the edges the event's own
values select, so the work depends on how many branches the event's values reach, not on
how many rules the index contains. The branches filed at the nodes reached are then tested on the
conditions the tree did not check. Equal conditions of different rules are stored once
and evaluated at most once per event. Branches without exact conditions sit at the root
and are tested on every event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar

from windtunnel.services.events.patterns_compile import Branch, FieldCondition
from windtunnel.services.events.patterns_match import (
    FlatEvent,
    Pattern,
    ReadPlan,
    Trail,
    branch_matches,
    branch_matches_without_arrays,
    build_read_plan,
    compile_pattern,
    gather_fields,
)
from windtunnel.services.events.patterns_matchers import (
    ExactLiteral,
    ExactNumber,
    ExactString,
    is_nan,
)

RuleId = TypeVar("RuleId", bound=Hashable)

# The key of an event leaf value in the tree. Strings and numbers are their own keys, which
# never collide: a Python string never equals a number. Booleans and null are wrapped,
# because True == 1 and False == 0 in Python while JSON keeps them apart.
ValueKey = Hashable
_LITERAL = "literal"

# The edge label of one exact condition: its path and the keys of its values.
EdgeLabel = tuple[str, frozenset[ValueKey]]
# The values of one path in a flattened event.
_Values = list[tuple[Any, Trail]]


def value_key(value: Any) -> ValueKey | None:
    """Return the tree key of an event leaf value, or None for a value no key describes."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return (_LITERAL, value)
    if isinstance(value, int | float | Decimal):
        return value
    return None


def _condition_keys(condition: FieldCondition) -> frozenset[ValueKey] | None:
    """Return the keys of a condition made only of exact values, or None."""
    if condition.allows_absence or not condition.matchers:
        return None
    keys: set[ValueKey] = set()
    for matcher in condition.matchers:
        if isinstance(matcher, ExactString) and matcher.address is None:
            keys.add(matcher.value)
        elif isinstance(matcher, ExactNumber):
            # NaN equals no event value, so it needs no key.
            if not is_nan(matcher.value):
                keys.add(matcher.value)
        elif isinstance(matcher, ExactLiteral):
            keys.add((_LITERAL, matcher.value))
        else:
            return None
    return frozenset(keys)


class _Entry(Generic[RuleId]):
    """One pattern branch filed at a node, with the conditions the path to it leaves open.

    ``sequence`` numbers the rules in the order they were added.
    """

    __slots__ = ("branch", "rest", "rule_id", "sequence")

    def __init__(self, rule_id: RuleId, sequence: int, branch: Branch, rest: Branch) -> None:
        self.rule_id = rule_id
        self.sequence = sequence
        self.branch = branch
        self.rest = rest


class _Node(Generic[RuleId]):
    """A node of the tree: its outgoing edges and the branches filed at it."""

    __slots__ = ("children", "edges", "entries", "label", "parent")

    def __init__(self, parent: _Node[RuleId] | None, label: EdgeLabel | None) -> None:
        self.parent = parent
        self.label = label
        self.children: dict[EdgeLabel, _Node[RuleId]] = {}
        # path -> value key -> the children whose edge accepts that value at that path.
        self.edges: dict[str, dict[ValueKey, list[_Node[RuleId]]]] = {}
        self.entries: dict[tuple[RuleId, int], _Entry[RuleId]] = {}

    def child(self, label: EdgeLabel) -> _Node[RuleId]:
        """Return the child at the end of the edge ``label``, created when missing."""
        node = self.children.get(label)
        if node is None:
            node = _Node(self, label)
            self.children[label] = node
            path, keys = label
            by_key = self.edges.setdefault(path, {})
            for key in keys:
                by_key.setdefault(key, []).append(node)
        return node

    def prune(self) -> None:
        """Detach this node and then each ancestor that no longer files or leads anywhere."""
        node = self
        while not node.entries and not node.children:
            parent, label = node.parent, node.label
            if parent is None or label is None:
                return  # The root stays.
            path, keys = label
            del parent.children[label]
            by_key = parent.edges[path]
            for key in keys:
                siblings = by_key[key]
                siblings.remove(node)
                if not siblings:
                    del by_key[key]
            if not by_key:
                del parent.edges[path]
            node = parent


class PatternIndex(Generic[RuleId]):
    """Event patterns keyed by rule id, searched for the rules that match an event."""

    def __init__(self) -> None:
        self._patterns: dict[RuleId, Pattern] = {}
        self._root: _Node[RuleId] = _Node(None, None)
        self._filed: dict[RuleId, list[_Node[RuleId]]] = {}
        # Sequence numbers, to return matches in the order rules were added.
        self._next_sequence = 0
        # How many rules read each path, and the plan that reads them all, rebuilt on use
        # after the set of paths changes.
        self._path_counts: Counter[str] = Counter()
        self._read_plan: ReadPlan | None = None
        # One object for each distinct condition left for the entries, with the number of
        # entries that use it, so that a condition's result can be kept by its id.
        self._shared: dict[FieldCondition, tuple[FieldCondition, int]] = {}

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
        sequence = self._next_sequence
        self._next_sequence += 1

        filed: list[_Node[RuleId]] = []
        for number, branch in enumerate(compiled.branches):
            labels: list[EdgeLabel] = []
            rest: list[FieldCondition] = []
            for condition in branch:
                keys = _condition_keys(condition)
                if keys is None:
                    rest.append(self._share(condition))
                else:
                    labels.append((condition.path, keys))
            node = self._root
            for label in sorted(labels, key=_label_order):
                node = node.child(label)
            node.entries[(rule_id, number)] = _Entry(rule_id, sequence, branch, tuple(rest))
            filed.append(node)
        self._filed[rule_id] = filed

        for path in compiled.paths:
            if self._path_counts[path] == 0:
                self._read_plan = None
            self._path_counts[path] += 1
        return compiled

    def remove(self, rule_id: RuleId) -> None:
        """Remove a rule; raises KeyError when it is not in the index."""
        compiled = self._patterns.pop(rule_id)
        for number, node in enumerate(self._filed.pop(rule_id)):
            entry = node.entries.pop((rule_id, number))
            for condition in entry.rest:
                self._unshare(condition)
            node.prune()
        for path in compiled.paths:
            self._path_counts[path] -= 1
            if self._path_counts[path] == 0:
                del self._path_counts[path]
                self._read_plan = None

    def matching(self, event: Mapping[str, Any]) -> list[RuleId]:
        """Return the ids of the rules whose pattern matches ``event``, in insertion order."""
        if self._read_plan is None:
            self._read_plan = build_read_plan(self._path_counts)
        fields, entered_array = gather_fields(event, self._read_plan)

        matched: dict[int, RuleId] = {}  # by sequence number
        # Results of the shared conditions on this event, by the condition's id.
        results: dict[int, bool] = {}
        for entry in self._reached_entries(fields):
            if entry.sequence in matched:
                continue
            # With arrays the whole branch is matched, for array consistency. Without them
            # each condition holds on its own, and the tree has checked the exact ones.
            if entered_array:
                if branch_matches(entry.branch, fields):
                    matched[entry.sequence] = entry.rule_id
                continue
            for condition in entry.rest:
                satisfied = results.get(id(condition))
                if satisfied is None:
                    satisfied = branch_matches_without_arrays((condition,), fields)
                    results[id(condition)] = satisfied
                if not satisfied:
                    break
            else:
                matched[entry.sequence] = entry.rule_id
        return [matched[sequence] for sequence in sorted(matched)]

    def _share(self, condition: FieldCondition) -> FieldCondition:
        """Return the stored condition equal to ``condition``, storing it when new."""
        try:
            shared, users = self._shared.get(condition, (condition, 0))
        except TypeError:
            return condition  # A value that cannot be hashed, such as a signaling NaN.
        self._shared[shared] = (shared, users + 1)
        return shared

    def _unshare(self, condition: FieldCondition) -> None:
        """Forget one use of a condition returned by ``_share``."""
        try:
            shared, users = self._shared[condition]
        except (KeyError, TypeError):
            return
        if users > 1:
            self._shared[shared] = (shared, users - 1)
        else:
            del self._shared[shared]

    def _reached_entries(self, fields: FlatEvent) -> list[_Entry[RuleId]]:
        """Walk the edges that the event's values select and return the entries found."""
        entries: list[_Entry[RuleId]] = []
        pending = [self._root]
        while pending:
            node = pending.pop()
            if node.entries:
                entries.extend(node.entries.values())
            edges = node.edges
            if not edges:
                continue
            # Iterate over the smaller side: the node's paths or the event's.
            steps: list[tuple[dict[ValueKey, list[_Node[RuleId]]] | None, _Values | None]]
            if len(edges) <= len(fields):
                steps = [(by_key, fields.get(path)) for path, by_key in edges.items()]
            else:
                steps = [(edges.get(path), values) for path, values in fields.items()]
            for by_key, values in steps:
                if by_key is None or values is None:
                    continue
                if len(values) == 1:
                    value = values[0][0]
                    key = value if type(value) is str else value_key(value)
                    children = by_key.get(key)
                    if children is not None:
                        pending.extend(children)
                    continue
                # Several values can lead to the same child, which is walked once.
                reached: set[_Node[RuleId]] = set()
                for value, _ in values:
                    key = value if type(value) is str else value_key(value)
                    children = by_key.get(key)
                    if children is not None:
                        reached.update(children)
                pending.extend(reached)
        return entries


def _label_order(label: EdgeLabel) -> str:
    return label[0]
