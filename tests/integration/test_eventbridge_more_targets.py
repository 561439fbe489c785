"""EventBridge targets reached with a role or over HTTP: Step Functions, Kinesis, API destinations.

Sources:
- Step Functions and Kinesis targets are called as the IAM role in the target's RoleArn,
  not through a resource-based policy. The role must allow states:StartExecution or
  kinesis:PutRecord: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
  and https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html
- Targets receive the event, Input, InputPath or InputTransformer output:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
- Kinesis partition key from PartitionKeyPath, else the event ID:
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_KinesisParameters.html
- Dead-letter queue attributes and error codes (NO_PERMISSIONS, FAILED_TO_ASSUME_ROLE,
  ERROR_FROM_TARGET, ...): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
- API destinations: the HTTP method, the headers EventBridge adds (User-Agent
  Amazon/EventBridge/ApiDestinations, Content-Type application/json; charset=utf-8),
  Basic/API key/OAuth authorization, 429 and 5xx retried and other 4xx not:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html
- HttpParameters fill path wildcards ("*") and add headers and query strings; on a
  conflict the connection's values win:
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_HttpParameters.html
- InvocationRateLimitPerSecond caps the requests per second, and the other events wait
  for retries ("How invocation rate affects event delivery"), on the API destinations page
  above. A 401 with an OAuth connection gets a new token for the retry:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

pytestmark = pytest.mark.integration

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31

Resources:
  ShopBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: shop

  OrderMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: orders
      Definition:
        StartAt: Done
        States:
          Done:
            Type: Pass
            End: true

  ExpressQueue:
    Type: AWS::SQS::Queue
  ExpressMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: express-orders
      Type: EXPRESS
      Policies:
        - SQSSendMessagePolicy:
            QueueName: !GetAtt ExpressQueue.QueueName
      Definition:
        StartAt: Forward
        States:
          Forward:
            Type: Task
            Resource: arn:aws:states:::sqs:sendMessage
            Parameters:
              QueueUrl: !Ref ExpressQueue
              MessageBody.$: States.JsonToString($)
            End: true

  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      Name: shipments
      ShardCount: 1

  TargetsRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: targets
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: states:StartExecution
                Resource: [!Ref OrderMachine, !Ref ExpressMachine]
              - Effect: Allow
                Action: kinesis:PutRecord
                Resource: !GetAtt Stream.Arn

  # Trusts EventBridge but may not start executions.
  ReadOnlyRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: read
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: states:DescribeExecution
                Resource: "*"

  # May start executions but trusts only Lambda.
  LambdaOnlyRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: start
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: states:StartExecution
                Resource: "*"

  MachineRule:
    Type: AWS::Events::Rule
    Properties:
      Name: machines
      EventBusName: !Ref ShopBus
      EventPattern:
        detail-type: [OrderPlaced]
      Targets:
        - Id: whole-event
          Arn: !Ref OrderMachine
          RoleArn: !GetAtt TargetsRole.Arn
        - Id: transformed
          Arn: !Ref OrderMachine
          RoleArn: !GetAtt TargetsRole.Arn
          InputTransformer:
            InputPathsMap:
              order: $.detail.order
            InputTemplate: '{"transformed": <order>}'
        - Id: express
          Arn: !Ref ExpressMachine
          RoleArn: !GetAtt TargetsRole.Arn
          InputPath: $.detail

  DeniedRule:
    Type: AWS::Events::Rule
    Properties:
      Name: denied
      EventBusName: !Ref ShopBus
      EventPattern:
        detail-type: [OrderDenied]
      Targets:
        - Id: read-only
          Arn: !Ref OrderMachine
          RoleArn: !GetAtt ReadOnlyRole.Arn
          DeadLetterConfig: {Arn: !GetAtt DeadLetterQueue.Arn}
        - Id: lambda-only
          Arn: !Ref OrderMachine
          RoleArn: !GetAtt LambdaOnlyRole.Arn
          DeadLetterConfig: {Arn: !GetAtt DeadLetterQueue.Arn}
        - Id: delivery-stream
          Arn: !Sub arn:aws:firehose:${AWS::Region}:${AWS::AccountId}:deliverystream/audit
          RoleArn: !GetAtt TargetsRole.Arn
          DeadLetterConfig: {Arn: !GetAtt DeadLetterQueue.Arn}

  StreamRule:
    Type: AWS::Events::Rule
    Properties:
      Name: shipments
      EventBusName: !Ref ShopBus
      EventPattern:
        detail-type: [OrderShipped]
      Targets:
        - Id: by-customer
          Arn: !GetAtt Stream.Arn
          RoleArn: !GetAtt TargetsRole.Arn
          KinesisParameters:
            PartitionKeyPath: $.detail.customer
        - Id: by-event
          Arn: !GetAtt Stream.Arn
          RoleArn: !GetAtt TargetsRole.Arn
          InputPath: $.detail

  DeadLetterQueue:
    Type: AWS::SQS::Queue
  DeadLetterQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref DeadLetterQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt DeadLetterQueue.Arn
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("eventbridge-more-targets")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="more-targets") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def fresh_state(stack: EmulatedStack) -> None:
    stack.reset()


def _arn(stack: EmulatedStack, logical_id: str) -> str:
    return str(stack.deployed.resources[logical_id].attributes["Arn"])


def _put(stack: EmulatedStack, detail_type: str, detail: dict[str, Any],
         count: int = 1) -> list[str]:
    response = stack.client("events").put_events(Entries=[{
        "EventBusName": "shop",
        "Source": "shop",
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
    }] * count)
    assert response["FailedEntryCount"] == 0
    return [str(entry["EventId"]) for entry in response["Entries"]]


def _dead_letters(stack: EmulatedStack) -> list[dict[str, str]]:
    """Each dead-letter message's attributes, with its body under "Body"."""
    response = stack.client("sqs").receive_message(
        QueueUrl=stack.physical_id("DeadLetterQueue"), MaxNumberOfMessages=10,
        MessageAttributeNames=["All"])
    return [{"Body": message["Body"],
             **{name: value["StringValue"]
                for name, value in message["MessageAttributes"].items()}}
            for message in response.get("Messages", [])]


