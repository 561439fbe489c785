"""Poll Kinesis streams and DynamoDB streams for their event source mappings.

Lambda reads each shard in order, from ``StartingPosition`` (``TRIM_HORIZON``, ``LATEST``
or, for Kinesis, ``AT_TIMESTAMP``), in batches of up to ``BatchSize`` records, and invokes
the function synchronously. A shard does not move past a failed batch: Lambda retries it
until it succeeds, ``MaximumRetryAttempts`` retries have failed, or its records are older
than ``MaximumRecordAgeInSeconds`` (or the stream's retention). Then the batch is discarded
and, with an on-failure destination, a record describing it goes to the SQS queue or SNS
topic. ``BisectBatchOnFunctionError`` splits a failed batch in two without using a retry.
With ``ReportBatchItemFailures`` the function returns the sequence number of the first
failed record, and Lambda retries from there.
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html

The position of each mapping in each shard is kept with the cloud's service state, so a
reset returns it to where it was at the snapshot, with the stream's records.

Limitations:
    NOTE: Lambda does not document how soon it retries a failed batch; here the retries
    wait 1, 2, 4 ... up to 60 seconds of virtual time, so ``stack.clock.advance`` runs them.
    ``ParallelizationFactor`` and ``TumblingWindowInSeconds`` are not applied: one batch per
    shard is in flight, and no window state is passed. Batching windows are not waited for.
    On-failure destinations in S3 or Kafka are not emulated.
"""

from __future__ import annotations

import datetime
import functools
import logging
import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from windtunnel.runtime.event_sources.batch_response import failed_items
from windtunnel.runtime.event_sources.mappings import EventSourceMapping
from windtunnel.runtime.result import InvocationResult

if TYPE_CHECKING:
    from windtunnel.cloud.messages import AwsRequest
    from windtunnel.runtime.event_sources.pollers import EventSourcePollers

__all__ = ["StreamPoller", "StreamRecord", "StreamSource"]

logger = logging.getLogger(__name__)

_STATE_KEY = "lambda-event-source-mappings"
_FIRST_RETRY_DELAY = 1.0
_MAXIMUM_RETRY_DELAY = 60.0


@dataclass(frozen=True)
class StreamRecord:
    """One record of a shard, with the event record Lambda sends for it."""

    sequence_number: int
    arrival: float
    """Seconds since the epoch when the record was written."""
    event: dict[str, Any]


class StreamSource(Protocol):
    """The stream service behind a poller: how to read shards and shape their records."""

    kind: str
    batch_info_key: str
    """The key of the batch description in an on-failure record (``KinesisBatchInfo``)."""
    actions: tuple[str, ...]
    """The actions the execution role needs on the stream."""

    def writes_records(self, request: AwsRequest) -> bool:
        """Tell whether ``request`` may have added records to a stream."""

    def shard_ids(self, mapping: EventSourceMapping) -> list[str] | None:
        """Return the stream's shard IDs, or None when the stream does not exist."""

    def read(self, mapping: EventSourceMapping, shard_id: str, after: int | None,
             limit: int) -> list[StreamRecord]:
        """Return up to ``limit`` records after sequence number ``after`` (None: all)."""

    def start_position(self, mapping: EventSourceMapping, shard_id: str) -> int | None:
        """Return the sequence number before the mapping's starting position (None: the
        shard's first record)."""

    def latest_sequence_number(self, mapping: EventSourceMapping, shard_id: str) -> int | None:
        """Return the sequence number of the shard's last record (None: it has none)."""

    def retention_seconds(self, mapping: EventSourceMapping) -> float:
        """Return how long the stream keeps a record."""

    def matches(self, mapping: EventSourceMapping, record: StreamRecord) -> bool:
        """Tell whether ``record`` passes the mapping's filters."""

    def format_arrival(self, arrival: float) -> str:
        """Write an arrival time as the on-failure record does."""


