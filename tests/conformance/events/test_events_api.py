"""EventBridge operations that use the pattern language, through boto3.

Sources:
- TestEventPattern: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
- PutRule errors: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
- Pattern semantics: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel import EmulatedStack, Stack

EVENT = {
    "id": "1", "account": "123456789012", "source": "shop", "time": "2026-01-01T00:00:00Z",
    "region": "us-east-1", "resources": [], "detail-type": "OrderCreated",
    "detail": {"items": [], "total": 12.5},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("events")
    (root / "template.yaml").write_text("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"
                                        "    Properties: {QueueName: captured}\n")
    with Stack.local(root, stack_name="events") as loaded:
        yield loaded


@pytest.mark.parametrize(("pattern", "expected"), [
    ({"source": ["shop"]}, True),
    ({"source": ["other"]}, False),
    ({"detail": {"total": [{"numeric": [">", 10]}]}}, True),
    # An empty array counts as absent for exists:
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
    ({"detail": {"items": [{"exists": True}]}}, False),
    ({"detail": {"items": [{"exists": False}]}}, True),
])
def test_test_event_pattern(stack: EmulatedStack, pattern: dict[str, Any],
                            expected: bool) -> None:
    """TestEventPattern returns whether the event matches."""
    result = stack.client("events").test_event_pattern(EventPattern=json.dumps(pattern),
                                                       Event=json.dumps(EVENT))

    assert result["Result"] is expected


def test_invalid_pattern_is_rejected(stack: EmulatedStack) -> None:
    """A pattern whose leaf is not an array fails with InvalidEventPatternException."""
    events = stack.client("events")

    with pytest.raises(ClientError) as tested:
        events.test_event_pattern(EventPattern=json.dumps({"source": "shop"}),
                                  Event=json.dumps(EVENT))
    with pytest.raises(ClientError) as put:
        events.put_rule(Name="bad", EventPattern=json.dumps({"source": "shop"}))

    for caught in (tested, put):
        error = caught.value.response["Error"]
        assert error["Code"] == "InvalidEventPatternException"
        assert error["Message"].startswith("Event pattern is not valid. Reason: ")
    assert "bad" not in [rule["Name"] for rule in events.list_rules()["Rules"]]


def test_rule_delivery_uses_eventbridge_matching(stack: EmulatedStack) -> None:
    """Events reach a rule's target by EventBridge's rules: an empty array is absent."""
    events = stack.client("events")
    sqs = stack.client("sqs")
    queue_url = stack.physical_id("Queue")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    rule_arn = events.put_rule(Name="with-items", EventPattern=json.dumps(
        {"source": ["shop"], "detail": {"items": [{"exists": True}]}}))["RuleArn"]
    # EventBridge delivers to a queue only when the queue policy allows it.
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                       "Action": "sqs:SendMessage", "Resource": queue_arn,
                       "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
    events.put_targets(Rule="with-items", Targets=[{"Id": "queue", "Arn": queue_arn}])

    for items in ([], ["pen"]):
        events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderCreated",
                                    "Detail": json.dumps({"items": items})}])
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]

    assert [json.loads(message["Body"])["detail"]["items"] for message in messages] == [
        ["pen"]]


def test_schedule_rule_matches_no_event(stack: EmulatedStack) -> None:
    """A rule with only a schedule expression is not matched by events put on its bus.

    Source: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rules.html (a rule
    runs either when an event matches its pattern or on a schedule)
    """
    events = stack.client("events")
    sqs = stack.client("sqs")
    queue_url = stack.physical_id("Queue")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                       "Action": "sqs:SendMessage", "Resource": queue_arn}]})})
    events.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="hourly", Targets=[{"Id": "queue", "Arn": queue_arn}])

    events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderCreated",
                                "Detail": "{}"}])
    messages = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])

    assert messages == []
