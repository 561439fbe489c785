"""windtunnel.events.generate: options, derived fields, determinism and errors."""

from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest
from moto import mock_aws

import windtunnel.events
from windtunnel.constants import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from windtunnel.errors import WindtunnelError
from windtunnel.events import SOURCES, EventOptionError, generate


def test_all_lists_exactly_the_public_names() -> None:
    """windtunnel.events.__all__ names every public attribute that is not a submodule."""
    public = {name for name, value in vars(windtunnel.events).items()
              if not name.startswith("_") and not isinstance(value, type(windtunnel.events))}
    public.discard("annotations")

    assert set(windtunnel.events.__all__) == public


# Errors.

def test_unknown_source_lists_sources() -> None:
    """An unknown source is an error that names every available source."""
    with pytest.raises(EventOptionError) as raised:
        generate("sqs-fifo")

    for name in SOURCES:
        assert name in str(raised.value)


def test_unknown_option_lists_options() -> None:
    """An unknown option is an error that names the options of that source."""
    with pytest.raises(EventOptionError) as raised:
        generate("sqs", topic="t")

    message = str(raised.value)
    assert "unknown option topic for event source 'sqs'" in message
    assert "queue" in message
    assert "seed" in message


def test_option_error_is_windtunnel_and_value_error() -> None:
    """Option errors derive from WindtunnelError, so the CLI reports them, and ValueError."""
    assert issubclass(EventOptionError, WindtunnelError)
    assert issubclass(EventOptionError, ValueError)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"account": "1234"}, "invalid account '1234'"),
    ({"region": "moon"}, "invalid region 'moon'"),
    ({"time": "yesterday"}, "invalid time 'yesterday'"),
    ({"seed": 1.5}, "invalid seed 1.5"),
])
def test_invalid_common_option(options: dict[str, object], fragment: str) -> None:
    """Invalid common option values are errors that quote the value."""
    with pytest.raises(EventOptionError, match=fragment):
        generate("eventbridge", **options)


# Determinism, defaults, times.

@pytest.mark.parametrize("source", list(SOURCES))
def test_same_seed_same_event(source: str) -> None:
    """The same seed and options give the same event, IDs and timestamps included."""
    assert generate(source, seed=42) == generate(source, seed=42)


@pytest.mark.parametrize("source", list(SOURCES))
def test_different_seeds_differ(source: str) -> None:
    """Different seeds give different IDs."""
    assert generate(source, seed=1) != generate(source, seed=2)


def test_unseeded_events_get_fresh_ids() -> None:
    """Without a seed, each event gets new IDs."""
    first = generate("eventbridge")["id"]
    second = generate("eventbridge")["id"]

    assert first != second


def test_defaults_from_constants() -> None:
    """Region and account default to windtunnel's defaults."""
    event = generate("eventbridge")

    assert event["region"] == DEFAULT_REGION
    assert event["account"] == DEFAULT_ACCOUNT_ID


def test_region_and_account_reach_arns() -> None:
    """Region and account appear in the ARNs the event carries."""
    event = generate("sqs", region="eu-west-1", account="111122223333", queue="jobs")
    record = event["Records"][0]

    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:111122223333:jobs"
    assert record["awsRegion"] == "eu-west-1"


def test_time_option_sets_every_timestamp() -> None:
    """The time option sets the epoch milliseconds and the formatted times alike."""
    event = generate("apigateway-rest", time="2024-05-01T12:00:00.250Z")
    context = event["requestContext"]

    assert context["requestTimeEpoch"] == 1714564800250
    assert context["requestTime"] == "01/May/2024:12:00:00 +0000"


def test_time_accepts_epoch_millis() -> None:
    """An integer time is epoch milliseconds."""
    event = generate("sns", time=1714564800250)

    assert event["Records"][0]["Sns"]["Timestamp"] == "2024-05-01T12:00:00.250Z"


