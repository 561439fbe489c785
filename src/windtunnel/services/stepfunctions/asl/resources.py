"""Task resources: what a Task state's Resource ARN names and how the task is awaited.

https://docs.aws.amazon.com/step-functions/latest/dg/integrate-services.html
https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = [
    "ACTIVITY",
    "LEGACY_LAMBDA",
    "REQUEST_RESPONSE",
    "RUN_JOB",
    "RUN_JOB_JSON",
    "SERVICE",
    "WAIT_FOR_TASK_TOKEN",
    "Resource",
    "parse_resource",
]

# Integration patterns.
REQUEST_RESPONSE = "request-response"
RUN_JOB = ".sync"
RUN_JOB_JSON = ".sync:2"
WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"

# Kinds of resource.
SERVICE = "service"
LEGACY_LAMBDA = "lambda-function"
ACTIVITY = "activity"

_SERVICE_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):states:::(?P<target>[^:]+(?::[^:.]+)?):(?P<action>[A-Za-z0-9]+)"
    r"(?P<pattern>\.sync:2|\.sync|\.waitForTaskToken)?$")
_AWS_SDK_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):states:::aws-sdk:(?P<service>[a-z0-9]+):"
    r"(?P<action>[A-Za-z0-9]+)"
    r"(?P<pattern>\.waitForTaskToken)?$")
_LAMBDA_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"function:(?P<function>[A-Za-z0-9_-]+)(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$")
_ACTIVITY_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):states:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"activity:(?P<name>.+)$")


@dataclass(frozen=True)
class Resource:
    """A parsed Task resource."""

    arn: str
    kind: str
    service: str
    """``lambda``, ``dynamodb``, ``states``, ``aws-sdk:s3``... (the resourceType in history)."""
    action: str
    """``invoke``, ``putItem``, ``startExecution``..."""
    pattern: str = REQUEST_RESPONSE

    @property
    def history_resource(self) -> str:
        """The ``resource`` value of task history events: the action and its pattern."""
        if self.pattern == REQUEST_RESPONSE:
            return self.action
        return self.action + self.pattern

    @property
    def aws_sdk(self) -> bool:
        """Whether this is an AWS SDK integration (``arn:aws:states:::aws-sdk:...``)."""
        return self.service.startswith("aws-sdk:")


@functools.lru_cache(maxsize=1024)
def parse_resource(arn: str) -> Resource | None:
    """Parse a Task's Resource; None when it is no resource Step Functions knows."""
    match = _AWS_SDK_ARN.match(arn)
    if match is not None:
        return Resource(arn, SERVICE, "aws-sdk:" + match.group("service"),
                        match.group("action"), match.group("pattern") or REQUEST_RESPONSE)
    match = _SERVICE_ARN.match(arn)
    if match is not None:
        return Resource(arn, SERVICE, match.group("target"), match.group("action"),
                        match.group("pattern") or REQUEST_RESPONSE)
    match = _LAMBDA_ARN.match(arn)
    if match is not None:
        return Resource(arn, LEGACY_LAMBDA, "lambda", "invoke")
    match = _ACTIVITY_ARN.match(arn)
    if match is not None:
        return Resource(arn, ACTIVITY, "activity", match.group("name"))
    return None
