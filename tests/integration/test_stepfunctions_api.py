"""The Step Functions API on the embedded cloud: executions, history, callbacks and errors.

Sources:
- StartExecution: "If StartExecution is called with the same name and input as a running
  execution, the call succeeds and return the same response as the original request. If
  the execution is closed or if the input is different, it returns a 400
  ExecutionAlreadyExists error."; InvalidExecutionInput; StateMachineDoesNotExist.
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
- DescribeExecution fields and statuses:
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
- GetExecutionHistory (maxResults, nextToken, reverseOrder) and HistoryEvent (id,
  previousEventId, one details member):
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
- Task tokens, TimeoutSeconds and HeartbeatSeconds ("States.Timeout",
  "States.HeartbeatTimeout"); SendTaskSuccess after the task ended answers TaskTimedOut:
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
- StopExecution and the ExecutionAborted event:
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html
- StartSyncExecution runs Express workflows only ("StateMachineTypeNotSupported"):
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html
- A Lambda function ARN as Resource (the older form) returns the function's output as the
  result and records LambdaFunction* events; the function's error type is the error name:
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
- SAM's StepFunctionsCallbackPolicy grants states:SendTaskSuccess on the state machine's
  ARN, and AWS checks the callback against the state machine that issued the token:
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html#stepfunctions-callback-policy
- Express workflows run for at most five minutes:
  https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html
- "Execution history: 25,000 events" per execution; an execution that reaches it fails:
  https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
- Versions and aliases; an alias routes executions to its versions by weight and
  DescribeExecution names both:
  https://docs.aws.amazon.com/step-functions/latest/dg/execution-alias.html
- Mock configuration files and the #TestCase suffix of Step Functions Local:
  https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel import EmulatedStack, Stack

HANDLERS = """
class PaymentDeclined(Exception):
    pass


def echo(event, context):
    return {"echo": event}


def decline(event, context):
    raise PaymentDeclined("card 4242 was declined")


def approve(event, context):
    import json

    import boto3

    boto3.client("stepfunctions").send_task_success(
        taskToken=event["token"], output=json.dumps({"approved": True}))
    return {}
