"""AppSync data sources through GraphQL: DynamoDB and Lambda, called as the service role.

Sources:
- DDB = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-dynamodb.html
  (GetItem, PutItem, Query, BatchGetItem, TransactWriteItems documents; typed values in,
  plain values out; Query returns ``items``, ``nextToken``, ``scannedCount``; BatchGetItem
  lists results by table in the order of the keys, with null for a missing item)
- CONDITION = https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-resolver-mapping-template-reference-dynamodb-condition-expressions.html
  (a failed condition fails the field with DynamoDB:ConditionalCheckFailedException, unless
  the current item already equals the requested one)
- LAMBDA = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-lambda.html
  (the function receives the ``payload``; its return value is ``$ctx.result``)
- ROLE = https://docs.aws.amazon.com/appsync/latest/devguide/attaching-a-data-source.html
  (AppSync calls the data source with the permissions of its service role)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.services.appsync.dataplane import GraphqlPlane
from windtunnel.stack.graphql import StackGraphql

DDB = ("https://docs.aws.amazon.com/appsync/latest/devguide/"
       "resolver-mapping-template-reference-dynamodb.html")
CONDITION = ("https://docs.aws.amazon.com/appsync/latest/devguide/"
             "aws-appsync-resolver-mapping-template-reference-dynamodb-condition-expressions.html")
LAMBDA = ("https://docs.aws.amazon.com/appsync/latest/devguide/"
          "resolver-mapping-template-reference-lambda.html")
ROLE = "https://docs.aws.amazon.com/appsync/latest/devguide/attaching-a-data-source.html"

SCHEMA = """
type Note { owner: String! id: String! text: String count: Int }
type Page { items: [Note] scannedCount: Int }
type Query {
  note(owner: String!, id: String!): Note
  notes(owner: String!): Page
  pair(first: String!, second: String!): [Note]
  greet(name: String!): String
  crash: String
}
type Mutation {
  add(owner: String!, id: String!, text: String, count: Int): Note
  remove(owner: String!, id: String!): Note
  both(owner: String!): [String]
}
schema { query: Query mutation: Mutation }
"""

HANDLER = """
def handler(event, context):
    if event.get("crash"):
        raise ValueError("the function failed")
    return "Hello, " + event["name"]
