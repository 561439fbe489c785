"""Fixtures for temporary environment tests: a moto server standing in for AWS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.unit.environments.stand_in import (
    REGION,
    point_at_stand_in,
    reset_stand_in,
    running_stand_in,
)


@pytest.fixture(scope="session")
def stand_in_url() -> Iterator[str]:
    """The URL of a moto server that serves every test of the session."""
    with running_stand_in() as url:
        yield url


@pytest.fixture
def aws(stand_in_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A boto3 session whose calls reach the emptied stand-in, never AWS."""
    reset_stand_in(stand_in_url)
    point_at_stand_in(monkeypatch, stand_in_url, tmp_path)
    return boto3.session.Session(region_name=REGION)
