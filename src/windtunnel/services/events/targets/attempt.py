"""One event on its way to one target: the attempt, its failures and the services it uses."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from windtunnel.clock import VirtualClock

__all__ = ["Attempt", "DeliveryFailure", "DeliveryServices", "RoleClientFactory"]

logger = logging.getLogger(__name__)

RoleClientFactory = Callable[[str, str, str], Any]
"""``role_client(service, role_arn, session_name)``: a boto3 client signed as a session of
the role, whose calls the embedded cloud authorizes against the role's policies."""


class DeliveryFailure(Exception):
    """A target that did not take the event, with the error code EventBridge reports."""

    def __init__(self, error_code: str, message: str, *, retriable: bool,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.retriable = retriable
        self.retry_after = retry_after
        """Seconds the target asked EventBridge to wait (an HTTP ``Retry-After``)."""


@dataclass(frozen=True)
class DeliveryServices:
    """The parts of the embedded cloud that delivery uses."""

    allowed: Callable[[str, str, str, str], bool]
    """``allowed(action, target_arn, rule_arn, rule_account)``: whether the target's
    resource-based policy lets EventBridge deliver on behalf of the rule."""
    invoke_function: Callable[[str, str, bytes], None] | None
    """``invoke_function(rule_arn, function_arn, payload)`` invokes asynchronously and
    raises AwsError when Lambda does not accept the event; None without a Lambda runtime."""
    clock: VirtualClock | None
    """The clock that retries are scheduled on; without one, a retriable failure is final."""
    delivering_from: Callable[[str], Any]
    """A context manager that attributes what is sent inside it to the rule."""
    role_client: RoleClientFactory | None = None
    """The factory of clients for targets called as the target's ``RoleArn`` (Step
    Functions, Kinesis). None when no cloud can sign requests as a role."""


@dataclass
class Attempt:
    """One event on its way to one target, across retries."""

    rule_arn: str
    account: str
    region: str
    target: dict[str, Any]
    event: dict[str, Any]
    payload: str
    first_attempt: datetime.datetime
    retries: int = 0
    services: DeliveryServices | None = field(default=None, repr=False)

    @property
    def rule_name(self) -> str:
        return self.rule_arn.rsplit("/", 1)[-1]

    @property
    def target_arn(self) -> str:
        return str(self.target["Arn"])
