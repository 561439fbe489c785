"""Tests for the S3 bucket and bucket policy handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from windtunnel.deploy.resources.base import ResourceContext, ResourceCreationFailed
from windtunnel.deploy.resources.s3 import create_bucket, create_bucket_policy
from windtunnel.deploy.resources.sqs import create_queue

ContextFactory = Callable[..., ResourceContext]

BUCKET_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
              "aws-resource-s3-bucket.html")
BUCKET_POLICY_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                     "aws-resource-s3-bucketpolicy.html")
WEBSITE_ENDPOINTS_DOC = "https://docs.aws.amazon.com/general/latest/gr/s3.html"


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def test_bucket_ref_and_attributes(make_context: ContextFactory) -> None:
    """Ref returns the name; the attributes follow BUCKET_DOC's examples for us-east-1.

    The website endpoint of us-east-1 is s3-website-us-east-1 (WEBSITE_ENDPOINTS_DOC).
    """
    result = create_bucket(make_context("Bucket", "AWS::S3::Bucket"), {"BucketName": "assets"})

    assert result.physical_id == "assets"
    assert result.attributes == {
        "Arn": "arn:aws:s3:::assets",
        "DomainName": "assets.s3.amazonaws.com",
        "DualStackDomainName": "assets.s3.dualstack.us-east-1.amazonaws.com",
        "RegionalDomainName": "assets.s3.us-east-1.amazonaws.com",
        "WebsiteURL": "http://assets.s3-website-us-east-1.amazonaws.com",
    }
    assert "assets" in [bucket["Name"] for bucket in s3().list_buckets()["Buckets"]]


def test_bucket_generated_name_is_lowercase(make_context: ContextFactory) -> None:
    """A generated bucket name is lowercase and at most 63 characters (BUCKET_DOC)."""
    result = create_bucket(make_context("UploadsBucket", "AWS::S3::Bucket",
                                        stack_name="My-Stack-With-A-Long-Name-For-Testing"), {})

    assert result.physical_id == result.physical_id.lower()
    assert result.physical_id.startswith("my-stack")
    assert len(result.physical_id) <= 63
    s3().head_bucket(Bucket=result.physical_id)


def test_bucket_configurations(make_context: ContextFactory) -> None:
    """Versioning, CORS, encryption, public access block and tags reach S3 (BUCKET_DOC)."""
    properties = {
        "BucketName": "configured",
        "VersioningConfiguration": {"Status": "Enabled"},
        "CorsConfiguration": {"CorsRules": [{
            "AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "ExposedHeaders": ["ETag"],
            "Id": "web", "MaxAge": "300"}]},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": "true", "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True,
                                           "RestrictPublicBuckets": True},
        "Tags": [{"Key": "team", "Value": "web"}],
    }
    create_bucket(make_context("Bucket", "AWS::S3::Bucket"), properties)

    client = s3()
    assert client.get_bucket_versioning(Bucket="configured")["Status"] == "Enabled"
    assert client.get_bucket_cors(Bucket="configured")["CORSRules"] == [{
        "AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "ExposeHeaders": ["ETag"],
        "ID": "web", "MaxAgeSeconds": 300}]
    encryption = client.get_bucket_encryption(Bucket="configured")
    rule = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = client.get_public_access_block(Bucket="configured")
    assert block["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert client.get_bucket_tagging(Bucket="configured")["TagSet"] == [
        {"Key": "team", "Value": "web"}]


def test_bucket_lifecycle_rules(make_context: ContextFactory) -> None:
    """Template lifecycle rules become the API's nested Filter and Expiration (BUCKET_DOC)."""
    properties = {"BucketName": "aging", "LifecycleConfiguration": {"Rules": [{
        "Id": "expire-logs", "Status": "Enabled", "Prefix": "logs/", "ExpirationInDays": "30",
        "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 7}],
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]}}
    create_bucket(make_context("Bucket", "AWS::S3::Bucket"), properties)

    rules = s3().get_bucket_lifecycle_configuration(Bucket="aging")["Rules"]
    assert rules[0]["ID"] == "expire-logs"
    assert rules[0]["Filter"] == {"Prefix": "logs/"}
    assert rules[0]["Expiration"] == {"Days": 30}
    assert rules[0]["Transitions"] == [{"Days": 7, "StorageClass": "GLACIER"}]
    assert rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}


