"""REST API AWS integrations with SQS, SNS, DynamoDB, EventBridge, Kinesis and Step Functions.

Sources:
- Integration URIs ``arn:aws:apigateway:{region}:{subdomain.service|service}:
  path|action/{service_api}`` and the ``credentials`` role that API Gateway assumes:
  https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-request-basic-setup.html
- The role's trust policy must allow apigateway.amazonaws.com, and its policies the
  service action; a role API Gateway cannot assume is an API configuration error (500):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
- SQS through a path override ``{account}/{queue}`` with a mapped
  ``Content-Type: 'application/x-www-form-urlencoded'`` and an
  ``Action=SendMessage&MessageBody=...`` template:
  https://repost.aws/knowledge-center/api-gateway-rest-api-sqs-errors
- Kinesis actions with ``Content-Type: 'application/x-amz-json-1.1'`` and JSON templates:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-as-kinesis-proxy-export-swagger-with-extensions.html
- For AWS back ends, ``selectionPattern`` is matched against the HTTP status code:
  https://docs.aws.amazon.com/apigateway/latest/api/API_IntegrationResponse.html
- Query services respond in JSON, absent output members null, keys sorted, as recorded from
  AWS in https://github.com/aws-samples/serverless-patterns
  (``cdk-apigw-markerplace-metering-records`` for SQS, ``apigw-websocket-api-sns`` for SNS).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from windtunnel import Stack

DEFINITION = json.dumps({
    "StartAt": "Greet",
    "States": {"Greet": {"Type": "Pass", "Parameters": {"greeting.$": "$.name"},
                         "End": True}},
})

# The path override of the queue: /{account}/{queue name}.
QUEUE_URI = ('!Sub "arn:aws:apigateway:${AWS::Region}:sqs:path/${AWS::AccountId}/'
             '${Queue.QueueName}"')

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: sns.amazonaws.com}, Action: sqs:SendMessage,
             Resource: !GetAtt Queue.Arn, Condition: {ArnEquals: {aws:SourceArn: !Ref Topic}}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
  Stream:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: orders-bus}
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineType: EXPRESS
      RoleArn: !GetAtt MachineRole.Arn
      DefinitionString: '@definition@'
  MachineRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: states.amazonaws.com}, Action: sts:AssumeRole}
  GatewayRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: apigateway.amazonaws.com},
             Action: sts:AssumeRole}
      Policies:
        - PolicyName: services
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              # The emulation's IAM check reads SQS requests in the JSON protocol only,
              # so a query request names the queue as "*"; see test_sqs_queue_scoped_policy.
              - {Effect: Allow, Action: sqs:SendMessage, Resource: "*"}
              - {Effect: Allow, Action: sns:Publish, Resource: !Ref Topic}
              - {Effect: Allow, Action: ["dynamodb:PutItem", "dynamodb:GetItem",
                                         "dynamodb:Query"], Resource: !GetAtt Table.Arn}
              - {Effect: Allow, Action: kinesis:PutRecord, Resource: !GetAtt Stream.Arn}
              - {Effect: Allow, Action: events:PutEvents, Resource: !GetAtt Bus.Arn}
              - {Effect: Allow, Action: ["states:StartExecution",
                                         "states:StartSyncExecution"],
                 Resource: !Ref Machine}
  WeakRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: apigateway.amazonaws.com},
             Action: sts:AssumeRole}
  QueueScopedRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: apigateway.amazonaws.com},
             Action: sts:AssumeRole}
      Policies:
        - PolicyName: queue
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt Queue.Arn}
  LambdaOnlyRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: everything
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: "*", Resource: "*"}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      DefinitionBody:
        x-method-responses: &method_responses
          "200": {description: done}
          "400": {description: failed}
        openapi: "3.0.1"
        info: {title: services, version: "1"}
        paths:
          /sqs:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: @queue_uri@
                requestParameters:
                  integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
                requestTemplates:
                  application/json: "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                passthroughBehavior: never
                responses:
                  default: {statusCode: "200"}
          /sqs-action:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:sqs:action/SendMessage"
                requestParameters:
                  integration.request.querystring.QueueUrl: !Sub "'${Queue}'"
                  integration.request.querystring.MessageBody: method.request.querystring.text
                requestTemplates:
                  application/json: ""
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: >-
                        {"id": "$input.path('$.SendMessageResponse.SendMessageResult.MessageId')"}
          /sqs-weak:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt WeakRole.Arn
                uri: @queue_uri@
                requestParameters:
                  integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
                requestTemplates:
                  application/json: "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                responses:
                  default: {statusCode: "200"}
                  "4\\\\d{2}":
                    statusCode: "400"
                    responseTemplates:
                      application/json: '{"failed": true, "error": $input.json(''$.Error'')}'
          /sqs-weak-default:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt WeakRole.Arn
                uri: @queue_uri@
                requestParameters:
                  integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
                requestTemplates:
                  application/json: "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                responses:
                  default: {statusCode: "200"}
          /sqs-scoped:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt QueueScopedRole.Arn
                uri: @queue_uri@
                requestParameters:
                  integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
                requestTemplates:
                  application/json: "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                responses:
                  default: {statusCode: "200"}
          /sqs-untrusted:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt LambdaOnlyRole.Arn
                uri: @queue_uri@
                requestParameters:
                  integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
                requestTemplates:
                  application/json: "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                responses:
                  default: {statusCode: "200"}
          /sns:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:sns:action/Publish"
                requestParameters:
                  integration.request.querystring.TopicArn: !Sub "'${Topic}'"
                  integration.request.querystring.Message: method.request.body.message
                responses:
                  default: {statusCode: "200"}
          /items:
            put:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:dynamodb:action/PutItem"
                requestTemplates:
                  application/json: !Sub >-
                    {"TableName": "${Table}", "Item": {"pk": {"S": "$input.path('$.pk')"},
                    "sk": {"S": "$input.path('$.sk')"}, "note": {"S": "$input.path('$.note')"}}}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: '{"stored": true}'
                  "4\\\\d{2}":
                    statusCode: "400"
          /items/{pk}:
            get:
              responses: *method_responses
              parameters:
                - {name: pk, in: path, required: true, schema: {type: string}}
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:dynamodb:action/Query"
                requestTemplates:
                  application/json: !Sub >-
                    {"TableName": "${Table}", "KeyConditionExpression": "pk = :pk",
                    "ExpressionAttributeValues": {":pk": {"S": "$input.params('pk')"}}}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: >-
                        #set($items = $input.path('$.Items'))
                        [#foreach($item in $items){"sk": "$item.sk.S",
                        "note": "$item.note.S"}#if($foreach.hasNext),#end#end]
          /items/{pk}/{sk}:
            get:
              responses: *method_responses
              parameters:
                - {name: pk, in: path, required: true, schema: {type: string}}
                - {name: sk, in: path, required: true, schema: {type: string}}
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:dynamodb:action/GetItem"
                requestTemplates:
                  application/json: !Sub >-
                    {"TableName": "${Table}", "Key": {"pk": {"S": "$input.params('pk')"},
                    "sk": {"S": "$input.params('sk')"}}}
                responses:
                  default: {statusCode: "200"}
          /records:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:kinesis:action/PutRecord"
                requestParameters:
                  integration.request.header.Content-Type: "'application/x-amz-json-1.1'"
                requestTemplates:
                  application/json: !Sub >-
                    {"StreamName": "${Stream}", "Data": "$util.base64Encode($input.json('$.data'))",
                    "PartitionKey": "$input.path('$.key')"}
                responses:
                  default: {statusCode: "200"}
          /events:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:events:action/PutEvents"
                requestTemplates:
                  application/json: >-
                    {"Entries": [{"Source": "shop.api", "DetailType": "OrderPlaced",
                    "EventBusName": "orders-bus", "Detail": "$util.escapeJavaScript($input.body)"}]}
                responses:
                  default: {statusCode: "200"}
          /executions:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:states:action/StartExecution"
                requestTemplates:
                  application/json: !Sub >-
                    {"stateMachineArn": "${Machine}",
                    "input": "$util.escapeJavaScript($input.body)"}
                responses:
                  default: {statusCode: "200"}
          /sync:
            post:
              responses: *method_responses
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt GatewayRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:states:action/StartSyncExecution"
                requestTemplates:
                  application/json: !Sub >-
                    {"stateMachineArn": "${Machine}",
                    "input": "$util.escapeJavaScript($input.body)"}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: >-
                        {"status": "$input.path('$.status')",
                        "output": $input.path('$.output')}
"""


