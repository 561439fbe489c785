"""Resource handlers for IAM roles, users, groups, policies, access keys and instance profiles.

Policy documents are checked before IAM receives them, because moto 5.2 accepts documents
that IAM rejects with ``MalformedPolicyDocument``: a Principal in an identity-based policy,
and any trust policy. The queue, topic and bucket policy handlers use the same check with
their services' errors.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
)
from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.policy import PolicyKind, parse_policy

# Properties that each type's CloudFormation schema accepts in a template. Read-only
# attributes such as Arn are left out because a template cannot set them.
_PROPERTIES = {
    "AWS::IAM::Role": frozenset({
        "AssumeRolePolicyDocument", "Description", "ManagedPolicyArns", "MaxSessionDuration",
        "Path", "PermissionsBoundary", "Policies", "RoleName", "Tags",
    }),
    "AWS::IAM::Policy": frozenset({"Groups", "PolicyDocument", "PolicyName", "Roles", "Users"}),
    "AWS::IAM::ManagedPolicy": frozenset({
        "Description", "Groups", "ManagedPolicyName", "Path", "PolicyDocument", "Roles", "Users",
    }),
    "AWS::IAM::RolePolicy": frozenset({"PolicyDocument", "PolicyName", "RoleName"}),
    "AWS::IAM::UserPolicy": frozenset({"PolicyDocument", "PolicyName", "UserName"}),
    "AWS::IAM::GroupPolicy": frozenset({"GroupName", "PolicyDocument", "PolicyName"}),
    "AWS::IAM::User": frozenset({
        "Groups", "LoginProfile", "ManagedPolicyArns", "Path", "PermissionsBoundary", "Policies",
        "Tags", "UserName",
    }),
    "AWS::IAM::Group": frozenset({"GroupName", "ManagedPolicyArns", "Path", "Policies"}),
    "AWS::IAM::AccessKey": frozenset({"Serial", "Status", "UserName"}),
    "AWS::IAM::InstanceProfile": frozenset({"InstanceProfileName", "Path", "Roles"}),
}

# IAM's name limits: roles and users 64 characters, groups, policies and profiles 128.
_ROLE_NAME_MAX = 64
_USER_NAME_MAX = 64
_NAME_MAX = 128

_AWS_MANAGED_POLICY_ARN = re.compile(r"^arn:[\w-]+:iam::aws:policy(/.*/|/)([^/]+)$")


class PolicyProblem(enum.Enum):
    """The reason a service rejects a policy document. Each service words it its own way."""

    INVALID_JSON = "invalid JSON"
    MISSING_STATEMENT = "no Statement"
    PRINCIPAL_NOT_ALLOWED = "a Principal in an identity-based policy"
    MISSING_PRINCIPAL = "a statement without Principal"
    INVALID_PRINCIPAL = "an invalid Principal"
    RESOURCE_NOT_ALLOWED = "a Resource in a trust policy"
    MISSING_ACTION = "a statement without Action"
    MISSING_RESOURCE = "a statement without Resource"
    SYNTAX = "a syntax error"


class PolicyUse(enum.Enum):
    """Where a policy document is attached, which decides the elements it must have."""

    IDENTITY = "identity"
    TRUST = "trust"
    RESOURCE = "resource"


_PRINCIPAL_KEYS = ("Principal", "NotPrincipal")
_RESOURCE_KEYS = ("Resource", "NotResource")
_ACTION_KEYS = ("Action", "NotAction")


def find_policy_problem(document: Any, use: PolicyUse, *,
                        resource_required: bool = False) -> PolicyProblem | None:
    """Return why ``document`` is not a valid policy for ``use``, or None when it is valid.

    The grammar is that of the IAM User Guide,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    checked by the policy engine's parser, so every policy that loads can be evaluated.
    The element checks come first because IAM names them in its errors.
    ``resource_required`` makes a resource-based policy need Resource, as S3 does.
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return PolicyProblem.INVALID_JSON
    if not isinstance(document, Mapping):
        return PolicyProblem.SYNTAX
    statements = document.get("Statement")
    if statements is None:
        return PolicyProblem.MISSING_STATEMENT
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, Mapping) for s in statements):
        return PolicyProblem.SYNTAX

    for statement in statements:
        problem = _statement_problem(statement, use, resource_required)
        if problem is not None:
            return problem

    kind = PolicyKind.IDENTITY if use is PolicyUse.IDENTITY else PolicyKind.RESOURCE
    try:
        parse_policy(document, kind)
    except MalformedPolicyError as error:
        if any(key in error.path for key in _PRINCIPAL_KEYS):
            return PolicyProblem.INVALID_PRINCIPAL
        return PolicyProblem.SYNTAX
    return None


