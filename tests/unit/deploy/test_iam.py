"""Tests of the IAM resource handlers against moto's IAM."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel.deploy.resources.base import ResourceCreationFailed, handler_for

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference"
ROLE_DOCS = f"{DOCS}/aws-resource-iam-role.html"
MANAGED_POLICY_DOCS = f"{DOCS}/aws-resource-iam-managedpolicy.html"

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
READ_TABLE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}],
}
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def create(make_context: Any, logical_id: str, resource_type: str,
           properties: dict[str, Any]) -> Any:
    handler = handler_for(resource_type)
    assert handler is not None
    return handler(make_context(logical_id, resource_type), properties)


@pytest.fixture
def iam(make_context: Any) -> Any:
    return make_context("Any", "AWS::IAM::Role").client("iam")


def test_role_stores_configuration(make_context: Any, iam: Any) -> None:
    """A role keeps its trust policy, path, description, session limit and tags."""
    result = create(make_context, "FunctionRole", "AWS::IAM::Role", {
        "RoleName": "function-role",
        "AssumeRolePolicyDocument": LAMBDA_TRUST,
        "Path": "/app/",
        "Description": "runs the function",
        "MaxSessionDuration": "7200",
        "Tags": [{"Key": "team", "Value": "core"}],
    })

    role = iam.get_role(RoleName="function-role")["Role"]
    assert role["AssumeRolePolicyDocument"] == LAMBDA_TRUST
    assert role["Path"] == "/app/"
    assert role["Description"] == "runs the function"
    assert role["MaxSessionDuration"] == 7200
    assert role["Tags"] == [{"Key": "team", "Value": "core"}]
    # Return values (ROLE_DOCS): Ref is the role name, and Arn and RoleId are attributes.
    assert result.physical_id == "function-role"
    assert result.attributes["Arn"] == "arn:aws:iam::123456789012:role/app/function-role"
    assert result.attributes["RoleId"] == role["RoleId"]


def test_role_name_generated_within_64(make_context: Any, iam: Any) -> None:
    """A role without RoleName gets a generated name of at most 64 characters (ROLE_DOCS)."""
    result = create(make_context, "AVeryLongLogicalIdForTheFunctionExecutionRoleOfTheApp",
                    "AWS::IAM::Role", {"AssumeRolePolicyDocument": LAMBDA_TRUST})

    assert len(result.physical_id) <= 64
    assert result.physical_id.startswith("test-stack-")
    assert iam.get_role(RoleName=result.physical_id)["Role"]["Path"] == "/"


def test_role_trust_policy_as_string(make_context: Any, iam: Any) -> None:
    """AssumeRolePolicyDocument given as a JSON string is stored as that document."""
    create(make_context, "Role", "AWS::IAM::Role", {
        "RoleName": "string-trust", "AssumeRolePolicyDocument": json.dumps(LAMBDA_TRUST),
    })

    role = iam.get_role(RoleName="string-trust")["Role"]
    assert role["AssumeRolePolicyDocument"] == LAMBDA_TRUST


def test_role_inline_and_managed_policies(make_context: Any, iam: Any) -> None:
    """Policies become inline role policies and ManagedPolicyArns are attached (ROLE_DOCS)."""
    create(make_context, "Role", "AWS::IAM::Role", {
        "RoleName": "with-policies",
        "AssumeRolePolicyDocument": LAMBDA_TRUST,
        "Policies": [{"PolicyName": "read", "PolicyDocument": READ_TABLE}],
        "ManagedPolicyArns": [BASIC_EXECUTION],
    })

    inline = iam.get_role_policy(RoleName="with-policies", PolicyName="read")
    assert inline["PolicyDocument"] == READ_TABLE
    attached = iam.list_attached_role_policies(RoleName="with-policies")["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [BASIC_EXECUTION]


def test_aws_managed_policy_has_aws_document(make_context: Any, iam: Any) -> None:
    """An attached AWS managed policy carries AWS's own document, so IAM can evaluate it."""
    create(make_context, "Role", "AWS::IAM::Role", {
        "RoleName": "basic", "AssumeRolePolicyDocument": LAMBDA_TRUST,
        "ManagedPolicyArns": [BASIC_EXECUTION],
    })

    policy = iam.get_policy(PolicyArn=BASIC_EXECUTION)["Policy"]
    version = iam.get_policy_version(PolicyArn=BASIC_EXECUTION,
                                     VersionId=policy["DefaultVersionId"])
    actions = version["PolicyVersion"]["Document"]["Statement"][0]["Action"]
    assert "logs:PutLogEvents" in actions


def test_aws_managed_policy_wrong_path_fails(make_context: Any) -> None:
    """An AWS managed policy ARN without its real path fails as IAM fails."""
    with pytest.raises(ClientError, match="does not exist or is not attachable"):
        create(make_context, "Role", "AWS::IAM::Role", {
            "RoleName": "wrong", "AssumeRolePolicyDocument": LAMBDA_TRUST,
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole"],
        })


def test_role_permissions_boundary(make_context: Any, iam: Any) -> None:
    """PermissionsBoundary is stored on the role (ROLE_DOCS)."""
    boundary = iam.create_policy(PolicyName="boundary",
                                 PolicyDocument=json.dumps(READ_TABLE))["Policy"]["Arn"]
    create(make_context, "Role", "AWS::IAM::Role", {
        "RoleName": "bounded", "AssumeRolePolicyDocument": LAMBDA_TRUST,
        "PermissionsBoundary": boundary,
    })

    role = iam.get_role(RoleName="bounded")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


