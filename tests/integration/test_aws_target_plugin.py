"""Target selection in the pytest plugin, and the cart example's suite on the AWS target.

Nothing reaches AWS: the AWS target points at a local stack served on 127.0.0.1. The
stand-in implements DescribeStacks and ListStackResources as CloudFormation documents them:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack

pytestmark = pytest.mark.integration

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
CART = ROOT / "examples" / "cart"
TIMEOUT = 300

SUITE = """
import pytest


def test_stack_is_deployed_one(stack):
    assert type(stack).__name__ == "AwsStack"
    assert stack.name == "cart-dev"
    assert stack.outputs["CartBusName"] == "cart-dev-cart"


@pytest.mark.windtunnel_local_only
def test_needs_clock(stack):
    stack.clock.advance(60)


@pytest.mark.windtunnel_aws_only
def test_on_aws_only(stack):
    assert stack.events.capture is not None
"""


@pytest.fixture(scope="module")
def served() -> Iterator[EmulatedStack]:
    """The cart example loaded locally and served on 127.0.0.1, standing in for AWS."""
    with Stack.local(CART) as local:
        local.serve()
        yield local


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test credentials for the inner pytest runs, and no instance metadata lookups."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("WINDTUNNEL_TARGET", "WINDTUNNEL_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("credentials")
def test_option_selects_aws_target(pytester: pytest.Pytester,
                                   served: EmulatedStack) -> None:
    """--windtunnel-target aws:NAME gives tests the deployed stack; local-only tests skip."""
    pytester.makepyfile(test_suite=SUITE)

    result = pytester.runpytest_subprocess(
        "--windtunnel-target", "aws:cart-dev", "--windtunnel-aws-endpoint-url",
        served.environment.cloud.endpoint_url, "-rs", timeout=TIMEOUT)

    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["windtunnel target: aws:cart-dev (endpoint http://127.0.0.1:*)",
                                 "*marked windtunnel_local_only; the target is aws:cart-dev*"])


@pytest.mark.usefixtures("credentials")
def test_environment_selects_aws_target(pytester: pytest.Pytester, served: EmulatedStack,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """WINDTUNNEL_TARGET and WINDTUNNEL_AWS_ENDPOINT_URL select the target without options."""
    monkeypatch.setenv("WINDTUNNEL_TARGET", "aws:cart-dev")
    monkeypatch.setenv("WINDTUNNEL_AWS_ENDPOINT_URL", served.environment.cloud.endpoint_url)
    pytester.makepyfile(test_suite=SUITE)

    result = pytester.runpytest_subprocess(timeout=TIMEOUT)

    result.assert_outcomes(passed=2, skipped=1)


@pytest.mark.usefixtures("credentials")
def test_local_target_skips_aws_only(pytester: pytest.Pytester) -> None:
    """On the local target, tests marked windtunnel_aws_only are skipped."""
    pytester.makepyfile(test_suite="""
        import pytest

        @pytest.mark.windtunnel_aws_only
        def test_on_aws_only():
            raise AssertionError("must not run locally")
    """)

    result = pytester.runpytest_subprocess("-rs", timeout=TIMEOUT)

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*marked windtunnel_aws_only; the target is local*"])


@pytest.mark.usefixtures("credentials")
def test_invalid_target_is_usage_error(pytester: pytest.Pytester) -> None:
    """A target that is neither local nor aws:NAME stops the run with the accepted forms."""
    pytester.makepyfile(test_suite="def test_nothing():\n    pass\n")

    result = pytester.runpytest_subprocess("--windtunnel-target", "aws", timeout=TIMEOUT)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid windtunnel target 'aws': use \"local\" or "
                                 "\"aws:STACK_NAME\"*"])


@pytest.mark.usefixtures("credentials")
def test_missing_stack_fails_tests(pytester: pytest.Pytester, served: EmulatedStack) -> None:
    """A stack name that does not exist fails the tests that use the stack, with the fix."""
    pytester.makepyfile(test_suite="def test_uses_stack(stack):\n    pass\n")

    result = pytester.runpytest_subprocess(
        "--windtunnel-target", "aws:cart-prod", "--windtunnel-aws-endpoint-url",
        served.environment.cloud.endpoint_url, timeout=TIMEOUT)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*stack cart-prod does not exist in region us-east-1*"])
