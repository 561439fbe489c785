"""Fixtures for resource handler tests: a handler context backed by moto's mock_aws."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from windtunnel.constants import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from windtunnel.deploy.resources.base import ResourceContext

ContextFactory = Callable[..., ResourceContext]


@pytest.fixture
def aws() -> Iterator[None]:
    """Run the test against a fresh moto backend, never the network."""
    with mock_aws():
        yield


@pytest.fixture
def service_state() -> dict[str, Any]:
    """The service state of the test's cloud, shared by every context that make_context builds."""
    return {}


@pytest.fixture
def make_context(aws: None, tmp_path: Path, service_state: dict[str, Any]) -> ContextFactory:
    """Build a ResourceContext for a logical ID in a stack named ``test-stack``."""
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3.client(service, region_name=DEFAULT_REGION)
        return clients[service]

    def factory(logical_id: str, resource_type: str, *,
                metadata: dict[str, Any] | None = None,
                stack_name: str = "test-stack") -> ResourceContext:
        return ResourceContext(
            stack_name=stack_name,
            stack_id=(f"arn:aws:cloudformation:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:"
                      f"stack/{stack_name}/00000000-0000-0000-0000-000000000000"),
            logical_id=logical_id,
            resource_type=resource_type,
            region=DEFAULT_REGION,
            account_id=DEFAULT_ACCOUNT_ID,
            template_dir=tmp_path,
            metadata=metadata or {},
            client_factory=client,
            service_state=service_state,
        )

    return factory