"""

KEY = ('"key": {"owner": $util.dynamodb.toDynamoDBJson($ctx.args.owner), '
       '"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}')
TEMPLATES = {
    ("Query", "note"): '{"version": "2018-05-29", "operation": "GetItem", ' + KEY + "}",
    ("Query", "notes"): '{"version": "2018-05-29", "operation": "Query", "query": '
                        '{"expression": "#o = :o", "expressionNames": {"#o": "owner"}, '
                        '"expressionValues": {":o": $util.dynamodb.toDynamoDBJson('
                        '$ctx.args.owner)}}}',
    ("Query", "pair"): '{"version": "2018-05-29", "operation": "BatchGetItem", "tables": '
                       '{"${Notes}": {"keys": ['
                       '{"owner": {"S": "ann"}, "id": $util.dynamodb.toDynamoDBJson('
                       '$ctx.args.first)}, {"owner": {"S": "ann"}, "id": '
                       '$util.dynamodb.toDynamoDBJson($ctx.args.second)}]}}}',
    ("Mutation", "add"): '{"version": "2018-05-29", "operation": "PutItem", ' + KEY + ", "
                         '"attributeValues": $util.dynamodb.toMapValuesJson({"text": '
                         '$ctx.args.text, "count": $ctx.args.count}), "condition": '
                         '{"expression": "attribute_not_exists(id)"}}',
    ("Mutation", "remove"): '{"version": "2018-05-29", "operation": "DeleteItem", ' + KEY
                            + "}",
    ("Mutation", "both"): '{"version": "2018-05-29", "operation": "TransactWriteItems", '
                          '"transactItems": [{"table": "${Notes}", "operation": "PutItem",'
                          ' "key": {"owner": $util.dynamodb.toDynamoDBJson($ctx.args.owner), '
                          '"id": {"S": "t1"}}}, {"table": "${Notes}", "operation": '
                          '"PutItem", "key": {"owner": $util.dynamodb.toDynamoDBJson('
                          '$ctx.args.owner), "id": {"S": "t2"}}}]}',
}
RESPONSES = {("Query", "pair"): '$util.toJson($ctx.result.data["${Notes}"])',
             ("Mutation", "both"): '#set($ids = [])#foreach($key in $ctx.result.keys)'
                                   '$util.qr($ids.add($key.id))#end$util.toJson($ids)'}
CHECK_ERROR = "#if($ctx.error)$util.error($ctx.error.message, $ctx.error.type)#end"


def _template() -> dict[str, Any]:
    api = {"Fn::GetAtt": "Api.ApiId"}
    resources: dict[str, Any] = {
        "Api": {"Type": "AWS::AppSync::GraphQLApi",
                "Properties": {"Name": "notes", "AuthenticationType": "API_KEY"}},
        "Key": {"Type": "AWS::AppSync::ApiKey", "Properties": {"ApiId": api}},
        "Schema": {"Type": "AWS::AppSync::GraphQLSchema",
                   "Properties": {"ApiId": api, "Definition": SCHEMA}},
        "Notes": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "owner", "AttributeType": "S"},
                                     {"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"},
                          {"AttributeName": "id", "KeyType": "RANGE"}]}},
        # The role may read and write items but not delete them.
        "NotesRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "appsync.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "notes", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                               "dynamodb:BatchGetItem"],
                    "Resource": {"Fn::GetAtt": "Notes.Arn"}}]}}]}},
        "NotesSource": {"Type": "AWS::AppSync::DataSource", "Properties": {
            "ApiId": api, "Name": "notes", "Type": "AMAZON_DYNAMODB",
            "ServiceRoleArn": {"Fn::GetAtt": "NotesRole.Arn"},
            "DynamoDBConfig": {"TableName": {"Ref": "Notes"}, "AwsRegion": "us-east-1"}}},
        "GreetRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "appsync.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "invoke", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "lambda:InvokeFunction",
                    "Resource": {"Fn::GetAtt": "Greet.Arn"}}]}}]}},
        "GreetFunctionRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}}},
        "Greet": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler",
            "Role": {"Fn::GetAtt": "GreetFunctionRole.Arn"},
            "Code": {"ZipFile": HANDLER}}},
        "GreetSource": {"Type": "AWS::AppSync::DataSource", "Properties": {
            "ApiId": api, "Name": "greet", "Type": "AWS_LAMBDA",
            "ServiceRoleArn": {"Fn::GetAtt": "GreetRole.Arn"},
            "LambdaConfig": {"LambdaFunctionArn": {"Fn::GetAtt": "Greet.Arn"}}}},
    }
    for (type_name, field), request in TEMPLATES.items():
        resources[f"{type_name}{field.title()}"] = {
            "Type": "AWS::AppSync::Resolver", "DependsOn": ["Schema", "NotesSource"],
            "Properties": {"ApiId": api, "TypeName": type_name, "FieldName": field,
                           "DataSourceName": "notes",
                           "RequestMappingTemplate": {"Fn::Sub": request},
                           "ResponseMappingTemplate": {"Fn::Sub": CHECK_ERROR + RESPONSES.get(
                               (type_name, field), "$util.toJson($ctx.result)")}}}
    resources["QueryGreet"] = {
        "Type": "AWS::AppSync::Resolver", "DependsOn": ["Schema", "GreetSource"],
        "Properties": {"ApiId": api, "TypeName": "Query", "FieldName": "greet",
                       "DataSourceName": "greet",
                       "RequestMappingTemplate": '{"version": "2018-05-29", "operation": '
                                                 '"Invoke", "payload": {"name": '
                                                 '$util.toJson($ctx.args.name)}}',
                       "ResponseMappingTemplate": "$util.toJson($ctx.result)"}}
    # A direct Lambda resolver: no templates.
    resources["QueryCrash"] = {
        "Type": "AWS::AppSync::Resolver", "DependsOn": ["Schema", "GreetSource"],
        "Properties": {"ApiId": api, "TypeName": "Query", "FieldName": "crash",
                       "DataSourceName": "greet"}}
    return {"Resources": resources,
            "Outputs": {"Key": {"Value": {"Fn::GetAtt": "Key.ApiKey"}},
                        "Table": {"Value": {"Ref": "Notes"}}}}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("sources")
    (root / "template.json").write_text(json.dumps(_template()))
    with Stack.local(root / "template.json", stack_name="sources") as stack:
        environment = stack.environment
        environment.cloud.register_data_plane(
            GraphqlPlane.plane, GraphqlPlane(environment.cloud, now=environment.clock.now))
        yield stack


@pytest.fixture
def stack(loaded: EmulatedStack) -> EmulatedStack:
    loaded.reset()
    return loaded


def query(stack: EmulatedStack, text: str) -> dict[str, Any]:
    response = StackGraphql(stack)(text, headers={"x-api-key": stack.outputs["Key"]})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def put(stack: EmulatedStack, owner: str, id_: str, text: str) -> None:
    stack.client("dynamodb").put_item(TableName=stack.outputs["Table"], Item={
        "owner": {"S": owner}, "id": {"S": id_}, "text": {"S": text}, "count": {"N": "2"}})


def test_get_item_returns_plain_values(stack: EmulatedStack) -> None:
    """DDB: GetItem's item reaches the response template as plain JSON (count is a number)."""
    put(stack, "ann", "n1", "first")
    body = query(stack, '{ note(owner: "ann", id: "n1") { id text count } }')
    assert body == {"data": {"note": {"id": "n1", "text": "first", "count": 2}}}, DDB