@dataclass
class Served:
    """The stack and an HTTP client for its API."""

    stack: Any
    http: httpx.Client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("service-integrations")
    template = TEMPLATE.replace("@definition@", DEFINITION).replace("@queue_uri@", QUEUE_URI)
    (root / "template.yaml").write_text(template)
    with Stack.local(root, stack_name="service-integrations") as stack:
        yield Served(stack, stack.http)


@pytest.fixture(autouse=True)
def fresh_state(served: Served) -> Iterator[None]:
    yield
    served.stack.reset()


def _queue_messages(stack: Any) -> list[str]:
    sqs = stack.client("sqs")
    url = stack.physical_id("Queue")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [message["Body"] for message in messages]


def test_sqs_path_override_sends_form(served: Served) -> None:
    """A path override with an Action=SendMessage form body sends the message, and the
    response is SQS's response in JSON with absent members null."""
    response = served.http.post("/sqs", content=b'{"order": 7}',
                                headers={"Content-Type": "application/json"})

    assert response.status_code == 200
    document = response.json()
    result = document["SendMessageResponse"]["SendMessageResult"]
    assert result["MD5OfMessageAttributes"] is None
    assert result["SequenceNumber"] is None
    assert len(result["MessageId"]) == 36
    assert "RequestId" in document["SendMessageResponse"]["ResponseMetadata"]
    assert _queue_messages(served.stack) == ['{"order": 7}']


