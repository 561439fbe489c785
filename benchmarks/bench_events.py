"""Benchmark: EventBridge pattern matching, and PutEvents → rule → SQS → Lambda.

Measurements, in one process so their ratios are meaningful:

1. ``matching``: events per second that windtunnel's pattern engine and moto's own matcher
   (``moto.events.models.EventPattern.matches_event``, taken before windtunnel replaces
   it) decide, on the same patterns and events, one pattern at a time. The two alternate
   in blocks, and each rate is the median over the blocks, so both see the same load.
2. ``index``: the cost per event of finding the matching rules among 10, 100 and 1,000
   rules with windtunnel's index, against checking every rule with moto's matcher, with
   the number of rules that match each event on average. That number grows with the rules,
   because the rules share 250 pairs of source and detail-type. A second set of rules,
   each with a source of its own, keeps it at about one in ten events, so that the index's
   cost is also measured at a fixed number of matches.
3. ``delivery``: the median time from PutEvents to the function having run through a
   rule, an SQS queue and its event source mapping, completed by ``stack.settle()``.
   Each event alternates with a PutEvents call that matches no rule, the floor of any
   delivery, so that the ratio of the two medians shows the delivery's own share under
   the same load.

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


def alternating_rates(actions: dict[str, Callable[[], object]], count: int,
                      blocks: int) -> dict[str, float]:
    """Run each action ``count`` times per block, in turn; return each median rate."""
    rates: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(blocks):
        for name, action in actions.items():
            rates[name].append(per_second(action, count))
    return {name: statistics.median(values) for name, values in rates.items()}


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

    rates = alternating_rates({"windtunnel": run_ours, "moto": run_moto}, 10, 7)
    return {"windtunnel": rates["windtunnel"] * len(pairs), "moto": rates["moto"] * len(pairs),
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
        own_index, own_events = own_sources(size)

        def run_index(index: PatternIndex[int] = index, events: list[Any] = events) -> None:
            for event in events:
                index.matching(event)

        def run_own(index: PatternIndex[int] = own_index,
                    events: list[Any] = own_events) -> None:
            for event in events:
                index.matching(event)

        def run_scan(loaded: list[Any] = loaded) -> None:
            for event in events:
                for pattern in loaded:
                    moto_matches(pattern, event)

        rates = alternating_rates({"index": run_index, "own": run_own}, 3, 9)
        scan_rate = per_second(run_scan, 1 if size == 1000 else 5) * len(events)
        results[size] = {
            "windtunnel_us": 1e6 / (rates["index"] * len(events)),
            "moto_scan_us": 1e6 / scan_rate,
            "matches_per_event": matches_per_event(index, events),
            "own_sources_us": 1e6 / (rates["own"] * len(own_events)),
            "own_sources_matches_per_event": matches_per_event(own_index, own_events),
        }
    return results


def own_sources(size: int) -> tuple[Any, list[dict[str, Any]]]:
    """Return an index of ``size`` rules that each have a source of their own, and events."""
    from windtunnel.services.events.patterns import PatternIndex

    rng = random.Random(size)
    index: PatternIndex[int] = PatternIndex()
    for number in range(size):
        index.add(number, {**make_pattern(rng), "source": [f"app.rule{number}"]})
    events = [{**make_event(rng), "source": f"app.rule{rng.randrange(size)}"}
              for _ in range(500)]
    return index, events


def matches_per_event(index: Any, events: list[dict[str, Any]]) -> float:
    return sum(len(index.matching(event)) for event in events) / len(events)


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


def measure_delivery(count: int) -> dict[str, float]:
    """Median seconds from PutEvents to the worker having run, completed by settle(), and
    of a PutEvents call that matches no rule."""
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
            floor = []
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
                started = time.perf_counter()
                events.put_events(Entries=[{"EventBusName": "bench-bus", "Source": "other",
                                            "DetailType": "Tick",
                                            "Detail": json.dumps({"n": number})}])
                stack.settle()
                unmatched = time.perf_counter() - started
                if number >= 20:  # the first events warm up the environment
                    durations.append(elapsed)
                    floor.append(unmatched)
            return {"delivery": statistics.median(durations),
                    "unmatched": statistics.median(floor)}


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
        print(f"| µs per event, {size} rules (index vs scan), "
              f"{row['matches_per_event']:.2f} matches per event | "
              f"{row['windtunnel_us']:.1f} | {row['moto_scan_us']:.1f} | "
              f"{row['moto_scan_us'] / row['windtunnel_us']:.1f}x |")
    for size, row in index.items():
        print(f"| µs per event, {size} rules with their own sources, "
              f"{row['own_sources_matches_per_event']:.2f} matches per event | "
              f"{row['own_sources_us']:.1f} | - | - |")
    print(f"| PutEvents → rule → SQS → Lambda, median per event | "
          f"{delivery['delivery'] * 1e3:.2f} ms | - | target at most 2 ms |")
    print(f"| PutEvents that matches no rule, median per call | "
          f"{delivery['unmatched'] * 1e3:.2f} ms | - | "
          f"delivery {delivery['delivery'] / delivery['unmatched']:.2f}x of it |")
    print(f"\nmatchers agreed on {matching['agreement']:.0%} of the pairs", file=sys.stderr)


if __name__ == "__main__":
    main()
