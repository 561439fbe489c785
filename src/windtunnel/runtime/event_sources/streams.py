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

``ParallelizationFactor`` (1 to 10) splits each shard into that many lanes by partition key
(Kinesis) or item key (DynamoDB). Each lane keeps its records in order, has at most one
batch in flight and retries on its own, so a failing key does not hold up the others.
``MaximumBatchingWindowInSeconds`` makes a lane wait, on the virtual clock, until its batch
is full, the window has passed since its first record arrived, or the batch reaches the
6 MB invocation payload limit. ``TumblingWindowInSeconds`` groups records into windows by
arrival time: each invocation carries the window, the ``state`` the function returned last
in that window, and the flags ``isFinalInvokeForWindow`` and ``isWindowTerminatedEarly``.
Once the window has ended, a final invocation carries its state alone; a state larger
than 1 MB ends the window early.
https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html

The position of each mapping in each shard (and lane) is kept with the cloud's service
state, so a reset returns it to where it was at the snapshot, with the stream's records.

Limitations:
    NOTE: Lambda does not document how soon it retries a failed batch; here the retries
    wait 1, 2, 4 ... up to 60 seconds of virtual time, so ``stack.clock.advance`` runs them.
    The lanes of a shard are invoked one after another at the same virtual time, not in
    parallel threads. Lambda's assignment of keys to lanes is not documented, so which keys
    share a lane differs from AWS (here an MD5 hash of the key, modulo the factor).
    Tumbling window boundaries are multiples of the window length since the epoch, and
    the window state is kept in memory, so a reset drops open windows.
    On-failure destinations in S3 or Kafka are not emulated.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
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
# Lambda sends a batch once its payload reaches 6 MB, the synchronous invocation quota:
# https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
_MAXIMUM_PAYLOAD_BYTES = 6 * 1024 * 1024
# A tumbling window's state is at most 1 MB per shard; a larger one ends the window early:
# https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html
_MAXIMUM_STATE_BYTES = 1024 * 1024
_MAXIMUM_PARALLELIZATION_FACTOR = 10
# Records read from a shard at a time while a lane looks for its own.
_READ_CHUNK = 1000


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


@dataclass(frozen=True)
class _StreamSettings:
    """The stream settings of a mapping that :class:`EventSourceMapping` does not carry."""

    parallelization_factor: int = 1
    tumbling_window: int = 0
    """``TumblingWindowInSeconds``, 0 when the mapping has no tumbling window."""


@dataclass(eq=False)
class _Window:
    """An open tumbling window of one lane, with the state the function returned last."""

    start: float
    end: float
    state: Any = field(default_factory=dict)
    terminated_early: bool = False


@dataclass(eq=False)
class _Batch:
    """Records of one lane that are being delivered, with their failures so far."""

    records: list[StreamRecord]
    retries: int = 0
    """Failed invocations that count against ``MaximumRetryAttempts``."""
    invocations: int = 0
    last_result: InvocationResult | None = field(default=None, repr=False)
    final: bool = False
    """True for the invocation that closes a tumbling window; it carries no records."""


@dataclass(eq=False)
class _Lane:
    """One of a shard's ``ParallelizationFactor`` lanes: the records of its keys, in order,
    with one batch in flight."""

    shard_id: str
    index: int
    batches: list[_Batch] = field(default_factory=list)
    retry_at: datetime.datetime | None = None
    wake_at: datetime.datetime | None = None
    """When a batching window or a tumbling window ends, if the lane waits for one."""
    window: _Window | None = None


