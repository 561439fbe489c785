"""Creating a temporary environment through CreateStack, or through the app's own tool.

Sources:
- CreateStack (capabilities, tags, the 51,200-byte TemplateBody limit,
  AlreadyExistsException):
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
"""

from __future__ import annotations

import os
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto.cloudformation.models import Event, cloudformation_backends
from tests.unit.environments.stand_in import REGION

from windtunnel.constants import DEFAULT_ACCOUNT_ID
from windtunnel.environments.deploy import (
    create_stack,
    read_template,
    run_tool,
    tag_stack,
    tool_deployment,
)
from windtunnel.environments.progress import (
    StackOperationFailed,
    StackWatcher,
    operation_failed,
)
from windtunnel.environments.tags import EnvironmentSpec
from windtunnel.errors import WindtunnelError

_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Stage:
    Type: String
Resources:
  Bucket:
    Type: AWS::S3::Bucket
Outputs:
  BucketName:
    Value: !Ref Bucket
"""

_SAM_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      InlineCode: "def handler(event, context): return event"
"""


def _spec(name: str = "orders-feature-basket") -> EnvironmentSpec:
    return EnvironmentSpec(name=name, app="orders", branch="feature/basket",
                           expires_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))


def _template(directory: Path, text: str, name: str = "template.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_create_stack_tags_and_events(aws: Any, tmp_path: Path) -> None:
    """CreateStack gets the environment's tags, and each stack event is printed."""
    body, capabilities = read_template(_template(tmp_path, _TEMPLATE))
    lines: list[str] = []

    stack = create_stack(aws.client("cloudformation"), _spec(), body=body,
                         capabilities=capabilities, parameters={"Stage": "test"},
                         report=lines.append)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    described = aws.client("cloudformation").describe_stacks(
        StackName="orders-feature-basket")["Stacks"][0]
    tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
    assert tags == {"windtunnel:environment": "orders-feature-basket",
                    "windtunnel:app": "orders", "windtunnel:branch": "feature/basket",
                    "windtunnel:expires-at": "2030-01-02T03:04:05Z"}
    assert described["Parameters"] == [{"ParameterKey": "Stage", "ParameterValue": "test"}]
    assert lines[0].startswith("Creating stack orders-feature-basket (arn:aws:cloudformation:")
    statuses = [line.split()[1] for line in lines[1:]]
    assert statuses == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    assert lines[1].endswith("orders-feature-basket  User Initiated")


def test_existing_stack_rejected(aws: Any, tmp_path: Path) -> None:
    """A second CreateStack of the same name names 'env delete' as the fix."""
    body, capabilities = read_template(_template(tmp_path, _TEMPLATE))
    client = aws.client("cloudformation")
    create_stack(client, _spec(), body=body, capabilities=capabilities,
                 parameters={"Stage": "a"}, report=lambda line: None)

    with pytest.raises(WindtunnelError) as caught:
        create_stack(client, _spec(), body=body, capabilities=capabilities,
                     parameters={"Stage": "a"}, report=lambda line: None)

    assert str(caught.value) == (
        "the stack orders-feature-basket already exists; delete it with 'windtunnel env "
        "delete orders-feature-basket', or pass another --branch")


def test_failed_creation_reports_reasons(aws: Any) -> None:
    """Polling goes on while the stack is in progress, and a rollback reports the failed
    resources' reasons, leaving out the resources that were only cancelled."""
    client = aws.client("cloudformation")
    stack_id = client.create_stack(StackName="orders-broken", TemplateBody=_TEMPLATE,
                                   Parameters=[{"ParameterKey": "Stage",
                                                "ParameterValue": "x"}])["StackId"]
    stand_in_stack = cloudformation_backends[DEFAULT_ACCOUNT_ID][REGION].stacks[stack_id]
    stand_in_stack.status = "CREATE_IN_PROGRESS"

    def roll_back(seconds: float) -> None:
        for logical_id, kind, reason in [
            ("Table", "AWS::DynamoDB::Table",
             "Resource handler returned message: \"One or more parameter values were "
             "invalid\""),
            ("Bucket", "AWS::S3::Bucket", "Resource creation cancelled"),
        ]:
            stand_in_stack.events.append(Event(
                stack_id=stack_id, stack_name="orders-broken", logical_resource_id=logical_id,
                physical_resource_id="", resource_type=kind, resource_status="CREATE_FAILED",
                resource_status_reason=reason, resource_properties=None))
        stand_in_stack.status = "ROLLBACK_COMPLETE"

    lines: list[str] = []
    watcher = StackWatcher(client, stack_id, lines.append, sleep=roll_back)
    stack = watcher.wait()
    error = operation_failed("orders-broken", "created", stack, watcher.failures, "fix it")

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert sum("CREATE_FAILED" in line for line in lines) == 2
    assert [failure.logical_id for failure in watcher.failures] == ["Table"]
    assert isinstance(error, StackOperationFailed)
    assert str(error) == (
        "the stack orders-broken was not created (ROLLBACK_COMPLETE): Table "
        "(AWS::DynamoDB::Table): Resource handler returned message: \"One or more "
        "parameter values were invalid\"; fix it")


def test_sam_template_needs_auto_expand(tmp_path: Path) -> None:
    """A template with a transform is sent with CAPABILITY_AUTO_EXPAND."""
    body, capabilities = read_template(_template(tmp_path, _SAM_TEMPLATE))

    assert body == _SAM_TEMPLATE
    assert capabilities == ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    _, plain = read_template(_template(tmp_path, _TEMPLATE, "plain.yaml"))
    assert plain == ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


@pytest.mark.parametrize(("text", "where"), [
    ("Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n"
     "    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n",
     "Resources.F.Properties.CodeUri"),
    ("Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    CodeUri: ./build\n"
     "Resources: {}\n", "Globals.Function.CodeUri"),
    ("Resources:\n  S:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
     "      DefinitionS3Location: machine.asl.json\n",
     "Resources.S.Properties.DefinitionS3Location"),
])
def test_local_artifact_rejected(tmp_path: Path, text: str, where: str) -> None:
    """A local path where CloudFormation takes an S3 location names --tool sam."""
    with pytest.raises(WindtunnelError, match=rf"{where} is a local path.*--tool sam"):
        read_template(_template(tmp_path, text))


def test_s3_artifact_accepted(tmp_path: Path) -> None:
    """S3 locations are what CreateStack takes."""
    text = ("Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n"
            "    Type: AWS::Serverless::Function\n    Properties:\n"
            "      CodeUri: s3://artifacts/f.zip\n")

    body, _ = read_template(_template(tmp_path, text))

    assert body == text


def test_large_template_rejected(tmp_path: Path) -> None:
    """A template over 51,200 bytes cannot go inline in CreateStack."""
    padding = "#" + "x" * 99 + "\n"
    path = _template(tmp_path, _TEMPLATE + padding * 512)

    with pytest.raises(WindtunnelError, match=r"is 51\d\d\d bytes.*at most 51200 bytes"):
        read_template(path)


def test_serverless_needs_its_tool(tmp_path: Path) -> None:
    """A serverless.yml is deployed by the Framework, not by CreateStack."""
    _template(tmp_path, "service: cart\n", "serverless.yml")

    with pytest.raises(WindtunnelError, match="--tool serverless"):
        read_template(tmp_path)


def test_sam_command_line(tmp_path: Path) -> None:
    """sam builds, then deploys the stack with tags, capabilities and parameters."""
    _template(tmp_path, _SAM_TEMPLATE)

    deployment = tool_deployment("sam", tmp_path, _spec(), region="eu-west-1",
                                 profile="ci", parameters={"Stage": "test"})

    assert deployment.directory == tmp_path
    assert deployment.commands == [
        ["sam", "build", "--template-file", "template.yaml"],
        ["sam", "deploy", "--stack-name", "orders-feature-basket",
         "--no-confirm-changeset", "--no-fail-on-empty-changeset", "--resolve-s3",
         "--capabilities", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND",
         "--tags", "windtunnel:environment=orders-feature-basket", "windtunnel:app=orders",
         "windtunnel:branch=feature/basket", "windtunnel:expires-at=2030-01-02T03:04:05Z",
         "--region", "eu-west-1", "--profile", "ci", "--parameter-overrides", "Stage=test"],
    ]


def test_serverless_command_line(tmp_path: Path) -> None:
    """The Framework deploys the stage whose stack is <service>-<stage>."""
    _template(tmp_path, "service: orders\n", "serverless.yml")

    deployment = tool_deployment("serverless", tmp_path, _spec(), region="us-east-1",
                                 profile=None, parameters={"table": "t"})

    assert deployment.commands == [
        ["serverless", "deploy", "--stage", "feature-basket", "--region", "us-east-1",
         "--param", "table=t"],
    ]


def test_cdk_command_line(tmp_path: Path) -> None:
    """cdk deploys every stack with the name in context and the tags on each."""
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}', encoding="utf-8")
    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / "manifest.json").write_text("{}", encoding="utf-8")

    deployment = tool_deployment("cdk", tmp_path, _spec(), region="us-west-2",
                                 profile=None, parameters={})

    assert deployment.directory == tmp_path
    assert deployment.environment == {"AWS_REGION": "us-west-2",
                                      "AWS_DEFAULT_REGION": "us-west-2"}
    assert deployment.commands == [
        ["cdk", "deploy", "--all", "--require-approval", "never",
         "--context", "windtunnel:environment=orders-feature-basket",
         "--tags", "windtunnel:environment=orders-feature-basket",
         "--tags", "windtunnel:app=orders", "--tags", "windtunnel:branch=feature/basket",
         "--tags", "windtunnel:expires-at=2030-01-02T03:04:05Z"],
    ]


