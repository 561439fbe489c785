"""Deciding whether a service may deliver to a resource, from the resource's own policy.

Sources:
- SNS to SQS, the queue policy with aws:SourceArn:
  https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
- EventBridge targets and their resource-based policies:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
- aws:SourceArn and aws:SourceAccount:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcearn
- Service principals have no identity-based policies, so only a resource-based policy
  can allow them: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-services
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from windtunnel.cloud.moto_corrections import authorize_sns_deliveries, set_delivery_authorizer
from windtunnel.cloud.pipeline import Cloud
from windtunnel.iam import PolicyType, Reason
from windtunnel.iam.delivery import authorize_delivery, evaluate_delivery

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
OTHER_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:other"


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    cloud = Cloud()
    authorize_sns_deliveries()
    yield cloud
    set_delivery_authorizer(None)


@pytest.fixture
def queue_url(cloud: Cloud) -> str:
    return str(cloud.client("sqs").create_queue(QueueName="orders")["QueueUrl"])


def _create_function(cloud: Cloud) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    role = cloud.client("iam").create_role(
        RoleName="worker-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("app.py", "def handler(event, context):\n    return event\n")
    function = cloud.client("lambda").create_function(
        FunctionName="worker", Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": archive.getvalue()})
    return str(function["FunctionArn"])


def _set_queue_policy(cloud: Cloud, url: str, *statements: dict[str, Any]) -> None:
    policy = {"Version": "2012-10-17", "Statement": list(statements)}
    cloud.client("sqs").set_queue_attributes(QueueUrl=url,
                                             Attributes={"Policy": json.dumps(policy)})


def _allow(principal: Any, source_arn: str | None = None,
           effect: str = "Allow") -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect, "Principal": principal,
                                 "Action": "sqs:SendMessage", "Resource": QUEUE_ARN}
    if source_arn is not None:
        statement["Condition"] = {"ArnEquals": {"aws:SourceArn": source_arn}}
    return statement


def test_queue_without_policy_denies(cloud: Cloud, queue_url: str) -> None:
    """A queue without a policy allows no service to send to it."""
    decision = evaluate_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN,
                                 TOPIC_ARN, ACCOUNT)

    assert not decision.allowed
    assert decision.reason is Reason.IMPLICIT_DENY
    assert decision.policy_type is PolicyType.RESOURCE


def test_policy_for_topic_allows_that_topic(cloud: Cloud, queue_url: str) -> None:
    """The usual queue policy allows SNS for the topic named in aws:SourceArn."""
    _set_queue_policy(cloud, queue_url, _allow({"Service": "sns.amazonaws.com"}, TOPIC_ARN))

    decision = evaluate_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN,
                                 TOPIC_ARN, ACCOUNT)

    assert decision.allowed
    assert decision.matched_statements[0].policy_type is PolicyType.RESOURCE


def test_policy_for_topic_denies_other_topic(cloud: Cloud, queue_url: str) -> None:
    """Another topic does not match the aws:SourceArn condition."""
    _set_queue_policy(cloud, queue_url, _allow({"Service": "sns.amazonaws.com"}, TOPIC_ARN))

    assert not authorize_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN,
                                  OTHER_TOPIC_ARN, ACCOUNT)


def test_policy_for_other_service_denies(cloud: Cloud, queue_url: str) -> None:
    """A statement for events.amazonaws.com does not allow sns.amazonaws.com."""
    _set_queue_policy(cloud, queue_url, _allow({"Service": "events.amazonaws.com"}))

    assert authorize_delivery("events.amazonaws.com", "sqs:SendMessage", QUEUE_ARN, None,
                              None)
    assert not authorize_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN,
                                  TOPIC_ARN, ACCOUNT)


def test_everyone_with_source_condition_allows(cloud: Cloud, queue_url: str) -> None:
    """Principal "*" limited by aws:SourceArn, an older form of the same policy, allows."""
    _set_queue_policy(cloud, queue_url, _allow("*", TOPIC_ARN))

    assert authorize_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN, TOPIC_ARN,
                              ACCOUNT)


def test_source_account_condition(cloud: Cloud, queue_url: str) -> None:
    """aws:SourceAccount is the account that owns the source."""
    statement = _allow({"Service": "sns.amazonaws.com"})
    statement["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    _set_queue_policy(cloud, queue_url, statement)

    assert authorize_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN, TOPIC_ARN,
                              ACCOUNT)
    assert not authorize_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN,
                                  TOPIC_ARN, "111122223333")


def test_explicit_deny_wins(cloud: Cloud, queue_url: str) -> None:
    """A Deny for the topic overrides an Allow for the service."""
    _set_queue_policy(cloud, queue_url, _allow({"Service": "sns.amazonaws.com"}),
                      _allow({"Service": "sns.amazonaws.com"}, TOPIC_ARN, effect="Deny"))

    decision = evaluate_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN,
                                 TOPIC_ARN, ACCOUNT)

    assert not decision.allowed
    assert decision.reason is Reason.EXPLICIT_DENY


def test_invalid_stored_policy_denies(cloud: Cloud, queue_url: str) -> None:
    """A stored policy that IAM would reject (no Principal) allows nothing."""
    statement = _allow({"Service": "sns.amazonaws.com"})
    del statement["Principal"]
    _set_queue_policy(cloud, queue_url, statement)

    decision = evaluate_delivery("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN,
                                 TOPIC_ARN, ACCOUNT)

    assert not decision.allowed


def test_function_permission_with_source_arn(cloud: Cloud) -> None:
    """AddPermission with SourceArn allows the service for that source only."""
    function_arn = _create_function(cloud)
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"
    cloud.client("lambda").add_permission(
        FunctionName="worker", StatementId="events", Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com", SourceArn=rule_arn)

    assert authorize_delivery("events.amazonaws.com", "lambda:InvokeFunction", function_arn,
                              rule_arn, ACCOUNT)
    assert not authorize_delivery("events.amazonaws.com", "lambda:InvokeFunction",
                                  function_arn, f"{rule_arn}-other", ACCOUNT)
    assert not authorize_delivery("sns.amazonaws.com", "lambda:InvokeFunction", function_arn,
                                  rule_arn, ACCOUNT)


def test_custom_authorizer_decides_deliveries(cloud: Cloud, queue_url: str) -> None:
    """A delivery authorizer receives each delivery's principal, action, target and source."""
    calls: list[tuple[str, str, str, str | None, str | None]] = []

    def allow_all(principal: str, action: str, target: str, source_arn: str | None,
                  source_account: str | None) -> bool:
        calls.append((principal, action, target, source_arn, source_account))
        return True

    set_delivery_authorizer(allow_all)
    sns = cloud.client("sns")
    sns.create_topic(Name="alerts")
    sns.subscribe(TopicArn=TOPIC_ARN, Protocol="sqs", Endpoint=QUEUE_ARN)
    sns.publish(TopicArn=TOPIC_ARN, Message="hello")

    messages = cloud.client("sqs").receive_message(QueueUrl=queue_url).get("Messages", [])

    assert calls == [("sns.amazonaws.com", "sqs:SendMessage", QUEUE_ARN, TOPIC_ARN, ACCOUNT)]
    assert len(messages) == 1


def test_default_authorizer_is_restored(cloud: Cloud, queue_url: str) -> None:
    """set_delivery_authorizer(None) returns to evaluating the target's policy."""
    set_delivery_authorizer(lambda *arguments: True)
    set_delivery_authorizer(None)
    sns = cloud.client("sns")
    sns.create_topic(Name="alerts")
    sns.subscribe(TopicArn=TOPIC_ARN, Protocol="sqs", Endpoint=QUEUE_ARN)
    sns.publish(TopicArn=TOPIC_ARN, Message="hello")

    messages = cloud.client("sqs").receive_message(QueueUrl=queue_url).get("Messages", [])

    assert messages == []
