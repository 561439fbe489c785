"""Corrections to moto behaviour that would break a Docker-free, in-process emulation."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from windtunnel.clock import VirtualClock
from windtunnel.cloud.capture import record_function_delivery
from windtunnel.cloud.messages import AwsRequest, AwsResponse

logger = logging.getLogger(__name__)

__all__ = [
    "DeliveryAuthorizer",
    "allow_inline_policies_without_version",
    "authorize_sns_deliveries",
    "deliver_rule_targets_moto_lacks",
    "detach_moto_event_source_mappings",
    "match_event_source_mappings_by_name_or_arn",
    "match_rules_with_eventbridge_patterns",
    "notify_about_queue_messages",
    "set_delivery_authorizer",
    "set_lambda_invoker",
    "set_queue_message_listener",
    "set_rule_delivery_clock",
    "set_rule_role_client",
    "unset_queue_message_listener",
    "validate_bucket_notification_destinations",
]

# The sources on which moto registers event source mappings, to invoke functions itself:
# (service, attribute of the backend that contains the sources).
_MAPPING_SOURCES = (("sqs", "queues"), ("dynamodb", "tables"), ("kinesis", "streams"))


def detach_moto_event_source_mappings(request: AwsRequest, response: AwsResponse) -> None:
    """Keep moto from invoking functions through event source mappings.

    moto runs the function in a Docker container when a message reaches a mapped queue,
    table or stream. windtunnel runs functions in process and owns event source mappings.
    So after a mapping is created, its registration on the source is removed, and the
    mapping itself stays in Lambda's configuration.
    """
    if request.service != "lambda" or "/event-source-mappings" not in request.path:
        return
    from moto.core.base_backend import BackendDict

    instances: list[Any] = BackendDict._instances  # type: ignore[misc]
    for backend_dict in list(instances):
        for service, attribute in _MAPPING_SOURCES:
            if backend_dict.service_name != service:
                continue
            for _account, _region, backend in backend_dict.iter_backends():
                sources: Any = getattr(backend, attribute, {})
                for source in sources.values():
                    mappings = getattr(source, "lambda_event_source_mappings", None)
                    if mappings:
                        mappings.clear()


QueueMessageListener = Callable[[Any, Any], None]
"""``listener(queue, message)`` with moto's ``Queue`` and ``Message`` models."""

_queue_message_listener: list[QueueMessageListener] = []


def set_queue_message_listener(listener: QueueMessageListener | None) -> None:
    """Call ``listener(queue, message)`` after moto adds a message to an SQS queue.

    Event source mappings use it to poll the queue. None removes the listener, and a new
    listener replaces the previous one.
    """
    _queue_message_listener.clear()
    if listener is not None:
        _queue_message_listener.append(listener)


def unset_queue_message_listener(listener: QueueMessageListener) -> None:
    """Remove ``listener`` if it is the queue message listener; keep any other one."""
    if _queue_message_listener and _queue_message_listener[0] == listener:
        _queue_message_listener.clear()


@functools.cache
def notify_about_queue_messages() -> None:
    """Report every message that reaches an SQS queue to the queue message listener.

    Messages reach a queue through SendMessage and SendMessageBatch, and inside moto from
    SNS subscriptions, EventBridge targets, S3 notifications and dead-letter redrives. All
    of these add it with ``Queue.add_message``, which is where moto runs its own event
    source mappings. A FIFO message that deduplication drops is not reported.
    """
    from moto.sqs import models

    original = models.Queue.add_message
    if getattr(original, "windtunnel_correction", False):
        return

    def add_message(self: Any, message: Any) -> None:
        count = len(self._messages)
        original(self, message)
        if len(self._messages) > count and _queue_message_listener:
            _queue_message_listener[0](self, message)

    add_message.windtunnel_correction = True  # type: ignore[attr-defined]
    models.Queue.add_message = add_message  # type: ignore[method-assign]


_inline_policy = threading.local()
_INLINE_POLICY_OPERATIONS = ("put_role_policy", "put_user_policy", "put_group_policy")


@contextlib.contextmanager
def _validating_inline_policy() -> Iterator[None]:
    _inline_policy.active = True
    try:
        yield
    finally:
        _inline_policy.active = False


