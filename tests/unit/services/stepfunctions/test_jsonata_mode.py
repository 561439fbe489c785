"""Unit tests of JSONata evaluation: bindings, conversions, AWS's added functions, caching.

Behaviour of the functions Step Functions adds follows
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from windtunnel.services.stepfunctions.asl.jsonata_mode import (
    QueryEvaluationError,
    check_expression,
    evaluate,
    evaluate_template,
    is_expression,
)

DOCS = "https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html"


def run(
    expression: str,
    *,
    states: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    seed: int = 0,
    now: datetime | None = None,
) -> Any:
    return evaluate(
        expression,
        states=states if states is not None else {"input": {}},
        variables=variables or {},
        random_source=random.Random(seed),
        now=now,
        field="Output",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% 1 %}", True),
        ("{%1%}", True),
        ("{%\n  $x\n%}", True),
        (" {% 1 %}", False),
        ("{% 1 %} ", False),
        ("{%", False),
        ("%}", False),
        ("$.x", False),
        (1, False),
        (None, False),
    ],
)
def test_is_expression(value: object, expected: bool) -> None:
    """Only a string opening with ``{%`` and closing with ``%}`` is an expression."""
    assert is_expression(value) is expected


def test_states_bindings() -> None:
    """``$states`` exposes input, result, errorOutput and context."""
    states = {
        "input": {"a": 1},
        "result": {"b": 2},
        "errorOutput": {"Error": "E", "Cause": "C"},
        "context": {"State": {"Name": "S"}},
    }

    result = run(
        "{% [$states.input.a, $states.result.b, $states.errorOutput.Error, "
        "$states.context.State.Name] %}",
        states=states,
    )

    assert result == [1, 2, "E", "S"]


def test_variable_null_is_null() -> None:
    """A variable holding JSON null evaluates to null, not to undefined."""
    assert run("{% $v %}", variables={"v": None}) is None


def test_null_in_input_kept() -> None:
    """A null inside the input stays null in the result."""
    assert run("{% $states.input %}", states={"input": {"a": None, "b": [None]}}) == {
        "a": None,
        "b": [None],
    }


def test_integral_float_input_prints_as_integer() -> None:
    """JSONata has one number type, so ``1.0`` and ``1`` print the same."""
    assert run("{% $string($states.input) %}", states={"input": {"a": 1.0}}) == '{"a":1}'
    result = run("{% $states.input.a %}", states={"input": {"a": 2.0}})
    assert result == 2
    assert isinstance(result, int)


def test_fractional_number_kept() -> None:
    """Numbers with a fraction stay floats."""
    assert run("{% 1.5 * 3 %}") == 4.5


def test_input_not_modified() -> None:
    """Evaluation does not change the data it reads."""
    state_input = {"a": 1.0, "b": [None]}

    run("{% $states.input %}", states={"input": state_input})

    assert state_input == {"a": 1.0, "b": [None]}
    assert isinstance(state_input["a"], float)


def test_template_keeps_structure() -> None:
    """evaluate_template replaces expressions and keeps everything else."""
    template = {"a": ["{% 1 + 1 %}", "x", {"b": "{% $v %}"}], "c": 3, "d": None}

    result = evaluate_template(
        template,
        states={"input": {}},
        variables={"v": "value"},
        random_source=random.Random(0),
    )

    assert result == {"a": [2, "x", {"b": "value"}], "c": 3, "d": None}
    assert template["a"][0] == "{% 1 + 1 %}"


def test_template_array_location() -> None:
    """A failure inside an array names the element's index in the location."""
    with pytest.raises(QueryEvaluationError) as caught:
        evaluate_template(
            {"list": ["ok", "{% $missing %}"]},
            states={"input": {}},
            variables={},
            random_source=random.Random(0),
            field="Arguments",
        )

    assert caught.value.location == "Arguments/list/1"


def test_now_uses_given_instant() -> None:
    """``$now()`` and ``$millis()`` report the instant passed in, the virtual clock's time."""
    instant = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)

    assert run("{% $now() %}", now=instant) == "2024-05-06T07:08:09.123Z"
    assert run("{% $millis() %}", now=instant) == int(instant.timestamp() * 1000)


def test_naive_now_read_as_utc() -> None:
    """A datetime without a time zone is read as UTC."""
    assert run("{% $millis() %}", now=datetime(1970, 1, 1, 0, 0, 1)) == 1000


def test_eval_disallowed() -> None:
    """``$eval`` is not available in Step Functions (DOCS); calling it fails the state."""
    with pytest.raises(QueryEvaluationError) as caught:
        run('{% $eval("1 + 1") %}')

    assert caught.value.error == "States.QueryEvaluationError"
    assert "T1006" in caught.value.cause