def test_role_requires_trust_policy(make_context: Any) -> None:
    """A role without AssumeRolePolicyDocument fails schema validation (ROLE_DOCS)."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"required key \[AssumeRolePolicyDocument\] not found"):
        create(make_context, "Role", "AWS::IAM::Role", {"RoleName": "none"})


def test_role_rejects_unknown_property(make_context: Any) -> None:
    """A property outside the schema fails as CloudFormation fails."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"#: extraneous key \[Foo\] is not permitted"):
        create(make_context, "Role", "AWS::IAM::Role",
               {"AssumeRolePolicyDocument": LAMBDA_TRUST, "Foo": 1})


def test_policy_attaches_to_role_user_group(make_context: Any, iam: Any) -> None:
    """AWS::IAM::Policy embeds its document in each role, user and group named."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-policy.html
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")

    result = create(make_context, "ReadPolicy", "AWS::IAM::Policy", {
        "PolicyName": "read", "PolicyDocument": READ_TABLE,
        "Roles": ["r"], "Users": ["u"], "Groups": ["g"],
    })

    assert iam.get_role_policy(RoleName="r", PolicyName="read")["PolicyDocument"] == READ_TABLE
    assert iam.get_user_policy(UserName="u", PolicyName="read")["PolicyDocument"] == READ_TABLE
    assert iam.get_group_policy(GroupName="g", PolicyName="read")["PolicyDocument"] == READ_TABLE
    assert result.attributes["Id"] == result.physical_id


def test_policy_requires_name(make_context: Any) -> None:
    """AWS::IAM::Policy requires PolicyName."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[PolicyName\] not found"):
        create(make_context, "P", "AWS::IAM::Policy", {"PolicyDocument": READ_TABLE})


def test_role_policy_embeds_document(make_context: Any, iam: Any) -> None:
    """AWS::IAM::RolePolicy embeds one inline policy in one role."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-rolepolicy.html
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))

    result = create(make_context, "RP", "AWS::IAM::RolePolicy", {
        "PolicyName": "read", "RoleName": "r", "PolicyDocument": READ_TABLE,
    })

    assert iam.get_role_policy(RoleName="r", PolicyName="read")["PolicyDocument"] == READ_TABLE
    assert result.physical_id == "read|r"


def test_managed_policy_attributes(make_context: Any, iam: Any) -> None:
    """A managed policy's Ref is its ARN and its attributes follow MANAGED_POLICY_DOCS."""
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))

    result = create(make_context, "Managed", "AWS::IAM::ManagedPolicy", {
        "ManagedPolicyName": "read-table", "Path": "/app/", "Description": "reads",
        "PolicyDocument": READ_TABLE, "Roles": ["r"],
    })

    arn = "arn:aws:iam::123456789012:policy/app/read-table"
    assert result.physical_id == arn
    assert result.attributes["PolicyArn"] == arn
    assert result.attributes["AttachmentCount"] == 1
    assert result.attributes["DefaultVersionId"] == "v1"
    assert result.attributes["IsAttachable"] is True
    assert result.attributes["PolicyId"] == iam.get_policy(PolicyArn=arn)["Policy"]["PolicyId"]
    attached = iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [arn]


def test_managed_policy_requires_document(make_context: Any) -> None:
    """A managed policy without PolicyDocument fails schema validation."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"required key \[PolicyDocument\] not found"):
        create(make_context, "Managed", "AWS::IAM::ManagedPolicy", {})


def test_user_group_and_access_key(make_context: Any, iam: Any) -> None:
    """Users join their groups, and an access key's Ref is its ID with the secret attribute."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-user.html
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-accesskey.html
    group = create(make_context, "Group", "AWS::IAM::Group", {"GroupName": "devs"})
    user = create(make_context, "User", "AWS::IAM::User", {
        "UserName": "alice", "Groups": ["devs"],
        "LoginProfile": {"Password": "Secret-123", "PasswordResetRequired": "true"},
    })
    key = create(make_context, "Key", "AWS::IAM::AccessKey",
                 {"UserName": "alice", "Status": "Inactive"})

    assert group.attributes["Arn"] == "arn:aws:iam::123456789012:group/devs"
    assert user.physical_id == "alice"
    assert user.attributes["Arn"] == "arn:aws:iam::123456789012:user/alice"
    members = iam.get_group(GroupName="devs")["Users"]
    assert [member["UserName"] for member in members] == ["alice"]
    profile = iam.get_login_profile(UserName="alice")["LoginProfile"]
    assert profile["PasswordResetRequired"] is True
    keys = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert keys[0]["AccessKeyId"] == key.physical_id
    assert keys[0]["Status"] == "Inactive"
    assert key.attributes["SecretAccessKey"]


def test_instance_profile_holds_role(make_context: Any, iam: Any) -> None:
    """An instance profile's Ref is its name and it contains its role."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-instanceprofile.html
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))

    result = create(make_context, "Profile", "AWS::IAM::InstanceProfile",
                    {"InstanceProfileName": "p", "Roles": ["r"]})

    profile = iam.get_instance_profile(InstanceProfileName="p")["InstanceProfile"]
    assert [role["RoleName"] for role in profile["Roles"]] == ["r"]
    assert result.physical_id == "p"
    assert result.attributes["Arn"] == "arn:aws:iam::123456789012:instance-profile/p"
