"""Invocation semantics of the Python runtime, in process and in a child process that
speaks the Lambda Runtime API: every test runs in both isolation modes.

Sources:
- Invoke API: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
- Errors of Python functions: https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
- Runtime error types and messages: AWS's runtime interface client for Python,
  https://github.com/aws/aws-lambda-python-runtime-interface-client (bootstrap.py,
  lambda_runtime_marshaller.py)
- Environment variables: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
- Context: https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.stack.local import InvocationError

HANDLERS = '''
import json, os, sys, time, decimal, datetime
import helper

def echo(event, context):
    print("event", json.dumps(event))
    return {"event": event, "helper": helper.NAME}

def fail(event, context):
    raise ValueError("bad input")

def context_info(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
    }

def environment(event, context):
    return {name: os.environ.get(name) for name in event["names"]}

def slow(event, context):
    time.sleep(event.get("seconds", 5))
    return "done"

def exit_process(event, context):
    sys.exit(1)

def exit_interpreter(event, context):
    print("before exit", flush=True)
    os._exit(3)

def slow_then_write(event, context):
    time.sleep(event["seconds"])
    with open(event["path"], "w") as file:
        file.write("still running")
    return "done"

def put_parameter(event, context):
    import boto3
    boto3.client("ssm").put_parameter(Name=event["name"], Value=event["value"],
                                      Type="String")
    return "stored"

def not_json(event, context):
    return {"when": datetime.datetime(2024, 1, 1)}

def decimals(event, context):
    return {"price": decimal.Decimal("1.10")}

def large(event, context):
    return "x" * (6 * 1024 * 1024 + 1)

def wait_and_report(event, context):
    time.sleep(0.2)
    return os.environ["OWN_VALUE"], os.environ["AWS_ACCESS_KEY_ID"]
'''

TEMPLATE = '''
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Timeout: 3
Resources:
  Echo: {Type: AWS::Serverless::Function, Properties: {Handler: app.echo}}
  Fail: {Type: AWS::Serverless::Function, Properties: {Handler: app.fail}}
  ContextInfo:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.context_info, MemorySize: 256}
  Environment:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.environment
      Environment: {Variables: {TABLE_NAME: orders}}
  Slow: {Type: AWS::Serverless::Function, Properties: {Handler: app.slow, Timeout: 1}}
  ExitProcess: {Type: AWS::Serverless::Function, Properties: {Handler: app.exit_process}}
  ExitInterpreter:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.exit_interpreter}
  SlowThenWrite:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.slow_then_write, Timeout: 1}
  PutParameter:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.put_parameter
      Policies:
        - Statement:
            - {Effect: Allow, Action: ssm:PutParameter, Resource: "*"}
  NotJson: {Type: AWS::Serverless::Function, Properties: {Handler: app.not_json}}
  Decimals: {Type: AWS::Serverless::Function, Properties: {Handler: app.decimals}}
  Large: {Type: AWS::Serverless::Function, Properties: {Handler: app.large}}
  Other:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: other/, Handler: app.echo}
  MissingModule: {Type: AWS::Serverless::Function, Properties: {Handler: nowhere.handler}}
  MissingHandler: {Type: AWS::Serverless::Function, Properties: {Handler: app.nothing}}
  SyntaxError:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: broken/, Handler: app.handler}
  Malformed: {Type: AWS::Serverless::Function, Properties: {Handler: nodot}}
  First:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.wait_and_report
      Environment: {Variables: {OWN_VALUE: first}}
  Second:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.wait_and_report
      Environment: {Variables: {OWN_VALUE: second}}
  Limited:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.slow, ReservedConcurrentExecutions: 1}
'''


@pytest.fixture(scope="module", params=["thread", "process"])
def stack(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("functions")
    for directory, files in {
        "src": {"app.py": HANDLERS, "helper.py": "NAME = 'src helper'\n"},
        "other": {"app.py": HANDLERS, "helper.py": "NAME = 'other helper'\n"},
        "broken": {"app.py": "def handler(event, context)\n    return 1\n"},
    }.items():
        (root / directory).mkdir()
        for name, text in files.items():
            (root / directory / name).write_text(text)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="invoke", isolation=request.param) as loaded:
        yield loaded


def test_success_returns_payload_and_logs(stack: EmulatedStack) -> None:
    """A handler's return value is the payload; its output is in the log between
    START and REPORT."""
    result = stack.invoke("Echo", {"order": 1})

    assert result.status_code == 200
    assert result.function_error is None
    assert result.payload == {"event": {"order": 1}, "helper": "src helper"}
    assert 'event {"order": 1}' in result.logs
    assert f"START RequestId: {result.request_id} Version: $LATEST" in result.logs
    assert f"END RequestId: {result.request_id}" in result.logs
    assert f"REPORT RequestId: {result.request_id}\tDuration: " in result.logs


def test_cold_start_reports_init_duration_once(stack: EmulatedStack) -> None:
    """REPORT has Init Duration on the first invocation of an environment only."""
    stack.environment.functions.discard(stack.function_name("Echo"))

    cold = stack.invoke("Echo", {})
    warm = stack.invoke("Echo", {})

    assert cold.init_duration_ms is not None
    assert "Init Duration: " in cold.logs
    assert "INIT_START" in cold.logs
    assert warm.init_duration_ms is None
    assert "Init Duration" not in warm.logs


def test_unhandled_exception_payload(stack: EmulatedStack) -> None:
    """An exception becomes errorMessage, errorType, requestId and stackTrace."""
    result = stack.invoke("Fail", {})
    error = result.error

    assert result.function_error == "Unhandled"
    assert error is not None
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input"
    assert error["requestId"] == result.request_id
    assert 'raise ValueError("bad input")' in error["stackTrace"][-1]
    assert "[ERROR] ValueError: bad input\rTraceback (most recent call last):" in result.logs


@pytest.mark.parametrize(("function", "error_type", "message"), [
    ("MissingModule", "Runtime.ImportModuleError",
     "Unable to import module 'nowhere': No module named 'nowhere'"),
    ("MissingHandler", "Runtime.HandlerNotFound", "Handler 'nothing' missing on module 'app'"),
    ("SyntaxError", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app': "),
    ("Malformed", "Runtime.MalformedHandlerName", "Bad handler 'nodot': "),
])
def test_initialization_errors(stack: EmulatedStack, function: str, error_type: str,
                               message: str) -> None:
    """Errors loading the handler have the runtime's own error types and messages."""
    result = stack.invoke(function, {})
    error = result.error

    assert result.function_error == "Unhandled"
    assert error is not None
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    assert "LAMBDA_WARNING: Unhandled exception." in result.logs


