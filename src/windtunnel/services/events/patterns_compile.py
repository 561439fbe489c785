"""Validate EventBridge event patterns and compile them into matcher branches.

The checks and their messages follow aws/event-ruler v2.0.1 (``JsonRuleCompiler.java``,
``CIDR.java``, ``Range.java``, ``ComparableNumber.java`` and ``input/WildcardParser.java``),
which is the matcher EventBridge runs. EventBridge prefixes each message with
``Event pattern is not valid. Reason: ``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from windtunnel.services.events.patterns_errors import InvalidEventPatternError
from windtunnel.services.events.patterns_matchers import (
    AnythingBut,
    AnythingButStrings,
    Cidr,
    EqualsIgnoreCase,
    ExactLiteral,
    ExactNumber,
    ExactString,
    Exists,
    NumericRange,
    Prefix,
    Suffix,
    ValueMatcher,
    Wildcard,
    is_nan,
    is_number,
    parse_ip,
)

# The default, adjustable "Event pattern size" quota, in characters
# (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
MAX_PATTERN_LENGTH = 2048

OR_KEYWORD = "$or"

# Field names that ruler rejects inside a "$or" branch (Constants.java).
RESERVED_NAMES_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)

_IPV4_SHAPE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_SHAPE = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
_MASK_BITS = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class FieldCondition:
    """The matchers for one flattened field path, ORed together.

    ``allows_absence`` is set by ``{"exists": false}``: the condition then also holds when
    the event has no value at ``path``. The exact strings and numbers among the matchers
    are also kept in sets, which ``accepts`` tries before the other matchers.
    """

    path: str
    matchers: tuple[ValueMatcher, ...]
    allows_absence: bool
    exact_strings: frozenset[str] = field(init=False, repr=False, compare=False)
    exact_numbers: frozenset[int | float | Decimal] = field(init=False, repr=False,
                                                           compare=False)
    other_matchers: tuple[ValueMatcher, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        strings: set[str] = set()
        numbers: set[int | float | Decimal] = set()
        others: list[ValueMatcher] = []
        for matcher in self.matchers:
            if isinstance(matcher, ExactString):
                strings.add(matcher.value)
                if matcher.address is not None:
                    # Other spellings of the same IP address need the matcher itself.
                    others.append(matcher)
            elif isinstance(matcher, ExactNumber) and not is_nan(matcher.value):
                # Equal numbers hash equally across int, float and Decimal, so set
                # membership is the matcher's ``==``. NaN, never equal to itself, stays out.
                numbers.add(matcher.value)
            else:
                others.append(matcher)
        object.__setattr__(self, "exact_strings", frozenset(strings))
        object.__setattr__(self, "exact_numbers", frozenset(numbers))
        object.__setattr__(self, "other_matchers", tuple(others))

    def accepts(self, value: Any) -> bool:
        """Return whether one event leaf value satisfies any matcher."""
        if isinstance(value, str):
            if value in self.exact_strings:
                return True
        elif is_number(value) and value in self.exact_numbers:
            return True
        for matcher in self.other_matchers:  # noqa: SIM110 (a loop is faster than any() here)
            if matcher.matches(value):
                return True
        return False


# One branch of a pattern: every condition must hold. "$or" yields several branches.
Branch = tuple[FieldCondition, ...]


class _JsonNumber(Decimal):
    """A JSON number with a fraction or exponent, kept with its source text for messages."""

    text: str

    def __new__(cls, text: str) -> _JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


def load_pattern_json(pattern: str | dict[str, Any]) -> tuple[Any, int]:
    """Parse a pattern given as JSON text or as a dict, and return it with its length.

    The length is in characters. For a dict it is the length of its compact JSON form.
    """
    if isinstance(pattern, str):
        try:
            return json.loads(pattern, parse_float=_JsonNumber), len(pattern)
        except json.JSONDecodeError as error:
            # NOTE: AWS returns Jackson's parser message here, which this text does not copy.
            raise InvalidEventPatternError(f"Filter is not valid JSON: {error.msg}") from None
    try:
        text = json.dumps(pattern, separators=(",", ":"), default=str)
    except (TypeError, ValueError) as error:
        raise InvalidEventPatternError(f"Filter is not valid JSON: {error}") from None
    return pattern, len(text)


def compile_branches(
    document: Any, length: int, max_length: int = MAX_PATTERN_LENGTH
) -> list[Branch]:
    """Validate a parsed pattern like EventBridge and return its branches."""
    if length > max_length:
        # NOTE: the quota is documented but AWS's wording for this rejection is unverified.
        raise InvalidEventPatternError(
            f"Event pattern is {length} characters long, "
            f"above the maximum of {max_length}"
        )
    if not isinstance(document, dict):
        raise InvalidEventPatternError("Filter is not an object")
    rules: list[dict[str, FieldCondition]] = []
    _parse_object(rules, (), document, inside_or=False)
    return [tuple(rule.values()) for rule in rules]


def _parse_object(
    rules: list[dict[str, FieldCondition]],
    path: tuple[str, ...],
    node: dict[str, Any],
    *,
    inside_or: bool,
) -> None:
    if not node:
        raise InvalidEventPatternError("Empty objects are not allowed")
    for name, value in node.items():
        if name == OR_KEYWORD:
            _parse_or(rules, path, value)
            continue
        if inside_or and name in RESERVED_NAMES_IN_OR:
            raise InvalidEventPatternError(
                f"{name} is Ruler reserved fieldName which cannot be used inside {OR_KEYWORD}."
            )
        if isinstance(value, dict):
            _parse_object(rules, (*path, name), value, inside_or=inside_or)
        elif isinstance(value, list):
            _write_condition(rules, ".".join((*path, name)), value)
        else:
            raise InvalidEventPatternError(f'"{name}" must be an object or an array')


def _parse_or(rules: list[dict[str, FieldCondition]], path: tuple[str, ...], value: Any) -> None:
    """Expand a "$or" array: each object becomes a copy of every branch built so far."""
    if not isinstance(value, list):
        raise InvalidEventPatternError(f"It must be an Array followed with {OR_KEYWORD}.")
    current = [dict(rule) for rule in rules]
    rules.clear()
    for item in value:
        if not isinstance(item, dict):
            raise InvalidEventPatternError(
                f"Only JSON object is allowed in array of {OR_KEYWORD} relationship."
            )
        forked = [dict(rule) for rule in current] or [{}]
        _parse_object(forked, path, item, inside_or=True)
        rules.extend(forked)
    if len(value) < 2:
        raise InvalidEventPatternError(
            f"There must have at least 2 Objects in {OR_KEYWORD} relationship."
        )


def _write_condition(rules: list[dict[str, FieldCondition]], path: str, items: list[Any]) -> None:
    matchers: list[ValueMatcher] = []
    allows_absence = False
    for item in items:
        if isinstance(item, dict):
            matcher = _parse_match_expression(item)
            if isinstance(matcher, Exists) and not matcher.present:
                allows_absence = True
            else:
                matchers.append(matcher)
        elif isinstance(item, str):
            matchers.append(ExactString(item, parse_ip(item)))
        elif isinstance(item, bool) or item is None:
            matchers.append(ExactLiteral(item))
        elif isinstance(item, int | float | Decimal):
            matchers.append(ExactNumber(_exact_number(item)))
        else:
            raise InvalidEventPatternError(
                "Match value must be String, number, true, false, or null"
            )
    if not items:
        raise InvalidEventPatternError("Empty arrays are not allowed")
    if not rules:
        rules.append({})
    condition = FieldCondition(path, tuple(matchers), allows_absence)
    for rule in rules:
        # NOTE: ruler's default compile lets a repeated path override the earlier one;
        # whether EventBridge instead rejects "Path ... cannot be allowed multiple times"
        # is unverified.
        rule[path] = condition


def _token_text(value: Any) -> str:
    """Render a JSON value the way Jackson's ``getText`` shows the token that starts it."""
    if isinstance(value, _JsonNumber):
        return value.text
    if isinstance(value, dict):
        return "{"
    if isinstance(value, list):
        return "["
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _exact_number(value: int | float | Decimal) -> int | float | Decimal:
    """Keep an exact-match number as a double when it is one exactly, else as written."""
    double = _comparable_double(value)
    if double is None:
        return value
    return int(value) if isinstance(value, int) else double


