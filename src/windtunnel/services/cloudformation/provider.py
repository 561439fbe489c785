"""CloudFormation's read operations for the stacks that windtunnel deployed.

Integration tests find their resources through stack outputs (``describe_stacks``) and
stack resources. These operations return the shapes of the CloudFormation API:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Operations.html

Limitations:
    Stacks are created by loading templates (``windtunnel up`` or ``Stack.local``), not
    through CreateStack; operations that change stacks answer ``NotImplemented``.
    Drift detection is not emulated, so every drift status is ``NOT_CHECKED``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.cloud.protocols import AwsError, render_query_response
from windtunnel.deploy.model import DeployedResource, DeployedStack
from windtunnel.services.cloudformation.models import StackRegistry

__all__ = ["CloudFormationProvider"]

# ListStackResources returns at most this many summaries per page, like CloudFormation.
_PAGE_SIZE = 100
_NOT_CHECKED = "NOT_CHECKED"


class CloudFormationProvider:
    """Handles CloudFormation API requests from a :class:`StackRegistry`."""

    service = "cloudformation"

    def __init__(self, registry: StackRegistry) -> None:
        self.registry = registry
        self._operations: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "DescribeStacks": self.describe_stacks,
            "ListStacks": self.list_stacks,
            "ListStackResources": self.list_stack_resources,
            "DescribeStackResource": self.describe_stack_resource,
            "DescribeStackResources": self.describe_stack_resources,
            "DescribeStackEvents": self.describe_stack_events,
            "GetTemplate": self.get_template,
            "ListExports": self.list_exports,
        }

    def handle(self, request: AwsRequest) -> AwsResponse:
        """Handle one CloudFormation request and return the response."""
        parameters = request.query_parameters()
        operation = parameters.get("Action") or request.operation or ""
        answer = self._operations.get(operation)
        if answer is None:
            raise AwsError(
                "NotImplemented",
                f"windtunnel does not emulate the cloudformation operation {operation} yet; "
                f"stacks are created by loading their templates.",
                status=501,
                sender_fault=False,
            )
        return render_query_response(self.service, operation, answer(parameters))

    # --- operations -------------------------------------------------------------------

    def describe_stacks(self, parameters: dict[str, str]) -> dict[str, Any]:
        """DescribeStacks: one stack by name or ID, or every stack."""
        name = parameters.get("StackName")
        stacks = [self._stack(name)] if name else self.registry.stacks()
        return {"Stacks": [_describe_stack(stack) for stack in stacks]}

    def list_stacks(self, parameters: dict[str, str]) -> dict[str, Any]:
        """ListStacks: a summary of every stack."""
        return {"StackSummaries": [
            {
                "StackId": stack.stack_id,
                "StackName": stack.name,
                "TemplateDescription": stack.description,
                "CreationTime": stack.creation_time,
                "StackStatus": "CREATE_COMPLETE",
                "ParentId": stack.parent_id,
                "RootId": stack.root_id,
                "DriftInformation": {"StackDriftStatus": _NOT_CHECKED},
            }
            for stack in self.registry.stacks()
        ]}

    def list_stack_resources(self, parameters: dict[str, str]) -> dict[str, Any]:
        """ListStackResources: resource summaries, a page at a time."""
        stack = self._stack(parameters.get("StackName"))
        resources = list(stack.resources.values())
        start = int(parameters.get("NextToken") or 0)
        page = resources[start:start + _PAGE_SIZE]
        result: dict[str, Any] = {"StackResourceSummaries": [
            {
                "LogicalResourceId": resource.logical_id,
                "PhysicalResourceId": resource.physical_id,
                "ResourceType": resource.resource_type,
                "LastUpdatedTimestamp": resource.timestamp,
                "ResourceStatus": resource.status,
                "DriftInformation": {"StackResourceDriftStatus": _NOT_CHECKED},
            }
            for resource in page
        ]}
        if start + _PAGE_SIZE < len(resources):
            result["NextToken"] = str(start + _PAGE_SIZE)
        return result

    def describe_stack_resource(self, parameters: dict[str, str]) -> dict[str, Any]:
        """DescribeStackResource: one resource in detail."""
        stack = self._stack(parameters.get("StackName"))
        resource = self._resource(stack, parameters.get("LogicalResourceId", ""))
        detail = _describe_resource(stack, resource)
        detail["LastUpdatedTimestamp"] = detail.pop("Timestamp")
        detail["Metadata"] = json.dumps(resource.metadata)
        detail["DriftInformation"] = {"StackResourceDriftStatus": _NOT_CHECKED}
        return {"StackResourceDetail": detail}

    def describe_stack_resources(self, parameters: dict[str, str]) -> dict[str, Any]:
        """DescribeStackResources: a stack's resources, or the stack of a physical ID."""
        physical_id = parameters.get("PhysicalResourceId")
        if physical_id and not parameters.get("StackName"):
            stack = self._stack_of_physical_id(physical_id)
        else:
            stack = self._stack(parameters.get("StackName"))
        resources = list(stack.resources.values())
        logical_id = parameters.get("LogicalResourceId")
        if logical_id:
            resources = [self._resource(stack, logical_id)]
        return {"StackResources": [_describe_resource(stack, resource)
                                   for resource in resources]}

    def describe_stack_events(self, parameters: dict[str, str]) -> dict[str, Any]:
        """DescribeStackEvents: the creation events of a stack, newest first."""
        stack = self._stack(parameters.get("StackName"))
        events = []
        for resource in stack.resources.values():
            for status in ("CREATE_IN_PROGRESS", "CREATE_COMPLETE"):
                events.append(_event(stack, resource.logical_id, resource.physical_id,
                                     resource.resource_type, status, resource.timestamp))
        events.append(_event(stack, stack.name, stack.stack_id, "AWS::CloudFormation::Stack",
                             "CREATE_COMPLETE", stack.creation_time))
        events.reverse()
        return {"StackEvents": events}

    def get_template(self, parameters: dict[str, str]) -> dict[str, Any]:
        """GetTemplate: the template as written (Original) or after transforms (Processed)."""
        stack = self._stack(parameters.get("StackName"))
        stage = parameters.get("TemplateStage") or "Original"
        if stage == "Original" and stack.template.path.is_file():
            body = stack.template.path.read_text(encoding="utf-8")
        else:
            body = json.dumps(stack.template.body, indent=2, default=str)
        return {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}

    def list_exports(self, parameters: dict[str, str]) -> dict[str, Any]:
        """ListExports: every exported output of every stack."""
        return {"Exports": [
            {"ExportingStackId": stack_id, "Name": name, "Value": value}
            for name, value, stack_id in self.registry.exports()
        ]}

    # --- lookups ----------------------------------------------------------------------

    def _stack(self, name: str | None) -> DeployedStack:
        if not name:
            raise AwsError("ValidationError", "1 validation error detected: Value null at "
                           "'stackName' failed to satisfy constraint: Member must not be null")
        stack = self.registry.get(name)
        if stack is None:
            # CloudFormation's wording for an unknown stack name.
            raise AwsError("ValidationError", f"Stack with id {name} does not exist")
        return stack

    def _resource(self, stack: DeployedStack, logical_id: str) -> DeployedResource:
        resource = stack.resources.get(logical_id)
        if resource is None:
            raise AwsError("ValidationError",
                           f"Resource {logical_id} does not exist for stack {stack.name}")
        return resource

    def _stack_of_physical_id(self, physical_id: str) -> DeployedStack:
        for stack in self.registry.stacks():
            for resource in stack.resources.values():
                if resource.physical_id == physical_id:
                    return stack
        raise AwsError("ValidationError", f"Stack for {physical_id} does not exist")


