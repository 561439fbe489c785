"""Read the stacks of a synthesized CDK cloud assembly (``cdk.out``) into templates."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from windtunnel.errors import CircularDependencyError, TemplateError, UnsupportedFeatureError
from windtunnel.template.artifacts import TEMPLATE_PATH_METADATA
from windtunnel.template.model import CODE_PATH_METADATA, Template
from windtunnel.template.yaml import load_json

__all__ = [
    "BOOTSTRAP_VERSION_PARAMETER",
    "annotate_assets",
    "read_cloud_assembly",
    "read_nested_stack_template",
]

logger = logging.getLogger(__name__)

# The parameter that the CDK's default stack synthesizer adds to every stack. CloudFormation
# resolves it from the SSM parameter the bootstrap stack writes, and the CheckBootstrapVersion
# rule rejects versions older than the stack needs.
BOOTSTRAP_VERSION_PARAMETER = "BootstrapVersion"

# Artifact types in manifest.json: a stack, and a nested assembly that a CDK Stage writes.
_STACK_ARTIFACT = "aws:cloudformation:stack"
_NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"

# Resource metadata that the CDK writes for each asset a resource uses, unless
# `cdk synth --no-asset-metadata` turns it off.
_ASSET_PATH = "aws:asset:path"
_ASSET_PROPERTY = "aws:asset:property"
_ASSET_DOCKERFILE = "aws:asset:dockerfile-path"

# Resource types whose asset becomes CODE_PATH_METADATA, with the property the asset fills.
_CODE_ASSET_PROPERTIES = {
    "AWS::Lambda::Function": "Code",
    "AWS::Lambda::LayerVersion": "Content",
}


def read_cloud_assembly(directory: Path) -> list[Template]:
    """Read every stack of a cloud assembly, each after the stacks it depends on.

    Lambda functions and layers get ``Metadata["windtunnel:CodePath"]`` naming their asset
    directory, nested stacks get ``Metadata["windtunnel:TemplatePath"]`` and a TemplateURL
    naming their template file, both absolute paths inside the assembly.
    """
    directory = directory.resolve()
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file():
        raise TemplateError(
            f"no manifest.json in {directory}; run `cdk synth` and pass its output directory",
            file=manifest_file,
        )
    manifest = load_json(manifest_file.read_text(encoding="utf-8"), file=manifest_file)
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise TemplateError("manifest.json has no artifacts", file=manifest_file)

    stacks: dict[str, dict[str, Any]] = {}
    for artifact_id, artifact in artifacts.items():
        if not isinstance(artifact, dict):
            continue
        if artifact.get("type") == _NESTED_ASSEMBLY_ARTIFACT:
            # NOTE: stages (nested cloud assemblies, as CDK Pipelines write them) are not read.
            raise UnsupportedFeatureError(
                f"the nested cloud assembly {artifact_id!r} (a CDK Stage) is not supported; "
                "pass the stage's own directory inside cdk.out",
                file=manifest_file,
                path=f"artifacts.{artifact_id}",
            )
        if artifact.get("type") == _STACK_ARTIFACT:
            stacks[artifact_id] = artifact

    return [
        _read_stack(artifact_id, stacks[artifact_id], directory=directory, manifest=manifest_file)
        for artifact_id in _dependency_order(stacks, manifest=manifest_file)
    ]


def _dependency_order(stacks: dict[str, dict[str, Any]], *, manifest: Path) -> list[str]:
    """Sort stack artifacts so each comes after its dependencies, keeping manifest order."""
    ordered: list[str] = []
    visiting: list[str] = []

    def visit(artifact_id: str) -> None:
        if artifact_id in ordered:
            return
        if artifact_id in visiting:
            cycle = " -> ".join([*visiting[visiting.index(artifact_id) :], artifact_id])
            raise CircularDependencyError(
                f"stacks depend on each other in a cycle: {cycle}", file=manifest
            )
        visiting.append(artifact_id)
        # Dependencies also name asset manifests and other artifacts; only stacks matter here.
        for dependency in stacks[artifact_id].get("dependencies") or []:
            if dependency in stacks:
                visit(dependency)
        visiting.pop()
        ordered.append(artifact_id)

    for artifact_id in stacks:
        visit(artifact_id)
    return ordered


def _read_stack(
    artifact_id: str, artifact: dict[str, Any], *, directory: Path, manifest: Path
) -> Template:
    properties = artifact.get("properties") or {}
    template_file_name = properties.get("templateFile")
    if not isinstance(template_file_name, str):
        raise TemplateError(
            f"stack artifact {artifact_id!r} has no properties.templateFile",
            file=manifest,
            path=f"artifacts.{artifact_id}.properties",
        )
    template_file = directory / template_file_name
    if not template_file.is_file():
        raise TemplateError(
            f"template {template_file_name} of stack {artifact_id!r} not found in {directory}",
            file=manifest,
            path=f"artifacts.{artifact_id}.properties.templateFile",
        )

    body = _load_template(template_file)
    parameters = {
        str(name): str(value) for name, value in (properties.get("parameters") or {}).items()
    }
    bootstrap_version = properties.get("requiresBootstrapStackVersion")
    _supply_bootstrap_version(body, bootstrap_version, parameters)
    annotate_assets(body, directory=directory, file=template_file)

    stack_name = properties.get("stackName") or artifact_id
    logger.debug("read stack %s from %s", stack_name, template_file)
    return Template(
        body=body,
        path=template_file,
        format="cdk",
        stack_name=str(stack_name),
        parameters=parameters,
    )


def read_nested_stack_template(path: Path) -> Template:
    """Read a ``*.nested.template.json`` of a cloud assembly, with its assets annotated.

    The deployment calls this for the path in a nested stack's
    ``Metadata["windtunnel:TemplatePath"]``; assets resolve against the file's directory,
    which is the assembly's.
    """
    path = path.resolve()
    body = _load_template(path)
    annotate_assets(body, directory=path.parent, file=path)
    return Template(body=body, path=path, format="cdk")


def _load_template(template_file: Path) -> dict[str, Any]:
    body = load_json(template_file.read_text(encoding="utf-8"), file=template_file)
    if not isinstance(body, dict):
        raise TemplateError("a template must be a JSON object", file=template_file)
    return body


def _supply_bootstrap_version(
    body: dict[str, Any], required_version: Any, parameters: dict[str, str]
) -> None:
    """Give the bootstrap version parameter a value without an SSM lookup.

    No bootstrap stack exists locally, so the parameter becomes a String whose default is
    the version the stack requires (``requiresBootstrapStackVersion`` in the manifest),
    which passes the CheckBootstrapVersion rule by construction.
    """
    declared = body.get("Parameters")
    declaration = declared.get(BOOTSTRAP_VERSION_PARAMETER) if isinstance(declared, dict) else None
    if not isinstance(declaration, dict):
        return

    version = str(required_version) if isinstance(required_version, int) else "6"
    declaration["Type"] = "String"
    declaration["Default"] = version
    parameters.setdefault(BOOTSTRAP_VERSION_PARAMETER, version)


def annotate_assets(body: dict[str, Any], *, directory: Path, file: Path) -> None:
    """Record the local asset paths of functions, layers and nested stacks in ``body``."""
    resources = body.get("Resources")
    if not isinstance(resources, dict):
        return

    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        metadata = resource.get("Metadata")
        if not isinstance(metadata, dict):
            continue
        resource_type = resource.get("Type")
        where = f"Resources.{logical_id}"

        asset_path = metadata.get(_ASSET_PATH)
        if _ASSET_DOCKERFILE in metadata or (asset_path and _is_image_function(resource)):
            # NOTE: container image functions are not emulated; they need a Docker build.
            raise UnsupportedFeatureError(
                f"the Lambda function {logical_id} is built from a Docker image asset, "
                "which windtunnel does not run; use Code.fromAsset with a directory",
                file=file,
                path=where,
            )

        if not isinstance(asset_path, str):
            # NOTE: without asset metadata (`cdk synth --no-asset-metadata`) the asset is not
            # found; the *.assets.json file would map the S3 key back to the asset directory.
            continue
        asset_property = metadata.get(_ASSET_PROPERTY)
        local_path = (directory / asset_path).resolve()

        if _CODE_ASSET_PROPERTIES.get(str(resource_type)) == asset_property:
            _require_asset(local_path, file=file, where=where)
            metadata[CODE_PATH_METADATA] = str(local_path)
        elif resource_type == "AWS::CloudFormation::Stack" and asset_property == "TemplateURL":
            _require_asset(local_path, file=file, where=where)
            metadata[TEMPLATE_PATH_METADATA] = str(local_path)
            properties = resource.setdefault("Properties", {})
            properties["TemplateURL"] = str(local_path)


def _is_image_function(resource: dict[str, Any]) -> bool:
    if resource.get("Type") != "AWS::Lambda::Function":
        return False
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        return False
    code = properties.get("Code")
    has_image_uri = isinstance(code, dict) and "ImageUri" in code
    return properties.get("PackageType") == "Image" or has_image_uri


def _require_asset(local_path: Path, *, file: Path, where: str) -> None:
    if not local_path.exists():
        raise TemplateError(
            f"asset {local_path} not found; run `cdk synth` again to recreate the assembly",
            file=file,
            path=f"{where}.Metadata.{_ASSET_PATH}",
        )
