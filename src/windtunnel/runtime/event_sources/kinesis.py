"""Read Kinesis data streams for event source mappings, and shape their Lambda records.

Event record: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
Filtering on ``data``, which must be JSON:
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis-filtering.html
"""

from __future__ import annotations

import base64
import datetime
from typing import TYPE_CHECKING, Any

from windtunnel.runtime.event_sources.filters import matches_filters
from windtunnel.runtime.event_sources.mappings import EventSourceMapping, function_role
from windtunnel.runtime.event_sources.streams import StreamRecord

if TYPE_CHECKING:
    from windtunnel.cloud.messages import AwsRequest

__all__ = ["KinesisSource"]

_WRITES = ("PutRecord", "PutRecords")


class KinesisSource:
    """The Kinesis side of a stream poller, read from moto's stream models."""

    kind = "kinesis"
    batch_info_key = "KinesisBatchInfo"
    # The stream permissions that both the AWSLambdaKinesisExecutionRole managed policy and
    # the Serverless Framework grant: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
    actions: tuple[str, ...] = ("kinesis:DescribeStream", "kinesis:GetShardIterator",
                                "kinesis:GetRecords")

    def writes_records(self, request: AwsRequest) -> bool:
        """Tell whether ``request`` is PutRecord or PutRecords."""
        return request.operation in _WRITES

    def shard_ids(self, mapping: EventSourceMapping) -> list[str] | None:
        """Return the stream's shard IDs, or None when it does not exist."""
        stream = _stream(mapping)
        return None if stream is None else list(stream.shards)

    def read(self, mapping: EventSourceMapping, shard_id: str, after: int | None,
             limit: int) -> list[StreamRecord]:
        """Return up to ``limit`` records of a shard after sequence number ``after``."""
        stream = _stream(mapping)
        shard = stream.shards.get(shard_id) if stream is not None else None
        if shard is None:
            return []
        role_arn = function_role(mapping) or ""
        records = []
        for sequence_number, record in list(shard.records.items()):
            if after is not None and sequence_number <= after:
                continue
            records.append(self._record(mapping, shard_id, record, role_arn))
            if len(records) >= limit:
                break
        return records

    def start_position(self, mapping: EventSourceMapping, shard_id: str) -> int | None:
        """Return the sequence number just before the mapping's starting position."""
        stream = _stream(mapping)
        shard = stream.shards.get(shard_id) if stream is not None else None
        if shard is None or not shard.records:
            return None
        if mapping.starting_position == "LATEST":
            return self.latest_sequence_number(mapping, shard_id)
        if mapping.starting_position == "AT_TIMESTAMP" and \
                mapping.starting_position_timestamp is not None:
            before = None
            for sequence_number, record in shard.records.items():
                if _arrival(record) >= mapping.starting_position_timestamp:
                    break
                before = int(sequence_number)
            return before
        return None

    def latest_sequence_number(self, mapping: EventSourceMapping, shard_id: str) -> int | None:
        """Return the sequence number of the shard's last record, None when it has none."""
        stream = _stream(mapping)
        shard = stream.shards.get(shard_id) if stream is not None else None
        if shard is None or not shard.records:
            return None
        return int(next(reversed(shard.records)))

    def retention_seconds(self, mapping: EventSourceMapping) -> float:
        """Return the stream's retention period (24 hours unless it was changed)."""
        stream = _stream(mapping)
        hours = getattr(stream, "retention_period_hours", 24) if stream is not None else 24
        return float(hours) * 3600

    def matches(self, mapping: EventSourceMapping, record: StreamRecord) -> bool:
        """Match the filters against the ``kinesis`` object, with ``data`` decoded."""
        kinesis = record.event["kinesis"]
        data = base64.b64decode(kinesis["data"]).decode("utf-8", errors="replace")
        return matches_filters(mapping.filters, kinesis, "data", data)

    def format_arrival(self, arrival: float) -> str:
        """Write an arrival time with milliseconds, as ``KinesisBatchInfo`` does."""
        moment = datetime.datetime.fromtimestamp(arrival, datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def _record(self, mapping: EventSourceMapping, shard_id: str, record: Any,
                role_arn: str) -> StreamRecord:
        data = record.data if isinstance(record.data, bytes) else str(record.data).encode()
        arrival = _arrival(record)
        sequence_number = str(record.sequence_number)
        event = {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record.partition_key,
                "sequenceNumber": sequence_number,
                "data": base64.b64encode(data).decode(),
                "approximateArrivalTimestamp": round(arrival, 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{sequence_number}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": role_arn,
            "awsRegion": mapping.region,
            "eventSourceARN": mapping.source_arn,
        }
        return StreamRecord(int(record.sequence_number), arrival, event)


def _stream(mapping: EventSourceMapping) -> Any:
    from moto.kinesis.models import kinesis_backends

    backend = kinesis_backends[mapping.account_id][mapping.region]
    for stream in backend.streams.values():
        if stream.arn == mapping.source_arn:
            return stream
    return None


def _arrival(record: Any) -> float:
    created: datetime.datetime = record.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.UTC)
    return created.timestamp()
