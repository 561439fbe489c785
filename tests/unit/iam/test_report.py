"""The least-privilege report: grants used, denied and unused, and the suggested policy.

Matching follows IAM's rules for the Action and Resource elements: "The prefix and the
action name are case insensitive" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html),
while resource ARNs match case-sensitively, as the Resource element page notes for IAM
user names (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
The suggestions go through the real readers: SAM's ``Policies`` through AWS's SAM
transform (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-policies),
serverless.yml through windtunnel's Framework compiler, and policy documents through the
policy engine.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from windtunnel.iam import (
    AuthorizationRequest,
    MatchedStatement,
    PolicyKind,
    PolicyType,
    Reason,
    evaluate,
)
from windtunnel.iam.policy import parse_policy
from windtunnel.iam.records import DecisionRecord
from windtunnel.iam.report import (
    IamReport,
    NamedPolicy,
    PolicyAttachment,
    RoleGrants,
    UsedPermission,
    build_report,
)
from windtunnel.template.loader import load_application

ACCOUNT = "123456789012"
CART = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Cart"
ORDERS = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"
BUCKET_OBJECT = "arn:aws:s3:::receipts/2024/receipt.json"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def session(role: str, function: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{function}"


def record(action: str, resource: str = CART, *, function: str | None = "cart",
           role: str | None = "cart-role", allowed: bool = True, reason: Reason | None = None,
           enforced: bool = True,
           matched: tuple[MatchedStatement, ...] = ()) -> DecisionRecord:
    if reason is None:
        reason = Reason.ALLOWED if allowed else Reason.IMPLICIT_DENY
    service, _, operation = action.partition(":")
    return DecisionRecord(
        principal=session(role or "user", function or "session"),
        role_arn=role_arn(role) if role else None,
        function_name=function,
        service=service,
        operation=operation,
        action=action,
        resource=resource,
        allowed=allowed,
        reason=reason,
        enforced=enforced,
        matched_statements=matched,
    )


def policy(*statements: dict[str, Any], name: str = "app-policy",
           kind: PolicyAttachment = "inline") -> NamedPolicy:
    arn = None if kind == "inline" else f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    return NamedPolicy(name, {"Version": "2012-10-17", "Statement": list(statements)},
                       kind, arn)


def grants(*policies: NamedPolicy, name: str = "cart-role",
           functions: tuple[str, ...] = ("cart",)) -> RoleGrants:
    return RoleGrants(role_arn(name), name, functions, policies)


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def allows(document: dict[str, Any], action: str, resource: str) -> bool:
    request = AuthorizationRequest(session("cart-role", "cart"), action, resource)
    return evaluate(request, [document]).allowed


CART_ROLE = grants(policy(allow("dynamodb:*", "*")))
CART_CALLS = [record("dynamodb:GetItem"), record("dynamodb:PutItem"),
              record("dynamodb:GetItem")]


# --- the cart example -----------------------------------------------------------------


def test_cart_wildcard_grant_is_broad() -> None:
    """dynamodb:* on * is broad, and used only for GetItem and PutItem on the table."""
    cart = build_report(CART_CALLS, [CART_ROLE], "cloudformation").function("cart")

    [grant] = cart.grants
    assert (grant.action, grant.resource) == ("dynamodb:*", "*")
    assert grant.broad == ("every dynamodb action", "every resource")
    assert grant.used_actions == ("dynamodb:GetItem", "dynamodb:PutItem")
    assert grant.used_resources == (CART,)
    assert grant.calls == 3
    assert cart.broad_grants == (grant,)
    assert cart.unused_grants == ()


def test_cart_used_actions_counted() -> None:
    """Allowed calls are listed once per action and resource, with their count."""
    cart = build_report(CART_CALLS, [CART_ROLE], "sam").function("cart")

    assert cart.used == (UsedPermission("dynamodb:GetItem", CART, 2),
                         UsedPermission("dynamodb:PutItem", CART, 1))
    assert cart.denied == ()


def test_cart_suggestion_two_actions() -> None:
    """The suggestion allows exactly GetItem and PutItem on the Cart table."""
    cart = build_report(CART_CALLS, [CART_ROLE], "cloudformation").function("cart")

    assert cart.suggested.statements == (
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": [CART]},)
    document = json.loads(cart.suggested.text)
    assert allows(document, "dynamodb:GetItem", CART)
    assert allows(document, "dynamodb:PutItem", CART)
    assert not allows(document, "dynamodb:DeleteItem", CART)
    assert not allows(document, "dynamodb:GetItem", ORDERS)


def test_cart_table_lists_broad_grant() -> None:
    """The text names the broad grant, what it was used for, and the suggestion."""
    text = build_report(CART_CALLS, [CART_ROLE], "sam").render_text()
    words = " ".join(text.split())

    assert "1 function, 3 allowed calls, 0 denied calls, 1 grant to review" in words
    assert "broad dynamodb:* on * (every dynamodb action, every resource)" in words
    assert "used only for dynamodb:GetItem, dynamodb:PutItem on 1 resource (3 calls)" in words
    assert f"- {CART}" in text


# --- denials ----------------------------------------------------------------------------


def test_implicit_deny_without_grant() -> None:
    """A call no policy allows is listed with its reason and the statement allowing it."""
    denied = record("s3:GetObject", BUCKET_OBJECT, allowed=False)
    cart = build_report([*CART_CALLS, denied, denied], [CART_ROLE], "sam").function("cart")

    [call] = cart.denied
    assert (call.action, call.resource, call.calls) == ("s3:GetObject", BUCKET_OBJECT, 2)
    assert call.reason is Reason.IMPLICIT_DENY
    assert call.enforced
    assert call.explanation == "implicit deny: no identity-based policy allows it"
    assert call.statement == {"Effect": "Allow", "Action": "s3:GetObject",
                              "Resource": BUCKET_OBJECT}
    assert allows(dict(Version="2012-10-17", Statement=[dict(call.statement)]),
                  "s3:GetObject", BUCKET_OBJECT)


def test_explicit_deny_names_policy_and_sid() -> None:
    """An explicit deny names the identity-based policy and the statement's Sid."""
    guard = policy({"Sid": "NoDeletes", "Effect": "Deny", "Action": "dynamodb:DeleteItem",
                    "Resource": "*"}, name="guard")
    role = grants(policy(allow("dynamodb:*")), guard)
    deny_statement = parse_policy(guard.document).statements[0]
    denied = record("dynamodb:DeleteItem", allowed=False, reason=Reason.EXPLICIT_DENY,
                    matched=(MatchedStatement(PolicyType.IDENTITY, 1, deny_statement),))

    [call] = build_report([denied], [role], "sam").function("cart").denied

    assert call.reason is Reason.EXPLICIT_DENY
    assert call.explanation == ("explicit deny in an identity-based policy guard, statement "
                                "'NoDeletes', which no Allow can override")


