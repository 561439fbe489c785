"""S3: name the operation of a REST request, and check buckets and objects.

S3 tells operations apart by method, by whether the path names a bucket or an object, by
subresource query keys (``?tagging``, ``?uploads``) and by headers (``x-amz-copy-source``).
The URI templates of botocore's model give the first three, and this module separates the
few operations that share a template. Actions follow "Required permissions for
Amazon S3 API operations"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
operations on a version (``versionId``) check the ``...ObjectVersion...`` action, a copy
checks ``s3:GetObject`` on the source and ``s3:PutObject`` on the destination, and
DeleteObjects checks ``s3:DeleteObject`` on each key.
"""

from __future__ import annotations

import functools
import logging
import re
import xml.etree.ElementTree as ElementTree
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from windtunnel.cloud.messages import AwsRequest
from windtunnel.cloud.protocols import service_model
from windtunnel.iam.operations.catalog import ActionSpec, action_spec, catalog
from windtunnel.iam.operations.core import Call, Context, ServiceRules

__all__ = ["RULES", "bucket_and_key", "s3_operation"]

logger = logging.getLogger(__name__)

# Virtual-hosted-style hosts: "<bucket>.s3.amazonaws.com", "<bucket>.s3.<region>...",
# and the older "<bucket>.s3-<region>.amazonaws.com".
_VIRTUAL_HOST = re.compile(r"^(.+)\.s3[.-]")

# Operations whose IAM action has another name, from the S3 user guide's table of
# required permissions per API operation.
_ACTIONS = {
    "CompleteMultipartUpload": "PutObject",
    "CopyObject": "PutObject",
    "CreateBucketMetadataConfiguration": "CreateBucketMetadataTableConfiguration",
    "CreateMultipartUpload": "PutObject",
    "CreateSession": "s3express:CreateSession",
    "DeleteBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "DeleteBucketCors": "PutBucketCORS",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "DeleteBucketInventoryConfiguration": "PutInventoryConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "DeleteBucketMetadataConfiguration": "DeleteBucketMetadataTableConfiguration",
    "DeleteBucketMetricsConfiguration": "PutMetricsConfiguration",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketTagging": "PutBucketTagging",
    "DeleteObjects": "DeleteObject",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "GetBucketAnalyticsConfiguration": "GetAnalyticsConfiguration",
    "GetBucketCors": "GetBucketCORS",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "GetBucketIntelligentTieringConfiguration": "GetIntelligentTieringConfiguration",
    "GetBucketInventoryConfiguration": "GetInventoryConfiguration",
    "GetBucketLifecycle": "GetLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "GetBucketMetadataConfiguration": "GetBucketMetadataTableConfiguration",
    "GetBucketMetricsConfiguration": "GetMetricsConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "GetBucketReplication": "GetReplicationConfiguration",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "ListBucketAnalyticsConfigurations": "GetAnalyticsConfiguration",
    "ListBucketIntelligentTieringConfigurations": "GetIntelligentTieringConfiguration",
    "ListBucketInventoryConfigurations": "GetInventoryConfiguration",
    "ListBucketMetricsConfigurations": "GetMetricsConfiguration",
    "ListBuckets": "ListAllMyBuckets",
    "ListDirectoryBuckets": "s3express:ListAllMyDirectoryBuckets",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListObjectVersions": "ListBucketVersions",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListParts": "ListMultipartUploadParts",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "PutBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "PutBucketCors": "PutBucketCORS",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "PutBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "PutBucketInventoryConfiguration": "PutInventoryConfiguration",
    "PutBucketLifecycle": "PutLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "PutBucketMetricsConfiguration": "PutMetricsConfiguration",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "PutBucketReplication": "PutReplicationConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "SelectObjectContent": "GetObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "WriteGetObjectResponse": "s3-object-lambda:WriteGetObjectResponse",
}

# Header-valued condition keys besides the "s3:x-amz-..." ones, which name their header.
_HEADER_KEYS = {"s3:if-match": "If-Match", "s3:if-none-match": "If-None-Match"}
_QUERY_KEYS = {"s3:prefix": "prefix", "s3:delimiter": "delimiter",
               "s3:max-keys": "max-keys", "s3:versionid": "versionId"}