def test_sqs_response_keys_sorted(served: Served) -> None:
    """AWS renders the JSON of a query response with its keys in alphabetical order."""
    response = served.http.post("/sqs", json={"n": 1})

    outer = response.json()["SendMessageResponse"]
    assert list(outer) == ["ResponseMetadata", "SendMessageResult"]
    result = list(outer["SendMessageResult"])
    assert result == sorted(result)


def test_sqs_action_uri_query_parameters(served: Served) -> None:
    """``sqs:action/SendMessage`` sends Action and the mapped query string parameters, and
    the response template reads the message ID from the JSON response."""
    response = served.http.post("/sqs-action", params={"text": "from query"}, json={})

    assert response.status_code == 200
    assert len(response.json()["id"]) == 36
    assert _queue_messages(served.stack) == ["from query"]


def test_sqs_denied_selected_by_status(served: Served) -> None:
    """A role without sqs:SendMessage gets SQS's 403 AccessDenied, which the ``4\\d{2}``
    selection pattern maps to 400."""
    response = served.http.post("/sqs-weak", json={"order": 1})

    assert response.status_code == 400
    body = response.json()
    assert body["failed"] is True
    assert body["error"]["Code"] == "AccessDenied"
    assert _queue_messages(served.stack) == []


def test_sqs_queue_scoped_policy(served: Served) -> None:
    """A role allowed sqs:SendMessage on the queue's ARN only may send to it."""
    response = served.http.post("/sqs-scoped", json={"order": 2})

    assert response.status_code == 200
    assert "SendMessageResponse" in response.json()


def test_sqs_denied_default_response(served: Served) -> None:
    """With only a default integration response, SQS's error is returned with the default
    response's status code, 200."""
    response = served.http.post("/sqs-weak-default", json={"order": 1})

    assert response.status_code == 200
    assert response.json()["Error"]["Code"] == "AccessDenied"
    assert _queue_messages(served.stack) == []


