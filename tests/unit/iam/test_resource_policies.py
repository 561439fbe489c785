"""Reading each service's resource-based policy from the state of the embedded cloud.

Sources, one page per service:
- SQS queue policy: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-using-identity-based-policies.html
- SNS topic policy and its default: https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
- S3 bucket policy: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
- Lambda function policy, per version and alias:
  https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
  https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html
- EventBridge bus policy: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html
- KMS default key policy: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
- Secrets Manager: https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from windtunnel.cloud.pipeline import Cloud
from windtunnel.iam.resource_policies import resource_policy_of

ACCOUNT = "123456789012"
REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"


def _policy(resource: str, principal: Any, action: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "grant", "Effect": "Allow", "Principal": principal, "Action": action,
         "Resource": resource}]}


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


def _create_function(cloud: Cloud, name: str = "worker") -> str:
    iam = cloud.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"{name}-role",
                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("app.py", "def handler(event, context):\n    return event\n")
    function = cloud.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": archive.getvalue()})
    return str(function["FunctionArn"])


def test_queue_without_policy_has_none(cloud: Cloud) -> None:
    """A queue has no policy until SetQueueAttributes sets one."""
    cloud.client("sqs").create_queue(QueueName="orders")

    assert resource_policy_of(f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders") is None


def test_queue_policy_is_returned_decoded(cloud: Cloud) -> None:
    """The Policy attribute of a queue is returned as a decoded document."""
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
    policy = _policy(queue_arn, {"Service": "sns.amazonaws.com"}, "sqs:SendMessage")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})

    assert resource_policy_of(queue_arn) == policy


def test_topic_has_default_policy(cloud: Cloud) -> None:
    """A new topic has SNS's default policy: the owner account, through AWS:SourceOwner."""
    cloud.client("sns").create_topic(Name="alerts")

    policy = resource_policy_of(TOPIC_ARN)

    assert policy is not None
    assert policy["Id"] == "__default_policy_ID"
    statement = policy["Statement"][0]
    assert statement["Principal"] == {"AWS": "*"}
    assert "SNS:Publish" in statement["Action"]
    assert statement["Resource"] == TOPIC_ARN
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}


def test_topic_policy_replaces_default(cloud: Cloud) -> None:
    """SetTopicAttributes Policy replaces the default policy."""
    sns = cloud.client("sns")
    sns.create_topic(Name="alerts")
    policy = _policy(TOPIC_ARN, {"Service": "events.amazonaws.com"}, "sns:Publish")
    sns.set_topic_attributes(TopicArn=TOPIC_ARN, AttributeName="Policy",
                             AttributeValue=json.dumps(policy))

    assert resource_policy_of(TOPIC_ARN) == policy


def test_bucket_policy_covers_bucket_and_objects(cloud: Cloud) -> None:
    """The bucket policy is the policy of the bucket and of every object in it."""
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="uploads")
    policy = _policy("arn:aws:s3:::uploads/*", "*", "s3:GetObject")
    s3.put_bucket_policy(Bucket="uploads", Policy=json.dumps(policy))

    assert resource_policy_of("arn:aws:s3:::uploads") == policy
    assert resource_policy_of("arn:aws:s3:::uploads/images/cat.png") == policy


def test_bucket_without_policy_has_none(cloud: Cloud) -> None:
    """A bucket without a policy, and a bucket that does not exist, have none."""
    cloud.client("s3").create_bucket(Bucket="uploads")

    assert resource_policy_of("arn:aws:s3:::uploads") is None
    assert resource_policy_of("arn:aws:s3:::missing/key") is None


def test_function_policy_lists_permissions(cloud: Cloud) -> None:
    """AddPermission statements form the function policy, with SourceArn as a condition."""
    function_arn = _create_function(cloud)
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"
    cloud.client("lambda").add_permission(
        FunctionName="worker", StatementId="events", Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com", SourceArn=rule_arn)

    policy = resource_policy_of(function_arn)

    assert policy is not None
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == function_arn
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": rule_arn}}


def test_function_without_permission_has_none(cloud: Cloud) -> None:
    """A function without AddPermission statements has no policy."""
    function_arn = _create_function(cloud)

    assert resource_policy_of(function_arn) is None
    assert resource_policy_of(f"{function_arn}:$LATEST") is None


def test_account_principal_becomes_root_arn(cloud: Cloud) -> None:
    """An account ID given to AddPermission is stored as the account's root ARN."""
    function_arn = _create_function(cloud)
    cloud.client("lambda").add_permission(
        FunctionName="worker", StatementId="partner", Action="lambda:InvokeFunction",
        Principal="111122223333")

    policy = resource_policy_of(function_arn)

    assert policy is not None
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}


