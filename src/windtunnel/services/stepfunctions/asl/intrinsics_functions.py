"""The 18 intrinsic functions of the Amazon States Language, applied to evaluated arguments.

Rules come from https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
and from executions recorded on AWS in LocalStack's
``tests/aws/services/stepfunctions/v2/intrinsic_functions/*.snapshot.json``. Where those
recordings show Java behavior (``Math.round`` for MathAdd, ``StringTokenizer`` for
StringSplit, ``Map.toString`` for objects in States.Format) the functions here copy it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from windtunnel.services.stepfunctions.asl.errors import INTRINSIC_FAILURE, StatesError
from windtunnel.services.stepfunctions.asl.intrinsics_parser import IntrinsicCall, StringLiteral

__all__ = ["FUNCTIONS", "FunctionSpec", "JavaRandom", "to_json_text"]

logger = logging.getLogger(__name__)

# Limits stated on the intrinsic functions page.
MAX_RANGE_ITEMS = 1000
MAX_ENCODING_INPUT_CHARACTERS = 10_000
MAX_HASH_INPUT_CHARACTERS = 10_000
HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
# MathAdd and MathRandom take Java int values.
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

Implementation = Callable[[IntrinsicCall, list[Any], random.Random], Any]


@dataclass(frozen=True)
class FunctionSpec:
    """One intrinsic function: its argument count range and its implementation."""

    min_arguments: int
    max_arguments: int | None
    implementation: Implementation


def failure(call: IntrinsicCall, problem: str) -> StatesError:
    """Build the error an execution fails with when ``call`` cannot be evaluated."""
    # NOTE: the error name is the one the error-handling page defines for a failed
    # intrinsic (States.IntrinsicFailure). No AWS recording of a failing intrinsic was
    # available, so the cause wording is this emulation's own.
    return StatesError(
        INTRINSIC_FAILURE, f"The function '{call.text}' had the following error: {problem}"
    )


# Value helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    """Name a value's JSON type for error causes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _round_half_up(value: int | float) -> int:
    """Round like Java's Math.round, which AWS applies to non-integer arguments.

    AWS-recorded MathAdd results show halves rounding up: 2.5 gives 3 and -2.5 gives -2
    (``test_math_operations.snapshot.json``, ``test_math_add``).
    """
    if isinstance(value, int):
        return value
    return math.floor(value + 0.5)


