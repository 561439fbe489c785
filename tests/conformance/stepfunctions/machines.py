"""Run Amazon States Language definitions in an emulated stack for the conformance tables.

One stack per test module contains a Python Lambda function and a state machine whose role
may invoke it; every definition a test runs becomes a state machine with that role.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from windtunnel import Stack
from windtunnel.stack.stepfunctions import ExecutionResult

__all__ = ["Machines", "elapsed_seconds", "event_types", "history_links", "single", "task"]

logger = logging.getLogger(__name__)

# The function returns {"value": 2 * n} for an event with "n", raises CustomError when the
# event's "error" is "CustomError", and returns any other event unchanged.
_HANDLER = textwrap.dedent('''
    class CustomError(Exception):
        pass


    def handler(event, context):
        if isinstance(event, dict) and event.get("error") == "CustomError":
            raise CustomError(event.get("message", "raised on request"))
        if isinstance(event, dict) and "n" in event:
            return {"value": event["n"] * 2}
        return event
''')

_TEMPLATE = textwrap.dedent('''
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Resources:
      Worker:
        Type: AWS::Serverless::Function
        Properties:
          Runtime: python3.12
          Handler: app.handler
          CodeUri: src/
      Machine:
        Type: AWS::Serverless::StateMachine
        Properties:
          Policies:
            - LambdaInvokePolicy:
                FunctionName: !Ref Worker
          Definition:
            StartAt: Done
            States:
              Done:
                Type: Pass
                End: true
    Outputs:
      RoleArn:
        Value: !GetAtt MachineRole.Arn
      FunctionArn:
        Value: !GetAtt Worker.Arn
''')


class Machines:
    """Creates state machines from definitions and runs executions of them."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.role_arn = str(stack.outputs["RoleArn"])
        self.function_arn = str(stack.outputs["FunctionArn"])
        self._client = stack.client("stepfunctions")
        self._arns: dict[str, str] = {}

    @classmethod
    @contextmanager
    def start(cls, directory: Path) -> Iterator[Machines]:
        """Write the template into ``directory`` and load it into a new emulated stack."""
        (directory / "src").mkdir()
        (directory / "src" / "app.py").write_text(_HANDLER, encoding="utf-8")
        (directory / "template.yaml").write_text(_TEMPLATE, encoding="utf-8")
        with Stack.local(directory / "template.yaml") as stack:
            yield cls(stack)

    def create(self, definition: Mapping[str, Any]) -> str:
        """Create a state machine for ``definition`` (once per distinct definition)."""
        text = json.dumps(definition, sort_keys=True)
        arn = self._arns.get(text)
        if arn is None:
            name = "m-" + hashlib.sha256(text.encode()).hexdigest()[:24]
            arn = self._client.create_state_machine(
                name=name, definition=json.dumps(definition), roleArn=self.role_arn
            )["stateMachineArn"]
            self._arns[text] = arn
        return arn

    def run(self, definition: Mapping[str, Any], execution_input: Any = None, *,
            mocks: Mapping[str, Any] | None = None) -> ExecutionResult:
        """Run ``definition`` on ``execution_input`` to its end; what the execution did."""
        arn = self.create(definition)
        return self.stack.stepfunctions.execute(arn, execution_input, mocks=mocks)  # type: ignore[no-any-return]

    def now(self) -> datetime.datetime:
        """The stack's virtual time."""
        return self.stack.clock.now()  # type: ignore[no-any-return]


def event_types(result: ExecutionResult) -> list[str]:
    """The types of the execution's history events, in order."""
    return [event["type"] for event in result.history]


def history_links(result: ExecutionResult) -> list[tuple[int, int, str]]:
    """Each event as (id, previousEventId, type)."""
    return [(event["id"], event["previousEventId"], event["type"])
            for event in result.history]


def elapsed_seconds(result: ExecutionResult) -> float:
    """Virtual seconds from the execution's first history event to its last."""
    first = result.history[0]["timestamp"]
    last = result.history[-1]["timestamp"]
    return float(last - first)


def task(name: str = "Work", **fields: Any) -> dict[str, Any]:
    """A Task state calling the Lambda invoke integration (mocked by ``name`` in tests)."""
    state: dict[str, Any] = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                             "Parameters": {"FunctionName": "worker", "Payload.$": "$"}}
    state.update(fields)
    if "Next" not in state and "End" not in state:
        state["End"] = True
    return state


def single(state: Mapping[str, Any], name: str = "State", **top: Any) -> dict[str, Any]:
    """A definition of one state that ends the execution."""
    body = dict(state)
    if body.get("Type") not in ("Succeed", "Fail", "Choice") and "Next" not in body:
        body["End"] = True
    return {"StartAt": name, "States": {name: body}, **top}
