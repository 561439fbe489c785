"""The registry of event source pollers: triggers, scheduling on the virtual clock, IAM.

Lambda polls each event source mapping's queue or stream and invokes the function with
batches of records. Here polling runs on the virtual clock: a message that reaches a
mapped queue, a record written to a mapped stream, or a mapping that is created or enabled
schedules a poll with delay 0, so ``stack.settle()`` runs it. Delays, visibility timeouts,
batching windows and retries are scheduled later on the same clock, and
``stack.clock.advance(seconds)`` runs them.

Polls run one at a time, in the thread that runs the clock. A message that reaches a queue
from another thread while a poll runs (a handler in a child process, say) is scheduled when
that poll ends, because the clock holds its lock while a call runs.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from windtunnel.clock import ScheduledCall, VirtualClock
from windtunnel.cloud.moto_corrections import (
    notify_about_queue_messages,
    set_queue_message_listener,
    unset_queue_message_listener,
)
from windtunnel.cloud.protocols import AwsError
from windtunnel.iam.enforcement import IamMode, Principal, RoleSession
from windtunnel.iam.operations.checks import AccessCheck
from windtunnel.iam.request import PrincipalType
from windtunnel.runtime.event_sources.mappings import (
    EventSourceMapping,
    function_role,
    read_mapping,
    read_mappings,
    split_qualifier,
)
from windtunnel.runtime.result import InvocationResult

if TYPE_CHECKING:
    from windtunnel.cloud.messages import AwsRequest, AwsResponse
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.runtime.functions import LambdaRuntime

__all__ = ["EventSourcePollers", "Poller"]

logger = logging.getLogger(__name__)

_MAPPING_METHODS = ("POST", "PUT", "PATCH")


class Poller(Protocol):
    """The poller of one kind of event source (SQS, Kinesis, DynamoDB Streams)."""

    def start(self, mapping: EventSourceMapping) -> None:
        """Begin polling for a mapping that was created, changed or enabled."""

    def after_request(self, request: AwsRequest) -> None:
        """Schedule polls after a request that may have added records to a source."""

    def reset(self) -> None:
        """Forget the work in progress (batches being retried, for example)."""


@dataclass(eq=False)
class _Task:
    """A callback scheduled on the clock, with the key that keeps it from being doubled."""

    key: str | None
    due: datetime.datetime
    callback: Callable[[], None]
    call: ScheduledCall | None = None


class EventSourcePollers:
    """Polls the sources of the event source mappings of one cloud and invokes functions."""

    def __init__(self, cloud: Cloud, runtime: LambdaRuntime, clock: VirtualClock) -> None:
        from windtunnel.runtime.event_sources.dynamodb import DynamoDbStreamSource
        from windtunnel.runtime.event_sources.kinesis import KinesisSource
        from windtunnel.runtime.event_sources.sqs import SqsPoller
        from windtunnel.runtime.event_sources.streams import StreamPoller

        self.cloud = cloud
        self.runtime = runtime
        self.clock = clock
        self._lock = threading.Lock()
        self._tasks: set[_Task] = set()
        self._keyed: dict[str, _Task] = {}
        self._running_thread: int | None = None
        self._deferred: list[tuple[float, Callable[[], None], str | None, str]] = []
        self._warned: set[str] = set()

        self.sqs = SqsPoller(self)
        self.kinesis = StreamPoller(self, KinesisSource())
        self.dynamodb = StreamPoller(self, DynamoDbStreamSource())
        self._pollers: dict[str, Poller] = {
            "sqs": self.sqs, "kinesis": self.kinesis, "dynamodb": self.dynamodb}

        notify_about_queue_messages()
        set_queue_message_listener(self.sqs.on_message)
        cloud.add_side_effect(self.after_request)

    # --- mappings ------------------------------------------------------------------------

    def mappings(self, region: str, kind: str | None = None) -> list[EventSourceMapping]:
        """Return the enabled mappings of a Region, of one source kind if given."""
        return [mapping for mapping in read_mappings(self.cloud.account_id, region)
                if mapping.enabled and (kind is None or mapping.kind == kind)]

    def mapping(self, region: str, uuid: str) -> EventSourceMapping | None:
        """Return a mapping if it still exists and is enabled, else None."""
        mapping = read_mapping(self.cloud.account_id, region, uuid)
        return mapping if mapping is not None and mapping.enabled else None

    def after_request(self, request: AwsRequest, response: AwsResponse) -> None:
        """Start polling for a mapping created or enabled by ``request``, and poll the
        streams that ``request`` may have written to."""
        if request.service == "lambda":
            if "/event-source-mappings" in request.path and request.method in _MAPPING_METHODS:
                self._mapping_changed(request.region, response)
        elif request.service == "kinesis":
            self.kinesis.after_request(request)
        elif request.service == "dynamodb":
            self.dynamodb.after_request(request)

    def _mapping_changed(self, region: str, response: AwsResponse) -> None:
        try:
            uuid = json.loads(response.body).get("UUID")
        except (ValueError, AttributeError):
            return
        mapping = self.mapping(region, str(uuid)) if uuid else None
        if mapping is None:
            return
        with self._lock:
            self._warned = {key for key in self._warned if not key.startswith(mapping.uuid)}
        self._pollers[mapping.kind].start(mapping)

    # --- scheduling ----------------------------------------------------------------------

    def schedule(self, delay: float, callback: Callable[[], None], *, key: str | None = None,
                 description: str = "") -> None:
        """Run ``callback`` on the clock after ``delay`` seconds.

        With a ``key``, nothing is scheduled when a call with the same key is already due
        at or before that time.
        """
        with self._lock:
            if self._running_thread not in (None, threading.get_ident()):
                self._deferred.append((delay, callback, key, description))
                return
            due = self.clock.now() + datetime.timedelta(seconds=delay)
            if key is not None:
                existing = self._keyed.get(key)
                if existing is not None and existing.due <= due:
                    return
            task = _Task(key, due, callback)
            self._tasks.add(task)
            if key is not None:
                self._keyed[key] = task
        task.call = self.clock.schedule(delay, lambda: self._run(task),
                                        description=description)

    def _run(self, task: _Task) -> None:
        with self._lock:
            self._tasks.discard(task)
            if task.key is not None and self._keyed.get(task.key) is task:
                del self._keyed[task.key]
            outer = self._running_thread
            self._running_thread = threading.get_ident()
        try:
            task.callback()
        except Exception:
            # A failure inside the emulation must not stop the clock for every other call.
            logger.exception("event source poller failed")
        finally:
            with self._lock:
                self._running_thread = outer
                deferred, self._deferred = self._deferred, []
            for delay, callback, key, description in deferred:
                self.schedule(delay, callback, key=key, description=description)

    def reset(self) -> None:
        """Cancel every scheduled poll and forget the work in progress."""
        with self._lock:
            tasks, self._tasks = self._tasks, set()
            self._keyed.clear()
            self._deferred.clear()
            self._warned.clear()
        for task in tasks:
            if task.call is not None:
                task.call.cancel()
        for poller in self._pollers.values():
            poller.reset()

    def close(self) -> None:
        """Cancel the scheduled polls and stop listening to queues."""
        self.reset()
        unset_queue_message_listener(self.sqs.on_message)

    # --- what every poller needs ---------------------------------------------------------

    def permitted(self, mapping: EventSourceMapping, actions: Sequence[str],
                  resource: str) -> bool:
        """Tell whether the function's execution role allows Lambda to poll ``resource``.

        Lambda reads the source with the function's execution role, which needs the
        ``actions`` on the source, e.g. sqs:ReceiveMessage, sqs:DeleteMessage and
        sqs:GetQueueAttributes on a queue:
        https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
        A denied action is logged once per mapping, and the source is not polled.
        """
        authorizer = self.cloud.authorizer
        if authorizer.mode is IamMode.OFF:
            return True
        role_arn = function_role(mapping)
        if role_arn is None:
            return True  # the invocation reports the missing function
        function_name = mapping.function_name
        session = RoleSession(role_arn, function_name, function_name=function_name)
        principal = Principal(session.arn, PrincipalType.ROLE_SESSION, mapping.account_id,
                              role_arn=role_arn, function_name=function_name)
        context: dict[str, Any] = {"aws:SecureTransport": True,
                                   "aws:CurrentTime": authorizer.clock(),
                                   "aws:RequestedRegion": mapping.region}
        for action in actions:
            decision, authorization = authorizer.decide(principal, AccessCheck(action, resource),
                                                        context)
            service, operation = action.split(":", 1)
            authorizer.record(principal, service, operation, authorization, decision)
            if decision.allowed or authorizer.mode is IamMode.WARN:
                continue
            self.warn_once(
                f"{mapping.uuid}:iam:{action}",
                "event source mapping %s: %s is not polled for function %s because its "
                "execution role %s does not allow %s on it. Lambda needs %s there (%s).",
                mapping.uuid, resource, function_name, role_arn, action,
                ", ".join(actions), decision.message(authorization))
            return False
        return True

    def invoke(self, mapping: EventSourceMapping, event: dict[str, Any]
               ) -> InvocationResult | None:
        """Invoke the mapping's function synchronously with ``event``.

        Returns None when Lambda does not run the function (it was deleted, it is
        throttled, the batch is too large), after logging why.
        """
        function, qualifier = split_qualifier(mapping.function_arn)
        try:
            return self.runtime.invoke(function, json.dumps(event).encode(),
                                       qualifier=qualifier, invocation_type="RequestResponse")
        except AwsError as error:
            logger.warning("event source mapping %s: function %s was not invoked: %s: %s",
                           mapping.uuid, mapping.function_arn, error.code, error.message)
            return None

    def warn_once(self, key: str, message: str, *arguments: object) -> None:
        """Log a warning the first time ``key`` is seen since the last reset."""
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        logger.warning(message, *arguments)
