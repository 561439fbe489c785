"""Intrinsic functions of JSONPath states: recognize, parse and evaluate ``States.*`` calls.

The interpreter calls :func:`is_intrinsic` on the value of each ``"key.$"`` field, parses the
call once when the definition is loaded (an :class:`IntrinsicSyntaxError` makes the
definition invalid) and evaluates it for every state input with :func:`evaluate_intrinsic`.
https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
"""

from __future__ import annotations

import copy
import functools
import logging
import random
import re
from collections.abc import Callable
from typing import Any

from windtunnel.services.stepfunctions.asl.intrinsics_functions import FUNCTIONS
from windtunnel.services.stepfunctions.asl.intrinsics_parser import (
    Argument,
    IntrinsicCall,
    IntrinsicSyntaxError,
    Literal,
    PathArgument,
    StringLiteral,
    parse_call,
)

__all__ = [
    "MAX_CALLS_PER_FIELD",
    "Argument",
    "IntrinsicCall",
    "IntrinsicSyntaxError",
    "Literal",
    "PathArgument",
    "StringLiteral",
    "evaluate_intrinsic",
    "is_intrinsic",
    "parse_intrinsic",
]

logger = logging.getLogger(__name__)

# The page allows up to 10 intrinsic functions in one field. Its example, which it
# describes as nine nested functions, contains nine calls in total but is only five
# levels deep, so the limit counts every call in the field.
# NOTE: no AWS recording shows an eleventh call that is not nested deeper. This
# emulation rejects any field with more than 10 calls.
MAX_CALLS_PER_FIELD = 10

_CALL_PREFIX = re.compile(r"States\.[A-Za-z0-9]+\(")


def is_intrinsic(text: str) -> bool:
    """Tell whether a ``"key.$"`` value is an intrinsic function call instead of a path."""
    return isinstance(text, str) and _CALL_PREFIX.match(text) is not None


def parse_intrinsic(text: str) -> IntrinsicCall:
    """Parse and check one call. The result is cached per text and must not be changed.

    Raises IntrinsicSyntaxError for text outside the grammar, an unknown function, a wrong
    number of arguments or more than MAX_CALLS_PER_FIELD calls.
    """
    return _parse_cached(text)


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> IntrinsicCall:
    logger.debug("parsing intrinsic function call %r", text)
    call = parse_call(text)
    _check_call(call)

    calls = call.count_calls()
    if calls > MAX_CALLS_PER_FIELD:
        raise IntrinsicSyntaxError(
            f"Invalid intrinsic function call {text!r}: it contains {calls} intrinsic "
            f"functions but a field can contain at most {MAX_CALLS_PER_FIELD}."
        )
    return call


def _check_call(call: IntrinsicCall) -> None:
    """Check the function name and argument count of ``call`` and of each call inside it."""
    spec = FUNCTIONS.get(call.name)
    if spec is None:
        known = ", ".join(sorted(FUNCTIONS))
        raise IntrinsicSyntaxError(
            f"Invalid intrinsic function call {call.text!r}: {call.name} is not an intrinsic "
            f"function. The intrinsic functions are {known}."
        )

    count = len(call.arguments)
    too_many = spec.max_arguments is not None and count > spec.max_arguments
    if count < spec.min_arguments or too_many:
        raise IntrinsicSyntaxError(
            f"Invalid intrinsic function call {call.text!r}: {call.name} takes "
            f"{_describe_arity(spec.min_arguments, spec.max_arguments)} but {count} "
            f"{'was' if count == 1 else 'were'} given."
        )

    for argument in call.arguments:
        if isinstance(argument, IntrinsicCall):
            _check_call(argument)


def _describe_arity(minimum: int, maximum: int | None) -> str:
    if maximum is None:
        return f"at least {minimum} argument{'' if minimum == 1 else 's'}"
    if minimum == maximum:
        return f"{minimum} argument{'' if minimum == 1 else 's'}"
    return f"{minimum} to {maximum} arguments"


def evaluate_intrinsic(
    text_or_call: str | IntrinsicCall,
    resolve: Callable[[str], Any],
    *,
    random_source: random.Random,
) -> Any:
    """Evaluate a call and return a new JSON value.

    ``resolve`` returns the value at a path argument and raises the caller's own error when
    the path does not exist. ``random_source`` feeds States.UUID and States.MathRandom
    without a seed, so a seeded generator makes runs repeat. A failing function raises
    StatesError with the name States.IntrinsicFailure.
    """
    call = parse_intrinsic(text_or_call) if isinstance(text_or_call, str) else text_or_call
    result = _evaluate_call(call, resolve, random_source)

    # Results may share lists and objects with the state input, so the caller gets a copy.
    return copy.deepcopy(result)


def _evaluate_call(
    call: IntrinsicCall, resolve: Callable[[str], Any], random_source: random.Random
) -> Any:
    values = [_evaluate_argument(argument, resolve, random_source) for argument in call.arguments]
    return FUNCTIONS[call.name].implementation(call, values, random_source)


def _evaluate_argument(
    argument: Argument, resolve: Callable[[str], Any], random_source: random.Random
) -> Any:
    if isinstance(argument, StringLiteral):
        return argument.value
    if isinstance(argument, Literal):
        return argument.value
    if isinstance(argument, PathArgument):
        return resolve(argument.path)
    return _evaluate_call(argument, resolve, random_source)