def _describe_stack(stack: DeployedStack) -> dict[str, Any]:
    return {
        "StackId": stack.stack_id,
        "StackName": stack.name,
        "Description": stack.description,
        "Parameters": [
            {"ParameterKey": key, "ParameterValue": _text(value)}
            for key, value in stack.parameters.items()
        ],
        "CreationTime": stack.creation_time,
        "StackStatus": "CREATE_COMPLETE",
        "DisableRollback": False,
        "NotificationARNs": [],
        "Outputs": [
            {
                "OutputKey": output.key,
                "OutputValue": _text(output.local_value),
                "Description": output.description,
                "ExportName": output.export_name,
            }
            for output in stack.outputs
        ],
        "Tags": [],
        "EnableTerminationProtection": False,
        "ParentId": stack.parent_id,
        "RootId": stack.root_id,
        "DriftInformation": {"StackDriftStatus": _NOT_CHECKED},
    }


def _describe_resource(stack: DeployedStack, resource: DeployedResource) -> dict[str, Any]:
    return {
        "StackName": stack.name,
        "StackId": stack.stack_id,
        "LogicalResourceId": resource.logical_id,
        "PhysicalResourceId": resource.physical_id,
        "ResourceType": resource.resource_type,
        "Timestamp": resource.timestamp,
        "ResourceStatus": resource.status,
        "DriftInformation": {"StackResourceDriftStatus": _NOT_CHECKED},
    }


def _event(stack: DeployedStack, logical_id: str, physical_id: str, resource_type: str,
           status: str, timestamp: Any) -> dict[str, Any]:
    return {
        "StackId": stack.stack_id,
        "EventId": f"{logical_id}-{status}-{timestamp.isoformat()}",
        "StackName": stack.name,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": resource_type,
        "Timestamp": timestamp,
        "ResourceStatus": status,
    }


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
