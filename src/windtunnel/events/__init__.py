"""Sample AWS events for tests: API Gateway, SQS, SNS, EventBridge, streams, S3, Cognito.

``generate("sqs", body="hello")`` returns the event that a Lambda function receives,
field for field as AWS documents it, with realistic IDs and timestamps that a ``seed``
makes repeatable.
"""

from __future__ import annotations

from windtunnel.events.base import EventOptionError, Option, Source
from windtunnel.events.generator import SOURCES, generate

__all__ = ["SOURCES", "EventOptionError", "Option", "Source", "generate"]
