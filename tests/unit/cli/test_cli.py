"""The command line as a user runs it: real subprocesses, real ports on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: cli-queue}
  Distribution:
    Type: AWS::CloudFront::Distribution
    Properties: {DistributionConfig: {Enabled: true}}
Outputs:
  QueueUrl: {Value: !Ref Queue}
"""

TIMEOUT = 60


def run_cli(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "windtunnel.cli.main", *arguments],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd,
                          check=False)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path


def test_validate_names_unemulated_type(app: Path) -> None:
    """validate lists a resource type it does not emulate, by name, and succeeds."""
    result = run_cli("validate", str(app), "--stack-name", "cli")

    assert result.returncode == 0, result.stderr
    assert "Not emulated (recorded only): AWS::CloudFront::Distribution" in result.stdout
    assert "AWS::SQS::Queue x1" in result.stdout


def test_validate_strict_fails_on_unemulated_type(app: Path) -> None:
    """With --strict, an unemulated type is an error that names it; exit status 2."""
    result = run_cli("validate", str(app), "--strict")

    assert result.returncode == 2
    assert "AWS::CloudFront::Distribution is not emulated" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_yaml_reports_file_and_line(tmp_path: Path) -> None:
    """A YAML error prints one message with the file and line, without a traceback."""
    (tmp_path / "template.yaml").write_text("Resources:\n  Queue:\n    Type: [a\n")

    result = run_cli("validate", str(tmp_path))

    assert result.returncode == 2
    assert f"{tmp_path / 'template.yaml'}:4:" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    """--debug adds the traceback to the message."""
    (tmp_path / "template.yaml").write_text("Resources: {}\n")

    result = run_cli("--debug", "validate", str(tmp_path))

    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "At least one Resources member must be defined" in result.stderr


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    """A directory without a definition names the files it looked for."""
    result = run_cli("validate", str(tmp_path))

    assert result.returncode == 2
    assert "expected serverless.yml" in result.stderr


def test_up_runs_a_command_against_the_endpoint(app: Path) -> None:
    """up -- COMMAND serves the stack to COMMAND and exits with its status."""
    script = ("import boto3, os; "
              "stack = boto3.client('cloudformation').describe_stacks("
              "StackName=os.environ['AWS_SAM_STACK_NAME'])['Stacks'][0]; "
              "print('OUTPUT', stack['Outputs'][0]['OutputValue']); "
              "print('QUEUES', boto3.client('sqs').list_queues()['QueueUrls'])")

    result = run_cli("up", str(app), "--port", "0", "--stack-name", "cli", "--",
                     sys.executable, "-c", script)

    assert result.returncode == 0, result.stderr
    assert "OUTPUT http://127.0.0.1:" in result.stdout
    assert "cli-queue" in result.stdout


def test_up_returns_the_command_status(app: Path) -> None:
    """A failing command makes up fail with the same status."""
    result = run_cli("up", str(app), "--port", "0", "--", sys.executable, "-c",
                     "raise SystemExit(3)")

    assert result.returncode == 3


def test_up_on_busy_port_is_a_clear_error(app: Path) -> None:
    """A port in use is reported with the way out, and nothing is left running."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = run_cli("up", str(app), "--port", str(port))

    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr


def interrupt_after_start(app: Path, *, ignore_sigint: bool = False) -> int:
    """Start up, send SIGINT once it serves, and return its exit status."""
    def start_with_sigint_ignored() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with subprocess.Popen(
        [sys.executable, "-m", "windtunnel.cli.main", "up", str(app), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=start_with_sigint_ignored if ignore_sigint else None,
    ) as process:
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if "Press Ctrl-C" in line:
                    break
            process.send_signal(signal.SIGINT)
            return process.wait(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_up_stops_cleanly_on_interrupt(app: Path) -> None:
    """up serves until Ctrl-C (SIGINT), then stops with status 0."""
    assert interrupt_after_start(app) == 0


def test_debug_option_after_the_command(tmp_path: Path) -> None:
    """--debug works after the command name as well as before it."""
    (tmp_path / "template.yaml").write_text("Resources: {}\n")

    result = run_cli("validate", str(tmp_path), "--debug")

    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_up_stops_on_interrupt_when_started_in_background(app: Path) -> None:
    """SIGINT stops up even when it was started with SIGINT ignored (a background job)."""
    assert interrupt_after_start(app, ignore_sigint=True) == 0


def test_up_outputs_use_the_served_port(app: Path) -> None:
    """Outputs name the port up serves on, also when it is given with --port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = ("import boto3, os; print('OUTPUT', boto3.client('cloudformation')"
              ".describe_stacks(StackName='cli')['Stacks'][0]['Outputs'][0]['OutputValue'])")

    result = run_cli("up", str(app), "--port", str(port), "--stack-name", "cli", "--",
                     sys.executable, "-c", script)

    assert result.returncode == 0, result.stderr
    assert f"OUTPUT http://127.0.0.1:{port}/123456789012/cli-queue" in result.stdout


