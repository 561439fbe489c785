"""The Lambda execution roles: the Framework's shared role and per-function roles.

The shared role follows ``package/lib/merge-iam-templates.js`` and
``iam-role-lambda-execution-template.json`` of serverless/serverless. Per-function roles
follow the serverless-iam-roles-per-function plugin (``src/lib/index.ts``), which names
them ``{NormalizedFunctionName}IamRoleLambdaExecution``.
"""

from __future__ import annotations

import copy
from typing import Any

from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext

__all__ = ["compile_function_roles", "compile_shared_role", "existing_role_provided"]

PER_FUNCTION_PLUGIN = "serverless-iam-roles-per-function"

_LOG_ARN = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"


def existing_role_provided(role: Any) -> bool:
    """Whether ``provider.iam.role`` names a role instead of configuring the generated one."""
    if isinstance(role, str):
        return True
    return isinstance(role, dict) and any(key.startswith("Fn::") or key == "Ref" for key in role)


def _iam_role_config(ctx: CompileContext) -> Any:
    iam = ctx.provider.get("iam") or {}
    return iam.get("role", {}) if isinstance(iam, dict) else {}


def compile_shared_role(ctx: CompileContext) -> None:
    """Add IamRoleLambdaExecution unless every function, or the provider, brings a role."""
    functions = ctx.functions
    if not functions:
        return
    role_config = _iam_role_config(ctx)
    if existing_role_provided(role_config) or "role" in ctx.provider:
        return
    if isinstance(role_config, dict) and role_config.get("mode") == "perFunction":
        # NOTE: the Framework v4 native per-function role mode is not compiled.
        raise ctx.unsupported(
            "provider.iam.role.mode 'perFunction' is not supported; use function-level "
            f"iamRoleStatements with the {PER_FUNCTION_PLUGIN} plugin instead",
            "provider.iam.role.mode",
        )
    if all("role" in function for function in functions.values()):
        return
    if not isinstance(role_config, dict):
        role_config = {}

    prefix = f"/aws/lambda/{ctx.service}-{ctx.stage}"
    create_resources: list[Any] = []
    put_resources: list[Any] = []
    canonical = False
    for function in functions.values():
        name = function.get("name")
        if not name or str(name).startswith(f"{ctx.service}-{ctx.stage}"):
            canonical = True
            continue
        create_resources.append({"Fn::Sub": f"{_LOG_ARN}/aws/lambda/{name}:*"})
        put_resources.append({"Fn::Sub": f"{_LOG_ARN}/aws/lambda/{name}:*:*"})
    if canonical:
        create_resources.insert(0, {"Fn::Sub": f"{_LOG_ARN}{prefix}*:*"})
        put_resources.insert(0, {"Fn::Sub": f"{_LOG_ARN}{prefix}*:*:*"})

    statements: list[Any] = [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource"],
            "Resource": create_resources,
        },
        {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": put_resources},
    ]
    custom_statements = role_config.get("statements") or ctx.provider.get("iamRoleStatements")
    if custom_statements:
        statements.extend(copy.deepcopy(custom_statements))

    properties: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com"]},
                    "Action": ["sts:AssumeRole"],
                }
            ],
        },
        "Policies": [
            {
                "PolicyName": {"Fn::Join": ["-", [ctx.service, ctx.stage, "lambda"]]},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }
        ],
        "Path": role_config.get("path") or "/",
        "RoleName": role_config.get("name") or _role_name(ctx),
    }
    managed = role_config.get("managedPolicies") or ctx.provider.get("iamManagedPolicies")
    if managed:
        properties["ManagedPolicyArns"] = list(managed)
    tags = role_config.get("tags")
    if isinstance(tags, dict):
        properties["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    boundary = role_config.get("permissionsBoundary") or role_config.get("permissionBoundary")
    boundary = boundary or ctx.provider.get("rolePermissionsBoundary")
    if boundary:
        properties["PermissionsBoundary"] = boundary

    ctx.resources[naming.ROLE_LOGICAL_ID] = {"Type": "AWS::IAM::Role", "Properties": properties}


def _role_name(ctx: CompileContext, function_key: str | None = None) -> dict[str, Any]:
    parts: list[Any] = [ctx.service, ctx.stage, {"Ref": "AWS::Region"}, "lambdaRole"]
    if function_key is None:
        return {"Fn::Join": ["-", parts]}

    parts.insert(2, function_key)
    # The plugin drops the "lambdaRole" suffix when the name would pass IAM's 64 characters.
    length = sum(len(ctx.region) if isinstance(p, dict) else len(p) for p in parts)
    if length + len(parts) - 1 > 64:
        parts.pop()
    length = sum(len(ctx.region) if isinstance(p, dict) else len(p) for p in parts)
    if length + len(parts) - 1 > 64:
        raise ctx.invalid(
            f"auto generated role name for function: {function_key} is too long (over 64 "
            "chars). Try setting a custom role name using the property: iamRoleStatementsName.",
            f"functions.{function_key}",
        )
    return {"Fn::Join": ["-", parts]}


def compile_function_roles(ctx: CompileContext) -> None:
    """Give each function with ``iamRoleStatements`` its own role, as the plugin does."""
    shared = ctx.resources.get(naming.ROLE_LOGICAL_ID)
    plugin_settings = (ctx.config.get("custom") or {}).get(PER_FUNCTION_PLUGIN) or {}
    default_inherit = bool(plugin_settings.get("defaultInherit"))

    for key, function in ctx.functions.items():
        if "iamRoleStatements" not in function:
            continue
        if not ctx.uses_plugin(PER_FUNCTION_PLUGIN):
            ctx.warnings.append(
                f"functions.{key}.iamRoleStatements is ignored because the {PER_FUNCTION_PLUGIN} "
                "plugin is not listed under plugins"
            )
            continue
        if "role" in function or shared is None:
            continue

        role = copy.deepcopy(shared)
        statements: list[Any] = [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents"],
                "Resource": [{"Fn::Sub": f"{_LOG_ARN}/aws/lambda/{ctx.function_name(key)}:*:*"}],
            }
        ]
        statements.extend(_event_source_statements(ctx, key))
        inherit = function.get("iamRoleStatementsInherit")
        if inherit or (default_inherit and inherit is not False):
            role_config = _iam_role_config(ctx)
            inherited = (
                role_config.get("statements") if isinstance(role_config, dict) else None
            ) or ctx.provider.get("iamRoleStatements")
            statements.extend(copy.deepcopy(inherited or []))
        statements.extend(copy.deepcopy(function.get("iamRoleStatements") or []))

        properties = role["Properties"]
        properties["Policies"][0]["PolicyDocument"]["Statement"] = statements
        properties["ManagedPolicyArns"] = []
        properties["RoleName"] = function.get("iamRoleStatementsName") or _role_name(ctx, key)
        if function.get("iamPermissionsBoundary"):
            properties["PermissionsBoundary"] = function["iamPermissionsBoundary"]

        role_id = f"{naming.normalize_resource_name(key)}{naming.ROLE_LOGICAL_ID}"
        ctx.resources[role_id] = role
        _point_function_at_role(ctx, key, role_id)


