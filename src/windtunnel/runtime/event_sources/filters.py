"""Apply an event source mapping's ``FilterCriteria`` to the records of a batch.

The filters are ORed: a record is delivered when any pattern matches it, and dropped when
none does. A mapping without filters delivers every record.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html

The data field of a record (``body`` for SQS, ``data`` for Kinesis) is matched as JSON when
the pattern gives an object for it, and as a plain string when the pattern gives a list of
rules. When the formats disagree the record does not match that pattern, so Lambda drops
it: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from windtunnel.services.events.patterns import Pattern

__all__ = ["json_object", "matches_filters"]


def matches_filters(filters: Sequence[Pattern], record: Mapping[str, Any],
                    data_key: str | None = None, data: str | None = None) -> bool:
    """Tell whether ``record`` passes the filters.

    ``data_key`` names the field that contains the record's data, and ``data`` is that data
    as text. It is parsed as JSON for the patterns that give an object for the field. With
    no ``data_key``, the record is matched as it is (DynamoDB stream records, whose data
    is already typed JSON).
    """
    if not filters:
        return True
    parsed = json_object(data) if data is not None else None
    for pattern in filters:
        candidate: Mapping[str, Any] | None = record
        if data_key is not None and isinstance(pattern.source, dict):
            rule = pattern.source.get(data_key)
            if isinstance(rule, dict):
                candidate = {**record, data_key: parsed} if parsed is not None else None
            elif rule is not None:
                candidate = {**record, data_key: data} if parsed is None else None
        if candidate is not None and pattern.matches(candidate):
            return True
    return False


def json_object(text: str) -> dict[str, Any] | None:
    """Return ``text`` parsed as a JSON object, or None when it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
