"""Integration test: the ItemAdded event that addItem puts on the cart bus, as recorded by
windtunnel's ``stack.events``, with no capture rule or queue in the application.

The event fields are EventBridge's:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.integration

# The api_event fixture's builder; conftest cannot be imported under --import-mode=importlib.
ApiEventFactory = Callable[..., dict[str, Any]]


def test_item_added_event_shape(cart_stack: EmulatedStack, api_event: ApiEventFactory,
                                user_id: str) -> None:
    """addItem puts one ItemAdded event with EventBridge's fields on the cart bus."""
    event = api_event("POST", "/{userId}/items", {"userId": user_id},
                      body={"sku": "PEN", "quantity": 2, "price": 1.25})
    cart_stack.invoke("addItem", event).raise_for_error()

    published = cart_stack.events.wait_for(
        {"source": ["cart"], "detail-type": ["ItemAdded"], "detail": {"userId": [user_id]}},
        bus="CartBus")
    all_published = cart_stack.events.published(bus=cart_stack.outputs["CartBusName"])
    for_this_user = [entry for entry in all_published
                     if entry["detail"].get("userId") == user_id]

    assert set(published) == {"version", "id", "detail-type", "source", "account", "time",
                              "region", "resources", "detail"}
    assert published["version"] == "0"
    assert published["account"] == "123456789012"
    assert published["region"] == "us-east-1"
    assert published["resources"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", published["time"])
    assert published["detail"] == {"userId": user_id, "sku": "PEN", "quantity": 2,
                                   "cartQuantity": 2, "price": 1.25}
    assert len(for_this_user) == 1