def test_division_by_zero_out_of_range() -> None:
    """Infinity is no JSON number: JSONata raises D1001."""
    with pytest.raises(QueryEvaluationError) as caught:
        run("{% 1 / 0 %}")

    assert caught.value.cause.endswith(
        "threw an error during evaluation. D1001: Number out of range: null"
    )


def test_type_error_message_uses_function_word() -> None:
    """Signature errors read "function" as in jsonata-js, with JSON-quoted names."""
    with pytest.raises(QueryEvaluationError) as caught:
        run('{% $abs("x") %}')

    assert caught.value.cause.endswith(
        'T0410: Argument 1 of function "abs" does not match function signature'
    )


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"])
def test_hash_algorithms(algorithm: str) -> None:
    """``$hash`` returns the hexadecimal digest for each algorithm AWS lists."""
    names = {
        "MD5": "md5",
        "SHA-1": "sha1",
        "SHA-256": "sha256",
        "SHA-384": "sha384",
        "SHA-512": "sha512",
    }
    expected = hashlib.new(names[algorithm], b"input data").hexdigest()

    assert run(f"{{% $hash('input data', '{algorithm}') %}}") == expected


def test_hash_unknown_algorithm() -> None:
    """An algorithm AWS does not list fails with a message that lists the accepted ones."""
    with pytest.raises(QueryEvaluationError) as caught:
        run("{% $hash('x', 'SHA-3') %}")

    assert "threw an error during evaluation: argument 2 of $hash" in caught.value.cause
    assert "SHA-256" in caught.value.cause


def test_partition_example() -> None:
    """The documented example splits nine items into chunks of three."""
    assert run("{% $partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3) %}") == [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
    ]


@pytest.mark.parametrize("size", ["0", "-1", "1.5", "'2'"])
def test_partition_bad_size(size: str) -> None:
    """A chunk size that is not a positive integer fails the evaluation."""
    with pytest.raises(QueryEvaluationError):
        run(f"{{% $partition([1, 2], {size}) %}}")


def test_range_descending() -> None:
    """A negative step counts down, inclusive of the end."""
    assert run("{% $range(10, 0, -5) %}") == [10, 5, 0]


def test_range_zero_step() -> None:
    """A zero step fails instead of looping."""
    with pytest.raises(QueryEvaluationError):
        run("{% $range(0, 5, 0) %}")


def test_random_follows_source() -> None:
    """``$random()`` draws from the execution's seeded random source."""
    assert run("{% $random() %}", seed=42) == random.Random(42).random()


def test_random_seed_repeats() -> None:
    """``$random(seed)`` returns the same number for the same seed."""
    first = run("{% $random(7) %}", seed=1)
    second = run("{% $random(7) %}", seed=2)

    assert first == second
    assert 0 <= first < 1


def test_uuid_version_4_deterministic() -> None:
    """``$uuid()`` returns a version 4 UUID from the execution's random source."""
    first = run("{% $uuid() %}", seed=3)

    assert uuid.UUID(first).version == 4
    assert run("{% $uuid() %}", seed=3) == first
    assert run("{% $uuid() %}", seed=4) != first


def test_parse_invalid_json() -> None:
    """``$parse`` of a string that is not JSON fails the evaluation."""
    with pytest.raises(QueryEvaluationError) as caught:
        run("{% $parse('{') %}")

    assert "$parse" in caught.value.cause


def test_variable_shadows_nothing_reserved() -> None:
    """Workflow variables are bound by name next to ``$states``."""
    assert run("{% $a & $b %}", variables={"a": "x", "b": "y"}) == "xy"


def test_syntax_error_at_run_time() -> None:
    """An expression that never passed validation fails at run time with its code."""
    with pytest.raises(QueryEvaluationError) as caught:
        run("{% 1 + %}")

    assert caught.value.cause.endswith("S0207: Unexpected end of expression")


def test_check_expression_top_level_dollar() -> None:
    """A bare ``$`` reads the absent context item and is rejected."""
    assert check_expression("{% $ %}") is not None
    assert check_expression("{% $states.input[$ > 1] %}") is None


def test_threads_share_cache() -> None:
    """One cached expression gives each thread its own bindings."""
    expression = "{% $sort($states.input.values, function($l, $r){ $l > $r }) %}"
    results: dict[int, Any] = {}

    def work(index: int) -> None:
        for _ in range(50):
            results[index] = run(expression, states={"input": {"values": [index, 0, -index]}})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {i: [-i, 0, i] for i in range(1, 5)}