def _statement_problem(statement: Mapping[str, Any], use: PolicyUse,
                       resource_required: bool) -> PolicyProblem | None:
    has_principal = any(key in statement for key in _PRINCIPAL_KEYS)
    has_resource = any(key in statement for key in _RESOURCE_KEYS)
    if use is PolicyUse.IDENTITY and has_principal:
        return PolicyProblem.PRINCIPAL_NOT_ALLOWED
    if use is PolicyUse.TRUST and has_resource:
        return PolicyProblem.RESOURCE_NOT_ALLOWED
    if use is not PolicyUse.IDENTITY and not has_principal:
        return PolicyProblem.MISSING_PRINCIPAL
    if not any(statement.get(key) for key in _ACTION_KEYS):
        return PolicyProblem.MISSING_ACTION
    if (use is PolicyUse.IDENTITY or resource_required) and not has_resource:
        return PolicyProblem.MISSING_RESOURCE
    return None


# IAM's MalformedPolicyDocument messages, as AWS returns them. The conformance tests in
# tests/conformance/iam/test_malformed_policies.py cite the responses they come from.
_IAM_MESSAGES = {
    PolicyProblem.INVALID_JSON: "This policy contains invalid Json",
    PolicyProblem.PRINCIPAL_NOT_ALLOWED: "Policy document should not specify a principal.",
    PolicyProblem.MISSING_PRINCIPAL: (
        "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
        "The passed in policy has a statement with no principals!"),
    PolicyProblem.RESOURCE_NOT_ALLOWED: "Has prohibited field Resource",
    PolicyProblem.MISSING_ACTION: "Policy statement must contain actions.",
    PolicyProblem.MISSING_RESOURCE: "Policy statement must contain resources.",
}
_IAM_SYNTAX_MESSAGE = "Syntax errors in policy."


def rejected_policy(context: ResourceContext, operation: str, code: str,
                    message: str) -> ClientError:
    """Build the error a service returns for a policy it rejects, with status 400.

    The engine reports it as CloudFormation reports a handler's failed service call. The
    request ID derives from the stack and logical ID, so the message is the same on every
    load.
    """
    request_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{context.stack_id}/{context.logical_id}")
    return ClientError({
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": str(request_id)},
    }, operation)


def check_iam_policy(context: ResourceContext, document: Any, use: PolicyUse,
                     operation: str) -> None:
    """Raise IAM's ``MalformedPolicyDocument`` error when ``document`` is not valid."""
    problem = find_policy_problem(document, use)
    if problem is None:
        return
    message = _IAM_MESSAGES.get(problem, _IAM_SYNTAX_MESSAGE)
    raise rejected_policy(context, operation, "MalformedPolicyDocument", message)


def _policy_document_json(document: Any) -> str:
    """Serialize a policy document given as a template object or as a JSON string."""
    if isinstance(document, str):
        return document
    return json.dumps(document)


def _tags(tags: Iterable[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    return [{"Key": str(tag["Key"]), "Value": str(tag["Value"])} for tag in tags or ()]


def _ensure_aws_managed_policy(context: ResourceContext, policy_arn: str) -> None:
    """Make an AWS managed policy that exists in AWS also exist in the embedded IAM.

    AWS managed policies such as ``service-role/AWSLambdaBasicExecutionRole`` exist in every
    account. moto only loads them when ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set, so this
    loads the one policy named from moto's copy of AWS's catalogue, with AWS's document. An
    ARN that is not in the catalogue (a wrong path or name) is left alone, so the attachment
    fails with IAM's own "does not exist or is not attachable" error, as in AWS.
    """
    match = _AWS_MANAGED_POLICY_ARN.match(policy_arn)
    if match is None:
        return

    iam = context.client("iam")
    try:
        iam.get_policy(PolicyArn=policy_arn)
        return
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise

    # NOTE: this writes into moto's in-process IAM backend, because IAM has no API that
    # creates a policy in the "aws" namespace. An embedded cloud in another process would
    # need MOTO_IAM_LOAD_MANAGED_POLICIES=true instead.
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    catalogue = json.loads(aws_managed_policies_data)
    name = match.group(2)
    if name not in catalogue:
        return
    policy = AWSManagedPolicy.from_data(name, context.account_id, context.partition,
                                        catalogue[name])
    if policy.arn != policy_arn:
        return
    backend = iam_backends[context.account_id][context.partition]
    backend.managed_policies[policy.arn] = policy


def _attach_managed_policies(context: ResourceContext, principal_kind: str, name: str,
                            policy_arns: Iterable[str]) -> None:
    """Attach managed policies to a role, user or group (``principal_kind`` is one of those)."""
    iam = context.client("iam")
    for policy_arn in policy_arns:
        _ensure_aws_managed_policy(context, policy_arn)
        if principal_kind == "role":
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        elif principal_kind == "user":
            iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
        else:
            iam.attach_group_policy(GroupName=name, PolicyArn=policy_arn)


def _put_inline_policy(context: ResourceContext, principal_kind: str, name: str,
                       policy_name: str, document: Any) -> None:
    iam = context.client("iam")
    operation = f"Put{principal_kind.capitalize()}Policy"
    if document != "":
        # IAM reports a missing document itself.
        check_iam_policy(context, document, PolicyUse.IDENTITY, operation)
    document_json = _policy_document_json(document)
    if principal_kind == "role":
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document_json)
    elif principal_kind == "user":
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=document_json)
    else:
        iam.put_group_policy(GroupName=name, PolicyName=policy_name,
                             PolicyDocument=document_json)


