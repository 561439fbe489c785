"""Handlers get their own boto3 default session, whatever the test process did before."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import boto3, sys
    from pathlib import Path
    # The test process creates its default session first, with no region in its
    # environment, as a test module that builds clients at import time does.
    boto3.client("sqs", region_name="eu-west-1", aws_access_key_id="a",
                 aws_secret_access_key="b")
    from windtunnel import Stack
    with Stack.local(Path(sys.argv[1]), region="us-west-2") as stack:
        result = stack.invoke("Function", {}).raise_for_error()
        print("REGION", result.payload)
""")

HANDLER = """import boto3

def handler(event, context):
    return boto3.client("ssm").meta.region_name
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Function:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.12}
"""


def test_handler_session_reads_function_environment(tmp_path: Path) -> None:
    """A handler's boto3.client() takes the function's region, not the process's session.

    Lambda sets AWS_REGION in each execution environment:
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
    """
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=environment,
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    assert "REGION us-west-2" in result.stdout
