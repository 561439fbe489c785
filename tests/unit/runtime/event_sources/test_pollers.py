"""The poller registry: mapping settings, scheduling on the clock, threads, IAM checks.

Mapping defaults come from the CreateEventSourceMapping reference
(https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html): a
batch size of 10 for SQS and 100 for streams, and -1 (infinite) for
MaximumRetryAttempts and MaximumRecordAgeInSeconds. Lambda polls with the function's
execution role (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from windtunnel.runtime.event_sources.mappings import read_mapping, split_qualifier
from windtunnel.stack.environment import Environment

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture
def environment() -> Iterator[Environment]:
    environment = Environment()
    yield environment
    environment.close()


def _function(environment: Environment, name: str = "consumer",
              statements: list[dict[str, Any]] | None = None) -> str:
    iam = environment.cloud.client("iam")
    role = iam.create_role(RoleName=f"{name}-role",
                           AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=f"{name}-role", PolicyName="poll", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    return str(environment.cloud.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Handler="index.handler", Role=role,
        Code={"ZipFile": _code()})["FunctionArn"])


def _queue(environment: Environment, name: str = "jobs") -> tuple[str, str]:
    sqs = environment.cloud.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    return str(url), str(arn)


def test_sqs_mapping_defaults(environment: Environment) -> None:
    """An SQS mapping without settings has batch size 10 and no window or filters."""
    function_arn = _function(environment)
    _url, queue_arn = _queue(environment)
    created = environment.cloud.client("lambda").create_event_source_mapping(
        FunctionName=function_arn, EventSourceArn=queue_arn)

    mapping = read_mapping(environment.cloud.account_id, "us-east-1", created["UUID"])

    assert mapping is not None
    assert mapping.kind == "sqs"
    assert mapping.enabled
    assert mapping.batch_size == 10
    assert mapping.batching_window == 0
    assert mapping.filters == ()
    assert not mapping.report_batch_item_failures
    assert mapping.function_name == "consumer"


def test_stream_mapping_defaults(environment: Environment) -> None:
    """A Kinesis mapping has batch size 100, and infinite retries and record age."""
    function_arn = _function(environment)
    kinesis = environment.cloud.client("kinesis")
    kinesis.create_stream(StreamName="telemetry", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="telemetry")["StreamDescription"][
        "StreamARN"]
    created = environment.cloud.client("lambda").create_event_source_mapping(
        FunctionName=function_arn, EventSourceArn=stream_arn, StartingPosition="LATEST")

    mapping = read_mapping(environment.cloud.account_id, "us-east-1", created["UUID"])

    assert mapping is not None
    assert mapping.kind == "kinesis"
    assert mapping.batch_size == 100
    assert mapping.starting_position == "LATEST"
    assert mapping.maximum_retry_attempts == -1
    assert mapping.maximum_record_age == -1
    assert not mapping.bisect_batch_on_function_error


def test_deleted_mapping_reads_as_none(environment: Environment) -> None:
    """A deleted mapping is gone for the pollers too."""
    function_arn = _function(environment)
    _url, queue_arn = _queue(environment)
    awslambda = environment.cloud.client("lambda")
    uuid = awslambda.create_event_source_mapping(FunctionName=function_arn,
                                                 EventSourceArn=queue_arn)["UUID"]

    awslambda.delete_event_source_mapping(UUID=uuid)

    assert read_mapping(environment.cloud.account_id, "us-east-1", uuid) is None


@pytest.mark.parametrize(("arn", "expected"), [
    ("arn:aws:lambda:us-east-1:123456789012:function:consumer",
     ("arn:aws:lambda:us-east-1:123456789012:function:consumer", None)),
    ("arn:aws:lambda:us-east-1:123456789012:function:consumer:live",
     ("arn:aws:lambda:us-east-1:123456789012:function:consumer", "live")),
])
def test_split_qualifier(arn: str, expected: tuple[str, str | None]) -> None:
    """A version or alias at the end of a function ARN is its qualifier."""
    assert split_qualifier(arn) == expected


def test_same_key_schedules_once(environment: Environment) -> None:
    """A keyed poll that is already due no later is not scheduled again."""
    pollers, clock = environment.event_sources, environment.clock
    runs: list[str] = []

    pollers.schedule(0, lambda: runs.append("first"), key="sqs:mapping")
    pollers.schedule(5, lambda: runs.append("later"), key="sqs:mapping")
    pollers.schedule(0, lambda: runs.append("again"), key="sqs:mapping")
    pollers.schedule(0, lambda: runs.append("other"), key="sqs:other")

    assert len(clock.pending()) == 2
    clock.run_due()
    assert runs == ["first", "other"]


def test_earlier_due_time_schedules_again(environment: Environment) -> None:
    """A keyed poll due earlier than the pending one is scheduled as well."""
    pollers, clock = environment.event_sources, environment.clock
    runs: list[str] = []

    pollers.schedule(20, lambda: runs.append("window"), key="sqs:mapping")
    pollers.schedule(0, lambda: runs.append("full batch"), key="sqs:mapping")
    clock.advance(20)

    assert runs == ["full batch", "window"]


def test_other_thread_waits_for_running_poll(environment: Environment) -> None:
    """A poll requested from another thread while a poll runs is scheduled when it ends.

    The clock holds its lock while a call runs, so scheduling from the other thread right
    away would block until the poll ends: a deadlock when the poll waits for that thread.
    """
    pollers, clock = environment.event_sources, environment.clock
    runs: list[str] = []

    def poll() -> None:
        helper = threading.Thread(target=pollers.schedule,
                                  args=(0, lambda: runs.append("from thread")))
        helper.start()
        helper.join(timeout=5)
        runs.append("alive" if helper.is_alive() else "returned")

    pollers.schedule(0, poll)
    clock.run_due()

    assert runs == ["returned", "from thread"]


def test_reset_cancels_scheduled_polls(environment: Environment) -> None:
    """reset() cancels the scheduled polls and clears their keys."""
    pollers, clock = environment.event_sources, environment.clock
    runs: list[str] = []
    pollers.schedule(0, lambda: runs.append("cancelled"), key="sqs:mapping")
    pollers.schedule(30, lambda: runs.append("cancelled too"))

    environment.reset()
    pollers.schedule(0, lambda: runs.append("after reset"), key="sqs:mapping")
    clock.advance(60)

    assert runs == ["after reset"]


def test_failing_poll_does_not_stop_clock(environment: Environment,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """An error in one poll is logged, and the other calls still run."""
    pollers, clock = environment.event_sources, environment.clock
    runs: list[str] = []

    def broken() -> None:
        raise KeyError("missing")

    pollers.schedule(0, broken)
    pollers.schedule(0, lambda: runs.append("next"))
    clock.run_due()

    assert runs == ["next"]
    assert "event source poller failed" in caplog.text


@pytest.mark.parametrize(("statements", "mode", "expected"), [
    pytest.param([{"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage",
                                                  "sqs:GetQueueAttributes"],
                   "Resource": "*"}], "enforce", True, id="granted"),
    pytest.param([{"Effect": "Allow", "Action": ["sqs:DeleteMessage",
                                                  "sqs:GetQueueAttributes"],
                   "Resource": "*"}], "enforce", False, id="receive missing"),
    pytest.param([], "warn", True, id="warn mode"),
    pytest.param([], "off", True, id="IAM off"),
])
def test_execution_role_decides_polling(statements: list[dict[str, Any]], mode: str,
                                        expected: bool) -> None:
    """The role needs the poller's actions on the queue, unless IAM only warns or is off."""
    environment = Environment(iam=mode)
    try:
        function_arn = _function(environment, statements=statements)
        _url, queue_arn = _queue(environment)
        uuid = environment.cloud.client("lambda").create_event_source_mapping(
            FunctionName=function_arn, EventSourceArn=queue_arn)["UUID"]
        mapping = read_mapping(environment.cloud.account_id, "us-east-1", uuid)
        assert mapping is not None

        allowed = environment.event_sources.permitted(
            mapping, ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
            queue_arn)

        assert allowed is expected
        recorded = [record.action for record in environment.cloud.authorizer.records
                    if record.function_name == "consumer"]
        assert (recorded != []) is (mode != "off")
    finally:
        environment.close()