def test_ids_look_like_aws_ids() -> None:
    """Message IDs are version 4 UUIDs, and API IDs are 10 lowercase letters and digits."""
    sqs = generate("sqs", seed=3)["Records"][0]
    api = generate("apigateway-http", seed=3)["requestContext"]

    assert sqs["messageId"][14] == "4"
    assert len(sqs["messageId"]) == 36
    assert len(api["apiId"]) == 10
    assert api["apiId"].isalnum()
    assert api["apiId"].lower() == api["apiId"]


# API Gateway.

def test_rest_derives_resource_from_path_parameters() -> None:
    """With path and path_parameters, the resource puts {name} where the value sits."""
    event = generate("apigateway-rest", path="/u1/items", path_parameters={"userId": "u1"})

    assert event["resource"] == "/{userId}/items"
    assert event["requestContext"]["resourcePath"] == "/{userId}/items"
    assert event["pathParameters"] == {"userId": "u1"}


def test_rest_fills_path_from_resource() -> None:
    """With resource and path_parameters, the path has the values in place."""
    event = generate("apigateway-rest", resource="/{userId}/items/{itemId}",
                     path_parameters={"userId": "u1", "itemId": "i9"})

    assert event["path"] == "/u1/items/i9"


def test_rest_greedy_parameter() -> None:
    """A {proxy+} parameter takes the rest of the path, slashes included."""
    event = generate("apigateway-rest", resource="/files/{proxy+}", path="/files/a/b.txt")

    assert event["pathParameters"] == {"proxy": "a/b.txt"}


def test_rest_path_must_match_resource() -> None:
    """A path that the resource does not match is an error naming both."""
    with pytest.raises(EventOptionError, match="path '/u1' does not match resource"):
        generate("apigateway-rest", resource="/{userId}/items", path="/u1")


def test_rest_parameters_must_agree_with_path() -> None:
    """path_parameters that disagree with the path's values are an error."""
    with pytest.raises(EventOptionError, match="disagree"):
        generate("apigateway-rest", resource="/{userId}", path="/u1",
                 path_parameters={"userId": "u2"})


def test_rest_resource_needs_parameter_values() -> None:
    """A resource with placeholders and no path or values is an error naming them."""
    with pytest.raises(EventOptionError, match="needs path_parameters for userId"):
        generate("apigateway-rest", resource="/{userId}")


def test_rest_without_optional_parts_uses_null() -> None:
    """A REST event keeps absent query, path parameters, stage variables and body as null."""
    event = generate("apigateway-rest", path="/health")

    for key in ("queryStringParameters", "multiValueQueryStringParameters",
                "pathParameters", "stageVariables", "body"):
        assert event[key] is None, key


def test_rest_repeated_header_last_value_and_all_values() -> None:
    """A repeated header shows its last value in headers and all in multiValueHeaders."""
    event = generate("apigateway-rest", headers={"X-Tag": ["a", "b"]})

    assert event["headers"]["X-Tag"] == "b"
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"]


def test_rest_given_header_replaces_default() -> None:
    """A given header replaces the default header of the same name in any case."""
    event = generate("apigateway-rest", headers={"user-agent": "tests/1.0"})

    assert "User-Agent" not in event["headers"]
    assert event["headers"]["user-agent"] == "tests/1.0"
    assert event["requestContext"]["identity"]["userAgent"] == "tests/1.0"


def test_rest_query_in_path() -> None:
    """A query string in the path becomes the query parameters."""
    event = generate("apigateway-rest", path="/search?q=a+b&page=2")

    assert event["path"] == "/search"
    assert event["queryStringParameters"] == {"q": "a b", "page": "2"}


def test_rest_bytes_body_is_base64() -> None:
    """A bytes body travels base64-encoded with isBase64Encoded true."""
    event = generate("apigateway-rest", method="post", body=b"\x89PNG")

    assert event["httpMethod"] == "POST"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"


def test_rest_mapping_body_is_json() -> None:
    """A mapping body is JSON text with a JSON content type."""
    event = generate("apigateway-rest", method="POST", body={"a": 1})

    assert json.loads(event["body"]) == {"a": 1}
    assert event["headers"]["Content-Type"] == "application/json"


