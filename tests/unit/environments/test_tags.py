"""The time to live of an environment and the expiry time written into its tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from windtunnel.environments.tags import EnvironmentSpec, format_time, parse_time, parse_ttl
from windtunnel.errors import WindtunnelError


@pytest.mark.parametrize(("text", "expected"), [
    ("24h", timedelta(hours=24)),
    ("90m", timedelta(minutes=90)),
    ("7d", timedelta(days=7)),
    ("1d12h", timedelta(days=1, hours=12)),
    ("2w", timedelta(weeks=2)),
    ("45s", timedelta(seconds=45)),
    (" 3H ", timedelta(hours=3)),
])
def test_ttl_parsed(text: str, expected: timedelta) -> None:
    """A number with a unit, or several, is a duration."""
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("text", ["24", "h", "1.5h", "24 hours", "-1h", "1h-", ""])
def test_ttl_without_unit_rejected(text: str) -> None:
    """Anything else is rejected with an example of the syntax."""
    with pytest.raises(WindtunnelError, match="for example 24h"):
        parse_ttl(text)


def test_ttl_of_zero_rejected() -> None:
    """An environment that expires at once is rejected."""
    with pytest.raises(WindtunnelError, match="longer than zero"):
        parse_ttl("0h")


def test_time_written_in_utc() -> None:
    """Expiry times are written in UTC to the second, and read back."""
    moment = datetime(2025, 3, 1, 20, 30, 15, 999, tzinfo=timezone(timedelta(hours=2)))

    text = format_time(moment)

    assert text == "2025-03-01T18:30:15Z"
    assert parse_time(text) == datetime(2025, 3, 1, 18, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize("text", ["tomorrow", "2025-03-01T18:30:15", ""])
def test_time_without_offset_not_read(text: str) -> None:
    """A value that is no time, or has no offset, is not an expiry time."""
    assert parse_time(text) is None


def test_spec_tags() -> None:
    """The tags name the environment, app, branch and expiry."""
    spec = EnvironmentSpec(name="orders-fix-12", app="orders", branch="fix #12",
                           expires_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))

    assert spec.tags() == {
        "windtunnel:environment": "orders-fix-12",
        "windtunnel:app": "orders",
        "windtunnel:branch": "fix-12",
        "windtunnel:expires-at": "2025-01-02T03:04:05Z",
    }
