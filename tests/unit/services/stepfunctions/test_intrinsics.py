"""Parsing of intrinsic function calls: arguments, escapes, paths and static checks.

Grammar: https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
(reserved characters and their escapes, up to 10 intrinsic functions in a field). The
rejection of ``\\"`` inside a literal was recorded on AWS in LocalStack's
``tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json``
(``test_illegal_escapes``: SCHEMA_VALIDATION_FAILED at CreateStateMachine).
"""

from __future__ import annotations

import re

import pytest

from windtunnel.services.stepfunctions.asl.intrinsics import (
    MAX_CALLS_PER_FIELD,
    IntrinsicCall,
    IntrinsicSyntaxError,
    Literal,
    PathArgument,
    StringLiteral,
    is_intrinsic,
    parse_intrinsic,
)
from windtunnel.services.stepfunctions.asl.intrinsics_functions import JavaRandom


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('{}', $.a)", True),
        ("States.UUID()", True),
        ("$.a", False),
        ("$$.Execution.Id", False),
        ("States.Format", False),
        (" States.UUID()", False),
        ("states.UUID()", False),
        ("MyStates.UUID()", False),
    ],
)
def test_is_intrinsic(text: str, expected: bool) -> None:
    """A value is a call only when it starts with States.<Name>( ."""
    assert is_intrinsic(text) is expected


def test_literal_arguments() -> None:
    """Strings, integers, decimals, negative numbers, booleans and null parse as literals."""
    call = parse_intrinsic("States.Array('a b', 2022, -1, 1.5, 2e3, true, false, null)")
    assert call.name == "States.Array"
    assert call.arguments == (
        StringLiteral("a b", ("a b",)),
        Literal(2022),
        Literal(-1),
        Literal(1.5),
        Literal(2000.0),
        Literal(True),
        Literal(False),
        Literal(None),
    )
    assert [type(argument.value) for argument in call.arguments[1:5]] == [int, int, float, float]


def test_whitespace_around_arguments() -> None:
    """Spaces around arguments and after the call are allowed."""
    call = parse_intrinsic("States.Array(  1 ,'x'  ,  $.a  )  ")
    assert call.arguments == (Literal(1), StringLiteral("x", ("x",)), PathArgument("$.a"))


def test_empty_argument_list() -> None:
    """A function may be called without arguments."""
    assert parse_intrinsic("States.Array()").arguments == ()
    assert parse_intrinsic("States.UUID( )").arguments == ()


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'it\'s'", "it's"),
        (r"'\{\}'", "{}"),
        (r"'a\\b'", "a\\b"),
        ("'line\nbreak'", "line\nbreak"),
        ("'{\"a\": 1}'", '{"a": 1}'),
        ("''", ""),
    ],
)
def test_string_escapes(literal: str, value: str) -> None:
    """Only \\', \\{, \\} and \\\\ are escapes; other characters, newlines included, stay."""
    call = parse_intrinsic(f"States.Array({literal})")
    argument = call.arguments[0]
    assert isinstance(argument, StringLiteral)
    assert argument.value == value


def test_format_parts_skip_escaped_braces() -> None:
    """An escaped pair of braces is text, not a States.Format placeholder."""
    call = parse_intrinsic(r"States.Format('a {} b \{\} c {\} d {}', 1, 2)")
    template = call.arguments[0]
    assert isinstance(template, StringLiteral)
    assert template.format_parts == ("a ", " b {} c {} d ", "")
    assert template.value == "a {} b {} c {} d {}"


@pytest.mark.parametrize(
    "path",
    [
        "$",
        "$.a.b",
        "$$.Execution.Id",
        "$$",
        "$myVariable",
        "$myVariable.x[0]",
        "$.a[?(@.b == 'x, y)')]",
        "$['key, with (parens)']",
        '$["a\\"b,"]',
        "$.items[0:2]",
        "$..price",
        "$.a.length()",
    ],
)
def test_path_argument_ends_at_separator(path: str) -> None:
    """A path runs to the first comma or parenthesis outside brackets and quotes."""
    call = parse_intrinsic(f"States.Array({path}, 1)")
    assert call.arguments == (PathArgument(path), Literal(1))


def test_nested_calls() -> None:
    """Calls nest as arguments and keep their own text."""
    call = parse_intrinsic("States.ArrayGetItem(States.StringSplit($.a, ','), 0)")
    inner = call.arguments[0]
    assert isinstance(inner, IntrinsicCall)
    assert inner.name == "States.StringSplit"
    assert inner.text == "States.StringSplit($.a, ',')"
    assert inner.arguments == (PathArgument("$.a"), StringLiteral(",", (",",)))
    assert call.count_calls() == 2


