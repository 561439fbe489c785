"""End-to-end test: the cart driven over HTTP through its API Gateway REST API."""

from __future__ import annotations

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.e2e


@pytest.mark.skip(reason="needs the API Gateway data plane")
def test_cart_over_http(cart_stack: EmulatedStack) -> None:
    """API Gateway validates the body, then the three routes add, list and remove a line."""
    # NOTE: stack.http is the planned client of the local API: it sends a request to the
    # stack's REST API stage and returns a response with status_code and json().
    http = cart_stack.http  # type: ignore[attr-defined]

    rejected = http.post("/user-1/items", json={"sku": "PEN", "quantity": 0, "price": 1})
    added = http.post("/user-1/items", json={"sku": "PEN", "quantity": 2, "price": 1.25})
    cart = http.get("/user-1")
    removed = http.delete("/user-1/items/PEN")
    emptied = http.get("/user-1")

    # The request validator responds before the function runs, with API Gateway's message.
    assert rejected.status_code == 400
    assert rejected.json() == {"message": "Invalid request body"}
    assert added.status_code == 200
    assert added.json()["quantity"] == 2
    assert cart.status_code == 200
    assert cart.json()["items"] == [{"sku": "PEN", "quantity": 2, "price": 1.25,
                                     "subtotal": 2.5}]
    assert removed.status_code == 204
    assert emptied.json()["items"] == []