def test_get_item_of_missing_key_is_null(stack: EmulatedStack) -> None:
    """DDB: GetItem of a key with no item gives a null result."""
    assert query(stack, '{ note(owner: "ann", id: "none") { id } }') == {
        "data": {"note": None}}, DDB


def test_put_item_writes_the_item(stack: EmulatedStack) -> None:
    """DDB: PutItem writes key and attributeValues and returns the item."""
    body = query(stack, 'mutation { add(owner: "bo", id: "n2", text: "new", count: 5) '
                        '{ owner id text count } }')
    assert body == {"data": {"add": {"owner": "bo", "id": "n2", "text": "new",
                                     "count": 5}}}, DDB
    stored = stack.client("dynamodb").get_item(
        TableName=stack.outputs["Table"], Key={"owner": {"S": "bo"}, "id": {"S": "n2"}})
    assert stored["Item"]["count"] == {"N": "5"}, DDB


def test_failed_condition_is_reported(stack: EmulatedStack) -> None:
    """CONDITION: a different existing item fails with ConditionalCheckFailedException."""
    put(stack, "ann", "n3", "old")
    body = query(stack, 'mutation { add(owner: "ann", id: "n3", text: "new", count: 1) '
                        '{ id } }')
    assert body["data"] == {"add": None}, CONDITION
    [error] = body["errors"]
    assert error["errorType"] == "DynamoDB:ConditionalCheckFailedException", CONDITION
    assert error["message"].startswith("The conditional request failed"), CONDITION


def test_condition_met_by_equal_item_succeeds(stack: EmulatedStack) -> None:
    """CONDITION: a failed condition succeeds when the item already is the requested one."""
    mutation = 'mutation { add(owner: "cy", id: "n4", text: "same", count: 1) { id text } }'
    query(stack, mutation)
    assert query(stack, mutation) == {"data": {"add": {"id": "n4", "text": "same"}}}, \
        CONDITION


def test_query_returns_items_and_count(stack: EmulatedStack) -> None:
    """DDB: Query returns items and scannedCount (nextToken is null on the last page)."""
    put(stack, "dee", "a", "one")
    put(stack, "dee", "b", "two")
    body = query(stack, '{ notes(owner: "dee") { items { id } scannedCount } }')
    assert body == {"data": {"notes": {"items": [{"id": "a"}, {"id": "b"}],
                                       "scannedCount": 2}}}, DDB


def test_batch_get_keeps_key_order(stack: EmulatedStack) -> None:
    """DDB: BatchGetItem lists items in key order, with null for a missing one."""
    put(stack, "ann", "x", "ex")
    body = query(stack, '{ pair(first: "missing", second: "x") { id } }')
    assert body == {"data": {"pair": [None, {"id": "x"}]}}, DDB


def test_transact_write_returns_keys(stack: EmulatedStack) -> None:
    """DDB: TransactWriteItems writes every item and returns their keys in order."""
    body = query(stack, 'mutation { both(owner: "eve") }')
    assert body == {"data": {"both": ["t1", "t2"]}}, DDB


def test_service_role_limits_the_data_source(stack: EmulatedStack) -> None:
    """ROLE: DeleteItem, which the role does not allow, fails with the DynamoDB error."""
    put(stack, "ann", "keep", "kept")
    body = query(stack, 'mutation { remove(owner: "ann", id: "keep") { id } }')
    assert body["data"] == {"remove": None}, ROLE
    [error] = body["errors"]
    assert error["errorType"] == "DynamoDB:AccessDeniedException", ROLE
    assert "dynamodb:DeleteItem" in error["message"], ROLE


def test_lambda_receives_the_payload(stack: EmulatedStack) -> None:
    """LAMBDA: the function's event is the payload and its result the field's value."""
    assert query(stack, '{ greet(name: "Ann") }') == {"data": {"greet": "Hello, Ann"}}, LAMBDA


def test_direct_lambda_error_fails_the_field(stack: EmulatedStack) -> None:
    """LAMBDA: a direct Lambda resolver's function error fails the field with its message."""
    body = query(stack, "{ crash }")
    assert body["data"] == {"crash": None}, LAMBDA
    [error] = body["errors"]
    assert error["errorType"] == "Lambda:Unhandled", LAMBDA
