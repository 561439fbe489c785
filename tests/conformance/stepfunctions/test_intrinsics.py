"""What each intrinsic function returns or raises on AWS, case by case.

Sources:
- DOC: https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
  (the examples of each function and their "Input validation" rules). ArrayRange returns
  at most 1000 items and needs a non-zero step. Non-integer arguments are rounded to the
  nearest integer, and the chunk size must be positive. Base64 and Hash take strings of at
  most 10,000 characters, Hash takes five algorithms, the third JsonMerge argument is
  ``false``, and MathAdd takes Java int values.
- ERRORS: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
  (States.IntrinsicFailure: the attempt to invoke an intrinsic function failed)
- Executions recorded on AWS, kept in the LocalStack repository (Apache-2.0) under
  ``tests/aws/services/stepfunctions/v2/intrinsic_functions/``; each case names its file.
  Every recorded state there has the shape ``"FunctionResult.$": "<call>"`` with the
  execution input under ``FunctionInput``, which the cases below reproduce.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from jsonpath_ng.ext import parse as parse_jsonpath

from windtunnel.services.stepfunctions.asl.errors import INTRINSIC_FAILURE, StatesError
from windtunnel.services.stepfunctions.asl.intrinsics import evaluate_intrinsic

DOC = "https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html"
ERRORS = "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html"
RECORDED = "localstack/localstack tests/aws/services/stepfunctions/v2/intrinsic_functions/"
ARRAY = RECORDED + "test_array.snapshot.json"
GENERIC = RECORDED + "test_generic.snapshot.json"
ENCODE = RECORDED + "test_encode_decode.snapshot.json"
HASH = RECORDED + "test_hash_calculations.snapshot.json"
JSON = RECORDED + "test_json_manipulation.snapshot.json"
MATH = RECORDED + "test_math_operations.snapshot.json"
STRING = RECORDED + "test_string_operations.snapshot.json"

FAILS = object()  # the expected result of a case that fails with States.IntrinsicFailure

# The context object of the recorded executions, with the ARNs the recordings mask.
CONTEXT = {
    "Execution": {
        "Id": "arn:aws:states:us-east-1:111111111111:execution:statemachine_abc-def:exec-1",
        "Name": "exec-1",
        "Input": {},
    },
    "StateMachine": {
        "Id": "arn:aws:states:us-east-1:111111111111:stateMachine:statemachine_abc-def",
        "Name": "statemachine_abc-def",
    },
}


@dataclass(frozen=True)
class Case:
    """One call evaluated against one state input, with AWS's result and its source."""

    expression: str
    state_input: Any
    expected: Any
    source: str
    variables: dict[str, Any] = field(default_factory=dict)


def resolve_in(state_input: Any, variables: dict[str, Any]) -> Any:
    """Build the path resolver that the interpreter passes in, over plain JSON values."""

    def resolve(path: str) -> Any:
        if path.startswith("$$"):
            root, query = CONTEXT, "$" + path[2:]
        elif path == "$" or path[1] in ".[":
            root, query = state_input, path
        else:
            name_match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", path)
            assert name_match is not None
            root, query = variables[name_match.group(1)], "$" + path[name_match.end() :]

        matches = parse_jsonpath(query).find(root)
        if not matches:
            raise LookupError(f"the path {path} does not exist in the input")
        if "?" in query or "*" in query:
            return [match.value for match in matches]
        return matches[0].value

    return resolve


def function_input(value: Any) -> dict[str, Any]:
    return {"FunctionInput": value}


def pair(first: Any, second: Any) -> dict[str, Any]:
    return function_input({"fst": first, "snd": second})


PAIR_VALUES = ["", " ", "HelloWorld", None, 1, 1.1, '{"Arg1": 1, "Arg2": []}']
OBJECT_VALUE = {"Arg1": 1, "Arg2": []}