def _integer_argument(call: IntrinsicCall, value: Any, position: str) -> int:
    """Return a number argument rounded to the nearest integer, as the page documents."""
    if not _is_number(value):
        raise failure(call, f"the {position} argument must be a number, not {_describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise failure(call, f"the {position} argument must be a finite number")
    return _round_half_up(value)


def _java_int_argument(call: IntrinsicCall, value: Any, position: str) -> int:
    number = _integer_argument(call, value, position)
    if not INT_MIN <= number <= INT_MAX:
        raise failure(
            call, f"the {position} argument {number} is outside the range {INT_MIN} to {INT_MAX}"
        )
    return number


def _array_argument(call: IntrinsicCall, value: Any, position: str) -> list[Any]:
    if not isinstance(value, list):
        raise failure(call, f"the {position} argument must be an array, not {_describe(value)}")
    return value


def _string_argument(call: IntrinsicCall, value: Any, position: str) -> str:
    if not isinstance(value, str):
        raise failure(call, f"the {position} argument must be a string, not {_describe(value)}")
    return value


def _identity_key(value: Any) -> str:
    """Key two JSON values equal when Jackson's node equality would.

    Object key order does not matter; ``1``, ``1.0`` and ``true`` stay different.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _java_double_text(value: float) -> str:
    """Write a double the way Java's ``Double.toString`` does (``1.0E20``, ``1.0E-5``)."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)

    # Outside that range Java writes one digit, a fraction and a decimal exponent, built
    # here from the shortest digits that read back as the same double.
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    if not isinstance(exponent, int):  # only NaN and infinity, which JSON cannot carry
        return repr(value)
    digits = "".join(str(digit) for digit in digit_tuple).rstrip("0") or "0"
    scientific_exponent = exponent + len(digit_tuple) - 1
    fraction = digits[1:] or "0"
    return f"{'-' if sign else ''}{digits[0]}.{fraction}E{scientific_exponent}"


def to_json_text(value: Any) -> str:
    """Serialize ``value`` as compact JSON with Jackson's number forms."""
    if isinstance(value, float):
        return _java_double_text(value)
    if isinstance(value, dict):
        members = (f"{json.dumps(key, ensure_ascii=False)}:{to_json_text(item)}"
                   for key, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _format_text(value: Any) -> str:
    """Write an argument of States.Format the way Java's ``toString`` writes it.

    AWS-recorded output turns ``{"Arg1": 1, "Arg2": []}`` into ``{Arg1=1, Arg2=[]}`` and
    ``null`` into ``null`` (``test_generic.snapshot.json``, ``test_format_1`` and
    ``test_format_2``).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return _java_double_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(_format_text(item) for item in value) + "]"
    if isinstance(value, dict):
        members = (f"{key}={_format_text(item)}" for key, item in value.items())
        return "{" + ", ".join(members) + "}"
    return str(value)


class JavaRandom:
    """The linear congruential generator of ``java.util.Random``, for seeded MathRandom."""

    _MULTIPLIER = 0x5DEECE66D
    _MASK = (1 << 48) - 1

    def __init__(self, seed: int) -> None:
        self._state = (seed ^ self._MULTIPLIER) & self._MASK

    def next_bits(self, bits: int) -> int:
        """Advance the generator and return its top ``bits`` bits as a signed Java int."""
        self._state = (self._state * self._MULTIPLIER + 0xB) & self._MASK
        result = self._state >> (48 - bits)
        if result >= 1 << (bits - 1) and bits == 32:
            result -= 1 << 32
        return result

    def next_int(self, bound: int) -> int:
        """Return a value in ``[0, bound)`` exactly as ``Random.nextInt(int bound)`` does."""
        if bound & (bound - 1) == 0:
            return (bound * self.next_bits(31)) >> 31
        while True:
            bits = self.next_bits(31)
            value = bits % bound
            if bits - value + (bound - 1) < 1 << 31:
                return value

    def next_double(self) -> float:
        """Return a value in ``[0, 1)`` exactly as ``Random.nextDouble()`` does."""
        return ((self.next_bits(26) << 27) + self.next_bits(27)) * (1.0 / (1 << 53))


# Generic and JSON functions


def _format(call: IntrinsicCall, values: list[Any], _random: random.Random) -> str:
    template_argument = call.arguments[0]
    if isinstance(template_argument, StringLiteral):
        parts = list(template_argument.format_parts)
    else:
        # A template that comes from a path or a call has no escapes left to honor.
        parts = _string_argument(call, values[0], "first").split("{}")

    replacements = values[1:]
    placeholders = len(parts) - 1
    if placeholders != len(replacements):
        raise failure(
            call,
            f"the template has {placeholders} placeholder(s) but {len(replacements)} "
            "value argument(s) were given",
        )

    pieces = [parts[0]]
    for replacement, text_after in zip(replacements, parts[1:], strict=True):
        pieces.append(_format_text(replacement))
        pieces.append(text_after)
    return "".join(pieces)


def _string_to_json(call: IntrinsicCall, values: list[Any], _random: random.Random) -> Any:
    text = _string_argument(call, values[0], "first")
    # AWS returns null for an empty or blank string (test_json_manipulation.snapshot.json,
    # test_string_to_json).
    if not text.strip():
        return None

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(text, parse_constant=reject_constant)
    except ValueError as error:
        raise failure(call, f"the string is not valid JSON ({error})") from None


def _json_to_string(call: IntrinsicCall, values: list[Any], _random: random.Random) -> str:
    return to_json_text(values[0])


def _json_merge(
    call: IntrinsicCall, values: list[Any], _random: random.Random
) -> dict[str, Any]:
    first, second, deep = values
    if not isinstance(first, dict):
        raise failure(call, f"the first argument must be an object, not {_describe(first)}")
    if not isinstance(second, dict):
        raise failure(call, f"the second argument must be an object, not {_describe(second)}")
    if deep is not False:
        # Only the shallow mode exists: the third argument must be the boolean false.
        raise failure(
            call, "the third argument must be false because only shallow merge is supported"
        )
    return {**first, **second}


# Array functions


def _array(call: IntrinsicCall, values: list[Any], _random: random.Random) -> list[Any]:
    return list(values)


def _array_partition(
    call: IntrinsicCall, values: list[Any], _random: random.Random
) -> list[list[Any]]:
    array = _array_argument(call, values[0], "first")
    chunk_size = _integer_argument(call, values[1], "second")
    if chunk_size <= 0:
        raise failure(call, f"the chunk size must be a positive integer, not {chunk_size}")
    return [array[start : start + chunk_size] for start in range(0, len(array), chunk_size)]


def _array_contains(call: IntrinsicCall, values: list[Any], _random: random.Random) -> bool:
    array = _array_argument(call, values[0], "first")
    target_key = _identity_key(values[1])
    return any(_identity_key(item) == target_key for item in array)


def _array_range(call: IntrinsicCall, values: list[Any], _random: random.Random) -> list[int]:
    first = _integer_argument(call, values[0], "first")
    last = _integer_argument(call, values[1], "second")
    step = _integer_argument(call, values[2], "third")
    if step == 0:
        raise failure(call, "the step (third argument) must not be zero")

    # The range includes the last value when a step lands on it (AWS returns [0, 3, 6, 9]
    # for 0 to 9 by 3 in test_array.snapshot.json, test_array_range).
    count = max(0, (last - first) // step + 1)
    if count > MAX_RANGE_ITEMS:
        raise failure(
            call, f"the range has {count} items but an array can have at most {MAX_RANGE_ITEMS}"
        )
    return [first + index * step for index in range(count)]


def _array_get_item(call: IntrinsicCall, values: list[Any], _random: random.Random) -> Any:
    array = _array_argument(call, values[0], "first")
    index = values[1]
    if not _is_number(index) or index != int(index):
        raise failure(call, f"the index must be an integer, not {to_json_text(index)}")
    position = int(index)
    if not 0 <= position < len(array):
        raise failure(
            call, f"the index {position} is out of bounds for an array of length {len(array)}"
        )
    return array[position]


def _array_length(call: IntrinsicCall, values: list[Any], _random: random.Random) -> int:
    return len(_array_argument(call, values[0], "first"))


def _array_unique(call: IntrinsicCall, values: list[Any], _random: random.Random) -> list[Any]:
    array = _array_argument(call, values[0], "first")
    seen: set[str] = set()
    unique = []
    for item in array:
        key = _identity_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


# Encoding and hashing


def _bounded_string(call: IntrinsicCall, value: Any, limit: int) -> str:
    text = _string_argument(call, value, "first")
    if len(text) > limit:
        raise failure(
            call, f"the input has {len(text)} characters but at most {limit} are allowed"
        )
    return text


def _base64_encode(call: IntrinsicCall, values: list[Any], _random: random.Random) -> str:
    text = _bounded_string(call, values[0], MAX_ENCODING_INPUT_CHARACTERS)
    # NOTE: the page names the MIME scheme, whose encoder breaks lines every 76 characters.
    # No AWS recording of an output that long was available, so no line breaks are added.
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(call: IntrinsicCall, values: list[Any], _random: random.Random) -> str:
    text = _bounded_string(call, values[0], MAX_ENCODING_INPUT_CHARACTERS)
    # Padding is optional, as in Java's Base64 decoder.
    padded = text + "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except binascii.Error:
        raise failure(call, "the input is not a valid base64 string") from None
    # Java's String constructor replaces malformed UTF-8 with U+FFFD.
    return data.decode("utf-8", errors="replace")


def _hash(call: IntrinsicCall, values: list[Any], _random: random.Random) -> str:
    text = _bounded_string(call, values[0], MAX_HASH_INPUT_CHARACTERS)
    algorithm = values[1]
    if not isinstance(algorithm, str) or algorithm not in HASH_ALGORITHMS:
        supported = ", ".join(HASH_ALGORITHMS)
        raise failure(
            call,
            f"the hashing algorithm {to_json_text(algorithm)} is not supported; use one of "
            f"{supported}",
        )
    return hashlib.new(HASH_ALGORITHMS[algorithm], text.encode("utf-8")).hexdigest()


# Math, string and identifier functions


def _math_random(call: IntrinsicCall, values: list[Any], random_source: random.Random) -> int:
    start = _java_int_argument(call, values[0], "first")
    end = _java_int_argument(call, values[1], "second")
    # NOTE: the page describes the start as inclusive and the end as exclusive; AWS
    # recordings mask the generated numbers, so the bounds are taken from the page alone.
    if start >= end:
        raise failure(call, f"the start {start} must be less than the end {end}")

    if len(values) == 3:
        seed = _integer_argument(call, values[2], "third")
        # NOTE: the same seed gives the same number on every run, as documented. Whether
        # AWS maps it through java.util.Random like this is not confirmed by a recording.
        return start + JavaRandom(seed).next_int(end - start)
    return random_source.randrange(start, end)


def _math_add(call: IntrinsicCall, values: list[Any], _random: random.Random) -> int:
    first = _java_int_argument(call, values[0], "first")
    second = _java_int_argument(call, values[1], "second")
    return first + second


def _string_split(call: IntrinsicCall, values: list[Any], _random: random.Random) -> list[str]:
    text = _string_argument(call, values[0], "first")
    delimiters = _string_argument(call, values[1], "second")

    # Each character of the second argument is a delimiter and empty tokens are dropped,
    # as in Java's StringTokenizer. AWS splits ", , ," at "," into [" ", " "] and
    # "This.is+a,test=string" at ".+,=" into five words (test_string_operations.snapshot.json).
    tokens: list[str] = []
    current: list[str] = []
    for character in text:
        if character in delimiters:
            if current:
                tokens.append("".join(current))
            current = []
        else:
            current.append(character)
    if current:
        tokens.append("".join(current))
    return tokens


def _uuid(call: IntrinsicCall, values: list[Any], random_source: random.Random) -> str:
    return str(uuid.UUID(int=random_source.getrandbits(128), version=4))


FUNCTIONS: dict[str, FunctionSpec] = {
    "States.Format": FunctionSpec(1, None, _format),
    "States.StringToJson": FunctionSpec(1, 1, _string_to_json),
    "States.JsonToString": FunctionSpec(1, 1, _json_to_string),
    "States.Array": FunctionSpec(0, None, _array),
    "States.ArrayPartition": FunctionSpec(2, 2, _array_partition),
    "States.ArrayContains": FunctionSpec(2, 2, _array_contains),
    "States.ArrayRange": FunctionSpec(3, 3, _array_range),
    "States.ArrayGetItem": FunctionSpec(2, 2, _array_get_item),
    "States.ArrayLength": FunctionSpec(1, 1, _array_length),
    "States.ArrayUnique": FunctionSpec(1, 1, _array_unique),
    "States.Base64Encode": FunctionSpec(1, 1, _base64_encode),
    "States.Base64Decode": FunctionSpec(1, 1, _base64_decode),
    "States.Hash": FunctionSpec(2, 2, _hash),
    "States.JsonMerge": FunctionSpec(3, 3, _json_merge),
    "States.MathRandom": FunctionSpec(2, 3, _math_random),
    "States.MathAdd": FunctionSpec(2, 2, _math_add),
    "States.StringSplit": FunctionSpec(2, 2, _string_split),
    "States.UUID": FunctionSpec(0, 0, _uuid),
}