"""

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/}
Resources:
  Echo: {Type: AWS::Serverless::Function, Properties: {Handler: app.echo}}
  Decline: {Type: AWS::Serverless::Function, Properties: {Handler: app.decline}}
  Waiting:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Prepare
        States:
          Prepare: {Type: Pass, Result: {"ready": true}, ResultPath: $.prepared, Next: Pause}
          Pause: {Type: Wait, Seconds: 300, Next: Done}
          Done: {Type: Succeed}
  Callback:
    Type: AWS::Serverless::StateMachine
    Properties:
      Policies: [{LambdaInvokePolicy: {FunctionName: !Ref Echo}}]
      Definition:
        StartAt: AskForApproval
        States:
          AskForApproval:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke.waitForTaskToken
            Parameters:
              FunctionName: !Ref Echo
              Payload: {"token.$": "$$.Task.Token", "order.$": "$.order"}
            TimeoutSeconds: 600
            HeartbeatSeconds: 60
            End: true
  Legacy:
    Type: AWS::Serverless::StateMachine
    Properties:
      Policies: [{LambdaInvokePolicy: {FunctionName: !Ref Decline}}]
      Definition:
        StartAt: Charge
        States:
          Charge:
            Type: Task
            Resource: !GetAtt Decline.Arn
            Catch: [{ErrorEquals: [PaymentDeclined], ResultPath: $.failure, Next: Declined}]
            End: true
          Declined: {Type: Pass, End: true}
  Unauthorized:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Call
        States:
          Call:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke
            Parameters: {FunctionName: !Ref Echo, Payload: {}}
            End: true
  Approver:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.approve
      Policies: [{StepFunctionsCallbackPolicy: {StateMachineName: AutoApprovals}}]
  Outbox: {Type: AWS::SQS::Queue}
  AutoApprovals:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: AutoApprovals
      Policies:
        - LambdaInvokePolicy: {FunctionName: !Ref Approver}
        - SQSSendMessagePolicy: {QueueName: !GetAtt Outbox.QueueName}
      Definition:
        StartAt: Approve
        States:
          Approve:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke.waitForTaskToken
            Parameters: {FunctionName: !Ref Approver, Payload: {"token.$": "$$.Task.Token"}}
            Next: Notify
          Notify:
            Type: Task
            Resource: arn:aws:states:::sqs:sendMessage
            Parameters: {QueueUrl: !Ref Outbox, "MessageBody.$": "$"}
            End: true
  Express:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition:
        StartAt: Answer
        States:
          Answer: {Type: Pass, Parameters: {"total.$": "States.MathAdd($.a, $.b)"}, End: true}
  Spinning:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Spin
        States:
          Spin: {Type: Pass, Next: Check}
          Check:
            Type: Choice
            Choices: [{Variable: $.stop, IsPresent: true, Next: Done}]
            Default: Spin
          Done: {Type: Succeed}
  SlowExpress:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition:
        StartAt: Pause
        States:
          Pause: {Type: Wait, Seconds: 400, End: true}
Outputs:
  SpinningArn: {Value: !Ref Spinning}
  SlowExpressArn: {Value: !Ref SlowExpress}
  WaitingArn: {Value: !Ref Waiting}
  CallbackArn: {Value: !Ref Callback}
  LegacyArn: {Value: !Ref Legacy}
  UnauthorizedArn: {Value: !Ref Unauthorized}
  ExpressArn: {Value: !Ref Express}
  AutoApprovalsArn: {Value: !Ref AutoApprovals}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("sfn-api")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLERS)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root) as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def _reset(stack: EmulatedStack) -> None:
    stack.reset()


def _start(stack: EmulatedStack, output: str, body: Any = None, **options: Any) -> str:
    client = stack.client("stepfunctions")
    response = client.start_execution(stateMachineArn=stack.outputs[output],
                                      input=json.dumps(body or {}), **options)
    return str(response["executionArn"])


def _describe(stack: EmulatedStack, arn: str) -> dict[str, Any]:
    return dict(stack.client("stepfunctions").describe_execution(executionArn=arn))


def _history(stack: EmulatedStack, arn: str, **options: Any) -> list[dict[str, Any]]:
    return list(stack.client("stepfunctions").get_execution_history(
        executionArn=arn, **options)["events"])


def test_an_execution_waits_on_the_clock_and_then_succeeds(stack: EmulatedStack) -> None:
    arn = _start(stack, "WaitingArn", {"order": 1})

    assert _describe(stack, arn)["status"] == "RUNNING"
    stack.clock.advance(299)
    assert _describe(stack, arn)["status"] == "RUNNING"
    stack.clock.advance(1)

    described = _describe(stack, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"order": 1, "prepared": {"ready": True}}
    assert (described["stopDate"] - described["startDate"]).total_seconds() == 300


def test_history_events_chain_their_ids(stack: EmulatedStack) -> None:
    arn = _start(stack, "WaitingArn")
    stack.clock.advance(300)

    events = _history(stack, arn)

    assert [event["type"] for event in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered",
        "WaitStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]
    assert [event["id"] for event in events] == list(range(1, 9))
    # The first state's events link to 0, not to ExecutionStarted.
    assert [event["previousEventId"] for event in events] == [0, 0, 2, 3, 4, 5, 6, 7]
    assert events[1]["stateEnteredEventDetails"] == {
        "name": "Prepare", "input": "{}", "inputDetails": {"truncated": False}}
    assert json.loads(events[2]["stateExitedEventDetails"]["output"]) == {
        "prepared": {"ready": True}}


def test_history_pages_and_reverse_order(stack: EmulatedStack) -> None:
    arn = _start(stack, "WaitingArn")
    stack.clock.advance(300)
    client = stack.client("stepfunctions")

    first = client.get_execution_history(executionArn=arn, maxResults=3)
    second = client.get_execution_history(executionArn=arn, maxResults=3,
                                          nextToken=first["nextToken"])
    reversed_events = _history(stack, arn, reverseOrder=True)

    assert [event["id"] for event in first["events"]] == [1, 2, 3]
    assert [event["id"] for event in second["events"]] == [4, 5, 6]
    assert [event["id"] for event in reversed_events] == list(range(8, 0, -1))


def test_same_name_and_input_while_running_returns_the_same_execution(
        stack: EmulatedStack) -> None:
    first = _start(stack, "WaitingArn", {"a": 1}, name="order-7")
    again = _start(stack, "WaitingArn", {"a": 1}, name="order-7")

    with pytest.raises(ClientError) as different_input:
        _start(stack, "WaitingArn", {"a": 2}, name="order-7")

    assert again == first
    assert different_input.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_a_closed_execution_name_cannot_be_reused(stack: EmulatedStack) -> None:
    _start(stack, "WaitingArn", {"a": 1}, name="order-8")
    stack.clock.advance(300)

    with pytest.raises(ClientError) as raised:
        _start(stack, "WaitingArn", {"a": 1}, name="order-8")

    assert raised.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_invalid_input_and_unknown_machines_are_rejected(stack: EmulatedStack) -> None:
    client = stack.client("stepfunctions")
    machine = stack.outputs["WaitingArn"]

    with pytest.raises(ClientError) as invalid:
        client.start_execution(stateMachineArn=machine, input="{not json")
    with pytest.raises(ClientError) as missing:
        client.start_execution(stateMachineArn=machine + "Gone")
    with pytest.raises(ClientError) as no_execution:
        client.describe_execution(
            executionArn=machine.replace(":stateMachine:", ":execution:") + ":nope")

    assert invalid.value.response["Error"]["Code"] == "InvalidExecutionInput"
    assert missing.value.response["Error"]["Code"] == "StateMachineDoesNotExist"
    assert no_execution.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def _token(stack: EmulatedStack, arn: str) -> str:
    scheduled = next(event for event in _history(stack, arn) if event["type"] == "TaskScheduled")
    parameters = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
    return str(parameters["Payload"]["token"])


def test_send_task_success_completes_a_waiting_task(stack: EmulatedStack) -> None:
    arn = _start(stack, "CallbackArn", {"order": "o-1"})
    token = _token(stack, arn)
    assert _describe(stack, arn)["status"] == "RUNNING"

    stack.client("stepfunctions").send_task_success(taskToken=token,
                                                    output=json.dumps({"approved": True}))

    described = _describe(stack, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"approved": True}
    types = [event["type"] for event in _history(stack, arn)]
    assert types[2:7] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded",
                          "TaskStateExited"]


def test_send_task_failure_fails_the_task_with_its_error(stack: EmulatedStack) -> None:
    arn = _start(stack, "CallbackArn", {"order": "o-2"})

    stack.client("stepfunctions").send_task_failure(taskToken=_token(stack, arn),
                                                    error="Rejected", cause="no stock")

    described = _describe(stack, arn)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED", "Rejected", "no stock")


def test_a_task_without_heartbeat_times_out(stack: EmulatedStack) -> None:
    arn = _start(stack, "CallbackArn", {"order": "o-3"})
    token = _token(stack, arn)
    client = stack.client("stepfunctions")

    stack.clock.advance(59)
    client.send_task_heartbeat(taskToken=token)
    stack.clock.advance(59)
    assert _describe(stack, arn)["status"] == "RUNNING"
    stack.clock.advance(2)

    described = _describe(stack, arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.HeartbeatTimeout")
    assert "TaskTimedOut" in [event["type"] for event in _history(stack, arn)]
    with pytest.raises(ClientError) as late:
        client.send_task_success(taskToken=token, output="{}")
    assert late.value.response["Error"]["Code"] == "TaskTimedOut"


def test_a_function_sends_the_token_back_during_its_own_task(stack: EmulatedStack) -> None:
    arn = _start(stack, "AutoApprovalsArn")

    described = _describe(stack, arn)
    messages = stack.client("sqs").receive_message(QueueUrl=stack.physical_id("Outbox"),
                                                   MaxNumberOfMessages=10)["Messages"]

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["MessageId"] == messages[0]["MessageId"]
    # One SendMessage call sends one message.
    assert [json.loads(message["Body"]) for message in messages] == [{"approved": True}]


def test_stop_execution_aborts_it(stack: EmulatedStack) -> None:
    arn = _start(stack, "WaitingArn")

    stack.client("stepfunctions").stop_execution(executionArn=arn, error="Cancelled",
                                                 cause="the customer left")
    stack.clock.advance(600)

    described = _describe(stack, arn)
    assert (described["status"], described["error"]) == ("ABORTED", "Cancelled")
    last = _history(stack, arn)[-1]
    assert last["type"] == "ExecutionAborted"
    assert last["executionAbortedEventDetails"] == {"error": "Cancelled",
                                                    "cause": "the customer left"}


def test_a_function_arn_resource_records_lambda_events_and_catches_its_error(
        stack: EmulatedStack) -> None:
    arn = _start(stack, "LegacyArn", {"card": "4242"})

    described = _describe(stack, arn)
    events = _history(stack, arn)

    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["failure"]["Error"] == "PaymentDeclined"
    assert json.loads(output["failure"]["Cause"])["errorMessage"] == "card 4242 was declined"
    assert [event["type"] for event in events[2:5]] == [
        "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed"]
    assert events[4]["lambdaFunctionFailedEventDetails"]["error"] == "PaymentDeclined"


def test_the_role_must_allow_invoking_the_function(stack: EmulatedStack) -> None:
    arn = _start(stack, "UnauthorizedArn")

    described = _describe(stack, arn)

    # Lambda's API model declares no AccessDeniedException: the SDK reports its
    # catch-all exception.
    assert described["status"] == "FAILED"
    assert described["error"] == "Lambda.AWSLambdaException"
    assert "is not authorized to perform: lambda:InvokeFunction" in described["cause"]
    assert "Status Code: 403; Error Code: AccessDeniedException" in described["cause"]


def test_start_sync_execution_runs_an_express_workflow(stack: EmulatedStack) -> None:
    client = stack.client("stepfunctions")

    answer = client.start_sync_execution(stateMachineArn=stack.outputs["ExpressArn"],
                                         input=json.dumps({"a": 2, "b": 3}))
    with pytest.raises(ClientError) as standard:
        client.start_sync_execution(stateMachineArn=stack.outputs["WaitingArn"])

    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"total": 5}
    assert standard.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


def test_an_express_execution_stops_after_five_minutes(stack: EmulatedStack) -> None:
    answer = stack.client("stepfunctions").start_sync_execution(
        stateMachineArn=stack.outputs["SlowExpressArn"])

    assert answer["status"] == "TIMED_OUT"
    assert (answer["stopDate"] - answer["startDate"]).total_seconds() == 300


def test_a_loop_without_end_stops_at_the_history_quota(stack: EmulatedStack) -> None:
    arn = _start(stack, "SpinningArn")

    described = _describe(stack, arn)
    events = _history(stack, arn, maxResults=1, reverseOrder=True)

    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert events[0]["id"] == 25_001


def test_an_alias_routes_to_its_version(stack: EmulatedStack) -> None:
    client = stack.client("stepfunctions")
    machine = stack.outputs["ExpressArn"]
    version = client.publish_state_machine_version(stateMachineArn=machine)
    alias = client.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": version["stateMachineVersionArn"], "weight": 100}])

    answer = client.start_sync_execution(stateMachineArn=alias["stateMachineAliasArn"],
                                         input=json.dumps({"a": 1, "b": 1}))

    assert json.loads(answer["output"]) == {"total": 2}
    assert answer["stateMachineArn"] == machine


def test_list_executions_filters_by_status(stack: EmulatedStack) -> None:
    running = _start(stack, "WaitingArn", {"n": 1})
    client = stack.client("stepfunctions")
    finished = _start(stack, "LegacyArn")

    listed = client.list_executions(stateMachineArn=stack.outputs["WaitingArn"],
                                    statusFilter="RUNNING")["executions"]

    assert [item["executionArn"] for item in listed] == [running]
    assert finished not in [item["executionArn"] for item in listed]


MOCK_FILE = {
    "StateMachines": {},
    "MockedResponses": {
        "Approved": {"0": {"Return": {"approved": "by mock"}}},
        "Throttled": {"0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException",
                                        "Cause": "slow down"}}},
    },
}


def test_a_test_case_suffix_selects_mocks_from_the_configuration_file(
        tmp_path: Path) -> None:
    root = tmp_path / "app"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(HANDLERS)
    (root / "template.yaml").write_text(TEMPLATE.replace(
        "  Callback:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n",
        "  Callback:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      Name: Approvals\n"))
    mock_file = dict(MOCK_FILE)
    mock_file["StateMachines"] = {"Approvals": {"TestCases": {
        "HappyPath": {"AskForApproval": "Approved"},
        "Throttled": {"AskForApproval": "Throttled"}}}}
    config = tmp_path / "MockConfigFile.json"
    config.write_text(json.dumps(mock_file))

    with Stack.local(root, sfn_mock_config=config) as mocked:
        client = mocked.client("stepfunctions")
        machine = mocked.outputs["CallbackArn"]
        order = json.dumps({"order": "o-9"})
        happy = client.start_execution(stateMachineArn=machine + "#HappyPath",
                                       input=order)["executionArn"]
        throttled = client.start_execution(stateMachineArn=machine + "#Throttled",
                                           input=order)["executionArn"]
        with pytest.raises(ClientError) as unknown:
            client.start_execution(stateMachineArn=machine + "#Missing")

        assert json.loads(_describe(mocked, happy)["output"]) == {"approved": "by mock"}
        assert _describe(mocked, throttled)["error"] == "Lambda.TooManyRequestsException"
        assert unknown.value.response["Error"]["Code"] == "InvalidName"
