"""Tests of the Step Functions resource handlers against moto's Step Functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from windtunnel.deploy.resources.base import ResourceCreationFailed, handler_for

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference"
STATE_MACHINE_DOCS = f"{DOCS}/aws-resource-stepfunctions-statemachine.html"

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/states"
DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def create(make_context: Any, logical_id: str, resource_type: str,
           properties: dict[str, Any]) -> Any:
    handler = handler_for(resource_type)
    assert handler is not None
    return handler(make_context(logical_id, resource_type), properties)


@pytest.fixture
def sfn(make_context: Any) -> Any:
    return make_context("Any", "AWS::StepFunctions::StateMachine").client("stepfunctions")


def test_state_machine_from_definition(make_context: Any, sfn: Any) -> None:
    """A state machine's Ref is its ARN, with Arn, Name and StateMachineRevisionId attributes."""
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/states/flow:*"
    result = create(make_context, "Flow", "AWS::StepFunctions::StateMachine", {
        "StateMachineName": "flow", "RoleArn": ROLE_ARN, "Definition": DEFINITION,
        "StateMachineType": "EXPRESS",
        "LoggingConfiguration": {
            "Level": "ALL", "IncludeExecutionData": "true",
            "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": log_group}}],
        },
        "TracingConfiguration": {"Enabled": "true"},
        "Tags": [{"Key": "team", "Value": "core"}],
    })

    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:flow"
    machine = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(machine["definition"]) == DEFINITION
    assert machine["roleArn"] == ROLE_ARN
    assert machine["type"] == "EXPRESS"
    assert machine["loggingConfiguration"] == {
        "level": "ALL", "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": log_group}}],
    }
    assert machine["tracingConfiguration"] == {"enabled": True}
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "team", "value": "core"}]
    # Return values (STATE_MACHINE_DOCS).
    assert result.physical_id == arn
    assert result.attributes["Arn"] == arn
    assert result.attributes["Name"] == "flow"
    assert len(result.attributes["StateMachineRevisionId"]) == 36


def test_state_machine_default_name_and_type(make_context: Any, sfn: Any) -> None:
    """Without a name the state machine gets a generated one of at most 80 characters."""
    result = create(make_context, "OrderWorkflow", "AWS::StepFunctions::StateMachine",
                    {"RoleArn": ROLE_ARN, "DefinitionString": json.dumps(DEFINITION)})

    name = result.attributes["Name"]
    assert name.startswith("test-stack-OrderWorkflow-")
    assert len(name) <= 80
    machine = sfn.describe_state_machine(stateMachineArn=result.physical_id)
    assert machine["type"] == "STANDARD"


def test_definition_substitutions(make_context: Any, sfn: Any) -> None:
    """DefinitionSubstitutions replace ${Name} placeholders in the definition."""
    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "${FunctionArn}", "TimeoutSeconds": "${Timeout}",
        "End": True}}}

    result = create(make_context, "Flow", "AWS::StepFunctions::StateMachine", {
        "RoleArn": ROLE_ARN, "DefinitionString": json.dumps(definition),
        "DefinitionSubstitutions": {
            "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:work", "Timeout": 30},
    })

    machine = sfn.describe_state_machine(stateMachineArn=result.physical_id)
    state = json.loads(machine["definition"])["States"]["Call"]
    assert state["Resource"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:work"
    assert state["TimeoutSeconds"] == "30"


def test_definition_from_local_file(make_context: Any, sfn: Any, tmp_path: Path) -> None:
    """A local DefinitionS3Location path is read relative to the template's directory."""
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "flow.asl.json").write_text(json.dumps(DEFINITION))

    result = create(make_context, "Flow", "AWS::StepFunctions::StateMachine", {
        "RoleArn": ROLE_ARN, "DefinitionS3Location": "statemachine/flow.asl.json",
    })

    machine = sfn.describe_state_machine(stateMachineArn=result.physical_id)
    assert json.loads(machine["definition"]) == DEFINITION


def test_definition_in_s3_not_emulated(make_context: Any) -> None:
    """A definition stored in S3 fails with a message that names DefinitionS3Location."""
    with pytest.raises(ResourceCreationFailed, match="DefinitionS3Location is not emulated"):
        create(make_context, "Flow", "AWS::StepFunctions::StateMachine", {
            "RoleArn": ROLE_ARN,
            "DefinitionS3Location": {"Bucket": "artifacts", "Key": "flow.json"},
        })


def test_state_machine_requires_role(make_context: Any) -> None:
    """RoleArn is required (STATE_MACHINE_DOCS)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[RoleArn\] not found"):
        create(make_context, "Flow", "AWS::StepFunctions::StateMachine",
               {"Definition": DEFINITION})


def test_state_machine_rejects_unknown_property(make_context: Any) -> None:
    """A property outside the schema fails as CloudFormation fails."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"#: extraneous key \[DefinitionUri\] is not permitted"):
        create(make_context, "Flow", "AWS::StepFunctions::StateMachine",
               {"RoleArn": ROLE_ARN, "DefinitionUri": "flow.json"})


def test_activity(make_context: Any, sfn: Any) -> None:
    """An activity's Ref is its ARN."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-stepfunctions-activity.html
    result = create(make_context, "Approval", "AWS::StepFunctions::Activity",
                    {"Name": "approval"})

    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:activity:approval"
    assert sfn.describe_activity(activityArn=arn)["name"] == "approval"
    assert result.physical_id == arn
    assert result.attributes["Arn"] == arn
