"""Step Functions JSONata evaluation, as tables of results and causes that AWS returned.

Most expected values are AWS responses recorded in LocalStack's test suite (Apache-2.0),
named by their path under ``tests/aws/services/stepfunctions/v2/`` in
github.com/localstack/localstack. The definition-time messages were measured against AWS
and published in floci's Step Functions issue "JSONata expressions are never parsed at
CreateStateMachine" (github.com/floci-io/floci). The rest cite the AWS documentation.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from windtunnel.services.stepfunctions.asl.jsonata_mode import (
    QueryEvaluationError,
    check_expression,
    evaluate,
    evaluate_template,
    require_type,
)

DOCS = "https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html"
ARRAY = "intrinsic_functions/test_array_jsonata.snapshot.json"
JSON_MANIPULATION = "intrinsic_functions/test_json_manipulation_jsonata.snapshot.json"
MATH = "intrinsic_functions/test_math_operations_jsonata.snapshot.json"
EVALUATE = "evaluate_jsonata/test_base_evaluate_expressions.snapshot.json"
OUTPUT = "outputdecl/test_output.snapshot.json"
ARGUMENTS = "arguments/test_arguments.snapshot.json"
ERROR_OUTPUT = "states_variables/test_error_output.snapshot.json"
SCENARIOS = "scenarios/test_base_scenarios.snapshot.json"
FLOCI = "floci-io/floci, issue 'JSONata expressions are never parsed at CreateStateMachine'"
FLOCI_TOP_LEVEL = "floci-io/floci, issue 'a bare top-level JSONata reference is accepted'"


def run(
    expression: str,
    state_input: Any = None,
    variables: dict[str, Any] | None = None,
    field: str = "Output",
) -> Any:
    return evaluate(
        expression,
        states={"input": state_input if state_input is not None else {}},
        variables=variables or {},
        random_source=random.Random(0),
        field=field,
    )


# --- Results ----------------------------------------------------------------------------

RESULTS = [
    # expression, state input, expected output, source
    ("$partition($states.input.a, $states.input.n)", {"a": [0], "n": 1}, [[0]], ARRAY),
    ("$partition($states.input.a, $states.input.n)", {"a": [0, 1], "n": 1}, [[0], [1]], ARRAY),
    ("$partition($states.input.a, $states.input.n)", {"a": [0, 1], "n": 5}, [[0, 1]], ARRAY),
    (
        "$partition($states.input.a, $states.input.n)",
        {"a": [0, 1, 2], "n": 2},
        [[0, 1], [2]],
        ARRAY,
    ),
    (
        "$partition($states.input.a, $states.input.n)",
        {"a": [0, 1, 2, 3], "n": 3},
        [[0, 1, 2], [3]],
        ARRAY,
    ),
    ("$range(0, 9, 3)", None, [0, 3, 6, 9], ARRAY),
    ("$range(0, 10, 3)", None, [0, 3, 6, 9], ARRAY),
    # A range of one number is that number, not an array.
    ("$range(1, 9, 9)", None, 1, ARRAY),
    ("$range(1, 9, 2)", None, [1, 3, 5, 7, 9], ARRAY),
    ("$parse($states.input.s)", {"s": "-0"}, 0, JSON_MANIPULATION),
    ("$parse($states.input.s)", {"s": "1"}, 1, JSON_MANIPULATION),
    ("$parse($states.input.s)", {"s": "1.1"}, 1.1, JSON_MANIPULATION),
    ("$parse($states.input.s)", {"s": "true"}, True, JSON_MANIPULATION),
    ("$parse($states.input.s)", {"s": '"HelloWorld"'}, "HelloWorld", JSON_MANIPULATION),
    (
        "$parse($states.input.s)",
        {"s": '[1, 2, "HelloWorld"]'},
        [1, 2, "HelloWorld"],
        JSON_MANIPULATION,
    ),
    (
        "$parse($states.input.s)",
        {"s": '{"Arg1": 1, "Arg2": []}'},
        {"Arg1": 1, "Arg2": []},
        JSON_MANIPULATION,
    ),
    (r'$contains("hello$world", /^hello\$/)', None, True, EVALUATE),
    (r'$contains("hello$world", /^hello\ /)', None, False, EVALUATE),
    (r"$contains('hello$world', /^hello\$/)", None, True, EVALUATE),
    # Double quotes inside the expression are accepted.
    ('$number("2")', None, 2, EVALUATE),
    (
        "$merge([$states.input.part1, $states.input.part2])",
        {"part1": {"hello": "world"}, "part2": {"foo": "bar"}},
        {"hello": "world", "foo": "bar"},
        EVALUATE,
    ),
    ("$states.input", {"input_value": "stringliteral"}, {"input_value": "stringliteral"}, OUTPUT),
]


@pytest.mark.parametrize(("expression", "state_input", "expected", "source"), RESULTS)
def test_expression_result(expression: str, state_input: Any, expected: Any, source: str) -> None:
    """An expression yields the value AWS returned for it."""
    result = run(f"{{% {expression} %}}", state_input)

    assert result == expected, source
    assert type(result) is type(expected), source


def test_integral_sum_is_integer() -> None:
    """Arithmetic on integers prints as an integer: AWS returns 7, not 7.0 (OUTPUT, BASE_EXPR)."""
    result = run(
        "{% $sum($states.input.input_values) + $var_constant_1 %}",
        {"input_values": [1, 2, 3]},
        {"var_constant_1": 1},
    )

    assert result == 7
    assert isinstance(result, int)


def test_output_template_literals_kept() -> None:
    """Strings other than ``{% ... %}`` stay literals at any depth (OUTPUT, BASE_LITERALS)."""
    literals = {
        "constant_null": None,
        "constant_float": 0.1,
        "constant_not_jsonata": " {% states.input %} ",
        "constant_varpath_states": "$states.input",
        "constant_jp_input.$": "$",
        "constant_if": "States.Format('Format:{}', 101)",
        "constant_lst": [None, 0, 0.1, True, [], {"constant": 0}, " {% states.input %} "],
        "constant_obj": {"in_obj_constant_lst_empty": [], "in_obj_constant_obj": {"constant": 0}},
    }

    result = evaluate_template(
        literals,
        states={"input": {}},
        variables={},
        random_source=random.Random(0),
        field="Output",
    )

    assert result == literals


def test_output_template_expressions() -> None:
    """Expressions inside an Output object are replaced by their values (OUTPUT, BASE_EXPR)."""
    state_input = {"input_value": "string literal", "input_values": [1, 2, 3]}
    template = {
        "ja_states_input": "{% $states.input %}",
        "ja_var_access": "{% $var_input_value %}",
        "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
    }

    result = evaluate_template(
        template,
        states={"input": state_input},
        variables={"var_input_value": "string literal", "var_constant_1": 1},
        random_source=random.Random(0),
        field="Output",
    )

    assert result == {
        "ja_states_input": state_input,
        "ja_var_access": "string literal",
        "ja_expr": 7,
    }


def test_array_element_expression() -> None:
    """An expression as an array element is evaluated (EVALUATE, test_base_map[ITEMS])."""
    result = evaluate_template(
        [1, '{% $number("2") %}', 3],
        states={"input": {}},
        variables={},
        random_source=random.Random(0),
        field="Items",
    )

    assert result == [1, 2, 3]


# --- Causes of States.QueryEvaluationError ------------------------------------------------

UNDEFINED = [
    # field value, field, location in the cause, source
    ("{% $doesNotExist %}", "Output", "Output", OUTPUT),
    ({"result": "{% $doesNotExist %}"}, "Output", "Output/result", OUTPUT),
    ({"result": "{% $doesNotExist %}"}, "Assign", "Assign/result", OUTPUT),
    ("{% $doesNotExist %}", "Arguments", "Arguments", ARGUMENTS),
    ({"FunctionName": "{% $doesNotExist %}"}, "Arguments", "Arguments/FunctionName", ARGUMENTS),
]


@pytest.mark.parametrize(("value", "field", "location", "source"), UNDEFINED)
def test_undefined_result_fails(value: Any, field: str, location: str, source: str) -> None:
    """An expression that yields nothing fails the state, naming the field it sat in."""
    with pytest.raises(QueryEvaluationError) as caught:
        evaluate_template(
            value, states={"input": {}}, variables={}, random_source=random.Random(0), field=field
        )

    assert caught.value.error == "States.QueryEvaluationError", source
    assert caught.value.location == location, source
    assert caught.value.cause == (
        f"The JSONata expression '$doesNotExist' specified for the field '{location}' "
        "returned nothing (undefined)."
    ), source


def test_cause_names_state_and_event() -> None:
    """The full cause opens with the state name and its entered event id (ERROR_OUTPUT)."""
    with pytest.raises(QueryEvaluationError) as caught:
        evaluate_template(
            {"error": "{% $stateError %}"},
            states={"input": {}},
            variables={},
            random_source=random.Random(0),
            field="Output",
        )

    located = caught.value.in_state("Fallback", 13)

    assert located.cause == (
        "An error occurred while executing the state 'Fallback' (entered at the event id #13). "
        "The JSONata expression '$stateError' specified for the field 'Output/error' returned "
        "nothing (undefined)."
    )
    assert located.error == "States.QueryEvaluationError"


def test_unknown_function_error() -> None:
    """Calling an unbound name fails with JSONata's T1006 after AWS's sentence (MATH)."""
    with pytest.raises(QueryEvaluationError) as caught:
        evaluate_template(
            {"FunctionResult": "{% $randomSeeded($states.input.FunctionInput.fst) %}"},
            states={"input": {"FunctionInput": "fst"}},
            variables={},
            random_source=random.Random(0),
            field="Output",
        )

    assert caught.value.in_state("State_0", 2).cause == (
        "An error occurred while executing the state 'State_0' (entered at the event id #2). "
        "The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' specified "
        "for the field 'Output/FunctionResult' threw an error during evaluation. "
        "T1006: Attempted to invoke a non-function"
    )


def test_function_result_unsupported() -> None:
    """A function is no JSON value: AWS reports an unsupported result type (SCENARIOS)."""
    with pytest.raises(QueryEvaluationError) as caught:
        run("{% $fn := function($x){$x} %}", field="Items")

    assert caught.value.cause == (
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' "
        "returned an unsupported result type."
    )


ITEMS_TYPES = [
    # expression, value, message ending, source
    ("1", 1, "Expected 'array', but was 'number' for value: 1", SCENARIOS),
    ("true", True, "Expected 'array', but was 'boolean' for value: true", SCENARIOS),
    ("null", None, "Expected 'array', but was 'null' for value: null", SCENARIOS),
    ("'string'", "string", "Expected 'array', but was 'string' for value: \"string\"", SCENARIOS),
    (
        "{'foo': 'bar'}",
        {"foo": "bar"},
        "Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}",
        SCENARIOS,
    ),
]


@pytest.mark.parametrize(("expression", "value", "ending", "source"), ITEMS_TYPES)
def test_items_type_mismatch(expression: str, value: Any, ending: str, source: str) -> None:
    """A Map Items expression that yields no array fails with AWS's type message."""
    with pytest.raises(QueryEvaluationError) as caught:
        require_type(value, "array", text=f"{{% {expression} %}}", field="Items")

    assert caught.value.cause == (
        f"The JSONata expression '{expression}' specified for the field 'Items' returned an "
        f"unexpected result type. {ending}"
    ), source


