"""The IAM action, resource ARN and condition context that AWS checks for each request.

Each case sends a real request through a boto3 client of the embedded cloud and captures
it before dispatch. :func:`access_checks` must then return what the cited page documents.
That page is the service's page of the Service Authorization Reference (actions, resource
types, ARN formats, condition keys) or the service's own permissions page. Expected
contexts list the keys the case is about, and ``ABSENT`` means the key must not be there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.messages import AwsRequest
from windtunnel.cloud.pipeline import Cloud
from windtunnel.iam.operations import access_checks, execute_api_check

ACCOUNT = "123456789012"
REGION = "us-east-1"
ABSENT = object()

SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
DYNAMODB = SAR + "list_amazondynamodb.html"
DYNAMODB_CONDITIONS = ("https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                       "specifying-conditions.html")
DYNAMODB_TRANSACTIONS = ("https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                         "transaction-apis-iam.html")
DYNAMODB_PARTIQL = ("https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                    "ql-iam.html")
S3 = SAR + "list_amazons3.html"
S3_PERMISSIONS = ("https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
                  "using-with-s3-policy-actions.html")
S3_CONDITIONS = ("https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
                 "amazon-s3-policy-keys.html")
SQS = SAR + "list_amazonsqs.html"
SQS_PERMISSIONS = ("https://docs.aws.amazon.com/AWSSimpleQueueService/latest/"
                   "SQSDeveloperGuide/sqs-api-permissions-reference.html")
SNS = SAR + "list_amazonsns.html"
EVENTS = SAR + "list_amazoneventbridge.html"
EVENTS_CONDITIONS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html"
LAMBDA = SAR + "list_awslambda.html"
LAMBDA_PERMISSIONS = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html"
STATES = SAR + "list_awsstepfunctions.html"
KINESIS = SAR + "list_amazonkinesis.html"
SSM = SAR + "list_awssystemsmanager.html"
SSM_PARAMETERS = ("https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                  "sysman-paramstore-access.html")
SECRETS = SAR + "list_awssecretsmanager.html"
SECRETS_BATCH = ("https://docs.aws.amazon.com/secretsmanager/latest/apireference/"
                 "API_BatchGetSecretValue.html")
KMS = SAR + "list_awskeymanagementservice.html"
KMS_ALIASES = "https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html"
KMS_ALIAS_ACCESS = "https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html"
CLOUDWATCH = SAR + "list_amazoncloudwatch.html"
LOGS = SAR + "list_amazoncloudwatchlogs.html"
LOGS_ARNS = ("https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/"
             "iam-access-control-overview-cwl.html")
COGNITO = SAR + "list_amazoncognitouserpools.html"
APPSYNC = SAR + "list_awsappsync.html"
STS = SAR + "list_awssecuritytokenservice.html"
STS_TAGS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html"
STS_CALLER = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"


def arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


TABLE = arn("dynamodb", "table/orders")
CUSTOMERS = arn("dynamodb", "table/customers")
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs"
QUEUE = arn("sqs", "jobs")
TOPIC = arn("sns", "alerts")
FUNCTION = arn("lambda", "function:checkout")
STATE_MACHINE = arn("states", "stateMachine:orders")
STREAM = arn("kinesis", "stream/clicks")

Expected = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One request and the checks AWS makes for it."""

    id: str
    call: Callable[[Cloud, dict[str, str]], Any]
    expected: list[Expected] | Callable[[dict[str, str]], list[Expected]]
    source: str
    setup: Callable[[Cloud], dict[str, str]] | None = field(default=None)


# --- setups ----------------------------------------------------------------------------


