"""The tags that mark a stack as a temporary environment, and its time to live."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from windtunnel.constants import TAG_APP, TAG_BRANCH, TAG_ENVIRONMENT, TAG_EXPIRES_AT
from windtunnel.environments.naming import tag_value
from windtunnel.errors import WindtunnelError

__all__ = ["EnvironmentSpec", "format_time", "parse_time", "parse_ttl", "tags_of"]

_TTL_PART = re.compile(r"(\d+)([wdhms])")
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "m": timedelta(minutes=1), "s": timedelta(seconds=1)}


@dataclass(frozen=True)
class EnvironmentSpec:
    """What ``env create`` deploys: the stack name, where it comes from and its expiry."""

    name: str
    app: str
    branch: str
    expires_at: datetime

    def tags(self) -> dict[str, str]:
        """Return the stack tags that ``env list`` and ``env prune`` read back."""
        return {
            TAG_ENVIRONMENT: self.name,
            TAG_APP: tag_value(self.app),
            TAG_BRANCH: tag_value(self.branch),
            TAG_EXPIRES_AT: format_time(self.expires_at),
        }


def parse_ttl(text: str) -> timedelta:
    """Parse a time to live such as ``24h``, ``90m``, ``7d`` or ``1d12h``."""
    compact = text.strip().lower()
    parts = _TTL_PART.findall(compact)
    if not parts or "".join(number + unit for number, unit in parts) != compact:
        raise WindtunnelError(f"--ttl {text!r} is not a duration; write a number with a unit "
                              f"(w, d, h, m or s), for example 24h, 90m or 1d12h")
    total = sum((int(number) * _UNITS[unit] for number, unit in parts), timedelta())
    if total <= timedelta():
        raise WindtunnelError(f"--ttl {text!r} must be longer than zero")
    return total


def format_time(moment: datetime) -> str:
    """Return ``moment`` in UTC as ISO 8601 to the second, like ``2025-01-31T18:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    """Parse a time that :func:`format_time` wrote, or any ISO 8601 time with an offset;
    return None for anything else."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment


def tags_of(stack: dict[str, Any]) -> dict[str, str]:
    """Return a DescribeStacks stack's tags as a mapping."""
    return {tag["Key"]: tag["Value"] for tag in stack.get("Tags") or []}
