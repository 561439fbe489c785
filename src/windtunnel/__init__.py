"""windtunnel: test AWS serverless applications locally, with the fidelity of AWS."""

from __future__ import annotations

import logging

from windtunnel.cloud.capture import Delivery, QueueMessage, TopicMessage
from windtunnel.errors import (
    CircularDependencyError,
    DeploymentError,
    ParameterError,
    TemplateError,
    TemplateSyntaxError,
    UnresolvedReferenceError,
    UnsupportedFeatureError,
    WindtunnelError,
)
from windtunnel.iam.enforcement import IamMode
from windtunnel.iam.records import DecisionRecord
from windtunnel.iam.report import IamReport
from windtunnel.runtime.result import FunctionError, InvocationResult
from windtunnel.services.appsync.evaluate import EvaluationResult
from windtunnel.services.stepfunctions.coverage import CoverageReport
from windtunnel.stack.aws import AwsStack
from windtunnel.stack.aws_errors import (
    AwsCredentialsError,
    AwsTargetError,
    CapturePermissionError,
    MissingOutputError,
    NotSupportedOnAwsError,
    StackNotFoundError,
)
from windtunnel.stack.events import EventAssertionError
from windtunnel.stack.graphql import GraphqlSubscription, GraphqlSubscriptionError
from windtunnel.stack.local import EmulatedStack, InvocationError, Stack
from windtunnel.stack.stepfunctions import ExecutionResult

__version__ = "0.1.0.dev0"

__all__ = [
    "AwsCredentialsError",
    "AwsStack",
    "AwsTargetError",
    "CapturePermissionError",
    "CircularDependencyError",
    "CoverageReport",
    "DecisionRecord",
    "Delivery",
    "DeploymentError",
    "EmulatedStack",
    "EvaluationResult",
    "EventAssertionError",
    "ExecutionResult",
    "FunctionError",
    "GraphqlSubscription",
    "GraphqlSubscriptionError",
    "IamMode",
    "IamReport",
    "InvocationError",
    "InvocationResult",
    "MissingOutputError",
    "NotSupportedOnAwsError",
    "ParameterError",
    "QueueMessage",
    "Stack",
    "StackNotFoundError",
    "TemplateError",
    "TemplateSyntaxError",
    "TopicMessage",
    "UnresolvedReferenceError",
    "UnsupportedFeatureError",
    "WindtunnelError",
    "__version__",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