class StreamPoller:
    """Delivers the records of one stream service's mapped shards to their functions."""

    def __init__(self, pollers: EventSourcePollers, source: StreamSource) -> None:
        self._pollers = pollers
        self.source = source
        self._lanes: dict[tuple[str, str, int], _Lane] = {}
        # Per mapping and shard: (last sequence number written, virtual time it was seen).
        # Record ages, batching windows and tumbling windows use the virtual clock from these.
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
        """Forget the batches and windows in progress; positions come back with the service
        state."""
        self._lanes.clear()
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

    def _lane(self, uuid: str, shard_id: str, index: int) -> _Lane:
        lane = self._lanes.get((uuid, shard_id, index))
        if lane is None:
            lane = self._lanes[(uuid, shard_id, index)] = _Lane(shard_id, index)
        return lane

    # --- polling -------------------------------------------------------------------------

    def poll(self, region: str, uuid: str) -> None:
        """Deliver the next batch of each lane of each shard.

        Polls again at once while records are waiting, and later when a retry, a batching
        window or a tumbling window is due.
        """
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
        settings = self._settings(mapping)

        now = self._pollers.clock.now()
        again = False
        wake_at: datetime.datetime | None = None
        for shard_id in shard_ids:
            for index in range(settings.parallelization_factor):
                lane = self._lane(uuid, shard_id, index)
                if lane.retry_at is not None and lane.retry_at > now:
                    wake_at = _earliest(wake_at, lane.retry_at)
                    continue
                lane.retry_at = None
                lane.wake_at = None
                if self._deliver_next(mapping, settings, lane):
                    again = True
                wake_at = _earliest(wake_at, lane.retry_at)
                wake_at = _earliest(wake_at, lane.wake_at)
        if again:
            self._request_poll(mapping, 0.0)
        if wake_at is not None:
            self._request_poll(mapping, max((wake_at - now).total_seconds(), 0.0))

    def _settings(self, mapping: EventSourceMapping) -> _StreamSettings:
        """Read ``ParallelizationFactor`` and ``TumblingWindowInSeconds`` from the mapping."""
        configuration = _mapping_configuration(mapping)
        factor = int(configuration.get("ParallelizationFactor") or 1)
        if not 1 <= factor <= _MAXIMUM_PARALLELIZATION_FACTOR:
            # NOTE: Lambda rejects such a factor when the mapping is created or updated.
            self._pollers.warn_once(
                f"{mapping.uuid}:parallelization", "event source mapping %s: "
                "ParallelizationFactor %d is outside 1 to %d; the nearest is used",
                mapping.uuid, factor, _MAXIMUM_PARALLELIZATION_FACTOR)
            factor = min(max(factor, 1), _MAXIMUM_PARALLELIZATION_FACTOR)
        window = int(configuration.get("TumblingWindowInSeconds") or 0)
        return _StreamSettings(factor, max(window, 0))

    def _deliver_next(self, mapping: EventSourceMapping, settings: _StreamSettings,
                      lane: _Lane) -> bool:
        """Deliver one batch of a lane; return whether more work is ready now."""
        if not lane.batches:
            next_batch = self._next_batch(mapping, settings, lane)
            if next_batch is None:
                return False
            lane.batches.append(next_batch)
        batch = lane.batches[0]
        if batch.final:
            return self._close_window(mapping, lane, batch)

        expired = self._expired_prefix(mapping, lane.shard_id, batch.records)
        if expired:
            self._discard(mapping, lane.shard_id, batch, expired, "RecordAgeExceeded")
            self._advance(mapping, settings, lane, expired[-1].sequence_number)
            batch.records = batch.records[len(expired):]
            if not batch.records:
                lane.batches.pop(0)
                return True

        delivered = [record for record in batch.records if self.source.matches(mapping, record)]
        failed_from = self._invoke(mapping, lane, batch, delivered) if delivered else None
        if failed_from is None:
            self._advance(mapping, settings, lane, batch.records[-1].sequence_number)
            lane.batches.pop(0)
            return True

        # The records before the first failed one succeeded.
        index = next(position for position, record in enumerate(batch.records)
                     if record.sequence_number >= failed_from)
        if index > 0:
            self._advance(mapping, settings, lane, batch.records[index - 1].sequence_number)
            batch.records = batch.records[index:]
            if mapping.bisect_batch_on_function_error:
                # Bisecting at the reported sequence number uses no retry.
                return True
        elif mapping.bisect_batch_on_function_error and len(batch.records) > 1:
            # Splitting a failed batch does not count towards the retry quota.
            half = len(batch.records) // 2
            lane.batches[0:1] = [
                _Batch(batch.records[:half], batch.retries, batch.invocations, batch.last_result),
                _Batch(batch.records[half:], batch.retries, batch.invocations, batch.last_result),
            ]
            return True

        batch.retries += 1
        if 0 <= mapping.maximum_retry_attempts < batch.retries:
            self._discard(mapping, lane.shard_id, batch, batch.records, "RetryAttemptsExhausted")
            self._advance(mapping, settings, lane, batch.records[-1].sequence_number)
            lane.batches.pop(0)
            return True
        self._retry_later(lane, batch)
        return False

    def _retry_later(self, lane: _Lane, batch: _Batch) -> None:
        delay = min(_FIRST_RETRY_DELAY * 2 ** (batch.retries - 1), _MAXIMUM_RETRY_DELAY)
        lane.retry_at = self._pollers.clock.now() + datetime.timedelta(seconds=delay)

    # --- forming batches -----------------------------------------------------------------

    def _next_batch(self, mapping: EventSourceMapping, settings: _StreamSettings,
                    lane: _Lane) -> _Batch | None:
        """Take the lane's next batch, or None while it waits for records or a window.

        Lambda sends a batch when it contains ``BatchSize`` records, when the batching window
        has passed since its first record arrived, or when the next record would take the
        payload past 6 MB (with-kinesis.html, "Polling and batching streams"). With a
        tumbling window, a batch holds records of one window only.
        """
        window = lane.window
        if window is not None and window.terminated_early:
            return _Batch([], final=True)
        records = self._pending(mapping, settings, lane)
        now = self._pollers.clock.time()

        complete = len(records) >= mapping.batch_size
        if settings.tumbling_window:
            starts = [self._window_start(mapping, settings, lane, record) for record in records]
            if window is not None and (not records or starts[0] != window.start):
                # Every record of the open window was delivered: close it once it ends.
                if now >= window.end:
                    return _Batch([], final=True)
                lane.wake_at = _moment(window.end)
                return None
            if records:
                same_window = starts.count(starts[0])
                complete = complete or same_window < len(records)
                records = records[:same_window]
        if not records:
            return None

        kept = _within_payload_limit(records)
        complete = complete or len(kept) < len(records)
        if mapping.batching_window > 0 and not complete:
            ready_at = self._arrival(mapping, lane.shard_id, kept[0]) + mapping.batching_window
            if now < ready_at:
                lane.wake_at = _moment(ready_at)
                return None

        if settings.tumbling_window and window is None:
            start = self._window_start(mapping, settings, lane, kept[0])
            lane.window = _Window(start, start + settings.tumbling_window)
        return _Batch(kept)

    def _pending(self, mapping: EventSourceMapping, settings: _StreamSettings,
                 lane: _Lane) -> list[StreamRecord]:
        """Return up to ``BatchSize`` records of the lane after its position."""
        after = self._position(mapping, settings, lane)
        factor = settings.parallelization_factor
        if factor == 1:
            return self.source.read(mapping, lane.shard_id, after, mapping.batch_size)

        own: list[StreamRecord] = []
        skipped_to: int | None = None
        while len(own) < mapping.batch_size:
            chunk = self.source.read(mapping, lane.shard_id, after, _READ_CHUNK)
            if not chunk:
                break
            for record in chunk:
                if _lane_index(record, factor) == lane.index:
                    own.append(record)
                    if len(own) >= mapping.batch_size:
                        break
                elif not own:
                    skipped_to = record.sequence_number
            after = chunk[-1].sequence_number
        if skipped_to is not None:
            # The records before the lane's first own record belong to other lanes.
            self._advance(mapping, settings, lane, skipped_to)
        return own

    def _window_start(self, mapping: EventSourceMapping, settings: _StreamSettings,
                      lane: _Lane, record: StreamRecord) -> float:
        """Return the start of the tumbling window that ``record`` belongs to.

        Lambda places a record in a window by the time it was written to the stream.
        """
        arrival = self._arrival(mapping, lane.shard_id, record)
        length = settings.tumbling_window
        return float(int(arrival // length) * length)

    # --- invocations ---------------------------------------------------------------------

    def _invoke(self, mapping: EventSourceMapping, lane: _Lane, batch: _Batch,
                records: list[StreamRecord]) -> int | None:
        """Invoke the function; return the first failed sequence number, None on success."""
        event: dict[str, Any] = {"Records": [record.event for record in records]}
        if lane.window is not None:
            event.update(self._window_fields(mapping, lane, lane.window, final=False))
        result = self._pollers.invoke(mapping, event)
        batch.invocations += 1
        batch.last_result = result
        first = records[0].sequence_number
        if result is None:
            return first
        if result.function_error is not None:
            logger.info("event source mapping %s: function %s failed on %d records of %s",
                        mapping.uuid, mapping.function_name, len(records), mapping.source_arn)
            return first

        if lane.window is not None:
            # A response without "state" is a failed invocation (services-kinesis-windows.html).
            response = _json_object(result.raw_payload)
            if response is None or "state" not in response:
                logger.info("event source mapping %s: function %s returned no state for its "
                            "tumbling window, so the batch failed", mapping.uuid,
                            mapping.function_name)
                return first
            self._keep_state(mapping, lane.window, response["state"])

        if not mapping.report_batch_item_failures:
            return None
        identifiers = {str(record.sequence_number): record for record in records}
        failed = failed_items(result.raw_payload, identifiers)
        if failed is None:
            logger.info("event source mapping %s: function %s returned a partial batch response "
                        "that Lambda cannot read, so the whole batch failed", mapping.uuid,
                        mapping.function_name)
            return first
        if not failed:
            return None
        # Lambda retries from the lowest sequence number reported.
        return min(int(identifier) for identifier in failed)

    def _keep_state(self, mapping: EventSourceMapping, window: _Window, state: Any) -> None:
        window.state = state
        size = len(json.dumps(state).encode())
        if size > _MAXIMUM_STATE_BYTES:
            logger.info("event source mapping %s: the tumbling window state is %d bytes, over "
                        "1 MB, so Lambda ends the window early", mapping.uuid, size)
            window.terminated_early = True

    def _close_window(self, mapping: EventSourceMapping, lane: _Lane, batch: _Batch) -> bool:
        """Invoke the function with the final state of the lane's window, then drop it."""
        window = lane.window
        if window is None:
            lane.batches.pop(0)
            return True
        event: dict[str, Any] = {"Records": []}
        event.update(self._window_fields(mapping, lane, window, final=True))
        result = self._pollers.invoke(mapping, event)
        batch.invocations += 1
        batch.last_result = result
        if result is not None and result.function_error is None:
            lane.batches.pop(0)
            lane.window = None
            return True

        batch.retries += 1
        if 0 <= mapping.maximum_retry_attempts < batch.retries:
            logger.info("event source mapping %s: the final invocation of window %s of %s "
                        "failed %d times; its state is dropped", mapping.uuid,
                        _iso(window.start), lane.shard_id, batch.invocations)
            lane.batches.pop(0)
            lane.window = None
            return True
        self._retry_later(lane, batch)
        return False

    def _window_fields(self, mapping: EventSourceMapping, lane: _Lane, window: _Window, *,
                       final: bool) -> dict[str, Any]:
        """Build the tumbling window members of an event, in the order of AWS's example."""
        return {
            "window": {"start": _iso(window.start), "end": _iso(window.end)},
            "state": window.state,
            "shardId": lane.shard_id,
            "eventSourceARN": mapping.source_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": final and window.terminated_early,
        }

    # --- positions and record age --------------------------------------------------------

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

    def _position(self, mapping: EventSourceMapping, settings: _StreamSettings,
                  lane: _Lane) -> int | None:
        """Return the sequence number after which the lane reads; a new lane starts where
        its shard is."""
        positions = self._positions(mapping.uuid)
        key = _position_key(settings, lane.shard_id, lane.index)
        if key in positions:
            return positions[key]
        return positions.get(lane.shard_id)

    def _advance(self, mapping: EventSourceMapping, settings: _StreamSettings, lane: _Lane,
                 sequence_number: int) -> None:
        positions = self._positions(mapping.uuid)
        factor = settings.parallelization_factor
        positions[_position_key(settings, lane.shard_id, lane.index)] = sequence_number
        if factor == 1:
            return
        # The shard's own entry is where every lane has got to, which is where a mapping
        # whose factor changes back to 1 goes on.
        lanes = [self._position(mapping, settings, _Lane(lane.shard_id, index))
                 for index in range(factor)]
        if all(position is not None for position in lanes):
            positions[lane.shard_id] = min(position for position in lanes
                                           if position is not None)


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


def _mapping_configuration(mapping: EventSourceMapping) -> dict[str, Any]:
    """Return the mapping as ``GetEventSourceMapping`` describes it, or {} when it is gone."""
    from moto.awslambda.models import lambda_backends

    try:
        backend = lambda_backends[mapping.account_id][mapping.region]
    except KeyError:
        return {}
    model = backend.get_event_source_mapping(mapping.uuid)
    return dict(model.get_configuration()) if model is not None else {}


def _ordering_key(record: StreamRecord) -> str:
    """Return the key whose records stay in order: the Kinesis partition key, or the
    DynamoDB item's key attributes."""
    kinesis = record.event.get("kinesis")
    if isinstance(kinesis, dict):
        return str(kinesis.get("partitionKey", ""))
    change = record.event.get("dynamodb")
    if isinstance(change, dict):
        return json.dumps(change.get("Keys", {}), sort_keys=True)
    return ""


def _lane_index(record: StreamRecord, factor: int) -> int:
    digest = hashlib.md5(_ordering_key(record).encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest, "big") % factor


def _position_key(settings: _StreamSettings, shard_id: str, index: int) -> str:
    """Return the key of a lane's position: the shard ID while the shard has one lane."""
    return shard_id if settings.parallelization_factor == 1 else f"{shard_id}#{index}"


def _within_payload_limit(records: list[StreamRecord]) -> list[StreamRecord]:
    """Return the leading records whose event stays within the 6 MB payload limit."""
    size = len('{"Records": []}')
    kept: list[StreamRecord] = []
    for record in records:
        size += len(json.dumps(record.event).encode()) + 2
        if kept and size > _MAXIMUM_PAYLOAD_BYTES:
            break
        kept.append(record)
    return kept


def _json_object(payload: bytes) -> dict[str, Any] | None:
    try:
        response = json.loads(payload) if payload.strip() else None
    except ValueError:
        return None
    return response if isinstance(response, dict) else None


def _earliest(current: datetime.datetime | None,
              candidate: datetime.datetime | None) -> datetime.datetime | None:
    if candidate is None:
        return current
    return candidate if current is None else min(current, candidate)


def _moment(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC)


def _iso(timestamp: float) -> str:
    """Write a window boundary as AWS's example does (``2020-07-30T17:00:00Z``)."""
    return _moment(timestamp).strftime("%Y-%m-%dT%H:%M:%SZ")