@pytest.mark.parametrize(("arguments", "message"), [
    (["--region", "us-east-01"], "unknown region 'us-east-01'"),
    (["--port", "99999"], "99999 is not a port number (0 to 65535)"),
    (["--param", "novalue"], "--param 'novalue' is not KEY=VALUE"),
])
def test_bad_options_are_clear_errors(app: Path, arguments: list[str], message: str) -> None:
    """Bad option values print one message and exit with status 2, without a traceback."""
    result = run_cli("up", str(app), *arguments)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_same_stack_name_twice_is_explained(tmp_path: Path) -> None:
    """Two applications that would get the same stack name fail with the way out."""
    for name in ("first", "second"):
        (tmp_path / name / "app").mkdir(parents=True)
        (tmp_path / name / "app" / "template.yaml").write_text(
            "Resources:\n  Queue: {Type: AWS::SQS::Queue}\n")

    clash = run_cli("validate", str(tmp_path / "first" / "app"),
                    str(tmp_path / "second" / "app"))
    named = run_cli("validate", str(tmp_path / "first" / "app"),
                    str(tmp_path / "second" / "app"), "--stack-name", "one",
                    "--stack-name", "two")

    assert clash.returncode == 2
    assert "a stack named app is loaded already" in clash.stderr
    assert named.returncode == 0, named.stderr
    assert "Stack one " in named.stdout
    assert "Stack two " in named.stdout


MAPPED_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs: {Type: AWS::SQS::Queue}
  Done: {Type: AWS::Serverless::SimpleTable}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: worker.handler
      CodeUri: src/
      Environment: {Variables: {TABLE: !Ref Done}}
      Policies:
        - DynamoDBWritePolicy: {TableName: !Ref Done}
      Events:
        Jobs:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn}
Outputs:
  QueueUrl: {Value: !Ref Jobs}
  TableName: {Value: !Ref Done}
"""

WORKER = """
import os
import boto3

def handler(event, context):
    for record in event["Records"]:
        boto3.client("dynamodb").put_item(TableName=os.environ["TABLE"],
                                          Item={"id": {"S": record["body"]}})
"""

SEND_AND_WAIT = """
import os, time, boto3
outputs = {o["OutputKey"]: o["OutputValue"] for o in boto3.client("cloudformation")
           .describe_stacks(StackName=os.environ["AWS_SAM_STACK_NAME"])["Stacks"][0]["Outputs"]}
boto3.client("sqs").send_message(QueueUrl=outputs["QueueUrl"], MessageBody="job-1")
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    if boto3.client("dynamodb").scan(TableName=outputs["TableName"])["Items"]:
        print("DELIVERED")
        raise SystemExit(0)
    time.sleep(0.2)
raise SystemExit("the message was not delivered within 20 s")
"""


def test_up_delivers_queue_messages_in_real_time(tmp_path: Path) -> None:
    """Under up, an SQS event source mapping delivers without a test driving the clock."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "worker.py").write_text(WORKER)
    (tmp_path / "template.yaml").write_text(MAPPED_TEMPLATE)

    result = run_cli("up", str(tmp_path), "--port", "0", "--stack-name", "jobs", "--",
                     sys.executable, "-c", SEND_AND_WAIT)

    assert result.returncode == 0, result.stderr[-2000:]
    assert "DELIVERED" in result.stdout