def test_response_that_is_not_json(stack: EmulatedStack) -> None:
    """A return value JSON cannot encode is Runtime.MarshalError."""
    error = stack.invoke("NotJson", {}).error

    assert error is not None
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"] == ("Unable to marshal response: Object of type datetime is "
                                     "not JSON serializable")


def test_decimal_keeps_its_digits(stack: EmulatedStack) -> None:
    """Decimal values are written with their own digits, as the runtime's encoder does."""
    assert stack.invoke("Decimals", {}).raw_payload == b'{"price": 1.10}'


def test_response_too_large(stack: EmulatedStack) -> None:
    """A response over 6 MB is Function.ResponseSizeTooLarge."""
    error = stack.invoke("Large", {}).error

    assert error is not None
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert error["errorMessage"] == ("Response payload size exceeded maximum allowed payload "
                                     "size (6291556 bytes).")


def test_request_too_large(stack: EmulatedStack) -> None:
    """An event over 6 MB is rejected with RequestTooLargeException (413)."""
    with pytest.raises(InvocationError) as caught:
        stack.invoke("Echo", "x" * (6 * 1024 * 1024))

    assert caught.value.code == "RequestTooLargeException"
    assert caught.value.status == 413


def test_timeout_then_next_invocation_works(stack: EmulatedStack) -> None:
    """A timeout returns Sandbox.Timedout; the next invocation gets a fresh environment."""
    result = stack.invoke("Slow", {"seconds": 3})
    error = result.error

    assert error == {"errorType": "Sandbox.Timedout",
                     "errorMessage": f"RequestId: {result.request_id} Error: Task timed out "
                                     f"after 1.00 seconds"}
    assert f"{result.request_id} Task timed out after 1.00 seconds" in result.logs
    assert stack.invoke("Slow", {"seconds": 0}).payload == "done"


def test_exit_does_not_stop_the_process(stack: EmulatedStack) -> None:
    """sys.exit in a handler is Runtime.ExitError, and the next invocation works."""
    result = stack.invoke("ExitProcess", {})
    error = result.error

    assert error is not None
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"] == (f"RequestId: {result.request_id} Error: Runtime exited "
                                     f"with error: exit status 1")
    assert stack.invoke("Echo", {"after": "exit"}).payload["event"] == {"after": "exit"}


def test_interpreter_exit_is_exit_error(stack: EmulatedStack) -> None:
    """os._exit in a handler is Runtime.ExitError with the exit status (process mode only:
    in a thread it would end the test process)."""
    if stack.environment.functions.isolation != "process":
        pytest.skip("os._exit ends the whole process when handlers run in threads")
    result = stack.invoke("ExitInterpreter", {})
    error = result.error

    assert error == {"errorType": "Runtime.ExitError",
                     "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited "
                                     f"with error: exit status 3"}
    assert "before exit" in result.logs
    assert stack.invoke("Echo", {"after": "crash"}).payload["event"] == {"after": "crash"}


