"""Delete a temporary environment: empty what blocks DeleteStack, then delete and wait."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from windtunnel.constants import TAG_ENVIRONMENT
from windtunnel.environments.aws import aws_error
from windtunnel.environments.deploy import describe_stack
from windtunnel.environments.progress import StackWatcher, operation_failed
from windtunnel.environments.tags import tags_of
from windtunnel.errors import WindtunnelError
from windtunnel.template.yaml import load_template_text

__all__ = ["delete_environment", "empty_bucket", "stop_running_executions"]

logger = logging.getLogger(__name__)

_AWS_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
# DeleteObjects takes at most 1,000 keys per request
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
_MAX_KEYS_PER_DELETE = 1000
# CloudFormation keeps these resources when it deletes the stack, so their contents stay too
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
_KEPT_ON_DELETE = {"Retain", "RetainExceptOnCreate"}
_STOP_ERROR = "windtunnel.EnvironmentDeleted"


@dataclass(frozen=True)
class _Resource:
    logical_id: str
    physical_id: str
    resource_type: str
    deletion_policy: str


def delete_environment(session: Any, name: str, *, report: Callable[[str], None],
                       watcher_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Empty the stack's buckets, stop its running executions, delete it and wait.

    Only stacks that carry the ``windtunnel:environment`` tag are deleted, so that a
    mistyped name cannot empty the buckets of a stack that ``env create`` did not create.
    """
    cloudformation = session.client("cloudformation")
    stack = describe_stack(cloudformation, name)
    if TAG_ENVIRONMENT not in tags_of(stack):
        raise WindtunnelError(
            f"the stack {name} has no {TAG_ENVIRONMENT} tag, so 'windtunnel env create' did "
            f"not create it; check that it is temporary and delete it with 'aws "
            f"cloudformation delete-stack --stack-name {name}'")
    stack_id = stack["StackId"]

    for resource in _resources(cloudformation, stack_id):
        if resource.deletion_policy in _KEPT_ON_DELETE:
            logger.debug("%s is kept on delete (%s); its contents stay", resource.logical_id,
                         resource.deletion_policy)
            continue
        if resource.resource_type == "AWS::S3::Bucket":
            versions, markers = empty_bucket(session.client("s3"), resource.physical_id)
            if versions or markers:
                report(f"Emptied bucket {resource.physical_id} ({resource.logical_id}): "
                       f"{versions} object versions, {markers} delete markers")
        elif resource.resource_type == "AWS::StepFunctions::StateMachine":
            stopped = stop_running_executions(session.client("stepfunctions"),
                                              resource.physical_id)
            if stopped:
                report(f"Stopped {stopped} running executions of {resource.logical_id}")

    watcher = StackWatcher(cloudformation, stack_id, report, **(watcher_options or {}))
    watcher.skip_existing_events()
    try:
        cloudformation.delete_stack(StackName=stack_id)
    except _AWS_ERRORS as error:
        raise aws_error(error, "cloudformation:DeleteStack") from None
    report(f"Deleting stack {name} ({stack_id})")
    stack = watcher.wait()
    if stack["StackStatus"] != "DELETE_COMPLETE":
        raise operation_failed(name, "deleted", stack, watcher.failures,
                               f"remove what blocks the failed resources, then run "
                               f"'windtunnel env delete {name}' again")
    return stack


def _resources(cloudformation: Any, stack_id: str) -> list[_Resource]:
    """Return the stack's resources that exist, those of nested stacks included."""
    policies = _deletion_policies(cloudformation, stack_id)
    resources: list[_Resource] = []
    paginator = cloudformation.get_paginator("list_stack_resources")
    try:
        pages = list(paginator.paginate(StackName=stack_id))
    except _AWS_ERRORS as error:
        raise aws_error(error, "cloudformation:ListStackResources") from None

    for page in pages:
        for summary in page["StackResourceSummaries"]:
            physical_id = summary.get("PhysicalResourceId") or ""
            if not physical_id or summary.get("ResourceStatus") == "DELETE_COMPLETE":
                continue
            resource = _Resource(logical_id=summary["LogicalResourceId"],
                                 physical_id=physical_id,
                                 resource_type=summary["ResourceType"],
                                 deletion_policy=policies.get(summary["LogicalResourceId"],
                                                              "Delete"))
            resources.append(resource)
            if (resource.resource_type == "AWS::CloudFormation::Stack"
                    and resource.deletion_policy not in _KEPT_ON_DELETE):
                resources.extend(_resources(cloudformation, physical_id))
    return resources


