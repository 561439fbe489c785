"""The cart example's integration and end-to-end tests, unchanged, on the AWS target.

Nothing reaches AWS: `windtunnel up` serves the cart on 127.0.0.1 in place of AWS, and
implements DescribeStacks and ListStackResources as CloudFormation documents them:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CART = ROOT / "examples" / "cart"
TIMEOUT = 300
STACK_NAME = "cart-dev"

# `windtunnel up` gives its command AWS_ENDPOINT_URL, and the AWS target reads its endpoint
# from WINDTUNNEL_AWS_ENDPOINT_URL. The suite runs twice against the same served stack,
# so the second run starts with the data that the first one left behind.
RUN_TWICE = 'export WINDTUNNEL_AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL"; "$@" && "$@"'

# The tests that need the local target: the virtual clock, reset(), or an IAM change that
# AWS applies only after a delay and that every test sharing the role would see.
LOCAL_ONLY = {
    "examples/cart/tests/integration/test_activity_pipeline.py"
    "::test_poison_message_ends_in_dead_letter_queue",
    "examples/cart/tests/integration/test_activity_pipeline.py"
    "::test_partial_batch_failure_retries_only_failed",
    "examples/cart/tests/integration/test_handlers_local.py"
    "::test_get_cart_needs_query_permission",
    "examples/cart/tests/integration/test_handlers_local.py::test_reset_empties_cart",
}
# The integration and end-to-end tests that ran on the AWS target when this test was
# written; more may join them.
MINIMUM_PASSED = 16


def _outcomes(output: str) -> dict[str, str]:
    """Return the status of each test from the lines of ``-v``, by node ID."""
    return {nodeid: status for nodeid, status in re.findall(
        r"^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED)", output, re.M)}


def test_cart_suite_passes_twice_on_aws_target() -> None:
    """Every cart integration and end-to-end test that is not local-only passes on the AWS
    target, also when the table and queues hold the data of an earlier run."""
    environment = {
        **{name: value for name, value in os.environ.items()
           if name in ("PATH", "HOME", "TMPDIR", "VIRTUAL_ENV")},
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    }
    pytest_command = [sys.executable, "-m", "pytest", "examples/cart/tests",
                      "-m", "integration or e2e", "-p", "no:randomly", "-p", "no:xdist",
                      "-v", "-rfEs", "--windtunnel-target", f"aws:{STACK_NAME}"]
    command = [sys.executable, "-m", "windtunnel.cli.main", "up", str(CART), "--port", "0",
               "--", "sh", "-c", RUN_TWICE, "sh", *pytest_command]

    completed = subprocess.run(command, env=environment, capture_output=True, text=True,
                               timeout=TIMEOUT, check=False, cwd=ROOT)

    output = completed.stdout
    summaries = [section.split("\n==")[0]
                 for section in output.split("short test summary info")[1:]]
    tail = "\n".join(summaries) + "\n" + textwrap.shorten(completed.stderr[-2000:], 2000)
    runs = re.split(r"^=+ test session starts =+$", output, flags=re.M)[1:]
    assert completed.returncode == 0, tail
    assert len(runs) == 2, tail
    for run in runs:
        outcomes = _outcomes(run)
        passed = {nodeid for nodeid, status in outcomes.items() if status == "PASSED"}
        skipped = {nodeid for nodeid, status in outcomes.items() if status == "SKIPPED"}
        failed = {nodeid for nodeid, status in outcomes.items()
                  if status in ("FAILED", "ERROR")}
        local_only_skips = run.count(
            f"marked windtunnel_local_only; the target is aws:{STACK_NAME}")

        assert f"windtunnel target: aws:{STACK_NAME} (endpoint http://127.0.0.1:" in run
        assert failed == set(), tail
        assert skipped == LOCAL_ONLY, tail
        assert local_only_skips == len(LOCAL_ONLY), tail
        assert len(passed) >= MINIMUM_PASSED, sorted(passed)
        assert all("/tests/unit/" not in nodeid for nodeid in passed), sorted(passed)