def _execution_inputs(stack: EmulatedStack, logical_id: str) -> list[Any]:
    client = stack.client("stepfunctions")
    executions = client.list_executions(
        stateMachineArn=stack.physical_id(logical_id))["executions"]
    return [json.loads(client.describe_execution(
        executionArn=execution["executionArn"])["input"]) for execution in executions]


# --- Step Functions -------------------------------------------------------------------------


def test_state_machine_started_with_event(stack: EmulatedStack) -> None:
    """A state machine target starts an execution whose input is the whole event."""
    [event_id] = _put(stack, "OrderPlaced", {"order": 7})
    stack.settle()

    inputs = _execution_inputs(stack, "OrderMachine")
    [whole] = [item for item in inputs if "id" in item]

    assert len(inputs) == 2
    assert whole["id"] == event_id
    assert whole["detail"] == {"order": 7}
    assert whole["detail-type"] == "OrderPlaced"


def test_state_machine_gets_transformed_input(stack: EmulatedStack) -> None:
    """An InputTransformer's output is the execution input."""
    _put(stack, "OrderPlaced", {"order": 8})
    stack.settle()

    inputs = _execution_inputs(stack, "OrderMachine")

    assert {"transformed": 8} in inputs


def test_express_machine_started(stack: EmulatedStack) -> None:
    """An Express state machine is started the same way, here with InputPath $.detail."""
    _put(stack, "OrderPlaced", {"order": 9})
    stack.settle()

    response = stack.client("sqs").receive_message(
        QueueUrl=stack.physical_id("ExpressQueue"), MaxNumberOfMessages=10)
    bodies = [json.loads(message["Body"]) for message in response.get("Messages", [])]

    assert bodies == [{"order": 9}]


def test_role_without_start_execution_fails(stack: EmulatedStack) -> None:
    """A role whose policies do not allow states:StartExecution fails with NO_PERMISSIONS."""
    [event_id] = _put(stack, "OrderDenied", {"order": 10})
    stack.settle()
    read_only_role = _arn(stack, "ReadOnlyRole")

    [denied] = [message for message in _dead_letters(stack)
                if message["TARGET_ARN"] == stack.physical_id("OrderMachine")
                and read_only_role.rsplit("/", 1)[1] in message["ERROR_MESSAGE"]]

    assert _execution_inputs(stack, "OrderMachine") == []
    assert json.loads(denied["Body"])["id"] == event_id
    assert denied["ERROR_CODE"] == "NO_PERMISSIONS"
    assert "states:StartExecution" in denied["ERROR_MESSAGE"]
    assert denied["RETRY_ATTEMPTS"] == "0"
    assert denied["RULE_ARN"] == _arn(stack, "DeniedRule")


