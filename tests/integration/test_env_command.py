"""``windtunnel env`` from the command line, against moto's server standing in for AWS.

Sources:
- CreateStack, AlreadyExistsException and tags:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
- DeleteObjects deletes object versions by VersionId:
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from tests.unit.cli.harness import run_command
from tests.unit.environments.stand_in import (
    REGION,
    point_at_stand_in,
    reset_stand_in,
    running_stand_in,
    unique_branch,
)

_TIMEOUT = 120
_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Uploads:
    Type: AWS::S3::Bucket
Outputs:
  UploadsBucket:
    Value: !Ref Uploads
"""


@pytest.fixture(scope="module")
def stand_in_url() -> Iterator[str]:
    """The URL of a moto server for this module's tests."""
    with running_stand_in() as url:
        yield url


@pytest.fixture
def aws(stand_in_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A boto3 session on the emptied stand-in; the commands run reach it too."""
    reset_stand_in(stand_in_url)
    point_at_stand_in(monkeypatch, stand_in_url, tmp_path)
    return boto3.session.Session(region_name=REGION)


@pytest.fixture
def application(tmp_path: Path) -> Path:
    """A CloudFormation application in the directory 'orders'."""
    directory = tmp_path / "orders"
    directory.mkdir()
    (directory / "template.yaml").write_text(_TEMPLATE, encoding="utf-8")
    return directory


def _env(*arguments: str, cwd: Path) -> Any:
    return run_command("env", "env", *arguments, cwd=cwd, timeout=_TIMEOUT)


def test_create_list_delete(aws: Any, application: Path) -> None:
    """An environment is created with progress lines, listed, and deleted together with
    the object versions in its bucket."""
    branch = unique_branch()
    name = f"orders-{branch.replace('/', '-')}"

    created = _env("create", "--branch", branch, "--ttl", "2h", cwd=application)

    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert lines[0].startswith(f"Creating stack {name} (arn:aws:cloudformation:{REGION}:")
    assert "CREATE_IN_PROGRESS" in lines[1]
    assert "CREATE_COMPLETE" in lines[2]
    assert lines[3].startswith(f"Environment {name} is ready (CREATE_COMPLETE)")
    assert f"  export AWS_SAM_STACK_NAME={name}" in lines
    stack = aws.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    tags = {tag["Key"]: tag["Value"] for tag in stack["Tags"]}
    assert tags["windtunnel:branch"] == branch
    assert tags["windtunnel:app"] == "orders"

    listed = _env("list", "--json", cwd=application)
    assert listed.returncode == 0, listed.stderr
    [record] = json.loads(listed.stdout)
    assert record["name"] == name
    assert record["branch"] == branch
    assert record["expired"] is False
    assert 7100 <= (_seconds_until(record["expiresAt"], record["createdAt"])) <= 7260

    bucket = stack["Outputs"][0]["OutputValue"]
    s3 = aws.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"1")
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"2")
    s3.delete_object(Bucket=bucket, Key="a.txt")

    deleted = _env("delete", name, cwd=application)

    assert deleted.returncode == 0, deleted.stderr
    assert f"Emptied bucket {bucket} (Uploads): 2 object versions, 1 delete markers" \
        in deleted.stdout
    assert "DELETE_COMPLETE" in deleted.stdout
    assert deleted.stdout.splitlines()[-1] == f"Environment {name} is deleted"
    assert bucket not in [entry["Name"] for entry in s3.list_buckets()["Buckets"]]
    assert _env("list", cwd=application).stdout.strip() == f"No environments in {REGION}"


def _seconds_until(later: str, earlier: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def test_prune_needs_yes(aws: Any, application: Path) -> None:
    """prune only lists the expired environments until --yes is given."""
    cloudformation = aws.client("cloudformation")
    for name, expires_at in (("orders-old", "2020-01-01T00:00:00Z"),
                             ("orders-new", "2999-01-01T00:00:00Z")):
        cloudformation.create_stack(StackName=name, TemplateBody=_TEMPLATE, Tags=[
            {"Key": "windtunnel:environment", "Value": name},
            {"Key": "windtunnel:branch", "Value": name[7:]},
            {"Key": "windtunnel:expires-at", "Value": expires_at}])

    dry_run = _env("prune", cwd=application)

    assert dry_run.returncode == 0, dry_run.stderr
    assert dry_run.stdout.splitlines()[0] == \
        "1 expired environments (run with --yes to delete them):"
    assert dry_run.stdout.splitlines()[1].startswith("  orders-old  old  expired ")
    assert len(cloudformation.describe_stacks()["Stacks"]) == 2

    pruned = _env("prune", "--yes", cwd=application)

    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines()[-1] == "Deleted 1 of 1 expired environments"
    remaining = [stack["StackName"] for stack in cloudformation.describe_stacks()["Stacks"]]
    assert remaining == ["orders-new"]


def test_existing_stack_error(aws: Any, application: Path) -> None:
    """Creating an environment twice fails with one line naming 'env delete'."""
    assert _env("create", "--branch", "main", cwd=application).returncode == 0

    again = _env("create", "--branch", "main", cwd=application)

    assert again.returncode == 2
    assert again.stderr == (
        "windtunnel: error: the stack orders-main already exists; delete it with "
        "'windtunnel env delete orders-main', or pass another --branch\n")


def test_no_credentials_error(aws: Any, application: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Without credentials, one line names where to set them."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    result = _env("list", cwd=application)

    assert result.returncode == 2
    assert result.stderr.startswith(
        "windtunnel: error: no AWS credentials found for cloudformation:DescribeStacks: "
        "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    assert result.stderr.count("\n") == 1


def test_no_region_error(aws: Any, application: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a region, one line names --region and AWS_REGION."""
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    result = _env("create", "--branch", "main", cwd=application)

    assert result.returncode == 2
    assert result.stderr == ("windtunnel: error: no AWS region is set; pass --region or set "
                             "AWS_REGION\n")


@pytest.fixture
def restricted_keys(aws: Any, stand_in_url: str) -> Iterator[tuple[str, str]]:
    """Access keys of a user allowed only cloudformation:DescribeStacks, with the
    stand-in checking IAM policies while the test runs."""
    iam = aws.client("iam")
    iam.create_user(UserName="ci")
    iam.put_user_policy(UserName="ci", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "cloudformation:DescribeStacks",
                       "Resource": "*"}]}))
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    httpx.post(f"{stand_in_url}/moto-api/reset-auth", content=b"0",
               timeout=30).raise_for_status()
    try:
        yield key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        httpx.post(f"{stand_in_url}/moto-api/reset-auth", content=b"inf",
                   timeout=30).raise_for_status()


