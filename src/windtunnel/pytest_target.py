"""Target selection for the pytest plugin: the same tests on the local emulation or on AWS.

``--windtunnel-target local`` (the default) loads the application into the emulation.
``--windtunnel-target aws:STACK_NAME`` opens the deployed stack of that name instead, with
the credentials and region of the AWS SDK's usual configuration (``AWS_PROFILE``,
``AWS_REGION``, or ``--windtunnel-region``). ``WINDTUNNEL_TARGET`` sets the target when the
option is absent. ``WINDTUNNEL_AWS_ENDPOINT_URL`` sends the AWS target's calls to another
endpoint, such as a served local stack.

Tests marked ``windtunnel_local_only`` are skipped on the AWS target, and tests marked
``windtunnel_aws_only`` on the local target.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pytest

from windtunnel.constants import ENV_TARGET, ENV_TARGET_ENDPOINT_URL
from windtunnel.errors import WindtunnelError

if TYPE_CHECKING:
    from windtunnel.pytest_plugin import WindtunnelSettings
    from windtunnel.stack.aws import AwsStack

__all__ = ["MARKERS", "Target", "TargetSelection", "add_options", "open_aws_stack",
           "parse_target", "read_target"]

logger = logging.getLogger(__name__)

LOCAL_ONLY = "windtunnel_local_only"
AWS_ONLY = "windtunnel_aws_only"

MARKERS = (
    f"{LOCAL_ONLY}: run this test on the local target only (it needs the virtual clock, "
    f"reset, IAM records or another feature of the emulation)",
    f"{AWS_ONLY}: run this test on the AWS target only (--windtunnel-target aws:STACK)",
)


@dataclass(frozen=True)
class Target:
    """The target of the ``stack`` fixture: the local emulation or a deployed stack."""

    kind: Literal["local", "aws"]
    stack_name: str | None = None
    """The deployed stack's name, for the AWS target."""
    endpoint_url: str | None = None
    """The endpoint that receives the AWS target's calls instead of AWS, if any."""

    def __str__(self) -> str:
        return "local" if self.kind == "local" else f"aws:{self.stack_name}"


def parse_target(text: str, *, endpoint_url: str | None = None) -> Target:
    """Parse ``local`` or ``aws:STACK_NAME``; raise pytest.UsageError for anything else."""
    value = text.strip()
    if value == "local":
        return Target("local")
    kind, separator, stack_name = value.partition(":")
    if kind == "aws" and separator and stack_name:
        return Target("aws", stack_name=stack_name, endpoint_url=endpoint_url or None)
    raise pytest.UsageError(
        f"invalid windtunnel target {text!r}: use \"local\" or \"aws:STACK_NAME\", for "
        f"example --windtunnel-target aws:cart-dev")


def add_options(group: pytest.OptionGroup) -> None:
    """Add ``--windtunnel-target`` and ``--windtunnel-aws-endpoint-url``."""
    group.addoption("--windtunnel-target", metavar="TARGET",
                    help=f"where the stack fixture points: local (the emulation, the "
                         f"default) or aws:STACK_NAME (a deployed stack); default: "
                         f"${ENV_TARGET}, else local")
    group.addoption("--windtunnel-aws-endpoint-url", metavar="URL",
                    help=f"send the AWS target's calls to this endpoint instead of AWS "
                         f"(default: ${ENV_TARGET_ENDPOINT_URL})")


def read_target(config: pytest.Config) -> Target:
    """Return the target from the command line, else from the environment, else local."""
    text = config.getoption("windtunnel_target") or os.environ.get(ENV_TARGET) or "local"
    endpoint_url = (config.getoption("windtunnel_aws_endpoint_url")
                    or os.environ.get(ENV_TARGET_ENDPOINT_URL))
    return parse_target(text, endpoint_url=endpoint_url)


class TargetSelection:
    """Skip the tests that are marked for the other target (registered as a plugin)."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Add a skip marker to each test marked for the other target."""
        for item in items:
            if self.target.kind == "aws" and item.get_closest_marker(LOCAL_ONLY):
                item.add_marker(pytest.mark.skip(
                    reason=f"marked {LOCAL_ONLY}; the target is {self.target}"))
            elif self.target.kind == "local" and item.get_closest_marker(AWS_ONLY):
                item.add_marker(pytest.mark.skip(
                    reason=f"marked {AWS_ONLY}; the target is local"))

    def pytest_report_header(self) -> str:
        """Name the target in the header of the test run."""
        line = f"windtunnel target: {self.target}"
        if self.target.endpoint_url:
            line += f" (endpoint {self.target.endpoint_url})"
        return line


def open_aws_stack(settings: WindtunnelSettings, target: Target) -> AwsStack:
    """Open the deployed stack that ``target`` names, or fail the test with the reason.

    The configured template, stage and parameters let ``invoke(..., mode="local")`` find
    each function's code in the local checkout.
    """
    from windtunnel.stack.aws import AwsStack

    assert target.stack_name is not None
    try:
        return AwsStack(target.stack_name, region=settings.region,
                        endpoint_url=target.endpoint_url, template=settings.template,
                        stage=settings.stage, params=settings.params)
    except WindtunnelError as error:
        pytest.fail(f"windtunnel could not open stack {target.stack_name} on the AWS "
                    f"target: {error}", pytrace=False)