@dataclass(eq=False)
class _Batch:
    """Records of one shard that are being delivered, with their failures so far."""

    records: list[StreamRecord]
    retries: int = 0
    """Failed invocations that count against ``MaximumRetryAttempts``."""
    invocations: int = 0
    last_result: InvocationResult | None = field(default=None, repr=False)


class StreamPoller:
    """Delivers the records of one stream service's mapped shards to their functions."""

    def __init__(self, pollers: EventSourcePollers, source: StreamSource) -> None:
        self._pollers = pollers
        self.source = source
        self._batches: dict[tuple[str, str], list[_Batch]] = {}
        self._retry_at: dict[tuple[str, str], datetime.datetime] = {}
        # Per mapping and shard: (last sequence number written, virtual time it was seen).
        # Record ages are measured on the virtual clock from these.
        self._arrivals: dict[tuple[str, str], list[tuple[int, float]]] = {}

    # --- triggers ------------------------------------------------------------------------

    def start(self, mapping: EventSourceMapping) -> None:
        """Take the starting position in each shard the mapping has not read yet, then
        poll."""
        shard_ids = self.source.shard_ids(mapping) or []
        positions = self._positions(mapping.uuid)
        for shard_id in shard_ids:
            if shard_id not in positions:
                positions[shard_id] = self.source.start_position(mapping, shard_id)
        self._note_arrivals(mapping)
        self._request_poll(mapping, 0.0)

    def after_request(self, request: AwsRequest) -> None:
        """Poll every mapping of the Region after a request that wrote records."""
        if not self.source.writes_records(request):
            return
        for mapping in self._pollers.mappings(request.region, self.source.kind):
            self._note_arrivals(mapping)
            self._request_poll(mapping, 0.0)

    def reset(self) -> None:
        """Forget the batches in progress; positions come back with the service state."""
        self._batches.clear()
        self._retry_at.clear()
        self._arrivals.clear()

    def _note_arrivals(self, mapping: EventSourceMapping) -> None:
        """Remember the virtual time at which the newest records of each shard were seen."""
        now = self._pollers.clock.time()
        for shard_id in self.source.shard_ids(mapping) or []:
            latest = self.source.latest_sequence_number(mapping, shard_id)
            if latest is None:
                continue
            arrivals = self._arrivals.setdefault((mapping.uuid, shard_id), [])
            if not arrivals or latest > arrivals[-1][0]:
                arrivals.append((latest, now))

    def _arrival(self, mapping: EventSourceMapping, shard_id: str, record: StreamRecord) -> float:
        """Return the virtual time at which ``record`` was first seen in its shard."""
        for last_written, seen in self._arrivals.get((mapping.uuid, shard_id), ()):
            if record.sequence_number <= last_written:
                return seen
        # Written by a path that is not an API call of this cloud: it arrived now.
        return self._pollers.clock.time()

    def _request_poll(self, mapping: EventSourceMapping, delay: float) -> None:
        self._pollers.schedule(
            delay, functools.partial(self.poll, mapping.region, mapping.uuid),
            key=f"{self.source.kind}:{mapping.uuid}",
            description=f"poll {mapping.source_arn} for {mapping.function_name}")

    def _positions(self, uuid: str) -> dict[str, int | None]:
        state = self._pollers.cloud.service_state.setdefault(_STATE_KEY, {})
        positions: dict[str, int | None] = state.setdefault(uuid, {})
        return positions

    # --- polling -------------------------------------------------------------------------

    def poll(self, region: str, uuid: str) -> None:
        """Deliver the next batch of each shard; poll again while records are waiting."""
        mapping = self._pollers.mapping(region, uuid)
        if mapping is None:
            return
        shard_ids = self.source.shard_ids(mapping)
        if shard_ids is None:
            self._pollers.warn_once(f"{uuid}:source", "event source mapping %s: stream %s "
                                    "does not exist", uuid, mapping.source_arn)
            return
        if not self._pollers.permitted(mapping, self.source.actions, mapping.source_arn):
            return

        now = self._pollers.clock.now()
        again = False
        next_retry: datetime.datetime | None = None
        for shard_id in shard_ids:
            retry_at = self._retry_at.get((uuid, shard_id))
            if retry_at is not None and retry_at > now:
                next_retry = retry_at if next_retry is None else min(next_retry, retry_at)
                continue
            self._retry_at.pop((uuid, shard_id), None)
            if self._deliver_next(mapping, shard_id):
                again = True
            retry_at = self._retry_at.get((uuid, shard_id))
            if retry_at is not None:
                next_retry = retry_at if next_retry is None else min(next_retry, retry_at)
        if again:
            self._request_poll(mapping, 0.0)
        if next_retry is not None:
            self._request_poll(mapping, (next_retry - now).total_seconds())

    def _deliver_next(self, mapping: EventSourceMapping, shard_id: str) -> bool:
        """Deliver one batch of a shard; return whether more work is ready now."""
        key = (mapping.uuid, shard_id)
        batches = self._batches.setdefault(key, [])
        if not batches:
            positions = self._positions(mapping.uuid)
            position = positions.get(shard_id)
            records = self.source.read(mapping, shard_id, position, mapping.batch_size)
            if not records:
                return False
            batches.append(_Batch(records))
        batch = batches[0]

        expired = self._expired_prefix(mapping, shard_id, batch.records)
        if expired:
            self._discard(mapping, shard_id, batch, expired, "RecordAgeExceeded")
            self._advance(mapping, shard_id, expired[-1])
            batch.records = batch.records[len(expired):]
            if not batch.records:
                batches.pop(0)
                return True

        delivered = [record for record in batch.records if self.source.matches(mapping, record)]
        failed_from = self._invoke(mapping, batch, delivered) if delivered else None
        if failed_from is None:
            self._advance(mapping, shard_id, batch.records[-1])
            batches.pop(0)
            return True

        # The records before the first failed one succeeded.
        index = next(position for position, record in enumerate(batch.records)
                     if record.sequence_number >= failed_from)
        if index > 0:
            self._advance(mapping, shard_id, batch.records[index - 1])
            batch.records = batch.records[index:]
            if mapping.bisect_batch_on_function_error:
                # Bisecting at the reported sequence number uses no retry.
                return True
        elif mapping.bisect_batch_on_function_error and len(batch.records) > 1:
            # Splitting a failed batch does not count towards the retry quota.
            half = len(batch.records) // 2
            batches[0:1] = [
                _Batch(batch.records[:half], batch.retries, batch.invocations, batch.last_result),
                _Batch(batch.records[half:], batch.retries, batch.invocations, batch.last_result),
            ]
            return True

        batch.retries += 1
        if 0 <= mapping.maximum_retry_attempts < batch.retries:
            self._discard(mapping, shard_id, batch, batch.records, "RetryAttemptsExhausted")
            self._advance(mapping, shard_id, batch.records[-1])
            batches.pop(0)
            return True
        delay = min(_FIRST_RETRY_DELAY * 2 ** (batch.retries - 1), _MAXIMUM_RETRY_DELAY)
        self._retry_at[key] = self._pollers.clock.now() + datetime.timedelta(seconds=delay)
        return False

    def _invoke(self, mapping: EventSourceMapping, batch: _Batch,
                records: list[StreamRecord]) -> int | None:
        """Invoke the function; return the first failed sequence number, None on success."""
        result = self._pollers.invoke(mapping, {"Records": [record.event for record in records]})
        batch.invocations += 1
        batch.last_result = result
        if result is None:
            return records[0].sequence_number
        if result.function_error is not None:
            logger.info("event source mapping %s: function %s failed on %d records of %s",
                        mapping.uuid, mapping.function_name, len(records), mapping.source_arn)
            return records[0].sequence_number
        if not mapping.report_batch_item_failures:
            return None
        identifiers = {str(record.sequence_number): record for record in records}
        failed = failed_items(result.raw_payload, identifiers)
        if failed is None:
            logger.info("event source mapping %s: function %s returned a partial batch response "
                        "that Lambda cannot read, so the whole batch failed", mapping.uuid,
                        mapping.function_name)
            return records[0].sequence_number
        if not failed:
            return None
        # Lambda retries from the lowest sequence number reported.
        return min(int(identifier) for identifier in failed)

    def _expired_prefix(self, mapping: EventSourceMapping, shard_id: str,
                        records: Sequence[StreamRecord]) -> list[StreamRecord]:
        """Return the leading records that are older than the mapping lets Lambda send."""
        maximum_age = (float(mapping.maximum_record_age) if mapping.maximum_record_age >= 0
                       else self.source.retention_seconds(mapping))
        now = self._pollers.clock.time()
        expired = []
        for record in records:
            if now - self._arrival(mapping, shard_id, record) <= maximum_age:
                break
            expired.append(record)
        return expired

    def _advance(self, mapping: EventSourceMapping, shard_id: str, record: StreamRecord) -> None:
        self._positions(mapping.uuid)[shard_id] = record.sequence_number

    # --- on-failure destinations ---------------------------------------------------------

    def _discard(self, mapping: EventSourceMapping, shard_id: str, batch: _Batch,
                 records: Sequence[StreamRecord], condition: str) -> None:
        """Drop ``records``, and describe them to the on-failure destination if there is
        one."""
        logger.info("event source mapping %s: %d records of %s discarded (%s)", mapping.uuid,
                    len(records), shard_id, condition)
        destination = mapping.on_failure_destination
        if destination is None:
            return
        document = self._failure_record(mapping, shard_id, batch, records, condition)
        service = destination.split(":")[2]
        action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}.get(service)
        if action is None:
            # NOTE: S3 and Kafka on-failure destinations are not emulated.
            self._pollers.warn_once(f"{mapping.uuid}:destination",
                                    "event source mapping %s: on-failure destination %s is "
                                    "not emulated; the record describing the batch is "
                                    "dropped", mapping.uuid, destination)
            return
        # Lambda sends the record with the function's execution role:
        # https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
        if not self._pollers.permitted(mapping, (action,), destination):
            return
        _send(self._pollers, destination, document)

    def _failure_record(self, mapping: EventSourceMapping, shard_id: str, batch: _Batch,
                        records: Sequence[StreamRecord], condition: str) -> dict[str, Any]:
        """Build the record that Lambda sends to an on-failure destination.

        Source: https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
        """
        # NOTE: "RetryAttemptsExhausted" is documented; the condition for records that
        # passed MaximumRecordAgeInSeconds, "RecordAgeExceeded", is not confirmed.
        result = batch.last_result
        document: dict[str, Any] = {
            "requestContext": {
                "requestId": result.request_id if result else str(uuid_module.uuid4()),
                "functionArn": mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
        }
        if result is not None:
            document["responseContext"] = {
                "statusCode": result.status_code,
                "executedVersion": result.executed_version,
                "functionError": result.function_error,
            }
        now = self._pollers.clock.now()
        document["version"] = "1.0"
        document["timestamp"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{now.microsecond // 1000:03d}Z"
        document[self.source.batch_info_key] = {
            "shardId": shard_id,
            "startSequenceNumber": str(records[0].sequence_number),
            "endSequenceNumber": str(records[-1].sequence_number),
            "approximateArrivalOfFirstRecord": self.source.format_arrival(records[0].arrival),
            "approximateArrivalOfLastRecord": self.source.format_arrival(records[-1].arrival),
            "batchSize": len(records),
            "streamArn": mapping.source_arn,
        }
        return document


def _send(pollers: EventSourcePollers, destination: str, document: dict[str, Any]) -> None:
    import json

    from botocore.exceptions import ClientError

    parts = destination.split(":")
    service, region, account = parts[2], parts[3], parts[4]
    body = json.dumps(document)
    try:
        if service == "sqs":
            sqs = pollers.cloud.client("sqs", region)
            queue_url = sqs.get_queue_url(QueueName=parts[5],
                                          QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        else:
            pollers.cloud.client("sns", region).publish(TopicArn=destination, Message=body)
    except ClientError as error:
        logger.warning("on-failure destination %s did not receive the record: %s",
                       destination, error)