def test_role_not_trusting_events_fails(stack: EmulatedStack) -> None:
    """A role whose trust policy leaves out events.amazonaws.com is not assumed."""
    _put(stack, "OrderDenied", {"order": 11})
    stack.settle()
    lambda_only_role = _arn(stack, "LambdaOnlyRole")

    [untrusted] = [message for message in _dead_letters(stack)
                   if lambda_only_role in message["ERROR_MESSAGE"]]

    assert untrusted["ERROR_CODE"] == "FAILED_TO_ASSUME_ROLE"
    assert untrusted["TARGET_ARN"] == stack.physical_id("OrderMachine")
    assert "sts:AssumeRole" in untrusted["ERROR_MESSAGE"]


def test_unemulated_target_type_fails_visibly(stack: EmulatedStack) -> None:
    """A target type windtunnel does not deliver to fails, naming the type, not dropped."""
    _put(stack, "OrderDenied", {"order": 12})
    stack.settle()

    [firehose] = [message for message in _dead_letters(stack)
                  if ":firehose:" in message["TARGET_ARN"]]

    assert firehose["ERROR_CODE"] == "INVALID_PARAMETER"
    assert "firehose targets" in firehose["ERROR_MESSAGE"]
    assert firehose["TARGET_ARN"] in firehose["ERROR_MESSAGE"]


# --- Kinesis --------------------------------------------------------------------------------


def _stream_records(stack: EmulatedStack) -> list[dict[str, Any]]:
    kinesis = stack.client("kinesis")
    shard_id = kinesis.list_shards(StreamName="shipments")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="shipments", ShardId=shard_id,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return list(kinesis.get_records(ShardIterator=iterator)["Records"])


def test_stream_record_partition_keys(stack: EmulatedStack) -> None:
    """PartitionKeyPath selects the partition key; without it the key is the event ID."""
    [event_id] = _put(stack, "OrderShipped", {"order": 13, "customer": "ana"})
    stack.settle()

    records = _stream_records(stack)
    by_key = {record["PartitionKey"]: record for record in records}

    assert sorted(by_key) == sorted(["ana", event_id])
    assert json.loads(by_key["ana"]["Data"])["id"] == event_id
    assert json.loads(by_key[event_id]["Data"]) == {"order": 13, "customer": "ana"}


