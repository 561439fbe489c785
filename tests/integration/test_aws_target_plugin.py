"""Target selection in the pytest plugin, and the cart example's suite on the AWS target.

Nothing reaches AWS: the AWS target points at a local stack served on 127.0.0.1. The
stand-in implements DescribeStacks and ListStackResources as CloudFormation documents them:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
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


# The cart tests that pass on the AWS target: the end-to-end tests, and the integration
# tests that use their own keys or only read the deployment.
CART_PASSING = {
    "tests/e2e/test_api_http.py::test_cart_over_http",
    "tests/e2e/test_api_http.py::test_unknown_route_is_missing_token",
    "tests/e2e/test_api_http.py::test_invalid_body_rejected_by_validator",
    "tests/integration/test_published_events.py::test_item_added_event_shape",
    "tests/integration/test_handlers_local.py::test_add_item_logs_json",
    "tests/integration/test_handlers_local.py::test_functions_receive_resource_names",
}
# The cart tests that need the local target: the clock (visibility timeouts), or a
# reset between tests, because they share the user ID user-1 and one changes a role.
CART_LOCAL_ONLY = {
    "tests/integration/test_activity_pipeline.py::test_added_items_are_counted",
    "tests/integration/test_activity_pipeline.py::test_poison_message_ends_in_dead_letter_queue",
    "tests/integration/test_activity_pipeline.py::test_partial_batch_failure_retries_only_failed",
    "tests/integration/test_handlers_local.py::test_add_item_stores_line",
    "tests/integration/test_handlers_local.py::test_add_item_merges_quantity",
    "tests/integration/test_handlers_local.py::test_add_item_publishes_item_added",
    "tests/integration/test_handlers_local.py::test_invalid_body_stores_nothing",
    "tests/integration/test_handlers_local.py::test_get_cart_totals[getCart]",
    "tests/integration/test_handlers_local.py::test_get_cart_totals[GetCartLambdaFunction]",
    "tests/integration/test_handlers_local.py::test_get_cart_totals[cart-dev-getCart]",
    "tests/integration/test_handlers_local.py::test_remove_item_deletes_line",
    "tests/integration/test_handlers_local.py::test_get_cart_needs_query_permission",
    "tests/integration/test_handlers_local.py::test_reset_empties_cart",
    "tests/integration/test_handlers_local.py::test_roles_allow_only_called_actions",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_cart_suite_on_aws_target() -> None:
    """The cart example's tests run unchanged against `windtunnel up`, which serves the
    cart on the wall clock as AWS would run it. Tests that need the emulation's clock or
    reset fail with the reason; every other test passes."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    environment = {
        **{name: value for name, value in os.environ.items()
           if name in ("PATH", "HOME", "TMPDIR", "VIRTUAL_ENV")},
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "WINDTUNNEL_TARGET": "aws:cart-dev", "WINDTUNNEL_AWS_ENDPOINT_URL": endpoint,
    }
    command = [sys.executable, "-m", "windtunnel.cli.main", "up", str(CART), "--port", str(port),
               "--", sys.executable, "-m", "pytest", "-p", "no:randomly", "-rA", "-q",
               "--rootdir", str(CART), "tests"]

    completed = subprocess.run(command, env=environment, capture_output=True, text=True,
                               timeout=TIMEOUT, check=False, cwd=CART)

    outcomes: dict[str, str] = {}
    for status, nodeid in re.findall(r"^(PASSED|FAILED|ERROR) (\S+)", completed.stdout,
                                     re.M):
        outcomes[nodeid] = status
    passed = {nodeid for nodeid, status in outcomes.items() if status == "PASSED"}
    failed = {nodeid for nodeid, status in outcomes.items() if status != "PASSED"}
    unit = {nodeid for nodeid in passed if nodeid.startswith("tests/unit/")}

    assert passed >= CART_PASSING, textwrap.shorten(completed.stdout[-3000:], 3000)
    assert failed <= CART_LOCAL_ONLY, sorted(failed - CART_LOCAL_ONLY)
    assert len(unit) > 0
    assert "the AWS target cannot move time" in completed.stdout
