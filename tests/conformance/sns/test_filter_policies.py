"""SNS subscription filter policies: which messages a subscription receives, and which policies
Subscribe and SetSubscriptionAttributes reject.

Sources:
- Matching: https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html and its pages
  on string, numeric, key and AND/OR matching, e.g.
  https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html,
  https://docs.aws.amazon.com/sns/latest/dg/numeric-value-matching.html,
  https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html,
  https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html
- Scopes: https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html
- Limits (5 keys, 150 combinations, String/String.Array/Number attributes only):
  https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
- Error messages: responses recorded from AWS on 14 and 15 May 2024 in
  https://github.com/localstack/localstack/blob/main/tests/aws/services/sns/test_sns_filter_policy.snapshot.json
  AWS appends the parser location (``\\n at [Source: ...]``) to the messages of the
  match-expression errors. The table keeps the part before it, which windtunnel returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel import EmulatedStack, Stack

FILTERING = "https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html"
STRINGS = "https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html"
NUMBERS = "https://docs.aws.amazon.com/sns/latest/dg/numeric-value-matching.html"
KEYS = "https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html"
AND_OR = "https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html"
SCOPE = "https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html"
LIMITS = "https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html"
RECORDED = ("https://github.com/localstack/localstack/blob/main/tests/aws/services/sns/"
            "test_sns_filter_policy.snapshot.json")

TEMPLATE = """
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties: {TopicName: filtered}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: filtered-receiver}
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt Queue.Arn
            Condition:
              ArnEquals: {aws:SourceArn: !Ref Topic}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("sns-filters")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="sns-filters") as loaded:
        yield loaded


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _number(value: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": value}


def _array(values: list[Any]) -> dict[str, str]:
    return {"DataType": "String.Array", "StringValue": json.dumps(values)}


ATTRIBUTES = "MessageAttributes"
BODY = "MessageBody"

# (policy, scope, message attributes, message body, delivered, source)
MATCHING: list[tuple[dict[str, Any], str, dict[str, Any], str, bool, str]] = [
    # Exact string values, compared case-sensitively.
    ({"store": ["example_corp"]}, ATTRIBUTES, {"store": _string("example_corp")}, "m", True,
     STRINGS),
    ({"store": ["example_corp"]}, ATTRIBUTES, {"store": _string("other_corp")}, "m", False,
     STRINGS),
    ({"store": ["example_corp"]}, ATTRIBUTES, {"store": _string("Example_Corp")}, "m", False,
     LIMITS),
    ({"store": ["example_corp"]}, ATTRIBUTES, {}, "m", False, FILTERING),
    ({"store": ["a", "b"]}, ATTRIBUTES, {"store": _string("b")}, "m", True, AND_OR),
    # Every key of the policy must match (AND), and attributes the policy does not name
    # are ignored.
    ({"store": ["a"], "event": ["order_placed"]}, ATTRIBUTES,
     {"store": _string("a"), "event": _string("order_cancelled")}, "m", False, AND_OR),
    ({"store": ["a"], "event": ["order_placed"]}, ATTRIBUTES,
     {"store": _string("a"), "event": _string("order_placed"), "extra": _string("x")}, "m",
     True, AND_OR),
    # String.Array attributes match when any element matches.
    ({"customer_interests": ["rugby"]}, ATTRIBUTES,
     {"customer_interests": _array(["football", "rugby"])}, "m", True, FILTERING),
    ({"customer_interests": ["rugby"]}, ATTRIBUTES,
     {"customer_interests": _array(["football", "baseball"])}, "m", False, FILTERING),
    # prefix, suffix and equals-ignore-case.
    ({"event": [{"prefix": "order-"}]}, ATTRIBUTES, {"event": _string("order-placed")}, "m",
     True, STRINGS),
    ({"event": [{"prefix": "order-"}]}, ATTRIBUTES, {"event": _string("refund")}, "m", False,
     STRINGS),
    ({"image": [{"suffix": ".png"}]}, ATTRIBUTES, {"image": _string("cat.png")}, "m", True,
     STRINGS),
    ({"image": [{"suffix": ".png"}]}, ATTRIBUTES, {"image": _string("cat.jpg")}, "m", False,
     STRINGS),
    ({"state": [{"equals-ignore-case": "Shipped"}]}, ATTRIBUTES,
     {"state": _string("SHIPPED")}, "m", True, STRINGS),
    ({"state": [{"equals-ignore-case": "Shipped"}]}, ATTRIBUTES,
     {"state": _string("shipping")}, "m", False, STRINGS),
    # anything-but with values and with prefix. An absent attribute does not match, as
    # recorded for a message without attributes and the policy [null, anything-but].
    ({"sport": [{"anything-but": ["rugby", "tennis"]}]}, ATTRIBUTES,
     {"sport": _string("football")}, "m", True, STRINGS),
    ({"sport": [{"anything-but": ["rugby", "tennis"]}]}, ATTRIBUTES,
     {"sport": _string("rugby")}, "m", False, STRINGS),
    ({"event": [{"anything-but": {"prefix": "order-"}}]}, ATTRIBUTES,
     {"event": _string("order-cancelled")}, "m", False, STRINGS),
    ({"event": [{"anything-but": {"prefix": "order-"}}]}, ATTRIBUTES,
     {"event": _string("refund")}, "m", True, STRINGS),
    ({"attr1": [None, {"anything-but": "whatever"}]}, ATTRIBUTES, {}, "m", False, RECORDED),
    # Numeric matching compares Number attributes.
    ({"price": [{"numeric": ["=", 301.5]}]}, ATTRIBUTES, {"price": _number("301.5")}, "m",
     True, NUMBERS),
    ({"price": [{"numeric": ["=", 301.5]}]}, ATTRIBUTES, {"price": _number("300.5")}, "m",
     False, NUMBERS),
    ({"price": [{"numeric": [">", 0, "<=", 150]}]}, ATTRIBUTES, {"price": _number("150")},
     "m", True, NUMBERS),
    ({"price": [{"numeric": [">", 0, "<=", 150]}]}, ATTRIBUTES, {"price": _number("0")}, "m",
     False, NUMBERS),
    ({"price": [{"numeric": [">", 0, "<=", 150]}]}, ATTRIBUTES, {"price": _number("150.5")},
     "m", False, NUMBERS),
    ({"attr1": [{"numeric": [">", 0, "<=", 100]}]}, ATTRIBUTES, {"attr1": _number("99")},
     "m", True, RECORDED),
    # Key matching with exists.
    ({"store": [{"exists": True}]}, ATTRIBUTES, {"store": _string("any")}, "m", True, KEYS),
    ({"store": [{"exists": True}]}, ATTRIBUTES, {"other": _string("any")}, "m", False, KEYS),
    ({"store": [{"exists": False}]}, ATTRIBUTES, {"other": _string("any")}, "m", True, KEYS),
    ({"store": [{"exists": False}]}, ATTRIBUTES, {"store": _string("any")}, "m", False, KEYS),
    # Binary attributes are not compared, so they count as absent.
    ({"data": [{"exists": True}]}, ATTRIBUTES,
     {"data": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}, "m", False, LIMITS),
    # IP address matching with cidr.
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, ATTRIBUTES,
     {"source_ip": _string("10.0.0.255")}, "m", True, STRINGS),
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, ATTRIBUTES,
     {"source_ip": _string("10.0.1.1")}, "m", False, STRINGS),
    # OR across keys with $or.
    ({"$or": [{"store": ["a"]}, {"price": [{"numeric": [">", 100]}]}]}, ATTRIBUTES,
     {"store": _string("x"), "price": _number("200")}, "m", True, AND_OR),
    ({"$or": [{"store": ["a"]}, {"price": [{"numeric": [">", 100]}]}]}, ATTRIBUTES,
     {"store": _string("x"), "price": _number("50")}, "m", False, AND_OR),
    # Payload-based filtering compares the JSON body, with nesting.
    ({"order": {"status": ["paid"]}}, BODY, {}, json.dumps({"order": {"status": "paid"}}),
     True, SCOPE),
    ({"order": {"status": ["paid"]}}, BODY, {}, json.dumps({"order": {"status": "open"}}),
     False, SCOPE),
    ({"order": {"status": ["paid"]}}, BODY, {}, "not json", False, SCOPE),
    ({"total": [{"numeric": [">=", 10]}]}, BODY, {}, json.dumps({"total": 12.5}), True, SCOPE),
    ({"items": {"sku": ["A1"]}}, BODY, {}, json.dumps({"items": [{"sku": "B2"}, {"sku": "A1"}]}),
     True, SCOPE),
    ({"coupon": [{"exists": False}]}, BODY, {}, json.dumps({"total": 1}), True, SCOPE),
    # The body scope ignores message attributes.
    ({"store": ["a"]}, BODY, {"store": _string("a")}, json.dumps({"total": 1}), False, SCOPE),
    ({"$or": [{"a": {"b": ["x"]}}, {"c": ["y"]}]}, BODY, {}, json.dumps({"c": "y"}), True,
     AND_OR),
]


