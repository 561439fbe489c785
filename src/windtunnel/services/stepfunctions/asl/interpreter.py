"""The interpreter: runs an execution's states, records its history and handles errors.

Each state is a generator run by a fiber on the virtual clock (see ``fibers``): Wait
states, retry intervals, task tokens and child executions suspend it without a thread.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-states.html
"""

from __future__ import annotations

import datetime
import logging
import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from windtunnel.clock import VirtualClock
from windtunnel.services.stepfunctions.asl import dataflow
from windtunnel.services.stepfunctions.asl.definition import Catcher, Retrier, State, StatesBlock
from windtunnel.services.stepfunctions.asl.errors import (
    ALL,
    DATA_LIMIT_EXCEEDED,
    NO_CHOICE_MATCHED,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    TASK_FAILED,
    TIMEOUT,
    StatesError,
)
from windtunnel.services.stepfunctions.asl.execution import (
    ABORTED,
    FAILED,
    SUCCEEDED,
    TIMED_OUT,
    Execution,
    iso_time,
)
from windtunnel.services.stepfunctions.asl.fibers import Fiber, Join, Outcome, Sleep, Work
from windtunnel.services.stepfunctions.asl.json_text import size_in_bytes, to_json
from windtunnel.services.stepfunctions.asl.payload import Scope, Variables, runtime_error

__all__ = ["Interpreter", "TaskRunner", "Track", "matching", "retry_delay"]

logger = logging.getLogger(__name__)

# A state's input and output may hold at most 256 KiB of UTF-8 text.
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
PAYLOAD_LIMIT = 262_144


class TaskRunner(Protocol):
    """Runs Task states: integrations with services, activities and mocks."""

    def run_task(self, interpreter: Interpreter, execution: Execution, track: Track,
                 state: State, scope: Scope, raw_input: Any) -> Work:
        """Do the task's work and return its result (the generator's return value).

        The runner evaluates the state's Parameters or Arguments itself, since they may
        read the task token it issues (``$$.Task.Token``).
        """

    def call_service(self, execution: Execution, service: str, operation: str,
                     parameters: dict[str, Any]) -> dict[str, Any]:
        """Call a service operation as the state machine's role (for ItemReader)."""


class TransitionRecorder(Protocol):
    """Receives each transition an execution takes, for path coverage."""

    def record(self, state_machine: str, source: str, target: str, kind: str) -> None:
        """Note that the execution went from ``source`` to ``target`` along ``kind``."""


@dataclass
class Track:
    """A line of work inside an execution: the whole execution, a branch or an iteration.

    Events recorded on a track point at the track's previous event.
    """

    execution: Execution
    variables: Variables
    last_event_id: int = 0
    prefix: str = ""
    """Coverage names of the states of nested blocks start with their parent's path."""

    def child(self, last_event_id: int, prefix: str) -> Track:
        """Return a nested track (branch or iteration) with its own variable scope."""
        return Track(self.execution, self.variables.child(), last_event_id, prefix)


@dataclass
class _Exit:
    next_state: str | None
    output: Any
    kind: str = "next"
    """The kind of exit, for coverage: next, choice N, default or catch N."""