RECORDED_CASES = [
    # Generic: States.Format, context paths and nested calls.
    *(
        Case("States.Format('Formatting argument {}.', $.FunctionInput)", function_input(value),
             f"Formatting argument {expected}.", GENERIC)
        for value, expected in zip(
            PAIR_VALUES,
            ["", " ", "HelloWorld", "null", "1", "1.1", '{"Arg1": 1, "Arg2": []}'],
            strict=True,
        )
    ),
    Case(
        "States.Format('Formatting arguments fst={} and snd={}.', "
        "$.FunctionInput.fst, $.FunctionInput.snd)",
        pair(OBJECT_VALUE, OBJECT_VALUE),
        "Formatting arguments fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}.",
        GENERIC,
    ),
    Case(
        "States.Format('Formatting arguments fst={} and snd={}.', $$.Execution.Name, "
        "$$.StateMachine)",
        function_input(None),
        "Formatting arguments fst=exec-1 and snd={Id=arn:aws:states:us-east-1:111111111111:"
        "stateMachine:statemachine_abc-def, Name=statemachine_abc-def}.",
        GENERIC,
    ),
    Case("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
         function_input(None), "statemachine_abc", GENERIC),
    Case(
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
        "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
        function_input(None),
        "def",
        GENERIC,
    ),
    Case("States.StringSplit('Hello\nWorld', '\n')", function_input(None), ["Hello", "World"],
         GENERIC),
    # Arrays.
    Case("States.Array()", function_input("HelloWorld"), [], ARRAY),
    *(
        Case("States.Array($.FunctionInput.fst, $.FunctionInput.snd)", pair(value, value),
             [value, value], ARRAY)
        for value in [*PAIR_VALUES, OBJECT_VALUE]
    ),
    *(
        Case("States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
             pair(array, size), expected, ARRAY)
        for array, size, expected in [
            ([], 1, []),
            ([0], 5, [[0]]),
            ([0, 1], 1, [[0], [1]]),
            ([0, 1, 2], 2, [[0, 1], [2]]),
            ([0, 1, 2], 3, [[0, 1, 2]]),
            ([0, 1, 2, 3], 3, [[0, 1, 2], [3]]),
            ([0, 1, 2, 3], 5, [[0, 1, 2, 3]]),
        ]
    ),
    *(
        Case("States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
             pair(array, value), expected, ARRAY)
        for array, value, expected in [
            ([], None, False),
            ([], [], False),
            ([], 1, False),
            ([[1, 2, 3], 2], None, False),
            ([[1, 2, 3], 2], [1, 2, 3], True),
            ([{"1": 2, "2": []}], [], False),
            ([{"1": 2, "2": []}], {"1": 2, "2": []}, True),
            ([True, False], True, True),
            ([True, False], False, True),
        ]
    ),
    *(
        Case("States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)",
             function_input({"fst": first, "snd": last, "trd": step}), expected, ARRAY)
        for first, last, step, expected in [
            (0, 9, 3, [0, 3, 6, 9]),
            (0, 10, 3, [0, 3, 6, 9]),
            (1, 9, 9, [1]),
            (1, 9, 2, [1, 3, 5, 7, 9]),
        ]
    ),
    Case("States.ArrayGetItem($.FunctionInput.fst, $.FunctionInput.snd)",
         pair([1, 2, 3, 4, 5, 6, 7, 8, 9], 5), 6, ARRAY),
    Case("States.ArrayLength($.FunctionInput)", function_input([1, 2, 3, 4, 5, 6, 7, 8, 9]), 9,
         ARRAY),
    # Encoding and hashing.
    Case("States.Base64Encode($.FunctionInput)", function_input(""), "", ENCODE),
    Case("States.Base64Encode($.FunctionInput)", function_input("Data to encode"),
         "RGF0YSB0byBlbmNvZGU=", ENCODE),
    Case("States.Base64Decode($.FunctionInput)", function_input(""), "", ENCODE),
    Case("States.Base64Decode($.FunctionInput)", function_input("RGF0YSB0byBlbmNvZGU="),
         "Data to encode", ENCODE),
    *(
        Case("States.Hash($.FunctionInput.fst, $.FunctionInput.snd)", pair("input data", name),
             digest, HASH)
        for name, digest in [
            ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
            ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
            ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
            (
                "SHA-384",
                "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb"
                "27e1fb9e9374a15562",
            ),
            (
                "SHA-512",
                "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f"
                "0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
            ),
        ]
    ),
    # JSON manipulation.
    *(
        Case("States.StringToJson($.FunctionInput)", function_input(text), expected, JSON)
        for text, expected in [
            ("", None),
            (" ", None),
            ("null", None),
            ("-0", 0),
            ("1", 1),
            ("1.1", 1.1),
            ("true", True),
            ('"HelloWorld"', "HelloWorld"),
            ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
            ('{"Arg1": 1, "Arg2": []}', OBJECT_VALUE),
        ]
    ),
    *(
        Case("States.JsonToString($.FunctionInput)", function_input(value), expected, JSON)
        for value, expected in [
            (None, "null"),
            (0, "0"),
            (1, "1"),
            (1.1, "1.1"),
            (True, "true"),
            ("HelloWorld", '"HelloWorld"'),
            ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
            (OBJECT_VALUE, '{"Arg1":1,"Arg2":[]}'),
        ]
    ),
    Case(
        "States.JsonMerge($.FunctionInput.fst, $.FunctionInput.snd, false)",
        pair({"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}),
        {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4},
        JSON,
    ),
    Case(
        "States.JsonMerge(States.StringToJson('{\"constant_in_literal\": \"false\"}'), "
        "$.input_field, false)",
        {"input_field": {"constant_input_field": "constant_value"}},
        {"constant_input_field": "constant_value", "constant_in_literal": "false"},
        JSON,
    ),
    # Math: each argument is rounded half up before the addition.
    *(
        Case("States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)", pair(first, second),
             expected, MATH)
        for first, second, expected in [
            (-9, 3, -6),
            (1.49, 1.50, 3),
            (1.50, 1.51, 4),
            (-1.49, -1.50, -2),
            (-1.50, -1.51, -3),
            (1.49, 0, 1),
            (1.49, -1.49, 0),
            (1.50, 0, 2),
            (1.51, 0, 2),
            (-1.49, 0, -1),
            (-1.50, 0, -1),
            (-1.51, 0, -2),
            (0.5, 0, 1),
            (2.5, 0, 3),
            (3.5, 0, 4),
            (-0.5, 0.5, 1),
            (-0.5, 0, 0),
            (-2.5, 0, -2),
            (-3.5, 0, -3),
        ]
    ),
    # Strings: every delimiter character splits, empty tokens are dropped.
    *(
        Case("States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)", pair(text, chars),
             expected, STRING)
        for text, chars, expected in [
            (" ", ",", [" "]),
            (" , ", ",", [" ", " "]),
            (", , ,", ",", [" ", " "]),
            (",,,,", ",", []),
            ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
            ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
            ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]),
        ]
    ),
]

