"""Parallel and Map states: branch and iteration inputs, outputs, concurrency and failures.

Recorded cases come from AWS responses kept in LocalStack's test suite (Apache-2.0), under
``tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json`` in
github.com/localstack/localstack, named by test id; the others cite the state's page:
https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.stepfunctions.machines import Machines, elapsed_seconds, single, task

DG = "https://docs.aws.amazon.com/step-functions/latest/dg"
PARALLEL_DOCS = f"{DG}/state-parallel.html"
MAP_DOCS = f"{DG}/state-map-inline.html"
ITEM_SELECTOR_DOCS = f"{DG}/input-output-itemselector.html"


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    with Machines.start(tmp_path_factory.mktemp("parallel-map")) as machines:
        yield machines


def _block(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A branch or item processor running ``states`` in order."""
    names = [name for name, _ in states]
    body: dict[str, Any] = {}
    for index, (name, state) in enumerate(states):
        body[name] = dict(state)
        if index + 1 < len(states):
            body[name]["Next"] = names[index + 1]
        elif state["Type"] not in ("Succeed", "Fail"):
            body[name]["End"] = True
    return {"StartAt": names[0], "States": body}


# --- Parallel ---------------------------------------------------------------------------

PARALLEL = {
    "StartAt": "LoadInput",
    "States": {
        "LoadInput": {"Type": "Pass", "Result": [1, 2, 3, 4], "Next": "ParallelState"},
        "ParallelState": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                _block(("Branch1", {"Type": "Pass"})),
                _block(("Branch21", {"Type": "Pass"}), ("Branch22", {"Type": "Pass"})),
                _block(("Branch31", {"Type": "Pass"}), ("Branch32", {"Type": "Pass"}),
                       ("Branch33", {"Type": "Pass"})),
            ],
        },
    },
}


def test_parallel_outputs_in_branch_order(sfn: Machines) -> None:
    """The output is the array of branch outputs (test_parallel_state[PARALLEL_STATE])."""
    result = sfn.run(PARALLEL, {})

    assert result.status == "SUCCEEDED"
    assert result.output == [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]


def test_parallel_branches_run_concurrently(sfn: Machines) -> None:
    """Branches run at the same time, so two 10 s waits take 10 s (PARALLEL_DOCS)."""
    definition = single({"Type": "Parallel", "Branches": [
        _block(("WaitA", {"Type": "Wait", "Seconds": 10}), ("A", {"Type": "Pass", "Result": "a"})),
        _block(("WaitB", {"Type": "Wait", "Seconds": 10}), ("B", {"Type": "Pass", "Result": "b"})),
    ]})

    result = sfn.run(definition, {})

    assert result.output == ["a", "b"]
    assert elapsed_seconds(result) == 10


def test_parallel_data_flow(sfn: Machines) -> None:
    """InputPath, Parameters, ResultSelector and ResultPath apply around the branches."""
    definition = single({
        "Type": "Parallel",
        "InputPath": "$.in",
        "Parameters": {"x.$": "$.x"},
        "Branches": [_block(("A", {"Type": "Pass", "InputPath": "$.x"})),
                     _block(("B", {"Type": "Pass", "Result": "b"}))],
        "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
        "ResultPath": "$.out",
    })

    result = sfn.run(definition, {"in": {"x": 5}, "keep": True})

    assert result.output == {"in": {"x": 5}, "keep": True, "out": {"first": 5, "second": "b"}}


def test_parallel_branch_failure_fails_state(sfn: Machines) -> None:
    """A failing branch fails the Parallel state with its error (test_parallel_state_fail)."""
    definition = single({"Type": "Parallel", "Branches": [
        _block(("Branch1", {"Type": "Fail", "Error": "FailureType"})),
        _block(("Slow", {"Type": "Wait", "Seconds": 100})),
    ]}, "ParallelState")

    result = sfn.run(definition, {})

    assert result.status == "FAILED"
    assert result.error == "FailureType"
    assert result.cause is None
    assert elapsed_seconds(result) == 0


