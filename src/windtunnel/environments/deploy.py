"""Create a temporary environment: CreateStack directly, or the application's own tool."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import botocore.exceptions

from windtunnel.constants import TAG_ENVIRONMENT
from windtunnel.environments.aws import aws_error
from windtunnel.environments.progress import StackWatcher, operation_failed
from windtunnel.environments.tags import EnvironmentSpec
from windtunnel.errors import WindtunnelError
from windtunnel.template.loader import find_definition
from windtunnel.template.yaml import load_template_text

__all__ = [
    "ToolDeployment",
    "create_stack",
    "describe_stack",
    "read_template",
    "run_tool",
    "tag_stack",
    "tool_deployment",
]

logger = logging.getLogger(__name__)

Tool = Literal["sam", "serverless", "cdk"]

# CreateStack's TemplateBody takes at most 51,200 bytes; larger templates go through S3
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
MAX_TEMPLATE_BODY_BYTES = 51_200
# The capabilities acknowledged for a temporary environment, as 'sam deploy --capabilities'
# does: templates that create IAM resources need CAPABILITY_IAM or CAPABILITY_NAMED_IAM,
# and templates with a transform (SAM, AWS::Include, macros) need CAPABILITY_AUTO_EXPAND.
_IAM_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
_AUTO_EXPAND = "CAPABILITY_AUTO_EXPAND"

# Properties that take an S3 location on AWS, and that 'sam package' or 'aws cloudformation
# package' fill in from a local path. CreateStack accepts only the S3 location.
_ARTIFACT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Serverless::Application": ("Location",),
    "AWS::Lambda::Function": ("Code",),
    "AWS::Lambda::LayerVersion": ("Content",),
    "AWS::StepFunctions::StateMachine": ("DefinitionS3Location",),
    "AWS::CloudFormation::Stack": ("TemplateURL",),
}
_REMOTE_PREFIXES = ("s3://", "https://", "http://")
_SERVERLESS_FILES = ("serverless.yml", "serverless.yaml", "serverless.json")

_INSTALL_HINTS = {
    "sam": "install the AWS SAM CLI (pip install aws-sam-cli)",
    "serverless": "install the Serverless Framework (npm install -g serverless)",
    "cdk": "install the AWS CDK CLI (npm install -g aws-cdk)",
}


def read_template(path: Path) -> tuple[str, list[str]]:
    """Return the template body to send to CreateStack and the capabilities it needs."""
    definition = find_definition(path)
    if definition.is_dir():
        raise WindtunnelError(f"{definition} is a CDK cloud assembly, whose assets only the "
                              f"CDK publishes; deploy it with --tool cdk")
    if definition.name in _SERVERLESS_FILES:
        raise WindtunnelError(f"{definition} is a Serverless Framework service; deploy it "
                              f"with --tool serverless")

    try:
        body = definition.read_text(encoding="utf-8")
    except OSError as error:
        raise WindtunnelError(f"cannot read {definition}: {error.strerror}") from None
    size = len(body.encode("utf-8"))
    if size > MAX_TEMPLATE_BODY_BYTES:
        raise WindtunnelError(
            f"{definition} is {size} bytes, and CreateStack takes a template of at most "
            f"{MAX_TEMPLATE_BODY_BYTES} bytes inline; deploy it with --tool sam, which "
            f"uploads it to S3")

    document = load_template_text(body, file=definition)
    if not isinstance(document, dict):
        raise WindtunnelError(f"{definition}: a template must be a JSON or YAML object")
    local = _local_artifact(document)
    if local is not None:
        raise WindtunnelError(
            f"{definition}: {local} is a local path, and CreateStack takes only S3 "
            f"locations; deploy with --tool sam, which uploads local artifacts")

    capabilities = list(_IAM_CAPABILITIES)
    if "Transform" in body:
        capabilities.append(_AUTO_EXPAND)
    return body, capabilities


def _local_artifact(document: dict[str, Any]) -> str | None:
    """Return ``Resources.<id>.Properties.<name>`` of the first local artifact path."""
    globals_code = (document.get("Globals") or {}).get("Function", {}).get("CodeUri")
    if _is_local_path(globals_code):
        return "Globals.Function.CodeUri"
    resources = document.get("Resources") or {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        properties = resource.get("Properties") or {}
        for name in _ARTIFACT_PROPERTIES.get(str(resource.get("Type")), ()):
            if isinstance(properties, dict) and _is_local_path(properties.get(name)):
                return f"Resources.{logical_id}.Properties.{name}"
    return None


def _is_local_path(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(_REMOTE_PREFIXES)


def create_stack(client: Any, spec: EnvironmentSpec, *, body: str, capabilities: list[str],
                 parameters: Mapping[str, str], report: Callable[[str], None],
                 watcher_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Call CreateStack, print its events until it ends, and return the stack; raise
    :class:`StackOperationFailed` unless it reaches ``CREATE_COMPLETE``."""
    try:
        response = client.create_stack(
            StackName=spec.name, TemplateBody=body, Capabilities=capabilities,
            Parameters=[{"ParameterKey": key, "ParameterValue": value}
                        for key, value in parameters.items()],
            Tags=[{"Key": key, "Value": value} for key, value in spec.tags().items()])
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "AlreadyExistsException":
            raise WindtunnelError(
                f"the stack {spec.name} already exists; delete it with 'windtunnel env "
                f"delete {spec.name}', or pass another --branch") from None
        raise aws_error(error, "cloudformation:CreateStack") from None
    except botocore.exceptions.BotoCoreError as error:
        raise aws_error(error, "cloudformation:CreateStack") from None

    report(f"Creating stack {spec.name} ({response['StackId']})")
    watcher = StackWatcher(client, response["StackId"], report, **(watcher_options or {}))
    stack = watcher.wait()
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise operation_failed(spec.name, "created", stack, watcher.failures,
                       f"fix the template, delete the stack with 'windtunnel env delete "
                       f"{spec.name}' and run again")
    return stack


