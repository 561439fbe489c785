"""Local artifacts, includes, parameters and errors of the SAM reader."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.model import CODE_PATH_METADATA
from windtunnel.template.sam import translate_sam
from windtunnel.template.yaml import load_yaml

FIXTURE = Path(__file__).parents[3] / "fixtures" / "sam" / "app"
TEMPLATE_PATH_METADATA = "windtunnel:TemplatePath"

# `sam package` replaces local paths in CodeUri, ContentUri, DefinitionUri, Location and
# AWS::Include with uploaded S3 objects, and packages the template's directory for a
# function without CodeUri.
PACKAGE_DOC = (
    "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/"
    "sam-cli-command-reference-sam-package.html"
)
INCLUDE_DOC = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "transform-aws-include.html"
)


@pytest.fixture(scope="module")
def fixture_resources() -> dict[str, Any]:
    path = FIXTURE / "template.yaml"
    template = translate_sam(load_yaml(path.read_text(encoding="utf-8")), path=path, parameters={})
    result: dict[str, Any] = template["Resources"]
    return result


def translate(tmp_path: Path, text: str, **parameters: str) -> dict[str, Any]:
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return translate_sam(load_yaml(text, file=path), path=path, parameters=parameters)


SAM_HEADER = "Transform: AWS::Serverless-2016-10-31\n"


def test_function_code_path(fixture_resources: dict[str, Any]) -> None:
    """A local CodeUri becomes the function's code path metadata."""
    # Source: PACKAGE_DOC
    metadata = fixture_resources["OrdersFunction"]["Metadata"]
    assert metadata[CODE_PATH_METADATA] == str((FIXTURE / "src" / "orders").resolve())


def test_globals_code_uri_path(fixture_resources: dict[str, Any]) -> None:
    """A function without CodeUri takes Globals.Function.CodeUri."""
    # Source: PACKAGE_DOC
    metadata = fixture_resources["WorkerFunction"]["Metadata"]
    assert metadata[CODE_PATH_METADATA] == str((FIXTURE / "src" / "stream").resolve())


def test_layer_code_path(fixture_resources: dict[str, Any]) -> None:
    """A local layer ContentUri becomes the layer version's code path metadata."""
    # Source: PACKAGE_DOC
    layer = next(r for r in fixture_resources.values() if r["Type"] == "AWS::Lambda::LayerVersion")
    assert layer["Metadata"][CODE_PATH_METADATA] == str((FIXTURE / "layers" / "common").resolve())


def test_inline_code_kept(fixture_resources: dict[str, Any]) -> None:
    """InlineCode becomes Code.ZipFile and no code path is recorded."""
    # Source: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
    function = fixture_resources["InlineFunction"]
    assert "def handler" in function["Properties"]["Code"]["ZipFile"]
    assert CODE_PATH_METADATA not in function.get("Metadata", {})


def test_default_code_uri(tmp_path: Path) -> None:
    """A function without any CodeUri packages the template's directory."""
    # Source: PACKAGE_DOC
    resources = translate(
        tmp_path,
        SAM_HEADER
        + "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        + "    Properties: {Runtime: python3.12, Handler: app.handler}\n",
    )["Resources"]
    assert resources["Fn"]["Metadata"][CODE_PATH_METADATA] == str(tmp_path.resolve())


