"""Integration tests of the activity pipeline: ItemAdded event → recordActivity →
activity queue → countSkus → SKU totals, with the dead-letter queue for poison messages.

The queue redrives a message after three receives (maxReceiveCount), and countSkus reports
partial batch failures, so that only failed messages are received again:
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.integration

ApiEventFactory = Callable[..., dict[str, Any]]

# The activity queue's visibility timeout in serverless.yml, in seconds.
VISIBILITY_TIMEOUT = 60


def _totals(stack: EmulatedStack) -> dict[str, int]:
    items = stack.client("dynamodb").scan(TableName=stack.outputs["SkuTotalsTableName"])
    return {item["sku"]["S"]: int(item["units"]["N"]) for item in items["Items"]}


def _send(stack: EmulatedStack, *bodies: str) -> None:
    stack.client("sqs").send_message_batch(
        QueueUrl=stack.outputs["ActivityQueueUrl"],
        Entries=[{"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies)])


def _dead_letters(stack: EmulatedStack) -> list[str]:
    received = stack.client("sqs").receive_message(
        QueueUrl=stack.outputs["ActivityDeadLetterQueueUrl"], MaxNumberOfMessages=10)
    return [message["Body"] for message in received.get("Messages", [])]


def _let_receives_expire(stack: EmulatedStack, times: int) -> None:
    """Let the visibility timeout pass ``times`` times, so failed messages return."""
    for _ in range(times):
        stack.clock.advance(VISIBILITY_TIMEOUT + 1)
        stack.settle()


def test_added_items_are_counted(cart_stack: EmulatedStack,
                                 api_event: ApiEventFactory) -> None:
    """Each ItemAdded event reaches countSkus through the bus and the queue."""
    for quantity in (2, 3):
        event = api_event("POST", "/{userId}/items", {"userId": "user-1"},
                          body={"sku": "PEN", "quantity": quantity, "price": 1})
        cart_stack.invoke("addItem", event).raise_for_error()

    cart_stack.settle()

    assert _totals(cart_stack) == {"PEN": 5}
    assert _dead_letters(cart_stack) == []


def test_poison_message_ends_in_dead_letter_queue(cart_stack: EmulatedStack) -> None:
    """A message countSkus cannot process is received three times, then redriven."""
    _send(cart_stack, "not json")
    cart_stack.settle()

    before_redrive = _dead_letters(cart_stack)
    _let_receives_expire(cart_stack, 3)
    count_skus = cart_stack.function_name("countSkus")
    attempts = [result for result in cart_stack.invocations
                if result.function_name == count_skus]

    assert before_redrive == []
    assert len(attempts) == 3
    assert _dead_letters(cart_stack) == ["not json"]
    assert _totals(cart_stack) == {}


def test_partial_batch_failure_retries_only_failed(cart_stack: EmulatedStack) -> None:
    """In a batch with one bad message, the good one is counted once and deleted. Only the
    bad one is received again, until the queue redrives it."""
    _send(cart_stack, json.dumps({"sku": "INK", "quantity": 4}),
          json.dumps({"sku": "INK", "quantity": 0}))
    cart_stack.settle()

    _let_receives_expire(cart_stack, 3)

    assert _totals(cart_stack) == {"INK": 4}
    assert [json.loads(body) for body in _dead_letters(cart_stack)] == [
        {"sku": "INK", "quantity": 0}]
