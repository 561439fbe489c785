"""Generated events against the event shapes that AWS documents.

Each case names the AWS page that documents the event, a sample event under
tests/events/<source>/ written from that page, the options that describe the same
request or message, and the keys that the page lists. The generated event must have the
sample's structure (the same keys and JSON types at every level) and the same values
wherever the options decide them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from windtunnel.events import SOURCES, generate

SAMPLES = Path(__file__).resolve().parents[2] / "events"


@dataclass(frozen=True)
class Case:
    sample: str
    doc_url: str
    options: dict[str, Any]
    # Dotted path inside the event -> the exact keys that AWS documents there.
    keys: dict[str, set[str]]
    # Dotted paths whose values the options decide, so they equal the sample's.
    equal: tuple[str, ...] = field(default=())


REST_CONTEXT_KEYS = {
    "accountId", "apiId", "domainName", "domainPrefix", "extendedRequestId", "httpMethod",
    "identity", "path", "protocol", "requestId", "requestTime", "requestTimeEpoch",
    "resourceId", "resourcePath", "stage",
}
IDENTITY_KEYS = {
    "accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
    "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId",
    "principalOrgId", "sourceIp", "user", "userAgent", "userArn",
}
SQS_RECORD_KEYS = {
    "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
    "eventSource", "eventSourceARN", "awsRegion",
}
EVENTBRIDGE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region",
                    "resources", "detail"}
DYNAMODB_RECORD_KEYS = {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion",
                        "dynamodb", "eventSourceARN"}
S3_RECORD_KEYS = {"eventVersion", "eventSource", "awsRegion", "eventTime", "eventName",
                  "userIdentity", "requestParameters", "responseElements", "s3"}
COGNITO_KEYS = {"version", "triggerSource", "region", "userPoolId", "userName",
                "callerContext", "request", "response"}
COGNITO_POOL = {"user_pool": "us-east-1_Ab12Cd34E", "username": "jane",
                "client_id": "1example23456789abcdefghij"}
COGNITO_GUIDE = "https://docs.aws.amazon.com/cognito/latest/developerguide/"

CASES = {
    "apigateway-rest": [Case(
        "get-with-path-parameter.json",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
        "set-up-lambda-proxy-integrations.html",
        {"resource": "/{userId}/items", "path": "/u1/items",
         "query": {"limit": ["10", "20"]}},
        {"": {"resource", "path", "httpMethod", "headers", "multiValueHeaders",
              "queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
              "stageVariables", "requestContext", "body", "isBase64Encoded"},
         "requestContext": REST_CONTEXT_KEYS,
         "requestContext.identity": IDENTITY_KEYS},
        ("resource", "path", "httpMethod", "queryStringParameters",
         "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body",
         "isBase64Encoded", "requestContext.path", "requestContext.resourcePath",
         "requestContext.stage", "requestContext.accountId"),
    )],
    "apigateway-http": [Case(
        "post-with-everything.json",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
        "http-api-develop-integrations-lambda.html",
        {"method": "POST", "resource": "/{userId}/items", "path": "/u1/items",
         "query": "tag=a&tag=b", "cookies": ["session=abc123", "theme=dark"],
         "body": {"name": "x"}, "stage_variables": {"tableName": "items"}},
        {"": {"version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
              "queryStringParameters", "requestContext", "body", "pathParameters",
              "isBase64Encoded", "stageVariables"},
         "requestContext": {"accountId", "apiId", "domainName", "domainPrefix", "http",
                            "requestId", "routeKey", "stage", "time", "timeEpoch"},
         "requestContext.http": {"method", "path", "protocol", "sourceIp", "userAgent"}},
        ("version", "routeKey", "rawPath", "rawQueryString", "cookies",
         "queryStringParameters", "body", "pathParameters", "stageVariables",
         "headers.content-type", "headers.content-length", "requestContext.http.method",
         "requestContext.routeKey", "requestContext.stage"),
    )],
    "sqs": [
        Case(
            "two-messages-with-attribute.json",
            "https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html",
            {"queue": "orders", "bodies": [{"orderId": "o-1"}, {"orderId": "o-2"}],
             "message_attributes": {"tenant": "acme"}},
            {"": {"Records"},
             "Records.0": SQS_RECORD_KEYS | {"md5OfMessageAttributes"},
             "Records.0.attributes": {"ApproximateReceiveCount", "SentTimestamp",
                                      "SenderId", "ApproximateFirstReceiveTimestamp"}},
            ("Records.0.body", "Records.1.body", "Records.0.md5OfBody",
             "Records.1.md5OfBody", "Records.0.messageAttributes",
             "Records.0.md5OfMessageAttributes", "Records.0.eventSourceARN"),
        ),
        Case(
            "fifo-message.json",
            "https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html",
            {"queue": "orders.fifo", "body": "first", "message_group_id": "customer-7"},
            {"Records.0": SQS_RECORD_KEYS,
             "Records.0.attributes": {"ApproximateReceiveCount", "SentTimestamp",
                                      "SenderId", "ApproximateFirstReceiveTimestamp",
                                      "SequenceNumber", "MessageGroupId",
                                      "MessageDeduplicationId"}},
            ("Records.0.md5OfBody", "Records.0.attributes.MessageGroupId",
             "Records.0.eventSourceARN"),
        ),
    ],
    "sns": [Case(
        "notification-with-subject.json",
        "https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html",
        {"topic": "alerts", "message": "disk almost full", "subject": "Alert",
         "message_attributes": {"severity": "high"}},
        {"Records.0": {"EventVersion", "EventSubscriptionArn", "EventSource", "Sns"},
         "Records.0.Sns": {"SignatureVersion", "Timestamp", "Signature", "SigningCertUrl",
                           "MessageId", "Message", "MessageAttributes", "Type",
                           "UnsubscribeUrl", "TopicArn", "Subject"}},
        ("Records.0.EventSource", "Records.0.Sns.Message", "Records.0.Sns.Subject",
         "Records.0.Sns.MessageAttributes", "Records.0.Sns.TopicArn", "Records.0.Sns.Type"),
    )],
    "eventbridge": [Case(
        "custom-event.json",
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html",
        {"detail": {"orderId": "o-1", "total": 42},
         "resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]},
        {"": EVENTBRIDGE_KEYS},
        ("version", "detail-type", "source", "account", "region", "resources", "detail"),
    )],
    "schedule": [Case(
        "scheduled-event.json",
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html",
        {"rule": "nightly-report", "time": "2024-03-13T12:30:00Z"},
        {"": EVENTBRIDGE_KEYS},
        ("version", "detail-type", "source", "time", "resources", "detail"),
    )],
    "dynamodb-stream": [
        Case(
            "modify.json",
            "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html",
            {"event_name": "MODIFY", "table": "users", "keys": {"pk": "user#1", "sk": 7},
             "new_image": {"name": "Jane", "active": True},
             "old_image": {"name": "Jan", "active": False},
             "time": "2024-03-13T12:30:45.123Z"},
            {"Records.0": DYNAMODB_RECORD_KEYS,
             "Records.0.dynamodb": {"ApproximateCreationDateTime", "Keys", "NewImage",
                                    "OldImage", "SequenceNumber", "SizeBytes",
                                    "StreamViewType"}},
            ("Records.0.eventName", "Records.0.eventSourceARN", "Records.0.dynamodb.Keys",
             "Records.0.dynamodb.NewImage", "Records.0.dynamodb.OldImage",
             "Records.0.dynamodb.ApproximateCreationDateTime"),
        ),
        Case(
            "remove-old-image.json",
            "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html",
            {"event_name": "REMOVE", "table": "users", "keys": {"pk": "user#1"},
             "old_image": {"tags": {"a", "b"}}, "stream_view_type": "OLD_IMAGE"},
            {"Records.0": DYNAMODB_RECORD_KEYS,
             "Records.0.dynamodb": {"ApproximateCreationDateTime", "Keys", "OldImage",
                                    "SequenceNumber", "SizeBytes", "StreamViewType"}},
            ("Records.0.dynamodb.OldImage", "Records.0.dynamodb.StreamViewType"),
        ),
    ],
    "kinesis": [Case(
        "record.json",
        "https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html",
        {"data": {"temp": 21.5}, "partition_key": "device-9", "stream": "telemetry"},
        {"Records.0": {"kinesis", "eventSource", "eventVersion", "eventID", "eventName",
                       "invokeIdentityArn", "awsRegion", "eventSourceARN"},
         "Records.0.kinesis": {"kinesisSchemaVersion", "partitionKey", "sequenceNumber",
                               "data", "approximateArrivalTimestamp"}},
        ("Records.0.kinesis.data", "Records.0.kinesis.partitionKey",
         "Records.0.eventSourceARN", "Records.0.eventName"),
    )],
    "s3": [
        Case(
            "object-created-put.json",
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
            "notification-content-structure.html",
            {"bucket": "photos", "key": "2024/summer trip.jpg", "size": 52340,
             "configuration_id": "on-upload"},
            {"Records.0": S3_RECORD_KEYS,
             "Records.0.s3": {"s3SchemaVersion", "configurationId", "bucket", "object"},
             "Records.0.s3.bucket": {"name", "ownerIdentity", "arn"},
             "Records.0.s3.object": {"key", "size", "eTag", "sequencer"}},
            ("Records.0.eventName", "Records.0.s3.object.key", "Records.0.s3.object.size",
             "Records.0.s3.bucket.arn", "Records.0.s3.configurationId"),
        ),
        Case(
            "object-removed-delete.json",
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
            "notification-content-structure.html",
            {"bucket": "photos", "key": "old.txt", "event_name": "s3:ObjectRemoved:Delete",
             "configuration_id": "on-delete"},
            {"Records.0": S3_RECORD_KEYS,
             "Records.0.s3.object": {"key", "sequencer"}},
            ("Records.0.eventName", "Records.0.s3.object.key"),
        ),
    ],
    "cognito-pre-signup": [Case(
        "sign-up.json",
        COGNITO_GUIDE + "user-pool-lambda-pre-sign-up.html",
        {**COGNITO_POOL,
         "attributes": {"email": "jane@example.com", "phone_number": "+12065550100"}},
        {"": COGNITO_KEYS,
         "callerContext": {"awsSdkVersion", "clientId"},
         "request": {"userAttributes", "validationData"},
         "response": {"autoConfirmUser", "autoVerifyEmail", "autoVerifyPhone"}},
        ("version", "triggerSource", "userPoolId", "userName", "callerContext", "request",
         "response"),
    )],
    "cognito-post-confirmation": [Case(
        "confirm-sign-up.json",
        COGNITO_GUIDE + "user-pool-lambda-post-confirmation.html",
        {**COGNITO_POOL, "attributes": {"email": "jane@example.com"},
         "client_metadata": {"source": "web"}},
        {"": COGNITO_KEYS, "request": {"userAttributes", "clientMetadata"}},
        ("triggerSource", "request.clientMetadata", "request.userAttributes.email",
         "request.userAttributes.cognito:user_status", "response"),
    )],
    "cognito-pre-token-generation": [Case(
        "authentication.json",
        COGNITO_GUIDE + "user-pool-lambda-pre-token-generation.html",
        {**COGNITO_POOL, "attributes": {"email": "jane@example.com"}, "groups": ["admins"]},
        {"": COGNITO_KEYS,
         "request": {"userAttributes", "groupConfiguration"},
         "request.groupConfiguration": {"groupsToOverride", "iamRolesToOverride",
                                        "preferredRole"}},
        ("triggerSource", "request.groupConfiguration", "response"),
    )],
}


def shape(value: Any) -> Any:
    """Return the structure of a JSON value: keys, list lengths and JSON type names."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def lookup(event: Any, dotted: str) -> Any:
    """Return the value at a dotted path such as ``Records.0.body``, or the event for ''."""
    value = event
    for part in dotted.split(".") if dotted else []:
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def load(source: str, sample: str) -> Any:
    return json.loads((SAMPLES / source / sample).read_text())