def test_rest_stage_prefixes_context_path() -> None:
    """requestContext.path starts with the stage, but the top-level path does not."""
    event = generate("apigateway-rest", path="/items", stage="dev")

    assert event["path"] == "/items"
    assert event["requestContext"]["path"] == "/dev/items"
    assert event["requestContext"]["stage"] == "dev"


def test_rest_invalid_method() -> None:
    """An HTTP method outside the standard set is an error listing the set."""
    with pytest.raises(EventOptionError, match="invalid method 'FETCH'"):
        generate("apigateway-rest", method="FETCH")


def test_http_leaves_out_absent_fields() -> None:
    """Format 2.0 has no cookies, query, body, path parameters or stage variables keys
    when the request has none."""
    event = generate("apigateway-http", path="/health")

    for key in ("cookies", "queryStringParameters", "body", "pathParameters",
                "stageVariables"):
        assert key not in event, key
    assert event["rawQueryString"] == ""


def test_http_headers_lowercase_and_joined() -> None:
    """Format 2.0 lower-cases header names and joins repeated values with commas."""
    event = generate("apigateway-http", headers={"X-Tag": ["a", "b"]})

    assert event["headers"]["x-tag"] == "a,b"


def test_http_named_stage_in_raw_path() -> None:
    """With a named stage, rawPath and http.path start with the stage."""
    event = generate("apigateway-http", path="/items", stage="dev")

    assert event["rawPath"] == "/dev/items"
    assert event["requestContext"]["http"]["path"] == "/dev/items"


def test_http_default_route_key() -> None:
    """route_key sets both routeKey fields, e.g. to $default."""
    event = generate("apigateway-http", path="/any/thing", route_key="$default")

    assert event["routeKey"] == "$default"
    assert event["requestContext"]["routeKey"] == "$default"


def test_http_authorizer_in_request_context() -> None:
    """An authorizer mapping appears as requestContext.authorizer."""
    claims = {"jwt": {"claims": {"sub": "u1"}, "scopes": None}}
    event = generate("apigateway-http", authorizer=claims)

    assert event["requestContext"]["authorizer"] == claims


# SQS and SNS.

def test_sqs_md5_of_body() -> None:
    """md5OfBody is the MD5 of the body text."""
    record = generate("sqs", body={"n": 1})["Records"][0]

    assert record["body"] == '{"n": 1}'
    assert record["md5OfBody"] == hashlib.md5(b'{"n": 1}').hexdigest()


def test_sqs_md5_of_attributes_matches_sqs_api() -> None:
    """md5OfMessageAttributes equals what the SQS API (as moto emulates it) returns."""
    attributes = {"tenant": "acme", "count": 5, "blob": b"\x00\x01"}
    record = generate("sqs", message_attributes=attributes)["Records"][0]

    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="md5")["QueueUrl"]
        sent = client.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
            "tenant": {"DataType": "String", "StringValue": "acme"},
            "count": {"DataType": "Number", "StringValue": "5"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        })
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["messageAttributes"]["count"]["dataType"] == "Number"
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="


def test_sqs_without_attributes_has_no_attribute_md5() -> None:
    """A message without attributes has no md5OfMessageAttributes key."""
    record = generate("sqs")["Records"][0]

    assert "md5OfMessageAttributes" not in record
    assert record["messageAttributes"] == {}


def test_sqs_bodies_make_records() -> None:
    """Each item of bodies becomes one record with its own message ID."""
    records = generate("sqs", bodies=["a", "b", "c"])["Records"]

    assert [record["body"] for record in records] == ["a", "b", "c"]
    assert len({record["messageId"] for record in records}) == 3


def test_sqs_body_and_bodies_conflict() -> None:
    """body and bodies together are an error."""
    with pytest.raises(EventOptionError, match="body or bodies"):
        generate("sqs", body="a", bodies=["b"])


