"""Deleting a temporary environment, with what would block DeleteStack removed first.

Sources:
- DeleteObjects takes up to 1,000 keys, each with an optional VersionId:
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
- A state machine is deleted only when its executions are completed:
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_DeleteStateMachine.html
- DeletionPolicy Retain keeps the resource when the stack is deleted:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from windtunnel.environments.cleanup import (
    delete_environment,
    empty_bucket,
    stop_running_executions,
)
from windtunnel.errors import WindtunnelError

_WAIT_STATE_MACHINE = json.dumps({
    "StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}})
_ROLE = "arn:aws:iam::123456789012:role/machine"

_TEMPLATE = f"""\
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Archive:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
  Workflow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: {_ROLE}
      DefinitionString: '{_WAIT_STATE_MACHINE}'
"""
_TAGS = [{"Key": "windtunnel:environment", "Value": "orders-feature-basket"}]


def _fill_versioned_bucket(s3: Any, bucket: str) -> None:
    """Store two versions of one object, one of another, and a delete marker."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="orders/1.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="orders/1.json", Body=b'{"v": 2}')
    s3.put_object(Bucket=bucket, Key="orders/2.json", Body=b"{}")
    s3.delete_object(Bucket=bucket, Key="orders/2.json")


def test_empty_versioned_bucket(aws: Any) -> None:
    """Every object version and delete marker goes, so DeleteBucket then succeeds."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="uploads")
    _fill_versioned_bucket(s3, "uploads")

    versions, markers = empty_bucket(s3, "uploads")

    assert (versions, markers) == (3, 1)
    listing = s3.list_object_versions(Bucket="uploads")
    assert listing.get("Versions", []) == []
    assert listing.get("DeleteMarkers", []) == []
    s3.delete_bucket(Bucket="uploads")


def test_empty_bucket_in_batches(aws: Any) -> None:
    """More than 1,000 object versions take several DeleteObjects requests."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="many")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda index: s3.put_object(Bucket="many", Key=f"k{index}", Body=b""),
                      range(1005)))

    assert empty_bucket(s3, "many") == (1005, 0)
    assert s3.list_objects_v2(Bucket="many")["KeyCount"] == 0


def test_empty_missing_bucket(aws: Any) -> None:
    """A bucket that is already gone has nothing to empty."""
    assert empty_bucket(aws.client("s3"), "gone-already") == (0, 0)


def test_running_executions_stopped(aws: Any) -> None:
    """Running executions end ABORTED; finished ones are left alone."""
    stepfunctions = aws.client("stepfunctions")
    arn = stepfunctions.create_state_machine(name="checkout", definition=_WAIT_STATE_MACHINE,
                                             roleArn=_ROLE)["stateMachineArn"]
    running = [stepfunctions.start_execution(stateMachineArn=arn)["executionArn"]
               for _ in range(2)]

    assert stop_running_executions(stepfunctions, arn) == 2
    for execution in running:
        assert stepfunctions.describe_execution(executionArn=execution)["status"] == "ABORTED"
    assert stop_running_executions(stepfunctions, arn) == 0


def test_delete_environment_empties_first(aws: Any) -> None:
    """The stack's bucket is emptied and its executions stopped before DeleteStack, and
    the retained bucket keeps its objects."""
    cloudformation = aws.client("cloudformation")
    s3 = aws.client("s3")
    stepfunctions = aws.client("stepfunctions")
    cloudformation.create_stack(StackName="orders-feature-basket", TemplateBody=_TEMPLATE,
                                Tags=_TAGS)
    resources = {resource["LogicalResourceId"]: resource["PhysicalResourceId"]
                 for resource in cloudformation.list_stack_resources(
                     StackName="orders-feature-basket")["StackResourceSummaries"]}
    _fill_versioned_bucket(s3, resources["Uploads"])
    s3.put_object(Bucket=resources["Archive"], Key="keep.json", Body=b"{}")
    stepfunctions.start_execution(stateMachineArn=resources["Workflow"])
    lines: list[str] = []

    stack = delete_environment(aws, "orders-feature-basket", report=lines.append)

    assert stack["StackStatus"] == "DELETE_COMPLETE"
    assert lines[0] == (f"Emptied bucket {resources['Uploads']} (Uploads): 3 object "
                        f"versions, 1 delete markers")
    assert lines[1] == "Stopped 1 running executions of Workflow"
    assert lines[2].startswith("Deleting stack orders-feature-basket (arn:")
    assert [line.split()[1] for line in lines[3:]] == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert not any("Archive" in line for line in lines)
    assert s3.list_objects_v2(Bucket=resources["Archive"])["KeyCount"] == 1


def test_untagged_stack_not_deleted(aws: Any) -> None:
    """A stack that 'env create' did not tag is left alone, buckets and all."""
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName="production", TemplateBody=_TEMPLATE)
    bucket = cloudformation.describe_stack_resource(
        StackName="production", LogicalResourceId="Uploads")["StackResourceDetail"][
        "PhysicalResourceId"]
    aws.client("s3").put_object(Bucket=bucket, Key="data.json", Body=b"{}")

    with pytest.raises(WindtunnelError, match="has no windtunnel:environment tag"):
        delete_environment(aws, "production", report=lambda line: None)

    assert aws.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    status = cloudformation.describe_stacks(StackName="production")["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"


def test_missing_stack_named(aws: Any) -> None:
    """A name that no stack has points to 'env list'."""
    with pytest.raises(WindtunnelError, match=r"no stack named orders-typo exists.*env list"):
        delete_environment(aws, "orders-typo", report=lambda line: None)
