"""State machines of the serverless-step-functions plugin, with their roles and outputs.

Follows ``lib/naming.js``, ``lib/deploy/stepFunctions/compileStateMachines.js`` and
``compileIamRole.js`` of serverless-operations/serverless-step-functions.
"""

from __future__ import annotations

import json
import re
from typing import Any

from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext

__all__ = ["PLUGIN", "compile_state_machines", "state_machine_logical_id"]

PLUGIN = "serverless-step-functions"

_INTRINSICS = ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::ImportValue", "Fn::Join")


def state_machine_logical_id(name: str, state_machine: dict[str, Any]) -> str:
    """Return the plugin's getStateMachineLogicalId for one state machine."""
    custom = state_machine.get("id") or state_machine.get("name")
    if custom:
        return naming.normalize_resource_name(str(custom))
    return f"{naming.normalize_resource_name(name)}StepFunctionsStateMachine"


def _output_logical_id(name: str, state_machine: dict[str, Any]) -> str:
    custom = state_machine.get("id") or state_machine.get("name")
    if custom:
        return f"{naming.normalize_resource_name(str(custom))}Arn"
    return f"{naming.normalize_resource_name(name)}StepFunctionsStateMachineArn"


class _DefinitionWriter:
    """Turn a definition with intrinsics into a DefinitionString, as the plugin does."""

    def __init__(self, ctx: CompileContext) -> None:
        self.ctx = ctx
        self.parameters: dict[str, Any] = {}
        self.function_arns: list[str] = []
        self.other_references: list[Any] = []

    def replace(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)) in _INTRINSICS:
                return self._placeholder(value)
            return {key: self.replace(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.replace(item) for item in value]
        return value

    def _placeholder(self, intrinsic: dict[str, Any]) -> str:
        function_key = self._local_function(intrinsic)
        if function_key is not None:
            # The plugin inlines a static ARN so the state machine need not wait for the function.
            arn = (
                "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
                f"{self.ctx.function_name(function_key)}"
            )
            self.function_arns.append(arn)
            return arn
        name = f"StateMachineParameter{len(self.parameters)}"
        self.parameters[name] = intrinsic
        self.other_references.append(intrinsic)
        return f"${{{name}}}"

    def _local_function(self, intrinsic: dict[str, Any]) -> str | None:
        target = intrinsic.get("Fn::GetAtt")
        if isinstance(target, str):
            target = target.split(".", 1)
        if not isinstance(target, list) or len(target) != 2 or target[1] != "Arn":
            return None
        for key in self.ctx.functions:
            if target[0] in {key, naming.lambda_logical_id(key)}:
                return key
        return None


def compile_state_machines(ctx: CompileContext) -> None:
    """Add each state machine of ``stepFunctions.stateMachines``, its role and its output."""
    step_functions = ctx.config.get("stepFunctions") or {}
    state_machines = step_functions.get("stateMachines") or {}
    if not state_machines:
        return
    if not ctx.uses_plugin(PLUGIN):
        ctx.warnings.append(
            f"stepFunctions is ignored because the {PLUGIN} plugin is not listed under plugins"
        )
        return
    if step_functions.get("activities"):
        # NOTE: Step Functions activities are not compiled.
        raise ctx.unsupported(
            "stepFunctions.activities is not supported", "stepFunctions.activities"
        )

    for name, state_machine in state_machines.items():
        where = f"stepFunctions.stateMachines.{name}"
        state_machine = state_machine or {}
        if state_machine.get("events"):
            # NOTE: http, schedule and eventBridge events of state machines are not compiled.
            raise ctx.unsupported(f"events of state machine '{name}'", f"{where}.events")
        if "definition" not in state_machine:
            raise ctx.invalid(f"state machine '{name}' has no definition", where)

        logical_id = state_machine_logical_id(name, state_machine)
        writer = _DefinitionWriter(ctx)
        definition_string = _definition_string(writer, state_machine["definition"])

        depends_on: list[str] = []
        if state_machine.get("role"):
            role_arn: Any = state_machine["role"]
        else:
            role_id = f"{logical_id}Role"
            role_arn = {"Fn::GetAtt": [role_id, "Arn"]}
            depends_on.append(role_id)
            ctx.resources[role_id] = _role(ctx, writer)
        extra = state_machine.get("dependsOn")
        if extra:
            depends_on.extend([extra] if isinstance(extra, str) else extra)

        properties: dict[str, Any] = {
            "DefinitionString": definition_string,
            "RoleArn": role_arn,
            "StateMachineType": state_machine.get("type"),
        }
        tags = {**(ctx.provider.get("tags") or {}), **(state_machine.get("tags") or {})}
        if state_machine.get("inheritGlobalTags") is False:
            tags = dict(state_machine.get("tags") or {})
        if tags:
            properties["Tags"] = [{"Key": k, "Value": str(v)} for k, v in tags.items()]
        if state_machine.get("name"):
            properties["StateMachineName"] = state_machine["name"]
        resource: dict[str, Any] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": properties,
            "DependsOn": depends_on,
        }
        if state_machine.get("retain"):
            resource["DeletionPolicy"] = "Retain"
        ctx.resources[logical_id] = resource
        if step_functions.get("noOutput") is not True:
            ctx.outputs[_output_logical_id(name, state_machine)] = {
                "Description": "Current StateMachine Arn",
                "Value": {"Ref": logical_id},
            }


def _definition_string(writer: _DefinitionWriter, definition: Any) -> Any:
    if isinstance(definition, str):
        return definition
    replaced = writer.replace(definition)
    text = json.dumps(replaced, indent=2)
    # The plugin turns #{AWS::Region}-style pseudo parameters into Fn::Sub variables.
    text, pseudo_count = re.subn(r"#\{([^}]+)\}", r"${\1}", text)
    if not writer.parameters and not writer.function_arns and not pseudo_count:
        return text
    if writer.parameters:
        return {"Fn::Sub": [text, writer.parameters]}
    return {"Fn::Sub": text}


def _role(ctx: CompileContext, writer: _DefinitionWriter) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    if writer.function_arns:
        resources: list[Any] = []
        for arn in dict.fromkeys(writer.function_arns):
            resources.extend([{"Fn::Sub": arn}, {"Fn::Sub": f"{arn}:*"}])
        statements.append(
            {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": resources}
        )
    # NOTE: the plugin derives permissions for other task types (DynamoDB, SNS, SQS, nested
    # state machines...) from the definition; those are not generated here.
    if not statements:
        statements.append({"Effect": "Deny", "Action": "*", "Resource": "*"})
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {
                            "Service": {"Fn::Sub": "states.${AWS::Region}.amazonaws.com"}
                        },
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": f"{ctx.stage}-{ctx.service}-statemachine",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }
