"""Every template format loads, deploys, serves the CloudFormation API and resets."""

from __future__ import annotations

from pathlib import Path

import pytest

from windtunnel import DeploymentError, Stack
from windtunnel.stack.environment import Environment

FIXTURES = Path(__file__).parent.parent / "fixtures"
BENCHMARK_TEMPLATE = Path(__file__).parent.parent.parent / "benchmarks" / "templates" / \
    "deploy.yaml"


@pytest.mark.parametrize("path", [
    FIXTURES / "sam" / "app",
    FIXTURES / "serverless" / "cart",
    BENCHMARK_TEMPLATE,
], ids=["sam", "serverless", "cloudformation"])
def test_application_loads_and_resets(path: Path) -> None:
    """The application deploys, DescribeStacks returns its stack, and reset works."""
    environment = Environment()
    (stack,) = environment.load(path)
    cloudformation = environment.cloud.client("cloudformation")

    described = cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
    environment.reset()
    resources = cloudformation.list_stack_resources(
        StackName=stack.name)["StackResourceSummaries"]

    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert len(resources) == len(stack.resources)
    assert all(resource.emulated for resource in stack.resources.values()), \
        stack.not_emulated


def test_cdk_assembly_loads_every_stack() -> None:
    """A cloud assembly with two stacks loads both, in dependency order."""
    environment = Environment()

    stacks = environment.load(FIXTURES / "cdk" / "cdk.out")

    assert [stack.name for stack in stacks] == ["WindtunnelData", "windtunnel-orders"]
    nested = [resource for resource in stacks[1].resources.values() if resource.nested_stack]
    assert len(nested) == 1
    assert environment.registry.get(nested[0].nested_stack.name) is not None  # type: ignore[union-attr]


def test_nested_stack_from_local_file(tmp_path: Path) -> None:
    """A nested stack's template loads from a local file; its outputs are GetAtt values.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-stack.html
    """
    (tmp_path / "child.yaml").write_text("""
Parameters:
  Prefix: {Type: String}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${Prefix}-child"}
Outputs:
  QueueArn: {Value: !GetAtt Queue.Arn}
""")
    (tmp_path / "template.yaml").write_text("""
Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./child.yaml
      Parameters: {Prefix: parent}
Outputs:
  ChildQueueArn: {Value: !GetAtt Child.Outputs.QueueArn}
""")

    with Stack.local(tmp_path, stack_name="parent") as stack:
        child = stack.deployed.resources["Child"]

        assert stack.outputs["ChildQueueArn"] == "arn:aws:sqs:us-east-1:123456789012:parent-child"
        assert child.physical_id.startswith(
            "arn:aws:cloudformation:us-east-1:123456789012:stack/parent-Child-")
        assert child.nested_stack is not None
        assert child.nested_stack.parent_id == stack.deployed.stack_id


def test_failed_deployment_rolls_back(tmp_path: Path) -> None:
    """A resource that fails to create leaves nothing of the stack behind.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html
    """
    (tmp_path / "template.yaml").write_text("""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: first}
  Broken:
    Type: AWS::SQS::Queue
    DependsOn: Queue
    Properties: {QueueName: first, DelaySeconds: 5}
""")
    environment = Environment()

    with pytest.raises(DeploymentError) as caught:
        environment.load(tmp_path)

    assert caught.value.logical_id == "Broken"
    assert "Resource handler returned message" in str(caught.value)
    assert environment.cloud.client("sqs").list_queues().get("QueueUrls", []) == []
    assert environment.registry.stacks() == []


def test_served_stack_renders_outputs_for_its_port(tmp_path: Path) -> None:
    """Outputs follow the endpoint the stack is actually served on."""
    (tmp_path / "template.yaml").write_text("""
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: served}}
Outputs:
  QueueUrl: {Value: !Ref Queue}
""")

    with Stack.local(tmp_path) as stack:
        url = stack.serve(port=0)

        assert stack.outputs["QueueUrl"] == f"{url}/123456789012/served"


def test_cloudformation_template_includes_local_file(tmp_path: Path) -> None:
    """Fn::Transform AWS::Include with a local file inlines it in plain CloudFormation too.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-include.html
    """
    (tmp_path / "queue.yaml").write_text("Type: AWS::SQS::Queue\n"
                                         "Properties: {QueueName: included}\n")
    (tmp_path / "template.yaml").write_text("""
Resources:
  Queue:
    Fn::Transform:
      Name: AWS::Include
      Parameters: {Location: ./queue.yaml}
""")

    with Stack.local(tmp_path) as stack:
        assert stack.physical_id("Queue").endswith("/included")


def test_cloudformation_local_code_path_is_packaged(tmp_path: Path) -> None:
    """A local path in a function's Code is used as `aws cloudformation package` would.

    Source: https://docs.aws.amazon.com/cli/latest/reference/cloudformation/package.html
    """
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "template.yaml").write_text("""
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
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: ./src
""")

    with Stack.local(tmp_path) as stack:
        function = stack.deployed.resources["Function"]

        assert function.metadata["windtunnel:CodePath"] == str((tmp_path / "src").resolve())


def test_rule_delivers_events_to_a_function(tmp_path: Path) -> None:
    """PutEvents succeeds and a rule's Lambda target is invoked with the event.

    Source: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
    """
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n"
                                             "    return event['detail']\n")
    (tmp_path / "template.yaml").write_text("""
Transform: AWS::Serverless-2016-10-31
Resources:
  Bus: {Type: AWS::Events::EventBus, Properties: {Name: orders}}
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Created:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern: {source: [shop], detail-type: [OrderCreated]}
""")

    with Stack.local(tmp_path) as stack:
        response = stack.client("events").put_events(Entries=[{
            "Source": "shop", "DetailType": "OrderCreated", "Detail": '{"id": 7}',
            "EventBusName": "orders"}])
        stack.settle()

        assert response["FailedEntryCount"] == 0
        assert [result.payload for result in stack.invocations] == [{"id": 7}]


def test_stack_clock_and_settle(tmp_path: Path) -> None:
    """The stack's clock runs scheduled work on advance; settle runs what is due now."""
    (tmp_path / "template.yaml").write_text("Resources:\n  Queue: {Type: AWS::SQS::Queue}\n")
    ran: list[str] = []

    with Stack.local(tmp_path) as stack:
        start = stack.clock.now()
        stack.clock.schedule(0, lambda: ran.append("now"))
        stack.clock.schedule(300, lambda: ran.append("in five minutes"))
        stack.settle()
        after_settle = list(ran)
        stack.clock.advance(300)

    assert after_settle == ["now"]
    assert ran == ["now", "in five minutes"]
    assert (stack.clock.now() - start).total_seconds() == 300