def test_sqs_group_id_needs_fifo_queue() -> None:
    """A message group ID on a standard queue is an error explaining FIFO names."""
    with pytest.raises(EventOptionError, match=r"ends in \.fifo"):
        generate("sqs", queue="jobs", message_group_id="g")


def test_sns_subject_null_by_default() -> None:
    """Without a subject, Subject is null, as SNS sends it."""
    notification = generate("sns")["Records"][0]["Sns"]

    assert notification["Subject"] is None


def test_sns_attribute_types() -> None:
    """SNS attributes carry the SNS data types."""
    attributes = generate("sns", message_attributes={
        "s": "x", "n": 2, "b": b"\x01", "list": ["a", "b"],
    })["Records"][0]["Sns"]["MessageAttributes"]

    assert attributes["s"] == {"Type": "String", "Value": "x"}
    assert attributes["n"] == {"Type": "Number", "Value": "2"}
    assert attributes["b"] == {"Type": "Binary", "Value": "AQ=="}
    assert attributes["list"] == {"Type": "String.Array", "Value": '["a", "b"]'}


# EventBridge.

def test_eventbridge_options() -> None:
    """source, detail_type and detail set the matching fields."""
    event = generate("eventbridge", source="app.users", detail_type="User Created",
                     detail={"id": "u1"})

    assert event["source"] == "app.users"
    assert event["detail-type"] == "User Created"
    assert event["detail"] == {"id": "u1"}


def test_eventbridge_detail_text_is_parsed() -> None:
    """detail given as JSON text becomes the object."""
    assert generate("eventbridge", detail='{"a": 1}')["detail"] == {"a": 1}


def test_eventbridge_detail_must_be_object() -> None:
    """A detail that is not a JSON object is an error."""
    with pytest.raises(EventOptionError, match="JSON object"):
        generate("eventbridge", detail=[1, 2])


def test_eventbridge_time_has_no_fraction() -> None:
    """EventBridge times have whole seconds and a Z."""
    event = generate("schedule", time="2024-05-01T12:00:00.999Z")

    assert event["time"] == "2024-05-01T12:00:00Z"


# Streams.

