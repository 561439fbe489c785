"""Local artifacts of a SAM template, handled as `sam package` would but without uploading."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.artifacts import (
    PLACEHOLDER_BUCKET,
    TEMPLATE_PATH_METADATA,
    is_remote_location,
)
from windtunnel.template.model import CODE_PATH_METADATA
from windtunnel.template.yaml import load_template_text

__all__ = [
    "LocalArtifacts",
    "inline_includes",
    "restore_local_artifacts",
    "stage_local_artifacts",
]

ArtifactKind = Literal["code", "definition", "template"]

# SAM resources whose DefinitionUri names an OpenAPI or Amazon States Language file.
_DEFINITION_URI_TYPES = (
    "AWS::Serverless::Api",
    "AWS::Serverless::HttpApi",
    "AWS::Serverless::StateMachine",
)

# Nested includes are followed to this depth; deeper nesting is almost surely a cycle.
_MAX_INCLUDE_DEPTH = 10

# Properties that `sam package` uploads from a local path but that windtunnel cannot use
# locally yet. A local path in one of them raises, so it does not pass through unnoticed.
_UNSUPPORTED_LOCAL_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::ApiGateway::RestApi": ("BodyS3Location",),
    "AWS::ElasticBeanstalk::ApplicationVersion": ("SourceBundle",),
    "AWS::Glue::Job": ("Command.ScriptLocation",),
}


@dataclass
class LocalArtifacts:
    """The local files and directories behind the placeholder S3 keys of one template."""

    directory: Path
    """The template's directory, which placeholder keys are computed relative to."""

    paths: dict[str, tuple[ArtifactKind, Path]] = field(default_factory=dict)
    """Placeholder S3 key → what the artifact is and its absolute local path."""

    def stage(self, kind: ArtifactKind, path: Path) -> str:
        """Record a local artifact and return the placeholder S3 key that stands for it.

        The key depends on the path relative to the template, not on where the project is
        checked out, so the logical IDs that the transform derives from it (layer versions,
        function versions) stay the same on every machine.
        """
        relative = path.relative_to(self.directory) if path.is_relative_to(self.directory) else path
        digest = hashlib.sha256(f"{kind}:{relative.as_posix()}".encode()).hexdigest()[:32]
        key = f"{digest}/{path.name or 'root'}"
        self.paths[key] = (kind, path)
        return key


def inline_includes(
    node: Any, *, directory: Path, file: Path, path: str = "", depth: int = 0
) -> Any:
    """Replace every local ``Fn::Transform: {Name: AWS::Include}`` with the file's content.

    As in CloudFormation, an include that is the only key of its mapping is replaced by the
    snippet, and one beside other keys merges the snippet's keys into that mapping
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-include.html).
    """
    if isinstance(node, list):
        return [
            inline_includes(
                item, directory=directory, file=file, path=f"{path}[{index}]", depth=depth
            )
            for index, item in enumerate(node)
        ]
    if not isinstance(node, dict):
        return node

    result = {
        key: inline_includes(
            value, directory=directory, file=file, path=_join(path, key), depth=depth
        )
        for key, value in node.items()
        if key != "Fn::Transform"
    }
    if "Fn::Transform" not in node:
        return result

    transform_path = _join(path, "Fn::Transform")
    snippet_file = _include_location(
        node["Fn::Transform"], directory=directory, file=file, path=transform_path
    )
    if depth >= _MAX_INCLUDE_DEPTH:
        raise TemplateError(
            f"AWS::Include snippets nest more than {_MAX_INCLUDE_DEPTH} levels deep; "
            "check the snippets for an include cycle",
            file=file,
            path=transform_path,
        )
    snippet = load_template_text(snippet_file.read_text(encoding="utf-8"), file=snippet_file)
    # NOTE: includes inside a snippet resolve against the top-level template's directory,
    # as `sam package` resolves every local location; CloudFormation itself reads only S3.
    snippet = inline_includes(snippet, directory=directory, file=snippet_file, depth=depth + 1)

    if not result:
        return snippet
    if not isinstance(snippet, dict):
        raise TemplateError(
            f"AWS::Include snippet {snippet_file} must be a mapping to merge with the keys "
            f"beside it ({', '.join(sorted(result))})",
            file=file,
            path=transform_path,
        )
    for key, value in snippet.items():
        if key in result:
            raise TemplateError(
                f"AWS::Include snippet {snippet_file} defines {key!r}, which the including "
                "mapping already contains",
                file=file,
                path=transform_path,
            )
        result[key] = value
    return result