def test_tool_for_other_format_rejected(tmp_path: Path) -> None:
    """--tool sam on a serverless.yml names what it needs."""
    _template(tmp_path, "service: orders\n", "serverless.yml")

    with pytest.raises(WindtunnelError, match="--tool sam needs a SAM or CloudFormation"):
        tool_deployment("sam", tmp_path, _spec(), region=REGION, profile=None, parameters={})


@pytest.fixture
def fake_sam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 'sam' on PATH that records its arguments and exits with $FAKE_SAM_STATUS."""
    directory = tmp_path / "bin"
    directory.mkdir()
    record = tmp_path / "calls.txt"
    script = directory / "sam"
    script.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        f"with open({str(record)!r}, 'a') as calls:\n"
        f"    calls.write(' '.join(sys.argv[1:3]) + ' in ' + os.getcwd() + '\\n')\n"
        f"sys.exit(int(os.environ.get('FAKE_SAM_STATUS', '0')))\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return record


def test_tool_commands_run_in_order(tmp_path: Path, fake_sam: Path) -> None:
    """Each command runs in the application's directory, and is printed first."""
    application = tmp_path / "app"
    application.mkdir()
    _template(application, _SAM_TEMPLATE)
    deployment = tool_deployment("sam", application, _spec(), region=REGION, profile=None,
                                 parameters={})
    lines: list[str] = []

    run_tool(deployment, report=lines.append)

    assert fake_sam.read_text(encoding="utf-8").splitlines() == [
        f"build --template-file in {application}", f"deploy --stack-name in {application}"]
    assert lines[0] == "$ sam build --template-file template.yaml"
    assert lines[1].startswith("$ sam deploy --stack-name orders-feature-basket ")