def _inline_policy_operation(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _validating_inline_policy():
            return method(*args, **kwargs)

    wrapper.windtunnel_correction = True  # type: ignore[attr-defined]
    return wrapper


@functools.cache
def allow_inline_policies_without_version() -> None:
    """Accept inline identity policies that have no ``Version`` element, as IAM does.

    IAM requires ``"Version": "2012-10-17"`` in managed policies ("A managed policy must
    have a version string"), but an inline policy without it is valid and takes the
    2008-10-17 language version:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
    moto 5.2 applies the managed-policy rule to inline policies too, which rejects the
    inline policies that the SAM transform generates from policy templates.
    """
    from moto.iam import models, policy_validation

    validator = policy_validation.BaseIAMPolicyValidator
    check_version = validator._validate_version

    def validate_version(self: Any) -> None:
        if getattr(_inline_policy, "active", False) and "Version" not in self._policy_json:
            return
        check_version(self)

    validator._validate_version = validate_version  # type: ignore[method-assign]
    for name in _INLINE_POLICY_OPERATIONS:
        method = getattr(models.IAMBackend, name)
        if not getattr(method, "windtunnel_correction", False):
            setattr(models.IAMBackend, name, _inline_policy_operation(method))


def _unqualified_function_name(name_or_arn: str) -> str:
    # "my-function", "123456789012:function:my-function" and the full ARN, with or without
    # a version or alias qualifier, all name the same function.
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn.split(":", 1)[0]


@functools.cache
def match_event_source_mappings_by_name_or_arn() -> None:
    """Let ListEventSourceMappings find a mapping by the function's name or its ARN.

    Lambda accepts a function name, a partial ARN or a full ARN in ``FunctionName`` and
    matches mappings created with any of them:
    https://docs.aws.amazon.com/lambda/latest/api/API_ListEventSourceMappings.html
    moto 5.2 compares the strings as given, so a mapping created with an ARN is not found
    by name, and the other way round.
    """
    from moto.awslambda import models

    original = models.LambdaBackend.list_event_source_mappings
    if getattr(original, "windtunnel_correction", False):
        return

    def list_event_source_mappings(self: Any, event_source_arn: str,
                                   function_name: str) -> Any:
        mappings = original(self, event_source_arn, "")
        if not function_name:
            return mappings
        requested = _unqualified_function_name(function_name)
        return [mapping for mapping in mappings
                if _unqualified_function_name(mapping.function_name) == requested]

    list_event_source_mappings.windtunnel_correction = True  # type: ignore[attr-defined]
    models.LambdaBackend.list_event_source_mappings = (  # type: ignore[method-assign]
        list_event_source_mappings)


LambdaInvoker = Callable[[str, bytes], None]
_lambda_invoker: list[LambdaInvoker] = []
_rule_delivery_clock: list[VirtualClock] = []
_rule_role_client: list[Callable[[str, str, str], Any]] = []


def set_rule_role_client(role_client: Callable[[str, str, str], Any] | None) -> None:
    """Call rules' Step Functions and Kinesis targets with clients from ``role_client``
    (``role_client(service, role_arn, session_name)``); None stops those deliveries."""
    _rule_role_client.clear()
    if role_client is not None:
        _rule_role_client.append(role_client)


def set_lambda_invoker(invoker: LambdaInvoker | None) -> None:
    """Let EventBridge rules invoke functions through ``invoker(function_arn, payload)``."""
    _lambda_invoker.clear()
    if invoker is not None:
        _lambda_invoker.append(invoker)


def set_rule_delivery_clock(clock: VirtualClock | None) -> None:
    """Schedule the retries of EventBridge target deliveries on ``clock``.

    Without a clock set here, the clock of the object that set the Lambda invoker (the
    stack's environment) is used when it has one.
    """
    _rule_delivery_clock.clear()
    if clock is not None:
        _rule_delivery_clock.append(clock)


@functools.cache
def deliver_rule_targets_moto_lacks() -> None:
    """Deliver events to rules' targets as EventBridge does, after PutEvents returns.

    moto 5.2 delivers to log groups, buses and SQS queues only, ignores ``Input`` and
    ``InputPath``, raises for any other target (failing the whole PutEvents request), and
    never retries. Here every target gets its input as EventBridge computes it, Lambda
    targets are invoked asynchronously by windtunnel's runtime, failed deliveries are
    retried and then sent to the target's dead-letter queue
    (:mod:`windtunnel.services.events.targets.delivery`). Archives stay moto's.

    A Lambda function, SQS queue or SNS topic receives the event only when its
    resource-based policy allows ``events.amazonaws.com``, as the delivery authorizer
    decides (see :func:`set_delivery_authorizer`):
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
    """
    from moto.events import models

    original = models.Rule.send_to_targets
    if getattr(original, "windtunnel_correction", False):
        return

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        archives = [target for target in self.targets if _is_archive(str(target["Arn"]))]
        others = [target for target in self.targets if target not in archives]
        if archives:
            all_targets = self.targets
            self.targets = archives
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = all_targets
        if others:
            from windtunnel.services.events.targets.delivery import deliver_to_targets

            deliver_to_targets(self, others, original_event, _rule_delivery_services())

    send_to_targets.windtunnel_correction = True  # type: ignore[attr-defined]
    models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _is_archive(arn: str) -> bool:
    # moto archives events through a target "arn:aws:events:<region>:::" on its own rule.
    components = arn.split(":", 5)
    return components[2] == "events" and not components[5]


def _rule_delivery_services() -> Any:
    # Retries run from the clock, outside the capture hook on Rule.send_to_targets, so
    # each attempt names its rule itself.
    from windtunnel.cloud.capture import _delivering_from as delivering_from
    from windtunnel.services.events.targets.delivery import DeliveryServices

    def allowed(action: str, target_arn: str, rule_arn: str, account: str) -> bool:
        return _delivery_allowed(f"rule {rule_arn}", "events.amazonaws.com", action,
                                 target_arn, rule_arn, account)

    invoke = _invoke_function if _lambda_invoker else None
    return DeliveryServices(allowed=allowed, invoke_function=invoke,
                            clock=_rule_clock(), delivering_from=delivering_from,
                            role_client=_rule_role_client[0] if _rule_role_client else None)


def _rule_clock() -> VirtualClock | None:
    if _rule_delivery_clock:
        return _rule_delivery_clock[0]
    owner = getattr(_lambda_invoker[0], "__self__", None) if _lambda_invoker else None
    clock = getattr(owner, "clock", None)
    return clock if isinstance(clock, VirtualClock) else None


def _invoke_function(source_arn: str, function_arn: str, payload: bytes) -> None:
    """Invoke a function asynchronously for a rule or subscription, and record it."""
    _lambda_invoker[0](function_arn, payload)
    record_function_delivery(source_arn, function_arn, payload)


@functools.cache
def match_rules_with_eventbridge_patterns() -> None:
    """Match events to rules with windtunnel's pattern engine instead of moto's.

    moto 5.2's matcher accepts patterns EventBridge rejects and decides some cases
    differently (``exists`` on an empty array, arrays of objects). windtunnel's engine
    follows EventBridge's pattern reference:
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
    """
    from moto.events import models

    original = models.EventPattern.matches_event
    if getattr(original, "windtunnel_correction", False):
        return

    def matches_event(self: Any, event: Any) -> bool:
        if not self._pattern:
            # A rule without a pattern runs on a schedule and matches no event on its bus.
            # (moto's archives always store a pattern, so they do not reach this line.)
            return False
        compiled = _compiled_pattern(json.dumps(self._pattern, sort_keys=True))
        if compiled is None:
            return False
        return bool(compiled.matches(json.loads(json.dumps(event, default=str))))

    matches_event.windtunnel_correction = True  # type: ignore[attr-defined]
    models.EventPattern.matches_event = matches_event  # type: ignore[method-assign]


@functools.lru_cache(maxsize=1024)
def _compiled_pattern(pattern_text: str) -> Any:
    from windtunnel.services.events.patterns import InvalidEventPatternError, compile_pattern

    try:
        return compile_pattern(json.loads(pattern_text))
    except InvalidEventPatternError as error:
        # PutRule rejects invalid patterns, so only a rule stored around it gets here.
        logger.warning("rule pattern %s is not valid and matches nothing: %s", pattern_text,
                       error.reason)
        return None


# --- authorized deliveries between services ------------------------------------------------

DeliveryAuthorizer = Callable[[str, str, str, str | None, str | None], bool]
"""``authorizer(service_principal, action, target_arn, source_arn, source_account)`` returns
whether a service may deliver to the target, such as ``sns.amazonaws.com`` sending
``sqs:SendMessage`` to a queue on behalf of the topic ``source_arn``."""

_delivery_authorizer: list[DeliveryAuthorizer] = []


def set_delivery_authorizer(authorizer: DeliveryAuthorizer | None) -> None:
    """Decide deliveries between services with ``authorizer``.

    None restores the default, :func:`windtunnel.iam.delivery.authorize_delivery`, which
    evaluates the target's resource-based policy. A delivery that is not allowed is dropped,
    as AWS drops it, and logged at INFO.
    """
    _delivery_authorizer.clear()
    if authorizer is not None:
        _delivery_authorizer.append(authorizer)


def _delivery_allowed(source: str, service_principal: str, action: str, target_arn: str,
                      source_arn: str, source_account: str) -> bool:
    authorizer: DeliveryAuthorizer
    if _delivery_authorizer:
        authorizer = _delivery_authorizer[0]
    else:
        from windtunnel.iam.delivery import authorize_delivery

        authorizer = authorize_delivery
    if authorizer(service_principal, action, target_arn, source_arn, source_account):
        return True
    logger.info("%s: not delivered to %s because its resource-based policy does not allow "
                "%s to perform %s with aws:SourceArn %s", source, target_arn,
                service_principal, action, source_arn)
    return False


@functools.cache
def authorize_sns_deliveries() -> None:
    """Deliver SNS messages to queues and functions as SNS does.

    SNS sends to an SQS queue only when the queue policy allows ``sns.amazonaws.com`` to
    perform ``sqs:SendMessage``. It invokes a function only when the function policy allows
    it ``lambda:InvokeFunction``. Both are usually limited to the topic with
    ``aws:SourceArn``:
    https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
    https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
    moto 5.2 delivers without a check, and runs Lambda subscribers in Docker. Here Lambda
    subscribers are invoked asynchronously by windtunnel's runtime, with the event that
    Lambda documents for SNS.

    Filter policies follow SNS's rules (:mod:`windtunnel.services.sns.filter_policies`), SQS
    endpoints receive the envelope or the raw message as SNS sends them, and a delivery that
    fails goes to the subscription's dead-letter queue
    (:mod:`windtunnel.services.sns.delivery`).
    """
    from moto.sns import models

    from windtunnel.services.sns.subscriptions import validate_subscription_filter_policies

    validate_subscription_filter_policies()
    original = models.Subscription.publish
    if getattr(original, "windtunnel_correction", False):
        return

    def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None,
                group_id: str | None = None, deduplication_id: str | None = None,
                message_structure: str | None = None) -> None:
        if self.protocol in ("http", "https") and not _is_loopback_url(str(self.endpoint)):
            # Nothing leaves the machine: HTTP(S) subscribers are served only on loopback.
            logger.warning("SNS did not deliver to %s: HTTP(S) subscriptions are delivered "
                           "only to 127.0.0.1 or localhost", self.endpoint)
            return
        if self.protocol not in ("sqs", "lambda"):
            original(self, message, message_id, subject=subject,
                     message_attributes=message_attributes, group_id=group_id,
                     deduplication_id=deduplication_id, message_structure=message_structure)
            return
        # The filter policy decides first: a filtered-out message is neither delivered nor
        # counted as a failed delivery.
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        attributes = message_attributes or {}
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
            # SNS sends message attributes only with string messages.
            attributes = {}

        from moto.core.utils import iso_8601_datetime_with_milliseconds

        from windtunnel.services.sns.delivery import Notification

        notification = Notification(message, message_id, subject, attributes, group_id,
                                    deduplication_id)
        _deliver_to_subscriber(self, notification, iso_8601_datetime_with_milliseconds())

    publish.windtunnel_correction = True  # type: ignore[attr-defined]
    models.Subscription.publish = publish  # type: ignore[method-assign]


