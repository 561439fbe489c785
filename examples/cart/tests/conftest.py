"""Fixtures shared by the cart tests: API Gateway events, the schema and the local stack."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
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


@dataclass(frozen=True)
class EventCapture:
    """An SQS queue that receives every event on the cart bus, through a rule."""

    sqs: Any
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        """Receive and delete the events delivered so far, oldest first where SQS allows."""
        events: list[dict[str, Any]] = []
        while True:
            # The local target delivers during PutEvents, so an empty receive means that
            # no event is left. AWS delivers asynchronously, which wait_for will handle.
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url,
                                        ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def cart_stack(stack: EmulatedStack) -> EmulatedStack:
    """Return the stack, which windtunnel's plugin loads once from [tool.windtunnel] in
    pyproject.toml and resets before each test that uses it."""
    return stack


@pytest.fixture
def bus_events(cart_stack: EmulatedStack) -> EventCapture:
    """Route every event on the cart bus to a new SQS queue and return a reader for it.

    This is how a test reads events on AWS too, where nothing records them;
    test_published_events.py shows ``stack.events.wait_for(...)``, which needs no queue
    locally. The rule and queue are created after ``reset()``, which would remove them.
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
        EventPattern=json.dumps({"source": ["cart"]}),
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

    return EventCapture(sqs=sqs, queue_url=queue_url)
