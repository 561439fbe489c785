"""``stack.events``: recording what buses, topics and queues carry, and waiting for events.

Sources for the recorded shapes:
- An event as EventBridge delivers it has version "0", id, detail-type, source, account,
  time (``2017-12-22T18:43:48Z``), region, resources and detail:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
- PutEvents without EventBusName puts the entry on the account's default bus:
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html
- SQS message attributes are returned as DataType with StringValue or BinaryValue:
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html
- SNS passes message attributes to subscribers as Type and Value:
  https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, EventAssertionError, Stack
from windtunnel.cloud.capture import EventRecorder, PublishedEvent
from windtunnel.services.events.patterns import InvalidEventPatternError
from windtunnel.testing import assert_published

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  OrdersBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: orders
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
"""

EVENT_FIELDS = {"version", "id", "detail-type", "source", "account", "time", "region",
                "resources", "detail"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("capture")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root / "template.yaml", stack_name="capture") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def fresh_state(stack: EmulatedStack) -> None:
    stack.reset()


def _put(stack: EmulatedStack, source: str, detail: dict[str, Any], *,
         bus: str | None = None, detail_type: str = "OrderPlaced",
         resources: list[str] | None = None) -> str:
    entry: dict[str, Any] = {"Source": source, "DetailType": detail_type,
                             "Detail": json.dumps(detail)}
    if bus is not None:
        entry["EventBusName"] = bus
    if resources is not None:
        entry["Resources"] = resources
    response = stack.client("events").put_events(Entries=[entry])
    assert response["FailedEntryCount"] == 0
    return str(response["Entries"][0]["EventId"])


def test_published_event_has_eventbridge_shape(stack: EmulatedStack) -> None:
    """A recorded event has exactly EventBridge's fields, with the PutEvents entry's values."""
    event_id = _put(stack, "shop", {"order": 1}, bus="orders",
                    resources=["arn:aws:s3:::bucket"])

    [event] = stack.events.published()

    assert set(event) == EVENT_FIELDS
    assert event["version"] == "0"
    assert event["id"] == event_id
    assert event["detail-type"] == "OrderPlaced"
    assert event["source"] == "shop"
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert event["resources"] == ["arn:aws:s3:::bucket"]
    assert event["detail"] == {"order": 1}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])


def test_published_keeps_time_of_entry(stack: EmulatedStack) -> None:
    """An entry's own Time becomes the event's time."""
    stack.client("events").put_events(Entries=[{
        "Source": "shop", "DetailType": "OrderPlaced", "Detail": "{}",
        "Time": "2024-05-01T12:30:00Z"}])

    [event] = stack.events.published()

    assert event["time"] == "2024-05-01T12:30:00Z"


def test_published_filters_by_bus(stack: EmulatedStack) -> None:
    """A bus is named by logical ID, name or ARN; without a name PutEvents uses default."""
    _put(stack, "shop", {"order": 1}, bus="orders")
    _put(stack, "shop", {"order": 2})
    bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/orders"

    for reference in ("OrdersBus", "orders", bus_arn):
        assert [event["detail"] for event in stack.events.published(bus=reference)] == [
            {"order": 1}]
    assert [event["detail"] for event in stack.events.published(bus="default")] == [
        {"order": 2}]
    assert len(stack.events.published()) == 2


def test_published_filters_by_pattern(stack: EmulatedStack) -> None:
    """The pattern is matched as an EventBridge rule matches it."""
    _put(stack, "shop", {"total": 50})
    _put(stack, "shop", {"total": 150})
    _put(stack, "billing", {"total": 500})

    matching = stack.events.published(pattern={
        "source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}})

    assert [event["detail"] for event in matching] == [{"total": 150}]


def test_published_filters_by_source_and_type(stack: EmulatedStack) -> None:
    """source and detail_type keep only events with those values."""
    _put(stack, "shop", {"n": 1}, detail_type="OrderPlaced")
    _put(stack, "shop", {"n": 2}, detail_type="OrderShipped")
    _put(stack, "billing", {"n": 3}, detail_type="OrderPlaced")

    assert [event["detail"] for event in stack.events.published(source="shop")] == [
        {"n": 1}, {"n": 2}]
    assert [event["detail"] for event in stack.events.published(
        source="shop", detail_type="OrderShipped")] == [{"n": 2}]


def test_published_accepts_json_pattern(stack: EmulatedStack) -> None:
    """A pattern may be JSON text, as PutRule takes it."""
    _put(stack, "shop", {"n": 1})

    assert len(stack.events.published(pattern='{"source": ["shop"]}')) == 1
    assert stack.events.published(pattern='{"source": ["other"]}') == []


def test_published_rejects_invalid_pattern(stack: EmulatedStack) -> None:
    """An invalid pattern raises EventBridge's InvalidEventPatternException message."""
    with pytest.raises(InvalidEventPatternError, match="Empty arrays are not allowed"):
        stack.events.published(pattern={"source": []})


def test_rejected_entry_is_not_recorded(stack: EmulatedStack) -> None:
    """An entry that PutEvents rejects (malformed detail) reaches no bus."""
    response = stack.client("events").put_events(Entries=[
        {"Source": "shop", "DetailType": "OrderPlaced", "Detail": "not json"}])

    assert response["FailedEntryCount"] == 1
    assert stack.events.published() == []


def test_published_returns_copies(stack: EmulatedStack) -> None:
    """Changing a returned event does not change the record."""
    _put(stack, "shop", {"n": 1})

    stack.events.published()[0]["detail"]["n"] = 2

    assert stack.events.published()[0]["detail"] == {"n": 1}


def test_queue_messages_from_send_and_batch(stack: EmulatedStack) -> None:
    """SendMessage and SendMessageBatch are recorded with body and attributes."""
    sqs = stack.client("sqs")
    queue_url = stack.physical_id("Queue")
    sqs.send_message(QueueUrl=queue_url, MessageBody="first", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "order"}})
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[
        {"Id": "a", "MessageBody": "second"}, {"Id": "b", "MessageBody": "third"}])

    messages = stack.events.messages(queue="Queue")

    assert [message.body for message in messages] == ["first", "second", "third"]
    assert messages[0].attributes == {"kind": {"DataType": "String",
                                               "StringValue": "order"}}
    assert all(message.source_arn is None for message in messages)