# --- API destinations -----------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalApi:
    """An HTTP server on 127.0.0.1 that records requests and responds with queued statuses."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    token_requests: list[Received] = field(default_factory=list)
    error_headers: dict[str, str] = field(default_factory=dict)
    """Headers added to every response that is not 200."""

    def calls(self, path_prefix: str = "/") -> list[Received]:
        return [request for request in self.requests if request.path.startswith(path_prefix)]


@pytest.fixture
def local_api() -> Iterator[LocalApi]:
    api = LocalApi(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urllib.parse.urlsplit(self.path)
            received = Received(self.command, parts.path,
                                dict(urllib.parse.parse_qsl(parts.query)),
                                {name: value for name, value in self.headers.items()},
                                self.rfile.read(length))
            if parts.path == "/oauth/token":
                with lock:
                    api.token_requests.append(received)
                    number = len(api.token_requests)
                self._answer(200, json.dumps({"access_token": f"token-{number}",
                                              "expires_in": 3600}).encode())
                return
            with lock:
                api.requests.append(received)
                status = api.statuses.pop(0) if api.statuses else 200
            self._answer(status, b"{}")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in (api.error_headers if status != 200 else {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _api_destination(stack: EmulatedStack, name: str, endpoint: str, *, method: str = "POST",
                     authorization: str = "API_KEY",
                     auth_parameters: dict[str, Any] | None = None,
                     rate_limit: int | None = None,
                     target: dict[str, Any] | None = None) -> str:
    """Create a connection, an API destination and a rule on the bus that targets it."""
    events = stack.client("events")
    connection_arn = events.create_connection(
        Name=f"{name}-connection", AuthorizationType=authorization,
        AuthParameters=auth_parameters or {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-1"}},
    )["ConnectionArn"]
    request: dict[str, Any] = {"Name": name, "ConnectionArn": connection_arn,
                               "InvocationEndpoint": endpoint, "HttpMethod": method}
    if rate_limit is not None:
        request["InvocationRateLimitPerSecond"] = rate_limit
    destination_arn = str(events.create_api_destination(**request)["ApiDestinationArn"])
    events.put_rule(Name=name, EventBusName="shop",
                    EventPattern=json.dumps({"detail-type": [name]}))
    events.put_targets(Rule=name, EventBusName="shop", Targets=[{
        "Id": "api", "Arn": destination_arn, "RoleArn": _arn(stack, "TargetsRole"),
        "DeadLetterConfig": {"Arn": _arn(stack, "DeadLetterQueue")},
        **(target or {}),
    }])
    return destination_arn


def test_api_key_request(stack: EmulatedStack, local_api: LocalApi) -> None:
    """HttpParameters and the connection shape the request; the connection's values win."""
    _api_destination(
        stack, "hooks", f"{local_api.url}/orders/*/events",
        auth_parameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-1"},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "x-tenant", "Value": "from-connection"}],
                "QueryStringParameters": [{"Key": "source", "Value": "connection"}],
            },
        },
        target={"HttpParameters": {
            "PathParameterValues": ["o-14"],
            "HeaderParameters": {"x-tenant": "from-target", "x-trace": "t-1"},
            "QueryStringParameters": {"source": "target", "page": "1"},
        }})

    [event_id] = _put(stack, "hooks", {"order": 14})
    [request] = local_api.calls()

    assert request.method == "POST"
    assert request.path == "/orders/o-14/events"
    assert request.query == {"source": "connection", "page": "1"}
    assert request.headers["x-api-key"] == "key-1"
    assert request.headers["x-tenant"] == "from-connection"
    assert request.headers["x-trace"] == "t-1"
    assert request.headers["User-Agent"] == "Amazon/EventBridge/ApiDestinations"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(request.body)["id"] == event_id
    assert json.loads(request.body)["detail"] == {"order": 14}


def test_basic_authorization(stack: EmulatedStack, local_api: LocalApi) -> None:
    """A Basic connection sends the user name and password in the Authorization header."""
    _api_destination(stack, "basic", f"{local_api.url}/basic", method="PUT",
                     authorization="BASIC",
                     auth_parameters={"BasicAuthParameters": {"Username": "ana",
                                                              "Password": "secret"}},
                     target={"InputPath": "$.detail"})

    _put(stack, "basic", {"order": 15})
    [request] = local_api.calls()

    assert request.method == "PUT"
    assert request.headers["Authorization"] == \
        "Basic " + base64.b64encode(b"ana:secret").decode()
    assert json.loads(request.body) == {"order": 15}


def test_oauth_client_credentials(stack: EmulatedStack, local_api: LocalApi) -> None:
    """An OAuth connection gets a token with the client credentials and reuses it."""
    _api_destination(stack, "oauth", f"{local_api.url}/oauth-api",
                     authorization="OAUTH_CLIENT_CREDENTIALS",
                     auth_parameters={"OAuthParameters": {
                         "ClientParameters": {"ClientID": "client-1",
                                              "ClientSecret": "secret-1"},
                         "AuthorizationEndpoint": f"{local_api.url}/oauth/token",
                         "HttpMethod": "POST",
                         "OAuthHttpParameters": {"BodyParameters": [
                             {"Key": "grant_type", "Value": "client_credentials"}]},
                     }})

    _put(stack, "oauth", {"order": 16}, count=2)
    [token_request] = local_api.token_requests
    requests = local_api.calls("/oauth-api")

    assert token_request.method == "POST"
    assert token_request.headers["Authorization"] == \
        "Basic " + base64.b64encode(b"client-1:secret-1").decode()
    assert urllib.parse.parse_qs(token_request.body.decode()) == \
        {"grant_type": ["client_credentials"]}
    assert [request.headers["Authorization"] for request in requests] == \
        ["Bearer token-1", "Bearer token-1"]


