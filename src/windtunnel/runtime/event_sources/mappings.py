"""Event source mappings as the pollers read them from the emulated Lambda service."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from windtunnel.services.events.patterns import InvalidEventPatternError, Pattern, compile_pattern

__all__ = ["EventSourceMapping", "function_role", "read_mapping", "read_mappings",
           "split_qualifier"]

logger = logging.getLogger(__name__)

# The service name in an event source ARN, for the sources that the pollers read.
SOURCE_KINDS = {"sqs": "sqs", "kinesis": "kinesis", "dynamodb": "dynamodb"}


@dataclass(frozen=True)
class EventSourceMapping:
    """The settings of one event source mapping that decide how its source is polled.

    Fields follow ``GetEventSourceMapping``; a setting the mapping leaves out has Lambda's
    default for the source:
    https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
    """

    uuid: str
    region: str
    account_id: str
    function_arn: str
    source_arn: str
    enabled: bool
    batch_size: int
    batching_window: int
    """``MaximumBatchingWindowInSeconds``, 0 when it is not set."""
    report_batch_item_failures: bool
    filters: tuple[Pattern, ...]
    """The compiled ``FilterCriteria`` patterns; a record that matches any is delivered."""
    maximum_concurrency: int | None
    starting_position: str | None
    starting_position_timestamp: float | None
    """``StartingPositionTimestamp`` in seconds since the epoch (``AT_TIMESTAMP``)."""
    maximum_retry_attempts: int
    """-1 means retry until the records expire."""
    maximum_record_age: int
    """``MaximumRecordAgeInSeconds``; -1 means no limit but the source's retention."""
    bisect_batch_on_function_error: bool
    on_failure_destination: str | None

    @property
    def kind(self) -> str:
        """The source's service: ``sqs``, ``kinesis`` or ``dynamodb``."""
        return self.source_arn.split(":")[2]

    @property
    def function_name(self) -> str:
        """The function's name, without a qualifier."""
        return self.function_arn.split(":function:", 1)[-1].split(":", 1)[0]


def split_qualifier(function_arn: str) -> tuple[str, str | None]:
    """Split a function ARN into the unqualified ARN and its version or alias, if any."""
    parts = function_arn.split(":")
    if len(parts) == 8:
        return ":".join(parts[:7]), parts[7]
    return function_arn, None


def function_role(mapping: EventSourceMapping) -> str | None:
    """Return the ARN of the function's execution role, or None when the function is gone."""
    from werkzeug.exceptions import HTTPException

    backend = _lambda_backend(mapping.account_id, mapping.region)
    if backend is None:
        return None
    try:
        return str(backend.get_function(split_qualifier(mapping.function_arn)[0]).role)
    except HTTPException:
        return None


def read_mappings(account_id: str, region: str) -> list[EventSourceMapping]:
    """Return the event source mappings of one Region, in creation order."""
    backend = _lambda_backend(account_id, region)
    if backend is None:
        return []
    mappings = []
    for model in backend.list_event_source_mappings("", ""):
        mapping = _from_configuration(model.get_configuration(), account_id, region)
        if mapping is not None:
            mappings.append(mapping)
    return mappings


def read_mapping(account_id: str, region: str, uuid: str) -> EventSourceMapping | None:
    """Return one event source mapping, or None when it was deleted."""
    backend = _lambda_backend(account_id, region)
    model = backend.get_event_source_mapping(uuid) if backend is not None else None
    if model is None:
        return None
    return _from_configuration(model.get_configuration(), account_id, region)


def _lambda_backend(account_id: str, region: str) -> Any:
    from moto.awslambda.models import lambda_backends

    try:
        return lambda_backends[account_id][region]
    except KeyError:
        return None


def _from_configuration(configuration: Mapping[str, Any], account_id: str,
                        region: str) -> EventSourceMapping | None:
    source_arn = str(configuration.get("EventSourceArn") or "")
    kind = source_arn.split(":")[2] if source_arn.count(":") >= 5 else ""
    if kind not in SOURCE_KINDS:
        return None
    uuid = str(configuration["UUID"])
    scaling = configuration.get("ScalingConfig") or {}
    destination = ((configuration.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
        "Destination")
    return EventSourceMapping(
        uuid=uuid,
        region=region,
        account_id=account_id,
        function_arn=str(configuration["FunctionArn"]),
        source_arn=source_arn,
        enabled=configuration.get("State") == "Enabled",
        batch_size=int(configuration.get("BatchSize") or (10 if kind == "sqs" else 100)),
        batching_window=int(configuration.get("MaximumBatchingWindowInSeconds") or 0),
        report_batch_item_failures="ReportBatchItemFailures" in (
            configuration.get("FunctionResponseTypes") or ()),
        filters=_compile_filters(uuid, configuration.get("FilterCriteria")),
        maximum_concurrency=_optional_int(scaling.get("MaximumConcurrency")),
        starting_position=configuration.get("StartingPosition"),
        starting_position_timestamp=_timestamp(configuration.get("StartingPositionTimestamp")),
        maximum_retry_attempts=_int_or_infinite(configuration.get("MaximumRetryAttempts")),
        maximum_record_age=_int_or_infinite(configuration.get("MaximumRecordAgeInSeconds")),
        bisect_batch_on_function_error=bool(configuration.get("BisectBatchOnFunctionError")),
        on_failure_destination=str(destination) if destination else None,
    )


def _compile_filters(uuid: str, criteria: Any) -> tuple[Pattern, ...]:
    if not isinstance(criteria, Mapping):
        return ()
    patterns = []
    for entry in criteria.get("Filters") or ():
        text = entry.get("Pattern") if isinstance(entry, Mapping) else None
        if not text:
            continue
        try:
            patterns.append(_compiled(str(text)))
        except (InvalidEventPatternError, ValueError) as error:
            # NOTE: Lambda rejects an invalid filter pattern when the mapping is created, and
            # the emulated CreateEventSourceMapping accepts it; here it matches no record.
            logger.warning("event source mapping %s: filter pattern %s is not valid and "
                           "matches no record: %s", uuid, text, error)
            patterns.append(_NOTHING)
    return tuple(patterns)


_compiled_patterns: dict[str, Pattern] = {}


def _compiled(text: str) -> Pattern:
    compiled = _compiled_patterns.get(text)
    if compiled is None:
        compiled = compile_pattern(json.loads(text))
        _compiled_patterns[text] = compiled
    return compiled


# A pattern with no branches matches nothing; it stands for an invalid filter.
_NOTHING = Pattern({}, [])


def _optional_int(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def _int_or_infinite(value: Any) -> int:
    return int(value) if value not in (None, "") else -1


def _timestamp(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return float(value)
