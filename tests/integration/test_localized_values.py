"""SSM parameters and secrets that a template writes with API URLs are read as local URLs.

Stack outputs are rewritten the same way; the AWS URL form is
https://{api id}.execute-api.{region}.amazonaws.com/{stage}/
(https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from windtunnel import Stack

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'pong'}\n"

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Ping:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Get:
          Type: Api
          Properties: {Path: /ping, Method: GET}
  ApiUrl:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /app/api-url
      Type: String
      Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/"
  Settings:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: app-settings
      SecretString: !Sub '{"api": "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/"}'
"""


def test_values_point_at_served_endpoint(tmp_path: Path) -> None:
    """The parameter and the secret give URLs of the served endpoint that reach the API;
    a parameter stored by the test keeps its AWS URL."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with Stack.local(tmp_path, stack_name="values") as stack:
        endpoint = stack.serve(0)
        ssm = stack.client("ssm")
        parameter = ssm.get_parameter(Name="/app/api-url")["Parameter"]["Value"]
        secret = json.loads(stack.client("secretsmanager").get_secret_value(
            SecretId="app-settings")["SecretString"])
        ssm.put_parameter(Name="/test/own", Type="String",
                          Value="https://abc123.execute-api.us-east-1.amazonaws.com/x/")
        own = ssm.get_parameter(Name="/test/own")["Parameter"]["Value"]
        with urllib.request.urlopen(parameter + "ping", timeout=10) as response:
            body = response.read()

    api = parameter.rstrip("/").split("/")[-2]
    assert parameter == f"{endpoint}/_aws/execute-api/{api}/Prod/"
    assert secret["api"] == parameter
    assert body == b"pong"
    assert own == "https://abc123.execute-api.us-east-1.amazonaws.com/x/"
