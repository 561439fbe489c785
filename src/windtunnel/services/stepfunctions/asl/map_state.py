"""The Map state: items, item selection, batching, concurrency and tolerated failures.

https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from windtunnel.services.stepfunctions.asl import dataflow
from windtunnel.services.stepfunctions.asl.definition import State
from windtunnel.services.stepfunctions.asl.errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    StatesError,
)
from windtunnel.services.stepfunctions.asl.fibers import Await, Join, Outcome, Work
from windtunnel.services.stepfunctions.asl.json_text import to_json
from windtunnel.services.stepfunctions.asl.payload import (
    Scope,
    read_path,
    render_template,
    runtime_error,
)

if TYPE_CHECKING:
    from windtunnel.services.stepfunctions.asl.interpreter import Interpreter, Track

__all__ = ["MapRun"]

# Inline Map states run at most 40 iterations at a time.
# https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
INLINE_CONCURRENCY = 40


class MapRun:
    """One attempt of a Map state over its items."""

    def __init__(self, interpreter: Interpreter, track: Track, state: State, scope: Scope,
                 raw_input: Any) -> None:
        self.interpreter = interpreter
        self.track = track
        self.state = state
        self.scope = scope
        self.raw_input = raw_input
        processor = state.get("ItemProcessor") or {}
        self.distributed = (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED"
        self.chain_last = 0
        self.last_iteration_event = 0

    def work(self) -> Work:
        """Run the iterations and return their outputs in item order."""
        state = self.state
        if state.has("ResultWriter"):
            raise runtime_error(self.scope, "windtunnel does not emulate a Map state's "
                                            "ResultWriter, which writes the results to S3")
        selected = self._selected_input()
        items = self._items(selected)
        inputs = self._iteration_inputs(items, selected)

        if self.distributed:
            result = yield from self._map_run(inputs, selected)
            return result
        started = self.interpreter._event(self.track, "MapStateStarted",
                                          {"length": len(inputs)})
        # AWS links each MapIterationStarted to the last state event of the iteration that
        # ended before it (MapStateStarted for the first), and MapStateSucceeded and the
        # state's exit to the last MapIterationSucceeded.
        self.chain_last = started
        self.last_iteration_event = started
        tolerated = self._tolerated_failures(len(inputs))
        failures = 0

        def on_outcome(outcome: Outcome) -> bool:
            nonlocal failures
            if outcome.error is None:
                return False
            failures += 1
            return failures > tolerated

        children = [self._iteration(index, value)
                    for index, value in enumerate(inputs)]
        outcomes = yield Join(children, max_concurrency=self._max_concurrency(selected),
                              on_outcome=on_outcome)
        failed = [outcome for outcome in outcomes if outcome.error is not None]
        if len(failed) > tolerated:
            if self.distributed and tolerated > 0:
                exceeded = StatesError(EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                       "The specified tolerated failure threshold was "
                                       "exceeded")
                exceeded.last_event_id = self.last_iteration_event  # type: ignore[attr-defined]
                raise exceeded
            raise failed[0].error
        self.track.last_event_id = self.last_iteration_event
        self.interpreter._side_event(self.track, "MapStateSucceeded")
        del state
        return [outcome.value if outcome.error is None else
                {"Error": getattr(outcome.error, "error", ""),
                 "Cause": getattr(outcome.error, "cause", "")}
                for outcome in outcomes]

    def _map_run(self, inputs: list[Any], selected: Any) -> Work:
        """A Distributed Map: each item (or batch) runs as a child execution of a map run.

        The parent's history records MapRunStarted and MapRunSucceeded or MapRunFailed;
        the children have histories of their own.
        https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
        """
        from windtunnel.services.stepfunctions.map_runs import MapRunRecord

        engine = self.interpreter.map_runs
        if engine is None:
            raise runtime_error(self.scope, "Distributed Map states need the engine's map "
                                            "runs, which this interpreter has none of")
        execution = self.track.execution
        tolerated = self._tolerated_failures(len(inputs))
        record: MapRunRecord = engine.start_map_run(execution, self.state, len(inputs),
                                                    self._max_concurrency(selected), tolerated)
        self.interpreter._event(self.track, "MapRunStarted", {"mapRunArn": record.arn})
        failures = 0

        def on_outcome(outcome: Outcome) -> bool:
            nonlocal failures
            if outcome.error is None:
                return False
            failures += 1
            return failures > tolerated

        def child(index: int, value: Any) -> Any:
            def work() -> Work:
                child_execution = engine.start_child(
                    record, execution, self.state, value,
                    f"{self.track.prefix}{self.state.name}/")
                yield Await(child_execution.finished)
                if child_execution.status != "SUCCEEDED":
                    raise StatesError(child_execution.error or "States.TaskFailed",
                                      child_execution.cause or "")
                return child_execution.output

            return work

        outcomes = yield Join([child(index, value) for index, value in enumerate(inputs)],
                              max_concurrency=record.max_concurrency, on_outcome=on_outcome)
        failed = [outcome for outcome in outcomes if outcome.error is not None]
        if len(failed) > tolerated:
            if tolerated > 0 or self.state.has("ToleratedFailurePercentage") or \
                    self.state.has("ToleratedFailureCount"):
                error = StatesError(EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                    "The specified tolerated failure threshold was exceeded")
            else:
                error = failed[0].error if isinstance(failed[0].error, StatesError) else \
                    StatesError("States.BranchFailed", str(failed[0].error))
            engine.finish_map_run(record, "FAILED", error)
            self.interpreter._event(self.track, "MapRunFailed",
                                    {"error": error.error, "cause": error.cause})
            raise error
        engine.finish_map_run(record, "SUCCEEDED", None)
        self.interpreter._side_event(self.track, "MapRunSucceeded")
        return [outcome.value if outcome.error is None else
                {"Error": getattr(outcome.error, "error", ""),
                 "Cause": getattr(outcome.error, "cause", "")}
                for outcome in outcomes]

    def _selected_input(self) -> Any:
        if self.state.jsonata:
            return self.raw_input
        return dataflow.apply_input_path(self.state, self.raw_input, self.scope)

    def _items(self, selected: Any) -> list[Any]:
        state = self.state
        if state.has("ItemReader"):
            from windtunnel.services.stepfunctions.asl.item_reader import read_items

            return read_items(self.interpreter, self.track.execution, state, self.scope,
                              selected)
        if state.jsonata:
            items = dataflow.jsonata_value(state.get("Items", "{% $states.input %}"),
                                           self.scope,
                                           dataflow.jsonata_states(self.raw_input, self.scope))
            if not isinstance(items, list):
                raise StatesError("States.QueryEvaluationError", (
                    f"The Items field of the state '{state.name}' must evaluate to a JSON "
                    f"array, not {to_json(items)}"))
            return items
        items = read_path(state.get("ItemsPath", "$"), selected, self.scope)
        if not isinstance(items, list):
            raise runtime_error(self.scope, (
                f"Map state input must be an array, but the value at ItemsPath "
                f"'{state.get('ItemsPath', '$')}' is {to_json(items)}"))
        return items

    def _iteration_inputs(self, items: list[Any], selected: Any) -> list[Any]:
        state = self.state
        selector_field = "ItemSelector" if state.has("ItemSelector") else "Parameters"
        values: list[Any] = []
        for index, item in enumerate(items):
            if not state.has(selector_field):
                values.append(item)
                continue
            context = dict(self.scope.context)
            context["Map"] = {"Item": {"Index": index, "Value": item}}
            item_scope = Scope(self.scope.state_name, self.scope.entered_event_id, context,
                               self.scope.variables, self.scope.random_source)
            if state.jsonata:
                values.append(dataflow.jsonata_value(
                    state.get(selector_field), item_scope,
                    dataflow.jsonata_states(self.raw_input, item_scope)))
            else:
                values.append(render_template(state.get(selector_field), selected,
                                              item_scope))
        batcher = state.get("ItemBatcher")
        if batcher is not None:
            return self._batches(values, batcher, selected)
        return values

    def _batches(self, values: list[Any], batcher: dict[str, Any], selected: Any) -> list[Any]:
        size = batcher.get("MaxItemsPerBatch")
        if size is None and "MaxItemsPerBatchPath" in batcher:
            size = read_path(batcher["MaxItemsPerBatchPath"], selected, self.scope)
        # NOTE: MaxInputBytesPerBatch is not applied; batches are cut by item count only.
        size = int(size) if size else len(values) or 1
        batch_input = batcher.get("BatchInput")
        if batch_input is not None and not self.state.jsonata:
            batch_input = render_template(batch_input, selected, self.scope)
        batches = []
        for start in range(0, len(values), size):
            batch: dict[str, Any] = {}
            if batch_input is not None:
                batch["BatchInput"] = batch_input
            batch["Items"] = values[start:start + size]
            batches.append(batch)
        return batches

    def _max_concurrency(self, selected: Any) -> int:
        state = self.state
        value = state.get("MaxConcurrency", 0)
        if state.has("MaxConcurrencyPath"):
            value = read_path(state.get("MaxConcurrencyPath"), selected, self.scope)
        if state.jsonata and isinstance(value, str):
            value = dataflow.jsonata_value(value, self.scope,
                                           dataflow.jsonata_states(self.raw_input, self.scope))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise runtime_error(self.scope, f"MaxConcurrency must be a non-negative integer, "
                                            f"not {to_json(value)}")
        if self.distributed:
            return value
        return min(value, INLINE_CONCURRENCY) if value else INLINE_CONCURRENCY

    def _tolerated_failures(self, total: int) -> int:
        if not self.distributed:
            return 0
        state = self.state
        count = state.get("ToleratedFailureCount")
        percentage = state.get("ToleratedFailurePercentage")
        tolerated = 0
        if count is not None:
            tolerated = int(count)
        if percentage is not None:
            tolerated = max(tolerated, math.floor(total * float(percentage) / 100))
        return tolerated

    def _iteration(self, index: int, value: Any) -> Any:
        interpreter = self.interpreter
        processor = self.state.branches[0]

        def work() -> Work:
            child = self.track.child(self.chain_last, f"{self.track.prefix}{self.state.name}/")
            details = {"name": self.state.name, "index": index}
            interpreter._event(child, "MapIterationStarted", details)
            try:
                output = yield from interpreter.run_block(child, processor, value)
            except StatesError as error:
                self.chain_last = child.last_event_id
                self.last_iteration_event = interpreter._event(child, "MapIterationFailed",
                                                               details)
                error.last_event_id = self.last_iteration_event  # type: ignore[attr-defined]
                raise
            self.chain_last = child.last_event_id
            self.last_iteration_event = interpreter._event(child, "MapIterationSucceeded",
                                                           details)
            return output

        return work