def _put_inline_policies(context: ResourceContext, principal_kind: str, name: str,
                         policies: Iterable[Mapping[str, Any]]) -> None:
    for policy in policies:
        require_properties(policy, "PolicyDocument", "PolicyName")
        _put_inline_policy(context, principal_kind, name, str(policy["PolicyName"]),
                           policy["PolicyDocument"])


@provisions("AWS::IAM::Role")
def create_role(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a role with its trust policy, inline policies and managed policy attachments."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "AssumeRolePolicyDocument")
    iam = context.client("iam")
    check_iam_policy(context, properties["AssumeRolePolicyDocument"], PolicyUse.TRUST,
                     "CreateRole")

    name = properties.get("RoleName") or context.physical_name(max_length=_ROLE_NAME_MAX)
    request: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": _policy_document_json(properties["AssumeRolePolicyDocument"]),
        "Path": properties.get("Path", "/"),
    }
    if "Description" in properties:
        request["Description"] = properties["Description"]
    if "MaxSessionDuration" in properties:
        request["MaxSessionDuration"] = coerce_integer(properties["MaxSessionDuration"],
                                                   "MaxSessionDuration")
    if "PermissionsBoundary" in properties:
        request["PermissionsBoundary"] = properties["PermissionsBoundary"]
    if properties.get("Tags"):
        request["Tags"] = _tags(properties["Tags"])
    role = iam.create_role(**request)["Role"]

    _put_inline_policies(context, "role", name, properties.get("Policies", ()))
    _attach_managed_policies(context, "role", name, properties.get("ManagedPolicyArns", ()))
    return Provisioned(physical_id=name,
                       attributes={"Arn": role["Arn"], "RoleId": role["RoleId"]})


