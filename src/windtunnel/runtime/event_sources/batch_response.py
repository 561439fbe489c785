"""Read a function's partial batch response (``ReportBatchItemFailures``).

A function whose event source mapping lists ``ReportBatchItemFailures`` in
``FunctionResponseTypes`` returns ``{"batchItemFailures": [{"itemIdentifier": ...}]}``:
message IDs for SQS, sequence numbers for Kinesis and DynamoDB streams.

Lambda treats a batch as a complete success when the function returns an empty or null
``batchItemFailures`` list, or an empty or null response. It treats the batch as a complete
failure when the response is not valid JSON, or an ``itemIdentifier`` is an empty string,
null, under another key name, or not an item of the batch:
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html
"""

from __future__ import annotations

import json
from collections.abc import Collection

__all__ = ["failed_items"]


def failed_items(payload: bytes, identifiers: Collection[str]) -> frozenset[str] | None:
    """Return the identifiers that the response reports as failed.

    ``identifiers`` are the items of the batch. Returns an empty set when the whole batch
    succeeded and None when Lambda treats the whole batch as failed.
    """
    if not payload.strip():
        return frozenset()
    try:
        response = json.loads(payload)
    except ValueError:
        return None
    if response is None:
        return frozenset()
    if not isinstance(response, dict):
        # NOTE: AWS documents no case for valid JSON that is not an object, such as a string
        # or a list. It is taken as a response Lambda cannot read, so the batch failed.
        return None

    failures = response.get("batchItemFailures")
    if failures is None:
        return frozenset()
    if not isinstance(failures, list):
        return None
    failed = set()
    for failure in failures:
        if not isinstance(failure, dict) or "itemIdentifier" not in failure:
            return None
        identifier = failure["itemIdentifier"]
        if not isinstance(identifier, str) or not identifier or identifier not in identifiers:
            return None
        failed.add(identifier)
    return frozenset(failed)
