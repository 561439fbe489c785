"""Unit tests of the cart rules: request validation, merging of lines and totals."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from cart.domain import Cart, CartLine, InvalidRequestError, merge_lines, parse_add_item

pytestmark = pytest.mark.unit


def test_parse_valid_body(add_item_schema: dict[str, Any]) -> None:
    """A body with sku, quantity and price becomes a cart line."""
    body = json.dumps({"sku": "BOOK-1", "quantity": 2, "price": 12.5})

    line = parse_add_item(body, add_item_schema)

    assert line == CartLine(sku="BOOK-1", quantity=2, price=Decimal("12.5"))


def test_parse_keeps_price_exact(add_item_schema: dict[str, Any]) -> None:
    """A price is read as Decimal from its JSON text, without a detour through float."""
    line = parse_add_item('{"sku": "PEN", "quantity": 3, "price": 0.1}', add_item_schema)

    assert line.price == Decimal("0.1")
    assert line.subtotal == Decimal("0.3")


def test_parse_integer_price(add_item_schema: dict[str, Any]) -> None:
    """An integer price is a valid number."""
    line = parse_add_item('{"sku": "PEN", "quantity": 1, "price": 4}', add_item_schema)

    assert line.price == Decimal(4)
    assert isinstance(line.price, Decimal)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "the body is empty"),
        ("", "the body is empty"),
        ("   ", "the body is empty"),
        ("{", "not JSON"),
        ('{"sku": "PEN", "quantity": 1, "price": NaN}', "NaN is not a valid JSON number"),
        ('{"sku": "PEN", "quantity": 1, "price": Infinity}', "Infinity is not a valid"),
        ("[]", "body: [] is not of type 'object'"),
        ('{"quantity": 1, "price": 1}', "'sku' is a required property"),
        ('{"sku": "PEN", "price": 1}', "'quantity' is a required property"),
        ('{"sku": "PEN", "quantity": 1}', "'price' is a required property"),
        ('{"sku": "", "quantity": 1, "price": 1}', "sku: '' should be non-empty"),
        ('{"sku": 7, "quantity": 1, "price": 1}', "sku: 7 is not of type 'string'"),
        ('{"sku": "PEN", "quantity": 0, "price": 1}', "quantity: 0 is less than the minimum"),
        ('{"sku": "PEN", "quantity": 1.5, "price": 1}', "quantity: 1.5 is not of type"),
        ('{"sku": "PEN", "quantity": "2", "price": 1}', "quantity: '2' is not of type"),
        ('{"sku": "PEN", "quantity": true, "price": 1}', "quantity: True is not of type"),
        ('{"sku": "PEN", "quantity": 1, "price": -1}', "price: -1 is less than the minimum"),
        ('{"sku": "PEN", "quantity": 1, "price": "1"}', "price: '1' is not of type 'number'"),
        ('{"sku": "PEN", "quantity": 1, "price": 1, "note": "x"}',
         "Additional properties are not allowed"),
    ],
)
def test_parse_rejects_invalid_body(add_item_schema: dict[str, Any], body: str | None,
                                    message: str) -> None:
    """An invalid body raises InvalidRequestError that names the field and the rule."""
    with pytest.raises(InvalidRequestError) as raised:
        parse_add_item(body, add_item_schema)

    assert str(raised.value).startswith("invalid request body: ")
    assert message in str(raised.value)


def test_parse_uses_draft_4(add_item_schema: dict[str, Any]) -> None:
    """The schema is validated as draft 4, as API Gateway models are, so 2.0 is no integer."""
    assert add_item_schema["$schema"] == "http://json-schema.org/draft-04/schema#"

    with pytest.raises(InvalidRequestError, match=r"quantity: 2\.0 is not of type 'integer'"):
        parse_add_item('{"sku": "PEN", "quantity": 2.0, "price": 1}', add_item_schema)


def test_merge_into_empty_cart() -> None:
    """A SKU that the cart lacks is added as it is."""
    added = CartLine(sku="PEN", quantity=2, price=Decimal("1.50"))

    assert merge_lines(None, added) == added


def test_merge_adds_quantities() -> None:
    """Adding a SKU that the cart has adds the quantities and keeps the newer price."""
    existing = CartLine(sku="PEN", quantity=2, price=Decimal("1.50"))
    added = CartLine(sku="PEN", quantity=3, price=Decimal("1.25"))

    merged = merge_lines(existing, added)

    assert merged == CartLine(sku="PEN", quantity=5, price=Decimal("1.25"))


def test_merge_rejects_other_sku() -> None:
    """Lines of two different SKUs cannot be merged."""
    existing = CartLine(sku="PEN", quantity=1, price=Decimal(1))
    added = CartLine(sku="INK", quantity=1, price=Decimal(1))

    with pytest.raises(ValueError, match="different SKUs: 'PEN' and 'INK'"):
        merge_lines(existing, added)


def test_cart_totals() -> None:
    """A cart's total sums the subtotals and its item count sums the quantities."""
    cart = Cart.of("user-1", [
        CartLine(sku="PEN", quantity=3, price=Decimal("1.10")),
        CartLine(sku="BOOK", quantity=1, price=Decimal("12.50")),
    ])

    assert cart.total == Decimal("15.80")
    assert cart.item_count == 4


def test_cart_sorts_lines_by_sku() -> None:
    """Lines are ordered by SKU, as a DynamoDB query on the sort key returns them."""
    cart = Cart.of("user-1", [
        CartLine(sku="PEN", quantity=1, price=Decimal(1)),
        CartLine(sku="BOOK", quantity=1, price=Decimal(1)),
    ])

    assert [line.sku for line in cart.lines] == ["BOOK", "PEN"]


def test_empty_cart() -> None:
    """An empty cart has no items and a total of zero."""
    cart = Cart.of("user-1", [])

    assert cart.to_dict() == {"userId": "user-1", "items": [], "itemCount": 0,
                              "total": Decimal(0)}


def test_cart_to_dict() -> None:
    """The API form of a cart lists each line with its subtotal."""
    cart = Cart.of("user-1", [CartLine(sku="PEN", quantity=2, price=Decimal("1.25"))])

    assert cart.to_dict() == {
        "userId": "user-1",
        "items": [{"sku": "PEN", "quantity": 2, "price": Decimal("1.25"),
                   "subtotal": Decimal("2.50")}],
        "itemCount": 2,
        "total": Decimal("2.50"),
    }
