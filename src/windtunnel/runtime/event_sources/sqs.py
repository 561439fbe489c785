"""Poll SQS queues for their event source mappings and invoke functions with the messages.

Lambda receives up to ``BatchSize`` messages, invokes the function synchronously with them,
and deletes them when the invocation succeeds. When it fails, the messages stay in the
queue and become visible again after the queue's visibility timeout. The queue's redrive
policy moves a message to its dead-letter queue once it was received ``maxReceiveCount``
times. https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html

Messages are received from moto's queue model, which keeps visibility and delays in wall
time. Virtual time is added on top: a poll receives with the queue's visibility timeout,
and when the batch fails, the messages are made visible again (ChangeMessageVisibility to
0) once that timeout has passed on the virtual clock. A delayed message is released the
same way when its delay has passed on the virtual clock. moto applies the redrive policy
when a message that reached ``maxReceiveCount`` is received again. Lambda's own receive requests are
not API calls, so they do not appear in ``cloud.calls``; IAM is checked for the function's
execution role before each poll instead.

Limitations:
    Batches of one mapping run one at a time, which stays within any
    ``ScalingConfig.MaximumConcurrency`` (2 at least).
    Batches are not cut at Lambda's 6 MB payload limit: a larger batch fails to invoke.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any

from windtunnel.runtime.event_sources.batch_response import failed_items
from windtunnel.runtime.event_sources.filters import matches_filters
from windtunnel.runtime.event_sources.mappings import EventSourceMapping

if TYPE_CHECKING:
    from windtunnel.cloud.messages import AwsRequest
    from windtunnel.runtime.event_sources.pollers import EventSourcePollers

__all__ = ["POLLER_ACTIONS", "SqsPoller", "sqs_record"]

logger = logging.getLogger(__name__)

# The permissions Lambda needs on the queue in the function's execution role:
# https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
POLLER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")

# NOTE: Lambda backs off after failed invocations without documenting the interval. With a
# visibility timeout of 0 the failed messages are polled again after this many seconds, so
# that ``settle()`` does not retry them forever.
_MINIMUM_RETRY_DELAY = 1.0

# FIFO sequence numbers have 20 digits in SQS; moto sets none without an explicit
# deduplication ID, so the emulation numbers FIFO messages in the order they arrive.
_FIRST_SEQUENCE_NUMBER = 10**19


class SqsPoller:
    """Delivers the messages of mapped SQS queues to their functions."""

    def __init__(self, pollers: EventSourcePollers) -> None:
        self._pollers = pollers
        self._sequence_numbers = itertools.count(_FIRST_SEQUENCE_NUMBER)

    # --- triggers ------------------------------------------------------------------------

    def on_message(self, queue: Any, message: Any) -> None:
        """Schedule polls for a message that moto added to ``queue``."""
        if queue.fifo_queue and message.sequence_number is None:
            message.sequence_number = str(next(self._sequence_numbers))
        mappings = self._mappings_of(queue)
        if not mappings:
            return
        delay = _remaining_delay(message)
        if delay > 0:
            self._pollers.schedule(
                delay, functools.partial(self._end_delay, queue.region, queue.name, message.id),
                description=f"end the delay of message {message.id} in {queue.name}")
            return
        for mapping in mappings:
            self._request_poll(mapping, queue)

    def start(self, mapping: EventSourceMapping) -> None:
        """Poll the queue of a mapping that was created or enabled, and release its delayed
        messages on the virtual clock."""
        queue = _queue(mapping.account_id, mapping.region, mapping.source_arn)
        if queue is None:
            return
        for message in list(queue._messages):
            delay = _remaining_delay(message)
            if delay > 0:
                self._pollers.schedule(
                    delay, functools.partial(self._end_delay, queue.region, queue.name,
                                             message.id),
                    description=f"end the delay of message {message.id} in {queue.name}")
        self._request_poll(mapping, queue)

    def after_request(self, request: AwsRequest) -> None:
        """Do nothing: messages are reported by the queue itself (see :meth:`on_message`)."""

    def reset(self) -> None:
        """Keep nothing: the pending polls are the registry's, the messages moto's."""

    def _mappings_of(self, queue: Any) -> list[EventSourceMapping]:
        return [mapping for mapping in self._pollers.mappings(queue.region, "sqs")
                if mapping.source_arn == queue.queue_arn]

    def _request_poll(self, mapping: EventSourceMapping, queue: Any) -> None:
        # With a batching window, Lambda gathers messages until the batch is full or the
        # window ends (MaximumBatchingWindowInSeconds):
        # https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
        delay = 0.0
        if mapping.batching_window > 0 and len(queue.messages) < mapping.batch_size:
            delay = float(mapping.batching_window)
        self._pollers.schedule(
            delay, functools.partial(self.poll, mapping.region, mapping.uuid),
            key=f"sqs:{mapping.uuid}",
            description=f"poll {queue.name} for {mapping.function_name}")

    def _trigger(self, queue: Any) -> None:
        for mapping in self._mappings_of(queue):
            self._request_poll(mapping, queue)

    def _end_delay(self, region: str, queue_name: str, message_id: str) -> None:
        queue = _sqs_backend(self._pollers.cloud.account_id, region).queues.get(queue_name)
        if queue is None:
            return
        for message in list(queue._messages):
            if message.id == message_id:
                message.delayed_until = 0.0
        self._trigger(queue)

    def _end_visibility(self, region: str, queue_name: str, receipt_handles: list[str]) -> None:
        from moto.core.exceptions import ServiceException

        backend = _sqs_backend(self._pollers.cloud.account_id, region)
        for receipt_handle in receipt_handles:
            # A message may have been deleted or moved to the dead-letter queue since.
            with contextlib.suppress(ServiceException):
                backend.change_message_visibility(queue_name, receipt_handle, 0)
        queue = backend.queues.get(queue_name)
        if queue is not None:
            self._trigger(queue)

    # --- polling -------------------------------------------------------------------------

    def poll(self, region: str, uuid: str) -> None:
        """Receive one batch for the mapping, invoke its function with it, and delete the
        messages that succeeded or matched no filter."""
        mapping = self._pollers.mapping(region, uuid)
        if mapping is None:
            return
        queue = _queue(mapping.account_id, region, mapping.source_arn)
        if queue is None:
            self._pollers.warn_once(f"{uuid}:source", "event source mapping %s: queue %s does "
                                    "not exist", uuid, mapping.source_arn)
            return
        if not self._pollers.permitted(mapping, POLLER_ACTIONS, mapping.source_arn):
            return

        backend = _sqs_backend(mapping.account_id, region)
        visibility_timeout = int(queue.visibility_timeout)
        messages = backend.receive_message(queue.name, mapping.batch_size, 0,
                                           visibility_timeout, ["All"])
        if not messages:
            return
        records = [sqs_record(queue, message, region) for message in messages]

        # Lambda deletes the messages that match no filter:
        # https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html
        delivered = [record for record in records
                     if matches_filters(mapping.filters, record, "body", record["body"])]
        failed = self._deliver(mapping, delivered) if delivered else set()
        for record in records:
            if record["messageId"] not in failed:
                backend.delete_message(queue.name, record["receiptHandle"])

        if failed:
            handles = [record["receiptHandle"] for record in delivered
                       if record["messageId"] in failed]
            self._pollers.schedule(
                max(float(visibility_timeout), _MINIMUM_RETRY_DELAY),
                functools.partial(self._end_visibility, region, queue.name, handles),
                description=f"end the visibility timeout of {len(handles)} messages in "
                            f"{queue.name}")
        if (len(messages) >= mapping.batch_size and (not failed or visibility_timeout > 0)
                and _has_visible_messages(queue)):
            # More messages are waiting. Messages that become visible or arrive later
            # request their own poll.
            self._request_poll(mapping, queue)

    def _deliver(self, mapping: EventSourceMapping, records: list[dict[str, Any]]) -> set[str]:
        """Invoke the function with ``records``; return the IDs of the failed messages."""
        identifiers = [record["messageId"] for record in records]
        result = self._pollers.invoke(mapping, {"Records": records})
        if result is None:
            return set(identifiers)
        if result.function_error is not None:
            logger.info("event source mapping %s: function %s failed on %d messages from %s; "
                        "they return to the queue after its visibility timeout", mapping.uuid,
                        mapping.function_name, len(records), mapping.source_arn)
            return set(identifiers)
        if not mapping.report_batch_item_failures:
            return set()
        failed = failed_items(result.raw_payload, identifiers)
        if failed is None:
            logger.info("event source mapping %s: function %s returned a partial batch response "
                        "that Lambda cannot read, so the whole batch failed", mapping.uuid,
                        mapping.function_name)
            return set(identifiers)
        return set(failed)


def _has_visible_messages(queue: Any) -> bool:
    """Tell whether moto's ``queue`` contains a message that a receive could return now."""
    return any(message.visible and not message.delayed for message in queue._messages)


