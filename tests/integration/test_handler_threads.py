"""SDK calls from threads that a handler starts reach the emulation, as the function.

Threads do not inherit the invocation's context (boto3's managed transfers upload parts in
worker threads), so their requests are routed by the credentials they are signed with.
"""

from __future__ import annotations

from pathlib import Path

from windtunnel import Stack

HANDLER = '''
import io
import os
from concurrent.futures import ThreadPoolExecutor

import boto3
from boto3.s3.transfer import TransferConfig


def handler(event, context):
    s3 = boto3.client("s3")
    s3.upload_fileobj(io.BytesIO(b"x" * 100), os.environ["BUCKET"], "threaded",
                      Config=TransferConfig(use_threads=True))
    with ThreadPoolExecutor(max_workers=2) as pool:
        keys = list(pool.map(lambda key: s3.head_object(Bucket=os.environ["BUCKET"],
                                                         Key=key)["ContentLength"],
                             ["threaded"]))
    return keys
'''

TEMPLATE = '''
Transform: AWS::Serverless-2016-10-31
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  Upload:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Environment: {Variables: {BUCKET: !Ref Bucket}}
      Policies:
        - S3CrudPolicy: {BucketName: !Ref Bucket}
'''


def test_threads_in_handler_reach_emulation(tmp_path: Path) -> None:
    """A managed transfer and a thread pool in a handler are served and checked by IAM as
    the function's role."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with Stack.local(tmp_path, stack_name="threads") as stack:
        result = stack.invoke("Upload", {})
        decisions = [(record.function_name, record.action) for record in stack.iam.decisions]
        function_name = stack.function_name("Upload")

    assert result.function_error is None, result.payload
    assert result.payload == [100]
    assert (function_name, "s3:PutObject") in decisions
    assert (function_name, "s3:GetObject") in decisions
