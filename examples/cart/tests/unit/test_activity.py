"""Unit tests of the activity messages that countSkus accepts."""

from __future__ import annotations

import pytest

from cart.domain import InvalidActivityError, parse_activity

pytestmark = pytest.mark.unit


def test_valid_activity_is_parsed() -> None:
    """A message with a SKU and a positive quantity gives both."""
    assert parse_activity('{"sku": "PEN", "quantity": 2, "price": 1.5}') == ("PEN", 2)


@pytest.mark.parametrize(("body", "reason"), [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"quantity": 1}', "missing sku"),
    ('{"sku": "", "quantity": 1}', "missing sku"),
    ('{"sku": "PEN", "quantity": 0}', "positive integer"),
    ('{"sku": "PEN", "quantity": 1.5}', "positive integer"),
    ('{"sku": "PEN", "quantity": true}', "positive integer"),
])
def test_invalid_activity_is_rejected(body: str, reason: str) -> None:
    """A message countSkus cannot count raises InvalidActivityError with the reason."""
    with pytest.raises(InvalidActivityError, match=reason):
        parse_activity(body)
