"""JSONata evaluation as Step Functions runs it in states whose QueryLanguage is JSONata.

A field value written ``"{% <expression> %}"`` is a JSONata expression. It is evaluated with
no context item, ``$states`` bound to the state's input, result, error output and context
object, and every workflow variable bound as ``$name``. Step Functions adds ``$partition``,
``$range``, ``$hash``, ``$random``, ``$uuid`` and ``$parse``, and leaves ``$eval`` unbound.
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html

Every failure raises :class:`QueryEvaluationError` (``States.QueryEvaluationError``) with the
cause text AWS writes. AWS opens that cause with the state's name and the id of its entered
event. Only the interpreter has those, so :meth:`QueryEvaluationError.in_state` adds them.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
import logging
import math
import random
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jsonata import functions as jsonata_functions
from jsonata.jexception import JException
from jsonata.jsonata import Jsonata
from jsonata.parser import Parser
from jsonata.utils import Utils

from windtunnel.services.stepfunctions.asl.errors import QUERY_EVALUATION_ERROR, StatesError

__all__ = [
    "QueryEvaluationError",
    "check_expression",
    "evaluate",
    "evaluate_template",
    "is_expression",
    "json_type_name",
    "require_type",
]

logger = logging.getLogger(__name__)

_OPEN = "{%"
_CLOSE = "%}"

# Compiled expressions, by expression text. Compiling costs far more than evaluating.
_CACHE_SIZE = 4096

# JavaScript prints integral numbers from 1e21 on in exponent form, so JSONata's JSON output
# (and therefore Step Functions') keeps those as floating-point numbers.
_LARGEST_PRINTED_INTEGER = 1e21

_UNDEFINED_DETAIL = "returned nothing (undefined)."
_UNSUPPORTED_TYPE_DETAIL = "returned an unsupported result type."
_ERROR_DETAIL = "threw an error during evaluation"

# The hash algorithms that $hash accepts, as AWS names them, mapped to hashlib's names.
_HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class QueryEvaluationError(StatesError):
    """A JSONata expression failed: ``States.QueryEvaluationError`` with AWS's cause text.

    ``expression`` is the text between the delimiters, ``location`` the field path that
    AWS reports in the EvaluationFailed event (for example ``Output/result``), and
    ``detail`` the end of the cause after the field.
    """

    def __init__(self, expression: str, location: str, detail: str, *, prefix: str = "") -> None:
        field = f" specified for the field '{location}'" if location else ""
        cause = f"{prefix}The JSONata expression '{expression}'{field} {detail}"
        super().__init__(QUERY_EVALUATION_ERROR, cause)
        self.expression = expression
        self.location = location
        self.detail = detail

    def in_state(self, state_name: str, entered_event_id: int) -> QueryEvaluationError:
        """Return this error with the opening sentence that names the state, as AWS writes it.

        The sentence is recorded in AWS execution histories, for example
        ``An error occurred while executing the state 'State0' (entered at the event id #2).``
        """
        prefix = (
            f"An error occurred while executing the state '{state_name}' "
            f"(entered at the event id #{entered_event_id}). "
        )
        return QueryEvaluationError(self.expression, self.location, self.detail, prefix=prefix)


class _FunctionError(Exception):
    """A Step Functions JSONata function rejected its arguments; the message has no code."""


@dataclass(frozen=True)
class _CallContext:
    random_source: random.Random
    now: datetime | None


_call_context: contextvars.ContextVar[_CallContext] = contextvars.ContextVar(
    "windtunnel_jsonata_call_context"
)


def is_expression(value: object) -> bool:
    """Tell whether ``value`` is a JSONata expression: a string that starts with ``{%``
    and ends with ``%}``.

    Surrounding whitespace makes the string a literal: AWS returns ``" {% states.input %} "``
    unchanged (recorded in LocalStack's ``tests/aws/services/stepfunctions/v2/outputdecl/
    test_output.snapshot.json``, case BASE_LITERALS).
    """
    return (
        isinstance(value, str)
        and len(value) >= len(_OPEN) + len(_CLOSE)
        and value.startswith(_OPEN)
        and value.endswith(_CLOSE)
    )


def _body(text: str) -> str:
    if is_expression(text):
        text = text[len(_OPEN) : -len(_CLOSE)]
    return text.strip()


def evaluate(
    text: str,
    *,
    states: Mapping[str, Any],
    variables: Mapping[str, Any],
    random_source: random.Random,
    now: datetime | None = None,
    field: str = "",
) -> Any:
    """Evaluate one JSONata expression and return its value as plain JSON data.

    ``text`` is the field value with or without its ``{% %}`` delimiters. ``states`` is the
    ``$states`` binding, ``variables`` the workflow variables in scope, ``random_source``
    drives ``$random()`` and ``$uuid()``, and ``now`` is the instant ``$now()`` and
    ``$millis()`` report (the wall clock when None). ``field`` is the location that a
    failure names, for example ``Output`` or ``Arguments/FunctionName``.

    An expression that yields nothing raises :class:`QueryEvaluationError`, because JSON has
    no undefined value; AWS fails the state the same way.
    """
    expression = _body(text)
    result = _run(expression, states, variables, random_source, now, field)
    if result is None:
        raise QueryEvaluationError(expression, field, _UNDEFINED_DETAIL)
    return _to_json(result, expression, field)


def evaluate_template(
    value: Any,
    *,
    states: Mapping[str, Any],
    variables: Mapping[str, Any],
    random_source: random.Random,
    now: datetime | None = None,
    field: str = "",
) -> Any:
    """Return ``value`` with every ``{% %}`` string in it, at any depth, replaced by its value.

    Other values are kept as they are. The input is not modified. A failure names the path
    of the string below ``field``, for example ``Output/result`` for the key ``result`` of
    an ``Output`` object.
    """
    if isinstance(value, str):
        if is_expression(value):
            return evaluate(
                value,
                states=states,
                variables=variables,
                random_source=random_source,
                now=now,
                field=field,
            )
        return value

    if isinstance(value, Mapping):
        return {
            key: evaluate_template(
                item,
                states=states,
                variables=variables,
                random_source=random_source,
                now=now,
                field=_join(field, str(key)),
            )
            for key, item in value.items()
        }

    if isinstance(value, list):
        # NOTE: AWS's location text for an array element is not recorded anywhere we found;
        # the index is appended like a key (``Output/items/0``).
        return [
            evaluate_template(
                item,
                states=states,
                variables=variables,
                random_source=random_source,
                now=now,
                field=_join(field, str(index)),
            )
            for index, item in enumerate(value)
        ]

    return value


def check_expression(text: str) -> str | None:
    """Return why Step Functions rejects this expression in a definition, or None.

    The message starts with the diagnostic code that ValidateStateMachineDefinition and
    CreateStateMachine report, so a caller appends only `` at <path>``:
    ``INVALID_JSONATA_EXPRESSION: Unexpected end of expression`` for a syntax error (the
    parser's message without its JSONata code), and ``UNSUPPORTED_JSONATA_EXPRESSION:
    Reference to 'phone' at the top level is not supported.`` for a path that starts at the
    context item, which Step Functions never sets.
    """
    expression = _body(text)
    try:
        compiled = _compile(expression)
    except JException as error:
        return f"INVALID_JSONATA_EXPRESSION: {_message(error)}"

    for name in _top_level_references(compiled.ast, at_root=True):
        # NOTE: AWS's wording for a bare `$` or `$$` is not recorded; the same sentence as for
        # a field name is used.
        return (
            "UNSUPPORTED_JSONATA_EXPRESSION: "
            f"Reference to '{name}' at the top level is not supported."
        )
    return None


def json_type_name(value: Any) -> str:
    """Return the JSON type name of a value, as Step Functions' causes write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def require_type(value: Any, expected: str, *, text: str, field: str) -> Any:
    """Return ``value`` if its JSON type is ``expected``; raise AWS's type-mismatch error if not.

    AWS raises this for a Map state's ``Items`` expression that yields no array, with the
    value written as compact JSON (LocalStack's AWS recording
    ``tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json``
    contains ``Expected 'array', but was 'number' for value: 1``).
    """
    actual = json_type_name(value)
    if actual == expected:
        return value
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    detail = (
        f"returned an unexpected result type. Expected '{expected}', but was '{actual}' "
        f"for value: {encoded}"
    )
    raise QueryEvaluationError(_body(text), field, detail)


def _join(field: str, key: str) -> str:
    return f"{field}/{key}" if field else key


# --- Compilation and evaluation ----------------------------------------------------------


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile(expression: str) -> Any:
    compiled = Jsonata(expression)
    compiled.set_validate_input(False)
    # Keep JSONata's null apart from undefined: None stands for undefined only.
    compiled.set_output_convert_nulls(False)
    for name, implementation in _STEP_FUNCTIONS_FUNCTIONS.items():
        compiled.register_lambda(name, implementation)
    # Step Functions removes $eval. NOTE: AWS fails such a call with
    # States.QueryEvaluationError, but its cause text is not recorded; unbinding the name
    # gives JSONata's T1006 ("Attempted to invoke a non-function").
    compiled.register_function("eval", None)
    return compiled


# jsonata-python keeps a thread-local "current instance" that built-in functions such as
# $sort read, and compiling another expression changes it. Setting it before each call keeps
# a cached instance coherent on any thread.
_jsonata_thread_state = Jsonata.CURRENT


def _run(
    expression: str,
    states: Mapping[str, Any],
    variables: Mapping[str, Any],
    random_source: random.Random,
    now: datetime | None,
    field: str,
) -> Any:
    try:
        compiled = _compile(expression)
    except JException as error:
        raise QueryEvaluationError(expression, field, _error_detail(error)) from None

    bindings: dict[str, Any] = {name: _to_jsonata(value) for name, value in variables.items()}
    bindings["states"] = _to_jsonata(states)
    token = _call_context.set(_CallContext(random_source, now))
    _jsonata_thread_state.jsonata = compiled
    try:
        return compiled.evaluate(None, bindings)
    except QueryEvaluationError:
        raise
    except JException as error:
        raise QueryEvaluationError(expression, field, _error_detail(error)) from None
    except _FunctionError as error:
        raise QueryEvaluationError(expression, field, f"{_ERROR_DETAIL}: {error}") from None
    except (ZeroDivisionError, OverflowError):
        # JavaScript yields Infinity here, which JSONata rejects as D1001; JSON.stringify
        # writes Infinity as null in the message.
        raise QueryEvaluationError(
            expression, field, f"{_ERROR_DETAIL}. D1001: Number out of range: null"
        ) from None
    except RecursionError:
        raise QueryEvaluationError(
            expression, field, f"{_ERROR_DETAIL}: the expression nests too deeply"
        ) from None
    finally:
        _call_context.reset(token)


def _error_detail(error: JException) -> str:
    return f"{_ERROR_DETAIL}. {error.error}: {_message(error)}"


_PLACEHOLDER = re.compile(r"\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}")


def _message(error: JException) -> str:
    """Render a JSONata error the way jsonata-js does, which is the text AWS reports.

    jsonata-python's catalog has "Object" where jsonata-js has "function", and writes
    ``{{value}}`` placeholders without the JSON quoting that jsonata-js applies.
    """
    template = JException.error_codes.get(error.error)
    if template is None:
        return str(error)
    if template == "{{{message}}}":
        return str(error.current)

    template = template.replace("Object", "function")
    values: Iterator[Any] = iter((error.current, error.expected, error.extra))

    def substitute(match: re.Match[str]) -> str:
        value = next(values, None)
        if match.group(1) is not None:
            return str(value)
        return _stringify(value)

    return _PLACEHOLDER.sub(substitute, template)


def _stringify(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(value)


def _top_level_references(node: Any, *, at_root: bool) -> Iterator[str]:
    """Yield the names that an expression reads from the (absent) context item."""
    if isinstance(node, list):
        for item in node:
            yield from _top_level_references(item, at_root=at_root)
        return
    if not isinstance(node, Parser.Symbol):
        return

    kind = node.type
    if at_root and kind == "name":
        yield str(node.value)
    elif at_root and kind == "variable" and node.value in ("", "$"):
        yield "$" if node.value == "" else "$$"

    for attribute, child in vars(node).items():
        if child is None or attribute in ("value", "position", "id", "type", "errors"):
            continue
        if kind == "path" and attribute == "steps":
            # Only the first step of a path reads the surrounding context; later steps read
            # the results of the step before.
            steps = list(child)
            if steps:
                yield from _top_level_references(steps[0], at_root=at_root)
            yield from _top_level_references(steps[1:], at_root=False)
        elif attribute in ("stages", "predicate", "group", "focus", "tuple"):
            yield from _top_level_references(child, at_root=False)
        else:
            yield from _top_level_references(child, at_root=at_root)


# --- Conversion between JSON data and JSONata values -------------------------------------


def _to_jsonata(value: Any) -> Any:
    """Prepare JSON data for jsonata-python: null as JSONata's null, integral floats as int.

    jsonata-js has one number type, so ``1.0`` and ``1`` are the same value and print as
    ``1``; jsonata-python would print ``1.0`` in ``$string``.
    """
    if value is None:
        return Utils.NULL_VALUE
    if isinstance(value, float):
        return _normalize_number(value)
    if isinstance(value, Mapping):
        return {key: _to_nested_jsonata(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_nested_jsonata(item) for item in value]
    return value


def _to_nested_jsonata(value: Any) -> Any:
    # Inside objects and arrays jsonata-python reads None as null already.
    if value is None:
        return None
    return _to_jsonata(value)


def _normalize_number(value: float) -> int | float:
    if value.is_integer() and abs(value) < _LARGEST_PRINTED_INTEGER:
        return int(value)
    return value


def _to_json(value: Any, expression: str, field: str) -> Any:
    """Turn a JSONata result into JSON data; raise for values JSON cannot hold."""
    if value is None or value is Utils.NULL_VALUE:
        return None
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryEvaluationError(
                expression, field, f"{_ERROR_DETAIL}. D1001: Number out of range: null"
            )
        return _normalize_number(value)
    if isinstance(value, Mapping):
        # JSONata's object constructor already drops undefined values, so a None left in an
        # object is a null that came from the input.
        return {str(key): _to_json(item, expression, field) for key, item in value.items()}
    if isinstance(value, list):
        if Utils.is_sequence(value) and len(value) == 1:
            # A sequence of one value is that value in JSONata.
            return _to_json(value[0], expression, field)
        return [_to_json(item, expression, field) for item in value]
    # Functions, lambdas and regular expressions have no JSON form.
    raise QueryEvaluationError(expression, field, _UNSUPPORTED_TYPE_DETAIL)


# --- The functions Step Functions adds to JSONata ----------------------------------------
# https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
# NOTE: AWS's messages for invalid arguments to these functions are not recorded anywhere we
# found. The messages below are windtunnel's own, in AWS's cause form for errors without a code.


def _context() -> _CallContext:
    return _call_context.get()


def _argument_count(name: str, args: tuple[Any, ...], minimum: int, maximum: int) -> None:
    if not minimum <= len(args) <= maximum:
        expected = str(minimum) if minimum == maximum else f"{minimum} to {maximum}"
        raise _FunctionError(f"${name} takes {expected} arguments, got {len(args)}")


def _integer_argument(name: str, position: int, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _FunctionError(f"argument {position} of ${name} must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise _FunctionError(f"argument {position} of ${name} must be an integer")
        return int(value)
    return value


def _array_argument(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    # JSONata treats a single value as an array of one, as its own array functions do.
    return [value]


def _partition(*args: Any) -> Any:
    """Split an array into chunks of a given size; the last chunk may be shorter."""
    _argument_count("partition", args, 2, 2)
    items = _array_argument(args[0])
    size = _integer_argument("partition", 2, args[1])
    if size <= 0:
        raise _FunctionError("argument 2 of $partition must be a positive integer")
    chunks = [Utils.JList(items[start : start + size]) for start in range(0, len(items), size)]
    return Utils.JList(chunks)


def _range(*args: Any) -> Any:
    """Return the numbers from start to end inclusive, ``step`` apart.

    The result is a JSONata sequence, so a range of one number is that number: AWS returns
    ``1`` for ``$range(1, 9, 9)`` (LocalStack's AWS recording
    ``tests/aws/services/stepfunctions/v2/intrinsic_functions/test_array_jsonata.snapshot.json``).
    """
    _argument_count("range", args, 3, 3)
    start = _integer_argument("range", 1, args[0])
    end = _integer_argument("range", 2, args[1])
    step = _integer_argument("range", 3, args[2])
    if step == 0:
        raise _FunctionError("argument 3 of $range must not be 0")
    stop = end + 1 if step > 0 else end - 1
    return Utils.create_sequence_from_iter(range(start, stop, step))


def _hash(*args: Any) -> Any:
    """Return the hexadecimal digest of a string with one of AWS's five algorithms."""
    _argument_count("hash", args, 2, 2)
    value, algorithm = args
    if not isinstance(value, str):
        raise _FunctionError("argument 1 of $hash must be a string")
    if algorithm not in _HASH_ALGORITHMS:
        supported = ", ".join(_HASH_ALGORITHMS)
        raise _FunctionError(
            f"argument 2 of $hash must be one of {supported}, got {_stringify(algorithm)}"
        )
    return hashlib.new(_HASH_ALGORITHMS[algorithm], value.encode()).hexdigest()


def _random(*args: Any) -> Any:
    """Return a number in [0, 1): from the execution's random source, or from a seed.

    The same seed gives the same number within windtunnel, though not AWS's number.
    """
    _argument_count("random", args, 0, 1)
    if not args or args[0] is None:
        return _context().random_source.random()
    seed = _integer_argument("random", 1, args[0])
    return random.Random(seed).random()


def _uuid(*args: Any) -> Any:
    """Return a version 4 UUID drawn from the execution's random source."""
    _argument_count("uuid", args, 0, 0)
    bits = _context().random_source.getrandbits(128)
    return str(uuid.UUID(int=bits, version=4))


def _parse(*args: Any) -> Any:
    """Deserialize a JSON string, the replacement for ``$eval`` that AWS provides."""
    _argument_count("parse", args, 1, 1)
    text = args[0]
    if not isinstance(text, str):
        raise _FunctionError("argument 1 of $parse must be a string")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise _FunctionError(f"$parse could not parse the string as JSON: {error.msg}") from None
    return _to_jsonata(parsed)


def _now_millis() -> int:
    now = _context().now
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return int(now.timestamp() * 1000)


def _now(*args: Any) -> Any:
    """Return the call's instant as an ISO 8601 string, JSONata's ``$now([picture[, zone]])``."""
    _argument_count("now", args, 0, 2)
    picture = args[0] if len(args) > 0 else None
    timezone = args[1] if len(args) > 1 else None
    return jsonata_functions.Functions.datetime_from_millis(_now_millis(), picture, timezone)


def _millis(*args: Any) -> Any:
    """Return the call's instant in milliseconds since the epoch, JSONata's ``$millis()``."""
    _argument_count("millis", args, 0, 0)
    return _now_millis()


_STEP_FUNCTIONS_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "random": _random,
    "uuid": _uuid,
    "parse": _parse,
    "now": _now,
    "millis": _millis,
}
