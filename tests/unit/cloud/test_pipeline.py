"""The request pipeline: routing by signature, moto dispatch, error shapes and recording."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.pipeline import Cloud


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


def test_in_process_client_reaches_moto(cloud: Cloud) -> None:
    """A client from the cloud stores and reads data without leaving the process."""
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")

    messages = sqs.receive_message(QueueUrl=url)["Messages"]

    assert url == "https://sqs.us-east-1.amazonaws.com/123456789012/orders"
    assert messages[0]["Body"] == "hello"


def test_calls_are_recorded_with_operation_and_status(cloud: Cloud) -> None:
    """Every call is recorded with its service, operation and HTTP status."""
    dynamodb = cloud.client("dynamodb")
    with pytest.raises(ClientError):
        dynamodb.describe_table(TableName="missing")

    record = cloud.calls[-1]

    assert (record.service, record.operation, record.status) == (
        "dynamodb", "DescribeTable", 400)


def test_moto_errors_keep_aws_code_and_message(cloud: Cloud) -> None:
    """Errors from moto reach the client with AWS's code and message.

    Source: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeTable.html#API_DescribeTable_Errors
    """
    with pytest.raises(ClientError) as caught:
        cloud.client("dynamodb").describe_table(TableName="missing")

    error = caught.value.response["Error"]
    assert error["Code"] == "ResourceNotFoundException"
    assert "missing" in error["Message"]


def test_unemulated_service_is_not_implemented(cloud: Cloud) -> None:
    """A service that is not emulated returns an AWS-shaped error naming it."""
    client = cloud.client("mediatailor")
    with pytest.raises(ClientError) as caught:
        client.list_playback_configurations()

    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["Error"]["Code"] == "NotImplemented"
    assert "mediatailor" in error["Error"]["Message"]


def test_unsigned_request_is_rejected(cloud: Cloud) -> None:
    """A request without a SigV4 signature gets API Gateway's missing-token error shape."""
    response = cloud.handle_http("POST", "http://127.0.0.1:4566/", {}, b"")

    assert response.status == 403
    assert b"MissingAuthenticationToken" in response.body


def test_request_to_local_host_is_routed_by_signature(cloud: Cloud) -> None:
    """A request sent to the local endpoint finds its service through the credential scope."""
    cloud.client("dynamodb").create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261204/us-east-1/dynamodb/"
                         "aws4_request, SignedHeaders=host, Signature=abc",
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
    }

    response = cloud.handle_http("POST", "http://127.0.0.1:4566/", headers, b"{}")

    assert response.status == 200
    assert json.loads(response.body)["TableNames"] == ["t"]


def test_snapshot_and_restore_round_trip(cloud: Cloud) -> None:
    """Restoring a snapshot undoes writes made after it, and can be repeated."""
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    snapshot = cloud.snapshot()

    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="x")
        sqs.create_queue(QueueName="later")
        cloud.restore(snapshot)

        assert sqs.list_queues()["QueueUrls"] == [url]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_snapshot_copies_ssm_and_secrets(cloud: Cloud) -> None:
    """Services whose state uses dictionaries with constructor arguments snapshot too."""
    cloud.client("ssm").put_parameter(Name="/a", Value="1", Type="String")
    cloud.client("secretsmanager").create_secret(Name="s", SecretString="v")
    snapshot = cloud.snapshot()
    cloud.client("ssm").put_parameter(Name="/a", Value="2", Type="String", Overwrite=True)

    cloud.restore(snapshot)

    assert cloud.client("ssm").get_parameter(Name="/a")["Parameter"]["Value"] == "1"
    assert cloud.client("secretsmanager").get_secret_value(SecretId="s")["SecretString"] == "v"


def test_plain_boto3_is_not_intercepted(cloud: Cloud) -> None:
    """Creating a cloud does not patch botocore: other clients are left alone."""
    cloud.client("sqs")
    client = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="y")

    responses = client.meta.events.emit("before-send.sqs.ListQueues", request=None)

    assert [response for _handler, response in responses if response is not None] == []


def test_rest_json_operations_are_named(cloud: Cloud) -> None:
    """Calls of REST-JSON services are recorded with their operation names.

    The names match the operations of the Lambda and API Gateway API references.
    """
    awslambda = cloud.client("lambda")
    apigateway = cloud.client("apigateway")
    awslambda.list_functions()
    api = apigateway.create_rest_api(name="named")["id"]
    apigateway.get_resources(restApiId=api)
    with pytest.raises(ClientError):
        awslambda.get_function_configuration(FunctionName="missing")

    operations = [(record.service, record.operation) for record in cloud.calls]

    assert operations == [("lambda", "ListFunctions"), ("apigateway", "CreateRestApi"),
                          ("apigateway", "GetResources"),
                          ("lambda", "GetFunctionConfiguration")]


def test_unsigned_cognito_sign_up_is_served(cloud: Cloud) -> None:
    """Cognito's SignUp takes no signature, as its API model declares, and is answered.

    Source: https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html
    ("This is a public API operation ... not signed")
    """
    from botocore import UNSIGNED
    from botocore.config import Config

    from windtunnel.cloud.inprocess import attach

    idp = cloud.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="users")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool, ClientName="web")[
        "UserPoolClient"]["ClientId"]
    public = boto3.client("cognito-idp", region_name="us-east-1",
                          config=Config(signature_version=UNSIGNED))
    attach(public, cloud)

    response = public.sign_up(ClientId=client_id, Username="ana@example.com",
                              Password="Correct-horse-1")

    assert response["UserConfirmed"] is False
    assert idp.admin_get_user(UserPoolId=pool, Username="ana@example.com")["Username"]


def test_unsigned_signed_only_operation_is_rejected(cloud: Cloud) -> None:
    """An operation that needs a signature is rejected when it arrives unsigned."""
    from botocore import UNSIGNED
    from botocore.config import Config

    from windtunnel.cloud.inprocess import attach

    public = boto3.client("cognito-idp", region_name="us-east-1",
                          config=Config(signature_version=UNSIGNED))
    attach(public, cloud)

    with pytest.raises(ClientError) as caught:
        public.list_user_pools(MaxResults=1)

    assert caught.value.response["Error"]["Code"] == "MissingAuthenticationToken"


def test_emulation_failure_is_internal_failure(cloud: Cloud) -> None:
    """A provider that raises gives the caller a 500 InternalFailure, and the cloud goes on."""

    class Broken:
        service = "sqs"

        def handle(self, request: object) -> None:
            raise RuntimeError("boom")

    cloud.register(Broken())

    with pytest.raises(ClientError) as caught:
        cloud.client("sqs").list_queues()
    after = cloud.client("dynamodb").list_tables()

    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error["Code"] == "InternalFailure"
    assert "RuntimeError: boom" in error["Message"]
    assert after["TableNames"] == []
