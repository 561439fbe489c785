"""KMS Decrypt without KeyId is authorized on the key inside the ciphertext.

Source: https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html (KeyId is
optional for symmetric keys; KMS takes the key from the ciphertext metadata) and
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html
(KMSDecryptPolicy allows kms:Decrypt on the key)
"""

from __future__ import annotations

from pathlib import Path

from windtunnel import Stack

HANDLER = '''
import os

import boto3


def handler(event, context):
    kms = boto3.client("kms")
    blob = kms.encrypt(KeyId=os.environ["KEY_ID"], Plaintext=b"secret")["CiphertextBlob"]
    return kms.decrypt(CiphertextBlob=blob)["Plaintext"].decode()
'''

TEMPLATE = '''
Transform: AWS::Serverless-2016-10-31
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: "kms:*"
            Resource: "*"
  Crypt:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Environment: {Variables: {KEY_ID: !Ref Key}}
      Policies:
        - KMSEncryptPolicy: {KeyId: !Ref Key}
        - KMSDecryptPolicy: {KeyId: !Ref Key}
'''


def test_decrypt_without_key_id_is_allowed(tmp_path: Path) -> None:
    """The role's kms:Decrypt on the key allows a Decrypt call that names no key."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    with Stack.local(tmp_path, stack_name="crypt") as stack:
        result = stack.invoke("Crypt", {})
        decrypts = [record for record in stack.iam.decisions
                    if record.action == "kms:Decrypt"]

    assert result.function_error is None, result.payload
    assert result.payload == "secret"
    assert len(decrypts) == 1
    assert decrypts[0].resource.startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert decrypts[0].resource != "arn:aws:kms:us-east-1:123456789012:key/*"