def sqs_record(queue: Any, message: Any, region: str) -> dict[str, Any]:
    """Build the event record of one received message, as Lambda sends it.

    ``queue`` and ``message`` are moto's models, after the receive.
    https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        attributes["SequenceNumber"] = str(message.sequence_number)
        attributes["MessageGroupId"] = str(message.group_id)
        if message.deduplication_id:
            attributes["MessageDeduplicationId"] = str(message.deduplication_id)
    trace_header = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace_header:
        attributes["AWSTraceHeader"] = str(trace_header.get("StringValue", ""))

    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {name: _message_attribute(value) for name, value in
                              sorted(message.message_attributes.items())},
        "md5OfBody": message.body_md5,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    record.update({
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": region,
    })
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """Write a message attribute in the event's lower camel case form."""
    attribute: dict[str, Any] = {}
    if value.get("StringValue") is not None:
        attribute["stringValue"] = str(value["StringValue"])
    if value.get("BinaryValue") is not None:
        binary = value["BinaryValue"]
        # moto keeps the bytes; a query-protocol request may leave them base64-encoded.
        attribute["binaryValue"] = (base64.b64encode(binary).decode()
                                    if isinstance(binary, bytes) else str(binary))
    attribute["stringListValues"] = []
    attribute["binaryListValues"] = []
    attribute["dataType"] = str(value["DataType"])
    return attribute


def _remaining_delay(message: Any) -> float:
    """Return the seconds until a message's delay ends; moto keeps it in wall time."""
    return (float(message.delayed_until) - time.time() * 1000) / 1000


def _sqs_backend(account_id: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account_id][region]


def _queue(account_id: str, region: str, queue_arn: str) -> Any:
    queue = _sqs_backend(account_id, region).queues.get(queue_arn.rsplit(":", 1)[-1])
    return queue if queue is not None and queue.queue_arn == queue_arn else None
