"""SNS FIFO topics and the retries of HTTP(S) deliveries, on the virtual clock.

Sources:
- FIFO topics need MessageGroupId, and a MessageDeduplicationId unless content-based
  deduplication is on. A duplicate within the 5-minute interval is accepted but not
  delivered. The scope is the topic, or the group with FifoThroughputScope MessageGroup.
  Publish and PublishBatch return a SequenceNumber:
  https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
  https://docs.aws.amazon.com/sns/latest/api/API_PublishBatchResultEntry.html
  https://docs.aws.amazon.com/sns/latest/dg/sns-fifo-topics.html
- FIFO topics deliver to SQS FIFO and standard queues, in publish order per group:
  https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html
  https://docs.aws.amazon.com/sns/latest/dg/fifo-topic-message-ordering.html
- HTTP(S) retries after server-side errors: by default 3 retries 20 seconds apart, the four
  phases of a delivery policy, then the dead-letter queue:
  https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.retry.html
  https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
  https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel import EmulatedStack, Stack

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Placeholder:
    Type: AWS::SQS::Queue
"""


@pytest.fixture(scope="module")
def application(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("sns-fifo")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root / "template.yaml") as stack:
        yield stack


@pytest.fixture
def stack(application: EmulatedStack) -> Iterator[EmulatedStack]:
    yield application
    application.reset()


def _queue(stack: EmulatedStack, name: str, **attributes: str) -> tuple[str, str]:
    """Create a queue that SNS may send to; return its URL and ARN."""
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def _fifo_topic(stack: EmulatedStack, name: str, **attributes: str) -> str:
    return str(stack.client("sns").create_topic(
        Name=name, Attributes={"FifoTopic": "true", **attributes})["TopicArn"])


def _receive(stack: EmulatedStack, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = stack.client("sqs").receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


# --- FIFO topics ----------------------------------------------------------------------------


def test_fifo_publish_needs_group_id(stack: EmulatedStack) -> None:
    """Publishing to a FIFO topic without MessageGroupId fails with InvalidParameter."""
    topic = _fifo_topic(stack, "orders.fifo", ContentBasedDeduplication="true")

    with pytest.raises(ClientError) as raised:
        stack.client("sns").publish(TopicArn=topic, Message="m")

    error = raised.value.response
    assert error["Error"]["Code"] == "InvalidParameter"
    assert "MessageGroupId" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_fifo_publish_needs_deduplication_id(stack: EmulatedStack) -> None:
    """Without content-based deduplication, Publish needs a MessageDeduplicationId."""
    topic = _fifo_topic(stack, "explicit.fifo")

    with pytest.raises(ClientError) as raised:
        stack.client("sns").publish(TopicArn=topic, Message="m", MessageGroupId="g")

    assert raised.value.response["Error"]["Code"] == "InvalidParameter"
    assert "MessageDeduplicationId" in raised.value.response["Error"]["Message"]


def test_sequence_numbers_returned(stack: EmulatedStack) -> None:
    """Publish and PublishBatch return a SequenceNumber that grows with each message."""
    topic = _fifo_topic(stack, "numbered.fifo", ContentBasedDeduplication="true")
    sns = stack.client("sns")

    first = sns.publish(TopicArn=topic, Message="one", MessageGroupId="g")
    second = sns.publish(TopicArn=topic, Message="two", MessageGroupId="g")
    batch = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "three", "MessageGroupId": "g"},
        {"Id": "b", "Message": "four", "MessageGroupId": "g"}])

    numbers = [first["SequenceNumber"], second["SequenceNumber"]] + [
        entry["SequenceNumber"] for entry in batch["Successful"]]
    assert all(number.isdigit() for number in numbers)
    assert [int(number) for number in numbers] == sorted({int(number) for number in numbers})


def test_standard_topic_has_no_sequence_number(stack: EmulatedStack) -> None:
    """A standard topic's Publish response carries no SequenceNumber."""
    topic = stack.client("sns").create_topic(Name="plain")["TopicArn"]

    response = stack.client("sns").publish(TopicArn=topic, Message="m")

    assert "SequenceNumber" not in response


