"""Parameters and conditions, with expected values and messages from CloudFormation."""

from __future__ import annotations

import pytest

from tests.conformance.cloudformation.conftest import Deploy, output_values
from windtunnel.errors import ParameterError

# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
PARAMETERS_DOC = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
                  "parameters-section-structure.html")

TEMPLATE = """
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Name:
    Type: String
    AllowedPattern: "[a-z]+"
    MinLength: 2
    MaxLength: 5
    Default: abc
  Count:
    Type: Number
    MinValue: 1
    MaxValue: 10
    Default: 3
  Zones:
    Type: CommaDelimitedList
    Default: "a, b,c"
  Sizes:
    Type: List<Number>
    Default: "1,2"
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsNotProd: !Not [!Condition IsProd]
  ProdAndBig: !And [!Condition IsProd, !Equals [!Ref Count, 10]]
  ProdOrBig: !Or [!Condition IsProd, !Equals [!Ref Count, "10"]]
Resources:
  Queue:
    Type: AWS::SQS::Queue
  ProdQueue:
    Type: AWS::SQS::Queue
    Condition: IsProd
Outputs:
  Stage: {Value: !Ref Stage}
  Count: {Value: !Ref Count}
  SecondZone: {Value: !Select [1, !Ref Zones]}
  Sizes: {Value: !Join ["+", !Ref Sizes]}
  NotProd: {Value: !If [IsNotProd, yes-not-prod, no]}
  ProdAndBig: {Value: !If [ProdAndBig, big-prod, other]}
  ProdOrBig: {Value: !If [ProdOrBig, prod-or-big, other]}
  ProdQueueUrl:
    Condition: IsProd
    Value: !Ref ProdQueue
"""


def test_defaults_and_list_types(deploy: Deploy) -> None:
    """Defaults apply; CommaDelimitedList splits and trims; List<Number> splits."""
    outputs = output_values(deploy(TEMPLATE))

    assert outputs["Stage"] == "dev", PARAMETERS_DOC
    assert outputs["Count"] == "3"
    assert outputs["SecondZone"] == "b"
    assert outputs["Sizes"] == "1+2"


def test_false_condition_skips_resource_and_output(deploy: Deploy) -> None:
    """A resource or output whose condition is false is not created.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
    """
    stack = deploy(TEMPLATE)

    assert "ProdQueue" not in stack.resources
    assert "ProdQueueUrl" not in output_values(stack)
    assert output_values(stack)["NotProd"] == "yes-not-prod"


def test_true_condition_creates_resource(deploy: Deploy) -> None:
    """With the condition true, the resource and its output exist."""
    stack = deploy(TEMPLATE, parameters={"Stage": "prod", "Count": "10"})
    outputs = output_values(stack)

    assert "ProdQueue" in stack.resources
    assert outputs["ProdQueueUrl"].endswith(stack.physical_id("ProdQueue").split("/")[-1])
    assert outputs["ProdAndBig"] == "big-prod"
    assert outputs["ProdOrBig"] == "prod-or-big"


@pytest.mark.parametrize(("parameters", "message"), [
    ({"Stage": "qa"}, "Parameter 'Stage' must be one of AllowedValues"),
    ({"Name": "ABC"}, "Parameter 'Name' must match pattern [a-z]+"),
    ({"Name": "a"}, "Parameter 'Name' must contain at least 2 characters"),
    ({"Name": "abcdef"}, "Parameter 'Name' must contain at most 5 characters"),
    ({"Count": "x"}, "Parameter 'Count' must be a number"),
    ({"Count": "0"}, "Parameter 'Count' must be a number not less than 1"),
    ({"Count": "11"}, "Parameter 'Count' must be a number not greater than 10"),
    ({"Unknown": "1"}, "Parameters: [Unknown] do not exist in the template"),
])
def test_parameter_constraints(deploy: Deploy, parameters: dict[str, str],
                               message: str) -> None:
    """A value that breaks a constraint fails with CloudFormation's message."""
    with pytest.raises(ParameterError) as caught:
        deploy(TEMPLATE, parameters=parameters)

    assert message in str(caught.value), PARAMETERS_DOC


def test_missing_parameter_says_how_to_pass_it(deploy: Deploy) -> None:
    """A parameter without a default or value names itself and the way to pass one."""
    with pytest.raises(ParameterError) as caught:
        deploy("""
Parameters:
  TableName: {Type: String}
Resources:
  Queue: {Type: AWS::SQS::Queue}
""")

    message = str(caught.value)
    assert "Parameters: [TableName] must have values" in message
    assert "--param NAME=VALUE" in message


def test_ssm_parameter_type_reads_local_parameter_store(deploy: Deploy) -> None:
    """AWS::SSM::Parameter::Value<String> takes the parameter's value from SSM.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types
    """
    from windtunnel.stack.environment import Environment

    environment = Environment()
    environment.cloud.client("ssm").put_parameter(Name="/app/queue-name", Value="from-ssm",
                                                  Type="String")
    stack = deploy("""
Parameters:
  QueueName:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /app/queue-name
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Ref QueueName}
""", environment=environment)

    assert stack.physical_id("Queue").endswith("/from-ssm")


def test_ssm_parameter_type_missing_parameter(deploy: Deploy) -> None:
    """An SSM-typed parameter whose SSM parameter does not exist names both."""
    with pytest.raises(ParameterError, match="reads the SSM parameter '/nope'"):
        deploy("""
Parameters:
  QueueName:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /nope
Resources:
  Queue: {Type: AWS::SQS::Queue}
""")
