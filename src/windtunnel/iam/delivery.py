"""Decide whether one AWS service may deliver to a resource, from the resource's own policy.

When SNS sends a message to a queue or EventBridge invokes a function, the request comes
from a service principal such as ``sns.amazonaws.com``. A service principal has no
identity-based policies, so only the target's resource-based policy can allow it, usually
limited to one source with the ``aws:SourceArn`` and ``aws:SourceAccount`` condition keys:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcearn
https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
"""

from __future__ import annotations

import logging

from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.evaluation import Decision, PolicyType, Reason, evaluate
from windtunnel.iam.request import AuthorizationRequest, ContextValue
from windtunnel.iam.resource_policies import resource_policy_of

__all__ = ["authorize_delivery", "evaluate_delivery"]

logger = logging.getLogger(__name__)


def evaluate_delivery(service_principal: str, action: str, resource_arn: str,
                      source_arn: str | None = None,
                      source_account: str | None = None) -> Decision:
    """Decide whether ``service_principal`` may perform ``action`` on ``resource_arn``.

    ``source_arn`` and ``source_account`` name the resource the delivery comes from (the
    topic, the rule, the bucket) and its account. They become the ``aws:SourceArn`` and
    ``aws:SourceAccount`` context keys. A target without a resource-based policy, or with
    one that IAM would reject, allows nothing.
    """
    context: dict[str, ContextValue] = {}
    if source_arn is not None:
        context["aws:SourceArn"] = source_arn
    if source_account is not None:
        context["aws:SourceAccount"] = source_account
    request = AuthorizationRequest(principal=service_principal, action=action,
                                   resource=resource_arn, context=context)

    policy = resource_policy_of(resource_arn)
    if policy is None:
        return Decision(False, Reason.IMPLICIT_DENY, (), PolicyType.RESOURCE)
    try:
        return evaluate(request, [], resource_policy=policy)
    except MalformedPolicyError as error:
        logger.info("the resource-based policy of %s is not valid, so it allows nothing: %s",
                    resource_arn, error)
        return Decision(False, Reason.IMPLICIT_DENY, (), PolicyType.RESOURCE)


def authorize_delivery(service_principal: str, action: str, resource_arn: str,
                       source_arn: str | None, source_account: str | None) -> bool:
    """Return whether the delivery is allowed, as :func:`evaluate_delivery` decides.

    This is the default delivery authorizer of the embedded cloud; see
    :func:`windtunnel.cloud.moto_corrections.set_delivery_authorizer`.
    """
    decision = evaluate_delivery(service_principal, action, resource_arn, source_arn,
                                 source_account)
    return decision.allowed