def test_fifo_queue_receives_ids(stack: EmulatedStack) -> None:
    """A subscribed FIFO queue gets the group ID, the deduplication ID and the sequence
    number in the envelope."""
    topic = _fifo_topic(stack, "ids.fifo")
    url, arn = _queue(stack, "ids.fifo", FifoQueue="true")
    sns = stack.client("sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    response = sns.publish(TopicArn=topic, Message="m", MessageGroupId="order-7",
                           MessageDeduplicationId="dedup-1")

    (message,) = _receive(stack, url)
    assert message["Attributes"]["MessageGroupId"] == "order-7"
    assert message["Attributes"]["MessageDeduplicationId"] == "dedup-1"
    body = json.loads(message["Body"])
    assert body["MessageId"] == response["MessageId"]
    assert body["SequenceNumber"] == response["SequenceNumber"]
    assert body["Message"] == "m"


def test_group_order_kept(stack: EmulatedStack) -> None:
    """Each group's messages reach a FIFO queue in the order they were published."""
    topic = _fifo_topic(stack, "ordered.fifo", ContentBasedDeduplication="true")
    url, arn = _queue(stack, "ordered.fifo", FifoQueue="true")
    sns = stack.client("sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    published = [(f"group-{number % 2}", f"message-{number}") for number in range(6)]

    for group, body in published:
        sns.publish(TopicArn=topic, Message=body, MessageGroupId=group)

    received: dict[str, list[str]] = {}
    for message in _receive(stack, url):
        received.setdefault(message["Attributes"]["MessageGroupId"], []).append(
            message["Body"])
    assert received == {"group-0": ["message-0", "message-2", "message-4"],
                        "group-1": ["message-1", "message-3", "message-5"]}


def test_duplicate_within_five_minutes(stack: EmulatedStack) -> None:
    """A message with a body seen in the last 5 minutes is accepted and not delivered.
    After 5 minutes on the virtual clock it is delivered again."""
    topic = _fifo_topic(stack, "dedup.fifo", ContentBasedDeduplication="true")
    url, arn = _queue(stack, "dedup-standard")
    sns = stack.client("sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})

    sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    stack.clock.advance(299)
    duplicate = sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    assert duplicate["MessageId"]
    assert [message["Body"] for message in _receive(stack, url)] == ["same"]

    stack.clock.advance(2)
    sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    assert [message["Body"] for message in _receive(stack, url)] == ["same"]
    assert len(stack.events.messages(topic=topic)) == 2


def test_explicit_deduplication_id(stack: EmulatedStack) -> None:
    """An explicit MessageDeduplicationId decides, whatever the body."""
    topic = _fifo_topic(stack, "explicit-dedup.fifo", ContentBasedDeduplication="true")
    url, arn = _queue(stack, "explicit-dedup")
    sns = stack.client("sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})

    sns.publish(TopicArn=topic, Message="first", MessageGroupId="g",
                MessageDeduplicationId="id-1")
    sns.publish(TopicArn=topic, Message="second", MessageGroupId="g",
                MessageDeduplicationId="id-1")
    sns.publish(TopicArn=topic, Message="first", MessageGroupId="g",
                MessageDeduplicationId="id-2")

    assert [message["Body"] for message in _receive(stack, url)] == ["first", "first"]


def test_message_group_deduplication_scope(stack: EmulatedStack) -> None:
    """With FifoThroughputScope MessageGroup, deduplication is per message group."""
    topic = _fifo_topic(stack, "scoped.fifo", ContentBasedDeduplication="true",
                        FifoThroughputScope="MessageGroup")
    url, arn = _queue(stack, "scoped")
    sns = stack.client("sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})

    for group in ("a", "b", "a"):
        sns.publish(TopicArn=topic, Message="same", MessageGroupId=group)

    assert len(_receive(stack, url)) == 2


# --- HTTP(S) delivery retries ---------------------------------------------------------------


@dataclass
class Endpoint:
    """An HTTP endpoint on 127.0.0.1 that responds with the given statuses, in turn."""

    url: str
    statuses: list[int]
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint("", [200])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            state.headers.append({name.lower(): value for name, value in self.headers.items()})
            index = min(len(state.bodies) - 1, len(state.statuses) - 1)
            self.send_response(state.statuses[index])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _subscribe_http(stack: EmulatedStack, url: str, **attributes: str) -> tuple[str, str]:
    """Subscribe ``url`` to a new topic with a dead-letter queue; return the topic ARN and
    the queue URL."""
    sns = stack.client("sns")
    topic = sns.create_topic(Name="hooks")["TopicArn"]
    dlq_url, dlq_arn = _queue(stack, "hooks-dlq")
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn}), **attributes})
    return topic, dlq_url


