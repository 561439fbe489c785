"""EventBridge operations that windtunnel checks or serves before moto.

PutRule rejects an invalid pattern with ``InvalidEventPatternException`` before the rule is
stored, and TestEventPattern is evaluated with windtunnel's pattern engine. PutTargets
rejects invalid input settings and retry policies with ``ValidationException``. Every other
EventBridge operation is moto's.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html

Limitations:
    TestEventPattern does not check that the event has the fields EventBridge requires
    (id, account, source, time, region, resources, detail-type). The PutTargets messages
    for invalid input settings are not recorded from AWS.
"""

from __future__ import annotations

import json

from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.events.patterns import (
    InvalidEventPatternError,
    Pattern,
    compile_pattern,
)
from windtunnel.services.events.targets.validation import validate_targets

__all__ = ["EventsProvider"]


class EventsProvider:
    """Validates rule patterns and targets, and evaluates TestEventPattern."""

    service = "events"

    def handle(self, request: AwsRequest) -> AwsResponse | None:
        """Evaluate TestEventPattern and check PutRule and PutTargets; leave the rest to
        moto."""
        if request.operation == "TestEventPattern":
            return self.test_event_pattern(_json_body(request))
        if request.operation == "PutTargets":
            self.put_targets(_json_body(request))
            return None
        if request.operation == "PutRule":
            pattern = _json_body(request).get("EventPattern")
            if pattern is not None:
                _compile(pattern)
        return None

    def put_targets(self, parameters: dict[str, object]) -> None:
        """PutTargets: reject invalid input settings and retry policies before moto."""
        targets = parameters.get("Targets")
        if not isinstance(targets, list):
            return
        message = validate_targets([target for target in targets
                                    if isinstance(target, dict)])
        if message is not None:
            raise AwsError("ValidationException", message)

    def test_event_pattern(self, parameters: dict[str, object]) -> AwsResponse:
        """TestEventPattern: whether the event matches the pattern."""
        compiled = _compile(parameters.get("EventPattern"))
        event_text = parameters.get("Event")
        try:
            event = json.loads(str(event_text))
        except ValueError:
            raise AwsError("InvalidEventPatternException",
                           "Event is not valid JSON.") from None
        if not isinstance(event, dict):
            raise AwsError("InvalidEventPatternException", "Event must be a JSON object.")
        body = json.dumps({"Result": compiled.matches(event)}).encode()
        return AwsResponse(200, {"Content-Type": "application/x-amz-json-1.1"}, body)


def _json_body(request: AwsRequest) -> dict[str, object]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _compile(pattern: object) -> Pattern:
    if not isinstance(pattern, str | dict):
        raise AwsError("InvalidEventPatternException",
                       "Event pattern is not valid. Reason: the pattern must be a JSON object")
    try:
        return compile_pattern(pattern)
    except InvalidEventPatternError as error:
        raise AwsError(error.code, error.message) from None
