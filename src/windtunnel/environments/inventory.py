"""List temporary environments by their tags, and prune the expired ones."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import botocore.exceptions

from windtunnel.constants import TAG_APP, TAG_BRANCH, TAG_ENVIRONMENT, TAG_EXPIRES_AT
from windtunnel.environments.aws import aws_error
from windtunnel.environments.cleanup import delete_environment
from windtunnel.environments.tags import parse_time, tags_of
from windtunnel.errors import WindtunnelError

__all__ = ["EnvironmentRecord", "PruneResult", "format_duration", "list_environments",
           "prune_environments"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnvironmentRecord:
    """A stack that carries the ``windtunnel:environment`` tag."""

    name: str
    stack_id: str
    status: str
    app: str
    branch: str
    created: datetime
    # None when the tag is missing or is not a time: such an environment never expires.
    expires_at: datetime | None

    def age(self, now: datetime) -> timedelta:
        """Return the time since CloudFormation created the stack."""
        return now - self.created

    def is_expired(self, now: datetime) -> bool:
        """Return whether the environment's expiry time has passed."""
        return self.expires_at is not None and self.expires_at <= now


@dataclass
class PruneResult:
    """The expired environments that ``prune_environments`` deleted, or would delete."""

    expired: list[EnvironmentRecord] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def list_environments(cloudformation: Any) -> list[EnvironmentRecord]:
    """Return the environments in the client's account and region, oldest first.

    DescribeStacks without a name lists every stack that is not deleted, with its tags;
    ListStacks would need one more call per stack to read them.
    """
    records: list[EnvironmentRecord] = []
    paginator = cloudformation.get_paginator("describe_stacks")
    try:
        for page in paginator.paginate():
            for stack in page["Stacks"]:
                record = _record(stack)
                if record is not None:
                    records.append(record)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise aws_error(error, "cloudformation:DescribeStacks") from None
    return sorted(records, key=lambda record: record.created)


def _record(stack: Mapping[str, Any]) -> EnvironmentRecord | None:
    tags = tags_of(dict(stack))
    if TAG_ENVIRONMENT not in tags or stack["StackStatus"] == "DELETE_COMPLETE":
        return None
    expires_text = tags.get(TAG_EXPIRES_AT)
    expires_at = parse_time(expires_text) if expires_text else None
    if expires_text and expires_at is None:
        logger.warning("stack %s: the tag %s=%r is not a time, so it never expires",
                       stack["StackName"], TAG_EXPIRES_AT, expires_text)
    return EnvironmentRecord(
        name=stack["StackName"], stack_id=stack["StackId"], status=stack["StackStatus"],
        app=tags.get(TAG_APP, ""), branch=tags.get(TAG_BRANCH, ""),
        created=stack["CreationTime"], expires_at=expires_at)


def prune_environments(session: Any, *, now: datetime, delete: bool,
                       report: Callable[[str], None],
                       watcher_options: Mapping[str, Any] | None = None) -> PruneResult:
    """Find the environments expired at ``now``; when ``delete`` is true, delete each one.

    A failed deletion is reported and the others still run; the result lists it.
    """
    result = PruneResult()
    records = list_environments(session.client("cloudformation"))
    result.expired = [record for record in records if record.is_expired(now)]
    if not delete:
        return result

    for record in result.expired:
        if record.status == "DELETE_IN_PROGRESS":
            report(f"Skipping {record.name}: it is already being deleted")
            continue
        try:
            delete_environment(session, record.name, report=report,
                               watcher_options=watcher_options)
        except WindtunnelError as error:
            logger.error("deleting %s failed: %s", record.name, error)
            result.failed[record.name] = str(error)
            continue
        result.deleted.append(record.name)
    return result


def format_duration(duration: timedelta) -> str:
    """Return a duration in its two largest units, like ``2d 3h``, ``3h 12m`` or ``45s``."""
    seconds = max(int(duration.total_seconds()), 0)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    shown = [f"{value}{unit}" for value, unit in parts[:2] if value]
    return " ".join(shown) or "0s"