def test_implicit_deny_with_grant_blames_limits() -> None:
    """A call an identity policy allows but that was denied points at the other limits."""
    role = grants(policy(allow("s3:GetObject", "arn:aws:s3:::receipts/*")))
    denied = record("s3:GetObject", BUCKET_OBJECT, allowed=False)

    [call] = build_report([denied], [role], "sam").function("cart").denied

    assert call.explanation == ("implicit deny, although app-policy, statement 1, allows it: "
                                "a Condition, a permissions boundary, a session policy or a "
                                "change to the role left it out")


def test_warn_mode_denials_join_suggestion() -> None:
    """Denied calls that went ahead in warn mode join the suggestion, enforced ones do not."""
    warned = record("s3:GetObject", BUCKET_OBJECT, allowed=False, enforced=False)
    enforced = record("s3:PutObject", BUCKET_OBJECT, allowed=False)
    cart = build_report([*CART_CALLS, warned, enforced], [CART_ROLE], "cdk").function("cart")

    document = json.loads(cart.suggested.text)
    assert allows(document, "s3:GetObject", BUCKET_OBJECT)
    assert not allows(document, "s3:PutObject", BUCKET_OBJECT)
    assert [(call.action, call.enforced) for call in cart.denied] == [
        ("s3:GetObject", False), ("s3:PutObject", True)]
    assert "went ahead in warn mode" in build_report(
        [warned], [CART_ROLE], "cdk").render_text()


# --- unused and broad grants ----------------------------------------------------------


def test_unused_grant_reported() -> None:
    """Each action and resource entry that no call matched is unused, and only those."""
    role = grants(policy(allow(["dynamodb:GetItem", "dynamodb:DeleteItem"], [CART, ORDERS])))
    cart = build_report([record("dynamodb:GetItem")], [role], "sam").function("cart")

    unused = {(grant.action, grant.resource) for grant in cart.unused_grants}
    assert unused == {("dynamodb:GetItem", ORDERS), ("dynamodb:DeleteItem", CART),
                      ("dynamodb:DeleteItem", ORDERS)}
    assert cart.broad_grants == ()