def _deliver_to_subscriber(subscription: Any, notification: Any, timestamp: str) -> None:
    """Deliver to an SQS or Lambda subscriber, or to the dead-letter queue when that fails."""
    from windtunnel.services.sns import delivery

    topic = subscription.topic
    source = f"topic {topic.arn}"
    action = "sqs:SendMessage" if subscription.protocol == "sqs" else "lambda:InvokeFunction"
    delivered = _delivery_allowed(source, "sns.amazonaws.com", action, subscription.endpoint,
                                  topic.arn, topic.account_id)
    if delivered and subscription.protocol == "sqs":
        delivered = delivery.deliver_to_queue(subscription, notification, timestamp)
    elif delivered:
        delivered = _invoke_subscribed_function(
            subscription, notification.message, notification.message_id,
            notification.subject, dict(notification.message_attributes))
    if delivered:
        return

    def dead_letter_queue_allowed(queue_arn: str) -> bool:
        return _delivery_allowed(f"subscription {subscription.arn}", "sns.amazonaws.com",
                                 "sqs:SendMessage", queue_arn, topic.arn, topic.account_id)

    delivery.redrive(subscription, notification, timestamp, dead_letter_queue_allowed)


def _invoke_subscribed_function(subscription: Any, message: str, message_id: str,
                                subject: str | None,
                                message_attributes: dict[str, Any] | None) -> bool:
    """Invoke a subscribed function; return False when the invocation could not start."""
    function_arn = str(subscription.endpoint)
    if not _lambda_invoker:
        logger.warning("topic %s: message not delivered to function %s because no Lambda "
                       "runtime is attached to the cloud", subscription.topic.arn,
                       function_arn)
        return False
    event = _sns_event(subscription, message, message_id, subject, message_attributes)
    try:
        _invoke_function(str(subscription.arn), function_arn, json.dumps(event).encode())
    except Exception as error:  # SNS reports a failed delivery to no caller
        logger.warning("topic %s: message not delivered to function %s: %s",
                       subscription.topic.arn, function_arn, error)
        return False
    return True


