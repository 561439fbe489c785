"""The pytest plugin: markers for the testing levels that windtunnel serves.

pytest loads it through the ``pytest11`` entry point once windtunnel is installed.
"""

from __future__ import annotations

import pytest

__all__ = ["pytest_configure"]

_MARKERS = (
    "unit: fast tests of one piece of domain logic, with no AWS services",
    "integration: handlers invoked directly against emulated or deployed services",
    "e2e: the application driven through its front door (HTTP, GraphQL, events)",
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the testing-level markers so ``--strict-markers`` accepts them."""
    for marker in _MARKERS:
        config.addinivalue_line("markers", marker)
