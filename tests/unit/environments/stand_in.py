"""A stand-in for AWS in tests: moto's server on 127.0.0.1, reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer

__all__ = ["REGION", "point_at_stand_in", "reset_stand_in", "running_stand_in", "unique_branch"]

REGION = "us-east-1"


@contextmanager
def running_stand_in() -> Iterator[str]:
    """Start moto's server on a free port of 127.0.0.1 and yield its URL; stop it after."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset_stand_in(url: str) -> None:
    """Forget every resource that earlier tests created in the stand-in."""
    httpx.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()


def point_at_stand_in(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    """Send every AWS call of this process and its children to the stand-in, with fake
    credentials, and keep real profiles, credentials and the instance metadata service out."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                 "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME"):
        monkeypatch.delenv(name, raising=False)


def unique_branch(prefix: str = "feature/") -> str:
    """Return a branch name no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"