@dataclass(frozen=True)
class ToolDeployment:
    """The commands that deploy an application with its own tool, and where they run."""

    tool: Tool
    commands: list[list[str]]
    directory: Path
    environment: dict[str, str]


def tool_deployment(tool: Tool, path: Path, spec: EnvironmentSpec, *, region: str,
                    profile: str | None, parameters: Mapping[str, str]) -> ToolDeployment:
    """Build the commands that deploy the application at ``path`` as stack ``spec.name``."""
    definition = find_definition(path)
    tags = [f"{key}={value}" for key, value in spec.tags().items()]
    pairs = [f"{key}={value}" for key, value in parameters.items()]
    environment: dict[str, str] = {}

    if tool == "sam":
        if definition.is_dir() or definition.name in _SERVERLESS_FILES:
            raise WindtunnelError(f"--tool sam needs a SAM or CloudFormation template, and "
                                  f"{definition} is not one")
        deploy = ["sam", "deploy", "--stack-name", spec.name, "--no-confirm-changeset",
                  "--no-fail-on-empty-changeset", "--resolve-s3",
                  "--capabilities", *_IAM_CAPABILITIES, _AUTO_EXPAND,
                  "--tags", *tags, "--region", region]
        if profile:
            deploy += ["--profile", profile]
        if pairs:
            deploy += ["--parameter-overrides", *pairs]
        # 'sam deploy' without --template-file deploys what 'sam build' wrote to .aws-sam.
        commands = [["sam", "build", "--template-file", definition.name], deploy]
        return ToolDeployment(tool, commands, definition.parent, environment)

    if tool == "serverless":
        if definition.name not in _SERVERLESS_FILES:
            raise WindtunnelError(f"--tool serverless needs a serverless.yml, and "
                                  f"{definition} is not one")
        command = ["serverless", "deploy", "--stage", serverless_stage(spec), "--region",
                   region]
        if definition.name != "serverless.yml":
            command += ["--config", definition.name]
        if profile:
            command += ["--aws-profile", profile]
        for pair in pairs:
            command += ["--param", pair]
        return ToolDeployment(tool, [command], definition.parent, environment)

    if not definition.is_dir():
        raise WindtunnelError(f"--tool cdk needs a CDK app (a directory with cdk.json or "
                              f"cdk.out), and {definition} is not one")
    # The app names its stack from this context value; see docs/temporary-environments.md.
    command = ["cdk", "deploy", "--all", "--require-approval", "never",
               "--context", f"{TAG_ENVIRONMENT}={spec.name}"]
    for tag in tags:
        command += ["--tags", tag]
    for pair in pairs:
        command += ["--parameters", pair]
    if profile:
        command += ["--profile", profile]
    project = definition.parent
    if not (project / "cdk.json").is_file():
        command += ["--app", str(definition)]
    environment = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    return ToolDeployment(tool, [command], project, environment)


