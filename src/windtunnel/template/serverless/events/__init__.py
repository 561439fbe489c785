"""Compilers for the ``events`` of functions, one module per group of event types."""

from __future__ import annotations

from collections.abc import Callable

from windtunnel.template.serverless.context import CompileContext
from windtunnel.template.serverless.events.http_api import compile_http_api
from windtunnel.template.serverless.events.notifications import compile_s3, compile_sns
from windtunnel.template.serverless.events.rest_api import compile_rest_api
from windtunnel.template.serverless.events.rules import compile_event_bridge, compile_schedules
from windtunnel.template.serverless.events.sources import compile_sqs, compile_streams

__all__ = ["EVENT_COMPILERS", "compile_events"]

# In the order of the Framework's package plugins, which decides the order of resources.
EVENT_COMPILERS: dict[str, Callable[[CompileContext], None]] = {
    "schedule": compile_schedules,
    "s3": compile_s3,
    "http": compile_rest_api,
    "httpApi": compile_http_api,
    "sns": compile_sns,
    "stream": compile_streams,
    "sqs": compile_sqs,
    "eventBridge": compile_event_bridge,
}


def compile_events(ctx: CompileContext) -> None:
    """Check every event type, then run the compiler of each type in use."""
    used: set[str] = set()
    for key in ctx.functions:
        for index, event in enumerate(ctx.functions[key].get("events") or []):
            where = f"functions.{key}.events.{index}"
            if not isinstance(event, dict) or len(event) != 1:
                raise ctx.invalid("each event must be a mapping with one event type", where)
            event_type = next(iter(event))
            if event_type not in EVENT_COMPILERS:
                # NOTE: websocket, alb, cloudwatchLog, cloudwatchEvent, cognitoUserPool, iot,
                # kafka, msk, activemq, rabbitmq, alexa and cloudFront events are not compiled.
                raise ctx.unsupported(
                    f"event type '{event_type}' of function '{key}' is not supported", where
                )
            used.add(event_type)
    for event_type, compile_type in EVENT_COMPILERS.items():
        if event_type in used:
            compile_type(ctx)
