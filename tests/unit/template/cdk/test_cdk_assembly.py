"""The CDK cloud assembly reader, over an assembly that `cdk synth` wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from windtunnel.errors import CircularDependencyError, TemplateError, UnsupportedFeatureError
from windtunnel.template.cdk import read_cloud_assembly, read_nested_stack_template
from windtunnel.template.model import CODE_PATH_METADATA, Template

ASSEMBLY = (Path(__file__).parents[3] / "fixtures" / "cdk" / "cdk.out").resolve()
TEMPLATE_PATH_METADATA = "windtunnel:TemplatePath"

# Expected values come from the assembly itself, which `cdk synth` wrote (aws-cdk 2.1149.0,
# aws-cdk-lib 2.278.0): manifest.json artifacts with their properties and dependencies.
SCHEMA_SOURCE = "tests/fixtures/cdk/cdk.out/manifest.json"
# SAM CLI finds the local code of CDK functions through the same aws:asset:path metadata.
ASSET_DOC = (
    "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/"
    "serverless-cdk.html"
)

FUNCTION_ASSET = "asset.5871f2a95d64b24d86ef795fcc32e020adebb2ef1d0629a71d082f1b58e293b0"
LAYER_ASSET = "asset.8eb12def9adf2a014d2c086f0195be6fc485d9f8e27d0e69ba748e1a27d35bf8"
NESTED_TEMPLATE = "WindtunnelOrdersAudit6AB73710.nested.template.json"


@pytest.fixture(scope="module")
def stacks() -> list[Template]:
    return read_cloud_assembly(ASSEMBLY)


def orders(stacks: list[Template]) -> dict[str, Any]:
    resources: dict[str, Any] = stacks[1].body["Resources"]
    return resources


def test_stacks_in_dependency_order(stacks: list[Template]) -> None:
    """The data stack comes before the orders stack that imports its table name."""
    # Source: SCHEMA_SOURCE, artifact "dependencies".
    assert [stack.stack_name for stack in stacks] == ["WindtunnelData", "windtunnel-orders"]


def test_stack_fields(stacks: list[Template]) -> None:
    """Each stack carries the cdk format, its template file and its stack name."""
    # Source: SCHEMA_SOURCE, properties.templateFile and properties.stackName.
    orders_stack = stacks[1]
    assert orders_stack.format == "cdk"
    assert orders_stack.path == ASSEMBLY / "WindtunnelOrders.template.json"
    assert orders_stack.stack_name == "windtunnel-orders"


def test_stack_name_defaults_to_id(stacks: list[Template]) -> None:
    """A stack without an explicit stackName is named by its artifact ID."""
    assert stacks[0].stack_name == "WindtunnelData"


def test_function_code_path(stacks: list[Template]) -> None:
    """A function's code asset becomes its code path metadata."""
    # Source: ASSET_DOC
    metadata = orders(stacks)["OrdersFunctionC129706A"]["Metadata"]
    assert metadata[CODE_PATH_METADATA] == str(ASSEMBLY / FUNCTION_ASSET)
    assert (Path(metadata[CODE_PATH_METADATA]) / "app.py").is_file()


def test_layer_code_path(stacks: list[Template]) -> None:
    """A layer's content asset becomes its code path metadata."""
    # Source: ASSET_DOC
    metadata = orders(stacks)["CommonLayer306767A0"]["Metadata"]
    assert metadata[CODE_PATH_METADATA] == str(ASSEMBLY / LAYER_ASSET)


def test_nested_stack_template_path(stacks: list[Template]) -> None:
    """A nested stack keeps its resource and names its local template."""
    stack = orders(stacks)["AuditNestedStackAuditNestedStackResourceF69BD105"]
    assert stack["Type"] == "AWS::CloudFormation::Stack"
    assert stack["Metadata"][TEMPLATE_PATH_METADATA] == str(ASSEMBLY / NESTED_TEMPLATE)
    assert stack["Properties"]["TemplateURL"] == str(ASSEMBLY / NESTED_TEMPLATE)


def test_nested_stack_template_read() -> None:
    """The nested stack's template reads as a cdk template of its own."""
    nested = read_nested_stack_template(ASSEMBLY / NESTED_TEMPLATE)
    assert nested.format == "cdk"
    assert nested.body["Resources"]["AuditQueue1D3C234B"]["Type"] == "AWS::SQS::Queue"


def test_bootstrap_version_supplied(stacks: list[Template]) -> None:
    """BootstrapVersion gets the version the stack requires, so the rule passes."""
    # Source: SCHEMA_SOURCE, properties.requiresBootstrapStackVersion (6 in the fixture).
    for stack in stacks:
        declaration = stack.body["Parameters"]["BootstrapVersion"]
        assert declaration["Type"] == "String"
        assert declaration["Default"] == "6"
        assert stack.parameters["BootstrapVersion"] == "6"
        assert "CheckBootstrapVersion" in stack.body["Rules"]


def copy_assembly(tmp_path: Path) -> Path:
    target = tmp_path / "cdk.out"
    shutil.copytree(ASSEMBLY, target)
    return target


def edit_json(path: Path, edit: Any) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_docker_image_function_rejected(tmp_path: Path) -> None:
    """A function built from a Docker image asset raises, naming the function."""
    assembly = copy_assembly(tmp_path)

    def make_image_function(template: dict[str, Any]) -> None:
        function = template["Resources"]["OrdersFunctionC129706A"]
        function["Properties"] = {"PackageType": "Image", "Code": {"ImageUri": "x"}}
        function["Metadata"]["aws:asset:dockerfile-path"] = "Dockerfile"

    edit_json(assembly / "WindtunnelOrders.template.json", make_image_function)
    with pytest.raises(UnsupportedFeatureError, match="OrdersFunctionC129706A") as caught:
        read_cloud_assembly(assembly)
    assert caught.value.path == "Resources.OrdersFunctionC129706A"


def test_missing_asset(tmp_path: Path) -> None:
    """An asset directory that is gone raises TemplateError naming it."""
    assembly = copy_assembly(tmp_path)
    shutil.rmtree(assembly / FUNCTION_ASSET)
    with pytest.raises(TemplateError, match=FUNCTION_ASSET):
        read_cloud_assembly(assembly)


def test_dependency_cycle(tmp_path: Path) -> None:
    """Stacks that depend on each other raise CircularDependencyError."""
    assembly = copy_assembly(tmp_path)

    def add_cycle(manifest: dict[str, Any]) -> None:
        manifest["artifacts"]["WindtunnelData"]["dependencies"].append("WindtunnelOrders")

    edit_json(assembly / "manifest.json", add_cycle)
    with pytest.raises(CircularDependencyError, match="WindtunnelData"):
        read_cloud_assembly(assembly)


def test_missing_manifest(tmp_path: Path) -> None:
    """A directory without manifest.json raises and says to run cdk synth."""
    with pytest.raises(TemplateError, match="cdk synth"):
        read_cloud_assembly(tmp_path)


def test_stage_rejected(tmp_path: Path) -> None:
    """A nested cloud assembly (a CDK Stage) raises UnsupportedFeatureError."""
    assembly = copy_assembly(tmp_path)

    def add_stage(manifest: dict[str, Any]) -> None:
        manifest["artifacts"]["assembly-Prod"] = {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": "assembly-Prod"},
        }

    edit_json(assembly / "manifest.json", add_stage)
    with pytest.raises(UnsupportedFeatureError, match="assembly-Prod"):
        read_cloud_assembly(assembly)
