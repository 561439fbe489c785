"""Read DynamoDB streams for event source mappings, and shape their Lambda records.

Event record: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
Filtering on the record's keys (``eventName``, ``dynamodb`` with typed values):
https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from windtunnel.runtime.event_sources.filters import matches_filters
from windtunnel.runtime.event_sources.mappings import EventSourceMapping
from windtunnel.runtime.event_sources.streams import StreamRecord

if TYPE_CHECKING:
    from windtunnel.cloud.messages import AwsRequest

__all__ = ["DynamoDbStreamSource"]

# The operations that change items, and so add stream records.
_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
           "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction")
# DynamoDB Streams keeps records for 24 hours:
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html
_RETENTION_SECONDS = 24 * 3600.0


class DynamoDbStreamSource:
    """The DynamoDB Streams side of a stream poller, read from moto's table models."""

    kind = "dynamodb"
    batch_info_key = "DDBStreamBatchInfo"
    # The stream permissions that both the AWSLambdaDynamoDBExecutionRole managed policy and
    # the Serverless Framework grant: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
    actions: tuple[str, ...] = ("dynamodb:DescribeStream", "dynamodb:GetShardIterator",
                                "dynamodb:GetRecords")

    def writes_records(self, request: AwsRequest) -> bool:
        """Tell whether ``request`` is an operation that changes items."""
        return request.operation in _WRITES

    def shard_ids(self, mapping: EventSourceMapping) -> list[str] | None:
        """Return the stream's one shard, or None when the stream does not exist."""
        table = _table(mapping)
        return None if table is None else [table.stream_shard.id]

    def read(self, mapping: EventSourceMapping, shard_id: str, after: int | None,
             limit: int) -> list[StreamRecord]:
        """Return up to ``limit`` records after sequence number ``after``."""
        table = _table(mapping)
        if table is None:
            return []
        records = []
        for item in list(table.stream_shard.items):
            record = item.record
            sequence_number = int(record["dynamodb"]["SequenceNumber"])
            if after is not None and sequence_number <= after:
                continue
            records.append(self._record(mapping, record))
            if len(records) >= limit:
                break
        return records

    def start_position(self, mapping: EventSourceMapping, shard_id: str) -> int | None:
        """Return the last sequence number for ``LATEST``, None for ``TRIM_HORIZON``."""
        if mapping.starting_position != "LATEST":
            return None
        return self.latest_sequence_number(mapping, shard_id)

    def latest_sequence_number(self, mapping: EventSourceMapping, shard_id: str) -> int | None:
        """Return the sequence number of the stream's last record, None when it has none."""
        table = _table(mapping)
        if table is None or not table.stream_shard.items:
            return None
        return int(table.stream_shard.items[-1].record["dynamodb"]["SequenceNumber"])

    def retention_seconds(self, mapping: EventSourceMapping) -> float:
        """Return how long DynamoDB Streams keeps a record: 24 hours."""
        return _RETENTION_SECONDS

    def matches(self, mapping: EventSourceMapping, record: StreamRecord) -> bool:
        """Match the filters against the whole record."""
        return matches_filters(mapping.filters, record.event)

    def format_arrival(self, arrival: float) -> str:
        """Write an arrival time in whole seconds, as ``DDBStreamBatchInfo`` does."""
        moment = datetime.datetime.fromtimestamp(int(arrival), datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _record(self, mapping: EventSourceMapping, stored: dict[str, Any]) -> StreamRecord:
        change = stored["dynamodb"]
        created = change["ApproximateCreationDateTime"]
        if isinstance(created, datetime.datetime):
            if created.tzinfo is None:
                created = created.replace(tzinfo=datetime.UTC)
            arrival = created.timestamp()
        else:
            arrival = float(created)
        dynamodb: dict[str, Any] = {
            "ApproximateCreationDateTime": int(arrival),
            "Keys": change["Keys"],
        }
        for image in ("NewImage", "OldImage"):
            if image in change:
                dynamodb[image] = change[image]
        dynamodb.update({
            "SequenceNumber": str(change["SequenceNumber"]),
            "SizeBytes": change["SizeBytes"],
            "StreamViewType": change["StreamViewType"],
        })
        event = {
            "eventID": stored["eventID"],
            "eventName": stored["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": mapping.region,
            "dynamodb": dynamodb,
            "eventSourceARN": mapping.source_arn,
        }
        return StreamRecord(int(change["SequenceNumber"]), arrival, event)


def _table(mapping: EventSourceMapping) -> Any:
    """Return the table whose current stream is the mapping's source, or None."""
    from moto.dynamodb.models import dynamodb_backends

    table_name = mapping.source_arn.split(":table/", 1)[-1].split("/", 1)[0]
    backend = dynamodb_backends[mapping.account_id][mapping.region]
    table = backend.tables.get(table_name)
    if table is None or getattr(table, "stream_shard", None) is None:
        return None
    stream_arn = f"{table.table_arn}/stream/{table.latest_stream_label}"
    return table if stream_arn == mapping.source_arn else None
