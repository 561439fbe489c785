"""Intrinsic functions and pseudo parameters, with expected values from AWS's reference pages."""

from __future__ import annotations

import pytest

from tests.conformance.cloudformation.conftest import Deploy, output_values
from windtunnel.errors import (
    CircularDependencyError,
    TemplateError,
    UnresolvedReferenceError,
    UnsupportedFeatureError,
)

REFERENCE = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"

# Each row: output expression (YAML), expected value, source page.
FUNCTION_CASES = [
    ('!Join [":", [a, b, c]]', "a:b:c", "intrinsic-function-reference-join.html"),
    ('!Join ["", []]', "", "intrinsic-function-reference-join.html"),
    ('!Select ["1", [apples, grapes, oranges, mangoes]]', "grapes",
     "intrinsic-function-reference-select.html"),
    ('!Select [0, !Split ["|", "a|b|c"]]', "a", "intrinsic-function-reference-split.html"),
    ('!Join [",", !Split ["|", "a||c|"]]', "a,,c,", "intrinsic-function-reference-split.html"),
    ("!Base64 AWS CloudFormation", "QVdTIENsb3VkRm9ybWF0aW9u",
     "intrinsic-function-reference-base64.html"),
    ('!Join [",", !Cidr ["192.168.0.0/24", 6, 5]]',
     "192.168.0.0/27,192.168.0.32/27,192.168.0.64/27,192.168.0.96/27,192.168.0.128/27,"
     "192.168.0.160/27", "intrinsic-function-reference-cidr.html"),
    ("!Sub 'arn:aws:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${Name}'",
     "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", "intrinsic-function-reference-sub.html"),
    ("!Sub '${!Literal}-${Name}'", "${Literal}-vpc-1", "intrinsic-function-reference-sub.html"),
    ("!Sub ['www.${Domain}', {Domain: example.com}]", "www.example.com",
     "intrinsic-function-reference-sub.html"),
    ("!FindInMap [RegionMap, !Ref 'AWS::Region', HVM64]", "ami-0ff8a91507f77f867",
     "intrinsic-function-reference-findinmap.html"),
    ("!If [IsProduction, prod-value, other-value]", "other-value",
     "intrinsic-function-reference-conditions.html"),
    ("!Ref AWS::Partition", "aws", "pseudo-parameter-reference.html"),
    ("!Ref AWS::URLSuffix", "amazonaws.com", "pseudo-parameter-reference.html"),
    ("!Ref AWS::StackName", "conformance", "pseudo-parameter-reference.html"),
    ("!Select [0, !GetAZs '']", "us-east-1a",
     "intrinsic-function-reference-getavailabilityzones.html"),
]

TEMPLATE = """
Parameters:
  Name:
    Type: String
    Default: vpc-1
  Environment:
    Type: String
    Default: test
Mappings:
  RegionMap:
    us-east-1:
      HVM64: ami-0ff8a91507f77f867
Conditions:
  IsProduction: !Equals [!Ref Environment, prod]
Resources:
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  Result:
    Value: {expression}
"""


@pytest.mark.parametrize(("expression", "expected", "source"), FUNCTION_CASES)
def test_intrinsic_function(deploy: Deploy, expression: str, expected: str,
                            source: str) -> None:
    """Each function returns the value its reference page documents (see ``source``)."""
    stack = deploy(TEMPLATE.replace("{expression}", expression))

    assert output_values(stack)["Result"] == expected, REFERENCE + source


def test_ref_and_get_att_of_a_queue(deploy: Deploy) -> None:
    """Ref of an SQS queue is its URL; GetAtt Arn and QueueName are documented attributes.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html
    """
    stack = deploy("""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
Outputs:
  Url: {Value: !Ref Queue}
  Arn: {Value: !GetAtt Queue.Arn}
  Name: {Value: !GetAtt [Queue, QueueName]}
  SubAttribute: {Value: !Sub "${Queue.Arn}/x"}
""")
    outputs = output_values(stack)

    assert outputs["Url"] == "https://sqs.us-east-1.amazonaws.com/123456789012/orders"
    assert outputs["Arn"] == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert outputs["Name"] == "orders"
    assert outputs["SubAttribute"] == "arn:aws:sqs:us-east-1:123456789012:orders/x"


