"""Listing environments by their tags, and pruning the expired ones on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from windtunnel.environments.inventory import (
    format_duration,
    list_environments,
    prune_environments,
)

_TEMPLATE = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"


def _create(cloudformation: Any, name: str, tags: dict[str, str]) -> None:
    cloudformation.create_stack(StackName=name, TemplateBody=_TEMPLATE,
                                Tags=[{"Key": key, "Value": value}
                                      for key, value in tags.items()])


def _environment(name: str, branch: str, expires_at: str) -> dict[str, str]:
    return {"windtunnel:environment": name, "windtunnel:app": "orders",
            "windtunnel:branch": branch, "windtunnel:expires-at": expires_at}


def test_list_by_tag(aws: Any) -> None:
    """Only tagged stacks are listed, with their branch, creation time and expiry."""
    cloudformation = aws.client("cloudformation")
    _create(cloudformation, "orders-main", _environment("orders-main", "main",
                                                        "2030-01-01T00:00:00Z"))
    _create(cloudformation, "production", {"team": "orders"})
    _create(cloudformation, "orders-no-expiry", {"windtunnel:environment": "orders-no-expiry"})
    before = datetime.now(UTC) - timedelta(minutes=5)

    records = list_environments(cloudformation)

    assert [record.name for record in records] == ["orders-main", "orders-no-expiry"]
    main = records[0]
    assert main.branch == "main"
    assert main.app == "orders"
    assert main.status == "CREATE_COMPLETE"
    assert main.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert main.created > before
    assert records[1].expires_at is None
    assert not records[1].is_expired(datetime(2100, 1, 1, tzinfo=UTC))


def test_deleted_stacks_not_listed(aws: Any) -> None:
    """A deleted environment is gone from the list."""
    cloudformation = aws.client("cloudformation")
    _create(cloudformation, "orders-old", _environment("orders-old", "old",
                                                       "2030-01-01T00:00:00Z"))
    cloudformation.delete_stack(StackName="orders-old")

    assert list_environments(cloudformation) == []


def test_prune_dry_run_deletes_nothing(aws: Any) -> None:
    """Without delete, the expired environments are returned and kept."""
    cloudformation = aws.client("cloudformation")
    _create(cloudformation, "orders-a", _environment("orders-a", "a", "2030-01-01T00:00:00Z"))
    _create(cloudformation, "orders-b", _environment("orders-b", "b", "2030-01-03T00:00:00Z"))

    result = prune_environments(aws, now=datetime(2030, 1, 2, tzinfo=UTC), delete=False,
                                report=lambda line: None)

    assert [record.name for record in result.expired] == ["orders-a"]
    assert result.deleted == []
    assert len(list_environments(cloudformation)) == 2


def test_prune_deletes_expired_only(aws: Any) -> None:
    """With delete, every environment expired at the injected time is deleted, and the
    others, untagged stacks included, stay."""
    cloudformation = aws.client("cloudformation")
    _create(cloudformation, "orders-a", _environment("orders-a", "a", "2030-01-01T00:00:00Z"))
    _create(cloudformation, "orders-b", _environment("orders-b", "b", "2030-01-01T12:00:00Z"))
    _create(cloudformation, "orders-c", _environment("orders-c", "c", "2030-01-03T00:00:00Z"))
    _create(cloudformation, "production", {})
    lines: list[str] = []

    result = prune_environments(aws, now=datetime(2030, 1, 2, tzinfo=UTC), delete=True,
                                report=lines.append)

    assert result.deleted == ["orders-a", "orders-b"]
    assert result.failed == {}
    remaining = [stack["StackName"] for stack in cloudformation.describe_stacks()["Stacks"]]
    assert sorted(remaining) == ["orders-c", "production"]
    assert sum(line.startswith("Deleting stack") for line in lines) == 2


def test_expiry_is_inclusive(aws: Any) -> None:
    """An environment whose expiry time is now is expired."""
    cloudformation = aws.client("cloudformation")
    _create(cloudformation, "orders-a", _environment("orders-a", "a", "2030-01-01T00:00:00Z"))

    result = prune_environments(aws, now=datetime(2030, 1, 1, tzinfo=UTC), delete=False,
                                report=lambda line: None)

    assert [record.name for record in result.expired] == ["orders-a"]


def test_unreadable_expiry_never_expires(aws: Any) -> None:
    """An expiry tag that is not a time keeps the environment from being pruned."""
    cloudformation = aws.client("cloudformation")
    _create(cloudformation, "orders-a", _environment("orders-a", "a", "tomorrow"))

    result = prune_environments(aws, now=datetime(2100, 1, 1, tzinfo=UTC), delete=True,
                                report=lambda line: None)

    assert result.expired == []
    assert len(list_environments(cloudformation)) == 1


def test_duration_format() -> None:
    """Durations show their two largest units."""
    assert format_duration(timedelta(seconds=45)) == "45s"
    assert format_duration(timedelta(minutes=3, seconds=5)) == "3m 5s"
    assert format_duration(timedelta(hours=3, minutes=12, seconds=9)) == "3h 12m"
    assert format_duration(timedelta(days=2, hours=3, minutes=4)) == "2d 3h"
    assert format_duration(timedelta(days=1, minutes=4)) == "1d"
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(seconds=-5)) == "0s"
