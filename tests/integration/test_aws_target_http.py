"""The AWS target's HTTP client signing requests for an AWS_IAM method of a served stack.

Nothing reaches AWS: the stack is loaded locally and served on 127.0.0.1. AWS_IAM methods
need a Signature Version 4 signature for execute-api, and an unsigned request gets 403
"Missing Authentication Token":
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from windtunnel import Stack

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"


SECURED_HANDLER = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["identity"])}
"""

SECURED_TEMPLATE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: ./src
  InvokePermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Function
      Action: lambda:InvokeFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: secured}
  Secured:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: secured}
  SecuredMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Secured
      HttpMethod: POST
      AuthorizationType: AWS_IAM
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Join ["", ["arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                         !GetAtt Function.Arn, "/invocations"]]
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [SecuredMethod]
    Properties: {RestApiId: !Ref Api, StageName: test}
"""


def test_http_signs_requests_for_aws_iam(tmp_path: Path) -> None:
    """http_client(sign=True) signs with the stack's credentials; the AWS_IAM method
    verifies the signature and evaluates execute-api:Invoke for that user."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(SECURED_HANDLER)
    (tmp_path / "template.yaml").write_text(SECURED_TEMPLATE)
    with Stack.local(tmp_path, stack_name="secured") as local:
        url = local.serve()
        iam = local.client("iam")
        iam.create_user(UserName="caller")
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["cloudformation:Describe*",
                                           "cloudformation:List*", "apigateway:*",
                                           "execute-api:Invoke"], "Resource": "*"}]}
        iam.put_user_policy(UserName="caller", PolicyName="caller",
                            PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="caller")["AccessKey"]
        session = boto3.session.Session(aws_access_key_id=key["AccessKeyId"],
                                        aws_secret_access_key=key["SecretAccessKey"],
                                        region_name=REGION)

        with Stack.aws("secured", region=REGION, endpoint_url=url, session=session,
                       capture=False) as stack:
            with stack.http_client(sign=True) as client:
                signed = client.post("/secured", json={"a": 1})
            with stack.http_client() as client:
                unsigned = client.post("/secured", json={"a": 1})

    assert signed.status_code == 200, signed.text
    assert signed.json()["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/caller"
    assert signed.json()["accessKey"] == key["AccessKeyId"]
    assert unsigned.status_code == 403
    assert unsigned.json() == {"message": "Missing Authentication Token"}
