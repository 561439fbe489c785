"""Corrections to moto's Subscribe and SetSubscriptionAttributes for filter policies.

moto 5.2 validates filter policies with its own rules: it rejects ``cidr``, accepts
``wildcard`` and ``anything-but``/``suffix``, and lets ``equals-ignore-case`` policies with
capital letters match nothing. Here SNS's rules from :mod:`.filter_policies` decide both
validation and matching. Subscribe checks its attributes before the subscription exists, so
a rejected Subscribe leaves no subscription behind, as in SNS.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from windtunnel.services.sns.filter_policies import (
    FilterPolicy,
    InvalidFilterPolicyError,
    compile_filter_policy,
    validate_filter_policy_scope,
)

__all__ = ["validate_subscription_filter_policies"]

logger = logging.getLogger(__name__)


@functools.cache
def validate_subscription_filter_policies() -> None:
    """Install SNS's filter policy rules into moto's Subscribe and SetSubscriptionAttributes,
    and with them FIFO topics (:mod:`.fifo`) and HTTP(S) delivery retries
    (:mod:`.http_delivery`).

    The SNS delivery corrections call this first, before they wrap moto's delivery to
    subscribers, so the HTTP(S) deliveries they pass on reach the retrying one.
    """
    from moto.sns.models import SNSBackend
    from moto.sns.responses import SNSResponse

    from windtunnel.services.sns.fifo import install_fifo_topics
    from windtunnel.services.sns.http_delivery import install_http_retries

    install_fifo_topics()
    install_http_retries()

    set_attributes = SNSBackend.set_subscription_attributes
    if getattr(set_attributes, "windtunnel_correction", False):
        return

    def set_subscription_attributes(self: Any, arn: str, name: str, value: Any) -> None:
        subscription = self.subscriptions.get(arn)
        if subscription is None or name not in ("FilterPolicy", "FilterPolicyScope"):
            set_attributes(self, arn, name, value)
            return
        try:
            _set_filter_attribute(subscription, name, value)
        except InvalidFilterPolicyError as error:
            raise _invalid_parameter(error.message(subscribe=False)) from None

    subscribe = SNSResponse.subscribe

    def checked_subscribe(self: Any) -> Any:
        attributes = self._get_attributes() or {}
        try:
            _compile_attributes(attributes)
        except InvalidFilterPolicyError as error:
            raise _invalid_parameter(error.message(subscribe=True)) from None
        return subscribe(self)

    set_subscription_attributes.windtunnel_correction = True  # type: ignore[attr-defined]
    checked_subscribe.windtunnel_correction = True  # type: ignore[attr-defined]
    SNSBackend.set_subscription_attributes = set_subscription_attributes  # type: ignore[method-assign]
    SNSResponse.subscribe = checked_subscribe  # type: ignore[method-assign]


def _compile_attributes(attributes: dict[str, Any]) -> FilterPolicy | None:
    """Validate FilterPolicyScope and FilterPolicy from one set of Subscribe attributes."""
    scope = attributes.get("FilterPolicyScope")
    if scope is not None:
        validate_filter_policy_scope(str(scope))
    text = attributes.get("FilterPolicy")
    if not text:
        return None
    return compile_filter_policy(str(text), str(scope) if scope is not None else None)


def _set_filter_attribute(subscription: Any, name: str, value: Any) -> None:
    """Store FilterPolicy or FilterPolicyScope and the compiled policy that moto matches with.

    An empty FilterPolicy removes the policy. A new scope recompiles the current policy, so
    a nested policy cannot stay on a subscription whose scope becomes MessageAttributes.
    """
    attributes = subscription.attributes
    if name == "FilterPolicyScope":
        scope = validate_filter_policy_scope(str(value))
        policy_text = attributes.get("FilterPolicy")
        policy = compile_filter_policy(str(policy_text), scope) if policy_text else None
    else:
        scope = attributes.get("FilterPolicyScope")
        policy_text = str(value) if value else None
        policy = compile_filter_policy(policy_text, scope) if policy_text else None

    attributes[name] = value
    if policy is None:
        subscription._filter_policy = None
        subscription._filter_policy_matcher = None
        return
    subscription._filter_policy = json.loads(policy.source)
    # moto calls matcher.matches(message_attributes, message), as FilterPolicy takes them.
    subscription._filter_policy_matcher = policy


def _invalid_parameter(message: str) -> Exception:
    from moto.sns.exceptions import SNSInvalidParameter

    return SNSInvalidParameter(message)