def test_endpoint_off_loopback_fails(stack: EmulatedStack) -> None:
    """An endpoint on another host fails the delivery, naming the host; nothing is sent."""
    _api_destination(stack, "remote", "https://hooks.example.com/orders")

    [event_id] = _put(stack, "remote", {"order": 17})
    stack.settle()
    [failure] = _dead_letters(stack)

    assert json.loads(failure["Body"])["id"] == event_id
    assert failure["ERROR_CODE"] == "CONNECTION_FAILURE"
    assert "hooks.example.com" in failure["ERROR_MESSAGE"]
    assert "loopback" in failure["ERROR_MESSAGE"]
    assert failure["RETRY_ATTEMPTS"] == "0"


def test_server_error_retried(stack: EmulatedStack, local_api: LocalApi) -> None:
    """A 500 response is retried after the backoff, and the retry succeeds."""
    _api_destination(stack, "flaky", f"{local_api.url}/flaky")
    local_api.statuses.extend([500])

    _put(stack, "flaky", {"order": 18})
    first = len(local_api.calls())
    stack.clock.advance(1)

    assert first == 1
    assert len(local_api.calls()) == 2
    assert _dead_letters(stack) == []


def test_client_error_not_retried(stack: EmulatedStack, local_api: LocalApi) -> None:
    """A 400 response is not retried; the event goes to the dead-letter queue."""
    _api_destination(stack, "rejecting", f"{local_api.url}/rejecting")
    local_api.statuses.extend([400])

    _put(stack, "rejecting", {"order": 19})
    stack.clock.advance(600)
    [failure] = _dead_letters(stack)

    assert len(local_api.calls()) == 1
    assert failure["ERROR_CODE"] == "ERROR_FROM_TARGET"
    assert "400" in failure["ERROR_MESSAGE"]
    assert failure["RETRY_ATTEMPTS"] == "0"


def test_invocation_rate_limit(stack: EmulatedStack, local_api: LocalApi) -> None:
    """With a limit of 1 per second, three events reach the endpoint over several seconds."""
    _api_destination(stack, "limited", f"{local_api.url}/limited", rate_limit=1)

    _put(stack, "limited", {"order": 20}, count=3)
    counts = [len(local_api.calls())]
    stack.clock.advance(1)
    counts.append(len(local_api.calls()))
    stack.clock.advance(2)
    counts.append(len(local_api.calls()))

    assert counts == [1, 2, 3]
    assert _dead_letters(stack) == []


def test_throttled_response_honors_retry_after(stack: EmulatedStack,
                                               local_api: LocalApi) -> None:
    """A 429 with Retry-After: 10 is retried after 10 seconds, not after the 1 s backoff."""
    _api_destination(stack, "busy", f"{local_api.url}/busy")
    local_api.statuses.extend([429])
    local_api.error_headers["Retry-After"] = "10"

    _put(stack, "busy", {"order": 21})
    stack.clock.advance(9)
    before_retry_after = len(local_api.calls())
    stack.clock.advance(1)

    assert before_retry_after == 1
    assert len(local_api.calls()) == 2
    assert _dead_letters(stack) == []


def test_oauth_token_refreshed_after_401(stack: EmulatedStack, local_api: LocalApi) -> None:
    """A 401 makes EventBridge get a new OAuth token and use it when it retries."""
    _api_destination(stack, "expiring", f"{local_api.url}/expiring",
                     authorization="OAUTH_CLIENT_CREDENTIALS",
                     auth_parameters={"OAuthParameters": {
                         "ClientParameters": {"ClientID": "client-2",
                                              "ClientSecret": "secret-2"},
                         "AuthorizationEndpoint": f"{local_api.url}/oauth/token",
                         "HttpMethod": "POST",
                     }})
    local_api.statuses.extend([401])

    _put(stack, "expiring", {"order": 22})
    stack.clock.advance(1)
    requests = local_api.calls("/expiring")

    assert len(local_api.token_requests) == 2
    assert [request.headers["Authorization"] for request in requests] == \
        ["Bearer token-1", "Bearer token-2"]
    assert _dead_letters(stack) == []