def bucket_and_key(request: AwsRequest) -> tuple[str | None, str | None]:
    """Return the bucket and object key of an S3 request (either may be None)."""
    parts = urlsplit(request.url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    virtual = _VIRTUAL_HOST.match(host)
    if virtual is not None and not host.startswith(("s3.", "s3-")):
        bucket: str | None = virtual.group(1)
        key = path[1:]
    else:
        bucket, _, key = path[1:].partition("/")
    return (unquote(bucket) if bucket else None), (unquote(key) if key else None)


@functools.cache
def _routes() -> tuple[dict[tuple[str, str, str], list[str]], frozenset[str]]:
    """Return (method, level, subresource) -> operations, and every subresource key."""
    model = service_model("s3")
    routes: dict[tuple[str, str, str], list[str]] = {}
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = str(http["requestUri"]).partition("?")
        level = _level(has_key="{Key+}" in path, has_bucket="{Bucket}" in path)
        subresource = query.split("&", 1)[0].split("=", 1)[0]
        routes.setdefault((str(http["method"]), level, subresource), []).append(name)
    subresources = frozenset(key for (_, _, key) in routes if key)
    return routes, subresources


def _level(*, has_key: bool, has_bucket: bool) -> str:
    """Name what a path addresses: an object, a bucket, or the service itself."""
    if has_key:
        return "object"
    if has_bucket:
        return "bucket"
    return "service"


def s3_operation(request: AwsRequest) -> str | None:
    """Name the S3 operation of ``request`` from its method, path, query and headers."""
    query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    named = query.get("x-id")
    if named:
        return named
    bucket, key = bucket_and_key(request)
    level = _level(has_key=bool(key), has_bucket=bool(bucket))
    routes, subresources = _routes()
    subresource = next((name for name in query if name in subresources), "")
    candidates = routes.get((request.method, level, subresource))
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    return _choose(request, query, candidates)


def _choose(request: AwsRequest, query: dict[str, str], candidates: list[str]) -> str:
    """Tell apart operations that share a method and URI template."""
    chosen = set(candidates)
    copy = request.headers.get("x-amz-copy-source") is not None
    if "UploadPart" in chosen:
        if "partNumber" in query and "uploadId" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        return "CopyObject" if copy else "PutObject"
    if "ListParts" in chosen:
        return "ListParts" if "uploadId" in query else "GetObject"
    if "AbortMultipartUpload" in chosen:
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if "ListBuckets" in chosen:
        # Directory buckets are listed through the S3 Express endpoint, not this one.
        return "ListBuckets"
    listing = [name for name in candidates if name.startswith("List")]
    if listing:
        # "?analytics" and the like: with an id, Get...; without, List....
        others = [name for name in candidates if not name.startswith("List")]
        return others[0] if "id" in query and others else listing[0]
    # GetBucketLifecycle / GetBucketLifecycleConfiguration and the notification pair
    # share a URL: the newer "...Configuration" operation is the one SDKs send.
    configuration = [name for name in candidates if name.endswith("Configuration")]
    return configuration[0] if configuration else candidates[0]


def _parameters(request: AwsRequest, operation: str) -> dict[str, Any]:
    bucket, key = bucket_and_key(request)
    query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    return {"Bucket": bucket, "Key": key, "query": query}


def _resolve(call: Call) -> None:
    bucket = call.params.get("Bucket")
    key = call.params.get("Key")
    query: dict[str, str] = call.params.get("query", {})
    operation = call.operation
    if operation == "ListBuckets":
        # NOTE: the reference lists no resource type for s3:ListAllMyBuckets, but AWS
        # grants it to statements on "arn:aws:s3:::*" (its own policy examples use that),
        # so the check names every bucket rather than "*".
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-policies-s3.html
        call.check("s3:ListAllMyBuckets", f"arn:{call.partition}:s3:::*")
        return
    if operation in ("CopyObject", "UploadPartCopy"):
        _copy(call, bucket, key)
        return
    if operation == "DeleteObjects":
        _delete_objects(call, bucket)
        return
    if operation == "GetObjectAttributes":
        for action in ("s3:GetObject", "s3:GetObjectAttributes"):
            spec = _versioned(call.spec(action), query)
            _check_object(call, spec, bucket, key)
        return
    if operation == "CreateSession":
        _directory_bucket(call, bucket)
        return
    spec = _versioned(call.action, query)
    if spec is not call.action:
        _check_object(call, spec, bucket, key)
        return
    call.context.update(_context(call, call.action))
    if key is not None and call.lists("object"):
        call.add_named("object", {"BucketName": bucket or "", "ObjectName": key})
    elif bucket is not None and call.lists("bucket"):
        call.add_named("bucket", {"BucketName": bucket})


def _versioned(spec: ActionSpec, query: dict[str, str]) -> ActionSpec:
    """Return the ``...ObjectVersion...`` action when the request names a version."""
    if "versionId" not in query or "ObjectVersion" in spec.name:
        return spec
    versioned = action_spec(spec.name.replace("Object", "ObjectVersion", 1))
    return versioned if versioned is not None else spec


def _check_object(call: Call, spec: ActionSpec, bucket: str | None,
                  key: str | None) -> None:
    arn = call.fill("object", {"BucketName": bucket or "*", "ObjectName": key or "*"})
    if arn is not None:
        call.check(spec.name, arn, _context(call, spec))


def _copy(call: Call, bucket: str | None, key: str | None) -> None:
    source = str(call.request.headers.get("x-amz-copy-source", ""))
    source_path, _, source_query = unquote(source).lstrip("/").partition("?")
    source_bucket, _, source_key = source_path.partition("/")
    get = call.spec("s3:GetObject")
    if "versionId=" in source_query:
        get = call.spec("s3:GetObjectVersion")
    _check_object(call, get, source_bucket, source_key)
    _check_object(call, call.action, bucket, key)


def _delete_objects(call: Call, bucket: str | None) -> None:
    try:
        root = ElementTree.fromstring(call.request.body or b"<Delete/>")
    except ElementTree.ParseError:
        logger.debug("Unreadable DeleteObjects body")
        root = ElementTree.Element("Delete")
    for entry in root.iter():
        if not entry.tag.endswith("Object"):
            continue
        key = version = None
        for child in entry:
            if child.tag.endswith("Key"):
                key = child.text or ""
            elif child.tag.endswith("VersionId"):
                version = child.text
        action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
        _check_object(call, call.spec(action), bucket, key)


def _directory_bucket(call: Call, bucket: str | None) -> None:
    arn = call.fill("bucket", {"BucketName": bucket or "*"}, service=catalog("s3express"))
    if arn is not None:
        call.add("bucket", arn)


def _context(call: Call, spec: ActionSpec) -> Context:
    context: Context = {}
    request = call.request
    query: dict[str, str] = call.params.get("query", {})
    headers = request.headers
    for condition_key in spec.condition_keys:
        if condition_key.startswith("s3:x-amz-") or condition_key in _HEADER_KEYS:
            header = _HEADER_KEYS.get(condition_key, condition_key[3:])
            value = headers.get(header)
            if value is not None:
                context[condition_key] = str(value)
        elif condition_key in _QUERY_KEYS:
            value = query.get(_QUERY_KEYS[condition_key])
            if value is not None:
                context[condition_key] = value
    if "s3:authType" in spec.condition_keys:
        signed_header = headers.get("Authorization") is not None
        context["s3:authType"] = "REST-HEADER" if signed_header else "REST-QUERY-STRING"
    if "s3:signatureversion" in spec.condition_keys:
        context["s3:signatureversion"] = "AWS4-HMAC-SHA256"
    if "s3:ResourceAccount" in spec.condition_keys:
        # Every emulated bucket belongs to the cloud's own account.
        context["s3:ResourceAccount"] = call.account
    if "s3:RequestObjectTagKeys" in spec.condition_keys:
        tags = _request_object_tags(call)
        if tags is not None:
            context["s3:RequestObjectTagKeys"] = list(tags)
            for name, value in tags.items():
                context[f"s3:RequestObjectTag/{name}"] = value
    if "s3:locationconstraint" in spec.condition_keys and call.request.body:
        match = re.search(rb"<LocationConstraint>([^<]*)</LocationConstraint>",
                          call.request.body)
        if match is not None:
            context["s3:locationconstraint"] = match.group(1).decode("utf-8")
    return context


def _request_object_tags(call: Call) -> dict[str, str] | None:
    header = call.request.headers.get("x-amz-tagging")
    if header is not None:
        return dict(parse_qsl(str(header), keep_blank_values=True))
    if call.operation.endswith("Tagging") and call.request.body:
        try:
            root = ElementTree.fromstring(call.request.body)
        except ElementTree.ParseError:
            return None
        tags: dict[str, str] = {}
        for tag in root.iter():
            if tag.tag.endswith("}Tag") or tag.tag == "Tag":
                values = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in tag}
                tags[values.get("Key", "")] = values.get("Value", "")
        return tags
    return None


RULES = ServiceRules(
    prefix="s3",
    resolve=_resolve,
    actions=_ACTIONS,
    unmapped={
        "RenameObject": "it works on directory buckets only, whose requests S3 Express "
                        "authorizes through s3express:CreateSession sessions, and the "
                        "reference names no action for it",
    },
    name_operation=s3_operation,
    read_parameters=_parameters,
)
