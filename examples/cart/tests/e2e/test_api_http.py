"""End-to-end tests: the cart driven over HTTP through its API Gateway REST API."""

from __future__ import annotations

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.e2e


def test_cart_over_http(cart_stack: EmulatedStack, user_id: str) -> None:
    """The three routes add, list and remove a line, through API Gateway and Lambda."""
    http = cart_stack.http

    added = http.post(f"/{user_id}/items", json={"sku": "PEN", "quantity": 2, "price": 1.25})
    cart = http.get(f"/{user_id}")
    removed = http.delete(f"/{user_id}/items/PEN")
    emptied = http.get(f"/{user_id}")

    assert added.status_code == 200
    assert added.json()["quantity"] == 2
    assert cart.status_code == 200
    assert cart.json()["items"] == [{"sku": "PEN", "quantity": 2, "price": 1.25,
                                     "subtotal": 2.5}]
    assert removed.status_code == 204
    assert emptied.json()["items"] == []


def test_unknown_route_is_missing_token(cart_stack: EmulatedStack, user_id: str) -> None:
    """A path no route matches gets API Gateway's 403, before any function runs."""
    response = cart_stack.http.get(f"/{user_id}/items/PEN/extra")

    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_invalid_body_rejected_by_validator(cart_stack: EmulatedStack, user_id: str) -> None:
    """The request model rejects the body before the function runs, with API Gateway's
    message."""
    response = cart_stack.http.post(f"/{user_id}/items",
                                    json={"sku": "PEN", "quantity": 0, "price": 1})

    assert response.status_code == 400
    assert response.json() == {"message": "Invalid request body"}