def test_parallel_catch(sfn: Machines) -> None:
    """A catcher on the Parallel state catches a branch's error (test_parallel_state_catch)."""
    definition = {
        "StartAt": "ParallelState",
        "States": {
            "ParallelState": {
                "Type": "Parallel",
                "Branches": [_block(("Branch1", {"Type": "Fail", "Error": "FailureType",
                                                 "Cause": "Cause description"}))],
                "Catch": [{"ErrorEquals": ["FailureType"], "Next": "FinalCaught"}],
                "Next": "Final",
            },
            "FinalCaught": {"Type": "Pass", "End": True},
            "Final": {"Type": "Pass", "End": True},
        },
    }

    result = sfn.run(definition, {})

    assert result.status == "SUCCEEDED"
    assert result.output == {"Error": "FailureType", "Cause": "Cause description"}
    assert result.path[-1] == "FinalCaught"


def test_parallel_retry(sfn: Machines) -> None:
    """A retrier on the Parallel state runs every branch again (test_parallel_state_retry)."""
    definition = single({
        "Type": "Parallel",
        "Branches": [_block(("Branch1", {"Type": "Fail", "Error": "FailureType",
                                         "Cause": "Cause description"}))],
        "Retry": [{"ErrorEquals": ["FailureType"], "MaxAttempts": 2}],
    }, "ParallelState")

    result = sfn.run(definition, {})

    assert result.status == "FAILED"
    assert result.error == "FailureType"
    assert result.cause == "Cause description"
    assert len(result.events("ParallelStateStarted")) == 3
    assert len(result.events("FailStateEntered")) == 3
    assert elapsed_seconds(result) == 1 + 2


def test_parallel_task_mocked_in_branch(sfn: Machines) -> None:
    """Task states inside branches take their mocks by state name."""
    definition = single({"Type": "Parallel", "Branches": [
        _block(("Left", task("Left"))), _block(("Right", task("Right")))]})

    result = sfn.run(definition, {}, mocks={"Left": {"Return": "l"}, "Right": {"Return": "r"}})

    assert result.output == ["l", "r"]


# --- Map --------------------------------------------------------------------------------

SHIPPED = [
    {"prod": "R31", "dest-code": 9511, "quantity": 1344},
    {"prod": "S39", "dest-code": 9511, "quantity": 40},
    {"prod": "R31", "dest-code": 9833, "quantity": 12},
]


def test_map_item_selector(sfn: Machines) -> None:
    """ItemSelector reads the state input and $$.Map.Item (test_map_state_item_selector)."""
    detail = {"delivery-partner": "UQS", "shipped": SHIPPED}
    definition = single({
        "Type": "Map",
        "ResultPath": "$.detail.shipped_output",
        "InputPath": "$.detail",
        "ItemsPath": "$.shipped",
        "MaxConcurrency": 1,
        "ItemSelector": {
            "original_input.$": "$",
            "iteration_input_value.$": "$$.Map.Item.Value",
            "iteration_index.$": "$$.Map.Item.Index",
            "from_input_constant.$": "$.delivery-partner",
            "constant_value": "HelloWorld",
        },
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                          **_block(("HandleItem", {"Type": "Pass"}))},
    }, "MapState")

    result = sfn.run(definition, {"detail": detail})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    outputs = result.output["detail"]["shipped_output"]
    assert outputs == [{"original_input": detail, "iteration_input_value": item,
                        "iteration_index": index, "from_input_constant": "UQS",
                        "constant_value": "HelloWorld"}
                       for index, item in enumerate(SHIPPED)]
    assert result.events("MapStateStarted")[0]["mapStateStartedEventDetails"] == {"length": 3}


@pytest.mark.parametrize(("fields", "execution_input", "expected", "source"), [
    ({}, [1, 2, 3], [1, 2, 3], MAP_DOCS),
    ({"ItemsPath": "$.items"}, {"items": ["a", "b"]}, ["a", "b"], MAP_DOCS),
    ({"ItemsPath": "$.items", "ResultPath": "$.out"}, {"items": [1]},
     {"items": [1], "out": [1]}, MAP_DOCS),
    ({}, [], [], MAP_DOCS),
    ({"Parameters": {"v.$": "$$.Map.Item.Value"}}, [7], [{"v": 7}],
     f"{DG}/state-map.html (Parameters, the older name of ItemSelector)"),
    ({"ResultSelector": {"count.$": "States.ArrayLength($)"}}, [1, 2], {"count": 2},
     f"{DG}/input-output-inputpath-params.html"),
])
def test_map_items(sfn: Machines, fields: dict[str, Any], execution_input: Any,
                   expected: Any, source: str) -> None:
    """ItemsPath picks the array; the output is the iterations' outputs in item order."""
    definition = single({"Type": "Map", "ItemProcessor": _block(("Item", {"Type": "Pass"})),
                         **fields})

    result = sfn.run(definition, execution_input)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == expected, source


