"""Deliveries of SNS subscriptions to HTTP(S) endpoints on this machine, with retries.

SNS retries a delivery that fails with a server-side error (the endpoint is unavailable, or
its response says it could not process a valid request) by the subscription's delivery
policy, then moves the message to the subscription's dead-letter queue, or discards it:
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html

A delivery policy has four phases: retries without delay (``numNoDelayRetries``), retries
``minDelayTarget`` apart (``numMinDelayRetries``), backoff retries whose delay grows from
``minDelayTarget`` to ``maxDelayTarget`` by ``backoffFunction``, and retries
``maxDelayTarget`` apart (``numMaxDelayRetries``); ``numRetries`` counts them all. By
default SNS retries an HTTP(S) delivery 3 times, 20 seconds apart:
https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.retry.html
The subscription's ``DeliveryPolicy`` (``healthyRetryPolicy``) overrides the topic's
(``http.defaultHealthyRetryPolicy``) unless the topic sets ``disableSubscriptionOverrides``.

The first attempt runs while ``Publish`` runs; retries run on the stack's virtual clock, so
``stack.clock.advance`` runs them. Only endpoints on 127.0.0.1 or localhost are called.

Limitations:

- NOTE: SNS documents no split of HTTP status codes. Here 2xx is a delivery; 5xx, a refused
  connection and a timeout of 15 seconds are server-side errors that are retried; any
  other status is a client-side error, which goes to the dead-letter queue at once.
- SNS applies jitter to the delays and does not publish the curves of its backoff
  functions: ``linear`` and ``arithmetic`` grow evenly here, ``exponential`` and
  ``geometric`` by a constant factor.
- Without a virtual clock (a bare ``Cloud``), only retries without delay run; then the
  message goes to the dead-letter queue.
- ``throttlePolicy`` and ``requestPolicy`` are not applied.
"""

from __future__ import annotations

import functools
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from windtunnel.services.sns.delivery import (
    Notification,
    envelope,
    raw_message_delivery,
    redrive,
    render_envelope,
)
from windtunnel.services.sns.fifo import sns_clock

__all__ = ["RetryPolicy", "install_http_retries", "retry_policy"]

logger = logging.getLogger(__name__)

# NOTE: the time SNS waits for an HTTP(S) endpoint's response is an assumption.
_TIMEOUT_SECONDS = 15.0
# The total retry time of an HTTP(S) delivery policy is at most 3,600 seconds.
_MAXIMUM_TOTAL_DELAY = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """The ``healthyRetryPolicy`` of an HTTP(S) subscription, with SNS's defaults."""

    num_retries: int = 3
    num_no_delay_retries: int = 0
    num_min_delay_retries: int = 0
    num_max_delay_retries: int = 0
    min_delay_target: float = 20.0
    max_delay_target: float = 20.0
    backoff_function: str = "linear"

    @classmethod
    def from_json(cls, policy: dict[str, Any]) -> RetryPolicy:
        """Read a ``healthyRetryPolicy`` object; missing members keep their defaults."""
        defaults = cls()
        return cls(
            num_retries=int(policy.get("numRetries", defaults.num_retries)),
            num_no_delay_retries=int(policy.get("numNoDelayRetries", 0)),
            num_min_delay_retries=int(policy.get("numMinDelayRetries", 0)),
            num_max_delay_retries=int(policy.get("numMaxDelayRetries", 0)),
            min_delay_target=float(policy.get("minDelayTarget", defaults.min_delay_target)),
            max_delay_target=float(policy.get("maxDelayTarget", defaults.max_delay_target)),
            backoff_function=str(policy.get("backoffFunction", "linear")).lower(),
        )

    def delays(self) -> list[float]:
        """Return the delay before each retry, in seconds, phase after phase."""
        backoff_retries = max(self.num_retries - self.num_no_delay_retries -
                              self.num_min_delay_retries - self.num_max_delay_retries, 0)
        delays = [0.0] * self.num_no_delay_retries
        delays += [self.min_delay_target] * self.num_min_delay_retries
        delays += [self._backoff(step, backoff_retries)
                   for step in range(1, backoff_retries + 1)]
        delays += [self.max_delay_target] * self.num_max_delay_retries
        delays = delays[:max(self.num_retries, 0)]

        total = 0.0
        for index, delay in enumerate(delays):
            total += delay
            if total > _MAXIMUM_TOTAL_DELAY:
                return delays[:index]
        return delays

    def _backoff(self, step: int, steps: int) -> float:
        low, high = self.min_delay_target, self.max_delay_target
        fraction = step / steps
        if self.backoff_function in ("exponential", "geometric") and low > 0:
            return float(low * (high / low) ** fraction)
        return low + (high - low) * fraction


def retry_policy(subscription: Any) -> RetryPolicy:
    """Return the retry policy that applies to an HTTP(S) subscription."""
    topic_policy = _json_object(getattr(subscription.topic, "delivery_policy", "")).get("http")
    topic_policy = topic_policy if isinstance(topic_policy, dict) else {}
    policy = topic_policy.get("defaultHealthyRetryPolicy") or {}
    if not topic_policy.get("disableSubscriptionOverrides"):
        own = _json_object(subscription.attributes.get("DeliveryPolicy")).get(
            "healthyRetryPolicy")
        if own:
            policy = own
    return RetryPolicy.from_json(policy if isinstance(policy, dict) else {})