def _sns_event(subscription: Any, message: str, message_id: str, subject: str | None,
               message_attributes: dict[str, Any] | None) -> dict[str, Any]:
    """Build the event that SNS sends to a function.

    Source: https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
    """
    from moto.core.utils import iso_8601_datetime_with_milliseconds

    topic_arn = str(subscription.topic.arn)
    endpoint = f"https://sns.{topic_arn.split(':')[3]}.amazonaws.com"
    attributes = {name: {"Type": value["Type"], "Value": value["Value"]}
                  for name, value in (message_attributes or {}).items()}
    # NOTE: the signature is a placeholder. A real one could only be checked against the
    # certificate at SigningCertUrl, which is on AWS's network.
    signature = base64.b64encode(hashlib.sha256(message_id.encode()).digest()).decode()
    return {"Records": [{
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription.arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": iso_8601_datetime_with_milliseconds(),
            "Signature": signature,
            "SigningCertUrl": f"{endpoint}/SimpleNotificationService-windtunnel.pem",
            "MessageId": message_id,
            "Message": message,
            "MessageAttributes": attributes,
            "Type": "Notification",
            "UnsubscribeUrl": (f"{endpoint}/?Action=Unsubscribe&SubscriptionArn="
                               f"{subscription.arn}"),
            "TopicArn": topic_arn,
            "Subject": subject,
        },
    }]}