def test_bucket_queue_notification(make_context: ContextFactory) -> None:
    """A QueueConfiguration with a key filter is stored with the queue ARN (BUCKET_DOC)."""
    queue = create_queue(make_context("Queue", "AWS::SQS::Queue"), {})
    # S3 accepts a destination only when its policy lets S3 send to it.
    boto3.client("sqs", region_name="us-east-1").set_queue_attributes(
        QueueUrl=queue.physical_id, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": queue.attributes["Arn"]}]})})
    properties = {"BucketName": "uploads", "NotificationConfiguration": {
        "QueueConfigurations": [{
            "Event": "s3:ObjectCreated:*", "Queue": queue.attributes["Arn"],
            "Filter": {"S3Key": {"Rules": [{"Name": "suffix", "Value": ".jpg"}]}}}]}}
    create_bucket(make_context("Bucket", "AWS::S3::Bucket"), properties)

    stored = s3().get_bucket_notification_configuration(Bucket="uploads")
    configuration = stored["QueueConfigurations"][0]
    assert configuration["QueueArn"] == queue.attributes["Arn"]
    assert configuration["Events"] == ["s3:ObjectCreated:*"]
    rule = configuration["Filter"]["Key"]["FilterRules"][0]
    assert rule["Name"].lower() == "suffix"
    assert rule["Value"] == ".jpg"


def _function_allowing_s3(name: str) -> str:
    """Create a function whose policy lets S3 invoke it; return its ARN."""
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", "def handler(event, context):\n    return None\n")
    iam = boto3.client("iam", region_name="us-east-1")
    role_arn = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    awslambda = boto3.client("lambda", region_name="us-east-1")
    function_arn: str = awslambda.create_function(
        FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="app.handler",
        Code={"ZipFile": archive.getvalue()})["FunctionArn"]
    awslambda.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                             Principal="s3.amazonaws.com")
    return function_arn


def test_bucket_lambda_notification(make_context: ContextFactory) -> None:
    """A LambdaConfiguration is stored as LambdaFunctionConfigurations (BUCKET_DOC)."""
    function_arn = _function_allowing_s3("resize")
    create_bucket(make_context("Bucket", "AWS::S3::Bucket"), {
        "BucketName": "images", "NotificationConfiguration": {"LambdaConfigurations": [
            {"Event": "s3:ObjectRemoved:*", "Function": function_arn}]}})

    stored = s3().get_bucket_notification_configuration(Bucket="images")
    configuration = stored["LambdaFunctionConfigurations"][0]
    assert configuration["LambdaFunctionArn"] == function_arn
    assert configuration["Events"] == ["s3:ObjectRemoved:*"]


def test_bucket_website(make_context: ContextFactory) -> None:
    """IndexDocument and ErrorDocument become the API's Suffix and Key (BUCKET_DOC)."""
    create_bucket(make_context("Bucket", "AWS::S3::Bucket"), {
        "BucketName": "site", "WebsiteConfiguration": {"IndexDocument": "index.html",
                                                       "ErrorDocument": "error.html"}})

    website = s3().get_bucket_website(Bucket="site")
    assert website["IndexDocument"] == {"Suffix": "index.html"}
    assert website["ErrorDocument"] == {"Key": "error.html"}


@pytest.mark.parametrize(
    ("properties", "match"),
    [
        ({"Name": "x"}, r"#: extraneous key \[Name\] is not permitted"),
        ({"ReplicationConfiguration": {"Role": "r", "Rules": []}},
         "ReplicationConfiguration of AWS::S3::Bucket is not emulated"),
    ],
)
def test_bucket_rejected_properties(make_context: ContextFactory, properties: dict[str, Any],
                                    match: str) -> None:
    """Unknown properties and unemulated ones fail with a message naming them (BUCKET_DOC)."""
    with pytest.raises(ResourceCreationFailed, match=match):
        create_bucket(make_context("Bucket", "AWS::S3::Bucket"), properties)


def test_bucket_policy_attached(make_context: ContextFactory) -> None:
    """BucketPolicy attaches the document; Ref returns the bucket name (BUCKET_POLICY_DOC)."""
    create_bucket(make_context("Bucket", "AWS::S3::Bucket"), {"BucketName": "shared"})
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::shared/*"}]}

    result = create_bucket_policy(make_context("Policy", "AWS::S3::BucketPolicy"),
                                  {"Bucket": "shared", "PolicyDocument": document})

    assert result.physical_id == "shared"
    assert json.loads(s3().get_bucket_policy(Bucket="shared")["Policy"]) == document


def test_bucket_policy_missing_document(make_context: ContextFactory) -> None:
    """PolicyDocument is required (BUCKET_POLICY_DOC)."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"required key \[PolicyDocument\] not found"):
        create_bucket_policy(make_context("Policy", "AWS::S3::BucketPolicy"),
                             {"Bucket": "shared"})