def _deletion_policies(cloudformation: Any, stack_id: str) -> dict[str, str]:
    """Return each resource's DeletionPolicy from the processed template (after transforms,
    so SAM resources appear as the resources CloudFormation created)."""
    try:
        body = cloudformation.get_template(StackName=stack_id,
                                           TemplateStage="Processed")["TemplateBody"]
    except _AWS_ERRORS as error:
        raise aws_error(error, "cloudformation:GetTemplate") from None
    # boto3 returns JSON templates already parsed, and YAML templates as text.
    document = load_template_text(body) if isinstance(body, str) else body
    resources = document.get("Resources") if isinstance(document, dict) else None
    policies: dict[str, str] = {}
    for logical_id, resource in (resources or {}).items():
        if isinstance(resource, dict) and isinstance(resource.get("DeletionPolicy"), str):
            policies[str(logical_id)] = resource["DeletionPolicy"]
    return policies


def empty_bucket(s3: Any, bucket: str) -> tuple[int, int]:
    """Delete every object version and delete marker in ``bucket``; return their counts.

    ListObjectVersions also lists the objects of a bucket that was never versioned (with
    version ID ``null``), so this empties any bucket. Each round lists the first page
    again after deleting it, so that no page marker points at a deleted key.
    """
    versions = 0
    markers = 0
    while True:
        try:
            page = s3.list_object_versions(Bucket=bucket, MaxKeys=_MAX_KEYS_PER_DELETE)
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchBucket":
                logger.debug("bucket %s is already gone", bucket)
                return versions, markers
            raise aws_error(error, "s3:ListBucketVersions") from None
        except botocore.exceptions.BotoCoreError as error:
            raise aws_error(error, "s3:ListBucketVersions") from None

        keys = [{"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", [])]
        marker_keys = [{"Key": item["Key"], "VersionId": item["VersionId"]}
                       for item in page.get("DeleteMarkers", [])]
        if not keys and not marker_keys:
            return versions, markers
        _delete_keys(s3, bucket, keys + marker_keys)
        versions += len(keys)
        markers += len(marker_keys)


def _delete_keys(s3: Any, bucket: str, keys: list[dict[str, str]]) -> None:
    for start in range(0, len(keys), _MAX_KEYS_PER_DELETE):
        batch = keys[start:start + _MAX_KEYS_PER_DELETE]
        try:
            response = s3.delete_objects(Bucket=bucket,
                                         Delete={"Objects": batch, "Quiet": True})
        except _AWS_ERRORS as error:
            raise aws_error(error, "s3:DeleteObjectVersion") from None
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise WindtunnelError(
                f"could not empty bucket {bucket}: {len(errors)} object versions were not "
                f"deleted, the first {first.get('Key')!r} with {first.get('Code')}: "
                f"{first.get('Message')}; allow s3:DeleteObjectVersion on the bucket")


def stop_running_executions(stepfunctions: Any, state_machine_arn: str) -> int:
    """Stop the state machine's running executions; return how many were stopped.

    Express workflows keep no execution list to stop, so they are left as they are.
    """
    stopped = 0
    paginator = stepfunctions.get_paginator("list_executions")
    try:
        for page in paginator.paginate(stateMachineArn=state_machine_arn,
                                       statusFilter="RUNNING"):
            for execution in page["executions"]:
                stepfunctions.stop_execution(
                    executionArn=execution["executionArn"], error=_STOP_ERROR,
                    cause="windtunnel env delete stopped the execution to delete its stack")
                stopped += 1
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "StateMachineDoesNotExist":
            return stopped
        if code == "StateMachineTypeNotSupported":
            logger.debug("%s is an Express state machine; nothing to stop", state_machine_arn)
            return stopped
        raise aws_error(error, "states:StopExecution") from None
    except botocore.exceptions.BotoCoreError as error:
        raise aws_error(error, "states:StopExecution") from None
    return stopped
