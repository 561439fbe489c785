"""AppSync operations that windtunnel serves before moto: EvaluateMappingTemplate.

EvaluateMappingTemplate renders a VTL resolver template with windtunnel's AppSync dialect.
Every other AppSync operation is moto's. API reference:
https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateMappingTemplate.html

Limitations:
    EvaluateCode (APPSYNC_JS) is not emulated and goes to moto, which does not implement
    it. The messages of BadRequestException for an invalid request and of a template
    that fails to parse are windtunnel's own, not recorded from AWS.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
from collections.abc import Callable

from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.appsync.evaluate import evaluate_template

__all__ = ["AppSyncProvider"]

logger = logging.getLogger(__name__)

# Lengths that the AppSync API model allows for EvaluateMappingTemplate's members.
_TEMPLATE_LENGTH = (2, 65_536)
_CONTEXT_LENGTH = (2, 28_000)
_RANDOM_SEED = 20101


class AppSyncProvider:
    """Evaluates mapping templates; leaves the other AppSync operations to moto."""

    service = "appsync"

    def __init__(self, *, now: Callable[[], datetime.datetime] | None = None,
                 randomness: random.Random | None = None) -> None:
        """``now`` is the clock of ``$util.time`` (a stack passes its virtual clock), and
        ``randomness`` the source of generated IDs, seeded so that runs repeat."""
        self.now = now
        self.random = randomness or random.Random(_RANDOM_SEED)

    def handle(self, request: AwsRequest) -> AwsResponse | None:
        """Serve EvaluateMappingTemplate; return None for every other operation."""
        if request.operation == "EvaluateMappingTemplate":
            return self.evaluate_mapping_template(request)
        return None

    def evaluate_mapping_template(self, request: AwsRequest) -> AwsResponse:
        """EvaluateMappingTemplate: render ``template`` against the JSON ``context``."""
        try:
            parameters = json.loads(request.body or b"{}")
        except ValueError:
            raise AwsError("BadRequestException", "The request body is not valid JSON.") from None
        if not isinstance(parameters, dict):
            raise AwsError("BadRequestException", "The request body must be a JSON object.")
        template = _member(parameters, "template", _TEMPLATE_LENGTH)
        context_text = _member(parameters, "context", _CONTEXT_LENGTH)
        try:
            context = json.loads(context_text)
        except ValueError as error:
            raise AwsError("BadRequestException",
                           f"The context is not valid JSON: {error}") from None
        if not isinstance(context, dict):
            raise AwsError("BadRequestException", "The context must be a JSON object.")

        result = evaluate_template(template, context, now=self.now, randomness=self.random)
        body = json.dumps(result.to_response()).encode()
        return AwsResponse(200, {"Content-Type": "application/json"}, body)


def _member(parameters: dict[str, object], name: str, length: tuple[int, int]) -> str:
    """Return a required string member, checked against the model's length limits."""
    value = parameters.get(name)
    if not isinstance(value, str):
        raise AwsError("BadRequestException", f"1 validation error detected: Value at "
                                              f"'{name}' failed to satisfy constraint: Member "
                                              f"must not be null")
    minimum, maximum = length
    if len(value) < minimum:
        raise AwsError("BadRequestException", f"1 validation error detected: Value at "
                                              f"'{name}' failed to satisfy constraint: Member "
                                              f"must have length greater than or equal to "
                                              f"{minimum}")
    if len(value) > maximum:
        raise AwsError("BadRequestException", f"1 validation error detected: Value at "
                                              f"'{name}' failed to satisfy constraint: Member "
                                              f"must have length less than or equal to "
                                              f"{maximum}")
    return value
