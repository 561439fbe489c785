"""CloudFormation's read API for loaded stacks, called through boto3.

Shapes: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Operations.html
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from windtunnel.stack.environment import Environment

TEMPLATE = """
Description: orders stack
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Metadata: {Owner: team-a}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
Outputs:
  QueueUrl:
    Description: where orders go
    Value: !Ref Queue
  TableName:
    Value: !Ref Table
    Export: {Name: !Sub "${AWS::StackName}-table"}
  ApiUrl:
    Value: !Sub "https://a1b2c3.execute-api.${AWS::Region}.amazonaws.com/${Stage}/"
"""


@pytest.fixture
def environment(tmp_path: Path) -> Environment:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    environment = Environment()
    environment.load(tmp_path / "template.yaml", stack_name="orders")
    return environment


def test_describe_stacks_outputs_and_parameters(environment: Environment) -> None:
    """DescribeStacks returns status, parameters and outputs with export names."""
    cloudformation = environment.cloud.client("cloudformation")

    stack = cloudformation.describe_stacks(StackName="orders")["Stacks"][0]
    outputs = {output["OutputKey"]: output for output in stack["Outputs"]}

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Description"] == "orders stack"
    assert stack["Parameters"] == [{"ParameterKey": "Stage", "ParameterValue": "dev"}]
    assert outputs["QueueUrl"]["Description"] == "where orders go"
    assert outputs["TableName"]["ExportName"] == "orders-table"
    assert outputs["TableName"]["OutputValue"].startswith("orders-Table-")


def test_describe_stacks_by_stack_id(environment: Environment) -> None:
    """A stack can be named by its ID as well as its name."""
    cloudformation = environment.cloud.client("cloudformation")
    stack_id = cloudformation.describe_stacks(StackName="orders")["Stacks"][0]["StackId"]

    by_id = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]

    assert by_id["StackName"] == "orders"


def test_outputs_with_endpoint_urls_point_at_local_endpoint(environment: Environment) -> None:
    """Execute-api and queue URLs in outputs become URLs of the local endpoint."""
    cloudformation = environment.cloud.client("cloudformation")
    outputs = {output["OutputKey"]: output["OutputValue"] for output in
               cloudformation.describe_stacks(StackName="orders")["Stacks"][0]["Outputs"]}

    assert outputs["ApiUrl"] == "http://127.0.0.1:4566/_aws/execute-api/a1b2c3/dev/"
    assert outputs["QueueUrl"].startswith("http://127.0.0.1:4566/123456789012/orders-Queue-")


def test_unknown_stack_error(environment: Environment) -> None:
    """An unknown stack name fails with CloudFormation's ValidationError.

    Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
    """
    with pytest.raises(ClientError) as caught:
        environment.cloud.client("cloudformation").describe_stacks(StackName="nope")

    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"] == "Stack with id nope does not exist"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_stack_resources(environment: Environment) -> None:
    """ListStackResources lists logical and physical IDs with their types and status."""
    summaries = environment.cloud.client("cloudformation").list_stack_resources(
        StackName="orders")["StackResourceSummaries"]
    by_id = {summary["LogicalResourceId"]: summary for summary in summaries}

    assert by_id["Queue"]["ResourceType"] == "AWS::SQS::Queue"
    assert by_id["Queue"]["PhysicalResourceId"].startswith("https://sqs.us-east-1.amazonaws.com/")
    assert by_id["Table"]["ResourceStatus"] == "CREATE_COMPLETE"


def test_describe_stack_resource_and_metadata(environment: Environment) -> None:
    """DescribeStackResource returns one resource with its Metadata as JSON text."""
    detail = environment.cloud.client("cloudformation").describe_stack_resource(
        StackName="orders", LogicalResourceId="Queue")["StackResourceDetail"]

    assert detail["ResourceType"] == "AWS::SQS::Queue"
    assert detail["Metadata"] == '{"Owner": "team-a"}'


def test_describe_stack_resource_unknown_logical_id(environment: Environment) -> None:
    """An unknown logical ID fails with ValidationError naming it and the stack."""
    with pytest.raises(ClientError) as caught:
        environment.cloud.client("cloudformation").describe_stack_resource(
            StackName="orders", LogicalResourceId="Nope")

    assert caught.value.response["Error"]["Message"] == \
        "Resource Nope does not exist for stack orders"


def test_describe_stack_resources_by_physical_id(environment: Environment) -> None:
    """DescribeStackResources finds the stack that owns a physical ID."""
    cloudformation = environment.cloud.client("cloudformation")
    table_name = environment.registry.get("orders").physical_id("Table")  # type: ignore[union-attr]

    resources = cloudformation.describe_stack_resources(
        PhysicalResourceId=table_name)["StackResources"]

    assert {resource["StackName"] for resource in resources} == {"orders"}


def test_get_template_original_and_processed(environment: Environment) -> None:
    """GetTemplate returns the file as written, or the processed template."""
    cloudformation = environment.cloud.client("cloudformation")

    original = cloudformation.get_template(StackName="orders")
    processed = cloudformation.get_template(StackName="orders", TemplateStage="Processed")

    assert "orders stack" in str(original["TemplateBody"])
    assert processed["StagesAvailable"] == ["Original", "Processed"]
    assert "Resources" in processed["TemplateBody"]


def test_list_exports(environment: Environment) -> None:
    """ListExports lists every exported output with its exporting stack."""
    exports = environment.cloud.client("cloudformation").list_exports()["Exports"]

    assert [export["Name"] for export in exports] == ["orders-table"]
    assert exports[0]["ExportingStackId"].split("/")[1] == "orders"


def test_operation_that_changes_stacks_is_not_implemented(environment: Environment) -> None:
    """DeleteStack returns an error that names the operation instead of pretending."""
    with pytest.raises(ClientError) as caught:
        environment.cloud.client("cloudformation").delete_stack(StackName="orders")

    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    assert "DeleteStack" in caught.value.response["Error"]["Message"]


def test_reset_restores_state_after_deploy(environment: Environment) -> None:
    """reset() removes what tests wrote and keeps what the deployment created."""
    table = environment.registry.get("orders").physical_id("Table")  # type: ignore[union-attr]
    dynamodb = environment.cloud.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "order-1"}})
    dynamodb.create_table(TableName="scratch", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])

    environment.reset()

    assert dynamodb.scan(TableName=table)["Count"] == 0
    assert dynamodb.list_tables()["TableNames"] == [table]