def test_timeout_stops_the_handler(stack: EmulatedStack, tmp_path: Path) -> None:
    """A timed-out handler is killed, so it never gets to finish (process mode only:
    a thread cannot be stopped from outside)."""
    if stack.environment.functions.isolation != "process":
        pytest.skip("a handler thread keeps running after its invocation timed out")
    path = tmp_path / "written"

    result = stack.invoke("SlowThenWrite", {"seconds": 1.5, "path": str(path)})
    time.sleep(1)

    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert not path.exists()


def test_handler_calls_reach_the_emulation(stack: EmulatedStack) -> None:
    """The handler's boto3 calls reach the embedded cloud with the function's role."""
    result = stack.invoke("PutParameter", {"name": "/from/handler", "value": "42"})

    assert result.payload == "stored"
    parameter = stack.client("ssm").get_parameter(Name="/from/handler")["Parameter"]
    assert parameter["Value"] == "42"


def test_context_attributes(stack: EmulatedStack) -> None:
    """The context carries the function's identity, memory, log names and time left."""
    result = stack.invoke("ContextInfo", {})
    name = stack.function_name("ContextInfo")
    context = result.payload

    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == \
        f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert context["memory_limit_in_mb"] == 256
    assert context["aws_request_id"] == result.request_id
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert context["log_stream_name"].endswith("]" + context["log_stream_name"].split("]")[1])
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining"] <= 3000