def test_documented_nine_call_field_parses() -> None:
    """The page's example field with nine intrinsic functions is valid."""
    text = (
        "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit("
        "States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), "
        "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit("
        "$.ImageRecipe.Arn, '/'), 2), '.'), 1))"
    )
    assert parse_intrinsic(text).count_calls() == 9


def nested_array_calls(count: int) -> str:
    return "States.Array(" * count + ")" * count


def test_ten_calls_allowed() -> None:
    """A field may contain up to 10 intrinsic functions."""
    assert parse_intrinsic(nested_array_calls(MAX_CALLS_PER_FIELD)).count_calls() == 10


def test_eleven_calls_rejected() -> None:
    """An eleventh intrinsic function in one field makes the definition invalid."""
    with pytest.raises(IntrinsicSyntaxError, match="at most 10"):
        parse_intrinsic(nested_array_calls(11))


def test_eleven_sibling_calls_rejected() -> None:
    """The limit counts calls side by side as well as nested ones."""
    with pytest.raises(IntrinsicSyntaxError, match="contains 11 intrinsic functions"):
        parse_intrinsic("States.Array(" + ", ".join(["States.UUID()"] * 10) + ")")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"States.StringToJson('{\"text\":\"x\"}')", "invalid escape"),
        (r"States.Format('\n', 1)", "invalid escape"),
        ("States.Format('abc", "unterminated string"),
        ("States.Format('abc', $.a", "missing closing parenthesis"),
        ("States.Array(1,)", "missing argument"),
        ("States.Array(,1)", "missing argument"),
        ("States.Array(1 2)", "expected ',' or ')'"),
        ("States.Array('a'b)", "after a string literal"),
        ("States.Array(01)", "after a number"),
        ("States.Array(1.)", "after a number"),
        ("States.Array(nullx)", "after a null"),
        ("States.Array(True)", "unexpected character 'T'"),
        ("States.Array(\"a\")", "unexpected character"),
        ("States.Array($ .a)", "expected ',' or ')' but found '.'"),
        ("States.Array($-a)", "invalid path"),
        ("States.Array($.a])", "unbalanced brackets"),
        ("States.Array($.a[(0])", "unbalanced brackets"),
        ("States.Array($.a[0)", "unbalanced brackets"),
        ("States.Array($['a)", "unterminated quoted text"),
        ("States.Array(1) extra", "unexpected text after"),
        ("States.Array(1))", "unexpected text after"),
        ("States.Array(States.Nope())", "States.Nope is not an intrinsic function"),
        ("States.format('{}', 1)", "States.format is not an intrinsic function"),
        ("States.UUID(1)", "takes 0 arguments but 1 was given"),
        ("States.ArrayLength()", "takes 1 argument but 0 were given"),
        ("States.ArrayRange(1, 2)", "takes 3 arguments but 2 were given"),
        ("States.MathRandom(1)", "takes 2 to 3 arguments"),
        ("States.MathRandom(1, 2, 3, 4)", "takes 2 to 3 arguments"),
        ("States.Format()", "takes at least 1 argument"),
        ("States.JsonMerge($.a, $.b)", "takes 3 arguments"),
        ("States.Array(States.Hash($.a))", "States.Hash takes 2 arguments"),
    ],
)
def test_invalid_calls_rejected(text: str, message: str) -> None:
    """Calls AWS would reject at CreateStateMachine raise IntrinsicSyntaxError."""
    with pytest.raises(IntrinsicSyntaxError, match=re.escape(message)):
        parse_intrinsic(text)


def test_error_names_the_expression() -> None:
    """The syntax error message quotes the whole expression and the offset."""
    with pytest.raises(IntrinsicSyntaxError) as caught:
        parse_intrinsic("States.Array(1 2)")
    assert "'States.Array(1 2)'" in str(caught.value)
    assert "offset 15" in str(caught.value)


def test_parse_is_cached() -> None:
    """Parsing the same text twice returns the same immutable call."""
    first = parse_intrinsic("States.ArrayLength($.cached)")
    second = parse_intrinsic("States.ArrayLength($.cached)")
    assert first is second


@pytest.mark.parametrize(
    ("seed", "next_int", "next_double", "below_999", "below_1024"),
    [
        (42, -1170105035, 0.7275636800328681, 125, 745),
        (0, -1155484576, 0.730967787376657, 672, 748),
        (-7, 1155869324, 0.2691218093260761, 175, 275),
    ],
)
def test_java_random_matches_jdk(
    seed: int, next_int: int, next_double: float, below_999: int, below_1024: int
) -> None:
    """JavaRandom returns what java.util.Random returns for the same seed.

    The expected values were printed by java.util.Random on OpenJDK 17.
    """
    assert JavaRandom(seed).next_bits(32) == next_int
    assert JavaRandom(seed).next_double() == next_double
    assert JavaRandom(seed).next_int(999) == below_999
    assert JavaRandom(seed).next_int(1024) == below_1024
