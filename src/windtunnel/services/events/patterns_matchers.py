"""Matchers for one event leaf value, one class per EventBridge pattern operator.

An event leaf is a JSON string, number, boolean or null. JSON types stay distinct: the
string ``"1"``, the number ``1`` and ``true`` never equal each other, so every matcher
checks the type before it compares. Python's ``bool`` is an ``int`` subclass, which is why
the number checks exclude it explicitly.

Every matcher is a frozen dataclass, so equal conditions of different patterns compare
equal and ``PatternIndex`` can evaluate each of them once per event.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from windtunnel.services.events.patterns_errors import InvalidEventPatternError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_IP_SHAPE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|[0-9a-fA-F:]*:[0-9a-fA-F:]*")


class ValueMatcher(Protocol):
    """A test of one event leaf value."""

    def matches(self, value: Any) -> bool:
        """Return whether ``value`` satisfies this matcher."""
        ...


def is_number(value: Any) -> bool:
    """Return whether ``value`` is a JSON number (and not a boolean)."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def is_nan(value: int | float | Decimal) -> bool:
    """Return whether a number is NaN, which equals nothing, itself included."""
    if isinstance(value, Decimal):
        return value.is_nan()
    return isinstance(value, float) and value != value


def parse_ip(text: str) -> IPAddress | None:
    """Parse an IPv4 or IPv6 literal as ruler does, or return None when ``text`` is not one.

    Like Java's ``InetAddress``, an IPv4-mapped IPv6 address becomes its IPv4 address.
    """
    if not _IP_SHAPE.fullmatch(text):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class ExactString:
    """An exact string. A string that is an IP literal also matches other spellings of it."""

    value: str
    address: IPAddress | None

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if value == self.value:
            return True
        return self.address is not None and parse_ip(value) == self.address


@dataclass(frozen=True)
class ExactNumber:
    """An exact number, compared by value so that ``300`` equals ``300.0`` and ``3e2``."""

    value: int | float | Decimal

    def matches(self, value: Any) -> bool:
        return is_number(value) and bool(value == self.value)


@dataclass(frozen=True)
class ExactLiteral:
    """``true``, ``false`` or ``null``."""

    value: bool | None

    def matches(self, value: Any) -> bool:
        return value is self.value


@dataclass(frozen=True)
class Exists:
    """``{"exists": true}``, which matches any leaf. ``false`` is compiled as allowed absence."""

    present: bool

    def matches(self, value: Any) -> bool:
        return self.present


@dataclass(frozen=True, init=False)
class Prefix:
    """``prefix``, optionally wrapping ``equals-ignore-case``. Strings only."""

    prefix: str
    ignore_case: bool

    def __init__(self, prefix: str, *, ignore_case: bool) -> None:
        object.__setattr__(self, "ignore_case", ignore_case)
        object.__setattr__(self, "prefix", prefix.lower() if ignore_case else prefix)

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return (value.lower() if self.ignore_case else value).startswith(self.prefix)


@dataclass(frozen=True, init=False)
class Suffix:
    """``suffix``, optionally wrapping ``equals-ignore-case``. Strings only."""

    suffix: str
    ignore_case: bool

    def __init__(self, suffix: str, *, ignore_case: bool) -> None:
        object.__setattr__(self, "ignore_case", ignore_case)
        object.__setattr__(self, "suffix", suffix.lower() if ignore_case else suffix)

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return (value.lower() if self.ignore_case else value).endswith(self.suffix)


@dataclass(frozen=True, init=False)
class EqualsIgnoreCase:
    """``equals-ignore-case``.

    NOTE: case is folded with ``str.lower``, so characters such as ``ß`` may compare
    differently than in ruler.
    """

    value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "value", value.lower())

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and value.lower() == self.value


@dataclass(frozen=True)
class Wildcard:
    """``wildcard``: ``*`` matches any run of characters, newlines included."""

    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Wildcard:
        """Compile a wildcard pattern, rejecting ``**`` and escapes other than ``\\*``, ``\\\\``.

        Error positions are UTF-8 byte offsets counted from the opening quote of the JSON
        string, as ruler reports them.
        """
        parts: list[str] = []
        position = 1
        index = 0
        while index < len(text):
            char = text[index]
            if char == "*":
                if text[index + 1 : index + 2] == "*":
                    raise InvalidEventPatternError(
                        f"Consecutive wildcard characters at pos {position}"
                    )
                parts.append(".*")
            elif char == "\\":
                following = text[index + 1 : index + 2]
                if following not in ("*", "\\"):
                    raise InvalidEventPatternError(f"Invalid escape character at pos {position}")
                parts.append(re.escape(following))
                position += 1
                index += 1
            else:
                parts.append(re.escape(char))
            position += len(char.encode("utf-8"))
            index += 1
        return cls(re.compile("".join(parts), re.DOTALL))

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class AnythingBut:
    """``anything-but`` with values: excluded strings or excluded numbers.

    Every value outside the set matches, including ``null``, booleans and values of the
    other JSON type. A missing field never reaches a matcher, so it never matches.
    """

    strings: frozenset[str]
    numbers: frozenset[float]

    def matches(self, value: Any) -> bool:
        if isinstance(value, str):
            return value not in self.strings
        if is_number(value):
            return float(value) not in self.numbers
        return True


@dataclass(frozen=True)
class AnythingButStrings:
    """``anything-but`` wrapping ``prefix``, ``suffix``, ``equals-ignore-case`` or ``wildcard``.

    A value that is not a string is never excluded.
    """

    excluded: tuple[ValueMatcher, ...]

    @classmethod
    def build(cls, form: str, texts: list[str]) -> AnythingButStrings:
        """Build the exclusion for ``form`` from its pattern strings."""
        excluded: list[ValueMatcher] = []
        for text in texts:
            if form == "prefix":
                excluded.append(Prefix(text, ignore_case=False))
            elif form == "suffix":
                excluded.append(Suffix(text, ignore_case=False))
            elif form == "equals-ignore-case":
                excluded.append(EqualsIgnoreCase(text))
            else:
                excluded.append(Wildcard.parse(text))
        return cls(tuple(excluded))

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return True
        return not any(matcher.matches(value) for matcher in self.excluded)


@dataclass(frozen=True)
class NumericRange:
    """``numeric``: JSON numbers within optional lower and upper bounds."""

    lower: float | None
    lower_open: bool
    upper: float | None
    upper_open: bool

    def matches(self, value: Any) -> bool:
        if not is_number(value):
            return False
        number = float(value)
        if self.lower is not None and (
            number < self.lower or (self.lower_open and number == self.lower)
        ):
            return False
        return self.upper is None or not (
            number > self.upper or (self.upper_open and number == self.upper)
        )


@dataclass(frozen=True)
class Cidr:
    """``cidr``: string IP literals inside an IPv4 or IPv6 network."""

    network: IPNetwork

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        address = parse_ip(value)
        return address is not None and address in self.network
