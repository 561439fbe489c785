"""Cart rules with no AWS calls: request validation, merging of lines and totals."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match

__all__ = [
    "Cart",
    "CartLine",
    "InvalidRequestError",
    "merge_lines",
    "parse_add_item",
]


class InvalidRequestError(ValueError):
    """A request body that is not valid JSON or does not match its schema."""


@dataclass(frozen=True)
class CartLine:
    """One SKU in a cart, with the number of units and the unit price."""

    sku: str
    quantity: int
    price: Decimal

    @property
    def subtotal(self) -> Decimal:
        """The price of all units on this line."""
        return self.price * self.quantity

    def to_dict(self) -> dict[str, Any]:
        """Return the line as the API shows it, with the subtotal."""
        return {
            "sku": self.sku,
            "quantity": self.quantity,
            "price": self.price,
            "subtotal": self.subtotal,
        }


@dataclass(frozen=True)
class Cart:
    """The lines of one user's cart."""

    user_id: str
    lines: tuple[CartLine, ...]

    @property
    def item_count(self) -> int:
        """The number of units over all lines."""
        return sum(line.quantity for line in self.lines)

    @property
    def total(self) -> Decimal:
        """The sum of the line subtotals."""
        return sum((line.subtotal for line in self.lines), Decimal(0))

    @classmethod
    def of(cls, user_id: str, lines: Iterable[CartLine]) -> Cart:
        """Build a cart with its lines sorted by SKU, the order that DynamoDB's sort key gives."""
        return cls(user_id, tuple(sorted(lines, key=lambda line: line.sku)))

    def to_dict(self) -> dict[str, Any]:
        """Return the cart as the API shows it."""
        return {
            "userId": self.user_id,
            "items": [line.to_dict() for line in self.lines],
            "itemCount": self.item_count,
            "total": self.total,
        }


def _reject_constant(name: str) -> Any:
    # Python's json module accepts NaN and Infinity, which JSON itself does not allow.
    raise InvalidRequestError(f"invalid request body: {name} is not a valid JSON number")


def parse_add_item(body: str | None, schema: Mapping[str, Any]) -> CartLine:
    """Parse the body of an add item request and validate it against ``schema``.

    The price becomes Decimal, because DynamoDB stores numbers exactly and boto3 rejects
    float. Raises InvalidRequestError that names the most relevant invalid field.
    """
    if body is None or not body.strip():
        raise InvalidRequestError("invalid request body: the body is empty")

    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise InvalidRequestError(f"invalid request body: not JSON ({error.msg})") from None

    # The schema's $schema key selects the draft, and API Gateway models use draft 4.
    validator_class = validators.validator_for(schema)
    violation = best_match(validator_class(schema).iter_errors(document))
    if violation is not None:
        location = "/".join(str(part) for part in violation.absolute_path) or "body"
        raise InvalidRequestError(f"invalid request body: {location}: {violation.message}")

    # Validation ran on floats so that messages show numbers as the client wrote them.
    # The price is read again as Decimal from its JSON text, which keeps every digit.
    exact = json.loads(body, parse_float=Decimal)
    return CartLine(
        sku=document["sku"],
        quantity=document["quantity"],
        price=Decimal(exact["price"]),
    )


def merge_lines(existing: CartLine | None, added: CartLine) -> CartLine:
    """Add ``added`` to the line already in the cart for the same SKU, if there is one.

    Quantities add up and the price of the newer request replaces the stored one.
    """
    if existing is None:
        return added
    if existing.sku != added.sku:
        raise ValueError(f"cannot merge lines of different SKUs: {existing.sku!r} "
                         f"and {added.sku!r}")
    return CartLine(sku=added.sku, quantity=existing.quantity + added.quantity,
                    price=added.price)


class InvalidActivityError(ValueError):
    """An activity message without a SKU and a positive integer quantity."""


def parse_activity(body: str) -> tuple[str, int]:
    """Return the SKU and quantity of an activity message; raise InvalidActivityError."""
    try:
        activity = json.loads(body)
    except json.JSONDecodeError as error:
        raise InvalidActivityError(f"not JSON: {error}") from None
    if not isinstance(activity, dict):
        raise InvalidActivityError("not a JSON object")
    sku = activity.get("sku")
    quantity = activity.get("quantity")
    if not isinstance(sku, str) or not sku:
        raise InvalidActivityError("missing sku")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidActivityError("quantity must be a positive integer")
    return sku, quantity
