"""Policy documents in a template that IAM, SQS, SNS or S3 rejects fail the load, naming the
logical ID and giving the service's error.

Sources:
- The policy grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
- Principal is required in resource-based and trust policies and not allowed in
  identity-based ones: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
- MalformedPolicyDocument, status 400: https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html#API_PutRolePolicy_Errors
  and https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html#API_CreateRole_Errors
- Messages as AWS returns them, recorded in public reports:
  "Policy document should not specify a principal.":
  https://github.com/hashicorp/terraform-provider-aws/issues/10419
  "Has prohibited field Resource": https://github.com/kubernetes-sigs/external-dns/issues/3085
  a trust policy without principals: https://github.com/terraform-aws-modules/terraform-aws-iam/issues/47
  "Policy statement must contain resources.": https://github.com/aws-samples/aws-health-aware/issues/1
  SQS "Invalid value for the parameter Policy.": https://github.com/hashicorp/terraform-provider-aws/pull/42209
  SNS "Invalid parameter: Policy Error: null": https://github.com/serverless/serverless/issues/5519
  IAM "This policy contains invalid Json" for CreateRole:
  https://github.com/awsdocs/amazon-rds-user-guide/pull/162
  S3 "Missing required field Principal": https://github.com/hashicorp/terraform/issues/28688
  S3 "Policies must be valid JSON and the first byte must be '{'":
  https://github.com/aws/aws-cli/issues/2779
  S3 "This policy contains invalid Json" for a document that starts with "{" (an S3
  compatible gateway matching S3's wording): https://github.com/versity/versitygw/pull/1156
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from windtunnel.errors import DeploymentError
from windtunnel.stack.environment import Environment
from windtunnel.template.loader import load_template_file

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def _document(**changes: Any) -> dict[str, Any]:
    """Build a one-statement policy from READ with ``changes``; None removes an element."""
    statement = {key: value for key, value in {**READ, **changes}.items() if value is not None}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _deploy(tmp_path: Path, resources: dict[str, Any]) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump({"Resources": resources}))
    Environment().deploy(load_template_file(path, parameters={}), stack_name="policies")


def _role(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": TRUST, **properties}}


# (case, resources, logical ID that fails, error code, message)
IAM_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("principal in inline policy",
     {"Fn": _role(Policies=[{"PolicyName": "read",
                             "PolicyDocument": _document(Principal="*")}])},
     "Fn", "Policy document should not specify a principal."),
    ("principal in managed policy",
     {"Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
         "PolicyDocument": _document(Principal={"AWS": "*"})}}},
     "Managed", "Policy document should not specify a principal."),
    ("not principal in policy resource",
     {"Role": _role(),
      "Inline": {"Type": "AWS::IAM::Policy", "Properties": {
          "PolicyName": "read", "Roles": [{"Ref": "Role"}],
          "PolicyDocument": _document(Effect="Deny", NotPrincipal={"AWS": "*"})}}},
     "Inline", "Policy document should not specify a principal."),
    ("principal in role policy",
     {"Role": _role(),
      "Inline": {"Type": "AWS::IAM::RolePolicy", "Properties": {
          "PolicyName": "read", "RoleName": {"Ref": "Role"},
          "PolicyDocument": _document(Principal="*")}}},
     "Inline", "Policy document should not specify a principal."),
    ("trust policy without principal",
     {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
         "Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}}}},
     "Role", "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
             "The passed in policy has a statement with no principals!"),
    ("trust policy with resource",
     {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
         "Version": "2012-10-17", "Statement": [{**TRUST["Statement"][0], "Resource": "*"}]}}}},
     "Role", "Has prohibited field Resource"),
    ("trust policy with unknown condition operator",
     {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
         "Version": "2012-10-17", "Statement": [{
             **TRUST["Statement"][0],
             "Condition": {"StringEqualz": {"aws:SourceAccount": "123456789012"}}}]}}}},
     "Role", "Syntax errors in policy."),
    ("trust policy that is not JSON",
     {"Role": {"Type": "AWS::IAM::Role",
               "Properties": {"AssumeRolePolicyDocument": "{not json"}}},
     "Role", "This policy contains invalid Json"),
    ("inline policy without resource",
     {"Fn": _role(Policies=[{"PolicyName": "read", "PolicyDocument": _document(Resource=None)}])},
     "Fn", "Policy statement must contain resources."),
    ("inline policy without action",
     {"Fn": _role(Policies=[{"PolicyName": "read", "PolicyDocument": _document(Action=None)}])},
     "Fn", "Policy statement must contain actions."),
]


@pytest.mark.parametrize(("resources", "logical_id", "message"),
                         [case[1:] for case in IAM_CASES], ids=[case[0] for case in IAM_CASES])
def test_iam_rejects_policy(tmp_path: Path, resources: dict[str, Any], logical_id: str,
                            message: str) -> None:
    """IAM's MalformedPolicyDocument fails the resource, with IAM's reason."""
    with pytest.raises(DeploymentError) as caught:
        _deploy(tmp_path, resources)

    assert caught.value.logical_id == logical_id
    assert f'"{message} (Status Code: 400' in caught.value.reason
    assert "(HandlerErrorCode: InvalidRequest)" in caught.value.reason
    assert f"Resource {logical_id} (" in str(caught.value)


def _queue_policy(document: Any) -> dict[str, Any]:
    return {"Queue": {"Type": "AWS::SQS::Queue"},
            "QueuePolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
                "Queues": [{"Ref": "Queue"}], "PolicyDocument": document}}}


def _topic_policy(document: Any) -> dict[str, Any]:
    return {"Topic": {"Type": "AWS::SNS::Topic"},
            "TopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
                "Topics": [{"Ref": "Topic"}], "PolicyDocument": document}}}


def _bucket_policy(document: Any) -> dict[str, Any]:
    return {"Bucket": {"Type": "AWS::S3::Bucket"},
            "BucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
                "Bucket": {"Ref": "Bucket"}, "PolicyDocument": document}}}


# (case, resources, logical ID that fails, message with its error code)
RESOURCE_POLICY_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("queue policy without principal",
     _queue_policy(_document(Action="sqs:SendMessage")),
     "QueuePolicy", "Invalid value for the parameter Policy."),
    ("queue policy with unknown principal type",
     _queue_policy(_document(Action="sqs:SendMessage", Principal={"Users": "x"})),
     "QueuePolicy", "Invalid value for the parameter Policy."),
    ("topic policy without principal",
     _topic_policy(_document(Action="sns:Publish")),
     "TopicPolicy", "Invalid parameter: Policy Error: null"),
    ("bucket policy without principal",
     _bucket_policy(_document(Resource="arn:aws:s3:::b/*")),
     "BucketPolicy", "Missing required field Principal"),
    ("bucket policy that is not JSON",
     _bucket_policy("policy.json"),
     "BucketPolicy", "Policies must be valid JSON and the first byte must be '{'"),
    ("bucket policy with broken JSON",
     _bucket_policy('{"Statement": ['),
     "BucketPolicy", "This policy contains invalid Json"),
]


@pytest.mark.parametrize(("resources", "logical_id", "message"),
                         [case[1:] for case in RESOURCE_POLICY_CASES],
                         ids=[case[0] for case in RESOURCE_POLICY_CASES])
def test_service_rejects_resource_policy(tmp_path: Path, resources: dict[str, Any],
                                         logical_id: str, message: str) -> None:
    """A queue, topic or bucket policy that is not valid grammar fails with the service's
    own error."""
    with pytest.raises(DeploymentError) as caught:
        _deploy(tmp_path, resources)

    assert caught.value.logical_id == logical_id
    assert f'"{message} (Status Code: 400' in caught.value.reason


def test_valid_policies_load(tmp_path: Path) -> None:
    """Valid identity, trust and resource-based policies load, with or without Version."""
    allow_sns = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                 "Action": "sqs:SendMessage", "Resource": "*"}
    resources = {
        "Fn": _role(Policies=[{"PolicyName": "read",
                               "PolicyDocument": {"Statement": [READ]}}]),
        **_queue_policy({"Version": "2012-10-17", "Statement": allow_sns}),
        **_bucket_policy({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": {"Fn::Sub": "${Bucket.Arn}/*"}}]}),
    }

    _deploy(tmp_path, resources)