def test_actions_match_ignoring_case() -> None:
    """A grant written DynamoDB:getitem is used by a dynamodb:GetItem call."""
    role = grants(policy(allow("DynamoDB:getitem", CART)))
    cart = build_report([record("dynamodb:GetItem")], [role], "sam").function("cart")

    assert cart.unused_grants == ()
    assert cart.grants[0].used_actions == ("dynamodb:GetItem",)


def test_resources_match_with_case() -> None:
    """A grant on table/cart is not used by a call on table/Cart."""
    lower = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/cart"
    role = grants(policy(allow("dynamodb:GetItem", lower)))
    cart = build_report([record("dynamodb:GetItem")], [role], "sam").function("cart")

    assert [(g.action, g.resource) for g in cart.unused_grants] == [("dynamodb:GetItem",
                                                                     lower)]


def test_not_action_flagged_broad() -> None:
    """A NotAction statement is one broad grant, used by calls outside its list."""
    role = grants(policy({"Effect": "Allow", "NotAction": ["iam:*", "sts:*"],
                          "Resource": "*"}))
    calls = [record("dynamodb:GetItem"), record("iam:CreateUser", "*", allowed=False)]
    cart = build_report(calls, [role], "sam").function("cart")

    [grant] = cart.grants
    assert grant.action == "NotAction iam:*, sts:*"
    assert grant.broad == ("NotAction", "every resource")
    assert grant.used_actions == ("dynamodb:GetItem",)


def test_not_resource_flagged_broad() -> None:
    """A NotResource statement is broad, and unused when every call was on its list."""
    role = grants(policy({"Effect": "Allow", "Action": "dynamodb:GetItem",
                          "NotResource": [CART]}))
    cart = build_report([record("dynamodb:GetItem")], [role], "sam").function("cart")

    [grant] = cart.grants
    assert grant.resource == f"NotResource {CART}"
    assert grant.broad == ("NotResource",)
    assert not grant.used
    assert cart.unused_grants == (grant,)


def test_service_wide_arn_flagged_broad() -> None:
    """An ARN whose resource part is * covers every resource of the service."""
    role = grants(policy(allow("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:*")))
    cart = build_report([record("dynamodb:GetItem")], [role], "sam").function("cart")

    assert cart.grants[0].broad == ("every dynamodb resource",)
    assert cart.grants[0].used


def test_policy_variable_read_as_wildcard() -> None:
    """A resource with a policy variable counts as used by calls it may match."""
    role = grants(policy(allow("s3:GetObject", "arn:aws:s3:::receipts/${aws:userid}/*")))
    calls = [record("s3:GetObject", "arn:aws:s3:::receipts/AROA1:cart/a.json")]
    cart = build_report(calls, [role], "sam").function("cart")

    assert cart.unused_grants == ()


def test_lambda_log_grants_not_unused() -> None:
    """Grants of the actions Lambda performs with the role (logs) are never unused.

    The actions are those of AWSLambdaBasicExecutionRole:
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
    and of the stream polling policies, for example
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaDynamoDBExecutionRole.html
    """
    basic = policy(allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]),
                   name="AWSLambdaBasicExecutionRole", kind="managed")
    streams = policy(allow(["dynamodb:DescribeStream", "dynamodb:GetRecords",
                            "dynamodb:GetShardIterator", "dynamodb:ListStreams"], CART),
                     name="streams")
    report = build_report(CART_CALLS, [grants(policy(allow("dynamodb:GetItem", CART)),
                                              basic, streams)], "sam")
    cart = report.function("cart")

    assert cart.unused_grants == ()
    assert sum(1 for grant in cart.grants if grant.lambda_service) == 7
    assert "Not reviewed: 7 grants of actions that Lambda performs" in report.render_text()