DOC_CASES = [
    Case("States.Format('Hello, my name is {}.', $.name)",
         {"name": "Arnav", "template": "Hello, my name is {}."}, "Hello, my name is Arnav.", DOC),
    Case("States.Format($.template, $.name)",
         {"name": "Arnav", "template": "Hello, my name is {}."}, "Hello, my name is Arnav.", DOC),
    Case("States.StringToJson($.escapedJsonString)", {"escapedJsonString": '{"foo": "bar"}'},
         {"foo": "bar"}, DOC),
    Case("States.JsonToString($.unescapedJson)", {"unescapedJson": {"foo": "bar"}},
         '{"foo":"bar"}', DOC),
    Case("States.Array('Foo', 2022, $.someJson, null)",
         {"someJson": {"random": "abcdefg"}, "zebra": "stripe"},
         ["Foo", 2022, {"random": "abcdefg"}, None], DOC),
    Case("States.ArrayPartition($.inputArray,4)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
         [[1, 2, 3, 4], [5, 6, 7, 8], [9]], DOC),
    Case("States.ArrayContains($.inputArray, $.lookingFor)",
         {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5}, True, DOC),
    Case("States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9], DOC),
    Case("States.ArrayGetItem($.inputArray, $.index)",
         {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}, 6, DOC),
    Case("States.ArrayLength($.inputArray)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, 9, DOC),
    Case("States.ArrayUnique($.inputArray)", {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]},
         [1, 2, 3, 4], DOC),
    Case("States.Base64Encode($.input)", {"input": "Data to encode"}, "RGF0YSB0byBlbmNvZGU=",
         DOC),
    Case("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}, "Data to encode",
         DOC),
    Case("States.Hash($.Data, $.Algorithm)", {"Data": "input data", "Algorithm": "SHA-1"},
         "aaff4a450a104cd177d28d18d74485e8cae074b7", DOC),
    Case("States.JsonMerge($.json1, $.json2, false)",
         {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}},
         {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}, DOC),
    Case("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110, DOC),
    Case("States.StringSplit($.inputString, $.splitter)",
         {"inputString": "1,2,3,4,5", "splitter": ","}, ["1", "2", "3", "4", "5"], DOC),
    Case("States.StringSplit($.inputString, $.splitter)",
         {"inputString": "This.is+a,test=string", "splitter": ".+,="},
         ["This", "is", "a", "test", "string"], DOC),
    # Reserved characters are escaped with a backslash inside a literal.
    Case("States.Format('\\{\\} is {} and it\\'s \\\\', $.x)", {"x": "braces"},
         "{} is braces and it's \\", DOC),
    # ArrayRange, ArrayPartition and MathAdd round non-integer arguments to the nearest integer.
    Case("States.ArrayRange(0.6, 4.4, 1.5)", {}, [1, 3], DOC),
    Case("States.ArrayPartition($.a, 1.6)", {"a": [1, 2, 3]}, [[1, 2], [3]], DOC),
    Case("States.ArrayRange(9, 1, -4)", {}, [9, 5, 1], DOC),
    Case("States.ArrayRange(1, 1000, 1)", {}, list(range(1, 1001)), DOC),
    Case("States.Base64Encode($.s)", {"s": "a" * 10_000}, "YWFh" * 3333 + "YQ==", DOC),
    Case("States.JsonToString($.v)", {"v": {"a": [1.5, None, False]}}, '{"a":[1.5,null,false]}',
         DOC),
    # Variables are referenced as $name in the arguments.
    Case("States.Format('{}-{}', $user.name, $count)", {}, "ana-3", DOC,
         variables={"user": {"name": "ana"}, "count": 3}),
    Case("States.ArrayLength($.items[?(@.kind == 'a, b')])",
         {"items": [{"kind": "a, b"}, {"kind": "c"}, {"kind": "a, b"}]}, 2, DOC),
]

FAILURE_CASES = [
    Case("States.ArrayPartition($.a, 0)", {"a": [1, 2]}, FAILS, DOC),
    Case("States.ArrayPartition($.a, -1)", {"a": [1, 2]}, FAILS, DOC),
    Case("States.ArrayPartition($.a, 0.4)", {"a": [1, 2]}, FAILS, DOC),
    Case("States.ArrayPartition($.a, 2)", {"a": "12"}, FAILS, DOC),
    Case("States.ArrayPartition($.a, '2')", {"a": [1, 2]}, FAILS, DOC),
    Case("States.ArrayContains($.a, 1)", {"a": {"x": 1}}, FAILS, DOC),
    Case("States.ArrayRange(1, 9, 0)", {}, FAILS, DOC),
    Case("States.ArrayRange(0, 1000, 1)", {}, FAILS, DOC),
    Case("States.ArrayRange(1, $.end, 1)", {"end": "9"}, FAILS, DOC),
    Case("States.ArrayGetItem($.a, 3)", {"a": [1, 2, 3]}, FAILS, DOC),
    Case("States.ArrayGetItem($.a, -1)", {"a": [1, 2, 3]}, FAILS, DOC),
    Case("States.ArrayGetItem($.a, 1.5)", {"a": [1, 2, 3]}, FAILS, DOC),
    Case("States.ArrayGetItem($.a, 0)", {"a": "abc"}, FAILS, DOC),
    Case("States.ArrayLength($.a)", {"a": "abc"}, FAILS, DOC),
    Case("States.ArrayUnique($.a)", {"a": None}, FAILS, DOC),
    Case("States.Base64Encode($.s)", {"s": "a" * 10_001}, FAILS, DOC),
    Case("States.Base64Encode($.s)", {"s": 12}, FAILS, DOC),
    Case("States.Base64Decode($.s)", {"s": "not base64!"}, FAILS, DOC),
    Case("States.Base64Decode($.s)", {"s": "QUFB" * 2501}, FAILS, DOC),
    Case("States.Hash($.d, 'SHA-224')", {"d": "input data"}, FAILS, DOC),
    Case("States.Hash($.d, 'sha-1')", {"d": "input data"}, FAILS, DOC),
    Case("States.Hash($.d, 'MD5')", {"d": "a" * 10_001}, FAILS, DOC),
    Case("States.JsonMerge($.a, $.b, true)", {"a": {}, "b": {}}, FAILS, DOC),
    Case("States.JsonMerge($.a, $.b, false)", {"a": {}, "b": [1]}, FAILS, DOC),
    Case("States.JsonMerge($.a, $.b, false)", {"a": "x", "b": {}}, FAILS, DOC),
    Case("States.MathAdd($.a, 1)", {"a": "1"}, FAILS, DOC),
    Case("States.MathAdd($.a, 1)", {"a": True}, FAILS, DOC),
    Case("States.MathAdd($.a, 1)", {"a": 2_147_483_648}, FAILS, DOC),
    Case("States.MathRandom(5, 5)", {}, FAILS, DOC),
    Case("States.MathRandom($.a, 5)", {"a": None}, FAILS, DOC),
    Case("States.StringToJson($.s)", {"s": "{not json"}, FAILS, DOC),
    Case("States.StringToJson($.s)", {"s": "NaN"}, FAILS, DOC),
    Case("States.StringToJson($.s)", {"s": {"a": 1}}, FAILS, DOC),
    Case("States.StringSplit($.s, ',')", {"s": 1}, FAILS, DOC),
    Case("States.StringSplit('a,b', $.d)", {"d": None}, FAILS, DOC),
    Case("States.Format($.t, 1)", {"t": "no placeholder"}, FAILS, DOC),
    Case("States.Format('{} {}', 1)", {}, FAILS, DOC),
    Case("States.Format('\\{\\}', 1)", {}, FAILS, DOC),
    Case("States.Format($.t)", {"t": 5}, FAILS, DOC),
]


def case_id(case: Case) -> str:
    return case.expression[:60]


@pytest.mark.parametrize("case", RECORDED_CASES + DOC_CASES, ids=case_id)
def test_result_matches_aws(case: Case) -> None:
    """The call returns the value AWS returns for the same input."""
    resolve = resolve_in(case.state_input, case.variables)
    result = evaluate_intrinsic(case.expression, resolve, random_source=random.Random(7))
    assert result == case.expected, case.source
    assert type(result) is type(case.expected), case.source


@pytest.mark.parametrize("case", FAILURE_CASES, ids=case_id)
def test_invalid_arguments_fail(case: Case) -> None:
    """A call whose arguments break the documented rules fails with States.IntrinsicFailure."""
    resolve = resolve_in(case.state_input, case.variables)
    with pytest.raises(StatesError) as caught:
        evaluate_intrinsic(case.expression, resolve, random_source=random.Random(7))
    assert caught.value.error == INTRINSIC_FAILURE, ERRORS
    assert case.expression in caught.value.cause


def test_missing_path_raises_the_resolver_error() -> None:
    """A path that does not exist surfaces the resolver's own error unchanged."""
    resolve = resolve_in({"a": 1}, {})
    with pytest.raises(LookupError, match=r"\$\.missing"):
        evaluate_intrinsic("States.Array($.missing)", resolve, random_source=random.Random(1))


def test_format_float_like_java() -> None:
    """States.Format writes numbers as Java's Double.toString does (recorded 1.1 stays 1.1)."""
    resolve = resolve_in({"values": [1.1, 1e20, 0.00001, 100.0]}, {})
    result = evaluate_intrinsic(
        "States.Format('{}', $.values)", resolve, random_source=random.Random(1)
    )
    assert result == "[1.1, 1.0E20, 1.0E-5, 100.0]"


def test_array_unique_keeps_first_of_each() -> None:
    """ArrayUnique keeps the first of equal values and distinguishes true, 1 and 1.0."""
    state_input = {
        "a": [None, None, True, True, 1, 1, 1.0, "x", "x", [], [], {"a": 1, "b": 2},
              {"b": 2, "a": 1}, {"a": 1, "b": 1}],
    }
    result = evaluate_intrinsic(
        "States.ArrayUnique($.a)", resolve_in(state_input, {}), random_source=random.Random(1)
    )
    assert result == [None, True, 1, 1.0, "x", [], {"a": 1, "b": 2}, {"a": 1, "b": 1}]
    assert [type(item) for item in result[1:4]] == [bool, int, float]


def test_math_random_stays_in_range() -> None:
    """MathRandom returns an integer from the start (inclusive) to the end (exclusive), per DOC."""
    resolve = resolve_in({"start": 1, "end": 4}, {})
    source = random.Random(3)
    results = {
        evaluate_intrinsic("States.MathRandom($.start, $.end)", resolve, random_source=source)
        for _ in range(200)
    }
    assert results == {1, 2, 3}


def test_math_random_rounds_bounds() -> None:
    """MathRandom rounds non-integer bounds to the nearest integer, per DOC."""
    resolve = resolve_in({}, {})
    source = random.Random(5)
    results = {
        evaluate_intrinsic("States.MathRandom(0.6, 2.5)", resolve, random_source=source)
        for _ in range(100)
    }
    assert results == {1, 2}


def test_math_random_seed_repeats() -> None:
    """The same seed gives the same number regardless of the random source, per DOC."""
    resolve = resolve_in({}, {})
    first = evaluate_intrinsic(
        "States.MathRandom(0, 999, 3)", resolve, random_source=random.Random(1)
    )
    second = evaluate_intrinsic(
        "States.MathRandom(0, 999, 3)", resolve, random_source=random.Random(2)
    )
    other_seed = {
        evaluate_intrinsic(f"States.MathRandom(0, 999, {seed})", resolve,
                           random_source=random.Random(1))
        for seed in range(4, 14)
    }
    assert first == second
    assert 0 <= first < 999
    assert len(other_seed) > 1


def test_math_random_follows_source() -> None:
    """Without a seed, MathRandom draws from the random source, so a seeded run repeats."""
    resolve = resolve_in({}, {})
    runs = [
        [
            evaluate_intrinsic("States.MathRandom(0, 1000000)", resolve, random_source=source)
            for _ in range(5)
        ]
        for source in (random.Random(11), random.Random(11))
    ]
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 1


def test_uuid_is_version_4() -> None:
    """States.UUID returns a version 4 UUID drawn from the random source, per DOC."""
    resolve = resolve_in({}, {})
    first = evaluate_intrinsic("States.UUID()", resolve, random_source=random.Random(9))
    again = evaluate_intrinsic("States.UUID()", resolve, random_source=random.Random(9))
    other = evaluate_intrinsic("States.UUID()", resolve, random_source=random.Random(10))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        first)
    assert uuid.UUID(first).version == 4
    assert first == again
    assert first != other


def test_result_is_a_copy() -> None:
    """Changing a result leaves the state input as it was."""
    state_input = {"a": {"inner": [1]}, "b": {"c": 2}}
    merged = evaluate_intrinsic(
        "States.JsonMerge($.a, $.b, false)",
        resolve_in(state_input, {}),
        random_source=random.Random(1),
    )
    merged["inner"].append(2)
    assert state_input == {"a": {"inner": [1]}, "b": {"c": 2}}