def _include_location(transform: Any, *, directory: Path, file: Path, path: str) -> Path:
    if not isinstance(transform, dict):
        raise UnsupportedFeatureError(
            "Fn::Transform with a list of transforms is not supported; use one AWS::Include",
            file=file,
            path=path,
        )
    name = transform.get("Name")
    if name != "AWS::Include":
        raise UnsupportedFeatureError(
            f"Fn::Transform {name!r} is not supported: windtunnel runs no CloudFormation "
            "macros other than AWS::Include",
            file=file,
            path=path,
        )

    parameters = transform.get("Parameters")
    location = parameters.get("Location") if isinstance(parameters, dict) else None
    if not isinstance(location, str):
        raise TemplateError(
            "AWS::Include needs Parameters.Location as a string", file=file, path=path
        )
    if is_remote_location(location):
        raise UnsupportedFeatureError(
            f"AWS::Include of {location} is not supported: windtunnel reads no objects from "
            "S3 or the web; download the snippet and name its local path",
            file=file,
            path=f"{path}.Parameters.Location",
        )

    snippet_file = (directory / location).resolve()
    if not snippet_file.is_file():
        raise TemplateError(
            f"AWS::Include Location {location} not found (looked for {snippet_file})",
            file=file,
            path=f"{path}.Parameters.Location",
        )
    return snippet_file


def stage_local_artifacts(body: dict[str, Any], *, directory: Path, file: Path) -> LocalArtifacts:
    """Replace local artifact paths in ``body`` with placeholder S3 locations, in place.

    The placeholders are what `sam package` writes after its upload, so the transform sees
    the template as in a real deployment; :func:`restore_local_artifacts` undoes them.
    """
    artifacts = LocalArtifacts(directory)
    resources = body.get("Resources")
    if not isinstance(resources, dict):
        return artifacts

    global_function = _globals_section(body, "Function")
    global_code_uri = global_function.get("CodeUri")
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
            continue
        properties: dict[str, Any] = resource["Properties"]
        resource_type = resource.get("Type")
        where = f"Resources.{logical_id}.Properties"

        if resource_type == "AWS::Serverless::Function":
            # `sam package` copies Globals.Function.CodeUri into functions that have none.
            if (
                "CodeUri" not in properties
                and "InlineCode" not in properties
                and global_code_uri is not None
            ):
                properties["CodeUri"] = global_code_uri
            _stage_function_code(properties, artifacts, directory=directory, file=file, where=where)
        elif resource_type == "AWS::Serverless::LayerVersion":
            # A layer without ContentUri packages the template's directory, as `sam package` does.
            _stage_property(
                properties, "ContentUri", "code", artifacts, directory, file, where, default="."
            )
        elif resource_type in _DEFINITION_URI_TYPES:
            _stage_property(
                properties, "DefinitionUri", "definition", artifacts, directory, file, where
            )
        elif resource_type == "AWS::Serverless::Application":
            _stage_application(properties, artifacts, directory=directory, file=file, where=where)
        elif resource_type == "AWS::Lambda::Function":
            _stage_property(
                properties,
                "Code",
                "code",
                artifacts,
                directory,
                file,
                where,
                s3_dict=("S3Bucket", "S3Key"),
            )
        elif resource_type == "AWS::Lambda::LayerVersion":
            _stage_property(
                properties,
                "Content",
                "code",
                artifacts,
                directory,
                file,
                where,
                s3_dict=("S3Bucket", "S3Key"),
            )
        elif resource_type == "AWS::CloudFormation::Stack":
            _stage_nested_stack(properties, artifacts, directory=directory, file=file, where=where)
        elif isinstance(resource_type, str) and resource_type in _UNSUPPORTED_LOCAL_PROPERTIES:
            _reject_local_paths(properties, resource_type, file=file, where=where)

    # The functions now carry their own CodeUri, but the transform still validates the
    # global one, which must look like what `sam package` leaves: an S3 location.
    if isinstance(global_code_uri, str) and not is_remote_location(global_code_uri):
        code_path = _local_path(global_code_uri, directory, file, "Globals.Function.CodeUri")
        global_function["CodeUri"] = _s3_uri(artifacts.stage("code", code_path))
    return artifacts


