"""An order intake API on direct service integrations, called through the local endpoint.

POST /orders sends the order to SQS through a path override; a function consumes the queue
and stores the order in DynamoDB; GET /orders/{id} reads it back with a DynamoDB GetItem
integration, and POST /quotes runs an Express state machine with StartSyncExecution.
Sources:
- AWS service integrations, their URIs and the ``credentials`` role:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-request-basic-setup.html
- The SQS path override with a form body:
  https://repost.aws/knowledge-center/api-gateway-rest-api-sqs-errors
- Action URIs such as ``states:action/StartSyncExecution``:
  https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html
- ``selectionPattern`` matched against the service's HTTP status code:
  https://docs.aws.amazon.com/apigateway/latest/api/API_IntegrationResponse.html
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

HANDLERS = '''
import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])

def store(event, context):
    for record in event["Records"]:
        order = json.loads(record["body"])
        table.put_item(Item={"id": order["id"], "status": "RECEIVED",
                             "item": order["item"]})
'''

QUOTE_DEFINITION = json.dumps({
    "StartAt": "Price",
    "States": {
        "Price": {"Type": "Choice",
                  "Choices": [{"Variable": "$.quantity", "NumericGreaterThan": 10,
                               "Next": "Bulk"}],
                  "Default": "Retail"},
        "Bulk": {"Type": "Pass", "Result": {"unitPrice": 8}, "End": True},
        "Retail": {"Type": "Pass", "Result": {"unitPrice": 10}, "End": True},
    },
})

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::SQS::Queue
  Table:
    Type: AWS::Serverless::SimpleTable
    Properties:
      PrimaryKey: {Name: id, Type: String}
  Store:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.store
      Environment: {Variables: {TABLE: !Ref Table}}
      Policies: [{DynamoDBCrudPolicy: {TableName: !Ref Table}}]
      Events:
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt Orders.Arn}
  Quotes:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition: @definition@
  ApiRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: apigateway.amazonaws.com},
             Action: sts:AssumeRole}
      Policies:
        - PolicyName: intake
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: sqs:SendMessage, Resource: "*"}
              - {Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt Table.Arn}
              - {Effect: Allow, Action: states:StartSyncExecution, Resource: !Ref Quotes}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: intake, version: "1"}
        paths:
          /orders:
            post:
              responses: {"202": {description: accepted}}
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt ApiRole.Arn
                uri: !Sub
                  - "arn:aws:apigateway:${AWS::Region}:sqs:path/${AWS::AccountId}/${Name}"
                  - {Name: !GetAtt Orders.QueueName}
                requestParameters:
                  integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
                requestTemplates:
                  application/json: "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                passthroughBehavior: never
                responses:
                  default:
                    statusCode: "202"
                    responseTemplates:
                      application/json: >-
                        #set($result = $input.path('$.SendMessageResponse.SendMessageResult'))
                        {"messageId": "$result.MessageId"}
          /orders/{id}:
            get:
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}}
              responses: {"200": {description: found}, "500": {description: failed}}
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt ApiRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:dynamodb:action/GetItem"
                requestTemplates:
                  application/json: !Sub >-
                    {"TableName": "${Table}", "Key": {"id": {"S": "$input.params('id')"}}}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: >-
                        {"id": "$input.path('$.Item.id.S')",
                        "status": "$input.path('$.Item.status.S')",
                        "item": "$input.path('$.Item.item.S')"}
                  "4\\\\d{2}":
                    statusCode: "500"
          /quotes:
            post:
              responses: {"200": {description: quoted}}
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt ApiRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:states:action/StartSyncExecution"
                requestTemplates:
                  application/json: !Sub >-
                    {"stateMachineArn": "${Quotes}", "input": "$util.escapeJavaScript($input.body)"}
                responses:
                  default:
                    statusCode: "200"
                    responseTemplates:
                      application/json: "$input.path('$.output')"
"""


@dataclass
class Intake:
    """The stack and a client of its API through the local endpoint."""

    stack: Any
    api: httpx.Client


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    root: Path = tmp_path_factory.mktemp("intake")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLERS)
    (root / "template.yaml").write_text(TEMPLATE.replace("@definition@", QUOTE_DEFINITION))
    with Stack.local(root, stack_name="intake") as stack:
        endpoint = stack.serve(port=0)
        api_id = stack.physical_id("Api")
        with httpx.Client(base_url=f"{endpoint}/_aws/execute-api/{api_id}/dev") as client:
            yield Intake(stack, client)


def test_order_flows_to_table(intake: Intake) -> None:
    """An order posted to the API reaches SQS, the consumer stores it, and the DynamoDB
    integration reads it back."""
    accepted = intake.api.post("/orders", json={"id": "o-1", "item": "kettle"})

    assert accepted.status_code == 202
    assert len(accepted.json()["messageId"]) == 36
    intake.stack.settle()
    found = intake.api.get("/orders/o-1")
    assert found.status_code == 200
    assert found.json() == {"id": "o-1", "status": "RECEIVED", "item": "kettle"}


def test_unknown_order_is_empty(intake: Intake) -> None:
    """GetItem of a missing key returns 200 with no Item, so the template renders empty
    strings."""
    response = intake.api.get("/orders/missing")

    assert response.status_code == 200
    assert response.json() == {"id": "", "status": "", "item": ""}


def test_quote_runs_synchronously(intake: Intake) -> None:
    """StartSyncExecution returns the Express execution's output as a JSON string, which
    the response template writes out as the body."""
    bulk = intake.api.post("/quotes", json={"quantity": 12})
    retail = intake.api.post("/quotes", json={"quantity": 1})

    assert bulk.status_code == 200
    assert bulk.json() == {"unitPrice": 8}
    assert retail.json() == {"unitPrice": 10}
