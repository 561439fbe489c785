"""Corrections to moto behaviour that would break a Docker-free, in-process emulation."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from windtunnel.cloud.messages import AwsRequest, AwsResponse

logger = logging.getLogger(__name__)

__all__ = [
    "allow_inline_policies_without_version",
    "deliver_rule_targets_moto_lacks",
    "detach_moto_event_source_mappings",
    "match_event_source_mappings_by_name_or_arn",
    "match_rules_with_eventbridge_patterns",
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
    targets are invoked asynchronously by windtunnel's runtime, and targets of other
    services are logged as not delivered.
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


def _deliver_elsewhere(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = str(target["Arn"])
    service = arn.split(":")[2]
    if service == "lambda" and _lambda_invoker:
        _lambda_invoker[0](arn, _target_input(target, event))
        return
    # NOTE: delivery to targets other than Lambda functions, SQS queues, buses and log
    # groups (SNS, Step Functions, Kinesis, API destinations...) is not emulated yet.
    logger.warning("rule %s: event not delivered to target %s (%s targets are not "
                   "emulated yet)", rule.name, arn, service)


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
            # A rule without a pattern (a schedule) matches no delivered event by pattern.
            return True
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
