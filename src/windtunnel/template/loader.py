"""Find an application's definition and read it into CloudFormation-shaped templates."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from windtunnel.constants import DEFAULT_REGION
from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.model import Template
from windtunnel.template.yaml import load_template_text

__all__ = ["default_stack_name", "find_definition", "load_application", "load_template_file"]

_SERVERLESS_FILES = ("serverless.yml", "serverless.yaml", "serverless.json")
_UNSUPPORTED_SERVERLESS_FILES = ("serverless.ts", "serverless.js")
_TEMPLATE_FILES = ("template.yaml", "template.yml", "template.json")
_SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")


def find_definition(path: Path) -> Path:
    """Return the definition file (or ``cdk.out`` directory) that ``path`` names or holds."""
    if not path.exists():
        raise TemplateError(f"{path} does not exist; pass a template file or a directory "
                            f"that holds serverless.yml, template.yaml or cdk.out")
    if path.is_file():
        return path
    if (path / "manifest.json").is_file():
        return path
    for name in _SERVERLESS_FILES + _TEMPLATE_FILES:
        if (path / name).is_file():
            return path / name
    for name in _UNSUPPORTED_SERVERLESS_FILES:
        if (path / name).is_file():
            raise UnsupportedFeatureError(
                f"{name} is not supported: windtunnel reads serverless.yml, serverless.yaml "
                f"or serverless.json", file=path / name)
    if (path / "cdk.out" / "manifest.json").is_file():
        return path / "cdk.out"
    raise TemplateError(
        f"no application definition found in {path}: expected serverless.yml, "
        f"template.yaml (or .yml/.json) or a cdk.out directory")


def load_application(path: Path, *, stage: str | None = None, region: str | None = None,
                     parameters: Mapping[str, str] | None = None,
                     ssm_lookup: Callable[[str], str | None] | None = None) -> list[Template]:
    """Read the application at ``path`` into one template per stack."""
    definition = find_definition(Path(path)).resolve()
    if definition.is_dir():
        from windtunnel.template.cdk import read_cloud_assembly

        return read_cloud_assembly(definition)
    if definition.name in _SERVERLESS_FILES:
        from windtunnel.template.serverless import compile_serverless

        return [compile_serverless(definition, stage=stage, region=region,
                                   ssm_lookup=ssm_lookup, params=parameters)]
    return [load_template_file(definition, parameters=parameters or {}, region=region)]


def load_template_file(path: Path, *, parameters: Mapping[str, str],
                       region: str | None = None) -> Template:
    """Read a CloudFormation or SAM template file; SAM goes through AWS's own transform."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"cannot read the template: {error.strerror}", file=path) from None
    body = load_template_text(text, file=path)
    if not isinstance(body, dict):
        raise TemplateError("Template format error: a template must be a JSON or YAML object",
                            file=path)
    template_format: Any = "cloudformation"
    if "AWS::Include" in text and _SAM_TRANSFORM not in _transforms(body):
        # The SAM reader inlines includes itself, before its transform runs.
        from windtunnel.template.sam_artifacts import inline_includes

        body = inline_includes(body, directory=path.parent, file=path)
    if _SAM_TRANSFORM in _transforms(body):
        from windtunnel.template.sam import translate_sam

        body = translate_sam(body, path=path, parameters=parameters,
                             region=region or DEFAULT_REGION)
        template_format = "sam"
    else:
        # Local paths where CloudFormation wants S3 locations (a function's Code, a nested
        # stack's TemplateURL) are what `aws cloudformation package` uploads; they are
        # used in place, as that command would have packaged them.
        from windtunnel.template.sam_artifacts import (
            restore_local_artifacts,
            stage_local_artifacts,
        )

        artifacts = stage_local_artifacts(body, directory=path.parent, file=path)
        restore_local_artifacts(body, artifacts)
    return Template(body=body, path=path, format=template_format,
                    stack_name=_samconfig_stack_name(path.parent))


def default_stack_name(template: Template) -> str:
    """Return the stack name to use when the user gives none."""
    if template.stack_name:
        return template.stack_name
    directory = template.path if template.path.is_dir() else template.path.parent
    name = re.sub(r"[^A-Za-z0-9-]+", "-", directory.name).strip("-")
    if not name or not name[0].isalpha():
        name = f"stack-{name}" if name else "stack"
    return name[:128]


def check_stack_name(name: str) -> str:
    """Return ``name`` if CloudFormation accepts it as a stack name, else raise."""
    if not _STACK_NAME.match(name):
        # CloudFormation's constraint on StackName.
        raise TemplateError(
            f"1 validation error detected: Value '{name}' at 'stackName' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: "
            f"[a-zA-Z][-a-zA-Z0-9]*")
    return name


def _transforms(body: dict[str, Any]) -> list[Any]:
    transforms = body.get("Transform") or []
    return [transforms] if isinstance(transforms, str) else list(transforms)


def _samconfig_stack_name(directory: Path) -> str | None:
    """Return the stack name that ``sam deploy`` would use from samconfig.toml, if any."""
    config = directory / "samconfig.toml"
    if not config.is_file():
        return None
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    for section in ("deploy", "global"):
        name = data.get("default", {}).get(section, {}).get("parameters", {}).get("stack_name")
        if isinstance(name, str) and _STACK_NAME.match(name):
            return name
    return None