def test_queue_named_by_url_arn_or_name(stack: EmulatedStack) -> None:
    """A queue is found by logical ID, URL, ARN or name."""
    queue_url = stack.physical_id("Queue")
    stack.client("sqs").send_message(QueueUrl=queue_url, MessageBody="hello")
    name = queue_url.rsplit("/", 1)[-1]

    for reference in ("Queue", queue_url, f"arn:aws:sqs:us-east-1:123456789012:{name}",
                      name):
        assert [message.body for message in stack.events.messages(queue=reference)] == [
            "hello"]
    assert stack.events.messages(queue="other-queue") == []


def test_topic_messages_from_publish_and_batch(stack: EmulatedStack) -> None:
    """Publish and PublishBatch are recorded with message, subject and attributes."""
    sns = stack.client("sns")
    topic_arn = stack.physical_id("Topic")
    sns.publish(TopicArn=topic_arn, Message='{"order": 1}', Subject="New order",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "second"}])

    for reference in ("Topic", topic_arn, topic_arn.rsplit(":", 1)[-1]):
        messages = stack.events.messages(topic=reference)
        assert [message.message for message in messages] == ['{"order": 1}', "second"]
    first = stack.events.messages(topic="Topic")[0]
    assert first.subject == "New order"
    assert first.json() == {"order": 1}
    assert first.topic_arn == topic_arn
    assert first.attributes == {"kind": {"Type": "String", "Value": "order"}}


def test_messages_needs_one_resource(stack: EmulatedStack) -> None:
    """messages() takes exactly one of topic= and queue=."""
    with pytest.raises(TypeError, match="one of topic= and queue="):
        stack.events.messages()  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="one of topic= and queue="):
        stack.events.messages(topic="Topic", queue="Queue")  # type: ignore[call-overload]


def test_reset_clears_records(stack: EmulatedStack) -> None:
    """stack.reset() clears the events and messages recorded before it."""
    _put(stack, "shop", {"n": 1})
    stack.client("sqs").send_message(QueueUrl=stack.physical_id("Queue"), MessageBody="x")

    stack.reset()

    assert stack.events.published() == []
    assert stack.events.messages(queue="Queue") == []


def test_clear_forgets_records(stack: EmulatedStack) -> None:
    """stack.events.clear() removes the records, and recording goes on."""
    _put(stack, "shop", {"n": 1})

    stack.events.clear()
    _put(stack, "shop", {"n": 2})

    assert [event["detail"] for event in stack.events.published()] == [{"n": 2}]