def test_shared_role_judged_by_all_functions() -> None:
    """Two functions with one role: a grant used by either is used, and text shows it once."""
    role = grants(policy(allow(["dynamodb:GetItem", "dynamodb:PutItem"], CART)),
                  functions=("reader", "writer"))
    calls = [record("dynamodb:GetItem", function="reader"),
             record("dynamodb:PutItem", function="writer")]
    report = build_report(calls, [role], "sam")

    reader = report.function("reader")
    assert reader.unused_grants == ()
    assert reader.used == (UsedPermission("dynamodb:GetItem", CART, 1),)
    assert reader.role_functions == ("reader", "writer")
    assert reader.suggested.statements == (
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": [CART]},)
    assert "Grants and suggested policy: as for function reader" in report.render_text()


def test_function_without_calls_listed() -> None:
    """A function with a role but no recorded call is listed, its grants unused."""
    report = build_report([], [grants(policy(allow("dynamodb:GetItem", CART)))], "sam")

    cart = report.function("cart")
    assert cart.used == ()
    assert len(cart.unused_grants) == 1
    assert cart.suggested.statements == ()
    assert "Allowed calls: none recorded" in report.render_text()


def test_calls_without_function_grouped_by_role() -> None:
    """Calls of a role session with no function are grouped by role, users by principal."""
    machine = record("lambda:InvokeFunction", "*", function=None, role="machine-role")
    user = DecisionRecord(f"arn:aws:iam::{ACCOUNT}:user/alice", None, None, "s3", "GetObject",
                          "s3:GetObject", BUCKET_OBJECT, True, Reason.ALLOWED, True)
    report = build_report([machine, user], [], "cloudformation")

    assert [(entry.kind, entry.name) for entry in report.principals] == [
        ("role", "machine-role"), ("principal", f"arn:aws:iam::{ACCOUNT}:user/alice")]
    assert report.principals[0].problems == (
        "the policies of role machine-role are not known, so its grants are not reviewed",)


def test_malformed_policy_noted() -> None:
    """A policy the engine cannot parse is named in a note instead of failing the report."""
    broken = NamedPolicy("broken", {"Statement": [{"Effect": "Maybe"}]}, "inline")
    cart = build_report(CART_CALLS, [grants(broken)], "sam").function("cart")

    assert cart.grants == ()
    assert len(cart.problems) == 1
    assert cart.problems[0].startswith("policy broken of role cart-role could not be read")


def test_unknown_function_raises_key_error() -> None:
    """Asking for a function that is not in the report names the known functions."""
    report = build_report(CART_CALLS, [CART_ROLE], "sam")

    with pytest.raises(KeyError, match="the functions are: cart"):
        report.function("checkout")


# --- merge and JSON -------------------------------------------------------------------


def test_merge_adds_parts() -> None:
    """Merged parts count every call once and combine the roles' functions."""
    first = build_report(CART_CALLS[:2], [grants(policy(allow("dynamodb:*")),
                                                 functions=("cart",))], "sam")
    second = build_report([record("dynamodb:GetItem", function="checkout")],
                          [grants(policy(allow("dynamodb:*")), functions=("checkout",))],
                          "sam")
    merged = IamReport().merge(first, second)

    assert merged.template_format == "sam"
    assert merged.records == (*first.records, *second.records)
    [role] = merged.roles
    assert role.function_names == ("cart", "checkout")
    assert len(role.policies) == 1
    assert merged.principals[0].grants[0].calls == 3


def test_merge_rejects_mixed_formats() -> None:
    """Parts of applications in different formats do not merge."""
    with pytest.raises(ValueError, match="different template formats: cdk, sam"):
        build_report([], [], "sam").merge(build_report([], [], "cdk"))


def test_json_round_trip_keeps_report() -> None:
    """to_json and from_json give back an equal report, through real JSON text."""
    conditional = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "Tagged", "Effect": "Deny", "Action": ["s3:*"], "NotResource": [BUCKET_OBJECT],
         "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": ["cart", "ops"]},
                       "Bool": {"aws:SecureTransport": "false"}}}]}).statements[0]
    bucket = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["*"], "Service": "lambda.amazonaws.com"},
         "Action": "s3:GetObject", "Resource": BUCKET_OBJECT}]}, kind=PolicyKind.RESOURCE,
    ).statements[0]
    records = [
        *CART_CALLS,
        record("s3:PutObject", BUCKET_OBJECT, allowed=False, reason=Reason.EXPLICIT_DENY,
               matched=(MatchedStatement(PolicyType.IDENTITY, 0, conditional),)),
        record("s3:GetObject", BUCKET_OBJECT,
               matched=(MatchedStatement(PolicyType.RESOURCE, 0, bucket),)),
    ]
    report = build_report(records, [CART_ROLE], "serverless")

    restored = IamReport.from_json(json.loads(json.dumps(report.to_json())))

    assert restored == report
    assert restored.records[3].matched_statements[0].statement == conditional
    assert restored.records[4].matched_statements[0].statement == bucket


def test_json_writes_every_record_field() -> None:
    """The JSON form of a record has one key per DecisionRecord field."""
    written = build_report(CART_CALLS[:1], [], "sam").to_json()["records"][0]

    assert set(written) == {field.name for field in dataclasses.fields(DecisionRecord)}


def test_json_analysis_is_readable() -> None:
    """With analysis, the JSON lists each function's calls, grants and suggestion."""
    data = json.loads(json.dumps(build_report(CART_CALLS, [CART_ROLE], "sam").to_json(
        analysis=True)))

    [cart] = data["principals"]
    assert cart["name"] == "cart"
    assert cart["used"][0] == {"action": "dynamodb:GetItem", "resource": CART, "calls": 2}
    assert cart["grants"][0]["broad"] == ["every dynamodb action", "every resource"]
    assert cart["suggested"]["statements"][0]["Action"] == ["dynamodb:GetItem",
                                                            "dynamodb:PutItem"]
    assert IamReport.from_json(data).records == build_report(CART_CALLS, [], "sam").records


def test_from_json_rejects_other_documents() -> None:
    """A document that is not a report, or of another version, is rejected by name."""
    with pytest.raises(ValueError, match="not a windtunnel IAM report"):
        IamReport.from_json({"records": []})
    with pytest.raises(ValueError, match="version 99 is not supported"):
        IamReport.from_json({"format": "windtunnel-iam-report", "version": 99})
    with pytest.raises(ValueError, match="invalid windtunnel IAM report"):
        IamReport.from_json({"format": "windtunnel-iam-report", "version": 1})


def test_build_report_rejects_unknown_format() -> None:
    """The template format must be one windtunnel reads."""
    with pytest.raises(ValueError, match="template format 'terraform' is invalid"):
        build_report([], [], "terraform")  # type: ignore[arg-type]


# --- suggestions in each template syntax ----------------------------------------------


SUGGESTION_CALLS = [record("dynamodb:GetItem"), record("dynamodb:PutItem"),
                    record("dynamodb:Query", ORDERS), record("events:PutEvents", "*")]
EXPECTED_STATEMENTS = [
    {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": ["*"]},
    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": [CART]},
    {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": [ORDERS]},
]


def test_grouping_is_deterministic() -> None:
    """Statements group resources by their actions, sorted, whatever the call order."""
    forward = build_report(SUGGESTION_CALLS, [CART_ROLE], "cdk").function("cart")
    backward = build_report(SUGGESTION_CALLS[::-1], [CART_ROLE], "cdk").function("cart")

    assert list(forward.suggested.statements) == EXPECTED_STATEMENTS
    assert forward.suggested.text == backward.suggested.text


def test_shared_resources_share_statement() -> None:
    """Two tables used with the same actions share one statement."""
    calls = [record("dynamodb:GetItem"), record("dynamodb:GetItem", ORDERS)]
    cart = build_report(calls, [CART_ROLE], "cdk").function("cart")

    assert cart.suggested.statements == (
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [CART, ORDERS]},)


@pytest.mark.parametrize("template_format", ["cloudformation", "cdk"])
def test_policy_document_syntax(template_format: Any) -> None:
    """CloudFormation and the CDK get a JSON PolicyDocument with Version 2012-10-17.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
    """
    suggested = build_report(SUGGESTION_CALLS, [CART_ROLE], template_format).function(
        "cart").suggested

    document = json.loads(suggested.text)
    assert document == {"Version": "2012-10-17", "Statement": EXPECTED_STATEMENTS}
    assert len(parse_policy(document).statements) == 3
    assert "role cart-role" in suggested.location


def test_sam_syntax_through_transform(tmp_path: Path) -> None:
    """SAM's transform turns the suggested Policies into the function role's policy."""
    suggested = build_report(SUGGESTION_CALLS, [CART_ROLE], "sam").function("cart").suggested
    policies = yaml.safe_load(suggested.text)
    assert policies == {"Policies": [{"Statement": EXPECTED_STATEMENTS}]}

    (tmp_path / "template.yaml").write_text(yaml.safe_dump({
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"Cart": {"Type": "AWS::Serverless::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "app.handler",
            "InlineCode": "def handler(event, context): pass", **policies}}},
    }))
    [template] = load_application(tmp_path)

    role = template.body["Resources"]["CartRole"]["Properties"]
    assert [p["PolicyDocument"] for p in role["Policies"]] == [
        {"Statement": EXPECTED_STATEMENTS}]


