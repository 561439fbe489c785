"""Fixtures shared by the cart tests: API Gateway events, the schema and the local stack."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from windtunnel import EmulatedStack

APP_DIR = Path(__file__).resolve().parents[1]
STAGE = "dev"

ApiEventFactory = Callable[..., dict[str, Any]]


def _api_gateway_rest_event(method: str, resource: str, path_parameters: dict[str, str],
                            body: object | None = None) -> dict[str, Any]:
    # NOTE: windtunnel.events.generate("apigateway-rest", ...) will replace this builder.
    # The event follows the proxy integration's payload format 1.0, as API Gateway sends it
    # for a REST API without an authorizer.
    path = resource
    for name, value in path_parameters.items():
        path = path.replace(f"{{{name}}}", value)

    headers = {
        "Accept": "application/json",
        "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "pytest",
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if body is not None:
        headers["Content-Type"] = "application/json"

    request_id = str(uuid.uuid4())
    now = time.time()
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "extendedRequestId": request_id[:16],
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": "198.51.100.7",
                "user": None,
                "userAgent": "pytest",
                "userArn": None,
            },
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": "a1b2c3",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


@pytest.fixture
def api_event() -> ApiEventFactory:
    """Return a builder of API Gateway REST API proxy events (payload format 1.0).

    Call it as ``api_event("POST", "/{userId}/items", {"userId": "u1"}, body={...})``.
    A body that is not a string is sent as JSON.
    """
    return _api_gateway_rest_event


@pytest.fixture(scope="session")
def add_item_schema() -> dict[str, Any]:
    """Return the request model of POST /{userId}/items, as serverless.yml uses it."""
    schema: dict[str, Any] = json.loads(
        (APP_DIR / "schemas" / "add-item.json").read_text(encoding="utf-8"))
    return schema


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes of the Lambda context object that the handlers and Powertools read."""

    function_name: str = "cart-dev-addItem"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cart-dev-addItem"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """Return a stand-in for the Lambda context object, for handler calls in unit tests."""
    return FakeLambdaContext()


@pytest.fixture
def user_id() -> str:
    """Return a user ID that no other test uses, so that each test has a cart of its own.

    On the AWS target the tests share one deployed table and nothing empties it between
    tests, so a test finds only its own lines under this ID.
    """
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sku() -> str:
    """Return a SKU that no other test uses, for tests that read the SKU totals table."""
    return f"PEN-{uuid.uuid4().hex[:8]}"


# A new rule can take a short time to start matching events, so the capture waits for a
# probe event before the test runs:
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
PROBE_SOURCE = "cart.tests"
PROBE_DETAIL_TYPE = "CaptureProbe"
PROBE_TIMEOUT = 60.0


@dataclass(frozen=True)
class EventCapture:
    """An SQS queue that receives the events on the cart bus that name one user."""

    stack: Any
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        """Settle the stack, then receive and delete the events delivered so far, except
        the capture's probe events.

        The local target delivers during PutEvents. AWS delivers asynchronously, so
        ``settle()`` waits there until the stack's own event capture is quiet.
        """
        self.stack.settle()
        sqs = self.stack.client("sqs")
        events: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return events
            for message in messages:
                event = json.loads(message["Body"])
                if event.get("source") != PROBE_SOURCE:
                    events.append(event)
                sqs.delete_message(QueueUrl=self.queue_url,
                                   ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def cart_stack(stack: EmulatedStack) -> EmulatedStack:
    """Return the stack from windtunnel's plugin, which reads [tool.windtunnel] in
    pyproject.toml. On the local target the plugin loads the application once and resets
    it before each test. On the AWS target it opens the deployed stack and resets nothing.
    """
    return stack


@pytest.fixture
def bus_events(cart_stack: EmulatedStack, user_id: str) -> Iterator[EventCapture]:
    """Route the events on the cart bus whose detail names ``user_id`` to a new SQS queue,
    and return a reader for it. The rule and queue are deleted after the test.

    This is how a test reads events on AWS too, where nothing records them;
    test_published_events.py shows ``stack.events.wait_for(...)``, which needs no queue.
    Matching on the user ID keeps out the events of tests that run at the same time
    against a shared stack.
    """
    bus_name = cart_stack.outputs["CartBusName"]
    events = cart_stack.client("events")
    sqs = cart_stack.client("sqs")
    name = f"cart-test-capture-{uuid.uuid4().hex[:8]}"

    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arn = events.put_rule(
        Name=name, EventBusName=bus_name,
        EventPattern=json.dumps({"detail": {"userId": [user_id]}}),
    )["RuleArn"]

    # AWS delivers to a queue only when the queue policy lets the rule send to it.
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule=name, EventBusName=bus_name,
                       Targets=[{"Id": "capture", "Arn": queue_arn}])

    try:
        _wait_for_probe(events, sqs, bus_name, queue_url, user_id)
        yield EventCapture(stack=cart_stack, queue_url=queue_url)
    finally:
        events.remove_targets(Rule=name, EventBusName=bus_name, Ids=["capture"])
        events.delete_rule(Name=name, EventBusName=bus_name)
        sqs.delete_queue(QueueUrl=queue_url)


def _wait_for_probe(events: Any, sqs: Any, bus_name: str, queue_url: str,
                    user_id: str) -> None:
    """Put a probe event on the bus until the capture rule delivers one.

    The probe's source and detail type match none of the application's rules, and
    :meth:`EventCapture.received` leaves out probes that arrive late.
    """
    deadline = time.monotonic() + PROBE_TIMEOUT
    while True:
        events.put_events(Entries=[{
            "EventBusName": bus_name, "Source": PROBE_SOURCE,
            "DetailType": PROBE_DETAIL_TYPE, "Detail": json.dumps({"userId": user_id}),
        }])
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if messages:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the capture rule on bus {bus_name} delivered no probe "
                               f"event within {PROBE_TIMEOUT:.0f} seconds")
