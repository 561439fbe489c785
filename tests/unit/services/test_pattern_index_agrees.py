"""The pattern index returns exactly the rules whose patterns match, one by one."""

from __future__ import annotations

import random
from typing import Any

from windtunnel.services.events.patterns import PatternIndex, compile_pattern

SOURCES = [f"app.service{index}" for index in range(20)]
DETAIL_TYPES = ["OrderCreated", "OrderShipped", "ItemAdded"]


def _pattern(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(5)
    if choice == 0:
        return {"source": [rng.choice(SOURCES)], "detail-type": [rng.choice(DETAIL_TYPES)],
                "detail": {"status": ["paid", "shipped"]}}
    if choice == 1:
        return {"source": [rng.choice(SOURCES), rng.choice(SOURCES)],
                "detail": {"amount": [{"numeric": [">", 100]}]}}
    if choice == 2:
        return {"$or": [{"source": [rng.choice(SOURCES)]},
                        {"detail-type": ["ItemAdded"], "detail": {"amount": [5]}}]}
    if choice == 3:
        return {"detail-type": [rng.choice(DETAIL_TYPES)],
                "detail": {"customer": {"tier": [{"exists": False}]}}}
    return {"source": [{"prefix": "app.service1"}], "detail": {"status": ["new"]}}


def _event(rng: random.Random) -> dict[str, Any]:
    detail: dict[str, Any] = {"status": rng.choice(["paid", "new", "shipped"]),
                              "amount": rng.choice([5, 50, 150, 5.0])}
    if rng.random() < 0.5:
        detail["customer"] = {"tier": "gold"}
    return {"source": rng.choice(SOURCES), "detail-type": rng.choice(DETAIL_TYPES),
            "detail": detail}


def test_index_agrees_with_each_pattern() -> None:
    """For 300 rules and 300 events, the index and matching each pattern alone agree."""
    rng = random.Random(20261204)
    patterns = [_pattern(rng) for _ in range(300)]
    index: PatternIndex[int] = PatternIndex()
    for number, pattern in enumerate(patterns):
        index.add(number, pattern)
    compiled = [compile_pattern(pattern) for pattern in patterns]

    for _ in range(300):
        event = _event(rng)
        expected = [number for number, pattern in enumerate(compiled)
                    if pattern.matches(event)]
        assert index.matching(event) == expected, event
