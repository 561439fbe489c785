"""Benchmark: Step Functions executions in windtunnel, against moto's own interpreter.

Measurements, in one run so their ratios are meaningful:

1. ``workflow``: executions per second of a 20-state machine (Pass, Task, Choice, a Map
   over 4 items, a Parallel with 2 branches). moto 5.2.6 can run a definition itself
   (``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``), but its Task
   states would call Lambda for real. So both engines run the same definition with each
   Task state replaced by a Pass state whose ``Result`` is the response the Task's mock
   returns. windtunnel also runs the definition with its Task states, mocked.
2. ``wait``: the wall time of one execution Start → Wait 300 seconds → End through
   ``stack.stepfunctions.execute``, which moves the virtual clock over the wait.
3. ``transitions``: states entered per second by a loop of a Pass and a Choice state that
   counts to N.

moto runs in a child process, because entering and leaving ``mock_aws`` resets moto's
backends (``BackendDict.reset`` in moto 5.2.6), where windtunnel's cloud keeps its
resources. The two processes take turns: blocks of moto's executions alternate with blocks
of windtunnel's, so both see the same load from the rest of the machine, and each rate is
the median over all blocks. moto starts each execution in a thread of its own and
StartExecution returns at once. So the child polls DescribeExecution until the status
leaves RUNNING, sleeping 0.2 ms between calls so that the execution's thread gets the
interpreter lock. moto's rate is reported twice: by wall time with the polling, and by the
execution's own startDate to stopDate. The second leaves out StartExecution, the polling
and the thread's start-up, so it favors moto, and the ratios use it. Before any number is
printed, both engines must have returned the same output.

Usage: ``python benchmarks/bench_stepfunctions.py``; it prints JSON and a Markdown table.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROLE_ARN = "arn:aws:iam::123456789012:role/bench-stepfunctions"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:bench-worker"
# Seconds between DescribeExecution calls while a moto execution runs.
POLL_INTERVAL = 0.0002

# Each Task state's mocked response, shaped as the lambda:invoke integration returns it.
TASK_RESPONSES: dict[str, Any] = {
    "Validate": {"StatusCode": 200, "Payload": {"valid": True, "priority": True}},
    "Price": {"StatusCode": 200, "Payload": {"price": 12.5}},
    "Reserve": {"StatusCode": 200, "Payload": {"reservation": "r-1"}},
    "Charge": {"StatusCode": 200, "Payload": {"status": "PAID"}},
    "Notify": {"StatusCode": 200, "Payload": {"sent": True}},
}

WORKFLOW_INPUT = {"order": "o-1", "amount": 120,
                  "items": [{"sku": f"sku-{number}"} for number in range(4)]}


def task(name: str, next_state: str | None, result_path: str) -> dict[str, Any]:
    """Build a Lambda Task state that the benchmark mocks."""
    state: dict[str, Any] = {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": FUNCTION_ARN, "Payload.$": "$"},
        "ResultPath": result_path,
    }
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def workflow_definition() -> dict[str, Any]:
    """Build the 20-state machine: 12 states at the top level, 2 in the Map, 6 in the Parallel."""
    return {
        "Comment": "Order workflow with 20 states",
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"started": True}, "ResultPath": "$.meta",
                     "Next": "Validate"},
            "Validate": task("Validate", "Route", "$.validation"),
            "Route": {"Type": "Choice", "Choices": [
                {"Variable": "$.validation.Payload.priority", "BooleanEquals": True,
                 "Next": "Priority"}], "Default": "Regular"},
            "Priority": {"Type": "Pass", "Result": "priority", "ResultPath": "$.lane",
                         "Next": "Items"},
            "Regular": {"Type": "Pass", "Result": "regular", "ResultPath": "$.lane",
                        "Next": "Items"},
            "Items": {
                "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
                "ResultPath": "$.priced", "Next": "Fulfil",
                "Iterator": {"StartAt": "Price", "States": {
                    "Price": task("Price", "Tag", "$.price"),
                    "Tag": {"Type": "Pass", "Parameters": {"sku.$": "$.sku",
                                                           "price.$": "$.price.Payload.price"},
                            "End": True},
                }},
            },
            "Fulfil": {
                "Type": "Parallel", "ResultPath": "$.fulfilment", "Next": "Summarize",
                "Branches": [
                    {"StartAt": "Reserve", "States": {
                        "Reserve": task("Reserve", "Reserved", "$.reservation"),
                        "Reserved": {"Type": "Pass", "OutputPath": "$.reservation.Payload",
                                     "End": True},
                    }},
                    {"StartAt": "Charge", "States": {
                        "Charge": task("Charge", "Charged", "$.charge"),
                        "Charged": {"Type": "Choice", "Choices": [
                            {"Variable": "$.charge.Payload.status", "StringEquals": "PAID",
                             "Next": "Paid"}], "Default": "Declined"},
                        "Paid": {"Type": "Pass", "Result": "paid", "End": True},
                        "Declined": {"Type": "Pass", "Result": "declined", "End": True},
                    }},
                ],
            },
            "Summarize": {"Type": "Pass", "Parameters": {
                "order.$": "$.order", "lane.$": "$.lane", "items.$": "$.priced",
                "fulfilment.$": "$.fulfilment", "amount.$": "$.amount"}, "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [
                {"Variable": "$.amount", "NumericGreaterThan": 100, "Next": "Notify"}],
                "Default": "Skip"},
            "Notify": task("Notify", "Done", "$.notification"),
            "Skip": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }


def tasks_as_pass(definition: dict[str, Any]) -> dict[str, Any]:
    """Copy ``definition``, replacing each Task state by a Pass state returning its mock."""
    result = copy.deepcopy(definition)

    def replace(states: dict[str, Any]) -> None:
        for name, state in states.items():
            if state["Type"] == "Task":
                states[name] = {key: value for key, value in state.items()
                                if key in ("Next", "End", "ResultPath")}
                states[name].update(Type="Pass", Result=TASK_RESPONSES[name])
            for nested in [state.get("Iterator"), *state.get("Branches", [])]:
                if nested is not None:
                    replace(nested["States"])

    replace(result["States"])
    return result


def count_states(states: dict[str, Any]) -> int:
    total = 0
    for state in states.values():
        total += 1
        for nested in [state.get("Iterator"), *state.get("Branches", [])]:
            if nested is not None:
                total += count_states(nested["States"])
    return total


def wait_definition() -> dict[str, Any]:
    return {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 300,
                                                   "Next": "End"},
                                          "End": {"Type": "Pass", "End": True}}}


def pass_definition() -> dict[str, Any]:
    """Build Start → Pass → End, the execution of ``wait_definition`` without the wait."""
    return {"StartAt": "Start", "States": {"Start": {"Type": "Pass", "Next": "End"},
                                           "End": {"Type": "Pass", "End": True}}}


def loop_definition(limit: int) -> dict[str, Any]:
    """Build a loop of a Pass and a Choice state that counts ``$.count`` up to ``limit``."""
    return {"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.count", "Next": "Increment"},
        "Increment": {"Type": "Pass",
                      "Parameters": {"count.$": "States.MathAdd($.count, 1)"},
                      "Next": "Loop"},
        "Loop": {"Type": "Choice", "Choices": [
            {"Variable": "$.count", "NumericLessThan": limit, "Next": "Increment"}],
            "Default": "Done"},
        "Done": {"Type": "Succeed"},
    }}


def template(definitions: dict[str, dict[str, Any]]) -> str:
    """Render a SAM template (JSON) with a worker function and one state machine per definition."""
    resources: dict[str, Any] = {
        "Worker": {"Type": "AWS::Serverless::Function",
                   "Properties": {"Runtime": "python3.12", "Handler": "worker.handler",
                                  "CodeUri": "src/", "FunctionName": "bench-worker"}},
    }
    for logical_id, definition in definitions.items():
        resources[logical_id] = {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": {"Definition": definition,
                           "Policies": [{"LambdaInvokePolicy": {"FunctionName":
                                                                {"Ref": "Worker"}}}]},
        }
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09",
                       "Transform": "AWS::Serverless-2016-10-31", "Resources": resources})


def timed(action: Callable[[], object], count: int) -> list[float]:
    """Call ``action`` ``count`` times and return the seconds of each call."""
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return durations


def serve_moto(loop_limit: int) -> None:
    """Run moto's executions on request: the child process of ``MotoWorker``.

    Each request line is ``{"machine": "workflow" | "loop", "count": N}``. The reply line
    contains the wall and startDate-to-stopDate seconds of each execution and the last
    output.
    """
    import boto3
    from moto import mock_aws

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        machine_arns = {
            name: client.create_state_machine(name=f"bench-{name}",
                                              definition=json.dumps(definition),
                                              roleArn=ROLE_ARN)["stateMachineArn"]
            for name, definition in (("workflow", tasks_as_pass(workflow_definition())),
                                     ("loop", loop_definition(loop_limit)))}
        input_text = json.dumps(WORKFLOW_INPUT)
        # moto 5.2.6 names every execution started without a name "None", so the second
        # one fails with ExecutionAlreadyExists.
        names = (f"run-{number}" for number in itertools.count())

        def run(machine_arn: str) -> tuple[float, Any]:
            execution_arn = client.start_execution(stateMachineArn=machine_arn,
                                                   name=next(names),
                                                   input=input_text)["executionArn"]
            while True:
                description = client.describe_execution(executionArn=execution_arn)
                if description["status"] != "RUNNING":
                    break
                time.sleep(POLL_INTERVAL)
            if description["status"] != "SUCCEEDED":
                raise SystemExit(f"moto's execution ended {description['status']}: "
                                 f"{description.get('error')} {description.get('cause')}")
            own = (description["stopDate"] - description["startDate"]).total_seconds()
            return own, json.loads(description["output"])

        for line in sys.stdin:
            request = json.loads(line)
            wall, own, output = [], [], None
            for _ in range(request["count"]):
                started = time.perf_counter()
                own_seconds, output = run(machine_arns[request["machine"]])
                wall.append(time.perf_counter() - started)
                own.append(own_seconds)
            print(json.dumps({"wall": wall, "own": own, "output": output}), flush=True)


class MotoWorker:
    """A child process that runs moto's executions when asked, between windtunnel's."""

    def __init__(self, loop_limit: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--moto-worker", "--loop", str(loop_limit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.wall: dict[str, list[float]] = {"workflow": [], "loop": []}
        self.own: dict[str, list[float]] = {"workflow": [], "loop": []}
        self.output: dict[str, Any] = {}

    def run(self, machine: str, count: int, *, record: bool = True) -> None:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps({"machine": machine, "count": count}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise SystemExit("the moto worker process exited early; see its traceback above")
        reply = json.loads(line)
        self.output[machine] = reply["output"]
        if record:
            self.wall[machine] += reply["wall"]
            self.own[machine] += reply["own"]

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=60)


def write_application(root: Path, loop_limit: int) -> None:
    (root / "src").mkdir()
    (root / "src" / "worker.py").write_text("def handler(event, context):\n    return {}\n")
    definitions = {"Workflow": workflow_definition(),
                   "WorkflowPass": tasks_as_pass(workflow_definition()),
                   "WaitMachine": wait_definition(), "PassMachine": pass_definition(),
                   "LoopMachine": loop_definition(loop_limit)}
    (root / "template.yaml").write_text(template(definitions))


def measure(rounds: int, per_round: int, loop_limit: int, loop_runs: int) -> dict[str, Any]:
    """Alternate blocks of moto's and windtunnel's executions; return every duration."""
    from windtunnel import Stack

    mocks = {name: {"Return": response} for name, response in TASK_RESPONSES.items()}
    durations: dict[str, list[float]] = {}
    outputs: dict[str, Any] = {}
    moto = MotoWorker(loop_limit)
    with tempfile.TemporaryDirectory() as directory:
        write_application(Path(directory), loop_limit)
        with Stack.local(directory, stack_name="bench-sfn") as stack:
            sfn = stack.stepfunctions

            def execute(machine: str, **options: Any) -> Callable[[], None]:
                def run() -> None:
                    result = sfn.execute(machine, WORKFLOW_INPUT, **options)
                    if not result.succeeded:
                        raise SystemExit(f"{machine} ended {result.status}: {result.error} "
                                         f"{result.cause}")
                    outputs[machine] = result

                return run

            client = stack.client("stepfunctions")
            pass_arn = sfn.arn("WorkflowPass")
            input_text = json.dumps(WORKFLOW_INPUT)

            def through_boto3() -> None:
                # No state waits, so StartExecution returns after the execution ended.
                execution_arn = client.start_execution(stateMachineArn=pass_arn,
                                                       input=input_text)["executionArn"]
                description = client.describe_execution(executionArn=execution_arn)
                if description["status"] != "SUCCEEDED":
                    raise SystemExit(f"WorkflowPass through boto3 ended "
                                     f"{description['status']}")

            cases = {"workflow_pass": execute("WorkflowPass"),
                     "workflow_pass_boto3": through_boto3,
                     "workflow_mocked": execute("Workflow", mocks=mocks),
                     "wait_300": execute("WaitMachine"),
                     "pass_only": execute("PassMachine")}
            moto.run("workflow", 20, record=False)
            for name, action in cases.items():
                timed(action, 20)
                durations[name] = []
            for _ in range(rounds):
                moto.run("workflow", per_round)
                for name, action in cases.items():
                    durations[name] += timed(action, per_round)

            clock_before = stack.clock.now()
            execute("WaitMachine")()
            clock_moved = (stack.clock.now() - clock_before).total_seconds()

            moto.run("loop", 1, record=False)
            execute("LoopMachine")()
            durations["loop"] = []
            for _ in range(loop_runs):
                moto.run("loop", 1)
                durations["loop"] += timed(execute("LoopMachine"), 1)
            loop_states = len(outputs["LoopMachine"].path)
    moto.close()

    # Both engines must have computed the same result for the comparison to hold.
    if outputs["WorkflowPass"].output != moto.output["workflow"]:
        raise SystemExit(f"the engines disagree on the output:\nwindtunnel "
                         f"{outputs['WorkflowPass'].output}\nmoto {moto.output['workflow']}")
    if outputs["LoopMachine"].output != moto.output["loop"]:
        raise SystemExit("the engines disagree on the loop's output")
    return {"windtunnel": durations, "moto_wall": moto.wall, "moto_own": moto.own,
            "wait_clock_moved_s": clock_moved, "loop_states": loop_states}


def summarize(measured: dict[str, Any]) -> dict[str, Any]:
    """Reduce every list of durations to its median, in seconds."""
    medians = {name: statistics.median(values)
               for name, values in measured["windtunnel"].items()}
    moto_own = {name: statistics.median(values)
                for name, values in measured["moto_own"].items()}
    moto_wall = {name: statistics.median(values)
                 for name, values in measured["moto_wall"].items()}
    return {"windtunnel_s": medians, "moto_own_s": moto_own, "moto_wall_s": moto_wall,
            "wait_clock_moved_s": measured["wait_clock_moved_s"],
            "loop_states": measured["loop_states"]}


def print_table(summary: dict[str, Any], loop_limit: int) -> None:
    ours = summary["windtunnel_s"]
    moto_own = summary["moto_own_s"]["workflow"]
    moto_wall = summary["moto_wall_s"]["workflow"]
    rows = [
        ("20 states, Tasks as Pass: windtunnel, stack.stepfunctions.execute",
         ours["workflow_pass"]),
        ("20 states, Tasks as Pass: windtunnel, boto3 StartExecution + DescribeExecution",
         ours["workflow_pass_boto3"]),
        ("20 states, Tasks mocked: windtunnel, stack.stepfunctions.execute",
         ours["workflow_mocked"]),
        ("20 states, Tasks as Pass: moto, startDate to stopDate", moto_own),
        ("20 states, Tasks as Pass: moto, wall time with polling", moto_wall),
    ]
    print("| measurement | executions/s | ratio to moto (startDate to stopDate) |")
    print("|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {1 / seconds:,.0f} | {moto_own / seconds:.2f}x |")
    print()
    states = summary["loop_states"]
    print("| measurement | median | target |")
    print("|---|---|---|")
    print(f"| Start → Wait 300 s → End, execute() | {ours['wait_300'] * 1e3:.3f} ms | "
          f"under 1 ms |")
    print(f"| Start → Pass → End, execute() | {ours['pass_only'] * 1e3:.3f} ms | - |")
    print(f"| states entered per second, loop to {loop_limit:,} ({states:,} states), "
          f"windtunnel | {states / ours['loop']:,.0f} | at least 2,000 |")
    print(f"| same loop, moto (startDate to stopDate) | "
          f"{states / summary['moto_own_s']['loop']:,.0f} | - |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10,
                        help="alternating blocks of moto's and windtunnel's executions")
    parser.add_argument("--per-round", type=int, default=20,
                        help="executions of each kind in a block, after 20 warm-up ones")
    parser.add_argument("--loop", type=int, default=2000,
                        help="the count the Pass/Choice loop runs to (2N + 2 states)")
    parser.add_argument("--loop-runs", type=int, default=5,
                        help="timed executions of the loop in each engine, alternating")
    parser.add_argument("--moto-worker", action="store_true",
                        help="serve moto's executions on stdin (used by the benchmark)")
    arguments = parser.parse_args()
    if arguments.moto_worker:
        serve_moto(arguments.loop)
        return

    states = count_states(workflow_definition()["States"])
    if states != 20:
        raise SystemExit(f"the workflow has {states} states, not 20")
    summary = summarize(measure(arguments.rounds, arguments.per_round, arguments.loop,
                                arguments.loop_runs))
    print(json.dumps(summary, indent=2))
    print()
    print_table(summary, arguments.loop)


if __name__ == "__main__":
    main()