def _drain(stack: EmulatedStack) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = stack.physical_id("Queue")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   MessageAttributeNames=["All"])
    messages: list[dict[str, Any]] = received.get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


@pytest.mark.parametrize(("policy", "scope", "attributes", "body", "delivered", "source"),
                         MATCHING)
def test_filter_policy_matching(stack: EmulatedStack, policy: dict[str, Any], scope: str,
                                attributes: dict[str, Any], body: str, delivered: bool,
                                source: str) -> None:
    """A subscription receives a published message only when its filter policy matches."""
    sns = stack.client("sns")
    topic_arn = stack.physical_id("Topic")
    subscription_arn = sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs",
        Endpoint="arn:aws:sqs:us-east-1:123456789012:filtered-receiver",
        Attributes={"FilterPolicy": json.dumps(policy), "FilterPolicyScope": scope,
                    "RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True)["SubscriptionArn"]
    try:
        sns.publish(TopicArn=topic_arn, Message=body, MessageAttributes=attributes)
        bodies = [message["Body"] for message in _drain(stack)]
    finally:
        sns.unsubscribe(SubscriptionArn=subscription_arn)

    assert bodies == ([body] if delivered else []), source


def _too_many_values(count: int) -> list[str]:
    return [f"value{index}" for index in range(count)]


# (policy, expected message of Subscribe, source)
SUBSCRIBE_ERRORS: list[tuple[Any, str, str]] = [
    ({"key": [["value"]]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Match value must be String, number, "
     "true, false, or null", RECORDED),
    ({"key": [{"wrong-operator": True}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type "
     "wrong-operator", RECORDED),
    ({"key": [{"suffix": "value", "prefix": "value2"}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Only one key allowed in match "
     "expression", RECORDED),
    ({"key": [{"suffix": 100}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: suffix match pattern must be a string",
     RECORDED),
    ({"key": [{"suffix": []}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: suffix match pattern must be a string",
     RECORDED),
    ({"key": {"suffix": "value"}},
     'Invalid parameter: Attributes Reason: FilterPolicy: "suffix" must be an object or an '
     'array', RECORDED),
    ({"key": [{"numeric": []}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Invalid member in numeric match: ]",
     RECORDED),
    ({"key": [{"numeric": ["operator"]}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized numeric range operator: "
     "operator", RECORDED),
    ({"key": [{"numeric": [1, "<="]}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Invalid member in numeric match: 1",
     RECORDED),
    ({"key": [{"numeric": ["=", "000"]}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Value of equals must be numeric",
     RECORDED),
    ({"key": [{"numeric": ["<", 100, ">", 10]}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Too many elements in numeric "
     "expression", RECORDED),
    ({"key": [{"numeric": [">=", 1, ">", 2]}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Bad numeric range operator: >",
     RECORDED),
    ({"key": [{"numeric": [">", 3, "<", 1]}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Bottom must be less than top",
     RECORDED),
    ({"key": [{"numeric": [">", 20, 30]}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Bad value in numeric range: 30",
     RECORDED),
    ({"key": [{"numeric": [">", 20, "<", 30, "<", 50]}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Too many terms in numeric range "
     "expression", RECORDED),
    ({"key": [{"exists": None}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: exists match pattern must be either "
     "true or false.", RECORDED),
    ({"key": _too_many_values(151)},
     "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy is too complex",
     RECORDED),
    ({"key1": _too_many_values(100), "key2": _too_many_values(51)},
     "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy is too complex",
     RECORDED),
    ({f"key{index}": [f"value{index}"] for index in range(1, 7)},
     "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy can not have more than "
     "5 keys", RECORDED),
    # SNS documents anything-but with values and prefix only, and no wildcard operator.
    ({"key": [{"anything-but": {"suffix": "a"}}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Unsupported anything-but pattern: "
     "suffix", STRINGS),
    ({"key": [{"wildcard": "a*"}]},
     "Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type wildcard",
     STRINGS),
]


@pytest.mark.parametrize(("policy", "message", "source"), SUBSCRIBE_ERRORS)
def test_subscribe_rejects_policy(stack: EmulatedStack, policy: Any, message: str,
                                  source: str) -> None:
    """Subscribe fails with InvalidParameter and creates no subscription."""
    sns = stack.client("sns")
    topic_arn = stack.physical_id("Topic")

    with pytest.raises(ClientError) as raised:
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs",
                      Endpoint="arn:aws:sqs:us-east-1:123456789012:filtered-receiver",
                      Attributes={"FilterPolicy": json.dumps(policy)})

    error = raised.value.response
    assert error["Error"]["Code"] == "InvalidParameter", source
    assert error["Error"]["Message"] == message, source
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"] == []


# (attribute name, value, expected message of SetSubscriptionAttributes, source)
SET_ATTRIBUTE_ERRORS: list[tuple[str, str, str, str]] = [
    ("FilterPolicy", json.dumps({"object": {"key": [{"prefix": "auto-"}]}}),
     "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter "
     "policy", RECORDED),
    ("FilterPolicyScope", "RandomValue",
     "Invalid parameter: FilterPolicyScope: Invalid value [RandomValue]. Please use either "
     "MessageBody or MessageAttributes", RECORDED),
    ("FilterPolicy", json.dumps({"key_a": "value_one"}),
     'Invalid parameter: FilterPolicy: "key_a" must be an object or an array', RECORDED),
    ("FilterPolicy", json.dumps({f"key{index}": ["value"] for index in range(6)}),
     "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys", RECORDED),
    ("FilterPolicy", json.dumps({"key": _too_many_values(151)}),
     "Invalid parameter: FilterPolicy: Filter policy is too complex", RECORDED),
]


@pytest.mark.parametrize(("name", "value", "message", "source"), SET_ATTRIBUTE_ERRORS)
def test_set_subscription_attributes_rejects(stack: EmulatedStack, name: str, value: str,
                                             message: str, source: str) -> None:
    """SetSubscriptionAttributes fails with InvalidParameter and keeps the old attributes."""
    sns = stack.client("sns")
    subscription_arn = sns.subscribe(
        TopicArn=stack.physical_id("Topic"), Protocol="sqs",
        Endpoint="arn:aws:sqs:us-east-1:123456789012:filtered-receiver",
        ReturnSubscriptionArn=True)["SubscriptionArn"]
    try:
        with pytest.raises(ClientError) as raised:
            sns.set_subscription_attributes(SubscriptionArn=subscription_arn,
                                            AttributeName=name, AttributeValue=value)
        attributes = sns.get_subscription_attributes(
            SubscriptionArn=subscription_arn)["Attributes"]
    finally:
        sns.unsubscribe(SubscriptionArn=subscription_arn)

    assert raised.value.response["Error"]["Code"] == "InvalidParameter", source
    assert raised.value.response["Error"]["Message"] == message, source
    assert name not in attributes


def test_nested_policy_accepted_in_body_scope(stack: EmulatedStack) -> None:
    """A nested policy is valid once the scope is MessageBody (recorded from AWS)."""
    sns = stack.client("sns")
    subscription_arn = sns.subscribe(
        TopicArn=stack.physical_id("Topic"), Protocol="sqs",
        Endpoint="arn:aws:sqs:us-east-1:123456789012:filtered-receiver",
        ReturnSubscriptionArn=True)["SubscriptionArn"]
    policy = json.dumps({"object": {"key": [{"prefix": "auto-"}]}})
    try:
        sns.set_subscription_attributes(SubscriptionArn=subscription_arn,
                                        AttributeName="FilterPolicyScope",
                                        AttributeValue="MessageBody")
        sns.set_subscription_attributes(SubscriptionArn=subscription_arn,
                                        AttributeName="FilterPolicy", AttributeValue=policy)
        attributes = sns.get_subscription_attributes(
            SubscriptionArn=subscription_arn)["Attributes"]
    finally:
        sns.unsubscribe(SubscriptionArn=subscription_arn)

    assert attributes["FilterPolicy"] == policy, RECORDED
    assert attributes["FilterPolicyScope"] == "MessageBody"


def test_empty_filter_policy_removes_it(stack: EmulatedStack) -> None:
    """Setting FilterPolicy to "" removes the policy, so every message is delivered again."""
    sns = stack.client("sns")
    topic_arn = stack.physical_id("Topic")
    subscription_arn = sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs",
        Endpoint="arn:aws:sqs:us-east-1:123456789012:filtered-receiver",
        Attributes={"FilterPolicy": json.dumps({"store": ["a"]}), "RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True)["SubscriptionArn"]
    try:
        sns.set_subscription_attributes(SubscriptionArn=subscription_arn,
                                        AttributeName="FilterPolicy", AttributeValue="")
        sns.publish(TopicArn=topic_arn, Message="unfiltered")
        bodies = [message["Body"] for message in _drain(stack)]
    finally:
        sns.unsubscribe(SubscriptionArn=subscription_arn)

    assert bodies == ["unfiltered"], RECORDED