def test_reserved_environment_variables(stack: EmulatedStack) -> None:
    """Lambda's reserved variables are set, beside the function's own."""
    names = ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
             "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
             "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "_HANDLER",
             "LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV", "_X_AMZN_TRACE_ID", "TABLE_NAME",
             "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"]
    variables = stack.invoke("Environment", {"names": names}).payload
    name = stack.function_name("Environment")

    assert variables["AWS_REGION"] == variables["AWS_DEFAULT_REGION"] == "us-east-1"
    assert variables["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert variables["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert variables["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert variables["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert variables["AWS_LAMBDA_LOG_STREAM_NAME"] is not None
    assert variables["_HANDLER"] == "app.environment"
    assert variables["LAMBDA_TASK_ROOT"].endswith("/src")
    assert variables["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert variables["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert variables["TABLE_NAME"] == "orders"
    assert variables["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert variables["AWS_SESSION_TOKEN"]


def test_same_named_modules_do_not_collide(stack: EmulatedStack) -> None:
    """Two functions with modules named app and helper each load their own."""
    assert stack.invoke("Echo", {}).payload["helper"] == "src helper"
    assert stack.invoke("Other", {}).payload["helper"] == "other helper"
    assert stack.invoke("Echo", {}).payload["helper"] == "src helper"


def test_concurrent_invocations_keep_environments_apart(stack: EmulatedStack) -> None:
    """Two functions running at once each see their own variables and credentials."""
    results: dict[str, object] = {}

    def run(function: str) -> Callable[[], None]:
        def invoke() -> None:
            results[function] = stack.invoke(function, {}).payload
        return invoke

    threads = [threading.Thread(target=run(function)) for function in ("First", "Second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    first, second = results["First"], results["Second"]

    assert isinstance(first, list)
    assert isinstance(second, list)
    assert first[0] == "first"
    assert second[0] == "second"
    assert first[1] != second[1]


def test_reserved_concurrency_throttles(stack: EmulatedStack) -> None:
    """With every allowed environment busy, Invoke returns TooManyRequestsException (429)."""
    busy = threading.Thread(target=stack.invoke, args=("Limited", {"seconds": 1}))
    busy.start()
    time.sleep(0.2)
    try:
        with pytest.raises(InvocationError) as caught:
            stack.invoke("Limited", {"seconds": 0})
    finally:
        busy.join(timeout=10)

    assert caught.value.code == "TooManyRequestsException"
    assert caught.value.status == 429


def test_dry_run_and_event_invocation(stack: EmulatedStack) -> None:
    """DryRun returns 204 without running; Event returns 202 and runs in the background."""
    before = len(stack.invocations)

    dry = stack.invoke("Echo", {}, invocation_type="DryRun")
    queued = stack.invoke("Echo", {"async": True}, invocation_type="Event")
    stack.settle()

    assert dry.status_code == 204
    assert queued.status_code == 202
    assert queued.raw_payload == b""
    assert stack.invocations[-1].payload["event"] == {"async": True}
    assert len(stack.invocations) == before + 1


def test_boto3_invoke_through_the_api(stack: EmulatedStack) -> None:
    """boto3's lambda.invoke gets the status, payload, FunctionError and LogResult."""
    client = stack.client("lambda")

    ok = client.invoke(FunctionName=stack.function_name("Echo"), Payload=b'{"a": 1}',
                       LogType="Tail")
    failed = client.invoke(FunctionName=stack.function_name("Fail"), Payload=b"{}")

    assert ok["StatusCode"] == 200
    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read())["event"] == {"a": 1}
    assert base64.b64decode(ok["LogResult"]).decode().startswith("START RequestId:")
    assert failed["StatusCode"] == 200
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"


def test_unknown_function_through_the_api(stack: EmulatedStack) -> None:
    """An unknown function is ResourceNotFoundException with Lambda's message."""
    client = stack.client("lambda")

    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.invoke(FunctionName="missing")

    assert caught.value.response["Error"]["Message"] == \
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing"


def test_logs_reach_cloudwatch_logs(stack: EmulatedStack) -> None:
    """Invocation logs are in the function's log group."""
    result = stack.invoke("Echo", {"logged": True})
    logs = stack.client("logs")
    group = f"/aws/lambda/{stack.function_name('Echo')}"

    events = logs.filter_log_events(logGroupName=group)["events"]

    assert any(f"START RequestId: {result.request_id}" in event["message"]
               for event in events)


def test_event_must_be_json(stack: EmulatedStack) -> None:
    """A payload that is not JSON is InvalidRequestContentException."""
    with pytest.raises(InvocationError) as caught:
        stack.invoke("Echo", b"{not json")

    assert caught.value.code == "InvalidRequestContentException"


def test_function_created_through_the_api(tmp_path: Path, stack: EmulatedStack) -> None:
    """A function created with CreateFunction and a .zip runs from its package."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py",
                         "def lambda_handler(event, context):\n    return event['n'] * 2\n")
    role = stack.client("iam").create_role(
        RoleName="api-function", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    stack.client("lambda").create_function(
        FunctionName="api-function", Runtime="python3.12", Role=role,
        Handler="lambda_function.lambda_handler", Code={"ZipFile": buffer.getvalue()})

    assert stack.invoke("api-function", {"n": 21}).payload == 42


def test_versions_and_aliases(stack: EmulatedStack) -> None:
    """A qualifier runs that version; an alias runs its version and is the invoked ARN.

    Sources: https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html and
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html
    """
    client = stack.client("lambda")
    name = stack.function_name("ContextInfo")
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)

    by_version = stack.invoke("ContextInfo", {}, qualifier=version)
    by_alias = stack.invoke("ContextInfo", {}, qualifier="live")

    assert by_version.executed_version == version
    assert by_version.payload["function_version"] == version
    assert by_version.payload["invoked_function_arn"].endswith(f":{name}:{version}")
    assert by_alias.executed_version == version
    assert by_alias.payload["invoked_function_arn"].endswith(f":{name}:live")


def test_weighted_alias_routes_by_weight(stack: EmulatedStack) -> None:
    """An alias with AdditionalVersionWeights sends about that share to the other version.

    Source: https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html
    """
    client = stack.client("lambda")
    name = stack.function_name("Echo")
    first = client.publish_version(FunctionName=name)["Version"]
    client.update_function_configuration(FunctionName=name, Description="second")
    second = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="canary", FunctionVersion=first,
                        RoutingConfig={"AdditionalVersionWeights": {second: 0.25}})

    versions = [stack.invoke("Echo", {}, qualifier="canary").executed_version
                for _ in range(200)]

    assert first != second
    assert set(versions) == {first, second}
    assert 25 <= versions.count(second) <= 75


def test_boto3_invoke_over_http(stack: EmulatedStack) -> None:
    """Through the HTTP endpoint, boto3 gets status, payload, FunctionError and LogResult."""
    import boto3

    url = stack.serve(port=0)
    client = boto3.client("lambda", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")

    ok = client.invoke(FunctionName=stack.function_name("Echo"), Payload=b'{"over": "http"}',
                       LogType="Tail")
    failed = client.invoke(FunctionName=stack.function_name("Fail"), Payload=b"{}")
    queued = client.invoke(FunctionName=stack.function_name("Echo"), Payload=b"{}",
                           InvocationType="Event")

    assert ok["StatusCode"] == 200
    assert json.loads(ok["Payload"].read())["event"] == {"over": "http"}
    assert "START RequestId:" in base64.b64decode(ok["LogResult"]).decode()
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorMessage"] == "bad input"
    assert queued["StatusCode"] == 202