def test_alias_has_its_own_policy(cloud: Cloud) -> None:
    """A permission added with an alias qualifier belongs to the alias only."""
    function_arn = _create_function(cloud)
    client = cloud.client("lambda")
    version = client.publish_version(FunctionName="worker")["Version"]
    client.create_alias(FunctionName="worker", Name="live", FunctionVersion=version)
    client.add_permission(FunctionName="worker", Qualifier="live", StatementId="sns",
                          Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")

    alias_policy = resource_policy_of(f"{function_arn}:live")

    assert alias_policy is not None
    assert [s["Sid"] for s in alias_policy["Statement"]] == ["sns"]
    assert resource_policy_of(function_arn) is None
    assert resource_policy_of(f"{function_arn}:{version}") is None


def test_unknown_qualifier_has_none(cloud: Cloud) -> None:
    """A version or alias that does not exist has no policy."""
    function_arn = _create_function(cloud)
    cloud.client("lambda").add_permission(
        FunctionName="worker", StatementId="events", Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com")

    assert resource_policy_of(f"{function_arn}:missing") is None
    assert resource_policy_of(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other") is None


def test_event_bus_policy_from_put_permission(cloud: Cloud) -> None:
    """PutPermission adds a statement to the bus policy, with the bus as its Resource."""
    events = cloud.client("events")
    bus_arn = events.create_event_bus(Name="orders")["EventBusArn"]
    events.put_permission(EventBusName="orders", Action="events:PutEvents",
                          Principal="111122223333", StatementId="partner")

    policy = resource_policy_of(bus_arn)

    assert policy is not None
    [statement] = policy["Statement"]
    assert statement["Sid"] == "partner"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == bus_arn


def test_event_bus_without_policy_has_none(cloud: Cloud) -> None:
    """A bus without permissions has no policy."""
    bus_arn = cloud.client("events").create_event_bus(Name="orders")["EventBusArn"]

    assert resource_policy_of(bus_arn) is None


def test_key_has_default_key_policy(cloud: Cloud) -> None:
    """A key created without a policy gets the default: the account root may do kms:*."""
    kms = cloud.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key["KeyId"])

    policy = resource_policy_of(key["Arn"])

    assert policy is not None
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert statement["Action"] == "kms:*"
    assert statement["Resource"] == "*"
    assert resource_policy_of(f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app") == policy


def test_key_policy_from_put_key_policy(cloud: Cloud) -> None:
    """PutKeyPolicy replaces the key policy."""
    kms = cloud.client("kms")
    key = kms.create_key()["KeyMetadata"]
    policy = _policy("*", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "kms:Decrypt")
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy))

    assert resource_policy_of(key["Arn"]) == policy


def test_secret_policy_from_put_resource_policy(cloud: Cloud) -> None:
    """PutResourcePolicy sets the policy of a secret; a secret without one has none."""
    secrets = cloud.client("secretsmanager")
    with_policy = secrets.create_secret(Name="db", SecretString="x")["ARN"]
    without_policy = secrets.create_secret(Name="api", SecretString="y")["ARN"]
    policy = _policy("*", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                     "secretsmanager:GetSecretValue")
    secrets.put_resource_policy(SecretId="db", ResourcePolicy=json.dumps(policy))

    assert resource_policy_of(with_policy) == policy
    assert resource_policy_of(without_policy) is None


@pytest.mark.parametrize("arn", [
    "not an arn",
    f"arn:aws:sqs:{REGION}:{ACCOUNT}:missing",
    f"arn:aws:sns:{REGION}:{ACCOUNT}:missing",
    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders",
    f"arn:aws:sqs:{REGION}:999999999999:orders",
])
def test_unknown_resource_has_none(cloud: Cloud, arn: str) -> None:
    """Resources that do not exist, and services without resource policies, have none."""
    assert resource_policy_of(arn) is None


def test_lookup_creates_no_backend(cloud: Cloud) -> None:
    """Looking up a resource in an account the cloud has not used adds no state for it."""
    from moto.sqs.models import sqs_backends

    resource_policy_of(f"arn:aws:sqs:{REGION}:999999999999:orders")

    assert "999999999999" not in dict.keys(sqs_backends)
