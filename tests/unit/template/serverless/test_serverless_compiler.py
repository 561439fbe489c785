"""Service-level behavior of the compiler: defaults, plugins, resources, layers, state machines.

Sources: https://www.serverless.com/framework/docs/providers/aws/guide/serverless.yml,
https://www.serverless.com/framework/docs/providers/aws/guide/resources,
https://www.serverless.com/framework/docs/providers/aws/guide/layers and
https://github.com/serverless-operations/serverless-step-functions (README, lib/naming.js).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.serverless import ServerlessTemplate, compile_serverless

Compile = Callable[..., ServerlessTemplate]


def test_defaults(compile_yaml: Compile) -> None:
    """Memory 1024, timeout 6, stage dev, us-east-1 and a versioned function are the defaults."""
    template = compile_yaml("functions:\n  hello:\n    handler: h.main\n")
    resources = template.body["Resources"]
    properties = resources["HelloLambdaFunction"]["Properties"]
    assert (properties["MemorySize"], properties["Timeout"]) == (1024, 6)
    assert template.stack_name == "svc-dev"
    assert template.region == "us-east-1"
    versions = [k for k in resources if k.startswith("HelloLambdaVersion")]
    assert len(versions) == 1
    assert template.body["Outputs"]["HelloLambdaFunctionQualifiedArn"]["Value"] == {
        "Ref": versions[0]
    }
    assert resources["HelloLambdaFunction"]["Properties"]["Role"] == {
        "Fn::GetAtt": ["IamRoleLambdaExecution", "Arn"]
    }


def test_version_functions_false(compile_yaml: Compile) -> None:
    """provider.versionFunctions: false leaves out the version and its output."""
    template = compile_yaml(
        "  versionFunctions: false\nfunctions:\n  hello:\n    handler: h.main\n"
    )
    assert not [k for k in template.body["Resources"] if "LambdaVersion" in k]
    assert "HelloLambdaFunctionQualifiedArn" not in template.body["Outputs"]


def test_stack_name_and_provider_settings(compile_yaml: Compile) -> None:
    """stackName, tags, reservedConcurrency, layers and an ARN role are carried over."""
    template = compile_yaml(
        "  stackName: custom-stack\n  tags:\n    team: cart\n"
        "functions:\n  hello:\n    handler: h.main\n    reservedConcurrency: 2\n"
        "    role: arn:aws:iam::123456789012:role/existing\n"
        "    layers:\n      - arn:aws:lambda:us-east-1:123456789012:layer:deps:1\n"
    )
    properties = template.body["Resources"]["HelloLambdaFunction"]["Properties"]
    assert template.stack_name == "custom-stack"
    assert properties["Tags"] == [{"Key": "team", "Value": "cart"}]
    assert properties["ReservedConcurrentExecutions"] == 2
    assert properties["Role"] == "arn:aws:iam::123456789012:role/existing"
    assert properties["Layers"] == ["arn:aws:lambda:us-east-1:123456789012:layer:deps:1"]
    # Every function brings its own role, so the Framework generates none.
    assert "IamRoleLambdaExecution" not in template.body["Resources"]


def test_managed_policies_and_old_statements(compile_yaml: Compile) -> None:
    """iamRoleStatements (the older key) and iam.role.managedPolicies reach the shared role."""
    template = compile_yaml(
        "  iamRoleStatements:\n    - Effect: Allow\n      Action: s3:GetObject\n"
        "      Resource: '*'\n"
        "  iam:\n    role:\n      managedPolicies:\n"
        "        - arn:aws:iam::aws:policy/ReadOnlyAccess\n"
        "functions:\n  hello:\n    handler: h.main\n"
    )
    role = template.body["Resources"]["IamRoleLambdaExecution"]["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert role["Policies"][0]["PolicyDocument"]["Statement"][-1]["Action"] == "s3:GetObject"


def test_resources_override_generated(compile_yaml: Compile) -> None:
    """A user resource with a generated logical ID is merged into the generated one."""
    template = compile_yaml(
        "functions:\n  hello:\n    handler: h.main\n"
        "resources:\n  Resources:\n    HelloLogGroup:\n      Properties:\n"
        "        RetentionInDays: 30\n  Conditions:\n    IsProd: !Equals [prod, dev]\n"
    )
    body = template.body
    assert body["Resources"]["HelloLogGroup"]["Properties"] == {
        "LogGroupName": "/aws/lambda/svc-dev-hello",
        "RetentionInDays": 30,
    }
    assert body["Conditions"] == {"IsProd": {"Fn::Equals": ["prod", "dev"]}}


def test_unknown_plugin_warns(compile_yaml: Compile) -> None:
    """An unknown plugin is recorded and produces a warning, not an error."""
    template = compile_yaml(
        "plugins:\n  - serverless-offline\n  - serverless-domain-manager\n"
        "functions:\n  hello:\n    handler: h.main\n"
    )
    assert template.plugins == ["serverless-offline", "serverless-domain-manager"]
    assert len(template.warnings) == 1
    assert "serverless-domain-manager" in template.warnings[0]


def test_layers(compile_yaml: Compile) -> None:
    """A layer gets {Name}LambdaLayer with its directory as code path and a QualifiedArn output."""
    template = compile_yaml(
        "layers:\n  deps:\n    path: layer\n    compatibleRuntimes: [python3.12]\n"
        "functions:\n  hello:\n    handler: h.main\n    layers:\n      - !Ref DepsLambdaLayer\n"
    )
    layer = template.body["Resources"]["DepsLambdaLayer"]
    assert layer["Type"] == "AWS::Lambda::LayerVersion"
    assert layer["Metadata"]["windtunnel:CodePath"].endswith("/layer")
    assert template.body["Outputs"]["DepsLambdaLayerQualifiedArn"]["Value"] == {
        "Ref": "DepsLambdaLayer"
    }


def test_package_artifact_is_code_path(compile_yaml: Compile) -> None:
    """A function's package.artifact is recorded as its code path."""
    template = compile_yaml(
        "functions:\n  hello:\n    handler: h.main\n    package:\n      artifact: build/hello.zip\n"
    )
    metadata = template.body["Resources"]["HelloLambdaFunction"]["Metadata"]
    assert metadata["windtunnel:CodePath"].endswith("/build/hello.zip")