def _compile_serverless(tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {"service": "cart", "provider": {"name": "aws",
                                                           "runtime": "python3.12"},
                            "functions": {"cart": {"handler": "app.handler"}}}
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    (tmp_path / "serverless.yml").write_text(yaml.safe_dump(base))
    [template] = load_application(tmp_path)
    resources: dict[str, Any] = template.body["Resources"]
    return resources


def test_serverless_shared_role_syntax(tmp_path: Path) -> None:
    """The Framework's shared role gets provider.iam.role.statements.

    https://www.serverless.com/framework/docs/providers/aws/guide/iam
    """
    role = grants(policy(allow("dynamodb:*")), name="cart-dev-us-east-1-lambdaRole",
                  functions=("cart-dev-cart",))
    calls = [dataclasses.replace(call, function_name="cart-dev-cart",
                                 role_arn=role.role_arn) for call in SUGGESTION_CALLS]
    suggested = build_report(calls, [role], "serverless").function("cart-dev-cart").suggested

    rendered = yaml.safe_load(suggested.text)
    assert rendered == {"provider": {"iam": {"role": {"statements": EXPECTED_STATEMENTS}}}}
    assert suggested.location.startswith("provider.iam.role.statements in serverless.yml")

    resources = _compile_serverless(tmp_path, rendered)
    statements = resources["IamRoleLambdaExecution"]["Properties"]["Policies"][0][
        "PolicyDocument"]["Statement"]
    assert statements[-3:] == EXPECTED_STATEMENTS


def test_serverless_function_role_syntax(tmp_path: Path) -> None:
    """A serverless-iam-roles-per-function role gets the function's iamRoleStatements.

    https://github.com/functionalone/serverless-iam-roles-per-function
    """
    role = grants(policy(allow("dynamodb:*")), name="cart-dev-cart-us-east-1-lambdaRole",
                  functions=("cart-dev-cart",))
    calls = [dataclasses.replace(call, function_name="cart-dev-cart",
                                 role_arn=role.role_arn) for call in SUGGESTION_CALLS]
    suggested = build_report(calls, [role], "serverless").function("cart-dev-cart").suggested

    rendered = yaml.safe_load(suggested.text)
    assert rendered == {"iamRoleStatements": EXPECTED_STATEMENTS}
    assert suggested.location.startswith("functions.<key>.iamRoleStatements")

    resources = _compile_serverless(tmp_path, {
        "plugins": ["serverless-iam-roles-per-function"],
        "functions": {"cart": {"handler": "app.handler", **rendered}}})
    statements = resources["CartIamRoleLambdaExecution"]["Properties"]["Policies"][0][
        "PolicyDocument"]["Statement"]
    assert statements[-3:] == EXPECTED_STATEMENTS


def test_serverless_custom_role_gets_list() -> None:
    """A role named neither way gets the bare statement list and both places to put it."""
    suggested = build_report(SUGGESTION_CALLS, [CART_ROLE], "serverless").function(
        "cart").suggested

    assert yaml.safe_load(suggested.text) == EXPECTED_STATEMENTS
    assert "provider.iam.role.statements" in suggested.location
    assert "iamRoleStatements" in suggested.location


# --- text -------------------------------------------------------------------------------


def test_text_fits_hundred_columns() -> None:
    """Lines stay within 100 columns unless one ARN alone is longer."""
    role = grants(policy(allow("dynamodb:*"),
                         allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                               "arn:aws:s3:::receipts-with-a-rather-long-bucket-name/*")))
    calls = [*SUGGESTION_CALLS, record("s3:GetObject", BUCKET_OBJECT, allowed=False)]
    text = build_report(calls, [role], "sam").render_text()

    assert "denied" in text
    for line in text.splitlines():
        assert len(line) <= 100 or len(line.split()[-1]) > 60, line


def test_empty_report_says_so() -> None:
    """A report without decisions or roles states that nothing was recorded."""
    assert IamReport().render_text() == (
        "windtunnel IAM report: no authorization decisions were recorded.\n")


def test_service_denial_suggests_resource_policy() -> None:
    """A delivery a service could not make is fixed in the target's resource policy, so the
    statement that would allow it names the service as its Principal.

    Source: https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
    (the queue policy allows sns.amazonaws.com to send messages)
    """
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
    denied = DecisionRecord("sns.amazonaws.com", None, None, "sqs", None, "sqs:SendMessage",
                            queue, False, Reason.IMPLICIT_DENY, True)
    report = build_report([denied], [], "sam")

    [entry] = report.principals
    [call] = entry.denied
    assert call.statement == {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                              "Action": "sqs:SendMessage", "Resource": queue}