def _point_function_at_role(ctx: CompileContext, function_key: str, role_id: str) -> None:
    function_id = naming.lambda_logical_id(function_key)
    resource = ctx.resources[function_id]
    resource["Properties"]["Role"] = {"Fn::GetAtt": [role_id, "Arn"]}
    depends_on = [d for d in resource.get("DependsOn", []) if d != naming.ROLE_LOGICAL_ID]
    resource["DependsOn"] = [role_id, *depends_on]

    # Event source mappings wait for the role that lets the function read the source.
    for resource in ctx.resources.values():
        if resource.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        target = resource["Properties"].get("FunctionName")
        if isinstance(target, dict) and target.get("Fn::GetAtt", [None])[0] == function_id:
            resource["DependsOn"] = role_id


def _event_source_statements(ctx: CompileContext, function_key: str) -> list[dict[str, Any]]:
    sqs: list[Any] = []
    dynamodb: list[Any] = []
    kinesis: list[Any] = []
    for event in ctx.events(function_key):
        if "sqs" in event:
            config = event["sqs"]
            sqs.append(config.get("arn") if isinstance(config, dict) else config)
        elif "stream" in event:
            config = event["stream"]
            arn = config.get("arn") if isinstance(config, dict) else config
            stream_type = config.get("type") if isinstance(config, dict) else None
            if stream_type is None and isinstance(arn, str):
                stream_type = arn.split(":")[2]
            (dynamodb if stream_type == "dynamodb" else kinesis).append(arn)

    statements: list[dict[str, Any]] = []
    if dynamodb:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:DescribeStream",
                    "dynamodb:ListStreams",
                ],
                "Resource": dynamodb,
            }
        )
    if kinesis:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:DescribeStream",
                    "kinesis:ListStreams",
                ],
                "Resource": kinesis,
            }
        )
    if sqs:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": sqs,
            }
        )
    return statements