def test_access_denied_error(restricted_keys: tuple[str, str], application: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A call the credentials' policies do not allow fails with one line naming the
    action to allow."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", restricted_keys[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", restricted_keys[1])

    result = _env("create", "--branch", "main", cwd=application)

    assert result.returncode == 2
    assert result.stderr.startswith(
        "windtunnel: error: access denied for cloudformation:CreateStack (User: "
        "arn:aws:iam::123456789012:user/ci is not authorized to perform: "
        "cloudformation:CreateStack")
    assert result.stderr.endswith("use credentials whose IAM policies allow "
                                  "cloudformation:CreateStack\n")


def test_sam_dry_run(aws: Any, application: Path) -> None:
    """--tool sam --dry-run prints the sam commands and deploys nothing."""
    result = _env("create", "--branch", "fix/login", "--tool", "sam", "--dry-run",
                  cwd=application)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Stack orders-fix-login (dry run; nothing was deployed)"
    assert "  tag windtunnel:branch=fix/login" in lines
    assert lines[-1].startswith(
        f"  (in {application}) sam deploy --stack-name orders-fix-login "
        f"--no-confirm-changeset --no-fail-on-empty-changeset --resolve-s3 ")
    assert "--tags windtunnel:environment=orders-fix-login" in lines[-1]
    assert aws.client("cloudformation").describe_stacks()["Stacks"] == []


def test_name_command(aws: Any, application: Path) -> None:
    """env name prints the stack name for CI steps."""
    result = _env("name", "--branch", "Feature/ABC-1_x", cwd=application)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "orders-Feature-ABC-1-x\n"