def test_server_error_retried_then_dead_letter(stack: EmulatedStack,
                                              endpoint: Endpoint) -> None:
    """A 5xx response is retried 3 times, 20 seconds apart, then the message goes to the
    dead-letter queue."""
    endpoint.statuses = [500]
    topic, dlq_url = _subscribe_http(stack, endpoint.url)

    stack.client("sns").publish(TopicArn=topic, Message="ping")
    assert len(endpoint.bodies) == 1
    stack.clock.advance(19)
    assert len(endpoint.bodies) == 1
    stack.clock.advance(1)
    assert len(endpoint.bodies) == 2
    assert _receive(stack, dlq_url) == []

    stack.clock.advance(40)
    assert len(endpoint.bodies) == 4
    (dead,) = _receive(stack, dlq_url)
    assert json.loads(dead["Body"])["Message"] == "ping"
    stack.clock.advance(3600)
    assert len(endpoint.bodies) == 4


def test_retry_succeeds(stack: EmulatedStack, endpoint: Endpoint) -> None:
    """A retry that succeeds ends the delivery; nothing reaches the dead-letter queue."""
    endpoint.statuses = [503, 200]
    topic, dlq_url = _subscribe_http(stack, endpoint.url)

    stack.client("sns").publish(TopicArn=topic, Message="ping")
    stack.clock.advance(600)

    assert len(endpoint.bodies) == 2
    assert endpoint.bodies[0] == endpoint.bodies[1]
    assert endpoint.headers[1]["x-amz-sns-message-type"] == "Notification"
    assert _receive(stack, dlq_url) == []


def test_unreachable_endpoint_retried(stack: EmulatedStack) -> None:
    """An endpoint that refuses connections is a server-side error, retried and then
    dead-lettered."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    topic, dlq_url = _subscribe_http(stack, f"http://127.0.0.1:{port}/hook")

    stack.client("sns").publish(TopicArn=topic, Message="ping")
    assert _receive(stack, dlq_url) == []
    stack.clock.advance(60)

    assert len(_receive(stack, dlq_url)) == 1


def test_subscription_delivery_policy_phases(stack: EmulatedStack,
                                             endpoint: Endpoint) -> None:
    """The subscription's DeliveryPolicy sets the phases: 1 retry without delay, 2 retries
    5 seconds apart, then 1 backoff retry at the maximum delay of 30 seconds."""
    endpoint.statuses = [500]
    policy = {"healthyRetryPolicy": {
        "numRetries": 4, "numNoDelayRetries": 1, "numMinDelayRetries": 2,
        "numMaxDelayRetries": 0, "minDelayTarget": 5, "maxDelayTarget": 30,
        "backoffFunction": "linear"}}
    topic, dlq_url = _subscribe_http(stack, endpoint.url, DeliveryPolicy=json.dumps(policy))

    stack.client("sns").publish(TopicArn=topic, Message="ping")
    assert len(endpoint.bodies) == 2
    stack.clock.advance(5)
    assert len(endpoint.bodies) == 3
    stack.clock.advance(5)
    assert len(endpoint.bodies) == 4
    stack.clock.advance(29)
    assert len(endpoint.bodies) == 4
    assert _receive(stack, dlq_url) == []

    stack.clock.advance(1)
    assert len(endpoint.bodies) == 5
    assert len(_receive(stack, dlq_url)) == 1


def test_topic_policy_without_overrides(stack: EmulatedStack, endpoint: Endpoint) -> None:
    """A topic's http.defaultHealthyRetryPolicy applies when it disables subscription
    overrides."""
    endpoint.statuses = [500]
    topic_policy = {"http": {
        "defaultHealthyRetryPolicy": {"numRetries": 1, "minDelayTarget": 7,
                                      "maxDelayTarget": 7},
        "disableSubscriptionOverrides": True}}
    subscription_policy = {"healthyRetryPolicy": {"numRetries": 5}}
    topic, dlq_url = _subscribe_http(stack, endpoint.url,
                                     DeliveryPolicy=json.dumps(subscription_policy))
    stack.client("sns").set_topic_attributes(TopicArn=topic, AttributeName="DeliveryPolicy",
                                             AttributeValue=json.dumps(topic_policy))

    stack.client("sns").publish(TopicArn=topic, Message="ping")
    stack.clock.advance(7)

    assert len(endpoint.bodies) == 2
    assert len(_receive(stack, dlq_url)) == 1
