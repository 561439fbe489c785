"""Reading partial batch responses: which items failed, or whether the whole batch did.

Source: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
("Success and failure conditions"), and for streams
https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from windtunnel.runtime.event_sources.batch_response import failed_items

BATCH = ("id-1", "id-2", "id-3")


def _payload(response: Any) -> bytes:
    return json.dumps(response).encode()


@pytest.mark.parametrize(("payload", "expected"), [
    pytest.param(b"", frozenset(), id="no payload"),
    pytest.param(_payload(None), frozenset(), id="null response"),
    pytest.param(_payload({}), frozenset(), id="empty response"),
    pytest.param(_payload({"batchItemFailures": None}), frozenset(), id="null list"),
    pytest.param(_payload({"batchItemFailures": []}), frozenset(), id="empty list"),
    pytest.param(_payload({"statusCode": 200}), frozenset(), id="other keys only"),
    pytest.param(_payload({"batchItemFailures": [{"itemIdentifier": "id-2"}]}),
                 frozenset({"id-2"}), id="one failure"),
    pytest.param(_payload({"batchItemFailures": [{"itemIdentifier": "id-3"},
                                                 {"itemIdentifier": "id-1"}]}),
                 frozenset({"id-1", "id-3"}), id="two failures"),
])
def test_reported_failures(payload: bytes, expected: frozenset[str]) -> None:
    """Responses that Lambda reads as a success or as a list of failed items."""
    assert failed_items(payload, BATCH) == expected


@pytest.mark.parametrize("payload", [
    pytest.param(b"{not json", id="invalid JSON"),
    pytest.param(_payload({"batchItemFailures": [{"itemIdentifier": ""}]}),
                 id="empty string identifier"),
    pytest.param(_payload({"batchItemFailures": [{"itemIdentifier": None}]}),
                 id="null identifier"),
    pytest.param(_payload({"batchItemFailures": [{"itemId": "id-1"}]}), id="bad key name"),
    pytest.param(_payload({"batchItemFailures": [{"itemIdentifier": "id-9"}]}),
                 id="identifier not in the batch"),
    pytest.param(_payload({"batchItemFailures": [{"itemIdentifier": "id-1"},
                                                 {"itemIdentifier": "id-9"}]}),
                 id="one identifier not in the batch"),
    pytest.param(_payload({"batchItemFailures": "id-1"}), id="list is a string"),
    pytest.param(_payload({"batchItemFailures": ["id-1"]}), id="entry is a string"),
    pytest.param(_payload(["id-1"]), id="response is a list"),
    pytest.param(_payload({"batchItemFailures": [{"itemIdentifier": 1}]}),
                 id="identifier is a number"),
])
def test_whole_batch_failed(payload: bytes) -> None:
    """Responses that make Lambda treat the whole batch as failed."""
    assert failed_items(payload, BATCH) is None