def test_map_items_not_array(sfn: Machines) -> None:
    """An ItemsPath that selects no array fails with States.Runtime (MAP_DOCS)."""
    definition = single({"Type": "Map", "ItemsPath": "$.items",
                         "ItemProcessor": _block(("Item", {"Type": "Pass"}))})

    result = sfn.run(definition, {"items": {"a": 1}})

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"


@pytest.mark.parametrize(("max_concurrency", "elapsed"), [(0, 10), (1, 40), (2, 20), (3, 20),
                                                          (4, 10)])
def test_map_max_concurrency(sfn: Machines, max_concurrency: int, elapsed: int) -> None:
    """MaxConcurrency bounds the iterations running at once; 0 means no bound (MAP_DOCS)."""
    definition = single({"Type": "Map", "MaxConcurrency": max_concurrency,
                         "ItemProcessor": _block(("Wait", {"Type": "Wait", "Seconds": 10}))})

    result = sfn.run(definition, [1, 2, 3, 4])

    assert result.output == [1, 2, 3, 4]
    assert elapsed_seconds(result) == elapsed


def test_map_iteration_failure(sfn: Machines) -> None:
    """One failing iteration fails the Map state with its error (MAP_DOCS)."""
    processor = {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$", "NumericEquals": 2, "Next": "Boom"}], "Default": "Fine"},
        "Boom": {"Type": "Fail", "Error": "ItemError", "Cause": "item 2"},
        "Fine": {"Type": "Pass", "End": True}}}
    definition = single({"Type": "Map", "ItemProcessor": processor})

    result = sfn.run(definition, [1, 2, 3])

    assert result.status == "FAILED"
    assert result.error == "ItemError"
    assert result.cause == "item 2"
    assert len(result.events("MapIterationFailed")) == 1
    assert result.events("MapIterationFailed")[0]["mapIterationFailedEventDetails"] == {
        "index": 1, "name": "State"}


def test_map_catch(sfn: Machines) -> None:
    """A catcher on the Map state catches an iteration's error (test_map_state_catch)."""
    definition = {
        "StartAt": "MapState",
        "States": {
            "MapState": {
                "Type": "Map", "ItemsPath": "$.arr",
                "ItemProcessor": _block(("HandleItemFail", {
                    "Type": "Fail", "Error": "HandleItemFailError",
                    "Cause": "HandleItemFailCause"})),
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "FinalCaught"}],
                "Next": "Final",
            },
            "FinalCaught": {"Type": "Pass", "End": True},
            "Final": {"Type": "Pass", "End": True},
        },
    }

    result = sfn.run(definition, {"arr": [1]})

    assert result.status == "SUCCEEDED"
    assert result.output == {"Error": "HandleItemFailError", "Cause": "HandleItemFailCause"}


def test_map_task_mocks_count_iterations(sfn: Machines) -> None:
    """A mocked Task in a Map takes one response per invocation, in order (mock file docs)."""
    definition = single({"Type": "Map", "MaxConcurrency": 1,
                         "ItemProcessor": _block(("Work", task("Work")))})

    result = sfn.run(definition, [1, 2, 3], mocks={"Work": [
        {"Return": "first"}, {"Return": "second"}, {"Return": "third"}]})

    assert result.output == ["first", "second", "third"]


def test_map_nested_in_parallel_variables_are_scoped(sfn: Machines) -> None:
    """An iteration reads outer variables; what it assigns stays in the iteration.
    https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html"""
    definition = {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"outer": 10}, "Next": "Map"},
            "Map": {"Type": "Map", "ItemProcessor": _block(
                ("Inner", {"Type": "Pass", "Assign": {"inner.$": "$"},
                           "Parameters": {"sum.$": "States.MathAdd($, $outer)"}})),
                "Next": "After"},
            "After": {"Type": "Pass", "Parameters": {"outer.$": "$outer", "map.$": "$"},
                      "End": True},
        },
    }

    result = sfn.run(definition, [1, 2])

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"outer": 10, "map": [{"sum": 11}, {"sum": 12}]}