def test_untrusted_role_is_500(served: Served) -> None:
    """A role whose trust policy does not name apigateway.amazonaws.com cannot be assumed:
    500 Internal server error, an API configuration error."""
    response = served.http.post("/sqs-untrusted", json={"order": 1})

    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}
    assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    assert _queue_messages(served.stack) == []


def test_sns_publish_action(served: Served) -> None:
    """``sns:action/Publish`` with TopicArn and Message from the query string publishes;
    the JSON response has the null SequenceNumber of a standard topic."""
    sqs = served.stack.client("sqs")
    sns = served.stack.client("sns")
    queue_arn = sqs.get_queue_attributes(QueueUrl=served.stack.physical_id("Queue"),
                                         AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=served.stack.physical_id("Topic"), Protocol="sqs",
                  Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

    response = served.http.post("/sns", json={"message": "hello topic"})

    assert response.status_code == 200
    result = response.json()["PublishResponse"]["PublishResult"]
    assert result["SequenceNumber"] is None
    assert len(result["MessageId"]) == 36
    served.stack.settle()
    assert _queue_messages(served.stack) == ["hello topic"]


def test_dynamodb_put_then_get(served: Served) -> None:
    """``dynamodb:action/PutItem`` and ``GetItem`` send X-Amz-Target JSON requests; the
    GetItem response is DynamoDB's JSON."""
    stored = served.http.put("/items", json={"pk": "u1", "sk": "a", "note": "first"})
    fetched = served.http.get("/items/u1/a")

    assert stored.status_code == 200
    assert stored.json() == {"stored": True}
    assert fetched.status_code == 200
    assert fetched.json() == {"Item": {"pk": {"S": "u1"}, "sk": {"S": "a"},
                                       "note": {"S": "first"}}}


def test_dynamodb_query_template(served: Served) -> None:
    """``dynamodb:action/Query`` returns the items, which a response template reshapes."""
    served.http.put("/items", json={"pk": "u2", "sk": "a", "note": "one"})
    served.http.put("/items", json={"pk": "u2", "sk": "b", "note": "two"})

    response = served.http.get("/items/u2")

    assert response.status_code == 200
    assert response.json() == [{"sk": "a", "note": "one"}, {"sk": "b", "note": "two"}]


def test_dynamodb_error_status_selects(served: Served) -> None:
    """A DynamoDB validation error (400) selects the ``4\\d{2}`` integration response, whose
    passthrough body is DynamoDB's error."""
    response = served.http.put("/items", json={"pk": "", "sk": "a", "note": "x"})

    assert response.status_code == 400
    assert "ValidationException" in response.json()["__type"]


def test_kinesis_put_record(served: Served) -> None:
    """``kinesis:action/PutRecord`` stores the base64 data that the template encodes."""
    response = served.http.post("/records", json={"key": "k1", "data": {"n": 5}})

    assert response.status_code == 200
    assert response.json()["ShardId"].startswith("shardId-")
    kinesis = served.stack.client("kinesis")
    stream = served.stack.physical_id("Stream")
    shard = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [json.loads(record["Data"]) for record in records] == [{"n": 5}]
    assert records[0]["PartitionKey"] == "k1"


def test_eventbridge_put_events(served: Served) -> None:
    """``events:action/PutEvents`` returns EventBridge's JSON with the entry's event ID."""
    response = served.http.post("/events", json={"order": 9})

    assert response.status_code == 200
    body = response.json()
    assert body["FailedEntryCount"] == 0
    assert "EventId" in body["Entries"][0]


def test_start_execution(served: Served) -> None:
    """``states:action/StartExecution`` starts an execution; the response contains its ARN."""
    response = served.http.post("/executions", json={"name": "Ada"})

    assert response.status_code == 200
    arn = response.json()["executionArn"]
    assert ":execution:" in arn or ":express:" in arn


def test_start_sync_execution(served: Served) -> None:
    """``states:action/StartSyncExecution`` waits for the Express execution; the template
    reads its status and output."""
    response = served.http.post("/sync", json={"name": "Ada"})

    assert response.status_code == 200
    assert response.json() == {"status": "SUCCEEDED", "output": {"greeting": "Ada"}}