# S3 checks each destination when a notification configuration is put: (configuration key,
# destination key, the action S3 needs, the reason S3 reports when it is not allowed).
# NOTE: the reason for topics follows the recorded one for queues and is not confirmed.
_NOTIFICATION_DESTINATIONS = (
    ("CloudFunctionConfiguration", "CloudFunction", "lambda:InvokeFunction",
     "Not authorized to invoke function [{arn}]"),
    ("QueueConfiguration", "Queue", "sqs:SendMessage",
     "Permissions on the destination queue do not allow S3 to publish notifications from "
     "this bucket"),
    ("TopicConfiguration", "Topic", "sns:Publish",
     "Permissions on the destination topic do not allow S3 to publish notifications from "
     "this bucket"),
)


@functools.cache
def validate_bucket_notification_destinations() -> None:
    """Reject a bucket notification whose destination does not allow S3, as S3 does.

    PutBucketNotificationConfiguration fails with ``InvalidArgument`` "Unable to validate
    the following destination configurations" when a function, queue or topic policy does
    not allow ``s3.amazonaws.com`` for the bucket:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html
    moto 5.2 accepts any destination in the bucket's region.
    """
    from moto.s3 import models

    original = models.FakeBucket.set_notification_configuration
    if getattr(original, "windtunnel_correction", False):
        return

    def set_notification_configuration(self: Any,
                                       notification_config: dict[str, Any] | None) -> None:
        _check_notification_destinations(self, notification_config or {})
        original(self, notification_config)

    set_notification_configuration.windtunnel_correction = True  # type: ignore[attr-defined]
    models.FakeBucket.set_notification_configuration = (  # type: ignore[method-assign]
        set_notification_configuration)


def _check_notification_destinations(bucket: Any, configuration: dict[str, Any]) -> None:
    from moto.s3.exceptions import InvalidArgumentError

    bucket_arn = f"arn:{bucket.partition}:s3:::{bucket.name}"
    for key, destination_key, action, reason in _NOTIFICATION_DESTINATIONS:
        entries = configuration.get(key) or []
        for entry in entries if isinstance(entries, list) else [entries]:
            arn = str(entry.get(destination_key, ""))
            if _delivery_allowed(f"bucket {bucket_arn}", "s3.amazonaws.com", action, arn,
                                 bucket_arn, bucket.account_id):
                continue
            # S3 names the destination with the configuration's ID, "null" when it has none.
            raise InvalidArgumentError(
                "Unable to validate the following destination configurations",
                f"{arn}, {entry.get('Id') or 'null'}", reason.format(arn=arn))


def _is_loopback_url(url: str) -> bool:
    """Tell whether ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
