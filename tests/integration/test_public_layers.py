"""Functions that use public layers of other accounts (such as Powertools) still load.

The layer cannot be downloaded, so the function imports its packages from the test's
Python environment; a warning names the layer. Source for the layer ARN form:
https://docs.powertools.aws.dev/lambda/python/latest/#lambda-layer
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from windtunnel import Stack

POWERTOOLS_LAYER = ("arn:aws:lambda:us-east-1:017000801446:layer:"
                    "AWSLambdaPowertoolsPythonV3-python312-x86_64:7")

TEMPLATE = f"""
Transform: AWS::Serverless-2016-10-31
Resources:
  Greet:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Layers:
        - {POWERTOOLS_LAYER}
"""

HANDLER = """
from aws_lambda_powertools import Logger

logger = Logger(service="greet")


def handler(event, context):
    return "hello"
"""


def test_public_layer_is_left_out_with_warning(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """The stack loads, the function runs with the installed package, and a warning
    names the layer."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with caplog.at_level(logging.WARNING), Stack.local(tmp_path, stack_name="layers") as stack:
        result = stack.invoke("Greet", {})

    assert result.function_error is None, result.payload
    assert result.payload == "hello"
    warnings = [record.getMessage() for record in caplog.records
                if "017000801446" in record.getMessage()]
    assert len(warnings) == 1
    assert "cannot be downloaded" in warnings[0]
