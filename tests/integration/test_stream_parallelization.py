"""Stream event source mappings: parallelization, batching windows and tumbling windows.

Sources:
- ParallelizationFactor (1 to 10 concurrent batches per shard, records with the same
  partition key in order), MaximumBatchingWindowInSeconds (a batch goes when it is full,
  the window ends or the payload reaches 6 MB):
  https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
  https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html (same settings, order per
  item key)
- Tumbling windows (``window``, ``state``, ``shardId``, ``eventSourceARN``,
  ``isFinalInvokeForWindow``, ``isWindowTerminatedEarly``; a response without ``state`` is a
  failed invocation; a state above 1 MB ends the window early):
  https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = '''
import base64


def _payload(record):
    if "kinesis" in record:
        return base64.b64decode(record["kinesis"]["data"]).decode()
    return record["dynamodb"]["NewImage"]["note"]["S"]


def _key(record):
    if "kinesis" in record:
        return record["kinesis"]["partitionKey"]
    return record["dynamodb"]["Keys"]["pk"]["S"]


def handler(event, context):
    items = [[_key(record), _payload(record)] for record in event["Records"]]
    if any(payload.startswith("fail") for _, payload in items):
        raise RuntimeError("failing on purpose")
    return {"items": items}


def count(event, context):
    return {"count": len(event["Records"])}


def window(event, context):
    state = dict(event["state"] or {})
    payloads = [_payload(record) for record in event["Records"]]
    state["count"] = state.get("count", 0) + len(payloads)
    if "big" in payloads:
        state["padding"] = "x" * (1024 * 1024)
    received = {name: event[name] for name in (
        "window", "shardId", "eventSourceARN", "isFinalInvokeForWindow",
        "isWindowTerminatedEarly")}
    received["count"] = (event["state"] or {}).get("count")
    return {"state": state, "received": received, "payloads": payloads}
'''

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Handler: app.handler
Resources:
  Parallel:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  ParallelWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - KinesisStreamReadPolicy: {StreamName: !Ref Parallel}
      Events:
        Parallel:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Parallel.Arn
            StartingPosition: TRIM_HORIZON
            ParallelizationFactor: 10
            MaximumRetryAttempts: 3

  Serial:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  SerialWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - KinesisStreamReadPolicy: {StreamName: !Ref Serial}
      Events:
        Serial:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Serial.Arn
            StartingPosition: TRIM_HORIZON
            MaximumRetryAttempts: 3

  Batched:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  BatchedWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - KinesisStreamReadPolicy: {StreamName: !Ref Batched}
      Events:
        Batched:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Batched.Arn
            StartingPosition: TRIM_HORIZON
            BatchSize: 3
            MaximumBatchingWindowInSeconds: 20

  Large:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  LargeWorker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.count
      Policies:
        - KinesisStreamReadPolicy: {StreamName: !Ref Large}
      Events:
        Large:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Large.Arn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10

  Windowed:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  WindowWorker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.window
      Policies:
        - KinesisStreamReadPolicy: {StreamName: !Ref Windowed}
      Events:
        Windowed:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Windowed.Arn
            StartingPosition: TRIM_HORIZON
            TumblingWindowInSeconds: 60

  Stateless:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  StatelessWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - KinesisStreamReadPolicy: {StreamName: !Ref Stateless}
      Events:
        Stateless:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stateless.Arn
            StartingPosition: TRIM_HORIZON
            TumblingWindowInSeconds: 60
            MaximumRetryAttempts: 1

  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  ItemWorker:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBStreamReadPolicy: {TableName: !Ref Items, StreamName: "*"}
      Events:
        Items:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Items.StreamArn
            StartingPosition: TRIM_HORIZON
            ParallelizationFactor: 10
            MaximumRetryAttempts: 3
"""


@pytest.fixture(scope="module")
def application(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("streams")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root / "template.yaml") as stack:
        yield stack


@pytest.fixture
def stack(application: EmulatedStack) -> Iterator[EmulatedStack]:
    yield application
    application.reset()


def _put(stack: EmulatedStack, stream: str, records: list[tuple[str, str]]) -> None:
    """Write (partition key, payload) pairs to a stream, in order."""
    kinesis = stack.client("kinesis")
    for key, payload in records:
        kinesis.put_record(StreamName=stack.physical_id(stream), Data=payload.encode(),
                           PartitionKey=key)