def test_records_calls_from_threads(stack: EmulatedStack) -> None:
    """Messages sent from several threads at once are all recorded."""
    sqs = stack.client("sqs")
    queue_url = stack.physical_id("Queue")

    def send(worker: int) -> None:
        for number in range(20):
            sqs.send_message(QueueUrl=queue_url, MessageBody=f"{worker}-{number}")

    threads = [threading.Thread(target=send, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    bodies = {message.body for message in stack.events.messages(queue="Queue")}
    assert len(bodies) == 120


def test_wait_for_returns_first_match(stack: EmulatedStack) -> None:
    """wait_for returns the oldest event that matches on the bus."""
    _put(stack, "shop", {"n": 1}, bus="orders")
    _put(stack, "shop", {"n": 2}, bus="orders")

    event = stack.events.wait_for({"source": ["shop"]}, bus="OrdersBus")

    assert event["detail"] == {"n": 1}


def test_wait_for_sees_event_from_thread(stack: EmulatedStack) -> None:
    """wait_for keeps waiting for an event put after it started, up to its timeout."""
    timer = threading.Timer(0.2, _put, args=(stack, "late", {"n": 1}))
    timer.start()
    try:
        event = stack.events.wait_for({"source": ["late"]}, timeout=10)
    finally:
        timer.join()

    assert event["detail"] == {"n": 1}


def test_wait_for_failure_lists_closest_events(stack: EmulatedStack) -> None:
    """The message names the bus and pattern, and shows the closest events' differences."""
    _put(stack, "shop", {"order": 1, "status": "paid"}, bus="orders")
    _put(stack, "billing", {"order": 2}, bus="orders")
    pattern = {"source": ["shop"], "detail": {"order": [2], "status": ["paid"]}}

    with pytest.raises(EventAssertionError) as raised:
        stack.events.wait_for(pattern, bus="orders", timeout=0.1)
    message = str(raised.value)
    lines = message.splitlines()

    assert isinstance(raised.value, AssertionError)
    assert lines[0] == ("no event matching the pattern was published on bus orders within "
                        "0.1 s")
    assert lines[1] == f"pattern: {json.dumps(pattern)}"
    assert lines[2] == "2 events were published on bus orders; the closest:"
    # The shop event matches 2 of the 3 fields, so it comes first.
    assert '(source "shop", detail-type "OrderPlaced"): 2 of 3 pattern fields match' in lines[3]
    assert lines[4] == "    detail.order: expected [2], got 1"
    assert '(source "billing", detail-type "OrderPlaced"): 1 of 3 pattern fields match' in \
        lines[5]
    assert lines[6] == '    source: expected ["shop"], got "billing"'
    assert lines[7] == ('    detail.status: expected ["paid"], got nothing (the field is '
                        'missing)')


def test_wait_for_failure_names_other_buses(stack: EmulatedStack) -> None:
    """A matching event on another bus is pointed out."""
    _put(stack, "shop", {"n": 1})

    with pytest.raises(EventAssertionError) as raised:
        stack.events.wait_for({"source": ["shop"]}, bus="orders", timeout=0)

    message = str(raised.value)
    assert "no event was published on bus orders since the stack was loaded or reset" in \
        message
    assert "1 matching event was published on other buses: default" in message


def test_wait_for_failure_with_or_pattern(stack: EmulatedStack) -> None:
    """For a $or pattern, the closest branch's fields are compared."""
    _put(stack, "shop", {"total": 10})
    pattern = {"source": ["shop"], "$or": [{"detail": {"total": [{"numeric": [">", 100]}]}},
                                           {"detail-type": ["OrderCancelled"]}]}

    with pytest.raises(EventAssertionError) as raised:
        stack.events.wait_for(pattern, timeout=0)

    lines = str(raised.value).splitlines()
    assert lines[3].endswith("1 of 2 pattern fields match")
    assert lines[4] == '    detail.total: expected [{"numeric": [">", 100]}], got 10'


def test_assert_published_counts(stack: EmulatedStack) -> None:
    """assert_published returns the matches and checks their number when asked."""
    _put(stack, "shop", {"n": 1})
    _put(stack, "shop", {"n": 2})

    matching = assert_published(stack, {"source": ["shop"]}, count=2)
    with pytest.raises(EventAssertionError) as raised:
        assert_published(stack, {"source": ["shop"]}, count=1)

    assert [event["detail"] for event in matching] == [{"n": 1}, {"n": 2}]
    assert str(raised.value).startswith(
        "expected 1 event matching the pattern on any bus, found 2\n")


def test_assert_published_none_expected(stack: EmulatedStack) -> None:
    """count=0 passes when nothing matches and fails with the matching events otherwise."""
    _put(stack, "shop", {"n": 1})

    assert assert_published(stack, {"source": ["billing"]}, count=0) == []
    with pytest.raises(EventAssertionError, match="1 of 1 pattern fields match"):
        assert_published(stack, {"source": ["shop"]}, count=0)


def test_assert_published_missing(stack: EmulatedStack) -> None:
    """Without count, at least one event must match."""
    with pytest.raises(EventAssertionError) as raised:
        assert_published(stack, {"source": ["shop"]}, bus="orders")

    assert str(raised.value).splitlines()[0] == (
        "no event matching the pattern was published on bus orders")


def test_recorder_keeps_newest_records() -> None:
    """A recorder keeps at most its maximum of each kind, dropping the oldest first."""
    recorder = EventRecorder()
    bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/default"

    for number in range(10_005):
        recorder.record_event(PublishedEvent(bus_arn, {"id": str(number)}))

    events = recorder.events()
    assert len(events) == 10_000
    assert events[0].event["id"] == "5"
    assert events[-1].event["id"] == "10004"


def test_records_follow_stack_reset_last(stack: EmulatedStack, tmp_path: Path) -> None:
    """With two stacks in one process, events go to the one loaded or reset last."""
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with Stack.local(tmp_path / "template.yaml", stack_name="second") as second:
        _put(second, "second", {"n": 1})
        stack.reset()
        _put(stack, "first", {"n": 2})

        assert [event["source"] for event in second.events.published()] == ["second"]
        assert [event["source"] for event in stack.events.published()] == ["first"]