def test_s3_code_uri_untouched(tmp_path: Path) -> None:
    """A CodeUri in S3 passes through to Code and records no local path."""
    resources = translate(
        tmp_path,
        SAM_HEADER
        + "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        + "    Properties: {Runtime: python3.12, Handler: a.h, CodeUri: s3://bucket/code.zip}\n",
    )["Resources"]
    assert resources["Fn"]["Properties"]["Code"] == {"S3Bucket": "bucket", "S3Key": "code.zip"}
    assert "Metadata" not in resources["Fn"]


def test_api_definition_inlined(fixture_resources: dict[str, Any]) -> None:
    """An Api's local DefinitionUri ends up as the REST API's Body."""
    # Source: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html
    properties = fixture_resources["OrdersApi"]["Properties"]
    assert "BodyS3Location" not in properties
    assert properties["Body"]["paths"]["/orders"]["get"]["x-amazon-apigateway-integration"][
        "type"
    ] == ("aws_proxy")


def test_state_machine_definition_inlined(fixture_resources: dict[str, Any]) -> None:
    """A state machine's local DefinitionUri ends up as its Definition."""
    # Source: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-statemachine.html
    properties = fixture_resources["OrdersStateMachine"]["Properties"]
    assert "DefinitionS3Location" not in properties
    assert properties["Definition"]["StartAt"] == "Store"


def test_include_inlined(fixture_resources: dict[str, Any]) -> None:
    """An AWS::Include beside other resources merges the snippet's resources."""
    # Source: INCLUDE_DOC
    assert fixture_resources["IncludedQueue"]["Properties"] == {"VisibilityTimeout": 45}


def test_include_replaces_value(tmp_path: Path) -> None:
    """An AWS::Include that is a mapping's only key is replaced by the snippet."""
    # Source: INCLUDE_DOC
    (tmp_path / "props.yaml").write_text("VisibilityTimeout: 7\n", encoding="utf-8")
    resources = translate(
        tmp_path,
        SAM_HEADER
        + "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n"
        + "      Fn::Transform: {Name: AWS::Include, Parameters: {Location: props.yaml}}\n",
    )["Resources"]
    assert resources["Queue"]["Properties"] == {"VisibilityTimeout": 7}


def test_include_from_s3_rejected(tmp_path: Path) -> None:
    """An AWS::Include from S3 raises UnsupportedFeatureError naming the location."""
    with pytest.raises(UnsupportedFeatureError, match=r"s3://bucket/snippet\.yaml") as caught:
        translate(
            tmp_path,
            SAM_HEADER
            + "Resources:\n  Fn::Transform:\n    Name: AWS::Include\n"
            + "    Parameters: {Location: s3://bucket/snippet.yaml}\n",
        )
    assert caught.value.path == "Resources.Fn::Transform.Parameters.Location"
    assert caught.value.file == (tmp_path / "template.yaml").resolve()


def test_application_template_path(fixture_resources: dict[str, Any]) -> None:
    """A local Application Location becomes the nested stack's local template path."""
    # Source: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-application.html
    stack = fixture_resources["Billing"]
    expected = str((FIXTURE / "apps" / "billing" / "template.yaml").resolve())
    assert stack["Properties"]["TemplateURL"] == expected
    assert stack["Metadata"][TEMPLATE_PATH_METADATA] == expected
    assert stack["Properties"]["Parameters"] == {"Stage": {"Ref": "Stage"}}


@pytest.mark.parametrize(
    "location",
    [
        "https://bucket.s3.amazonaws.com/app.yaml",
        "{ApplicationId: 'arn:aws:serverlessrepo:us-east-1:123456789012:applications/x', "
        "SemanticVersion: 1.0.0}",
    ],
)
def test_remote_application_rejected(tmp_path: Path, location: str) -> None:
    """Applications in S3 or the Serverless Application Repository raise."""
    with pytest.raises(UnsupportedFeatureError, match="AWS::Serverless::Application") as caught:
        translate(
            tmp_path,
            SAM_HEADER
            + "Resources:\n  App:\n    Type: AWS::Serverless::Application\n"
            + f"    Properties:\n      Location: {location}\n",
        )
    assert caught.value.path == "Resources.App.Properties.Location"


def test_missing_code_uri(tmp_path: Path) -> None:
    """A CodeUri that names nothing raises TemplateError with the property's path."""
    with pytest.raises(TemplateError, match="does not exist") as caught:
        translate(
            tmp_path,
            SAM_HEADER
            + "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
            + "    Properties: {Runtime: python3.12, Handler: a.h, CodeUri: missing/}\n",
        )
    assert caught.value.path == "Resources.Fn.Properties.CodeUri"


def test_translator_error_message(tmp_path: Path) -> None:
    """Transform errors carry the translator's own message and the file."""
    # The message is the one CloudFormation prints when the transform fails.
    with pytest.raises(TemplateError) as caught:
        translate(
            tmp_path,
            SAM_HEADER
            + "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
            + "    Properties:\n      Runtime: python3.12\n      Handler: a.h\n"
            + "      InlineCode: x\n      Events:\n        E: {Type: NoSuchEvent}\n",
        )
    message = str(caught.value)
    assert "Invalid Serverless Application Specification document" in message
    assert "Resource with id [Fn] is invalid" in message
    assert caught.value.file == (tmp_path / "template.yaml").resolve()


def test_unknown_managed_policy(tmp_path: Path) -> None:
    """A policy name that is no AWS managed policy raises instead of passing through."""
    with pytest.raises(TemplateError, match="NoSuchPolicyName"):
        translate(
            tmp_path,
            SAM_HEADER
            + "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
            + "    Properties:\n      Runtime: python3.12\n      Handler: a.h\n"
            + "      InlineCode: x\n      Policies: [NoSuchPolicyName]\n",
        )


def test_other_transform_rejected(tmp_path: Path) -> None:
    """A transform other than SAM's raises UnsupportedFeatureError naming it."""
    with pytest.raises(UnsupportedFeatureError, match="AWS::LanguageExtensions"):
        translate(
            tmp_path,
            "Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]\nResources: {}\n",
        )


def test_parameter_override_used(tmp_path: Path) -> None:
    """Parameter values reach the transform, which resolves them in AutoPublishAlias."""
    # Source: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-autopublishalias
    text = (
        SAM_HEADER
        + "Parameters:\n  Alias: {Type: String, Default: dev}\n"
        + "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        + "    Properties:\n      Runtime: python3.12\n      Handler: a.h\n"
        + "      InlineCode: x\n      AutoPublishAlias: !Ref Alias\n"
    )
    assert "FnAliasdev" in translate(tmp_path, text)["Resources"]
    assert "FnAliasprod" in translate(tmp_path, text, Alias="prod")["Resources"]


def test_region_partition(tmp_path: Path) -> None:
    """Managed policy ARNs use the partition of the requested region."""
    path = tmp_path / "template.yaml"
    text = (
        SAM_HEADER
        + "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        + "    Properties: {Runtime: python3.12, Handler: a.h, InlineCode: x}\n"
    )
    path.write_text(text, encoding="utf-8")
    template = translate_sam(load_yaml(text), path=path, parameters={}, region="cn-north-1")
    arns = template["Resources"]["FnRole"]["Properties"]["ManagedPolicyArns"]
    assert arns == ["arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]


def test_body_not_modified() -> None:
    """The caller's template body stays as it was."""
    path = FIXTURE / "template.yaml"
    body = load_yaml(path.read_text(encoding="utf-8"))
    before = repr(body)
    translate_sam(body, path=path, parameters={})
    assert repr(body) == before


def test_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The transform opens no network connection (no IAM ListPolicies, no SAR)."""

    def reject_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("the SAM transform tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", reject_connection)
    monkeypatch.setattr(socket, "create_connection", reject_connection)
    path = FIXTURE / "template.yaml"
    template = translate_sam(load_yaml(path.read_text(encoding="utf-8")), path=path, parameters={})
    assert "OrdersFunction" in template["Resources"]
