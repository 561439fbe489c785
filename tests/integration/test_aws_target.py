"""The AWS target (``Stack.aws``) driving a served local stack in place of AWS.

Nothing reaches AWS: each AwsStack here sends its calls to windtunnel's own endpoint on
127.0.0.1. The expected behaviour comes from AWS's documentation:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
(a missing stack is a ValidationError "Stack with id NAME does not exist")
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
(ResourceNotFoundException with status 404; LogType=Tail returns the last 4 KB of the log)
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
(AWS_IAM methods need a SigV4 signature; an unsigned request gets 403 "Missing
Authentication Token")
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
(InvalidClientTokenId for a security token that is not valid)
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from windtunnel import EmulatedStack, InvocationError, InvocationResult, Stack, WindtunnelError
from windtunnel.stack.aws import AwsStack
from windtunnel.stack.aws_errors import (
    AwsCredentialsError,
    CapturePermissionError,
    MissingOutputError,
    NotSupportedOnAwsError,
    StackNotFoundError,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CART = ROOT / "examples" / "cart"
CDK_APP = ROOT / "tests" / "fixtures" / "cdk" / "cdk.out"
REGION = "us-east-1"
ACCOUNT = "123456789012"


def _session(access_key: str = "test", secret: str = "test",
             token: str | None = None) -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret,
                                 aws_session_token=token, region_name=REGION)


def _api_event(method: str, user_id: str, body: Any = None) -> dict[str, Any]:
    return {"httpMethod": method, "headers": {}, "pathParameters": {"userId": user_id},
            "requestContext": {"requestId": f"request-{user_id}"},
            "body": None if body is None else json.dumps(body)}


@pytest.fixture(scope="module")
def served() -> Iterator[EmulatedStack]:
    """The cart example loaded locally and served on 127.0.0.1, standing in for AWS."""
    with Stack.local(CART) as local:
        local.serve()
        yield local


def _open(served: EmulatedStack, **options: Any) -> AwsStack:
    options.setdefault("session", _session())
    return Stack.aws("cart-dev", region=REGION,
                     endpoint_url=served.environment.cloud.endpoint_url, **options)


def _capture_queues(served: EmulatedStack) -> list[str]:
    urls = served.client("sqs").list_queues().get("QueueUrls", [])
    return [url for url in urls if "/windtunnel-capture-" in url]


def _capture_rules(served: EmulatedStack) -> list[str]:
    rules = served.client("events").list_rules(EventBusName="cart-dev-cart")["Rules"]
    return [rule["Name"] for rule in rules if rule["Name"].startswith("windtunnel-capture-")]


# --- discovery ---------------------------------------------------------------------------


def test_outputs_match_describe_stacks(served: EmulatedStack) -> None:
    """outputs are the OutputKey/OutputValue pairs that DescribeStacks returns."""
    stack = _open(served, capture=False)

    described = served.client("cloudformation").describe_stacks(StackName="cart-dev")
    expected = {output["OutputKey"]: output["OutputValue"]
                for output in described["Stacks"][0]["Outputs"]}

    assert stack.name == "cart-dev"
    assert stack.outputs == expected
    assert stack.outputs["CartTableName"] == served.outputs["CartTableName"]


def test_physical_ids_from_resources(served: EmulatedStack) -> None:
    """physical_id() returns what ListStackResources reports for a logical ID."""
    stack = _open(served, capture=False)

    assert stack.physical_id("CartTable") == served.physical_id("CartTable")
    assert stack.physical_id("AddItemLambdaFunction") == "cart-dev-addItem"
    assert stack.function_name("addItem") == "cart-dev-addItem"
    assert stack.buses() == ["cart-dev-cart"]
    with pytest.raises(WindtunnelError, match="no resource with logical ID 'Nothing'"):
        stack.physical_id("Nothing")


def test_nested_stack_resources_found(served: EmulatedStack) -> None:
    """Resources of a nested stack are found through the nested stack's physical ID."""
    # A second application in the same embedded cloud, served by the same endpoint.
    served.environment.load(CDK_APP)
    stack = Stack.aws("windtunnel-orders", region=REGION, session=_session(),
                      endpoint_url=served.environment.cloud.endpoint_url, capture=False)

    nested = [resource for resource in stack.resources
              if resource.logical_id == "AuditQueue1D3C234B"]

    assert len(nested) == 1
    assert nested[0].stack_name.startswith("arn:aws:cloudformation:")
    assert "AuditQueue" in stack.physical_id("AuditQueue1D3C234B")


def test_missing_stack_names_region(served: EmulatedStack) -> None:
    """A stack that does not exist raises StackNotFoundError with the region and a fix."""
    with pytest.raises(StackNotFoundError) as raised:
        Stack.aws("no-such-stack", region=REGION, session=_session(),
                  endpoint_url=served.environment.cloud.endpoint_url)

    message = str(raised.value)
    assert "stack no-such-stack does not exist in region us-east-1" in message
    assert "Deploy it first" in message