def serverless_stage(spec: EnvironmentSpec) -> str:
    """Return the stage whose stack the Framework names ``spec.name`` (``service-stage``)."""
    prefix = f"{spec.app}-"
    if not spec.name.startswith(prefix) or len(spec.name) == len(prefix):
        raise WindtunnelError(
            f"the Serverless Framework names its stack '{spec.app}-STAGE', which cannot be "
            f"{spec.name}; use a service name of letters, digits and hyphens that starts "
            f"with a letter")
    return spec.name[len(prefix):]


def run_tool(deployment: ToolDeployment, *, report: Callable[[str], None]) -> None:
    """Run each command of ``deployment`` in turn; raise when one fails."""
    environment = {**os.environ, **deployment.environment}
    for command in deployment.commands:
        report(f"$ {shlex.join(command)}")
        try:
            # A deployment takes as long as CloudFormation takes, so there is no timeout.
            completed = subprocess.run(command, cwd=deployment.directory, env=environment,
                                       check=False)
        except FileNotFoundError:
            raise WindtunnelError(f"{command[0]} is not installed or not on PATH; "
                                  f"{_INSTALL_HINTS[deployment.tool]}") from None
        if completed.returncode != 0:
            raise WindtunnelError(f"'{shlex.join(command[:2])}' failed with exit status "
                                  f"{completed.returncode}; its output above shows why")


def tag_stack(client: Any, spec: EnvironmentSpec, *, report: Callable[[str], None],
              watcher_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Add the environment's tags to a stack that a tool created without them.

    UpdateStack with the previous template and parameter values changes only the tags,
    which CloudFormation also applies to the stack's resources.
    """
    stack = describe_stack(client, spec.name)
    watcher = StackWatcher(client, stack["StackId"], report, **(watcher_options or {}))
    watcher.skip_existing_events()
    try:
        client.update_stack(
            StackName=stack["StackId"], UsePreviousTemplate=True,
            Capabilities=[*_IAM_CAPABILITIES, _AUTO_EXPAND],
            Parameters=[{"ParameterKey": parameter["ParameterKey"], "UsePreviousValue": True}
                        for parameter in stack.get("Parameters") or []],
            Tags=[{"Key": key, "Value": value} for key, value in spec.tags().items()])
    except botocore.exceptions.ClientError as error:
        message = str(error.response.get("Error", {}).get("Message", ""))
        if "No updates are to be performed" in message and _has_tags(stack, spec):
            return stack
        raise aws_error(error, "cloudformation:UpdateStack") from None
    except botocore.exceptions.BotoCoreError as error:
        raise aws_error(error, "cloudformation:UpdateStack") from None

    report(f"Tagging stack {spec.name}")
    stack = watcher.wait()
    if stack["StackStatus"] != "UPDATE_COMPLETE":
        raise operation_failed(spec.name, "tagged", stack, watcher.failures,
                       f"check the stack in the CloudFormation console, then delete it with "
                       f"'windtunnel env delete {spec.name}'")
    return stack


def _has_tags(stack: dict[str, Any], spec: EnvironmentSpec) -> bool:
    present = {tag["Key"]: tag["Value"] for tag in stack.get("Tags") or []}
    return all(present.get(key) == value for key, value in spec.tags().items())


def describe_stack(client: Any, name: str) -> dict[str, Any]:
    """Return DescribeStacks' description of the stack ``name``; raise when there is none."""
    try:
        stacks = client.describe_stacks(StackName=name)["Stacks"]
    except botocore.exceptions.ClientError as error:
        message = str(error.response.get("Error", {}).get("Message", ""))
        if "does not exist" in message:
            raise WindtunnelError(f"no stack named {name} exists; 'windtunnel env list' "
                                  f"lists the environments") from None
        raise aws_error(error, "cloudformation:DescribeStacks") from None
    except botocore.exceptions.BotoCoreError as error:
        raise aws_error(error, "cloudformation:DescribeStacks") from None
    stack: dict[str, Any] = stacks[0]
    return stack