def test_dynamodb_insert_has_only_new_image() -> None:
    """An INSERT record has NewImage and no OldImage."""
    stream = generate("dynamodb-stream", keys={"pk": "a"}, new_image={"n": 1})["Records"][0]

    assert stream["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert "OldImage" not in stream["dynamodb"]


def test_dynamodb_keys_only_has_no_images() -> None:
    """With KEYS_ONLY, a MODIFY record has keys and no images."""
    stream = generate("dynamodb-stream", event_name="MODIFY", keys={"pk": "a"},
                      stream_view_type="KEYS_ONLY")["Records"][0]["dynamodb"]

    assert stream["Keys"] == {"pk": {"S": "a"}}
    assert "NewImage" not in stream
    assert "OldImage" not in stream


def test_dynamodb_typed_values() -> None:
    """Plain values become DynamoDB JSON: numbers as text, sets, lists, maps, null, binary."""
    image = generate("dynamodb-stream", keys={"pk": "a"}, new_image={
        "price": 9.5, "flag": True, "tags": {"x", "y"}, "nums": {2, 1},
        "list": [1, "a"], "map": {"k": None}, "raw": b"\x00",
    })["Records"][0]["dynamodb"]["NewImage"]

    assert image["price"] == {"N": "9.5"}
    assert image["flag"] == {"BOOL": True}
    assert image["tags"] == {"SS": ["x", "y"]}
    assert image["nums"] == {"NS": ["1", "2"]}
    assert image["list"] == {"L": [{"N": "1"}, {"S": "a"}]}
    assert image["map"] == {"M": {"k": {"NULL": True}}}
    assert image["raw"] == {"B": "AA=="}


def test_dynamodb_image_key_conflict() -> None:
    """An image whose key attribute differs from keys is an error."""
    with pytest.raises(EventOptionError, match="new_image has pk='b'"):
        generate("dynamodb-stream", keys={"pk": "a"}, new_image={"pk": "b"})


@pytest.mark.parametrize(("event_name", "option"), [("INSERT", "old_image"),
                                                    ("REMOVE", "new_image")])
def test_dynamodb_image_not_in_event(event_name: str, option: str) -> None:
    """An image that the event name does not carry is an error."""
    with pytest.raises(EventOptionError, match=f"no {option}"):
        generate("dynamodb-stream", event_name=event_name, **{option: {"a": 1}})


def test_dynamodb_size_grows_with_item() -> None:
    """SizeBytes counts the attributes, so a bigger item reports more bytes."""
    small = generate("dynamodb-stream", keys={"pk": "a"}, new_image={"s": "x"})
    large = generate("dynamodb-stream", keys={"pk": "a"}, new_image={"s": "x" * 100})

    assert (large["Records"][0]["dynamodb"]["SizeBytes"]
            - small["Records"][0]["dynamodb"]["SizeBytes"]) == 99


def test_kinesis_data_round_trip() -> None:
    """Kinesis data decodes from base64 to the given text or bytes."""
    text = generate("kinesis", data="héllo")["Records"][0]["kinesis"]["data"]
    raw = generate("kinesis", data=b"\x00\xff")["Records"][0]["kinesis"]["data"]

    assert base64.b64decode(text).decode() == "héllo"
    assert base64.b64decode(raw) == b"\x00\xff"


def test_kinesis_event_id_joins_shard_and_sequence() -> None:
    """eventID is the shard ID and the sequence number joined by a colon."""
    record = generate("kinesis", shard_id="shardId-000000000003")["Records"][0]

    assert record["eventID"] == f"shardId-000000000003:{record['kinesis']['sequenceNumber']}"


# S3.

def test_s3_key_is_url_encoded() -> None:
    """S3 URL-encodes the object key in the record, with + for spaces."""
    record = generate("s3", key="my photos/a&b.jpg")["Records"][0]

    assert record["s3"]["object"]["key"] == "my+photos/a%26b.jpg"


def test_s3_delete_marker_has_version() -> None:
    """A delete marker event carries a version ID and no size or eTag."""
    s3_object = generate("s3", event_name="ObjectRemoved:DeleteMarkerCreated")[
        "Records"][0]["s3"]["object"]

    assert "versionId" in s3_object
    assert "size" not in s3_object
    assert "eTag" not in s3_object


def test_s3_unsupported_event_name() -> None:
    """An event name outside the supported ones is an error listing them."""
    with pytest.raises(EventOptionError, match="ObjectCreated:Put"):
        generate("s3", event_name="ObjectTagging:Put")


# Cognito.

def test_pre_signup_has_no_sub() -> None:
    """Before sign-up the user does not exist, so the attributes have no sub."""
    event = generate("cognito-pre-signup", attributes={"email": "a@example.com"})

    assert event["request"]["userAttributes"] == {"email": "a@example.com"}


def test_cognito_trigger_source_choice() -> None:
    """trigger_source picks one of the trigger's documented sources."""
    event = generate("cognito-pre-signup", trigger_source="PreSignUp_AdminCreateUser")

    assert event["triggerSource"] == "PreSignUp_AdminCreateUser"
    with pytest.raises(EventOptionError, match="PreSignUp_SignUp"):
        generate("cognito-pre-signup", trigger_source="PostConfirmation_ConfirmSignUp")


def test_cognito_default_pool_in_region() -> None:
    """The default user pool ID starts with the Region, as AWS pool IDs do."""
    event = generate("cognito-post-confirmation", region="eu-central-1")

    assert event["userPoolId"].startswith("eu-central-1_")
    assert event["region"] == "eu-central-1"


def test_cognito_username_matches_sub_by_default() -> None:
    """Without a username, the user is named by the same UUID as its sub attribute."""
    event = generate("cognito-pre-token-generation", seed=5)

    assert event["userName"] == event["request"]["userAttributes"]["sub"]
