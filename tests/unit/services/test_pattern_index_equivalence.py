"""Seeded random rules and events: the pattern index matches what each pattern alone matches.

The patterns use the operators of EventBridge's event pattern reference: exact values,
prefix, suffix, equals-ignore-case, wildcard, numeric ranges, anything-but, exists,
``$or`` and nested keys. Events carry arrays, where any element may match:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
The expected matches come from ``compile_pattern(pattern).matches(event)``, one rule at a
time, which the conformance tests hold to that reference.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from windtunnel.services.events.patterns import Pattern, PatternIndex, compile_pattern

SOURCES = ["shop.orders", "shop.payments", "shop.shipping", "billing", "Shop.Orders"]
DETAIL_TYPES = ["OrderPlaced", "OrderShipped", "PaymentFailed", "ItemAdded"]
STATUSES = ["new", "paid", "shipped", "cancelled", "PAID"]
TIERS = ["gold", "silver", "bronze"]
SKUS = ["sku-1", "sku-2", "sku-3", "box-1"]
REGIONS = ["eu-west-1", "us-east-1", "us-west-2"]
AMOUNTS = [0, 5, 5.0, 10, 42.5, 100, 150, 1e3, -3]

# Sized so that the whole module runs in about 2 seconds.
SEEDS = (20261205, 7, 4242, 99)
RULES_PER_SEED = 250
EVENTS_PER_SEED = 300
MUTATIONS_PER_SEED = 150


# --- patterns -----------------------------------------------------------------------------


def _string_condition(rng: random.Random, values: list[str]) -> list[Any]:
    """Return the list of matchers for one string field."""
    value = rng.choice(values)
    kind = rng.randrange(9)
    if kind == 0:
        return [{"prefix": value[: rng.randint(1, len(value))]}]
    if kind == 1:
        return [{"suffix": value[-rng.randint(1, len(value)):]}]
    if kind == 2:
        return [{"equals-ignore-case": value.upper()}]
    if kind == 3:
        return [{"anything-but": rng.sample(values, rng.randint(1, 2))}]
    if kind == 4:
        return [{"anything-but": {"prefix": value[:2]}}]
    if kind == 5:
        return [{"wildcard": value[:2] + "*"}]
    if kind == 6:
        return [{"exists": rng.random() < 0.5}]
    if kind == 7:
        # An exact value with another operator in the same list: either may match.
        return [value, {"prefix": rng.choice(values)[:3]}]
    return rng.sample(values, rng.randint(1, 3))


def _number_condition(rng: random.Random) -> list[Any]:
    kind = rng.randrange(5)
    low = rng.choice([0, 5, 10, 42.5])
    high = low + rng.choice([1, 50, 500])
    if kind == 0:
        return [{"numeric": [">", low]}]
    if kind == 1:
        return [{"numeric": [">=", low, "<", high]}]
    if kind == 2:
        return [{"numeric": ["=", rng.choice(AMOUNTS)]}]
    if kind == 3:
        return [{"anything-but": [rng.choice([5, 10, 100])]}]
    return rng.sample([5, 10, 100, 150, 1000], rng.randint(1, 2))


def _detail_pattern(rng: random.Random) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if rng.random() < 0.6:
        detail["status"] = _string_condition(rng, STATUSES)
    if rng.random() < 0.4:
        detail["amount"] = _number_condition(rng)
    if rng.random() < 0.35:
        detail["customer"] = {"tier": _string_condition(rng, TIERS)}
    if rng.random() < 0.3:
        # "items" is an array of strings in events: any element may match.
        detail["items"] = _string_condition(rng, SKUS)
    if rng.random() < 0.25:
        # "lines" is an array of objects: the fields must hold in one element.
        lines: dict[str, Any] = {"sku": _string_condition(rng, SKUS)}
        if rng.random() < 0.5:
            lines["quantity"] = _number_condition(rng)
        detail["lines"] = lines
    if rng.random() < 0.2:
        detail["flag"] = [rng.choice([True, False])]
    if rng.random() < 0.15:
        detail["note"] = [None] if rng.random() < 0.5 else [{"exists": False}]
    return detail


def _pattern(rng: random.Random) -> dict[str, Any]:
    pattern: dict[str, Any] = {}
    if rng.random() < 0.7:
        pattern["source"] = _string_condition(rng, SOURCES)
    if rng.random() < 0.5:
        pattern["detail-type"] = rng.sample(DETAIL_TYPES, rng.randint(1, 2))
    if rng.random() < 0.2:
        pattern["resources"] = _string_condition(rng, REGIONS)
    detail = _detail_pattern(rng)
    if detail:
        pattern["detail"] = detail
    if rng.random() < 0.2:
        pattern["$or"] = [{"detail": _detail_pattern(rng) or {"status": ["new"]}},
                          {"region": [rng.choice(REGIONS)]}]
    if not pattern:
        pattern["source"] = [rng.choice(SOURCES)]
    return pattern


# --- events -------------------------------------------------------------------------------


def _event(rng: random.Random) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if rng.random() < 0.9:
        detail["status"] = rng.choice(STATUSES)
    if rng.random() < 0.8:
        detail["amount"] = rng.choice(AMOUNTS)
    if rng.random() < 0.6:
        detail["customer"] = {"tier": rng.choice(TIERS)}
    if rng.random() < 0.5:
        detail["items"] = rng.sample(SKUS, rng.randint(0, 3))
    if rng.random() < 0.4:
        detail["lines"] = [{"sku": rng.choice(SKUS), "quantity": rng.choice(AMOUNTS)}
                           for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.4:
        detail["flag"] = rng.choice([True, False, 1, 0])
    if rng.random() < 0.3:
        detail["note"] = rng.choice([None, "gift", 0])
    return {
        "version": "0",
        "id": f"event-{rng.randrange(10**6)}",
        "source": rng.choice(SOURCES),
        "detail-type": rng.choice(DETAIL_TYPES),
        "account": "123456789012",
        "region": rng.choice(REGIONS),
        "resources": rng.sample(REGIONS, rng.randint(0, 2)),
        "detail": detail,
    }


# --- the comparison -----------------------------------------------------------------------


class Reference:
    """The rules as a list, matched one by one, in the order of their last addition."""

    def __init__(self) -> None:
        self.rules: dict[int, tuple[int, Pattern]] = {}
        self._sequence = 0

    def add(self, rule_id: int, pattern: Pattern) -> None:
        self.rules.pop(rule_id, None)
        self.rules[rule_id] = (self._sequence, pattern)
        self._sequence += 1

    def remove(self, rule_id: int) -> None:
        del self.rules[rule_id]

    def matching(self, event: dict[str, Any]) -> list[int]:
        found = [(sequence, rule_id) for rule_id, (sequence, pattern) in self.rules.items()
                 if pattern.matches(event)]
        return [rule_id for _, rule_id in sorted(found)]


def _compare(index: PatternIndex[int], reference: Reference, rng: random.Random,
             events: int) -> int:
    """Match ``events`` random events both ways; return how many matched any rule."""
    matched = 0
    for _ in range(events):
        event = _event(rng)
        expected = reference.matching(event)
        assert index.matching(event) == expected, event
        matched += bool(expected)
    return matched


@pytest.mark.parametrize("seed", SEEDS)
def test_index_matches_each_pattern(seed: int) -> None:
    """After adds, replacements and removals, the index returns the brute-force matches."""
    rng = random.Random(seed)
    index: PatternIndex[int] = PatternIndex()
    reference = Reference()
    for rule_id in range(RULES_PER_SEED):
        pattern = _pattern(rng)
        reference.add(rule_id, compile_pattern(pattern))
        index.add(rule_id, pattern)

    matched = _compare(index, reference, rng, EVENTS_PER_SEED // 2)

    for _ in range(MUTATIONS_PER_SEED):
        rule_id = rng.randrange(RULES_PER_SEED + 20)
        if rule_id in index and rng.random() < 0.5:
            index.remove(rule_id)
            reference.remove(rule_id)
        else:
            pattern = _pattern(rng)
            reference.add(rule_id, compile_pattern(pattern))
            index.add(rule_id, pattern)
    matched += _compare(index, reference, rng, EVENTS_PER_SEED // 2)

    assert len(index) == len(reference.rules)
    # The vocabularies are small so that events do match: a comparison of empty results
    # alone would prove little.
    assert matched > EVENTS_PER_SEED // 4


def test_index_empty_after_removing_all() -> None:
    """Removing every rule leaves an index that matches nothing."""
    rng = random.Random(SEEDS[0])
    index: PatternIndex[int] = PatternIndex()
    for rule_id in range(50):
        index.add(rule_id, _pattern(rng))
    for rule_id in range(50):
        index.remove(rule_id)

    assert len(index) == 0
    assert all(index.matching(_event(rng)) == [] for _ in range(50))