def _globals_section(body: dict[str, Any], name: str) -> dict[str, Any]:
    globals_ = body.get("Globals")
    section = globals_.get(name) if isinstance(globals_, dict) else None
    return section if isinstance(section, dict) else {}


def _stage_function_code(
    properties: dict[str, Any],
    artifacts: LocalArtifacts,
    *,
    directory: Path,
    file: Path,
    where: str,
) -> None:
    # `sam package` uploads nothing for inline code or container images.
    if "InlineCode" in properties or properties.get("PackageType") == "Image":
        return
    # A zip function without CodeUri packages the template's directory.
    _stage_property(properties, "CodeUri", "code", artifacts, directory, file, where, default=".")


def _stage_property(
    properties: dict[str, Any],
    name: str,
    kind: ArtifactKind,
    artifacts: LocalArtifacts,
    directory: Path,
    file: Path,
    where: str,
    *,
    default: str | None = None,
    s3_dict: tuple[str, str] | None = None,
) -> None:
    value = properties.get(name, default)
    # Mappings are S3 locations ({Bucket, Key}) or intrinsic functions, which `sam package`
    # leaves alone; so are S3 URLs.
    if not isinstance(value, str) or is_remote_location(value):
        return

    local_path = _local_path(value, directory, file, f"{where}.{name}")
    key = artifacts.stage(kind, local_path)
    if s3_dict is not None:
        bucket_name, key_name = s3_dict
        properties[name] = {bucket_name: PLACEHOLDER_BUCKET, key_name: key}
    else:
        properties[name] = _s3_uri(key)


def _stage_application(
    properties: dict[str, Any],
    artifacts: LocalArtifacts,
    *,
    directory: Path,
    file: Path,
    where: str,
) -> None:
    location = properties.get("Location")
    if isinstance(location, dict) and "ApplicationId" in location:
        raise UnsupportedFeatureError(
            f"AWS::Serverless::Application from the Serverless Application Repository "
            f"({location.get('ApplicationId')}) is not supported: windtunnel does not call "
            "AWS; give Location as the path of the application's template",
            file=file,
            path=f"{where}.Location",
        )
    if not isinstance(location, str):
        return
    if is_remote_location(location):
        raise UnsupportedFeatureError(
            f"AWS::Serverless::Application Location {location} is not supported: windtunnel "
            "reads no templates from S3 or the web; give the path of a local template",
            file=file,
            path=f"{where}.Location",
        )

    template_path = _local_path(location, directory, file, f"{where}.Location")
    key = artifacts.stage("template", template_path)
    properties["Location"] = _https_url(key)


def _stage_nested_stack(
    properties: dict[str, Any],
    artifacts: LocalArtifacts,
    *,
    directory: Path,
    file: Path,
    where: str,
) -> None:
    url = properties.get("TemplateURL")
    if not isinstance(url, str) or is_remote_location(url):
        return
    template_path = _local_path(url, directory, file, f"{where}.TemplateURL")
    key = artifacts.stage("template", template_path)
    properties["TemplateURL"] = _https_url(key)


