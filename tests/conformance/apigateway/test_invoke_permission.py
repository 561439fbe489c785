"""API Gateway invokes a Lambda integration only when the function's policy allows it.

Without integration credentials, the function's resource-based policy must allow
``apigateway.amazonaws.com`` to call ``lambda:InvokeFunction``, usually with a
``SourceArn`` of the API; otherwise the request fails with 500 "Internal server error"
(the execution log says "Invalid permissions on Lambda function"). With credentials, the
role's policies decide instead. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html
https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html#apigateway-permissions
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

from pathlib import Path

import pytest

from windtunnel import Stack

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ran'}\n"

TEMPLATE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  GatewayRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: apigateway.amazonaws.com},
             Action: sts:AssumeRole}
      Policies:
        - PolicyName: invoke
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: lambda:InvokeFunction, Resource: "%(role_resource)s"}
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: ./src
%(permission)s
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: permissions}
  Items:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: items}
  GetItems:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Items
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
%(credentials)s
        Uri: !Join ["", ["arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                         !GetAtt Function.Arn, "/invocations"]]
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [GetItems]
    Properties: {RestApiId: !Ref Api, StageName: test}
"""


def _permission(source_arn: str) -> str:
    return f"""  InvokePermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Function
      Action: lambda:InvokeFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub "{source_arn}"
"""


API_ARN = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}"


@pytest.mark.parametrize(("permission", "credentials", "role_resource", "status"), [
    pytest.param(_permission(API_ARN + "/*"), "", "*", 200, id="permission-for-api"),
    pytest.param(_permission(API_ARN + "/*/GET/items"), "", "*", 200,
                 id="permission-for-method"),
    pytest.param("", "", "*", 500, id="no-permission"),
    pytest.param(_permission(API_ARN + "/*/POST/items"), "", "*", 500,
                 id="permission-for-other-method"),
    pytest.param("", "        Credentials: !GetAtt GatewayRole.Arn", "*", 200,
                 id="credentials-allow"),
    pytest.param("", "        Credentials: !GetAtt GatewayRole.Arn",
                 "arn:aws:lambda:us-east-1:123456789012:function:other", 500,
                 id="credentials-for-other-function"),
])
def test_gateway_needs_permission(tmp_path: Path, permission: str, credentials: str,
                                  role_resource: str, status: int) -> None:
    """The request runs the function only when the policy in force allows API Gateway."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE % {
        "permission": permission, "credentials": credentials,
        "role_resource": role_resource})

    with Stack.local(tmp_path, stack_name="permissions") as stack:
        response = stack.http.get("/items")
        invocations = stack.invocations

    assert response.status_code == status
    if status == 500:
        assert response.json() == {"message": "Internal server error"}
        assert invocations == []
    else:
        assert response.text == "ran"


def test_iam_off_skips_permission(tmp_path: Path) -> None:
    """With IAM off, API Gateway invokes a function that has no permission for it."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE % {
        "permission": "", "credentials": "", "role_resource": "*"})

    with Stack.local(tmp_path, stack_name="permissions", iam="off") as stack:
        response = stack.http.get("/items")

    assert response.status_code == 200
