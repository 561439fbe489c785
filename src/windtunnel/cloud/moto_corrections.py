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


# Target services whose delivery moto implements for EventBridge rules; moto raises
# NotImplementedError for every other one, which failed the whole PutEvents request.
_MOTO_RULE_TARGETS = ("logs", "events", "sqs")
LambdaInvoker = Callable[[str, bytes], None]
_lambda_invoker: list[LambdaInvoker] = []


def set_lambda_invoker(invoker: LambdaInvoker | None) -> None:
    """Let EventBridge rules invoke functions through ``invoker(function_arn, payload)``."""
    _lambda_invoker.clear()
    if invoker is not None:
        _lambda_invoker.append(invoker)


@functools.cache
def deliver_rule_targets_moto_lacks() -> None:
    """Keep PutEvents succeeding whatever its rules' targets are, as in EventBridge.

    EventBridge delivers events to targets after PutEvents returns, so a target's failure
    goes to retries and dead-letter queues, not to the PutEvents response. moto 5.2 delivers
    to log groups, buses and SQS queues only and raises for any other target. Here Lambda
    targets are invoked asynchronously by windtunnel's runtime, SNS topics receive the
    event as a message, and targets of other services are logged as not delivered.

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
        handled = [target for target in self.targets
                   if target["Arn"].split(":")[2] in _MOTO_RULE_TARGETS]
        others = [target for target in self.targets if target not in handled]
        handled = [target for target in handled if _rule_target_allowed(self, target)]
        all_targets = self.targets
        self.targets = handled
        try:
            original(self, original_event, transform_input)
        finally:
            self.targets = all_targets
        for target in others:
            _deliver_elsewhere(self, target, original_event)

    send_to_targets.windtunnel_correction = True  # type: ignore[attr-defined]
    models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _rule_target_allowed(rule: Any, target: dict[str, Any]) -> bool:
    """Ask the delivery authorizer whether ``rule`` may deliver to an SQS queue target.

    Buses and log groups are delivered without a check. NOTE: EventBridge needs a CloudWatch
    Logs resource policy for log group targets and a role for buses in other accounts, and
    neither is checked.
    """
    arn = str(target["Arn"])
    if arn.split(":")[2] != "sqs":
        return True
    return _delivery_allowed(f"rule {rule.arn}", "events.amazonaws.com", "sqs:SendMessage",
                             arn, rule.arn, rule.account_id)


def _deliver_elsewhere(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = str(target["Arn"])
    service = arn.split(":")[2]
    if service == "lambda" and _lambda_invoker:
        if _delivery_allowed(f"rule {rule.arn}", "events.amazonaws.com",
                             "lambda:InvokeFunction", arn, rule.arn, rule.account_id):
            _invoke_function(str(rule.arn), arn, _target_input(target, event))
        return
    if service == "sns":
        if _delivery_allowed(f"rule {rule.arn}", "events.amazonaws.com", "sns:Publish", arn,
                             rule.arn, rule.account_id):
            _publish_to_topic(rule, arn, _target_input(target, event))
        return
    # NOTE: delivery to targets other than Lambda functions, SQS queues, SNS topics, buses
    # and log groups (Step Functions, Kinesis, API destinations...) is not emulated yet.
    logger.warning("rule %s: event not delivered to target %s (%s targets are not "
                   "emulated yet)", rule.name, arn, service)


def _invoke_function(source_arn: str, function_arn: str, payload: bytes) -> None:
    """Invoke a function asynchronously for a rule or subscription, and record it."""
    _lambda_invoker[0](function_arn, payload)
    record_function_delivery(source_arn, function_arn, payload)


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> bytes:
    """Build what a target receives: the event, a constant Input, or an InputTransformer."""
    if "Input" in target:
        return str(target["Input"]).encode()
    if "InputTransformer" in target:
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
        return rendered.encode() if isinstance(rendered, str) else json.dumps(rendered).encode()
    # NOTE: InputPath is not applied yet; the target receives the whole event.
    return json.dumps(event).encode()


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


def _publish_to_topic(rule: Any, topic_arn: str, payload: bytes) -> None:
    """Publish a rule's event to an SNS topic, whose subscriptions then receive it."""
    from moto.sns.models import sns_backends

    components = topic_arn.split(":")
    backend = sns_backends[components[4]][components[3]]
    try:
        # NOTE: FIFO topics need a message group ID, which EventBridge takes from the
        # target's SqsParameters. It is not passed on, so delivery to FIFO topics fails.
        backend.publish(message=payload.decode(), arn=topic_arn)
    except Exception as error:  # moto's SNS errors share no base class
        logger.warning("rule %s: event not delivered to topic %s: %s", rule.name,
                       topic_arn, error)


@functools.cache
def authorize_sns_deliveries() -> None:
    """Deliver SNS messages to queues and functions only when their policies allow it.

    SNS sends to an SQS queue only when the queue policy allows ``sns.amazonaws.com`` to
    perform ``sqs:SendMessage``. It invokes a function only when the function policy allows
    it ``lambda:InvokeFunction``. Both are usually limited to the topic with
    ``aws:SourceArn``:
    https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
    https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
    moto 5.2 delivers without a check, and runs Lambda subscribers in Docker. Here Lambda
    subscribers are invoked asynchronously by windtunnel's runtime, with the event that
    Lambda documents for SNS.
    """
    from moto.sns import models

    original = models.Subscription.publish
    if getattr(original, "windtunnel_correction", False):
        return

    def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None,
                group_id: str | None = None, deduplication_id: str | None = None,
                message_structure: str | None = None) -> None:
        if self.protocol not in ("sqs", "lambda"):
            original(self, message, message_id, subject=subject,
                     message_attributes=message_attributes, group_id=group_id,
                     deduplication_id=deduplication_id, message_structure=message_structure)
            return
        # The filter policy decides first, so a filtered-out message is not reported as
        # denied.
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        topic = self.topic
        action = "sqs:SendMessage" if self.protocol == "sqs" else "lambda:InvokeFunction"
        if not _delivery_allowed(f"topic {topic.arn}", "sns.amazonaws.com", action,
                                 self.endpoint, topic.arn, topic.account_id):
            return
        if self.protocol == "sqs":
            original(self, message, message_id, subject=subject,
                     message_attributes=message_attributes, group_id=group_id,
                     deduplication_id=deduplication_id, message_structure=message_structure)
            return
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        _invoke_subscribed_function(self, message, message_id, subject, message_attributes)

    publish.windtunnel_correction = True  # type: ignore[attr-defined]
    models.Subscription.publish = publish  # type: ignore[method-assign]


def _invoke_subscribed_function(subscription: Any, message: str, message_id: str,
                                subject: str | None,
                                message_attributes: dict[str, Any] | None) -> None:
    function_arn = str(subscription.endpoint)
    if not _lambda_invoker:
        logger.warning("topic %s: message not delivered to function %s because no Lambda "
                       "runtime is attached to the cloud", subscription.topic.arn,
                       function_arn)
        return
    event = _sns_event(subscription, message, message_id, subject, message_attributes)
    try:
        _invoke_function(str(subscription.arn), function_arn, json.dumps(event).encode())
    except Exception as error:  # SNS reports a failed delivery to no caller
        logger.warning("topic %s: message not delivered to function %s: %s",
                       subscription.topic.arn, function_arn, error)


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