@provisions("AWS::IAM::Policy")
def create_policy(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Embed one inline policy in each named role, user and group."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "PolicyDocument", "PolicyName")

    policy_name = str(properties["PolicyName"])
    for kind, key in (("role", "Roles"), ("user", "Users"), ("group", "Groups")):
        for principal in properties.get(key, ()):
            _put_inline_policy(context, kind, str(principal), policy_name,
                               properties["PolicyDocument"])

    # CloudFormation gives this type a generated identifier, not the policy name.
    policy_id = context.physical_name(max_length=_NAME_MAX)
    return Provisioned(physical_id=policy_id, attributes={"Id": policy_id})


@provisions("AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy")
def create_principal_policy(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Embed one inline policy in one role, user or group."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    kind = {"AWS::IAM::RolePolicy": "role", "AWS::IAM::UserPolicy": "user",
            "AWS::IAM::GroupPolicy": "group"}[context.resource_type]
    principal_key = {"role": "RoleName", "user": "UserName", "group": "GroupName"}[kind]
    require_properties(properties, "PolicyName", principal_key)

    # PolicyDocument is optional in these schemas, but IAM requires one and reports its absence.
    policy_name = str(properties["PolicyName"])
    principal = str(properties[principal_key])
    _put_inline_policy(context, kind, principal, policy_name,
                       properties.get("PolicyDocument", ""))

    # NOTE: these types document no Ref value. The physical ID here joins the schema's
    # primary identifier (policy name, then principal name) with "|".
    return Provisioned(physical_id=f"{policy_name}|{principal}")


@provisions("AWS::IAM::ManagedPolicy")
def create_managed_policy(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a customer managed policy and attach it to the named roles, users and groups."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "PolicyDocument")
    iam = context.client("iam")
    check_iam_policy(context, properties["PolicyDocument"], PolicyUse.IDENTITY, "CreatePolicy")

    request: dict[str, Any] = {
        "PolicyName": (properties.get("ManagedPolicyName")
                       or context.physical_name(max_length=_NAME_MAX)),
        "PolicyDocument": _policy_document_json(properties["PolicyDocument"]),
        "Path": properties.get("Path", "/"),
    }
    if "Description" in properties:
        request["Description"] = properties["Description"]
    policy_arn = iam.create_policy(**request)["Policy"]["Arn"]

    for kind, key in (("role", "Roles"), ("user", "Users"), ("group", "Groups")):
        for principal in properties.get(key, ()):
            _attach_managed_policies(context, kind, str(principal), [policy_arn])

    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    return Provisioned(physical_id=policy_arn, attributes={
        "PolicyArn": policy_arn,
        "PolicyId": policy["PolicyId"],
        "AttachmentCount": policy["AttachmentCount"],
        "CreateDate": policy["CreateDate"].isoformat(),
        "UpdateDate": policy["UpdateDate"].isoformat(),
        "DefaultVersionId": policy["DefaultVersionId"],
        "IsAttachable": policy["IsAttachable"],
        "PermissionsBoundaryUsageCount": policy.get("PermissionsBoundaryUsageCount", 0),
    })


@provisions("AWS::IAM::User")
def create_user(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a user with its login profile, groups and policies."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    iam = context.client("iam")

    name = properties.get("UserName") or context.physical_name(max_length=_USER_NAME_MAX)
    request: dict[str, Any] = {"UserName": name, "Path": properties.get("Path", "/")}
    if "PermissionsBoundary" in properties:
        request["PermissionsBoundary"] = properties["PermissionsBoundary"]
    if properties.get("Tags"):
        request["Tags"] = _tags(properties["Tags"])
    user = iam.create_user(**request)["User"]

    login_profile = properties.get("LoginProfile")
    if login_profile is not None:
        require_properties(login_profile, "Password")
        reset_required = coerce_boolean(login_profile.get("PasswordResetRequired", False),
                                        "LoginProfile/PasswordResetRequired")
        iam.create_login_profile(UserName=name, Password=login_profile["Password"],
                                 PasswordResetRequired=reset_required)
        if reset_required:
            # moto 5 drops the flag on CreateLoginProfile and stores it on update only.
            iam.update_login_profile(UserName=name, Password=login_profile["Password"],
                                     PasswordResetRequired=True)
    for group in properties.get("Groups", ()):
        iam.add_user_to_group(GroupName=str(group), UserName=name)
    _put_inline_policies(context, "user", name, properties.get("Policies", ()))
    _attach_managed_policies(context, "user", name, properties.get("ManagedPolicyArns", ()))
    return Provisioned(physical_id=name, attributes={"Arn": user["Arn"]})


@provisions("AWS::IAM::Group")
def create_group(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a group with its policies."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    iam = context.client("iam")

    name = properties.get("GroupName") or context.physical_name(max_length=_NAME_MAX)
    group = iam.create_group(GroupName=name, Path=properties.get("Path", "/"))["Group"]
    _put_inline_policies(context, "group", name, properties.get("Policies", ()))
    _attach_managed_policies(context, "group", name, properties.get("ManagedPolicyArns", ()))
    return Provisioned(physical_id=name, attributes={"Arn": group["Arn"]})


@provisions("AWS::IAM::AccessKey")
def create_access_key(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an access key for a user (``Serial`` only triggers rotation on update)."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "UserName")
    iam = context.client("iam")

    user_name = str(properties["UserName"])
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    status = properties.get("Status", "Active")
    if status != "Active":
        iam.update_access_key(UserName=user_name, AccessKeyId=key["AccessKeyId"], Status=status)
    return Provisioned(physical_id=key["AccessKeyId"],
                       attributes={"SecretAccessKey": key["SecretAccessKey"]})


@provisions("AWS::IAM::InstanceProfile")
def create_instance_profile(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an instance profile and add its role."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "Roles")
    iam = context.client("iam")

    name = properties.get("InstanceProfileName") or context.physical_name(max_length=_NAME_MAX)
    profile = iam.create_instance_profile(InstanceProfileName=name,
                                          Path=properties.get("Path", "/"))["InstanceProfile"]
    for role in properties["Roles"]:
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=str(role))
    return Provisioned(physical_id=name, attributes={"Arn": profile["Arn"]})

