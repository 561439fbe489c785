"""S3 requests are named from method, bucket, key, subresource and headers.

Requests come from a real boto3 client; the expected name is the botocore operation that
sent them. The REST API's URI forms: https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.messages import AwsRequest
from windtunnel.cloud.pipeline import Cloud
from windtunnel.iam.operations import access_checks
from windtunnel.iam.operations.s3 import bucket_and_key, s3_operation

BUCKET = "media-bucket"
OBJECT = {"Bucket": BUCKET, "Key": "photos/cat 1.jpg"}
# The fixture's multipart upload takes the place of this ID.
UPLOAD = {**OBJECT, "UploadId": "UPLOAD_ID"}

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("list_buckets", {}),
    ("create_bucket", {"Bucket": "other-bucket"}),
    ("delete_bucket", {"Bucket": BUCKET}),
    ("head_bucket", {"Bucket": BUCKET}),
    ("list_objects", {"Bucket": BUCKET}),
    ("list_objects_v2", {"Bucket": BUCKET, "Prefix": "photos/"}),
    ("list_object_versions", {"Bucket": BUCKET}),
    ("list_multipart_uploads", {"Bucket": BUCKET}),
    ("get_bucket_location", {"Bucket": BUCKET}),
    ("get_bucket_policy", {"Bucket": BUCKET}),
    ("put_bucket_policy", {"Bucket": BUCKET, "Policy": "{}"}),
    ("delete_bucket_policy", {"Bucket": BUCKET}),
    ("get_bucket_tagging", {"Bucket": BUCKET}),
    ("put_bucket_tagging", {"Bucket": BUCKET, "Tagging": {"TagSet": []}}),
    ("delete_bucket_tagging", {"Bucket": BUCKET}),
    ("get_bucket_versioning", {"Bucket": BUCKET}),
    ("put_bucket_versioning", {"Bucket": BUCKET,
                               "VersioningConfiguration": {"Status": "Enabled"}}),
    ("get_bucket_cors", {"Bucket": BUCKET}),
    ("delete_bucket_cors", {"Bucket": BUCKET}),
    ("get_bucket_lifecycle_configuration", {"Bucket": BUCKET}),
    ("get_bucket_notification_configuration", {"Bucket": BUCKET}),
    ("get_bucket_encryption", {"Bucket": BUCKET}),
    ("get_bucket_acl", {"Bucket": BUCKET}),
    ("get_public_access_block", {"Bucket": BUCKET}),
    ("get_bucket_analytics_configuration", {"Bucket": BUCKET, "Id": "a"}),
    ("list_bucket_analytics_configurations", {"Bucket": BUCKET}),
    ("get_bucket_metrics_configuration", {"Bucket": BUCKET, "Id": "m"}),
    ("list_bucket_inventory_configurations", {"Bucket": BUCKET}),
    ("get_object_lock_configuration", {"Bucket": BUCKET}),
    ("put_object", {**OBJECT, "Body": b"x"}),
    ("get_object", OBJECT),
    ("head_object", OBJECT),
    ("delete_object", OBJECT),
    ("copy_object", {**OBJECT, "CopySource": {"Bucket": BUCKET, "Key": "a.jpg"}}),
    ("get_object_acl", OBJECT),
    ("put_object_acl", {**OBJECT, "ACL": "private"}),
    ("get_object_tagging", OBJECT),
    ("put_object_tagging", {**OBJECT, "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
    ("delete_object_tagging", OBJECT),
    ("get_object_attributes", {**OBJECT, "ObjectAttributes": ["ETag"]}),
    ("get_object_retention", OBJECT),
    ("get_object_legal_hold", OBJECT),
    ("restore_object", {**OBJECT, "RestoreRequest": {"Days": 1}}),
    ("create_multipart_upload", OBJECT),
    ("upload_part", {**UPLOAD, "PartNumber": 1, "Body": b"x"}),
    ("upload_part_copy", {**UPLOAD, "PartNumber": 1,
                          "CopySource": {"Bucket": BUCKET, "Key": "a.jpg"}}),
    ("list_parts", UPLOAD),
    ("complete_multipart_upload", {**UPLOAD, "MultipartUpload": {"Parts": []}}),
    ("abort_multipart_upload", UPLOAD),
    ("delete_objects", {"Bucket": BUCKET, "Delete": {"Objects": [{"Key": "a.jpg"}]}}),
]


def _request(cloud: Cloud, method: str, arguments: dict[str, Any]) -> AwsRequest:
    client = cloud.client("s3")
    if arguments.get("UploadId") == "UPLOAD_ID":
        upload = client.create_multipart_upload(**OBJECT)["UploadId"]
        arguments = {**arguments, "UploadId": upload}
    captured: list[AwsRequest] = []
    cloud.add_before_dispatch(captured.append)
    with contextlib.suppress(ClientError):
        getattr(client, method)(**arguments)
    assert captured, method
    return captured[-1]


@pytest.fixture
def cloud() -> Cloud:
    cloud = Cloud()
    cloud.client("s3").create_bucket(Bucket=BUCKET)
    cloud.client("s3").put_object(**OBJECT, Body=b"cat")
    return cloud


@pytest.mark.parametrize(("method", "arguments"), CALLS, ids=[call for call, _ in CALLS])
def test_s3_operation_named(cloud: Cloud, method: str, arguments: dict[str, Any]) -> None:
    """The operation named from the wire is the one the client sent."""
    request = _request(cloud, method, arguments)
    expected = cloud.client("s3").meta.method_to_api_mapping[method]

    assert request.operation is None
    assert s3_operation(request) == expected


def test_bucket_and_key_virtual_host() -> None:
    """A virtual-hosted-style request names its bucket in the host."""
    request = AwsRequest("GET", "https://my.bucket.s3.eu-west-1.amazonaws.com/a/b%20c.txt",
                         {}, b"", "s3", "eu-west-1")

    assert bucket_and_key(request) == ("my.bucket", "a/b c.txt")


def test_bucket_and_key_path_style() -> None:
    """A path-style request names its bucket in the first path segment."""
    request = AwsRequest("GET", "https://s3.us-east-1.amazonaws.com/bucket-1/a/b.txt",
                         {}, b"", "s3", "us-east-1")

    assert bucket_and_key(request) == ("bucket-1", "a/b.txt")


def test_x_id_names_the_operation() -> None:
    """SDKs that add ``x-id`` to the query name the operation there."""
    request = AwsRequest("GET", "https://s3.us-east-1.amazonaws.com/b/k?x-id=GetObject",
                         {}, b"", "s3", "us-east-1")

    assert s3_operation(request) == "GetObject"


def test_upload_part_copy_checks_source_and_destination(cloud: Cloud) -> None:
    """UploadPartCopy reads the source object and writes the destination.

    Source: https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
    """
    request = _request(cloud, "upload_part_copy", {
        **UPLOAD, "PartNumber": 1,
        "CopySource": {"Bucket": "source-bucket", "Key": "a.jpg", "VersionId": "v1"}})

    checks = [(check.action, check.resource) for check in access_checks(request, "1" * 12)]

    assert checks == [("s3:GetObjectVersion", "arn:aws:s3:::source-bucket/a.jpg"),
                      ("s3:PutObject", "arn:aws:s3:::media-bucket/photos/cat 1.jpg")]