def test_state_machine(compile_yaml: Compile) -> None:
    """A state machine gets {Name}StepFunctionsStateMachine, a role and an Arn output."""
    template = compile_yaml(
        "plugins:\n  - serverless-step-functions\n"
        "functions:\n  hello:\n    handler: h.main\n"
        "stepFunctions:\n  stateMachines:\n    flow:\n      definition:\n"
        "        StartAt: Call\n        States:\n          Call:\n            Type: Task\n"
        "            Resource: !GetAtt hello.Arn\n            Next: Save\n"
        "          Save:\n            Type: Task\n"
        "            Resource: arn:aws:states:::dynamodb:putItem\n"
        "            Parameters:\n              TableName: !Ref Table\n            End: true\n"
    )
    resources = template.body["Resources"]
    machine = resources["FlowStepFunctionsStateMachine"]
    definition, parameters = machine["Properties"]["DefinitionString"]["Fn::Sub"]
    parsed = json.loads(definition)
    assert parsed["States"]["Call"]["Resource"] == (
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:svc-dev-hello"
    )
    assert parameters == {"StateMachineParameter0": {"Ref": "Table"}}
    assert machine["Properties"]["RoleArn"] == {
        "Fn::GetAtt": ["FlowStepFunctionsStateMachineRole", "Arn"]
    }
    assert "FlowStepFunctionsStateMachineRole" in resources
    assert template.body["Outputs"]["FlowStepFunctionsStateMachineArn"]["Value"] == {
        "Ref": "FlowStepFunctionsStateMachine"
    }


def test_state_machine_with_name(compile_yaml: Compile) -> None:
    """A named state machine takes its logical ID from the name."""
    template = compile_yaml(
        "plugins:\n  - serverless-step-functions\n"
        "stepFunctions:\n  stateMachines:\n    flow:\n      name: OrderFlow\n      definition:\n"
        "        StartAt: Done\n        States:\n          Done:\n            Type: Succeed\n"
    )
    assert "OrderFlow" in template.body["Resources"]
    assert "OrderFlowArn" in template.body["Outputs"]


def test_container_image_is_unsupported(compile_yaml: Compile) -> None:
    """A container image function raises UnsupportedFeatureError naming the function."""
    with pytest.raises(UnsupportedFeatureError, match="hello"):
        compile_yaml("functions:\n  hello:\n    image: repo:latest\n")


def test_provider_must_be_aws(tmp_path: Path) -> None:
    """Only the aws provider compiles to CloudFormation."""
    path = tmp_path / "serverless.yml"
    path.write_text("service: svc\nprovider:\n  name: azure\n")
    with pytest.raises(TemplateError, match=r"provider\.name"):
        compile_serverless(path, environ={})