@functools.cache
def install_http_retries() -> None:
    """Deliver to HTTP(S) subscribers with SNS's retries instead of moto's single POST."""
    from moto.core.utils import iso_8601_datetime_with_milliseconds
    from moto.sns import models

    original = models.Subscription.publish
    # Its own marker: the SNS delivery corrections install themselves over this one, and
    # take a "windtunnel_correction" marker to mean that they already did.
    if getattr(original, "windtunnel_http_retries", False):
        return

    def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None,
                group_id: str | None = None, deduplication_id: str | None = None,
                message_structure: str | None = None) -> None:
        if self.protocol not in ("http", "https"):
            original(self, message, message_id, subject=subject,
                     message_attributes=message_attributes, group_id=group_id,
                     deduplication_id=deduplication_id, message_structure=message_structure)
            return
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        attributes = message_attributes or {}
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
            # SNS sends message attributes only with string messages.
            attributes = {}
        notification = Notification(message, message_id, subject, attributes, group_id,
                                    deduplication_id)
        delivery = _HttpDelivery(self, notification, iso_8601_datetime_with_milliseconds(),
                                 retry_policy(self).delays())
        delivery.attempt()

    publish.windtunnel_http_retries = True  # type: ignore[attr-defined]
    models.Subscription.publish = publish  # type: ignore[method-assign]


@dataclass(eq=False)
class _HttpDelivery:
    """One message on its way to one HTTP(S) subscriber, with the retries left."""

    subscription: Any
    notification: Notification
    timestamp: str
    delays: list[float]
    attempts: int = 0

    def attempt(self) -> None:
        """POST the message; schedule the next retry or redrive it when that fails."""
        if not self._subscribed():
            return
        self.attempts += 1
        error, retryable = _post(self.subscription, self.notification, self.timestamp)
        if error is None:
            return
        arn = self.subscription.arn
        message_id = self.notification.message_id
        if not retryable:
            logger.info("subscription %s: message %s not delivered (%s), a client-side error "
                        "that SNS does not retry", arn, message_id, error)
            self._redrive()
            return
        if self.attempts > len(self.delays):
            logger.info("subscription %s: message %s not delivered after %d attempts (%s)",
                        arn, message_id, self.attempts, error)
            self._redrive()
            return

        delay = self.delays[self.attempts - 1]
        logger.info("subscription %s: attempt %d of message %s failed (%s); retrying in "
                    "%g seconds", arn, self.attempts, message_id, error, delay)
        clock = sns_clock()
        if delay == 0:
            # The immediate retry phase runs before Publish returns.
            self.attempt()
        elif clock is not None:
            clock.schedule(delay, self.attempt,
                           description=f"retry message {message_id} to {arn}")
        else:
            logger.warning("subscription %s: message %s is not retried after %g seconds "
                           "because no virtual clock runs the retries", arn, message_id, delay)
            self._redrive()

    def _subscribed(self) -> bool:
        """Tell whether the subscription still exists; SNS stops delivering when it does not."""
        backend = self.subscription.topic.sns_backend
        return self.subscription.arn in backend.subscriptions

    def _redrive(self) -> None:
        from windtunnel.cloud.capture import _delivering_from
        from windtunnel.cloud.moto_corrections import _delivery_allowed

        topic = self.subscription.topic
        source = f"subscription {self.subscription.arn}"

        def allowed(queue_arn: str) -> bool:
            return _delivery_allowed(source, "sns.amazonaws.com", "sqs:SendMessage", queue_arn,
                                     topic.arn, topic.account_id)

        # Retries run from the clock, so the dead-letter message names its subscription here.
        with _delivering_from(str(self.subscription.arn)):
            redrive(self.subscription, self.notification, self.timestamp, allowed)


def _post(subscription: Any, notification: Notification,
          timestamp: str) -> tuple[str | None, bool]:
    """POST one notification; return (None, _) on success, else the error and whether it is
    a server-side error that SNS retries."""
    if raw_message_delivery(subscription):
        body = notification.message
    else:
        body = render_envelope(envelope(subscription, notification, timestamp))
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": notification.message_id,
        "x-amz-sns-topic-arn": str(subscription.topic.arn),
        "x-amz-sns-subscription-arn": str(subscription.arn),
    }
    if raw_message_delivery(subscription):
        headers["x-amz-sns-rawdelivery"] = "true"
    request = urllib.request.Request(str(subscription.endpoint), data=body.encode(),
                                     headers=headers, method="POST")
    # No proxy: the endpoint is on this machine, and nothing may leave it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=_TIMEOUT_SECONDS) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = int(error.code)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        return f"endpoint unavailable: {reason}", True
    if 200 <= status < 300:
        return None, False
    return f"HTTP status {status}", status >= 500


def _json_object(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    if not text:
        return {}
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
