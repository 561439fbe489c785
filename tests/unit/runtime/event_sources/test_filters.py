"""FilterCriteria on records: ORed patterns, and the data field as JSON or as a string.

Sources: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html and
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html ("If the formats
don't match, Lambda drops the message": an object pattern needs a JSON body, a list of
rules needs a plain string).
"""

from __future__ import annotations

from typing import Any

import pytest

from windtunnel.runtime.event_sources.filters import json_object, matches_filters
from windtunnel.services.events.patterns import compile_pattern

ORDER = '{"kind": "order", "total": 120}'


def _record(body: str) -> dict[str, Any]:
    return {"messageId": "m-1", "body": body, "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs"}


@pytest.mark.parametrize(("patterns", "body", "expected"), [
    pytest.param([], "anything", True, id="no filters"),
    pytest.param([{"body": {"kind": ["order"]}}], ORDER, True, id="JSON field matches"),
    pytest.param([{"body": {"kind": ["refund"]}}], ORDER, False, id="JSON field differs"),
    pytest.param([{"body": {"total": [{"numeric": [">", 100]}]}}], ORDER, True,
                 id="numeric rule on JSON"),
    pytest.param([{"body": {"kind": ["order"]}}], "order", False,
                 id="JSON pattern on a plain body"),
    pytest.param([{"body": [{"prefix": "order"}]}], "order-7", True,
                 id="string rule on a plain body"),
    pytest.param([{"body": ["order-7"]}], ORDER, False, id="string rule on a JSON body"),
    pytest.param([{"body": {"kind": ["refund"]}}, {"body": [{"prefix": "ord"}]}],
                 "order-7", True, id="second filter matches"),
    pytest.param([{"eventSource": ["aws:sqs"]}], "order-7", True, id="metadata key"),
    pytest.param([{"body": {"kind": ["order"]}, "eventSource": ["aws:kinesis"]}], ORDER,
                 False, id="all keys of one filter must match"),
])
def test_sqs_body_filters(patterns: list[dict[str, Any]], body: str, expected: bool) -> None:
    """A record passes when any filter matches, with ``body`` parsed when it is JSON."""
    compiled = [compile_pattern(pattern) for pattern in patterns]

    assert matches_filters(compiled, _record(body), "body", body) is expected


def test_record_without_data_key() -> None:
    """Without a data key the record is matched as it is (DynamoDB stream records)."""
    record = {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "user#1"}}}}
    inserts = [compile_pattern({"eventName": ["INSERT"]})]
    keys = [compile_pattern({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "user#"}]}}}})]

    assert matches_filters(inserts, record)
    assert matches_filters(keys, record)
    assert not matches_filters([compile_pattern({"eventName": ["REMOVE"]})], record)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": 1}', {"a": 1}),
    ("[1, 2]", None),
    ('"text"', None),
    ("not json", None),
])
def test_json_object(text: str, expected: Any) -> None:
    """Only a JSON object counts as a JSON body."""
    assert json_object(text) == expected
