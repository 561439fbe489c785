"""Integration tests of the activity pipeline: ItemAdded event → recordActivity →
activity queue → countSkus → SKU totals, with the dead-letter queue for poison messages.

The queue redrives a message after three receives (maxReceiveCount), and countSkus reports
partial batch failures, so that only failed messages are received again:
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.integration

ApiEventFactory = Callable[..., dict[str, Any]]

# The activity queue's visibility timeout in serverless.yml, in seconds.
VISIBILITY_TIMEOUT = 60
# How long to wait for countSkus on the AWS target, where it runs after the test's calls.
COUNT_TIMEOUT = 60.0


def _totals(stack: EmulatedStack) -> dict[str, int]:
    items = stack.client("dynamodb").scan(TableName=stack.outputs["SkuTotalsTableName"])
    return {item["sku"]["S"]: int(item["units"]["N"]) for item in items["Items"]}


def _total(stack: EmulatedStack, sku: str) -> int | None:
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["SkuTotalsTableName"], Key={"sku": {"S": sku}},
        ConsistentRead=True).get("Item")
    return None if item is None else int(item["units"]["N"])


def _settled_total(stack: EmulatedStack, sku: str, expected: int) -> int | None:
    """Settle the stack, then read the SKU's total until it is ``expected`` or
    COUNT_TIMEOUT passes, and return the last total read.

    The local target has counted everything once ``settle()`` returns. On AWS the event
    source mapping polls the queue on its own schedule, so the total can arrive later.
    """
    stack.settle()
    deadline = time.monotonic() + COUNT_TIMEOUT
    total = _total(stack, sku)
    while total != expected and time.monotonic() < deadline:
        time.sleep(1)
        total = _total(stack, sku)
    return total


def _send(stack: EmulatedStack, *bodies: str) -> None:
    stack.client("sqs").send_message_batch(
        QueueUrl=stack.outputs["ActivityQueueUrl"],
        Entries=[{"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies)])


def _dead_letters(stack: EmulatedStack, containing: str) -> list[str]:
    """Return the bodies in the dead-letter queue that contain ``containing``.

    A visibility timeout of 0 leaves every message visible to the other tests' receives.
    """
    received = stack.client("sqs").receive_message(
        QueueUrl=stack.outputs["ActivityDeadLetterQueueUrl"], MaxNumberOfMessages=10,
        VisibilityTimeout=0)
    return [message["Body"] for message in received.get("Messages", [])
            if containing in message["Body"]]


def _let_receives_expire(stack: EmulatedStack, times: int) -> None:
    """Let the visibility timeout pass ``times`` times, so failed messages return."""
    for _ in range(times):
        stack.clock.advance(VISIBILITY_TIMEOUT + 1)
        stack.settle()


def test_added_items_are_counted(cart_stack: EmulatedStack, api_event: ApiEventFactory,
                                 user_id: str, sku: str) -> None:
    """Each ItemAdded event reaches countSkus through the bus and the queue."""
    for quantity in (2, 3):
        event = api_event("POST", "/{userId}/items", {"userId": user_id},
                          body={"sku": sku, "quantity": quantity, "price": 1})
        cart_stack.invoke("addItem", event).raise_for_error()

    total = _settled_total(cart_stack, sku, 5)

    assert total == 5
    assert _dead_letters(cart_stack, sku) == []


# The local target lets the queue's visibility timeouts pass on its virtual clock, but AWS
# would take three real visibility timeouts of 60 seconds each.
@pytest.mark.windtunnel_local_only
def test_poison_message_ends_in_dead_letter_queue(cart_stack: EmulatedStack) -> None:
    """A message countSkus cannot process is received three times, then redriven."""
    poison = f"not json {uuid.uuid4().hex}"
    totals_before = _totals(cart_stack)
    invocations_before = len(cart_stack.invocations)

    _send(cart_stack, poison)
    cart_stack.settle()
    before_redrive = _dead_letters(cart_stack, poison)
    _let_receives_expire(cart_stack, 3)
    count_skus = cart_stack.function_name("countSkus")
    attempts = [result for result in cart_stack.invocations[invocations_before:]
                if result.function_name == count_skus]

    assert before_redrive == []
    assert len(attempts) == 3
    assert _dead_letters(cart_stack, poison) == [poison]
    assert _totals(cart_stack) == totals_before


@pytest.mark.windtunnel_local_only
def test_partial_batch_failure_retries_only_failed(cart_stack: EmulatedStack,
                                                   sku: str) -> None:
    """In a batch with one bad message, the good one is counted once and deleted. Only the
    bad one is received again, until the queue redrives it."""
    _send(cart_stack, json.dumps({"sku": sku, "quantity": 4}),
          json.dumps({"sku": sku, "quantity": 0}))
    cart_stack.settle()

    _let_receives_expire(cart_stack, 3)

    assert _total(cart_stack, sku) == 4
    assert [json.loads(body) for body in _dead_letters(cart_stack, sku)] == [
        {"sku": sku, "quantity": 0}]
