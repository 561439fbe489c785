"""The orders example in its three formats, run through ``windtunnel up`` as a user would."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE = REPOSITORY / "examples" / "orders"
FORMATS = ("sam", "serverless", "cloudformation")
REGION = "us-east-1"

# Upper bounds in seconds. Loading the example and running its tests takes seconds, so
# these bounds only stop a process that hangs.
RUN_TIMEOUT = 180
START_TIMEOUT = 60
STOP_TIMEOUT = 10

def windtunnel_command(*arguments: str) -> list[str]:
    """Return the command line that runs windtunnel with this interpreter."""
    return [sys.executable, "-m", "windtunnel.cli.main", *arguments]


def isolated_environment() -> dict[str, str]:
    """Return this process's environment without AWS settings, plus test credentials.

    A developer's profile, credentials, region or per-service endpoints must not reach the
    child, so it uses only the endpoint and region that ``windtunnel up`` sets.
    """
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("AWS_", "WINDTUNNEL_"))}
    environment["AWS_ACCESS_KEY_ID"] = "test"
    environment["AWS_SECRET_ACCESS_KEY"] = "test"
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_test_summary(output: str) -> tuple[int, set[str]]:
    """Return the number of passed tests and the names of the failed ones in pytest output."""
    passed = re.search(r"(\d+) passed", output)
    failed = set(re.findall(r"^FAILED \S+::(\w+)", output, flags=re.MULTILINE))
    return (int(passed.group(1)) if passed else 0), failed


def run_bounded(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in its own process group and fail with its output after ``timeout`` s.

    The process group lets the test stop the command that ``windtunnel up`` starts as
    well, which a plain kill of ``windtunnel up`` would leave running.
    """
    process = subprocess.Popen(command, cwd=REPOSITORY, env=isolated_environment(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=STOP_TIMEOUT)
        pytest.fail(f"{shlex.join(command)} timed out after {timeout} s\n"
                    f"stdout:\n{stdout[-4000:]}\nstderr:\n{stderr[-4000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.parametrize("template_format", FORMATS)
def test_example_suite_passes(template_format: str) -> None:
    """windtunnel up runs the example's own tests against each format, and they pass."""
    command = windtunnel_command(
        "up", str(EXAMPLE / template_format), "--port", "0",
        "--stack-name", f"orders-{template_format}", "--region", REGION,
        "--", sys.executable, "-m", "pytest", "examples/orders/tests", "-q",
        "-p", "no:cacheprovider")

    result = run_bounded(command, timeout=RUN_TIMEOUT)
    passed, failed = child_test_summary(result.stdout)
    report = f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"

    assert "windtunnel: running" in result.stdout, report
    assert passed > 0, report
    assert "skipped" not in result.stdout, report
    assert failed == set(), report
    assert result.returncode == 0, report


@dataclass
class Server:
    """A ``windtunnel up`` process and the lines it has printed so far."""

    process: subprocess.Popen[str]
    url: str
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)

    def wait_for_line(self, text: str, timeout: float) -> None:
        """Read output until a line contains ``text``, and fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if text in line:
                return
        pytest.fail(f"windtunnel up did not print {text!r} within {timeout} s "
                    f"(exit status {self.process.poll()}); output:\n{''.join(self.output)}")

    def drain(self) -> str:
        """Return everything printed so far."""
        while not self.lines.empty():
            self.output.append(self.lines.get_nowait())
        return "".join(self.output)

    def client(self, service: str) -> Any:
        """Return a boto3 client for ``service`` that talks to this server only."""
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id="test", aws_secret_access_key="test")


@contextmanager
def serve(template_format: str) -> Iterator[Server]:
    """Run ``windtunnel up`` on the example until the block ends, then make sure it is gone."""
    port = free_port()
    command = windtunnel_command(
        "up", str(EXAMPLE / template_format), "--port", str(port),
        "--stack-name", f"orders-{template_format}", "--region", REGION)
    process = subprocess.Popen(command, cwd=REPOSITORY, env=isolated_environment(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    server = Server(process=process, url=f"http://127.0.0.1:{port}")
    assert process.stdout is not None
    stdout = process.stdout

    def read_lines() -> None:
        for line in stdout:
            server.lines.put(line)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    try:
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STOP_TIMEOUT)
        reader.join(timeout=STOP_TIMEOUT)
        stdout.close()


@pytest.mark.parametrize("template_format", FORMATS)
def test_up_serves_other_processes(template_format: str) -> None:
    """Another process lists the stack's resources through the endpoint. SIGINT stops it."""
    stack_name = f"orders-{template_format}"

    with serve(template_format) as server:
        server.wait_for_line("Press Ctrl-C", timeout=START_TIMEOUT)
        assert f"serving on {server.url}" in server.drain()

        stacks = server.client("cloudformation").describe_stacks(StackName=stack_name)
        outputs = {output["OutputKey"]: output["OutputValue"]
                   for output in stacks["Stacks"][0]["Outputs"]}
        tables = server.client("dynamodb").list_tables()["TableNames"]
        queue_urls = server.client("sqs").list_queues().get("QueueUrls", [])
        topics = server.client("sns").list_topics()["Topics"]
        rules = server.client("events").list_rules(EventBusName=outputs["EventBusName"])
        functions = server.client("lambda").list_functions()["Functions"]

        assert outputs["OrdersTableName"] in tables
        queue_names = [url.rsplit("/", 1)[-1] for url in queue_urls]
        assert outputs["OrdersQueueUrl"].rsplit("/", 1)[-1] in queue_names
        assert outputs["NotificationsTopicArn"] in [topic["TopicArn"] for topic in topics]
        assert len(rules["Rules"]) == 1
        assert "OrderCreated" in rules["Rules"][0]["EventPattern"]
        function_names = [function["FunctionName"] for function in functions]
        assert outputs["CreateOrderFunctionName"] in function_names

        server.process.send_signal(signal.SIGINT)
        status = server.process.wait(timeout=STOP_TIMEOUT)
        server.wait_for_line("windtunnel: stopped", timeout=STOP_TIMEOUT)

        assert status == 0, server.drain()