def orders_table(cloud: Cloud) -> dict[str, str]:
    cloud.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"},
                              {"AttributeName": "status", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "byStatus",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return {}


def two_tables(cloud: Cloud) -> dict[str, str]:
    orders_table(cloud)
    cloud.client("dynamodb").create_table(
        TableName="customers", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    return {}


def bucket(cloud: Cloud) -> dict[str, str]:
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="media-bucket")
    s3.put_object(Bucket="media-bucket", Key="photos/cat.jpg", Body=b"cat")
    return {}


def queue(cloud: Cloud) -> dict[str, str]:
    cloud.client("sqs").create_queue(QueueName="jobs")
    return {}


def topic(cloud: Cloud) -> dict[str, str]:
    cloud.client("sns").create_topic(Name="alerts")
    return {}


def subscription(cloud: Cloud) -> dict[str, str]:
    queue(cloud)
    topic(cloud)
    subscribed = cloud.client("sns").subscribe(TopicArn=TOPIC, Protocol="sqs", Endpoint=QUEUE)
    return {"subscription": subscribed["SubscriptionArn"]}


def stream(cloud: Cloud) -> dict[str, str]:
    kinesis = cloud.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    shard = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["Shards"][0]
    iterator = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")
    return {"iterator": iterator["ShardIterator"]}


def secret(cloud: Cloud) -> dict[str, str]:
    created = cloud.client("secretsmanager").create_secret(Name="prod/db", SecretString="pw")
    other = cloud.client("secretsmanager").create_secret(Name="prod/api", SecretString="k")
    return {"arn": created["ARN"], "other": other["ARN"]}


def key_with_alias(cloud: Cloud) -> dict[str, str]:
    kms = cloud.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/payments", TargetKeyId=key["KeyId"])
    return {"key": key["KeyId"], "key_arn": key["Arn"]}


def user_pool(cloud: Cloud) -> dict[str, str]:
    pool = cloud.client("cognito-idp").create_user_pool(PoolName="customers")["UserPool"]
    return {"pool": pool["Id"]}


def log_group(cloud: Cloud) -> dict[str, str]:
    logs = cloud.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/checkout")
    logs.create_log_stream(logGroupName="/aws/lambda/checkout", logStreamName="2026/01/01/abc")
    return {}


def _key(pk: str, sk: str = "1") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


# --- cases -----------------------------------------------------------------------------

CASES = [
    # DynamoDB
    Case("dynamodb-get-item",
         lambda c, _: c.client("dynamodb").get_item(TableName="orders", Key=_key("user-1")),
         [("dynamodb:GetItem", TABLE, {"dynamodb:LeadingKeys": ["user-1"],
                                       "dynamodb:Attributes": ["pk", "sk"],
                                       "dynamodb:Select": "ALL_ATTRIBUTES"})],
         DYNAMODB_CONDITIONS, orders_table),
    Case("dynamodb-get-item-projection",
         lambda c, _: c.client("dynamodb").get_item(
             TableName="orders", Key=_key("user-1"),
             ProjectionExpression="#t, address.city, tags[0]",
             ExpressionAttributeNames={"#t": "total"}),
         [("dynamodb:GetItem", TABLE, {
             "dynamodb:Attributes": ["pk", "sk", "total", "address", "tags"],
             "dynamodb:Select": "SPECIFIC_ATTRIBUTES"})],
         DYNAMODB_CONDITIONS, orders_table),
    Case("dynamodb-put-item",
         lambda c, _: c.client("dynamodb").put_item(
             TableName="orders", Item={**_key("user-2"), "total": {"N": "5"}}),
         [("dynamodb:PutItem", TABLE, {"dynamodb:LeadingKeys": ["user-2"],
                                       "dynamodb:Attributes": ["pk", "sk", "total"],
                                       "dynamodb:ReturnValues": "NONE"})],
         DYNAMODB_CONDITIONS, orders_table),
    Case("dynamodb-update-item",
         lambda c, _: c.client("dynamodb").update_item(
             TableName="orders", Key=_key("user-3"),
             UpdateExpression="SET #s = :s ADD visits :one",
             ExpressionAttributeNames={"#s": "status"},
             ExpressionAttributeValues={":s": {"S": "paid"}, ":one": {"N": "1"}},
             ReturnValues="UPDATED_NEW"),
         [("dynamodb:UpdateItem", TABLE, {
             "dynamodb:LeadingKeys": ["user-3"],
             "dynamodb:Attributes": ["pk", "sk", "status", "visits"],
             "dynamodb:ReturnValues": "UPDATED_NEW"})],
         DYNAMODB_CONDITIONS, orders_table),
    Case("dynamodb-delete-item",
         lambda c, _: c.client("dynamodb").delete_item(TableName="orders", Key=_key("user-4")),
         [("dynamodb:DeleteItem", TABLE, {"dynamodb:LeadingKeys": ["user-4"]})],
         DYNAMODB, orders_table),
    Case("dynamodb-query-table",
         lambda c, _: c.client("dynamodb").query(
             TableName="orders", KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
             ExpressionAttributeValues={":p": {"S": "user-1"}, ":s": {"S": "2026"}}),
         [("dynamodb:Query", TABLE, {"dynamodb:LeadingKeys": ["user-1"],
                                     "dynamodb:Select": "ALL_ATTRIBUTES"})],
         DYNAMODB_CONDITIONS, orders_table),
    Case("dynamodb-query-index",
         lambda c, _: c.client("dynamodb").query(
             TableName="orders", IndexName="byStatus",
             KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
             ExpressionAttributeValues={":s": {"S": "paid"}}),
         [("dynamodb:Query", TABLE + "/index/byStatus", {
             "dynamodb:LeadingKeys": ["paid"],
             "dynamodb:Select": "ALL_PROJECTED_ATTRIBUTES"})],
         DYNAMODB_CONDITIONS, orders_table),
    Case("dynamodb-scan",
         lambda c, _: c.client("dynamodb").scan(TableName="orders"),
         [("dynamodb:Scan", TABLE, {"dynamodb:LeadingKeys": ABSENT,
                                    "dynamodb:Select": "ALL_ATTRIBUTES"})],
         DYNAMODB_CONDITIONS, orders_table),
    Case("dynamodb-scan-index-count",
         lambda c, _: c.client("dynamodb").scan(TableName="orders", IndexName="byStatus",
                                                Select="COUNT"),
         [("dynamodb:Scan", TABLE + "/index/byStatus", {"dynamodb:Select": "COUNT"})],
         DYNAMODB, orders_table),
    Case("dynamodb-batch-get-item",
         lambda c, _: c.client("dynamodb").batch_get_item(RequestItems={
             "orders": {"Keys": [_key("user-1"), _key("user-2")]},
             "customers": {"Keys": [{"id": {"S": "c-1"}}]}}),
         [("dynamodb:BatchGetItem", TABLE, {"dynamodb:LeadingKeys": ["user-1", "user-2"]}),
          ("dynamodb:BatchGetItem", CUSTOMERS, {"dynamodb:LeadingKeys": ["c-1"]})],
         DYNAMODB_CONDITIONS, two_tables),
    Case("dynamodb-batch-write-item",
         lambda c, _: c.client("dynamodb").batch_write_item(RequestItems={
             "orders": [{"PutRequest": {"Item": _key("user-5")}},
                        {"DeleteRequest": {"Key": _key("user-6")}}],
             "customers": [{"PutRequest": {"Item": {"id": {"S": "c-2"}}}}]}),
         [("dynamodb:BatchWriteItem", TABLE, {"dynamodb:LeadingKeys": ["user-5", "user-6"]}),
          ("dynamodb:BatchWriteItem", CUSTOMERS, {"dynamodb:LeadingKeys": ["c-2"]})],
         DYNAMODB, two_tables),
    Case("dynamodb-transact-write-items",
         lambda c, _: c.client("dynamodb").transact_write_items(TransactItems=[
             {"ConditionCheck": {"TableName": "customers", "Key": {"id": {"S": "c-1"}},
                                 "ConditionExpression": "attribute_exists(id)"}},
             {"Put": {"TableName": "orders", "Item": _key("user-7")}},
             {"Update": {"TableName": "orders", "Key": _key("user-8"),
                         "UpdateExpression": "SET paid = :t",
                         "ExpressionAttributeValues": {":t": {"BOOL": True}}}},
             {"Delete": {"TableName": "orders", "Key": _key("user-9")}}]),
         [("dynamodb:ConditionCheckItem", CUSTOMERS, {"dynamodb:LeadingKeys": ["c-1"]}),
          ("dynamodb:PutItem", TABLE, {"dynamodb:EnclosingOperation": "TransactWriteItems",
                                       "dynamodb:LeadingKeys": ["user-7"]}),
          ("dynamodb:UpdateItem", TABLE, {"dynamodb:EnclosingOperation": "TransactWriteItems",
                                          "dynamodb:LeadingKeys": ["user-8"]}),
          ("dynamodb:DeleteItem", TABLE, {"dynamodb:EnclosingOperation": "TransactWriteItems",
                                          "dynamodb:LeadingKeys": ["user-9"]})],
         DYNAMODB_TRANSACTIONS, two_tables),
    Case("dynamodb-transact-get-items",
         lambda c, _: c.client("dynamodb").transact_get_items(TransactItems=[
             {"Get": {"TableName": "orders", "Key": _key("user-1")}},
             {"Get": {"TableName": "customers", "Key": {"id": {"S": "c-1"}}}}]),
         [("dynamodb:GetItem", TABLE, {"dynamodb:EnclosingOperation": "TransactGetItems"}),
          ("dynamodb:GetItem", CUSTOMERS, {"dynamodb:EnclosingOperation": "TransactGetItems"})],
         DYNAMODB_TRANSACTIONS, two_tables),
    Case("dynamodb-partiql-select-by-key",
         lambda c, _: c.client("dynamodb").execute_statement(
             Statement="SELECT * FROM \"orders\" WHERE pk = 'user-1'"),
         [("dynamodb:PartiQLSelect", TABLE, {"dynamodb:FullTableScan": False})],
         DYNAMODB_PARTIQL, orders_table),
    Case("dynamodb-partiql-select-full-scan",
         lambda c, _: c.client("dynamodb").execute_statement(
             Statement="SELECT * FROM \"orders\""),
         [("dynamodb:PartiQLSelect", TABLE, {"dynamodb:FullTableScan": True})],
         DYNAMODB_PARTIQL, orders_table),
    Case("dynamodb-partiql-insert",
         lambda c, _: c.client("dynamodb").execute_statement(
             Statement="INSERT INTO \"orders\" VALUE {'pk': 'user-1', 'sk': '2'}"),
         [("dynamodb:PartiQLInsert", TABLE, {})],
         DYNAMODB_PARTIQL, orders_table),
    Case("dynamodb-describe-table",
         lambda c, _: c.client("dynamodb").describe_table(TableName="orders"),
         [("dynamodb:DescribeTable", TABLE, {})], DYNAMODB, orders_table),
    Case("dynamodb-table-by-arn",
         lambda c, _: c.client("dynamodb").get_item(TableName=TABLE, Key=_key("user-1")),
         [("dynamodb:GetItem", TABLE, {})], DYNAMODB, orders_table),
    Case("dynamodb-list-tables",
         lambda c, _: c.client("dynamodb").list_tables(),
         [("dynamodb:ListTables", "*", {})], DYNAMODB),
    Case("dynamodb-create-table-tags",
         lambda c, _: c.client("dynamodb").create_table(
             TableName="audit", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
             BillingMode="PAY_PER_REQUEST", Tags=[{"Key": "team", "Value": "payments"}]),
         [("dynamodb:CreateTable", arn("dynamodb", "table/audit"),
           {"aws:TagKeys": ["team"], "aws:RequestTag/team": "payments"})],
         DYNAMODB),
    Case("dynamodb-streams-get-records",
         lambda c, ids: c.client("dynamodbstreams").get_records(ShardIterator=ids["iterator"]),
         lambda ids: [("dynamodb:GetRecords", ids["stream"], {})],
         DYNAMODB, lambda cloud: _stream_iterator(cloud)),
    # S3
    Case("s3-put-object",
         lambda c, _: c.client("s3").put_object(Bucket="media-bucket", Key="photos/dog.jpg",
                                                Body=b"dog", ACL="public-read"),
         [("s3:PutObject", "arn:aws:s3:::media-bucket/photos/dog.jpg",
           {"s3:x-amz-acl": "public-read"})],
         S3_CONDITIONS, bucket),
    Case("s3-get-object",
         lambda c, _: c.client("s3").get_object(Bucket="media-bucket", Key="photos/cat.jpg"),
         [("s3:GetObject", "arn:aws:s3:::media-bucket/photos/cat.jpg", {})],
         S3_PERMISSIONS, bucket),
    Case("s3-head-object",
         lambda c, _: c.client("s3").head_object(Bucket="media-bucket", Key="photos/cat.jpg"),
         [("s3:GetObject", "arn:aws:s3:::media-bucket/photos/cat.jpg", {})],
         S3_PERMISSIONS, bucket),
    Case("s3-get-object-version",
         lambda c, _: c.client("s3").get_object(Bucket="media-bucket", Key="photos/cat.jpg",
                                                VersionId="null"),
         [("s3:GetObjectVersion", "arn:aws:s3:::media-bucket/photos/cat.jpg",
           {"s3:versionid": "null"})],
         S3_PERMISSIONS, bucket),
    Case("s3-list-objects-v2",
         lambda c, _: c.client("s3").list_objects_v2(Bucket="media-bucket", Prefix="photos/",
                                                     Delimiter="/", MaxKeys=10),
         [("s3:ListBucket", "arn:aws:s3:::media-bucket",
           {"s3:prefix": "photos/", "s3:delimiter": "/", "s3:max-keys": "10"})],
         S3_CONDITIONS, bucket),
    Case("s3-head-bucket",
         lambda c, _: c.client("s3").head_bucket(Bucket="media-bucket"),
         [("s3:ListBucket", "arn:aws:s3:::media-bucket", {})], S3_PERMISSIONS, bucket),
    Case("s3-copy-object",
         lambda c, _: c.client("s3").copy_object(
             Bucket="media-bucket", Key="archive/cat.jpg",
             CopySource={"Bucket": "media-bucket", "Key": "photos/cat.jpg"}),
         [("s3:GetObject", "arn:aws:s3:::media-bucket/photos/cat.jpg", {}),
          ("s3:PutObject", "arn:aws:s3:::media-bucket/archive/cat.jpg", {})],
         S3_PERMISSIONS, bucket),
    Case("s3-delete-objects",
         lambda c, _: c.client("s3").delete_objects(Bucket="media-bucket", Delete={
             "Objects": [{"Key": "photos/cat.jpg"}, {"Key": "photos/old.jpg"}]}),
         [("s3:DeleteObject", "arn:aws:s3:::media-bucket/photos/cat.jpg", {}),
          ("s3:DeleteObject", "arn:aws:s3:::media-bucket/photos/old.jpg", {})],
         S3_PERMISSIONS, bucket),
    Case("s3-put-bucket-policy",
         lambda c, _: c.client("s3").put_bucket_policy(
             Bucket="media-bucket", Policy=json.dumps({"Version": "2012-10-17",
                                                       "Statement": []})),
         [("s3:PutBucketPolicy", "arn:aws:s3:::media-bucket", {})], S3, bucket),
    Case("s3-list-buckets",
         lambda c, _: c.client("s3").list_buckets(),
         # The reference names no resource type; AWS's policy examples grant the action on
         # "arn:aws:s3:::*", so the check names that.
         # https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-policies-s3.html
         [("s3:ListAllMyBuckets", "arn:aws:s3:::*", {})], S3_PERMISSIONS),
    Case("s3-create-multipart-upload",
         lambda c, _: c.client("s3").create_multipart_upload(Bucket="media-bucket",
                                                             Key="video.mp4"),
         [("s3:PutObject", "arn:aws:s3:::media-bucket/video.mp4", {})],
         S3_PERMISSIONS, bucket),
    Case("s3-put-object-tagging",
         lambda c, _: c.client("s3").put_object_tagging(
             Bucket="media-bucket", Key="photos/cat.jpg",
             Tagging={"TagSet": [{"Key": "class", "Value": "public"}]}),
         [("s3:PutObjectTagging", "arn:aws:s3:::media-bucket/photos/cat.jpg",
           {"s3:RequestObjectTagKeys": ["class"], "s3:RequestObjectTag/class": "public"})],
         S3_CONDITIONS, bucket),
    Case("s3-delete-bucket-cors",
         lambda c, _: c.client("s3").delete_bucket_cors(Bucket="media-bucket"),
         [("s3:PutBucketCORS", "arn:aws:s3:::media-bucket", {})], S3_PERMISSIONS, bucket),
    Case("s3-get-bucket-location",
         lambda c, _: c.client("s3").get_bucket_location(Bucket="media-bucket"),
         [("s3:GetBucketLocation", "arn:aws:s3:::media-bucket", {})], S3, bucket),
    # SQS
    Case("sqs-send-message",
         lambda c, _: c.client("sqs").send_message(QueueUrl=QUEUE_URL, MessageBody="hi"),
         [("sqs:SendMessage", QUEUE, {})], SQS, queue),
    Case("sqs-send-message-batch",
         lambda c, _: c.client("sqs").send_message_batch(QueueUrl=QUEUE_URL, Entries=[
             {"Id": "1", "MessageBody": "a"}, {"Id": "2", "MessageBody": "b"}]),
         [("sqs:SendMessage", QUEUE, {})], SQS_PERMISSIONS, queue),
    Case("sqs-receive-message",
         lambda c, _: c.client("sqs").receive_message(QueueUrl=QUEUE_URL),
         [("sqs:ReceiveMessage", QUEUE, {})], SQS, queue),
    Case("sqs-delete-message-batch",
         lambda c, _: c.client("sqs").delete_message_batch(QueueUrl=QUEUE_URL, Entries=[
             {"Id": "1", "ReceiptHandle": "handle"}]),
         [("sqs:DeleteMessage", QUEUE, {})], SQS_PERMISSIONS, queue),
    Case("sqs-list-queues",
         lambda c, _: c.client("sqs").list_queues(),
         [("sqs:ListQueues", "*", {})], SQS),
    Case("sqs-create-queue-tags",
         lambda c, _: c.client("sqs").create_queue(QueueName="jobs", tags={"env": "test"}),
         [("sqs:CreateQueue", QUEUE, {"aws:TagKeys": ["env"],
                                      "aws:RequestTag/env": "test"})],
         SQS),
    # SNS
    Case("sns-publish",
         lambda c, _: c.client("sns").publish(TopicArn=TOPIC, Message="m"),
         [("sns:Publish", TOPIC, {})], SNS, topic),
    Case("sns-publish-batch",
         lambda c, _: c.client("sns").publish_batch(TopicArn=TOPIC, PublishBatchRequestEntries=[
             {"Id": "1", "Message": "a"}, {"Id": "2", "Message": "b"}]),
         [("sns:Publish", TOPIC, {})],
         "https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html", topic),
    Case("sns-subscribe",
         lambda c, _: c.client("sns").subscribe(TopicArn=TOPIC, Protocol="sqs",
                                                Endpoint=QUEUE),
         [("sns:Subscribe", TOPIC, {"sns:Protocol": "sqs", "sns:Endpoint": QUEUE})],
         SNS, topic),
    Case("sns-unsubscribe",
         lambda c, ids: c.client("sns").unsubscribe(SubscriptionArn=ids["subscription"]),
         [("sns:Unsubscribe", TOPIC, {})], SNS, subscription),
    Case("sns-publish-sms",
         lambda c, _: c.client("sns").publish(PhoneNumber="+15555550100", Message="m"),
         [("sns:Publish", "*", {})],
         "https://docs.aws.amazon.com/sns/latest/dg/sns-mobile-phone-number-as-subscriber.html"),
    # EventBridge
    Case("events-put-events-default-bus",
         lambda c, _: c.client("events").put_events(Entries=[
             {"Source": "app.orders", "DetailType": "OrderPlaced", "Detail": "{}"}]),
         [("events:PutEvents", arn("events", "event-bus/default"),
           {"events:source": ["app.orders"], "events:detail-type": ["OrderPlaced"]})],
         EVENTS_CONDITIONS),
    Case("events-put-events-several-buses",
         lambda c, _: c.client("events").put_events(Entries=[
             {"Source": "a", "DetailType": "x", "Detail": "{}", "EventBusName": "orders"},
             {"Source": "b", "DetailType": "y", "Detail": "{}",
              "EventBusName": arn("events", "event-bus/audit")}]),
         [("events:PutEvents", arn("events", "event-bus/orders"),
           {"events:source": ["a"], "events:detail-type": ["x"]}),
          ("events:PutEvents", arn("events", "event-bus/audit"),
           {"events:source": ["b"], "events:detail-type": ["y"]})],
         EVENTS, lambda cloud: _event_buses(cloud)),
    Case("events-put-rule-default-bus",
         lambda c, _: c.client("events").put_rule(
             Name="paid", EventPattern=json.dumps({"source": ["app.orders"],
                                                   "detail-type": ["OrderPaid"]})),
         [("events:PutRule", arn("events", "rule/paid"),
           {"events:source": ["app.orders"], "events:detail-type": ["OrderPaid"]})],
         EVENTS_CONDITIONS),
    Case("events-put-rule-custom-bus",
         lambda c, _: c.client("events").put_rule(
             Name="paid", EventBusName="orders", ScheduleExpression="rate(1 hour)"),
         [("events:PutRule", arn("events", "rule/orders/paid"), {})],
         EVENTS, lambda cloud: _event_buses(cloud)),
    Case("events-put-targets",
         lambda c, _: c.client("events").put_targets(Rule="paid", Targets=[
             {"Id": "1", "Arn": QUEUE}]),
         [("events:PutTargets", arn("events", "rule/paid"), {"events:TargetArn": [QUEUE]})],
         EVENTS_CONDITIONS),
    # Lambda
    Case("lambda-invoke",
         lambda c, _: c.client("lambda").invoke(FunctionName="checkout", Payload=b"{}"),
         [("lambda:InvokeFunction", FUNCTION, {})], LAMBDA),
    Case("lambda-invoke-alias",
         lambda c, _: c.client("lambda").invoke(FunctionName="checkout", Qualifier="live"),
         [("lambda:InvokeFunction", FUNCTION + ":live", {})], LAMBDA_PERMISSIONS),
    Case("lambda-invoke-version-arn",
         lambda c, _: c.client("lambda").invoke(
             FunctionName=arn("lambda", "function:checkout:7", "eu-west-1")),
         [("lambda:InvokeFunction", arn("lambda", "function:checkout:7", "eu-west-1"), {})],
         LAMBDA_PERMISSIONS),
    Case("lambda-get-function-configuration-partial-arn",
         lambda c, _: c.client("lambda").get_function_configuration(
             FunctionName=f"{ACCOUNT}:function:checkout"),
         [("lambda:GetFunctionConfiguration", FUNCTION, {})], LAMBDA),
    Case("lambda-create-event-source-mapping",
         lambda c, _: c.client("lambda").create_event_source_mapping(
             FunctionName="checkout", EventSourceArn=QUEUE),
         [("lambda:CreateEventSourceMapping", "*", {"lambda:FunctionArn": FUNCTION})],
         LAMBDA),
    Case("lambda-add-permission",
         lambda c, _: c.client("lambda").add_permission(
             FunctionName="checkout", StatementId="sns", Action="lambda:InvokeFunction",
             Principal="sns.amazonaws.com"),
         [("lambda:AddPermission", FUNCTION, {"lambda:Principal": "sns.amazonaws.com"})],
         LAMBDA),
    # Step Functions
    Case("states-start-execution",
         lambda c, _: c.client("stepfunctions").start_execution(stateMachineArn=STATE_MACHINE),
         [("states:StartExecution", STATE_MACHINE, {})], STATES),
    Case("states-start-execution-alias",
         lambda c, _: c.client("stepfunctions").start_execution(
             stateMachineArn=STATE_MACHINE + ":prod"),
         [("states:StartExecution", STATE_MACHINE + ":prod",
           {"states:StateMachineQualifier": ["prod"]})],
         STATES),
    Case("states-describe-execution",
         lambda c, _: c.client("stepfunctions").describe_execution(
             executionArn=arn("states", "execution:orders:run-1")),
         [("states:DescribeExecution", arn("states", "execution:orders:run-1"), {})], STATES),
    Case("states-send-task-success",
         lambda c, _: c.client("stepfunctions").send_task_success(taskToken="token",
                                                                  output="{}"),
         [("states:SendTaskSuccess", "*", {})], STATES),
    # Kinesis
    Case("kinesis-put-record",
         lambda c, _: c.client("kinesis").put_record(StreamName="clicks", Data=b"x",
                                                     PartitionKey="p"),
         [("kinesis:PutRecord", STREAM, {})], KINESIS, stream),
    Case("kinesis-put-records-by-arn",
         lambda c, _: c.client("kinesis").put_records(StreamARN=STREAM, Records=[
             {"Data": b"x", "PartitionKey": "p"}]),
         [("kinesis:PutRecords", STREAM, {})], KINESIS, stream),
    Case("kinesis-get-records",
         lambda c, ids: c.client("kinesis").get_records(ShardIterator=ids["iterator"]),
         [("kinesis:GetRecords", STREAM, {})], KINESIS, stream),
    # SSM
    Case("ssm-get-parameter",
         lambda c, _: c.client("ssm").get_parameter(Name="/prod/db/url"),
         [("ssm:GetParameter", arn("ssm", "parameter/prod/db/url"), {})], SSM_PARAMETERS),
    Case("ssm-get-parameters-by-path",
         lambda c, _: c.client("ssm").get_parameters_by_path(Path="/prod", Recursive=True),
         [("ssm:GetParametersByPath", arn("ssm", "parameter/prod"), {"ssm:Recursive": True})],
         SSM),
    Case("ssm-get-parameters-with-version",
         lambda c, _: c.client("ssm").get_parameters(Names=["/prod/a", "/prod/b:2"]),
         [("ssm:GetParameters", arn("ssm", "parameter/prod/a"), {}),
          ("ssm:GetParameters", arn("ssm", "parameter/prod/b"), {})],
         SSM_PARAMETERS),
    # Secrets Manager
    Case("secretsmanager-get-secret-value-by-name",
         lambda c, _: c.client("secretsmanager").get_secret_value(SecretId="prod/db"),
         lambda ids: [("secretsmanager:GetSecretValue", ids["arn"],
                       {"secretsmanager:SecretId": "prod/db"})],
         SECRETS, secret),
    Case("secretsmanager-batch-get-secret-value",
         lambda c, _: c.client("secretsmanager").batch_get_secret_value(
             SecretIdList=["prod/db", "prod/api"]),
         lambda ids: [("secretsmanager:BatchGetSecretValue", "*", {}),
                      ("secretsmanager:GetSecretValue", ids["arn"], {}),
                      ("secretsmanager:GetSecretValue", ids["other"], {})],
         SECRETS_BATCH, secret),
    # KMS
    Case("kms-encrypt-through-alias",
         lambda c, _: c.client("kms").encrypt(KeyId="alias/payments", Plaintext=b"x",
                                              EncryptionContext={"tenant": "t-1"}),
         lambda ids: [("kms:Encrypt", ids["key_arn"], {
             "kms:RequestAlias": "alias/payments",
             "kms:EncryptionContextKeys": ["tenant"],
             "kms:EncryptionContext:tenant": "t-1"})],
         KMS_ALIASES, key_with_alias),
    Case("kms-create-alias",
         lambda c, ids: c.client("kms").create_alias(AliasName="alias/refunds",
                                                     TargetKeyId=ids["key"]),
         lambda ids: [("kms:CreateAlias", arn("kms", "alias/refunds"), {}),
                      ("kms:CreateAlias", ids["key_arn"], {})],
         KMS_ALIAS_ACCESS, key_with_alias),
    Case("kms-decrypt-key-arn",
         lambda c, ids: c.client("kms").decrypt(KeyId=ids["key_arn"], CiphertextBlob=b"x" * 32),
         lambda ids: [("kms:Decrypt", ids["key_arn"], {})], KMS, key_with_alias),
    # CloudWatch
    Case("cloudwatch-put-metric-data",
         lambda c, _: c.client("cloudwatch").put_metric_data(
             Namespace="Shop", MetricData=[{"MetricName": "Orders", "Value": 1.0}]),
         [("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "Shop"})], CLOUDWATCH),
    Case("cloudwatch-put-metric-alarm",
         lambda c, _: c.client("cloudwatch").put_metric_alarm(
             AlarmName="errors", MetricName="Errors", Namespace="Shop", Statistic="Sum",
             Period=60, EvaluationPeriods=1, Threshold=1.0,
             ComparisonOperator="GreaterThanThreshold"),
         [("cloudwatch:PutMetricAlarm", arn("cloudwatch", "alarm:errors"), {})], CLOUDWATCH),
    # CloudWatch Logs
    Case("logs-put-log-events",
         lambda c, _: c.client("logs").put_log_events(
             logGroupName="/aws/lambda/checkout", logStreamName="2026/01/01/abc",
             logEvents=[{"timestamp": 1, "message": "m"}]),
         [("logs:PutLogEvents",
           arn("logs", "log-group:/aws/lambda/checkout:log-stream:2026/01/01/abc"), {})],
         LOGS, log_group),
    Case("logs-describe-log-streams",
         lambda c, _: c.client("logs").describe_log_streams(
             logGroupName="/aws/lambda/checkout"),
         [("logs:DescribeLogStreams", arn("logs", "log-group:/aws/lambda/checkout:*"), {})],
         LOGS_ARNS, log_group),
    Case("logs-tag-resource",
         lambda c, _: c.client("logs").tag_resource(
             resourceArn=arn("logs", "log-group:/aws/lambda/checkout"), tags={"team": "a"}),
         [("logs:TagResource", arn("logs", "log-group:/aws/lambda/checkout"),
           {"aws:TagKeys": ["team"]})],
         LOGS_ARNS, log_group),
    # Cognito user pools
    Case("cognito-admin-get-user",
         lambda c, ids: c.client("cognito-idp").admin_get_user(UserPoolId=ids["pool"],
                                                               Username="ana"),
         lambda ids: [("cognito-idp:AdminGetUser",
                       arn("cognito-idp", f"userpool/{ids['pool']}"), {})],
         COGNITO, user_pool),
    Case("cognito-list-user-pools",
         lambda c, _: c.client("cognito-idp").list_user_pools(MaxResults=10),
         [("cognito-idp:ListUserPools", "*", {})], COGNITO),
    # AppSync
    Case("appsync-get-graphql-api",
         lambda c, _: c.client("appsync").get_graphql_api(apiId="abcdefghij"),
         [("appsync:GetGraphqlApi", arn("appsync", "apis/abcdefghij"), {})], APPSYNC),
    Case("appsync-create-resolver",
         lambda c, _: c.client("appsync").create_resolver(apiId="abcdefghij",
                                                          typeName="Query",
                                                          fieldName="order"),
         [("appsync:CreateResolver", "*", {})], APPSYNC),
    # STS
    Case("sts-assume-role",
         lambda c, _: c.client("sts").assume_role(
             RoleArn=f"arn:aws:iam::{ACCOUNT}:role/app/worker", RoleSessionName="job-1"),
         [("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/app/worker",
           {"sts:RoleSessionName": "job-1"})],
         STS),
    Case("sts-assume-role-with-tags",
         lambda c, _: c.client("sts").assume_role(
             RoleArn=f"arn:aws:iam::{ACCOUNT}:role/worker", RoleSessionName="job-1",
             Tags=[{"Key": "project", "Value": "x"}]),
         [("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/worker",
           {"aws:RequestTag/project": "x"}),
          ("sts:TagSession", f"arn:aws:iam::{ACCOUNT}:role/worker", {})],
         STS_TAGS),
    Case("sts-get-caller-identity",
         lambda c, _: c.client("sts").get_caller_identity(),
         [], STS_CALLER),
]


def _stream_iterator(cloud: Cloud) -> dict[str, str]:
    orders_table(cloud)
    stream_arn = cloud.client("dynamodb").describe_table(
        TableName="orders")["Table"]["LatestStreamArn"]
    streams = cloud.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")
    return {"stream": stream_arn, "iterator": iterator["ShardIterator"]}


def _event_buses(cloud: Cloud) -> dict[str, str]:
    events = cloud.client("events")
    events.create_event_bus(Name="orders")
    events.create_event_bus(Name="audit")
    return {}


def captured_request(case: Case) -> tuple[AwsRequest, dict[str, str]]:
    cloud = Cloud()
    ids = case.setup(cloud) if case.setup is not None else {}
    captured: list[AwsRequest] = []
    cloud.add_before_dispatch(captured.append)
    # The request is captured before dispatch, so the service's response does not matter
    # here. moto 5.2 raises ValueError on partial Lambda ARNs.
    with contextlib.suppress(ClientError, ValueError):
        case.call(cloud, ids)
    assert captured, f"{case.id}: the call sent no request"
    return captured[-1], ids


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_operation_checks(case: Case) -> None:
    """The request gets the documented actions, resources and context keys."""
    request, ids = captured_request(case)
    expected = case.expected(ids) if callable(case.expected) else case.expected

    checks = access_checks(request, ACCOUNT)

    assert [(check.action, check.resource) for check in checks] == [
        (action, resource) for action, resource, _ in expected], case.source
    for check, (_, _, context) in zip(checks, expected, strict=True):
        for key, value in context.items():
            if value is ABSENT:
                assert key not in check.context, (key, case.source)
            else:
                assert check.context.get(key) == value, (key, case.source)


def test_table_has_sixty_cases() -> None:
    """The table covers at least sixty requests across the mapped services."""
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("path", "expected"), [
    ("/orders/{id}", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/orders/{id}"),
    ("/", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/"),
])
def test_execute_api_invoke_arn(path: str, expected: str) -> None:
    """API Gateway's AWS_IAM authorization checks execute-api:Invoke on the method ARN.

    Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
    """
    check = execute_api_check("a1b2c3", "prod", "get", path, REGION, ACCOUNT)

    assert check.action == "execute-api:Invoke"
    assert check.resource == expected