def _results(stack: EmulatedStack, function: str) -> list[Any]:
    name = stack.function_name(function)
    return [result for result in stack.invocations if result.function_name == name]


def _delivered(stack: EmulatedStack, function: str) -> list[list[list[str]]]:
    """Return the (key, payload) pairs of each successful invocation, oldest first."""
    return [result.payload["items"] for result in _results(stack, function)
            if result.function_error is None]


def _order_by_key(batches: list[list[list[str]]]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for batch in batches:
        for key, payload in batch:
            order.setdefault(key, []).append(payload)
    return order


def _to_window_start(stack: EmulatedStack, length: int) -> float:
    """Advance the clock to the next multiple of ``length`` seconds; return that time."""
    now = stack.clock.time()
    boundary = math.ceil(now / length) * length
    stack.clock.advance(datetime.timedelta(seconds=boundary - now))
    return float(boundary)


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


# --- ParallelizationFactor ------------------------------------------------------------------


def test_parallel_batches_per_shard(stack: EmulatedStack) -> None:
    """With ParallelizationFactor 10, one shard's records go out in 2 to 10 batches at once,
    and each key's records keep their order."""
    records = [(f"device-{number % 30}", f"reading-{number}") for number in range(90)]
    _put(stack, "Parallel", records)

    stack.settle()

    results = _results(stack, "ParallelWorker")
    assert 2 <= len(results) <= 10
    assert all(result.function_error is None for result in results)
    expected: dict[str, list[str]] = {}
    for key, payload in records:
        expected.setdefault(key, []).append(payload)
    assert _order_by_key(_delivered(stack, "ParallelWorker")) == expected


def test_failing_key_does_not_block_others(stack: EmulatedStack) -> None:
    """A failing batch holds back only its own keys while Lambda retries it; with factor 1
    it holds back the whole shard."""
    records = [("device-bad", "fail-first")] + [
        (f"device-{number}", f"reading-{number}") for number in range(20)]
    _put(stack, "Parallel", records)
    _put(stack, "Serial", records)

    stack.settle()

    parallel = _order_by_key(_delivered(stack, "ParallelWorker"))
    assert parallel
    assert "device-bad" not in parallel
    assert _delivered(stack, "SerialWorker") == []
    for key, payloads in parallel.items():
        assert payloads == [f"reading-{key.removeprefix('device-')}"]


def test_retries_stay_in_key_order(stack: EmulatedStack) -> None:
    """Records written after a failing one with the same key wait for it, and are
    delivered once its batch is discarded after MaximumRetryAttempts."""
    _put(stack, "Parallel", [("device-1", "fail-1")])
    stack.settle()
    _put(stack, "Parallel", [("device-1", "reading-2"), ("device-1", "reading-3")])

    stack.settle()
    assert _delivered(stack, "ParallelWorker") == []

    stack.clock.advance(60)

    results = _results(stack, "ParallelWorker")
    assert [result.function_error for result in results] == [
        "Unhandled", "Unhandled", "Unhandled", "Unhandled", None]
    assert _delivered(stack, "ParallelWorker") == [
        [["device-1", "reading-2"], ["device-1", "reading-3"]]]


def test_dynamodb_parallel_item_order(stack: EmulatedStack) -> None:
    """DynamoDB stream records of one item stay in order across parallel batches, and a
    failing item does not hold back the others."""
    dynamodb = stack.client("dynamodb")
    table = stack.physical_id("Items")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "bad"}, "note": {"S": "fail-1"}})
    for version in range(3):
        for item in range(6):
            dynamodb.put_item(TableName=table, Item={
                "pk": {"S": f"item-{item}"}, "note": {"S": f"v{version}"}})

    stack.settle()

    order = _order_by_key(_delivered(stack, "ItemWorker"))
    assert "bad" not in order
    assert order
    for payloads in order.values():
        assert payloads == ["v0", "v1", "v2"]


# --- MaximumBatchingWindowInSeconds ---------------------------------------------------------


def test_stream_batching_window_waits(stack: EmulatedStack) -> None:
    """Lambda waits up to the batching window for a full batch, on the virtual clock."""
    _put(stack, "Batched", [("k", "early")])

    stack.settle()
    stack.clock.advance(19)
    _put(stack, "Batched", [("k", "late")])
    stack.settle()
    assert _results(stack, "BatchedWorker") == []

    stack.clock.advance(1)
    assert _delivered(stack, "BatchedWorker") == [[["k", "early"], ["k", "late"]]]