def _reject_local_paths(
    properties: dict[str, Any], resource_type: str, *, file: Path, where: str
) -> None:
    for property_path in _UNSUPPORTED_LOCAL_PROPERTIES[resource_type]:
        value: Any = properties
        for part in property_path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and not is_remote_location(value):
            # NOTE: these local artifacts are not read yet; `sam package` would upload them.
            raise UnsupportedFeatureError(
                f"a local path in {property_path} of {resource_type} is not supported; "
                "upload the file to S3 or inline its content",
                file=file,
                path=f"{where}.{property_path}",
            )


def _local_path(value: str, directory: Path, file: Path, path: str) -> Path:
    local_path = (directory / value).resolve()
    if not local_path.exists():
        raise TemplateError(
            f"{value!r} names a file or directory that does not exist (looked for {local_path})",
            file=file,
            path=path,
        )
    return local_path


def _s3_uri(key: str) -> str:
    return f"s3://{PLACEHOLDER_BUCKET}/{key}"


def _https_url(key: str) -> str:
    return f"https://{PLACEHOLDER_BUCKET}.s3.amazonaws.com/{key}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def restore_local_artifacts(template: dict[str, Any], artifacts: LocalArtifacts) -> None:
    """Point the transformed resources at the local artifacts behind their placeholders."""
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not artifacts.paths:
        return

    for resource in resources.values():
        if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
            continue
        properties: dict[str, Any] = resource["Properties"]
        resource_type = resource.get("Type")

        if resource_type == "AWS::Lambda::Function":
            _record_code_path(resource, properties.get("Code"), ("S3Bucket", "S3Key"), artifacts)
        elif resource_type == "AWS::Lambda::LayerVersion":
            _record_code_path(resource, properties.get("Content"), ("S3Bucket", "S3Key"), artifacts)
        elif resource_type in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
            # API Gateway imports the object that BodyS3Location names, which is what Body holds.
            _inline_definition(properties, "BodyS3Location", "Body", artifacts)
        elif resource_type == "AWS::StepFunctions::StateMachine":
            # Step Functions reads the object that DefinitionS3Location names, which is what
            # Definition holds; DefinitionSubstitutions apply to both alike.
            _inline_definition(properties, "DefinitionS3Location", "Definition", artifacts)
        elif resource_type == "AWS::CloudFormation::Stack":
            _record_template_path(resource, properties, artifacts)


def _placeholder_key(
    location: Any, names: tuple[str, str], artifacts: LocalArtifacts
) -> str | None:
    if not isinstance(location, Mapping):
        return None
    bucket_name, key_name = names
    key = location.get(key_name)
    if location.get(bucket_name) != PLACEHOLDER_BUCKET or key not in artifacts.paths:
        return None
    return str(key)


def _record_code_path(
    resource: dict[str, Any], location: Any, names: tuple[str, str], artifacts: LocalArtifacts
) -> None:
    key = _placeholder_key(location, names, artifacts)
    if key is None:
        return
    metadata = resource.setdefault("Metadata", {})
    metadata[CODE_PATH_METADATA] = str(artifacts.paths[key][1])


def _inline_definition(
    properties: dict[str, Any], s3_property: str, inline_property: str, artifacts: LocalArtifacts
) -> None:
    key = _placeholder_key(properties.get(s3_property), ("Bucket", "Key"), artifacts)
    if key is None:
        return
    definition_file = artifacts.paths[key][1]
    # NOTE: the file is parsed with CloudFormation's YAML tags, so a short-form tag such as
    # !Sub in it becomes an intrinsic function, which an object read from S3 would not.
    definition = load_template_text(
        definition_file.read_text(encoding="utf-8"), file=definition_file
    )
    del properties[s3_property]
    properties[inline_property] = definition


def _record_template_path(
    resource: dict[str, Any], properties: dict[str, Any], artifacts: LocalArtifacts
) -> None:
    url = properties.get("TemplateURL")
    prefix = _https_url("")
    if not isinstance(url, str) or not url.startswith(prefix):
        return
    entry = artifacts.paths.get(url[len(prefix) :])
    if entry is None:
        return
    template_path = str(entry[1])
    properties["TemplateURL"] = template_path
    resource.setdefault("Metadata", {})[TEMPLATE_PATH_METADATA] = template_path
