"""What REST API methods require before their integration runs.

Sources:
- Request validation and its 400 responses:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
- Gateway response types (BAD_REQUEST_PARAMETERS, BAD_REQUEST_BODY):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack

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
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: ./src
  InvokePermission:
    # API Gateway invokes the function only when its resource policy allows it.
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Function
      Action: lambda:InvokeFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: validated}
  Validator:
    Type: AWS::ApiGateway::RequestValidator
    Properties:
      RestApiId: !Ref Api
      ValidateRequestBody: true
      ValidateRequestParameters: true
  OrderModel:
    Type: AWS::ApiGateway::Model
    Properties:
      RestApiId: !Ref Api
      Name: Order
      ContentType: application/json
      Schema:
        $schema: http://json-schema.org/draft-04/schema#
        type: object
        required: [sku]
        properties:
          sku: {type: string}
          quantity: {type: integer, minimum: 1}
  Orders:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: orders}
  Secured:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: secured}
  Keyed:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: keyed}
  CreateOrder:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Orders
      HttpMethod: POST
      AuthorizationType: NONE
      RequestValidatorId: !Ref Validator
      RequestModels: {application/json: Order}
      RequestParameters: {method.request.querystring.channel: true}
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Join ["", ["arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                         !GetAtt Function.Arn, "/invocations"]]
  SecuredMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Secured
      HttpMethod: GET
      AuthorizationType: AWS_IAM
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Join ["", ["arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                         !GetAtt Function.Arn, "/invocations"]]
  KeyedMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Keyed
      HttpMethod: GET
      AuthorizationType: NONE
      ApiKeyRequired: true
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Join ["", ["arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                         !GetAtt Function.Arn, "/invocations"]]
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [CreateOrder, SecuredMethod, KeyedMethod]
    Properties: {RestApiId: !Ref Api, StageName: test}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("validated")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="validated") as loaded:
        yield loaded


@pytest.mark.parametrize(("query", "body", "status", "message"), [
    ("?channel=web", {"sku": "PEN", "quantity": 2}, 200, None),
    ("", {"sku": "PEN"}, 400, "Missing required request parameters: [channel]"),
    ("?channel=web", {"quantity": 2}, 400, "Invalid request body"),
    ("?channel=web", {"sku": "PEN", "quantity": 0}, 400, "Invalid request body"),
])
def test_request_validator(stack: EmulatedStack, query: str, body: dict[str, object],
                           status: int, message: str | None) -> None:
    """The validator checks required parameters, then the body against the model."""
    response = stack.http.post(f"/orders{query}", json=body)

    assert response.status_code == status
    if message is None:
        assert response.text == "ran"
    else:
        assert response.json() == {"message": message}
        assert response.headers["x-amzn-ErrorType"] == "BadRequestException"


def test_body_that_is_not_json_is_invalid(stack: EmulatedStack) -> None:
    """A body that is not JSON fails the model check."""
    response = stack.http.post("/orders?channel=web", content=b"{not json",
                               headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {"message": "Invalid request body"}


def test_keyed_method_without_key_is_forbidden(stack: EmulatedStack) -> None:
    """A method that requires an API key returns 403 Forbidden to a request without one.

    Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
    (API_CONFIGURATION_ERROR aside, a missing key is INVALID_API_KEY: 403 Forbidden)
    """
    response = stack.http.get("/keyed")

    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_iam_method_needs_signature(stack: EmulatedStack) -> None:
    """An AWS_IAM method returns 403 to an unsigned request: Missing Authentication Token.

    Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
    (MISSING_AUTHENTICATION_TOKEN, 403)
    """
    response = stack.http.get("/secured")

    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
