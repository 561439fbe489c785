"""Distributed Map: map runs, child executions, item readers, batching and tolerated failures.

Sources:
- A Distributed Map runs each item as a child workflow execution of its own map run; the
  parent records MapRunStarted and MapRunSucceeded; MaxConcurrency bounds the child
  executions running at once; ToleratedFailureCount and ToleratedFailurePercentage, past
  which the map run fails with States.ExceedToleratedFailureThreshold:
  https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
- DescribeMapRun (status, itemCounts, executionCounts), ListMapRuns, and ListExecutions
  with mapRunArn:
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
- ItemReader reads a JSON array, JSON Lines or CSV (header in the first row) from S3 with
  the state machine's role; ItemBatcher's MaxItemsPerBatch gives each child
  {"Items": [...]} and BatchInput:
  https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
  https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

PROCESSOR = {
    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.bad", "IsPresent": True, "Next": "Reject"}], "Default": "Pause"},
        "Reject": {"Type": "Fail", "Error": "BadItem", "Cause": "the item is bad"},
        "Pause": {"Type": "Wait", "Seconds": 10, "Next": "Keep"},
        "Keep": {"Type": "Pass", "End": True},
    },
}

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Items: {Type: AWS::S3::Bucket}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Policies: [{S3ReadPolicy: {BucketName: !Ref Items}}]
      Definition:
        StartAt: Start
        States:
          Start: {Type: Pass, End: true}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("distributed-map")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root) as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def _reset(stack: EmulatedStack) -> None:
    stack.reset()


def _role(stack: EmulatedStack) -> str:
    machine = stack.client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.physical_id("Machine"))
    return str(machine["roleArn"])


def _run(stack: EmulatedStack, map_state: dict[str, Any], body: Any) -> tuple[Any, str]:
    client = stack.client("stepfunctions")
    definition = {"StartAt": "Map", "States": {"Map": {**map_state, "End": True}}}
    name = f"map-{abs(hash(json.dumps(map_state, sort_keys=True))) % 10**8}"
    try:
        arn = client.create_state_machine(name=name, definition=json.dumps(definition),
                                          roleArn=_role(stack))["stateMachineArn"]
    except client.exceptions.StateMachineAlreadyExists:
        arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    execution = client.start_execution(stateMachineArn=arn, input=json.dumps(body))
    return client, str(execution["executionArn"])


def test_each_item_runs_as_a_child_execution(stack: EmulatedStack) -> None:
    client, arn = _run(stack, {"Type": "Map", "Label": "Orders", "ItemsPath": "$.items",
                               "MaxConcurrency": 2, "ItemProcessor": PROCESSOR},
                       {"items": [{"n": 1}, {"n": 2}, {"n": 3}]})
    stack.clock.advance(30)

    described = client.describe_execution(executionArn=arn)
    types = [event["type"] for event in client.get_execution_history(executionArn=arn)["events"]]
    [run] = client.list_map_runs(executionArn=arn)["mapRuns"]
    details = client.describe_map_run(mapRunArn=run["mapRunArn"])
    children = client.list_executions(mapRunArn=run["mapRunArn"])["executions"]

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert types == ["ExecutionStarted", "MapStateEntered", "MapRunStarted", "MapRunSucceeded",
                     "MapStateExited", "ExecutionSucceeded"]
    assert ":mapRun:" in run["mapRunArn"]
    assert "/Orders:" in run["mapRunArn"]
    assert details["status"] == "SUCCEEDED"
    assert details["itemCounts"]["succeeded"] == 3
    assert details["itemCounts"]["total"] == 3
    # Two at a time: two rounds of a 10-second wait.
    assert (details["stopDate"] - details["startDate"]).total_seconds() == 20
    assert len(children) == 3
    assert all("/Orders:" in child["executionArn"] for child in children)


def test_tolerated_failures_and_the_threshold(stack: EmulatedStack) -> None:
    items = {"items": [{"n": 1}, {"bad": True}, {"n": 3}, {"bad": True}]}
    one_tolerated = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": PROCESSOR,
                     "ToleratedFailureCount": 1}
    half_tolerated = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": PROCESSOR,
                      "ToleratedFailurePercentage": 50}

    client, exceeded = _run(stack, one_tolerated, items)
    _, within = _run(stack, half_tolerated, items)
    stack.clock.advance(30)

    failed = client.describe_execution(executionArn=exceeded)
    assert (failed["status"], failed["error"]) == (
        "FAILED", "States.ExceedToleratedFailureThreshold")
    assert client.describe_execution(executionArn=within)["status"] == "SUCCEEDED"


def test_item_reader_and_batcher(stack: EmulatedStack) -> None:
    s3 = stack.client("s3")
    bucket = stack.physical_id("Items")
    s3.put_object(Bucket=bucket, Key="orders.csv", Body=b"id,total\n1,10\n2,20\n3,30\n")
    map_state = {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Parameters": {"Bucket": bucket, "Key": "orders.csv"}},
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"source": "csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED",
                                              "ExecutionType": "EXPRESS"},
                          "StartAt": "Keep", "States": {"Keep": {"Type": "Pass", "End": True}}},
    }

    client, arn = _run(stack, map_state, {})

    described = client.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == [
        {"BatchInput": {"source": "csv"},
         "Items": [{"id": "1", "total": "10"}, {"id": "2", "total": "20"}]},
        {"BatchInput": {"source": "csv"}, "Items": [{"id": "3", "total": "30"}]},
    ]
