"""Benchmark: EventBridge pattern matching, and PutEvents → rule → SQS → Lambda.

Measurements, in one process so their ratios are meaningful:

1. ``matching``: events per second that windtunnel's pattern engine and moto's own matcher
   (``moto.events.models.EventPattern.matches_event``, taken before windtunnel replaces
   it) decide, on the same patterns and events, one pattern at a time.
2. ``index``: the cost per event of finding the matching rules among 10, 100 and 1,000
   rules with windtunnel's index, against checking every rule with moto's matcher.
3. ``delivery``: the median time from PutEvents to the function having run through a
   rule, an SQS queue and its event source mapping, completed by ``stack.settle()``.

Usage: ``python benchmarks/bench_events.py``; it prints JSON and a Markdown table.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SOURCES = [f"app.service{index}" for index in range(50)]
DETAIL_TYPES = ["OrderCreated", "OrderShipped", "ItemAdded", "ItemRemoved", "Refunded"]


def make_pattern(rng: random.Random) -> dict[str, Any]:
    """Return a pattern of the shapes rules commonly use: exact, prefix, numeric, exists."""
    pattern: dict[str, Any] = {"source": [rng.choice(SOURCES)],
                               "detail-type": [rng.choice(DETAIL_TYPES)]}
    kind = rng.randrange(4)
    if kind == 0:
        pattern["detail"] = {"status": ["paid", "shipped"]}
    elif kind == 1:
        pattern["detail"] = {"sku": [{"prefix": "PEN"}]}
    elif kind == 2:
        pattern["detail"] = {"amount": [{"numeric": [">", 100]}]}
    else:
        pattern["detail"] = {"customer": {"tier": [{"exists": True}]}}
    return pattern


def make_event(rng: random.Random) -> dict[str, Any]:
    return {
        "version": "0", "id": str(rng.getrandbits(64)), "account": "123456789012",
        "region": "us-east-1", "time": "2026-12-04T00:00:00Z", "resources": [],
        "source": rng.choice(SOURCES), "detail-type": rng.choice(DETAIL_TYPES),
        "detail": {"status": rng.choice(["paid", "new", "shipped"]),
                   "sku": rng.choice(["PEN-1", "INK-2", "PAD-3"]),
                   "amount": rng.randrange(0, 300),
                   "customer": {"tier": "gold"} if rng.random() < 0.5 else {"id": "c1"}},
    }


def per_second(action: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        action()
    return count / (time.perf_counter() - started)


def measure_matching(moto_matches: Callable[[Any, Any], bool]) -> dict[str, float]:
    """Decisions per second of each matcher, one pattern against one event at a time."""
    from moto.events.models import EventPattern

    from windtunnel.services.events.patterns import compile_pattern

    rng = random.Random(7)
    pairs = [(make_pattern(rng), make_event(rng)) for _ in range(200)]
    ours = [(compile_pattern(pattern), event) for pattern, event in pairs]
    theirs = [(EventPattern.load(json.dumps(pattern)), event) for pattern, event in pairs]
    agreement = sum(a.matches(event) == moto_matches(b, event)
                    for (a, event), (b, _) in zip(ours, theirs, strict=True))

    def run_ours() -> None:
        for compiled, event in ours:
            compiled.matches(event)

    def run_moto() -> None:
        for loaded, event in theirs:
            moto_matches(loaded, event)

    rounds = 50
    return {"windtunnel": per_second(run_ours, rounds) * len(pairs),
            "moto": per_second(run_moto, rounds) * len(pairs),
            "agreement": agreement / len(pairs)}


def measure_index(moto_matches: Callable[[Any, Any], bool]) -> dict[int, dict[str, float]]:
    """Microseconds per event to find the matching rules, by number of rules."""
    from moto.events.models import EventPattern

    from windtunnel.services.events.patterns import PatternIndex

    rng = random.Random(11)
    events = [make_event(rng) for _ in range(500)]
    results: dict[int, dict[str, float]] = {}
    for size in (10, 100, 1000):
        patterns = [make_pattern(rng) for _ in range(size)]
        index: PatternIndex[int] = PatternIndex()
        for number, pattern in enumerate(patterns):
            index.add(number, pattern)
        loaded = [EventPattern.load(json.dumps(pattern)) for pattern in patterns]

        def run_index(index: PatternIndex[int] = index) -> None:
            for event in events:
                index.matching(event)

        def run_scan(loaded: list[Any] = loaded) -> None:
            for event in events:
                for pattern in loaded:
                    moto_matches(pattern, event)

        index_rate = per_second(run_index, 5) * len(events)
        scan_rate = per_second(run_scan, 1 if size == 1000 else 5) * len(events)
        results[size] = {"windtunnel_us": 1e6 / index_rate, "moto_scan_us": 1e6 / scan_rate}
    return results


HANDLER = "def handler(event, context):\n    return None\n"
TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Bus: {Type: AWS::Events::EventBus, Properties: {Name: bench-bus}}
  Queue: {Type: AWS::SQS::Queue}
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt Queue.Arn
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [bench]}
      Targets: [{Id: queue, Arn: !GetAtt Queue.Arn}]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: worker.handler
      CodeUri: src/
      Policies: [{SQSPollerPolicy: {QueueName: !GetAtt Queue.QueueName}}]
      Events:
        Queue: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 1}}
"""


def measure_delivery(count: int) -> float:
    """Median seconds from PutEvents to the worker having run, completed by settle()."""
    from windtunnel import Stack

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "src").mkdir()
        (root / "src" / "worker.py").write_text(HANDLER)
        (root / "template.yaml").write_text(TEMPLATE)
        with Stack.local(root, stack_name="bench-events") as stack:
            events = stack.client("events")
            worker = stack.function_name("Worker")
            durations = []
            for number in range(count + 20):
                before = len(stack.invocations)
                started = time.perf_counter()
                events.put_events(Entries=[{"EventBusName": "bench-bus", "Source": "bench",
                                            "DetailType": "Tick",
                                            "Detail": json.dumps({"n": number})}])
                stack.settle()
                elapsed = time.perf_counter() - started
                ran = [result for result in stack.invocations[before:]
                       if result.function_name == worker]
                if len(ran) != 1:
                    raise SystemExit(f"event {number} reached the worker {len(ran)} times")
                if number >= 20:  # the first events warm up the environment
                    durations.append(elapsed)
            return statistics.median(durations)


def main() -> None:
    from moto.events.models import EventPattern

    # Taken before any windtunnel cloud exists, because creating one replaces it.
    moto_matches = EventPattern.matches_event
    matching = measure_matching(moto_matches)
    index = measure_index(moto_matches)
    delivery = measure_delivery(200)
    print(json.dumps({"matching": matching, "index": index, "delivery_s": delivery}))
    print()
    ratio = matching["windtunnel"] / matching["moto"]
    print("| measurement | windtunnel | moto | ratio |")
    print("|---|---|---|---|")
    print(f"| pattern decisions per second | {matching['windtunnel']:,.0f} | "
          f"{matching['moto']:,.0f} | {ratio:.1f}x |")
    for size, row in index.items():
        print(f"| µs per event, {size} rules (index vs scan) | {row['windtunnel_us']:.1f} | "
              f"{row['moto_scan_us']:.1f} | {row['moto_scan_us'] / row['windtunnel_us']:.1f}x |")
    print(f"| PutEvents → rule → SQS → Lambda, median per event | {delivery * 1e3:.2f} ms | "
          f"- | target at most 2 ms |")
    print(f"\nmatchers agreed on {matching['agreement']:.0%} of the pairs", file=sys.stderr)


if __name__ == "__main__":
    main()
