"""``stack.events``: what the stack's buses, topics and queues carried, and waiting for it.

Everything is recorded without changes to the application: no extra rule, queue or
subscription. Resources are named by logical ID, name, ARN or (for queues) URL.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from windtunnel.cloud.capture import (
    Delivery,
    PublishedEvent,
    QueueMessage,
    TopicMessage,
    activate,
    recorder_for,
)
from windtunnel.errors import WindtunnelError
from windtunnel.services.events.patterns import Pattern, compile_pattern, flatten_event

if TYPE_CHECKING:
    from windtunnel.iam.records import DecisionRecord
    from windtunnel.stack.local import EmulatedStack

__all__ = ["EventAssertionError", "StackEvents", "explain_missing_events"]

logger = logging.getLogger(__name__)

EventPattern = Mapping[str, Any] | str
"""An EventBridge event pattern, as a dict or as JSON text."""

# How many of the closest events a failure message shows.
_CLOSEST_SHOWN = 3
# Values longer than this are cut in failure messages.
_MAX_VALUE_CHARS = 120

# The resource types that name a target or source, with the AWS service of their ARNs.
_SERVICE_OF_TYPE = {
    "AWS::Lambda::Function": "lambda",
    "AWS::SQS::Queue": "sqs",
    "AWS::SNS::Topic": "sns",
    "AWS::Events::EventBus": "events",
}


class EventAssertionError(WindtunnelError, AssertionError):
    """No event, or not the expected number of events, matched a pattern.

    The message shows the pattern, the closest events with the fields that differ, and
    likely causes such as PutEvents calls that IAM denied.
    """


class StackEvents:
    """The events, messages and deliveries of one local stack since it was loaded or reset.

    Records are kept in memory, up to 10,000 of each kind, and ``stack.reset()`` clears
    them. The reading methods return the records at the time of the call. Call
    ``stack.settle()`` first to include the work of asynchronous invocations, or use
    :meth:`wait_for`, which settles.
    """

    def __init__(self, stack: EmulatedStack) -> None:
        self._stack = stack
        self._recorder = recorder_for(stack.environment.cloud)
        self._last_decision: DecisionRecord | None = None

    # --- reading -------------------------------------------------------------------------

    def published(self, bus: str | None = None,
                  pattern: EventPattern | Pattern | None = None, *,
                  source: str | None = None,
                  detail_type: str | None = None) -> list[dict[str, Any]]:
        """Return the events put on ``bus`` (every bus by default), oldest first.

        ``bus`` is the bus's logical ID, name or ARN. ``pattern`` is an EventBridge event
        pattern, matched as a rule would match it. ``source`` and ``detail_type`` keep only
        events with that source and detail-type. Each event has EventBridge's fields:
        version, id, detail-type, source, account, time, region, resources and detail.
        """
        compiled = _compile(pattern)
        events = []
        for record in self._events_on(bus):
            event = record.event
            if source is not None and event["source"] != source:
                continue
            if detail_type is not None and event["detail-type"] != detail_type:
                continue
            if compiled is not None and not compiled.matches(event):
                continue
            events.append(copy.deepcopy(event))
        return events

    @overload
    def messages(self, *, topic: str, queue: None = None) -> list[TopicMessage]: ...

    @overload
    def messages(self, *, topic: None = None, queue: str) -> list[QueueMessage]: ...

    def messages(self, *, topic: str | None = None,
                 queue: str | None = None) -> list[TopicMessage] | list[QueueMessage]:
        """Return the messages published to ``topic`` or sent to ``queue``, oldest first.

        A topic is named by logical ID, name or ARN, a queue by logical ID, name, ARN or
        URL. Queue messages include those that SNS subscriptions and EventBridge rules
        delivered (their ``source_arn`` names the subscription or rule).
        """
        if (topic is None) == (queue is None):
            raise TypeError("stack.events.messages() takes one of topic= and queue=")
        if topic is not None:
            name = self._resource_name(topic, "sns")
            return [message for message in self._recorder.topic_messages()
                    if _name_in_arn("sns", message.topic_arn) == name]
        assert queue is not None
        name = self._resource_name(queue, "sqs")
        return [message for message in self._recorder.queue_messages()
                if message.queue_name == name]

    def delivered(self, target: str) -> list[Delivery]:
        """Return what ``target`` received from EventBridge rules and SNS subscriptions.

        ``target`` is a function (logical ID, serverless.yml key, name or ARN), a queue
        (logical ID, name, ARN or URL), a topic or an event bus (logical ID, name or ARN).
        Each delivery's ``payload`` is what the target received: for a rule, the event
        after the target's ``Input`` or ``InputTransformer``, and for a subscription, the
        SNS notification (or the raw message).
        """
        service, name = self._target_key(target)
        deliveries = []
        for delivery in self._recorder.deliveries():
            delivered_service = delivery.target_arn.split(":")[2]
            if service is not None and delivered_service != service:
                continue
            if _name_in_arn(delivered_service, delivery.target_arn) == name:
                deliveries.append(delivery)
        return deliveries

    # --- waiting -------------------------------------------------------------------------

    def wait_for(self, pattern: EventPattern, bus: str | None = None,
                 timeout: float = 5.0) -> dict[str, Any]:
        """Settle the stack and return the first event on ``bus`` that matches ``pattern``.

        Without a match, keep waiting up to ``timeout`` seconds for events from outside
        the stack's own invocations, such as clients of the served endpoint or threads of
        the test. Raises :class:`EventAssertionError` when none matches, with the closest
        events and the fields in which they differ.
        """
        compiled = compile_pattern(dict(pattern) if isinstance(pattern, Mapping) else pattern)
        deadline = time.monotonic() + timeout
        while True:
            version = self._recorder.version
            still_running = self._settle(deadline)
            for record in self._events_on(bus):
                if compiled.matches(record.event):
                    return copy.deepcopy(record.event)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                heading = (f"no event matching the pattern was published on "
                           f"{_bus_label(bus)} within {timeout:g} s")
                if still_running:
                    heading += " (asynchronous invocations were still running)"
                raise EventAssertionError(self.explain(heading, compiled, bus))
            self._recorder.wait_for_record(version, remaining)

    def _settle(self, deadline: float) -> bool:
        """Settle the stack until ``deadline``, and return whether invocations still run."""
        try:
            self._stack.settle(timeout=max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            return True
        return False

    def clear(self) -> None:
        """Forget what was recorded, and record for this stack from now on.

        The second part matters when several stacks were loaded in one process: services
        report to one stack at a time, and ``stack.reset()`` (which calls this) makes its
        stack that one again.
        """
        self._recorder.clear()
        activate(self._recorder)
        records = self._stack.environment.cloud.authorizer.records
        self._last_decision = records[-1] if records else None

    # --- failure messages ----------------------------------------------------------------

    def explain(self, heading: str, pattern: Pattern, bus: str | None) -> str:
        """Build a failure message: ``heading``, the pattern, the closest events on ``bus``
        with the fields that differ, matches on other buses and PutEvents denials."""
        on_bus = self._events_on(bus)
        lines = [heading, f"pattern: {json.dumps(pattern.source, default=str)}"]
        lines.extend(explain_missing_events(pattern, on_bus, _bus_label(bus)))

        if bus is not None:
            name = self._resource_name(bus, "events")
            elsewhere = [record.bus_name for record in self._events_on(None)
                         if record.bus_name != name and pattern.matches(record.event)]
            if elsewhere:
                buses = ", ".join(sorted(set(elsewhere)))
                verb = "was" if len(elsewhere) == 1 else "were"
                lines.append(f"{_count(len(elsewhere), 'matching event')} {verb} published "
                             f"on other buses: {buses}")

        denials = self._put_events_denials()
        if denials:
            lines.append(f"IAM denied events:PutEvents {_count(len(denials), 'time')} "
                         f"since the stack was loaded or reset (see stack.iam.denials):")
            for denial in denials[:_CLOSEST_SHOWN]:
                caller = (f"function {denial.function_name}" if denial.function_name
                          else denial.principal)
                lines.append(f"  {caller} on {denial.resource}")
        return "\n".join(lines)

    def _put_events_denials(self) -> list[DecisionRecord]:
        records = list(self._stack.environment.cloud.authorizer.records)
        start = 0
        if self._last_decision is not None:
            for index in range(len(records) - 1, -1, -1):
                if records[index] is self._last_decision:
                    start = index + 1
                    break
        return [record for record in records[start:]
                if record.action == "events:PutEvents" and not record.allowed
                and record.enforced]

    # --- naming resources ----------------------------------------------------------------

    def _events_on(self, bus: str | None) -> list[PublishedEvent]:
        records = self._recorder.events()
        if bus is None:
            return records
        name = self._resource_name(bus, "events")
        return [record for record in records if record.bus_name == name]

    def _resource_name(self, reference: str, service: str) -> str:
        """Return the name of a bus, topic or queue given by logical ID, name, ARN or URL."""
        resource = self._stack.deployed.resources.get(reference)
        if resource is not None and _SERVICE_OF_TYPE.get(resource.resource_type) == service:
            return _name_of_physical_id(service, resource.physical_id)
        if reference.startswith("arn:"):
            return _name_in_arn(service, reference)
        return _name_of_physical_id(service, reference)

    def _target_key(self, reference: str) -> tuple[str | None, str]:
        """Return the service and name of a target, with None as service for a bare name."""
        resource = self._stack.deployed.resources.get(reference)
        if resource is not None and resource.resource_type in _SERVICE_OF_TYPE:
            service = _SERVICE_OF_TYPE[resource.resource_type]
            return service, _name_of_physical_id(service, resource.physical_id)
        if reference.startswith("arn:"):
            service = reference.split(":")[2]
            return service, _name_in_arn(service, reference)
        if reference.startswith(("http://", "https://")):
            return "sqs", _name_of_physical_id("sqs", reference)
        function = self._stack.function_name(reference)
        if function != reference:
            # A serverless.yml function key.
            return "lambda", function
        return None, reference


def _compile(pattern: EventPattern | Pattern | None) -> Pattern | None:
    if pattern is None or isinstance(pattern, Pattern):
        return pattern
    return compile_pattern(dict(pattern) if isinstance(pattern, Mapping) else pattern)


def _name_in_arn(service: str, arn: str) -> str:
    """Return the resource name in an ARN of a function, queue, topic or event bus."""
    resource = arn.split(":", 5)[-1]
    if service == "lambda":
        # function:NAME, or function:NAME:QUALIFIER for a version or alias.
        return resource.split(":")[1] if resource.startswith("function:") else resource
    if service == "events":
        return resource.rsplit("/", 1)[-1]
    return resource


def _name_of_physical_id(service: str, physical_id: str) -> str:
    """Return the name in a physical ID: a queue URL, a topic ARN, a function or bus name."""
    if physical_id.startswith("arn:"):
        return _name_in_arn(service, physical_id)
    if service == "sqs":
        return physical_id.rstrip("/").rsplit("/", 1)[-1]
    return physical_id


def _bus_label(bus: str | None) -> str:
    return "any bus" if bus is None else f"bus {bus}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --- comparing events with a pattern ---------------------------------------------------------

# A pattern field: the keys leading to it and the pattern's array of values for it.
_Field = tuple[tuple[str, ...], list[Any]]
_MISSING = object()


@dataclass(frozen=True)
class _Comparison:
    """The closeness of one event to one branch of a pattern."""

    record: PublishedEvent
    matched: int
    total: int
    differences: list[tuple[str, list[Any], Any]]
    """(dotted path, the pattern's values, the event's value or _MISSING) per failed field."""


def explain_missing_events(pattern: Pattern, records: list[PublishedEvent],
                           where: str) -> list[str]:
    """Describe the events in ``records`` that come closest to matching ``pattern``.

    Closeness is the number of the pattern's fields that an event matches (for ``$or``,
    in its best branch). Each shown event lists the fields that differ, with the pattern's
    values and the event's.
    """
    if not records:
        return [f"no event was published on {where} since the stack was loaded or reset"]
    branches = [[(keys, values, _field_pattern(keys, values)) for keys, values in branch]
                for branch in _pattern_branches(pattern.source)]
    comparisons = [_compare(record, branches) for record in records]
    # The best matches come first, and among equals the most recent.
    order = sorted(range(len(comparisons)),
                   key=lambda index: (-comparisons[index].matched, -index))
    verb = "was" if len(records) == 1 else "were"
    lines = [f"{_count(len(records), 'event')} {verb} published on {where}; the closest:"]
    for index in order[:_CLOSEST_SHOWN]:
        comparison = comparisons[index]
        event = comparison.record.event
        lines.append(f"  event {event['id']} on bus {comparison.record.bus_name} (source "
                     f"{_show(event['source'])}, detail-type {_show(event['detail-type'])}): "
                     f"{comparison.matched} of {comparison.total} pattern fields match")
        for path, expected, actual in comparison.differences:
            got = "nothing (the field is missing)" if actual is _MISSING else _show(actual)
            lines.append(f"    {path}: expected {_show(expected)}, got {got}")
    return lines


def _pattern_branches(document: Any) -> list[list[_Field]]:
    """Expand a pattern into its ``$or`` branches, each a list of fields.

    This follows the pattern engine's expansion (each ``$or`` object forks every branch
    built so far), on a pattern the engine has validated.
    """
    branches: list[dict[tuple[str, ...], list[Any]]] = []
    _expand(branches, (), document)
    return [list(branch.items()) for branch in branches] or [[]]


def _expand(branches: list[dict[tuple[str, ...], list[Any]]], keys: tuple[str, ...],
            node: Mapping[str, Any]) -> None:
    for name, value in node.items():
        if name == "$or":
            current = [dict(branch) for branch in branches]
            branches.clear()
            for alternative in value:
                forked = [dict(branch) for branch in current] or [{}]
                _expand(forked, keys, alternative)
                branches.extend(forked)
        elif isinstance(value, Mapping):
            _expand(branches, (*keys, name), value)
        else:
            if not branches:
                branches.append({})
            for branch in branches:
                branch[(*keys, name)] = value


def _field_pattern(keys: tuple[str, ...], values: list[Any]) -> Pattern:
    """Compile a pattern that checks one field alone."""
    node: Any = values
    for key in reversed(keys):
        node = {key: node}
    return compile_pattern(node)


def _compare(record: PublishedEvent,
             branches: list[list[tuple[tuple[str, ...], list[Any], Pattern]]]) -> _Comparison:
    flat = flatten_event(record.event)
    best: _Comparison | None = None
    for branch in branches:
        differences = []
        for keys, values, field_pattern in branch:
            if not field_pattern.matches_flat(flat):
                path = ".".join(keys)
                differences.append((path, values, _value_at(record.event, keys, flat, path)))
        comparison = _Comparison(record, len(branch) - len(differences), len(branch),
                                 differences)
        if best is None or comparison.matched > best.matched:
            best = comparison
    assert best is not None
    return best


def _value_at(event: Mapping[str, Any], keys: Iterable[str], flat: Any, path: str) -> Any:
    """Return the event's value at a pattern field: its leaves, or the object or array
    that sits there, or _MISSING."""
    leaves = [value for value, _trail in flat.get(path, [])]
    if len(leaves) == 1:
        return leaves[0]
    if leaves:
        return leaves
    node: Any = event
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[:_MAX_VALUE_CHARS - 3] + "..."
    return text