def _comparable_double(value: int | float | Decimal) -> float | None:
    """Return the double equal to ``value``, or None when no double is exactly equal."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        double = float(value)
    except (OverflowError, ValueError):
        return None
    if not math.isfinite(double):
        return None
    try:
        exact = Decimal(repr(double)) == Decimal(value)
    except InvalidOperation:
        return None
    return double if exact else None


def _comparable(value: Any) -> float:
    double = _comparable_double(value)
    if double is None:
        raise InvalidEventPatternError(f"Cannot compare number : {_token_text(value)}")
    return double


def _single_key(expression: dict[str, Any], message: str) -> None:
    if len(expression) > 1:
        raise InvalidEventPatternError(message)


_ONE_KEY = "Only one key allowed in match expression"
_TOO_MANY_NUMERIC = "Too many elements in numeric expression"


def _parse_match_expression(expression: dict[str, Any]) -> ValueMatcher:
    if not expression:
        raise InvalidEventPatternError("Match expression name not found")
    name, value = next(iter(expression.items()))
    if name == "exactly":
        if not isinstance(value, str):
            raise InvalidEventPatternError("exact match pattern must be a string")
        _single_key(expression, _ONE_KEY)
        return ExactString(value, None)
    if name in ("prefix", "suffix"):
        return _parse_affix(name, value, expression)
    if name == "numeric":
        if not isinstance(value, list):
            raise InvalidEventPatternError("Value of numeric must be an array.")
        numeric = _parse_numeric(value)
        _single_key(expression, _TOO_MANY_NUMERIC)
        return numeric
    if name == "anything-but":
        return _parse_anything_but(value, expression)
    if name == "exists":
        if not isinstance(value, bool):
            raise InvalidEventPatternError("exists match pattern must be either true or false.")
        _single_key(expression, _ONE_KEY)
        return Exists(value)
    if name == "cidr":
        if not isinstance(value, str):
            # Ruler reuses the prefix message for a non-string CIDR.
            raise InvalidEventPatternError("prefix match pattern must be a string")
        cidr = _parse_cidr(value)
        _single_key(expression, _ONE_KEY)
        return cidr
    if name == "equals-ignore-case":
        if not isinstance(value, str):
            raise InvalidEventPatternError("equals-ignore-case match pattern must be a string")
        _single_key(expression, _ONE_KEY)
        return EqualsIgnoreCase(value)
    if name == "wildcard":
        # NOTE: EventBridge also rejects wildcard patterns that are too complex ("Rule is too
        # complex - try using fewer wildcard characters"); that check is not implemented.
        if not isinstance(value, str):
            raise InvalidEventPatternError("wildcard match pattern must be a string")
        wildcard = Wildcard.parse(value)
        _single_key(expression, _ONE_KEY)
        return wildcard
    raise InvalidEventPatternError(f"Unrecognized match type {name}")


def _parse_affix(name: str, value: Any, expression: dict[str, Any]) -> ValueMatcher:
    """Parse ``prefix`` or ``suffix``, plain or wrapping ``equals-ignore-case``."""
    matcher_type = Prefix if name == "prefix" else Suffix
    if isinstance(value, dict):
        title = name.capitalize()
        if not value:
            raise InvalidEventPatternError(f"{title} expression name not found")
        inner_name, inner_value = next(iter(value.items()))
        if inner_name != "equals-ignore-case":
            raise InvalidEventPatternError(f"Unsupported {name} pattern: {inner_name}")
        if not isinstance(inner_value, str):
            raise InvalidEventPatternError("equals-ignore-case match pattern must be a string")
        _single_key(value, _ONE_KEY)
        _single_key(expression, _ONE_KEY)
        return matcher_type(inner_value, ignore_case=True)
    if not isinstance(value, str):
        raise InvalidEventPatternError(f"{name} match pattern must be a string")
    _single_key(expression, _ONE_KEY)
    return matcher_type(value, ignore_case=False)


def _parse_numeric(terms: list[Any]) -> NumericRange:
    if not terms:
        raise InvalidEventPatternError("Invalid member in numeric match: ]")
    operator = terms[0]
    if not isinstance(operator, str):
        raise InvalidEventPatternError(f"Invalid member in numeric match: {_token_text(operator)}")
    if operator not in ("=", ">=", ">", "<=", "<"):
        raise InvalidEventPatternError(f"Unrecognized numeric range operator: {operator}")
    label = "equals" if operator == "=" else operator
    if len(terms) < 2 or not _is_number(terms[1]):
        raise InvalidEventPatternError(f"Value of {label} must be numeric")
    if operator in ("=", "<=", "<"):
        if len(terms) > 2:
            raise InvalidEventPatternError(_TOO_MANY_NUMERIC)
        bound = _comparable(terms[1])
        if operator == "=":
            return NumericRange(bound, False, bound, False)
        return NumericRange(None, False, bound, operator == "<")
    if len(terms) == 2:
        return NumericRange(_comparable(terms[1]), operator == ">", None, False)
    upper_operator = terms[2]
    if not isinstance(upper_operator, str):
        raise InvalidEventPatternError(f"Bad value in numeric range: {_token_text(upper_operator)}")
    if upper_operator not in ("<", "<="):
        raise InvalidEventPatternError(f"Bad numeric range operator: {upper_operator}")
    if len(terms) < 4 or not _is_number(terms[3]):
        raise InvalidEventPatternError(f"Value of {upper_operator} must be numeric")
    if len(terms) > 4:
        raise InvalidEventPatternError("Too many terms in numeric range expression")
    bound = _comparable(terms[1])
    upper = _comparable(terms[3])
    if bound >= upper:
        raise InvalidEventPatternError("Bottom must be less than top")
    return NumericRange(bound, operator == ">", upper, upper_operator == "<")


_ANYTHING_BUT_FORMS = ("equals-ignore-case", "prefix", "suffix", "wildcard")


def _parse_anything_but(value: Any, expression: dict[str, Any]) -> ValueMatcher:
    form = None
    if isinstance(value, dict):
        if not value:
            raise InvalidEventPatternError("Anything-But expression name not found")
        form, inner = next(iter(value.items()))
        if form not in _ANYTHING_BUT_FORMS:
            raise InvalidEventPatternError(f"Unsupported anything-but pattern: {form}")
        value_holder: dict[str, Any] = value
        value = inner
    if not (isinstance(value, list | str) or _is_number(value)):
        raise InvalidEventPatternError(
            "Value of anything-but must be an array or single string/number value."
        )
    matcher = _anything_but_plain(value) if form is None else _anything_but_form(form, value)
    if form is not None:
        _single_key(value_holder, _TOO_MANY_NUMERIC)
    _single_key(expression, _TOO_MANY_NUMERIC)
    return matcher


def _anything_but_plain(value: Any) -> AnythingBut:
    items = value if isinstance(value, list) else [value]
    strings: set[str] = set()
    numbers: set[float] = set()
    for item in items:
        if isinstance(item, str):
            strings.add(item)
        elif _is_number(item):
            numbers.add(_comparable(item))
        else:
            raise InvalidEventPatternError(
                "Inside anything but list, start|null|boolean is not supported."
            )
    if bool(strings) == bool(numbers):
        raise InvalidEventPatternError(
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported"
        )
    return AnythingBut(frozenset(strings), frozenset(numbers))


def _anything_but_form(form: str, value: Any) -> AnythingButStrings:
    items = value if isinstance(value, list) else [value]
    texts: list[str] = []
    for item in items:
        if not isinstance(item, str):
            if form == "equals-ignore-case":
                raise InvalidEventPatternError(
                    "Inside anything-but/equals-ignore-case list, "
                    "number|start|null|boolean is not supported."
                )
            if form == "wildcard":
                raise InvalidEventPatternError("wildcard match pattern must be a string")
            raise InvalidEventPatternError("prefix/suffix match pattern must be a string")
        if form in ("prefix", "suffix") and not item:
            raise InvalidEventPatternError("Null prefix/suffix not allowed")
        texts.append(item)
    return AnythingButStrings.build(form, texts)


def _parse_cidr(text: str) -> Cidr:
    pieces = text.split("/")
    while len(pieces) > 1 and pieces[-1] == "":
        pieces.pop()  # Java's String.split drops trailing empty strings.
    if len(pieces) != 2:
        raise InvalidEventPatternError("Malformed CIDR, one '/' required")
    address_text, mask_text = pieces
    if not _MASK_BITS.fullmatch(mask_text):
        raise InvalidEventPatternError("Malformed CIDR, mask bits must be an integer")
    mask_bits = int(mask_text)
    if mask_bits < 0:
        raise InvalidEventPatternError("Malformed CIDR, mask bits must not be negative")
    if not (_IPV4_SHAPE.fullmatch(address_text) or _IPV6_SHAPE.fullmatch(address_text)):
        raise InvalidEventPatternError(f"Nonstandard IP address: {address_text}")
    address = parse_ip(address_text)
    if address is None:
        raise InvalidEventPatternError(f"Invalid IP address: {address_text}")
    if address.version == 4 and mask_bits > 31:
        raise InvalidEventPatternError("IPv4 mask bits must be < 32")
    if address.version == 6 and mask_bits > 127:
        raise InvalidEventPatternError("IPv6 mask bits must be < 128")
    network = ipaddress.ip_network(f"{address}/{mask_bits}", strict=False)
    return Cidr(network)