def test_items_array_accepted() -> None:
    """An array passes the Items type check unchanged."""
    assert require_type([1], "array", text="{% [1] %}", field="Items") == [1]


# --- Definition-time checks -----------------------------------------------------------------

INVALID = [
    # expression, AWS's message after the diagnostic code, source
    ("a[1,2)", 'Expected "]", got ","', FLOCI),
    ('"unterminated', "String literal must be terminated by a matching quote", FLOCI),
    ("1 +", "Unexpected end of expression", FLOCI),
    ('{"a":}', 'The symbol "}" cannot be used as a unary operator', FLOCI),
    ("$x :=", "Unexpected end of expression", FLOCI),
    ('$match("a", /abc', "No terminating / in regular expression", FLOCI),
]


@pytest.mark.parametrize(("expression", "message", "source"), INVALID)
def test_syntax_error_message(expression: str, message: str, source: str) -> None:
    """A syntax error is reported as INVALID_JSONATA_EXPRESSION with the parser's message."""
    assert check_expression(f"{{% {expression} %}}") == (
        f"INVALID_JSONATA_EXPRESSION: {message}"
    ), source


def test_top_level_reference_rejected() -> None:
    """A path from the context item is rejected at definition time (FLOCI_TOP_LEVEL)."""
    assert check_expression("{% phone %}") == (
        "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported."
    )


@pytest.mark.parametrize(
    "expression",
    [
        "$states.input.customer.name",
        "$states.input.items[price > 1].name",
        "$map($states.input.items, function($v){ $v.id })",
        "$customerName",
        "'Hello ' & $states.input.name",
    ],
)
def test_valid_expression_accepted(expression: str) -> None:
    """Expressions that start from $states or a variable pass the definition check (DOCS)."""
    assert check_expression(f"{{% {expression} %}}") is None
