"""How each state turns its input into its output, in JSONPath and in JSONata.

JSONPath states apply InputPath, Parameters, the work, ResultSelector, ResultPath and
OutputPath in that order; JSONata states evaluate Arguments before the work and Output
after it, with ``$states`` bound to the input, result, error output and context. Both
evaluate Assign against the state's result and apply it after the output is computed,
so a state's own output still reads the variables' old values.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.services.stepfunctions.asl.definition import State
from windtunnel.services.stepfunctions.asl.errors import (
    RESULT_PATH_MATCH_FAILURE,
    StatesError,
)
from windtunnel.services.stepfunctions.asl.paths import (
    ResultPathMatchFailure,
    write_result_path,
)
from windtunnel.services.stepfunctions.asl.payload import (
    Scope,
    read_path,
    render_template,
)

__all__ = [
    "apply_output_path",
    "effective_input",
    "evaluate_assign",
    "jsonata_value",
    "select_result",
    "state_output",
]


def jsonata_value(value: Any, scope: Scope, states: Mapping[str, Any], *,
                  field: str = "") -> Any:
    """Evaluate every ``{% %}`` expression in ``value`` with ``$states`` and variables.

    ``field`` names the field (``Output``, ``Arguments``...) for the error's location.
    """
    from windtunnel.services.stepfunctions.asl import jsonata_mode

    try:
        return jsonata_mode.evaluate_template(value, states=states,
                                              variables=scope.variables.visible(),
                                              random_source=scope.random_source,
                                              now=scope.now, field=field)
    except jsonata_mode.QueryEvaluationError as error:
        raise error.in_state(scope.state_name, scope.entered_event_id) from None


def jsonata_states(raw_input: Any, scope: Scope, **extra: Any) -> dict[str, Any]:
    """Build the ``$states`` binding: input and context, plus result or errorOutput."""
    states = {"input": raw_input, "context": scope.context}
    states.update(extra)
    return states


def effective_input(state: State, raw_input: Any, scope: Scope) -> Any:
    """JSONPath: the state's input after InputPath and Parameters (the work's input).

    JSONata: the value of Arguments (or the input itself when the state has none).
    """
    if state.jsonata:
        if state.has("Arguments"):
            return jsonata_value(state.get("Arguments"), scope,
                                 jsonata_states(raw_input, scope), field="Arguments")
        return raw_input

    selected = apply_input_path(state, raw_input, scope)
    parameters_field = "ItemSelector" if state.type == "Map" else "Parameters"
    if state.type != "Map" and state.has(parameters_field):
        return render_template(state.get(parameters_field), selected, scope)
    return selected


def apply_input_path(state: State, raw_input: Any, scope: Scope) -> Any:
    """JSONPath: the part of the input InputPath selects (``null`` selects ``{}``)."""
    if not state.has("InputPath"):
        return raw_input
    path = state.get("InputPath")
    if path is None:
        return {}
    return read_path(path, raw_input, scope)


def select_result(state: State, result: Any, scope: Scope) -> Any:
    """JSONPath: the result after ResultSelector."""
    if state.jsonata or not state.has("ResultSelector"):
        return result
    return render_template(state.get("ResultSelector"), result, scope)


def apply_output_path(state: State, value: Any, scope: Scope) -> Any:
    """JSONPath: the part of ``value`` OutputPath selects (``null`` selects ``{}``)."""
    if not state.has("OutputPath"):
        return value
    path = state.get("OutputPath")
    if path is None:
        return {}
    return read_path(path, value, scope)


def state_output(state: State, raw_input: Any, result: Any, scope: Scope, *,
                 result_path_default: str | None = "$") -> Any:
    """Compute the state's output from its input and (selected) result.

    JSONPath: ResultPath merges the result into the raw input, then OutputPath selects.
    JSONata: Output, evaluated with ``$states.result``; without it, the result.
    """
    if state.jsonata:
        if state.has("Output"):
            return jsonata_value(state.get("Output"), scope,
                                 jsonata_states(raw_input, scope, result=result),
                                 field="Output")
        return result

    result_path = state.get("ResultPath", result_path_default) \
        if state.has("ResultPath") else result_path_default
    try:
        combined = write_result_path(raw_input, result_path, result)
    except ResultPathMatchFailure as failure:
        raise StatesError(RESULT_PATH_MATCH_FAILURE, str(failure)) from None
    return apply_output_path(state, combined, scope)


def evaluate_assign(assign: Any, state: State, value: Any, raw_input: Any,
                    scope: Scope, *, result_key: str = "result") -> dict[str, Any]:
    """Evaluate the variables an Assign block sets against ``value``.

    JSONPath: ``$`` is the state's result (its input for Choice and Wait, the error
    output in a catcher). JSONata: ``$states.result`` (or ``errorOutput``) is ``value``.
    """
    if not isinstance(assign, Mapping):
        return {}
    if state.jsonata:
        states = jsonata_states(raw_input, scope)
        if result_key:
            states[result_key] = value
        evaluated = jsonata_value(dict(assign), scope, states, field="Assign")
        return dict(evaluated) if isinstance(evaluated, Mapping) else {}
    rendered = render_template(dict(assign), value, scope)
    return dict(rendered) if isinstance(rendered, Mapping) else {}