class Interpreter:
    """Runs executions on a virtual clock."""

    def __init__(self, clock: VirtualClock, tasks: TaskRunner, *,
                 region: str, on_finished: Callable[[Execution], None] | None = None,
                 recorder: TransitionRecorder | None = None) -> None:
        self.clock = clock
        self.tasks = tasks
        self.region = region
        self.on_finished = on_finished
        self.recorder = recorder
        self.map_runs: Any = None
        """The engine's map runs, which Distributed Map states start (``MapRuns``)."""

    # --- executions -------------------------------------------------------------

    def start(self, execution: Execution) -> None:
        """Record ExecutionStarted and run the execution until it first waits."""
        details: dict[str, Any] = {
            "input": execution.input_text,
            "inputDetails": {"truncated": False},
            "roleArn": execution.state_machine.role_arn,
        }
        if execution.state_machine.alias_arn:
            details["stateMachineAliasArn"] = execution.state_machine.alias_arn
        if execution.state_machine.version_arn:
            details["stateMachineVersionArn"] = execution.state_machine.version_arn
        execution.history.add("ExecutionStarted", 0, details)
        # The first state's events link to 0, not to ExecutionStarted, as AWS records.
        track = Track(execution, Variables(), 0, execution.coverage_prefix)

        fiber = Fiber(self.clock, self._run_execution(execution, track),
                      lambda outcome: self._finish(execution, track, outcome))
        execution.fiber = fiber
        timeout = execution.state_machine.definition.timeout_seconds
        if execution.state_machine.type == "EXPRESS":
            # Express executions run for at most five minutes.
            # https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html
            timeout = min(timeout or _EXPRESS_DURATION, _EXPRESS_DURATION)
        if timeout is not None:
            self.clock.schedule(timeout, lambda: self._time_out(execution, track),
                                description=f"timeout of execution {execution.name}")
        fiber.start()

    def stop(self, execution: Execution, error: str | None, cause: str | None) -> None:
        """StopExecution: abort the execution where it is."""
        if not execution.running:
            return
        if execution.fiber is not None:
            execution.fiber.cancel()
        details = {key: value for key, value in (("error", error), ("cause", cause))
                   if value is not None}
        execution.history.add("ExecutionAborted", execution.history.events[-1].id, details)
        self._close(execution, ABORTED, error=error, cause=cause)

    def _time_out(self, execution: Execution, track: Track) -> None:
        if not execution.running:
            return
        if execution.fiber is not None:
            execution.fiber.cancel()
        execution.history.add("ExecutionTimedOut", execution.history.events[-1].id,
                              {"error": TIMEOUT, "cause": "The execution timed out."})
        self._close(execution, TIMED_OUT, error=TIMEOUT, cause="The execution timed out.")

    def _run_execution(self, execution: Execution, track: Track) -> Work:
        definition = execution.state_machine.definition
        output = yield from self.run_block(track, definition, execution.input)
        return output

    def _finish(self, execution: Execution, track: Track, outcome: Outcome) -> None:
        if not execution.running:
            return
        if outcome.error is None:
            text = to_json(outcome.value)
            execution.history.add("ExecutionSucceeded", track.last_event_id,
                                  {"output": text, "outputDetails": {"truncated": False}})
            execution.output = outcome.value
            self._close(execution, SUCCEEDED)
            return
        error = outcome.error
        if not isinstance(error, StatesError):
            logger.exception("the execution %s failed inside windtunnel", execution.arn,
                             exc_info=error)
            error = StatesError(RUNTIME, f"windtunnel could not run the execution: {error}")
        details = {key: value for key, value in (("error", error.error),
                                                 ("cause", error.cause)) if value}
        execution.history.add("ExecutionFailed", track.last_event_id, details)
        self._close(execution, FAILED, error=error.error or None, cause=error.cause or None)

    def _close(self, execution: Execution, status: str, *, error: str | None = None,
               cause: str | None = None) -> None:
        execution.status = status
        execution.error = error
        execution.cause = cause
        execution.stop_date = self.clock.now()
        if self.on_finished is not None:
            self.on_finished(execution)
        execution.finished.resolve(execution)

    # --- blocks and states ------------------------------------------------------

    def run_block(self, track: Track, block: StatesBlock, block_input: Any) -> Work:
        """Run a block's states from StartAt to an end; return the last output."""
        self._record(track, "(start)", block.start_at, "start")
        name: str | None = block.start_at
        value = block_input
        while name is not None:
            state = block[name]
            exit_ = yield from self._run_state(track, state, value)
            self._record(track, name, exit_.next_state or "(end)", exit_.kind)
            value = exit_.output
            name = exit_.next_state
        return value

    def _record(self, track: Track, source: str, target: str, kind: str) -> None:
        if self.recorder is not None:
            self.recorder.record(track.execution.state_machine.name, track.prefix + source,
                                 track.prefix + target, kind)

    def _event(self, track: Track, event_type: str,
               details: dict[str, Any] | None = None) -> int:
        execution = track.execution
        if execution.history.full:
            # NOTE: AWS fails an execution whose history reaches 25,000 events; the error
            # name and cause it records for that are not documented.
            raise StatesError(RUNTIME, f"The execution reached the maximum number of "
                                       f"history events ({execution.history.limit}).")
        track.last_event_id = execution.history.add(event_type, track.last_event_id, details)
        return track.last_event_id

    def _scope(self, track: Track, state: State, entered_id: int, retry_count: int = 0,
               extra_context: Mapping[str, Any] | None = None) -> Scope:
        context = track.execution.context_object()
        context["State"] = {"EnteredTime": iso_time(self.clock.now()), "Name": state.name}
        if state.type == "Task":
            context["State"]["RetryCount"] = retry_count
        if extra_context:
            context.update(extra_context)
        return Scope(state.name, entered_id, context, track.variables,
                     track.execution.random, self.clock.now())

    def _run_state(self, track: Track, state: State, raw_input: Any) -> Generator[Any, Any, _Exit]:
        track.execution.path.append(track.prefix + state.name)
        entered = self._event(track, f"{state.type}StateEntered", {
            "name": state.name, "input": to_json(raw_input),
            "inputDetails": {"truncated": False}})
        scope = self._scope(track, state, entered)
        try:
            runner = getattr(self, f"_run_{state.type.lower()}")
            exit_: _Exit = yield from runner(track, state, scope, raw_input)
        except StatesError as error:
            if error.error == QUERY_EVALUATION_ERROR:
                details = {"error": error.error, "cause": error.cause, "state": state.name}
                location = getattr(error, "location", "")
                if location:
                    details["location"] = location
                self._event(track, "EvaluationFailed", details)
            raise
        return exit_

    def _exit(self, track: Track, state: State, scope: Scope, output: Any,
              assigned: Mapping[str, Any] | None, next_state: str | None,
              kind: str = "next") -> _Exit:
        text = to_json(output)
        if size_in_bytes(text) > PAYLOAD_LIMIT:
            raise StatesError(DATA_LIMIT_EXCEEDED,
                              f"The state/task '{state.name}' returned a result with a size "
                              f"exceeding the maximum number of bytes service limit.")
        details: dict[str, Any] = {"name": state.name, "output": text,
                                   "outputDetails": {"truncated": False}}
        if assigned is not None:
            track.variables.assign(assigned)
            details["assignedVariables"] = {name: to_json(value)
                                            for name, value in assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        if state.type != "Fail":
            self._event(track, f"{state.type}StateExited", details)
        return _Exit(next_state if not state.end else None, output, kind)

    # --- Pass, Succeed, Fail, Wait, Choice --------------------------------------

    def _run_pass(self, track: Track, state: State, scope: Scope,
                  raw_input: Any) -> Generator[Any, Any, _Exit]:
        if state.jsonata:
            result = raw_input
        else:
            selected = dataflow.effective_input(state, raw_input, scope)
            result = state.get("Result") if state.has("Result") else selected
        assigned = self._assign(state, scope, result, raw_input)
        output = dataflow.state_output(state, raw_input, result, scope)
        return self._exit(track, state, scope, output, assigned, state.next)
        yield  # pragma: no cover - makes this a generator

    def _run_succeed(self, track: Track, state: State, scope: Scope,
                     raw_input: Any) -> Generator[Any, Any, _Exit]:
        if state.jsonata:
            output = dataflow.state_output(state, raw_input, raw_input, scope)
        else:
            selected = dataflow.apply_input_path(state, raw_input, scope)
            output = dataflow.apply_output_path(state, selected, scope)
        return self._exit(track, state, scope, output, None, None)
        yield  # pragma: no cover

    def _run_fail(self, track: Track, state: State, scope: Scope,
                  raw_input: Any) -> Generator[Any, Any, _Exit]:
        error = self._fail_field(state, scope, raw_input, "Error")
        cause = self._fail_field(state, scope, raw_input, "Cause")
        raise StatesError(error or "", cause or "")
        yield  # pragma: no cover

    def _fail_field(self, state: State, scope: Scope, raw_input: Any, name: str) -> str | None:
        if state.jsonata:
            if not state.has(name):
                return None
            value = dataflow.jsonata_value(state.get(name), scope,
                                           dataflow.jsonata_states(raw_input, scope))
        elif state.has(name + "Path"):
            from windtunnel.services.stepfunctions.asl.payload import render_template

            value = render_template({name + ".$": state.get(name + "Path")}, raw_input,
                                    scope)[name]
        else:
            value = state.get(name)
        if value is not None and not isinstance(value, str):
            raise runtime_error(scope, f"The {name} of a Fail state must be a string, "
                                       f"not {to_json(value)}")
        return value

    def _run_wait(self, track: Track, state: State, scope: Scope,
                  raw_input: Any) -> Generator[Any, Any, _Exit]:
        seconds = self._wait_seconds(state, scope, raw_input)
        if seconds > 0:
            yield Sleep(seconds)
        assigned = self._assign(state, scope, raw_input, raw_input, result_key="")
        if state.jsonata:
            output = dataflow.state_output(state, raw_input, raw_input, scope)
        else:
            selected = dataflow.apply_input_path(state, raw_input, scope)
            output = dataflow.apply_output_path(state, selected, scope)
        return self._exit(track, state, scope, output, assigned, state.next)

    def _wait_seconds(self, state: State, scope: Scope, raw_input: Any) -> float:
        """Compute the seconds a Wait state waits, raising AWS's causes for unusable values.
        https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
        """
        from windtunnel.services.stepfunctions.asl.choice import parse_timestamp
        from windtunnel.services.stepfunctions.asl.payload import read_path

        if state.jsonata:
            states = dataflow.jsonata_states(raw_input, scope)
            if state.has("Seconds"):
                seconds = dataflow.jsonata_value(state.get("Seconds"), scope, states,
                                                 field="Seconds")
                return self._checked_seconds(scope, seconds, "Seconds", "Seconds")
            timestamp = dataflow.jsonata_value(state.get("Timestamp"), scope, states,
                                               field="Timestamp")
            return self._seconds_until(scope, parse_timestamp(timestamp), "Timestamp",
                                       timestamp)

        selected = dataflow.apply_input_path(state, raw_input, scope)
        if state.has("Seconds"):
            return float(state.get("Seconds"))
        if state.has("SecondsPath"):
            path = str(state.get("SecondsPath"))
            seconds = read_path(path, selected, scope)
            return self._checked_seconds(scope, seconds, "SecondsPath",
                                         f"{path} == {_plain(seconds)}")
        if state.has("Timestamp"):
            timestamp = state.get("Timestamp")
            return self._seconds_until(scope, parse_timestamp(timestamp), "Timestamp",
                                       timestamp)
        path = str(state.get("TimestampPath"))
        timestamp = read_path(path, selected, scope)
        return self._seconds_until(scope, parse_timestamp(timestamp), "TimestampPath",
                                   f"{path} == {_plain(timestamp)}")

    def _checked_seconds(self, scope: Scope, seconds: Any, field: str, shown: str) -> float:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or \
                seconds != int(seconds):
            raise runtime_error(scope, f"The {field} parameter cannot be parsed as a long "
                                       f"value: {shown}")
        if seconds < 0:
            raise runtime_error(scope, f"The {field} parameter references a negative value: "
                                       f"{shown}")
        return self._not_too_long(scope, float(seconds))

    def _seconds_until(self, scope: Scope, moment: datetime.datetime | None, field: str,
                       shown: Any) -> float:
        if moment is None:
            raise runtime_error(scope, f"The {field} parameter does not reference a valid "
                                       f"ISO-8601 extended offset date-time format string: "
                                       f"{_plain(shown)}")
        return self._not_too_long(scope, max((moment - self.clock.now()).total_seconds(), 0))

    @staticmethod
    def _not_too_long(scope: Scope, seconds: float) -> float:
        # AWS counts the delay in a signed 32-bit number of seconds (about 24,855 days).
        if seconds > _MAXIMUM_WAIT:
            raise runtime_error(scope, "Wait state delay is too long.")
        return seconds

    def _run_choice(self, track: Track, state: State, scope: Scope,
                    raw_input: Any) -> Generator[Any, Any, _Exit]:
        from windtunnel.services.stepfunctions.asl.choice import rule_matches

        if state.jsonata:
            states = dataflow.jsonata_states(raw_input, scope)
            selected = raw_input
        else:
            selected = dataflow.apply_input_path(state, raw_input, scope)
        for index, rule in enumerate(state.get("Choices", ())):
            if state.jsonata:
                condition = dataflow.jsonata_value(rule.get("Condition"), scope, states)
                if not isinstance(condition, bool):
                    raise StatesError(QUERY_EVALUATION_ERROR, (
                        f"An error occurred while evaluating the expression "
                        f"{rule.get('Condition')!s} of the Condition field of the state "
                        f"'{state.name}': the result must be a boolean, not "
                        f"{to_json(condition)}"))
                matched = condition
            else:
                matched = rule_matches(rule, selected, scope)
            if matched:
                return self._choice_exit(track, state, scope, raw_input, selected, rule,
                                         str(rule["Next"]), f"choice {index}")
        if state.has("Default"):
            return self._choice_exit(track, state, scope, raw_input, selected, state.fields,
                                     str(state.get("Default")), "default")
        raise StatesError(NO_CHOICE_MATCHED, "No Matches!")
        yield  # pragma: no cover

    def _choice_exit(self, track: Track, state: State, scope: Scope, raw_input: Any,
                     selected: Any, rule: Mapping[str, Any], next_state: str,
                     kind: str) -> _Exit:
        assigned = None
        if "Assign" in rule:
            assigned = dataflow.evaluate_assign(rule["Assign"], state, selected, raw_input,
                                                scope, result_key="")
        if state.jsonata:
            source = rule if "Output" in rule else state.fields
            if "Output" in source:
                output = dataflow.jsonata_value(source["Output"], scope,
                                                dataflow.jsonata_states(raw_input, scope))
            else:
                output = raw_input
        else:
            output = dataflow.apply_output_path(state, selected, scope)
        return self._exit(track, state, scope, output, assigned, next_state, kind)

    def _assign(self, state: State, scope: Scope, value: Any, raw_input: Any, *,
                result_key: str = "result") -> dict[str, Any] | None:
        if not state.has("Assign"):
            return None
        return dataflow.evaluate_assign(state.get("Assign"), state, value, raw_input, scope,
                                        result_key=result_key)

    # --- Task, Parallel, Map: work with Retry and Catch ---------------------------

    def _run_task(self, track: Track, state: State, scope: Scope,
                  raw_input: Any) -> Generator[Any, Any, _Exit]:
        def attempt(attempt_scope: Scope) -> Work:
            result = yield from self.tasks.run_task(self, track.execution, track, state,
                                                    attempt_scope, raw_input)
            return result

        exit_ = yield from self._with_retry_and_catch(track, state, scope, raw_input, attempt)
        return exit_

    def _run_parallel(self, track: Track, state: State, scope: Scope,
                      raw_input: Any) -> Generator[Any, Any, _Exit]:
        def attempt(attempt_scope: Scope) -> Work:
            branch_input = dataflow.effective_input(state, raw_input, attempt_scope)
            started = self._event(track, "ParallelStateStarted")
            last_events: list[int] = []
            children = [self._branch_work(track, branch, branch_input, started,
                                          f"{state.name}/branch {number}/", last_events)
                        for number, branch in enumerate(state.branches)]
            outcomes = yield Join(children, on_outcome=lambda outcome: outcome.error is not None)
            failed = next((outcome for outcome in outcomes if outcome.error is not None), None)
            if failed is not None:
                raise failed.error
            # AWS links ParallelStateSucceeded and the state's exit to the last event of
            # the branches, as for a Map state's iterations.
            track.last_event_id = max(last_events, default=started)
            self._side_event(track, "ParallelStateSucceeded")
            return [outcome.value for outcome in outcomes]

        exit_ = yield from self._with_retry_and_catch(track, state, scope, raw_input, attempt)
        return exit_

    def _branch_work(self, track: Track, branch: StatesBlock, branch_input: Any,
                     started: int, prefix: str, last_events: list[int]) -> Callable[[], Work]:
        def work() -> Work:
            child = track.child(started, track.prefix + prefix)
            try:
                output = yield from self.run_block(child, branch, branch_input)
            except StatesError as error:
                error.last_event_id = child.last_event_id  # type: ignore[attr-defined]
                raise
            last_events.append(child.last_event_id)
            return output

        return work

    def _side_event(self, track: Track, event_type: str,
                    details: dict[str, Any] | None = None) -> int:
        """Record an event that the next event of the track does not link to.

        AWS records MapStateSucceeded and ParallelStateSucceeded this way: the state's
        exit links to the event before them.
        """
        before = track.last_event_id
        event_id = self._event(track, event_type, details)
        track.last_event_id = before
        return event_id

    def _run_map(self, track: Track, state: State, scope: Scope,
                 raw_input: Any) -> Generator[Any, Any, _Exit]:
        from windtunnel.services.stepfunctions.asl.map_state import MapRun

        def attempt(attempt_scope: Scope) -> Work:
            run = MapRun(self, track, state, attempt_scope, raw_input)
            result = yield from run.work()
            return result

        exit_ = yield from self._with_retry_and_catch(track, state, scope, raw_input, attempt)
        return exit_

    def _with_retry_and_catch(self, track: Track, state: State, scope: Scope,
                              raw_input: Any,
                              attempt: Callable[[Scope], Work]) -> Generator[Any, Any, _Exit]:
        attempts = [0] * len(state.retriers)
        retry_count = 0
        attempt_scope = scope
        while True:
            try:
                result = yield from attempt(attempt_scope)
                selected = dataflow.select_result(state, result, attempt_scope)
                assigned = self._assign(state, attempt_scope, selected, raw_input)
                output = dataflow.state_output(state, raw_input, selected, attempt_scope)
                return self._exit(track, state, attempt_scope, output, assigned, state.next)
            except StatesError as error:
                index, retrier = matching(state.retriers, error)
                if retrier is not None and attempts[index] < retrier.max_attempts:
                    delay = retry_delay(retrier, attempts[index], track.execution.random)
                    attempts[index] += 1
                    retry_count += 1
                    self._record(track, state.name, state.name, f"retry {index}")
                    if delay > 0:
                        yield Sleep(delay)
                    attempt_scope = self._scope(track, state, scope.entered_event_id,
                                                retry_count)
                    continue
                self._record_failure(track, state, error)
                catch_index, catcher = matching(state.catchers, error)
                if catcher is None:
                    raise
                return self._caught(track, state, attempt_scope, raw_input, error, catcher,
                                    catch_index)

    def _record_failure(self, track: Track, state: State, error: StatesError) -> None:
        """ParallelStateFailed or MapStateFailed, once no retry is left, linked to the
        last event of the branch or iteration that failed."""
        if state.type not in ("Parallel", "Map"):
            return
        last = getattr(error, "last_event_id", None)
        if last is not None:
            track.last_event_id = last
        self._event(track, f"{state.type}StateFailed")

    def _caught(self, track: Track, state: State, scope: Scope, raw_input: Any,
                error: StatesError, catcher: Catcher, index: int) -> _Exit:
        error_output = {"Error": error.error, "Cause": error.cause}
        fields = catcher.fields
        assigned = None
        if state.jsonata:
            states = dataflow.jsonata_states(raw_input, scope, errorOutput=error_output)
            if "Assign" in fields:
                evaluated = dataflow.jsonata_value(fields["Assign"], scope, states)
                assigned = dict(evaluated) if isinstance(evaluated, Mapping) else {}
            output = dataflow.jsonata_value(fields["Output"], scope, states) \
                if "Output" in fields else error_output
        else:
            if "Assign" in fields:
                assigned = dataflow.evaluate_assign(fields["Assign"], state, error_output,
                                                    raw_input, scope)
            from windtunnel.services.stepfunctions.asl.paths import (
                ResultPathMatchFailure,
                write_result_path,
            )

            try:
                output = write_result_path(raw_input, fields.get("ResultPath", "$")
                                           if "ResultPath" in fields else "$", error_output)
            except ResultPathMatchFailure as failure:
                raise StatesError("States.ResultPathMatchFailure", str(failure)) from None
        exit_ = self._exit(track, state, scope, output, assigned, catcher.next,
                           f"catch {index}")
        exit_.next_state = catcher.next
        return exit_


# Express executions stop after five minutes.
_EXPRESS_DURATION = 300

# The maximum wait AWS accepts: 2**31 - 1 seconds.
_MAXIMUM_WAIT = 2**31 - 1


def _plain(value: Any) -> str:
    """Format a value as AWS prints it in Wait causes: text unquoted, the rest as JSON."""
    return value if isinstance(value, str) else to_json(value)


def matching(entries: tuple[Retrier | Catcher, ...],
              error: StatesError) -> tuple[int, Any]:
    """Return the first retrier or catcher whose ErrorEquals matches ``error``.

    ``States.ALL`` matches every error except States.Runtime; ``States.TaskFailed``
    matches every error except States.Timeout; States.Runtime is never caught.
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
    The documentation says States.ALL does not catch States.DataLimitExceeded either, but
    AWS-recorded executions show a Catch on States.ALL taking a task's oversized result
    (LocalStack's tests/aws/services/stepfunctions/v2/error_handling snapshots,
    test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response).
    """
    if error.error == RUNTIME:
        return -1, None
    for index, entry in enumerate(entries):
        for name in entry.error_equals:
            if name == error.error:
                return index, entry
            if name == ALL:
                return index, entry
            if name == TASK_FAILED and error.error != TIMEOUT:
                return index, entry
    return -1, None


def retry_delay(retrier: Retrier, attempt: int, random_source: random.Random | None) -> float:
    """Seconds before retry number ``attempt + 1``: IntervalSeconds * BackoffRate ** attempt,
    capped by MaxDelaySeconds, and drawn from [0, that] with JitterStrategy FULL.
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error
    """
    delay = retrier.interval_seconds * retrier.backoff_rate ** attempt
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter == "FULL" and random_source is not None:
        delay = random_source.uniform(0, delay)
    return delay


def elapsed_seconds(start: datetime.datetime, end: datetime.datetime) -> float:
    """Seconds between two times."""
    return (end - start).total_seconds()
