"""access_checks beyond the conformance table: fallbacks, protocols and errors."""

from __future__ import annotations

import contextlib

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.exceptions import ClientError
from botocore.serialize import create_serializer

from windtunnel.cloud.messages import AwsRequest
from windtunnel.cloud.pipeline import Cloud
from windtunnel.iam.operations import AccessCheck, UnknownOperationError, access_checks

ACCOUNT = "123456789012"


def _capture(cloud: Cloud, service: str, method: str, **arguments: object) -> AwsRequest:
    captured: list[AwsRequest] = []
    cloud.add_before_dispatch(captured.append)
    with contextlib.suppress(ClientError):
        getattr(cloud.client(service), method)(**arguments)
    return captured[-1]


def test_unmapped_service_uses_operation_name() -> None:
    """A service without rules is checked as ``<prefix>:<Operation>`` on ``*``."""
    request = _capture(Cloud(), "iam", "list_roles")

    assert access_checks(request, ACCOUNT) == [AccessCheck("iam:ListRoles", "*")]


def test_public_cognito_operation_has_no_checks() -> None:
    """Cognito does not evaluate IAM policies for InitiateAuth.

    Source: https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html
    """
    request = AwsRequest(
        "POST", "https://cognito-idp.us-east-1.amazonaws.com/",
        HeadersDict({"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"}),
        b'{"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c"}', "cognito-idp", "us-east-1",
        operation="InitiateAuth")

    assert access_checks(request, ACCOUNT) == []


def test_unknown_operation_of_mapped_service_raises() -> None:
    """An operation that names no action raises a ValueError naming service and operation."""
    request = AwsRequest("POST", "https://sqs.us-east-1.amazonaws.com/", HeadersDict(), b"{}",
                         "sqs", "us-east-1", operation="TeleportMessage")

    with pytest.raises(UnknownOperationError, match="sqs operation TeleportMessage"):
        access_checks(request, ACCOUNT)


def test_operation_newer_than_the_reference_checks_its_name() -> None:
    """An operation botocore knows but the reference data does not name yet is checked as
    ``<prefix>:<Operation>`` on ``*``, so a grant of ``lambda:*`` allows it."""
    from windtunnel.iam.operations import SERVICES

    [operation, *_] = sorted(SERVICES["lambda"].unmapped)
    request = AwsRequest("POST", "https://lambda.us-east-1.amazonaws.com/", HeadersDict(),
                         b"{}", "lambda", "us-east-1", operation=operation)

    assert access_checks(request, ACCOUNT) == [AccessCheck(f"lambda:{operation}", "*")]


def test_unnamed_rest_request_raises() -> None:
    """A REST request that matches no URI template of the model raises a ValueError."""
    request = AwsRequest("GET", "https://lambda.us-east-1.amazonaws.com/no/such/path",
                         HeadersDict(), b"", "lambda", "us-east-1")

    with pytest.raises(ValueError, match="GET /no/such/path"):
        access_checks(request, ACCOUNT)


def test_cbor_request_is_named_and_read() -> None:
    """A Smithy RPC v2 CBOR request to CloudWatch is named from its path and decoded.

    Source: https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
    """
    model = botocore.session.get_session().get_service_model("cloudwatch")
    serialized = create_serializer("smithy-rpc-v2-cbor").serialize_to_request(
        {"AlarmName": "errors", "MetricName": "Errors", "Namespace": "Shop", "Period": 60,
         "EvaluationPeriods": 1, "Threshold": 1.0,
         "ComparisonOperator": "GreaterThanThreshold"},
        model.operation_model("PutMetricAlarm"))
    request = AwsRequest("POST", "https://monitoring.us-east-1.amazonaws.com"
                         + serialized["url_path"], HeadersDict(serialized["headers"]),
                         serialized["body"], "monitoring", "us-east-1")

    checks = access_checks(request, ACCOUNT)

    assert checks == [AccessCheck("cloudwatch:PutMetricAlarm",
                                  f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:errors")]


def test_unnamed_resource_uses_wildcards() -> None:
    """A required resource the request cannot name gets ``*`` for its unknown parts.

    A Kinesis consumer ARN ends with its creation time, which DescribeStreamConsumer by
    name does not carry.
    Source: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesis.html
    """
    cloud = Cloud()
    cloud.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    stream = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/clicks"
    request = _capture(cloud, "kinesis", "describe_stream_consumer", StreamARN=stream,
                       ConsumerName="reader")

    checks = access_checks(request, ACCOUNT)

    assert [check.resource for check in checks] == [f"{stream}/consumer/reader:*"]


def test_checks_are_not_repeated() -> None:
    """Two batch entries for the same queue give one check."""
    cloud = Cloud()
    url = cloud.client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
    request = _capture(cloud, "sqs", "change_message_visibility_batch", QueueUrl=url,
                       Entries=[{"Id": "1", "ReceiptHandle": "a", "VisibilityTimeout": 1},
                                {"Id": "2", "ReceiptHandle": "b", "VisibilityTimeout": 1}])

    checks = access_checks(request, ACCOUNT)

    assert checks == [AccessCheck("sqs:ChangeMessageVisibility",
                                  f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs")]


def test_queue_url_of_other_account_and_region() -> None:
    """A queue URL names the queue's own account and region in its ARN."""
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/shared"
    request = _capture(Cloud(), "sqs", "send_message", QueueUrl=url, MessageBody="m")

    checks = access_checks(request, ACCOUNT)

    assert [check.resource for check in checks] == [
        "arn:aws:sqs:eu-west-1:111122223333:shared"]