def test_full_batch_skips_window(stack: EmulatedStack) -> None:
    """A batch that reaches BatchSize goes at once; the rest waits for its window."""
    _put(stack, "Batched", [("k", "one"), ("k", "two"), ("k", "three"), ("k", "four")])

    stack.settle()
    assert _delivered(stack, "BatchedWorker") == [[["k", "one"], ["k", "two"], ["k", "three"]]]

    stack.clock.advance(20)
    assert _delivered(stack, "BatchedWorker")[1:] == [[["k", "four"]]]


def test_batch_cut_at_payload_limit(stack: EmulatedStack) -> None:
    """A batch stops before the record that would take the payload past 6 MB."""
    # Each record is 1,000,000 bytes, 1,333,336 in base64: four fit in 6 MB, five do not.
    _put(stack, "Large", [("k", str(number) * 1_000_000) for number in range(6)])

    stack.settle()

    assert [result.payload["count"] for result in _results(stack, "LargeWorker")] == [4, 2]


# --- TumblingWindowInSeconds ----------------------------------------------------------------


def test_tumbling_window_carries_state(stack: EmulatedStack) -> None:
    """Invocations in one window get the state returned last. After the window ends, a final
    invocation gets the final state, and the next window starts empty."""
    start = _to_window_start(stack, 60)
    stream_arn = stack.client("kinesis").describe_stream(
        StreamName=stack.physical_id("Windowed"))["StreamDescription"]["StreamARN"]

    _put(stack, "Windowed", [("k", "a")])
    stack.settle()
    stack.clock.advance(10)
    _put(stack, "Windowed", [("k", "b"), ("k", "c")])
    stack.settle()
    stack.clock.advance(50)
    _put(stack, "Windowed", [("k", "d")])
    stack.settle()

    received = [result.payload["received"] for result in _results(stack, "WindowWorker")]
    payloads = [result.payload["payloads"] for result in _results(stack, "WindowWorker")]
    first = {"start": _iso(start), "end": _iso(start + 60)}
    second = {"start": _iso(start + 60), "end": _iso(start + 120)}
    assert payloads == [["a"], ["b", "c"], [], ["d"]]
    assert [entry["window"] for entry in received] == [first, first, first, second]
    assert [entry["count"] for entry in received] == [None, 1, 3, None]
    assert [entry["isFinalInvokeForWindow"] for entry in received] == [
        False, False, True, False]
    assert not any(entry["isWindowTerminatedEarly"] for entry in received)
    assert {entry["shardId"] for entry in received} == {"shardId-000000000000"}
    assert {entry["eventSourceARN"] for entry in received} == {stream_arn}


def test_final_invocation_at_window_end(stack: EmulatedStack) -> None:
    """The final invocation runs when the window ends on the virtual clock, not before."""
    _to_window_start(stack, 60)
    _put(stack, "Windowed", [("k", "a")])
    stack.settle()

    stack.clock.advance(59)
    assert len(_results(stack, "WindowWorker")) == 1

    stack.clock.advance(1)
    final = _results(stack, "WindowWorker")[-1].payload["received"]
    assert final["isFinalInvokeForWindow"] is True
    assert final["count"] == 1


def test_large_state_ends_window_early(stack: EmulatedStack) -> None:
    """A state above 1 MB ends the window at once, with isWindowTerminatedEarly."""
    _to_window_start(stack, 60)
    _put(stack, "Windowed", [("k", "big")])

    stack.settle()

    received = [result.payload["received"] for result in _results(stack, "WindowWorker")]
    assert [entry["isFinalInvokeForWindow"] for entry in received] == [False, True]
    assert [entry["isWindowTerminatedEarly"] for entry in received] == [False, True]


def test_response_without_state_fails(stack: EmulatedStack) -> None:
    """With a tumbling window, a response that has no state counts as a failed invocation,
    so the batch is retried."""
    _to_window_start(stack, 60)
    _put(stack, "Stateless", [("k", "a")])

    stack.settle()
    stack.clock.advance(1)

    results = _results(stack, "StatelessWorker")
    assert len(results) == 2
    assert all("state" not in result.payload for result in results)
    assert [batch for result in results for batch in result.payload["items"]] == [
        ["k", "a"], ["k", "a"]]