def test_failed_tool_stops(tmp_path: Path, fake_sam: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that fails stops the deployment with its exit status."""
    _template(tmp_path, _SAM_TEMPLATE)
    monkeypatch.setenv("FAKE_SAM_STATUS", "3")
    deployment = tool_deployment("sam", tmp_path, _spec(), region=REGION, profile=None,
                                 parameters={})

    with pytest.raises(WindtunnelError, match="'sam build' failed with exit status 3"):
        run_tool(deployment, report=lambda line: None)

    assert len(fake_sam.read_text(encoding="utf-8").splitlines()) == 1


def test_missing_tool_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool that is not installed is named with how to install it."""
    _template(tmp_path, "service: orders\n", "serverless.yml")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    deployment = tool_deployment("serverless", tmp_path, _spec(), region=REGION,
                                 profile=None, parameters={})

    with pytest.raises(WindtunnelError, match=r"serverless is not installed.*npm install"):
        run_tool(deployment, report=lambda line: None)


def test_tags_added_after_tool(aws: Any) -> None:
    """A stack deployed without the tags gets them through UpdateStack with the previous
    template."""
    client = aws.client("cloudformation")
    # Without parameters: moto 5.2 returns "No updates are to be performed" to an
    # UpdateStack that changes only tags when parameters are given, where AWS applies them.
    client.create_stack(StackName="orders-feature-basket",
                        TemplateBody="Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n")
    lines: list[str] = []

    stack = tag_stack(client, _spec(), report=lines.append)

    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    described = client.describe_stacks(StackName="orders-feature-basket")["Stacks"][0]
    tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
    assert tags["windtunnel:environment"] == "orders-feature-basket"
    assert tags["windtunnel:expires-at"] == "2030-01-02T03:04:05Z"
    assert lines[0] == "Tagging stack orders-feature-basket"
    assert not any("CREATE_" in line for line in lines)


def test_tagging_missing_stack_rejected(aws: Any) -> None:
    """When the tool created no stack of that name, the error names it."""
    with pytest.raises(WindtunnelError, match="no stack named orders-feature-basket exists"):
        tag_stack(aws.client("cloudformation"), _spec(), report=lambda line: None)