PARAMETERS = [pytest.param(source, case, id=f"{source}/{case.sample}")
              for source, cases in CASES.items() for case in cases]


def test_every_source_has_a_case() -> None:
    """Each event source that generate() offers is checked against a sample."""
    assert set(CASES) == set(SOURCES)


def test_doc_urls_match_sources() -> None:
    """The source registry cites the same AWS page as the conformance cases."""
    for source, cases in CASES.items():
        assert SOURCES[source].doc_url == cases[0].doc_url, source


@pytest.mark.parametrize(("source", "case"), PARAMETERS)
def test_documented_keys(source: str, case: Case) -> None:
    """The generated event has exactly the keys that AWS documents at each checked level."""
    event = generate(source, seed=7, **case.options)
    sample = load(source, case.sample)

    for dotted, keys in case.keys.items():
        assert set(lookup(event, dotted)) == keys, f"{dotted} in {case.doc_url}"
        assert set(lookup(sample, dotted)) == keys, f"sample {case.sample} at {dotted}"


@pytest.mark.parametrize(("source", "case"), PARAMETERS)
def test_structure_matches_sample(source: str, case: Case) -> None:
    """The generated event has the sample's keys and JSON types at every level."""
    event = generate(source, seed=7, **case.options)

    assert shape(event) == shape(load(source, case.sample))


@pytest.mark.parametrize(("source", "case"), PARAMETERS)
def test_option_values_match_sample(source: str, case: Case) -> None:
    """Fields that the options decide have the sample's values."""
    event = generate(source, seed=7, **case.options)
    sample = load(source, case.sample)

    for dotted in case.equal:
        assert lookup(event, dotted) == lookup(sample, dotted), dotted


@pytest.mark.parametrize(("source", "case"), PARAMETERS)
def test_event_is_plain_json(source: str, case: Case) -> None:
    """The event survives a JSON round trip unchanged, as Lambda delivers it."""
    event = generate(source, seed=7, **case.options)

    assert json.loads(json.dumps(event)) == event
