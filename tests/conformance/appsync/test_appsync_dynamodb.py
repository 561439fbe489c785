"""AppSync's $util.dynamodb and $util.transform helpers, with the AWS documentation's examples.

Sources:
DYNAMODB = https://docs.aws.amazon.com/appsync/latest/devguide/dynamodb-helpers-in-util-dynamodb.html
TRANSFORM = https://docs.aws.amazon.com/appsync/latest/devguide/transformation-helpers-in-utils-transform.html
"""

from __future__ import annotations

import json

import pytest

from windtunnel.services.appsync.evaluate import evaluate_template

DYNAMODB = ("https://docs.aws.amazon.com/appsync/latest/devguide/"
            "dynamodb-helpers-in-util-dynamodb.html")
TRANSFORM = ("https://docs.aws.amazon.com/appsync/latest/devguide/"
             "transformation-helpers-in-utils-transform.html")


def render_json(template: str) -> object:
    result = evaluate_template(template, {})
    assert result.error_message is None, result.error_message
    return result.json()


@pytest.mark.parametrize(("call", "expected"), [
    ('toDynamoDBJson("foo")', {"S": "foo"}),
    ("toDynamoDBJson(12345)", {"N": 12345}),
    ("toDynamoDBJson(true)", {"BOOL": True}),
    ('toDynamoDBJson(["foo", 123, {"bar": "baz"}])',
     {"L": [{"S": "foo"}, {"N": 123}, {"M": {"bar": {"S": "baz"}}}]}),
    ('toDynamoDBJson({"foo": "bar", "baz": 1234, "beep": ["boop"]})',
     {"M": {"foo": {"S": "bar"}, "baz": {"N": 1234}, "beep": {"L": [{"S": "boop"}]}}}),
    ('toStringJson("foo")', {"S": "foo"}),
    ('toStringSetJson(["foo", "bar", "baz"])', {"SS": ["foo", "bar", "baz"]}),
    ("toNumberJson(12345)", {"N": 12345}),
    ("toNumberSetJson([1, 23, 4.56])", {"NS": [1, 23, 4.56]}),
    ('toBinaryJson("foo")', {"B": "foo"}),
    ('toBinarySetJson(["foo", "bar", "baz"])', {"BS": ["foo", "bar", "baz"]}),
    ("toBooleanJson(true)", {"BOOL": True}),
    ("toNullJson()", {"NULL": None}),
    ('toListJson(["foo", 123, {"bar": "baz"}])',
     {"L": [{"S": "foo"}, {"N": 123}, {"M": {"bar": {"S": "baz"}}}]}),
    ('toMapJson({"foo": "bar", "baz": 1234, "beep": ["boop"]})',
     {"M": {"foo": {"S": "bar"}, "baz": {"N": 1234}, "beep": {"L": [{"S": "boop"}]}}}),
    ('toMapValuesJson({"foo": "bar", "baz": 1234, "beep": ["boop"]})',
     {"foo": {"S": "bar"}, "baz": {"N": 1234}, "beep": {"L": [{"S": "boop"}]}}),
])
def test_dynamodb_example(call: str, expected: object) -> None:
    """Each $util.dynamodb example of DYNAMODB gives the documented attribute value."""
    assert render_json(f"$util.dynamodb.{call}") == expected, DYNAMODB


def test_dynamodb_map_form() -> None:
    """DYNAMODB: the methods without "Json" return maps that templates can read."""
    template = '#set($v = $util.dynamodb.toDynamoDB({"a": 1}))$util.toJson($v.M.a)'
    assert render_json(template) == {"N": 1}, DYNAMODB


def test_s3_object() -> None:
    """DYNAMODB: toS3ObjectJson stores the location as a JSON string; fromS3ObjectJson reads it."""
    value = render_json('$util.dynamodb.toS3ObjectJson("foo", "bar", "baz")')
    assert isinstance(value, dict)
    assert json.loads(value["S"]) == {"s3": {"key": "foo", "bucket": "bar", "region": "baz"}}
    template = ("#set($s3 = $util.dynamodb.toS3Object('foo', 'bar', 'baz', 'beep'))"
                "$util.toJson($util.dynamodb.fromS3ObjectJson($s3.S))")
    assert render_json(template) == {"key": "foo", "bucket": "bar", "region": "baz",
                                     "version": "beep"}, DYNAMODB


def test_string_set_rejects_numbers() -> None:
    """DYNAMODB: toStringSet takes a list of strings."""
    result = evaluate_template("$util.dynamodb.toStringSetJson([1])", {})
    assert result.error_message is not None, DYNAMODB


def test_filter_expression_example() -> None:
    """TRANSFORM, toDynamoDBFilterExpression: the documentation's contains example."""
    output = render_json('$util.transform.toDynamoDBFilterExpression('
                         '{"title": {"contains": "Hello World"}})')
    assert output == {"expression": "contains(#title, :title_contains)",
                      "expressionNames": {"#title": "title"},
                      "expressionValues": {":title_contains": {"S": "Hello World"}}}, TRANSFORM


def test_condition_expression_example() -> None:
    """TRANSFORM, toDynamoDBConditionExpression: attributeExists and eq on two fields."""
    output = render_json('$util.transform.toDynamoDBConditionExpression('
                         '{"id": {"attributeExists": true}, "version": {"eq": 1}})')
    assert output == {"expression": "(attribute_exists(#id) AND (#version = :version_eq))",
                      "expressionNames": {"#id": "id", "#version": "version"},
                      "expressionValues": {":version_eq": {"N": 1}}}, TRANSFORM


def test_filter_expression_or_between() -> None:
    """TRANSFORM: or joins filters, between takes two values."""
    output = render_json('$util.transform.toDynamoDBFilterExpression({"or": ['
                         '{"age": {"between": [1, 9]}}, {"name": {"beginsWith": "a"}}]})')
    assert isinstance(output, dict)
    assert output["expression"] == ("((#age BETWEEN :age_between_0 AND :age_between_1) OR "
                                    "begins_with(#name, :name_beginsWith))"), TRANSFORM
    assert output["expressionValues"] == {":age_between_0": {"N": 1},
                                          ":age_between_1": {"N": 9},
                                          ":name_beginsWith": {"S": "a"}}, TRANSFORM


def test_subscription_filter() -> None:
    """TRANSFORM, toSubscriptionFilter: field filters become one filter group."""
    template = ('$util.toJson($util.transform.toSubscriptionFilter('
                '{"severity": {"ge": 7}, "status": {"eq": "open"}}))')
    assert render_json(template) == {"filterGroup": [{"filters": [
        {"fieldName": "severity", "operator": "ge", "value": 7},
        {"fieldName": "status", "operator": "eq", "value": "open"},
    ]}]}, TRANSFORM


def test_subscription_filter_or_and_exclusion() -> None:
    """TRANSFORM: each "or" alternative is a filter group; listed fields are left out."""
    template = ('$util.toJson($util.transform.toSubscriptionFilter('
                '{"owner": {"eq": "me"}, "or": [{"a": {"eq": 1}}, {"b": {"eq": 2}}]}, '
                '["owner"]))')
    assert render_json(template) == {"filterGroup": [
        {"filters": [{"fieldName": "a", "operator": "eq", "value": 1}]},
        {"filters": [{"fieldName": "b", "operator": "eq", "value": 2}]},
    ]}, TRANSFORM
