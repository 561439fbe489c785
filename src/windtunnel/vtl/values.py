"""Java value semantics for Velocity: rendering, equality, arithmetic and truth.

Template values are Python objects that stand for the Java ones Velocity sees:
``None`` is null, ``bool`` Boolean, ``int`` Integer or Long (Velocity widens on
overflow, which Python's integers do by themselves), ``float`` Double, ``str``
String, ``list`` ``java.util.ArrayList`` and ``dict`` ``java.util.LinkedHashMap``.
Dialect objects such as ``$input`` subclass ``JavaObject``.

Sources: the Velocity 1.7 user guide (https://velocity.apache.org/engine/1.7/user-guide.html)
and the Java SE 8 API documentation (https://docs.oracle.com/javase/8/docs/api/) for
``toString`` of each class.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal

__all__ = [
    "JavaObject",
    "MissingMember",
    "arithmetic",
    "compare",
    "is_number",
    "java_class",
    "java_equals",
    "loose_equals",
    "to_java_string",
    "truthy",
]

logger = logging.getLogger(__name__)


class MissingMember(Exception):
    """Raised when a value has no property or method of the requested name and arguments."""


class JavaObject:
    """A Java object provided by a dialect, such as ``$input`` or ``$util``."""

    java_class_name = "java.lang.Object"

    def get_property(self, name: str) -> object:
        """Return the value of ``$object.name``; raise MissingMember when there is none."""
        raise MissingMember(name)

    def call(self, name: str, arguments: list[object]) -> object:
        """Call ``$object.name(arguments)``; raise MissingMember when there is no such method."""
        raise MissingMember(name)

    def to_java_string(self) -> str:
        """Return what Java's ``toString()`` returns for this object."""
        return f"{self.java_class_name}@{id(self) & 0xFFFFFFF:x}"


def is_number(value: object) -> bool:
    """Tell whether ``value`` is a Java Number (Python ``bool`` is Boolean, not a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def java_class(value: object) -> str:
    """Return the Java class name that ``value`` stands for, as Java error messages show it."""
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    if isinstance(value, dict):
        return "java.util.LinkedHashMap"
    if isinstance(value, JavaObject):
        return value.java_class_name
    return "java.lang.Object"


def format_double(value: float) -> str:
    """Format a double as Java's ``Double.toString`` does: ``1.0``, ``1.0E20``, ``1.0E-5``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"

    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"

    # Computerized scientific notation with the shortest digits that round-trip.
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    numerals = "".join(str(digit) for digit in digits).rstrip("0") or "0"
    power = len(digits) - 1 + exponent
    mantissa = numerals[0] + "." + (numerals[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{power}"


def to_java_string(value: object) -> str:
    """Return Java's ``toString()`` of a value: ``true``, ``1.0``, ``[1, 2]``, ``{a=1}``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(
            "(this Collection)" if item is value else to_java_string(item) for item in value
        ) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(
            f"{_map_part(key, value)}={_map_part(item, value)}" for key, item in value.items()
        ) + "}"
    if isinstance(value, JavaObject):
        return value.to_java_string()
    return str(value)


def _map_part(part: object, owner: dict[object, object]) -> str:
    return "(this Map)" if part is owner else to_java_string(part)


def truthy(value: object) -> bool:
    """Apply Velocity 1.7's ``#if`` rule: false and null are false, every other value is true."""
    if isinstance(value, bool):
        return value
    return value is not None


def java_equals(left: object, right: object) -> bool:
    """Compare as Java's ``equals`` does, so Integer 1 differs from Double 1.0."""
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            java_equals(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(
            java_equals(item, right[key]) for key, item in left.items())
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return left is right or (type(left) is type(right) and left == right)


def _same_class(left: object, right: object) -> bool:
    return java_class(left) == java_class(right) or (
        isinstance(left, JavaObject) and isinstance(right, JavaObject))


def loose_equals(left: object, right: object) -> bool:
    """Apply Velocity's ``==``: numbers by value, same classes by ``equals``, others as strings."""
    if is_number(left) and is_number(right):
        return compare(left, right) == 0
    if left is not None and right is not None and _same_class(left, right):
        return java_equals(left, right)
    if left is None or right is None:
        return left is None and right is None
    return to_java_string(left) == to_java_string(right)


def compare(left: object, right: object) -> int | None:
    """Compare two numbers (-1, 0 or 1); return None when either is not a number."""
    if not (is_number(left) and is_number(right)):
        return None
    assert isinstance(left, (int, float))
    assert isinstance(right, (int, float))
    return (left > right) - (left < right)


def arithmetic(operator: str, left: object, right: object) -> object:
    """Apply ``+ - * / %`` as Velocity 1.7 does; return None for non-numbers or division by 0.

    Two integers give an integer: division truncates toward zero and ``%`` takes the
    sign of the dividend, as in Java. A double on either side gives a double.
    """
    if not (is_number(left) and is_number(right)):
        return None
    assert isinstance(left, (int, float))
    assert isinstance(right, (int, float))
    if operator in ("/", "%") and right == 0:
        return None

    both_integers = isinstance(left, int) and isinstance(right, int)
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if operator == "/":
        if both_integers:
            assert isinstance(left, int)
            assert isinstance(right, int)
            quotient = abs(left) // abs(right)
            return quotient if (left < 0) == (right < 0) else -quotient
        return float(left) / float(right)
    if operator == "%":
        if both_integers:
            assert isinstance(left, int)
            assert isinstance(right, int)
            remainder = abs(left) % abs(right)
            return remainder if left >= 0 else -remainder
        return math.fmod(float(left), float(right))
    raise ValueError(f"unknown arithmetic operator {operator!r}")
