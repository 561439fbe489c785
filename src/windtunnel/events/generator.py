"""The registry of event sources and ``generate``, which builds an event for one of them."""

from __future__ import annotations

from typing import Any

from windtunnel.events import apigateway, cognito, messaging, s3, streams
from windtunnel.events.base import Context, EventOptionError, Source

__all__ = ["SOURCES", "generate"]

SOURCES: dict[str, Source] = {source.name: source for source in (
    apigateway.REST_API,
    apigateway.HTTP_API,
    messaging.SQS,
    messaging.SNS,
    messaging.EVENTBRIDGE,
    streams.DYNAMODB_STREAM,
    streams.KINESIS,
    s3.S3,
    messaging.SCHEDULE,
    cognito.PRE_SIGNUP,
    cognito.POST_CONFIRMATION,
    cognito.PRE_TOKEN_GENERATION,
)}


def generate(source: str, /, **options: Any) -> dict[str, Any]:
    """Build a sample event of ``source`` with the fields that AWS documents for it.

    ``options`` set the parts that matter to a test, such as ``path`` and ``body`` of an
    API request or ``queue`` and ``body`` of an SQS message. Every source also accepts
    ``region``, ``account``, ``seed`` and ``time``. The same seed and options give the
    same event. Raises :class:`EventOptionError` for an unknown source or option, naming
    the ones that exist. ``source`` is positional-only, so EventBridge's ``source`` option
    can be passed as a keyword.
    """
    try:
        description = SOURCES[source]
    except KeyError:
        raise EventOptionError(f"unknown event source {source!r}; available sources: "
                               f"{', '.join(SOURCES)}") from None

    unknown = sorted(set(options) - set(description.option_names()))
    if unknown:
        raise EventOptionError(f"unknown option{'s' if len(unknown) > 1 else ''} "
                               f"{', '.join(unknown)} for event source {source!r}; "
                               f"available options: {', '.join(description.option_names())}")

    remaining = dict(options)
    context = Context.from_options(remaining)
    event = description.build(context, remaining)
    # Every generator reads each option it declares, so nothing should be left over.
    assert not remaining, f"{source} did not read options {sorted(remaining)}"
    return event
