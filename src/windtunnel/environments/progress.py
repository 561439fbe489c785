"""Wait for a CloudFormation stack operation, printing its stack events as they happen."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from windtunnel.environments.aws import aws_error
from windtunnel.errors import WindtunnelError

__all__ = ["FailedResource", "StackOperationFailed", "StackWatcher", "operation_failed"]

logger = logging.getLogger(__name__)

# The seconds between two DescribeStacks calls while an operation runs.
DEFAULT_POLL_INTERVAL = 5.0
# The reason CloudFormation gives to resources it stopped because another one failed;
# they are not the cause, so failure reports leave them out.
_CANCELLED = "Resource creation cancelled"


@dataclass(frozen=True)
class FailedResource:
    """A resource whose operation failed, with CloudFormation's reason."""

    logical_id: str
    resource_type: str
    status: str
    reason: str


class StackOperationFailed(WindtunnelError):
    """A stack reached a failed status; ``failures`` contains the resources' reasons."""

    def __init__(self, message: str, *, status: str,
                 failures: list[FailedResource]) -> None:
        super().__init__(message)
        self.status = status
        self.failures = failures


def operation_failed(name: str, verb: str, stack: dict[str, Any],
                     failures: list[FailedResource], fix: str) -> StackOperationFailed:
    """Return the one-line error for a stack that was not ``verb`` (created, deleted)."""
    causes = "; ".join(f"{failure.logical_id} ({failure.resource_type}): {failure.reason}"
                       for failure in failures)
    if not causes:
        causes = stack.get("StackStatusReason") or "CloudFormation gave no reason"
    return StackOperationFailed(
        f"the stack {name} was not {verb} ({stack['StackStatus']}): {causes}; {fix}",
        status=stack["StackStatus"], failures=failures)


@dataclass
class StackWatcher:
    """Follows one stack's events and status until an operation on it ends."""

    client: Any
    stack_id: str
    report: Callable[[str], None]
    poll_interval: float = DEFAULT_POLL_INTERVAL
    sleep: Callable[[float], None] = time.sleep
    failures: list[FailedResource] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def skip_existing_events(self) -> None:
        """Mark the events that exist now as seen, so only later ones are printed."""
        for event in self._fetch_events():
            self._seen.add(event["EventId"])

    def wait(self) -> dict[str, Any]:
        """Print new events until the stack's status is no longer ``*_IN_PROGRESS``, and
        return the stack's description.

        ``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`` counts as in progress too, since the
        stack is still changing.
        """
        while True:
            stack = self._describe()
            self._print_new_events()
            if not stack["StackStatus"].endswith("_IN_PROGRESS"):
                return stack
            self.sleep(self.poll_interval)

    def _describe(self) -> dict[str, Any]:
        try:
            stacks = self.client.describe_stacks(StackName=self.stack_id)["Stacks"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise aws_error(error, "cloudformation:DescribeStacks") from None
        stack: dict[str, Any] = stacks[0]
        return stack

    def _fetch_events(self) -> list[dict[str, Any]]:
        """Return the events not yet seen, oldest first.

        DescribeStackEvents lists the newest first, so reading stops at the first page
        that contains an event already seen.
        """
        events: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("describe_stack_events")
        try:
            for page in paginator.paginate(StackName=self.stack_id):
                fresh = [event for event in page["StackEvents"]
                         if event["EventId"] not in self._seen]
                events.extend(fresh)
                if len(fresh) < len(page["StackEvents"]):
                    break
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise aws_error(error, "cloudformation:DescribeStackEvents") from None
        return sorted(events, key=lambda event: event["Timestamp"])

    def _print_new_events(self) -> None:
        for event in self._fetch_events():
            self._seen.add(event["EventId"])
            status = event["ResourceStatus"]
            reason = event.get("ResourceStatusReason") or ""
            line = (f"  {event['Timestamp']:%H:%M:%S}  {status:<20}  "
                    f"{event.get('ResourceType', ''):<36}  {event['LogicalResourceId']}")
            self.report(f"{line}  {reason}".rstrip())

            if status.endswith("_FAILED") and reason and _CANCELLED not in reason:
                self.failures.append(FailedResource(
                    logical_id=event["LogicalResourceId"],
                    resource_type=event.get("ResourceType", ""),
                    status=status, reason=reason))