def test_missing_output_lists_outputs(served: EmulatedStack) -> None:
    """A missing output raises MissingOutputError, a KeyError that lists the outputs."""
    stack = _open(served, capture=False)

    with pytest.raises(MissingOutputError) as raised:
        stack.outputs["ApiUrl"]

    assert isinstance(raised.value, KeyError)
    assert "stack cart-dev has no output 'ApiUrl'" in str(raised.value)
    assert "CartTableName" in str(raised.value)


# --- credentials ------------------------------------------------------------------------


def test_missing_credentials_explained(served: EmulatedStack,
                                       monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    """Without credentials anywhere, opening fails with AwsCredentialsError and the fix."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    # The instance metadata service would be asked last; it is not on this machine.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(AwsCredentialsError) as raised:
        Stack.aws("cart-dev", region=REGION,
                  endpoint_url=served.environment.cloud.endpoint_url)

    assert "no AWS credentials were found" in str(raised.value)
    assert "AWS_PROFILE" in str(raised.value)


def test_unknown_profile_explained(served: EmulatedStack, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
    """A profile that is not configured raises AwsCredentialsError naming it."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    with pytest.raises(AwsCredentialsError, match="the AWS profile 'ci' does not exist"):
        Stack.aws("cart-dev", region=REGION, profile="ci",
                  endpoint_url=served.environment.cloud.endpoint_url)


def test_invalid_session_token_explained(served: EmulatedStack) -> None:
    """Temporary credentials with a wrong session token fail with InvalidClientTokenId,
    reported as AwsCredentialsError."""
    iam = served.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="aws-target-reader",
                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    credentials = served.client("sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="tests")["Credentials"]

    with pytest.raises(AwsCredentialsError) as raised:
        Stack.aws("cart-dev", region=REGION,
                  endpoint_url=served.environment.cloud.endpoint_url,
                  session=_session(credentials["AccessKeyId"],
                                   credentials["SecretAccessKey"], "not-the-token"))

    assert "InvalidClientTokenId" in str(raised.value)
    assert "expired or invalid" in str(raised.value)


# --- invoking -----------------------------------------------------------------------------


def test_remote_invoke_returns_result(served: EmulatedStack) -> None:
    """mode="remote" calls Invoke and returns an InvocationResult with the tail of the log."""
    stack = _open(served, capture=False)

    result = stack.invoke("getCart", _api_event("GET", "remote-reader"))

    assert isinstance(result, InvocationResult)
    assert result.function_name == "cart-dev-getCart"
    assert result.status_code == 200
    assert result.function_error is None
    assert result.payload["statusCode"] == 200
    assert json.loads(result.payload["body"])["items"] == []
    assert "START RequestId:" in result.logs
    assert "REPORT RequestId:" in result.logs
    assert result.duration_ms > 0
    assert stack.invocations == [result]


def test_remote_invoke_unknown_function(served: EmulatedStack) -> None:
    """Invoking a function that does not exist raises InvocationError with Lambda's 404."""
    stack = _open(served, capture=False)

    with pytest.raises(InvocationError) as raised:
        stack.invoke("noSuchFunction", {})

    assert raised.value.code == "ResourceNotFoundException"
    assert raised.value.status == 404


def test_local_invoke_reaches_target(served: EmulatedStack) -> None:
    """mode="local" runs the handler in this process with the deployed configuration, and
    its SDK calls store data in the target's table."""
    stack = _open(served, capture=False, template=CART)
    event = _api_event("POST", "local-writer", {"sku": "INK", "quantity": 3, "price": 2})

    result = stack.invoke("addItem", event, mode="local")

    assert result.extra["mode"] == "local"
    assert result.function_error is None, result.payload
    assert json.loads(result.payload["body"])["subtotal"] == 6
    assert "START RequestId:" in result.logs
    assert '"function_name":"cart-dev-addItem"' in result.logs
    stored = served.client("dynamodb").get_item(
        TableName=served.outputs["CartTableName"],
        Key={"userId": {"S": "local-writer"}, "sku": {"S": "INK"}}).get("Item")
    assert stored is not None
    assert stored["quantity"] == {"N": "3"}


def test_local_invoke_with_code_root(served: EmulatedStack) -> None:
    """code_root= names the directory that the handler path starts from."""
    stack = _open(served, capture=False, code_root=CART)

    result = stack.invoke("getCart", _api_event("GET", "code-root-reader"), mode="local")

    assert result.function_error is None, result.payload
    assert result.payload["statusCode"] == 200


def test_local_invoke_without_code_explained(served: EmulatedStack) -> None:
    """Without code_root or template, a local invocation names the missing argument."""
    stack = _open(served, capture=False)

    with pytest.raises(WindtunnelError, match="neither code_root= nor template= was given"):
        stack.invoke("getCart", _api_event("GET", "nobody"), mode="local")


# --- HTTP -------------------------------------------------------------------------------


def test_http_uses_api_url_from_outputs(served: EmulatedStack) -> None:
    """stack.http reaches the deployed API at the ServiceEndpoint output."""
    stack = _open(served, capture=False)

    added = stack.http.post("/http-user/items", json={"sku": "PEN", "quantity": 1,
                                                        "price": 2})
    missing = stack.http.get("/http-user/items/PEN/extra")
    stack.close()

    assert str(stack.outputs["ServiceEndpoint"]).startswith("http://127.0.0.1:")
    assert added.status_code == 200
    assert added.json()["subtotal"] == 2
    assert missing.status_code == 403
    assert missing.json() == {"message": "Missing Authentication Token"}


# --- events -----------------------------------------------------------------------------


def test_capture_receives_bus_events(served: EmulatedStack) -> None:
    """On enter, a capture rule on the stack's bus forwards every event to a new queue.
    wait_for and published read them, without the probe events."""
    with _open(served) as stack:
        assert _capture_queues(served) != []
        stack.invoke("addItem", _api_event("POST", "event-user",
                                           {"sku": "PEN", "quantity": 2, "price": 1}))

        event = stack.events.wait_for({"source": ["cart"], "detail-type": ["ItemAdded"]},
                                      bus="CartBus", timeout=10)
        published = stack.events.published(bus="cart-dev-cart")

    assert event["detail"]["userId"] == "event-user"
    assert event["account"] == ACCOUNT
    assert [item["source"] for item in published] == ["cart"]


def test_wait_for_failure_shows_closest(served: EmulatedStack) -> None:
    """A pattern that nothing matches raises EventAssertionError with the closest event."""
    with _open(served) as stack:
        stack.invoke("addItem", _api_event("POST", "closest-user",
                                           {"sku": "PEN", "quantity": 1, "price": 1}))
        with pytest.raises(AssertionError) as raised:
            stack.events.wait_for({"source": ["cart"], "detail-type": ["ItemRemoved"]},
                                  timeout=2)

    message = str(raised.value)
    assert "no event matching the pattern was captured on any bus within 2 s" in message
    assert 'detail-type: expected ["ItemRemoved"], got "ItemAdded"' in message


def test_capture_removed_on_exit(served: EmulatedStack) -> None:
    """Leaving the block deletes the capture's queue and rule."""
    with _open(served) as stack:
        name = stack.events.capture.name if stack.events.capture else ""
        during_queues = _capture_queues(served)
        during_rules = _capture_rules(served)

    assert any(url.endswith(name) for url in during_queues)
    assert during_rules == [name]
    assert _capture_queues(served) == []
    assert _capture_rules(served) == []


def test_capture_removed_after_failure(served: EmulatedStack) -> None:
    """A failing test body still removes the capture."""
    with pytest.raises(AssertionError, match="the body failed"), _open(served):
        raise AssertionError("the body failed")

    assert _capture_queues(served) == []
    assert _capture_rules(served) == []


def test_capture_removed_on_keyboard_interrupt(served: EmulatedStack) -> None:
    """Ctrl-C (KeyboardInterrupt) in the body still removes the capture."""
    with pytest.raises(KeyboardInterrupt), _open(served):
        raise KeyboardInterrupt

    assert _capture_queues(served) == []
    assert _capture_rules(served) == []


def test_capture_removed_at_exit(served: EmulatedStack, tmp_path: Path) -> None:
    """A process that never closes the stack removes the capture when it exits."""
    script = tmp_path / "leave_open.py"
    script.write_text(textwrap.dedent("""
        import sys
        from windtunnel import Stack

        stack = Stack.aws("cart-dev", region="us-east-1", endpoint_url=sys.argv[1])
        stack.events.start()
        print(stack.events.capture.name)
    """))
    environment = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                   "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"}

    completed = subprocess.run(
        [sys.executable, str(script), served.environment.cloud.endpoint_url],
        env=environment, capture_output=True, text=True, timeout=120, check=False)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().startswith("windtunnel-capture-")
    assert _capture_queues(served) == []
    assert _capture_rules(served) == []


def test_capture_denied_names_actions(served: EmulatedStack) -> None:
    """A caller that may read the stack but not create a queue gets CapturePermissionError
    with the action, the resource and the list of actions to allow, and nothing is left."""
    iam = served.client("iam")
    iam.create_user(UserName="reader")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["cloudformation:Describe*", "cloudformation:List*"],
         "Resource": "*"}]}
    iam.put_user_policy(UserName="reader", PolicyName="reader",
                        PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    stack = _open(served, session=_session(key["AccessKeyId"], key["SecretAccessKey"]))

    with pytest.raises(CapturePermissionError) as raised, stack:
        pass

    message = str(raised.value)
    assert "the event capture needs sqs:CreateQueue on queue windtunnel-capture-" in message
    assert "events:PutRule" in message
    assert "capture=False" in message
    assert _capture_queues(served) == []


# --- what the AWS target cannot do -------------------------------------------------------


def test_clock_and_reset_not_supported(served: EmulatedStack) -> None:
    """clock and reset() raise NotSupportedOnAwsError with what to do instead."""
    stack = _open(served, capture=False)

    with pytest.raises(NotSupportedOnAwsError, match="cannot move time"):
        stack.clock.advance(60)
    with pytest.raises(NotSupportedOnAwsError, match="cannot reset a deployed stack"):
        stack.reset()