def test_pseudo_parameter_stack_id_has_arn_shape(deploy: Deploy) -> None:
    """AWS::StackId is the stack's ARN.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html
    """
    stack = deploy("""
Resources:
  Queue: {Type: AWS::SQS::Queue}
Outputs:
  Id: {Value: !Ref AWS::StackId}
""")

    assert output_values(stack)["Id"] == stack.stack_id
    assert stack.stack_id.startswith(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/conformance/")


def test_no_value_removes_the_property(deploy: Deploy) -> None:
    """``Ref: AWS::NoValue`` in Fn::If removes the property, so the default applies.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html#cfn-pseudo-param-novalue
    """
    stack = deploy("""
Conditions:
  Never: !Equals [a, b]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !If [Never, 30, !Ref AWS::NoValue]
""")

    assert "DelaySeconds" not in stack.resources["Queue"].properties


def test_unknown_ref_names_the_reference_and_path(deploy: Deploy) -> None:
    """An unknown Ref fails with CloudFormation's unresolved-dependencies message.

    Source: https://repost.aws/knowledge-center/cloudformation-template-validation
    """
    with pytest.raises(UnresolvedReferenceError) as caught:
        deploy("""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Ref Missing
""")

    message = str(caught.value)
    assert "Unresolved resource dependencies [Missing] in the Resources block" in message
    assert "Resources.Queue.Properties.QueueName" in message
    assert "conformance.yaml" in message


def test_unknown_get_att_attribute_is_rejected(deploy: Deploy) -> None:
    """GetAtt of an attribute the type does not have fails, naming both.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getatt.html
    """
    with pytest.raises(UnresolvedReferenceError, match="does not support attribute type Nope"):
        deploy("""
Resources:
  Queue: {Type: AWS::SQS::Queue}
Outputs:
  Bad: {Value: !GetAtt Queue.Nope}
""")


def test_circular_dependency_names_the_cycle(deploy: Deploy) -> None:
    """Resources that refer to each other fail with the resources of the cycle only.

    Source: https://aws.amazon.com/blogs/infrastructure-and-automation/handling-circular-dependency-errors-in-aws-cloudformation/
    """
    with pytest.raises(CircularDependencyError) as caught:
        deploy("""
Resources:
  A:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !GetAtt B.QueueName}
  B:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !GetAtt A.QueueName}
  C:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !GetAtt A.QueueName}
""")

    assert "Circular dependency between resources: [A, B]" in str(caught.value)


def test_self_reference_is_circular(deploy: Deploy) -> None:
    """A resource that refers to itself is a circular dependency of one resource.

    Source: https://aws.amazon.com/blogs/infrastructure-and-automation/handling-circular-dependency-errors-in-aws-cloudformation/
    """
    with pytest.raises(CircularDependencyError) as caught:
        deploy("""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {Tags: [{Key: self, Value: !Ref Queue}]}
""")

    assert "Circular dependency between resources: [Queue]" in str(caught.value)


def test_unknown_depends_on_is_rejected(deploy: Deploy) -> None:
    """DependsOn naming no resource fails like an unknown Ref.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html
    """
    with pytest.raises(UnresolvedReferenceError, match=r"Unresolved resource dependencies \[Gh"):
        deploy("""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    DependsOn: Ghost
""")


def test_select_out_of_range_is_an_error(deploy: Deploy) -> None:
    """Fn::Select with an index past the list fails.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-select.html
    """
    with pytest.raises(TemplateError, match="index 5"):
        deploy("""
Resources:
  Queue: {Type: AWS::SQS::Queue}
Outputs:
  Bad: {Value: !Select [5, [a, b]]}
""")


def test_find_in_map_missing_key_is_an_error(deploy: Deploy) -> None:
    """Fn::FindInMap with a key the mapping lacks fails, naming the lookup.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-findinmap.html
    """
    with pytest.raises(UnresolvedReferenceError, match="Unable to get mapping for Map::x::y"):
        deploy("""
Mappings:
  Map:
    a: {b: c}
Resources:
  Queue: {Type: AWS::SQS::Queue}
Outputs:
  Bad: {Value: !FindInMap [Map, x, y]}
""")


def test_import_value_reads_another_stacks_export(deploy: Deploy) -> None:
    """Fn::ImportValue returns the value another stack in the same endpoint exports.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html
    """
    from windtunnel.stack.environment import Environment

    environment = Environment()
    deploy("""
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: shared}}
Outputs:
  QueueArn:
    Value: !GetAtt Queue.Arn
    Export: {Name: shared-queue-arn}
""", stack_name="producer", environment=environment)
    consumer = deploy("""
Resources:
  Queue: {Type: AWS::SQS::Queue}
Outputs:
  Imported: {Value: !ImportValue shared-queue-arn}
""", stack_name="consumer", environment=environment)

    assert output_values(consumer)["Imported"] == "arn:aws:sqs:us-east-1:123456789012:shared"


def test_import_value_without_export_names_it(deploy: Deploy) -> None:
    """Fn::ImportValue of an export that does not exist fails, naming the export."""
    with pytest.raises(UnresolvedReferenceError, match="No export named nowhere found"):
        deploy("""
Resources:
  Queue: {Type: AWS::SQS::Queue}
Outputs:
  Imported: {Value: !ImportValue nowhere}
""")


def test_language_extension_functions(deploy: Deploy) -> None:
    """Fn::Length and Fn::ToJsonString of the AWS::LanguageExtensions transform.

    Sources: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-length.html
    and https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-ToJsonString.html
    """
    stack = deploy("""
Transform: AWS::LanguageExtensions
Resources:
  Queue: {Type: AWS::SQS::Queue}
Outputs:
  Length: {Value: !Length [1, 2, 3]}
  Json: {Value: !ToJsonString {key: value}}
""")
    outputs = output_values(stack)

    assert outputs["Length"] == 3
    assert outputs["Json"] == '{"key":"value"}'


def test_for_each_is_reported_as_unsupported(deploy: Deploy) -> None:
    """Fn::ForEach is not expanded yet, and raises an error instead of being ignored."""
    with pytest.raises(UnsupportedFeatureError, match="Fn::ForEach"):
        deploy("""
Transform: AWS::LanguageExtensions
Resources:
  Fn::ForEach::Queues:
    - Name
    - [A, B]
    - Queue${Name}: {Type: AWS::SQS::Queue}
""")


def test_unknown_template_section_is_rejected(deploy: Deploy) -> None:
    """A top-level key that is not a template section fails as CloudFormation does.

    Source: https://repost.aws/knowledge-center/cloudformation-template-validation
    """
    with pytest.raises(TemplateError,
                       match=r"Invalid template property or properties \[Resource\]"):
        deploy("""
Resource:
  Queue: {Type: AWS::SQS::Queue}
Resources:
  Queue: {Type: AWS::SQS::Queue}
""")


def test_missing_resources_section_is_rejected(deploy: Deploy) -> None:
    """A template without resources fails with CloudFormation's message.

    Source: https://repost.aws/knowledge-center/cloudformation-template-validation
    """
    with pytest.raises(TemplateError, match="At least one Resources member must be defined"):
        deploy("Outputs:\n  A: {Value: b}\n")


def test_unrecognized_resource_types_are_rejected(deploy: Deploy) -> None:
    """AWS types that do not exist fail as CloudFormation fails, with a suggestion.

    Source: https://repost.aws/knowledge-center/cloudformation-template-validation
    ("Unrecognized resource types: [XXXXXXXX]")
    """
    with pytest.raises(TemplateError) as caught:
        deploy("""
Resources:
  Table: {Type: AWS::DynamoDb::Table}
  Thing: {Type: AWS::Foo::Bar}
""")

    message = str(caught.value)
    assert "Unrecognized resource types: [AWS::DynamoDb::Table, AWS::Foo::Bar]" in message
    assert "did you mean AWS::DynamoDB::Table?" in message


def test_lambda_environment_scalars_become_text(deploy: Deploy) -> None:
    """Numbers and booleans in a function's environment variables are passed as text.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-environment.html
    (Variables: a map of strings)
    """
    from windtunnel.stack.environment import Environment

    environment = Environment()
    stack = deploy("""
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "def handler(event, context):\\n    return 1\\n"}
      Environment:
        Variables: {SAMPLE_RATE: 0.1, ENABLED: true, RETRIES: 3}
""", environment=environment)
    configuration = environment.cloud.client("lambda").get_function_configuration(
        FunctionName=stack.physical_id("Function"))

    assert configuration["Environment"]["Variables"] == {
        "SAMPLE_RATE": "0.1", "ENABLED": "true", "RETRIES": "3"}
