"""Compile a serverless.yml into the CloudFormation template the Framework would deploy."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from windtunnel.constants import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from windtunnel.errors import TemplateError
from windtunnel.template.model import Template
from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext, deep_merge, strip_none
from windtunnel.template.serverless.events import compile_events
from windtunnel.template.serverless.functions import (
    compile_functions,
    compile_layers,
    compile_log_groups,
)
from windtunnel.template.serverless.iam import (
    PER_FUNCTION_PLUGIN,
    compile_function_roles,
    compile_shared_role,
)
from windtunnel.template.serverless.stepfunctions import PLUGIN as STEP_FUNCTIONS_PLUGIN
from windtunnel.template.serverless.stepfunctions import compile_state_machines
from windtunnel.template.serverless.variables import VariableResolver, deterministic_instance_id
from windtunnel.template.yaml import load_json, load_yaml

__all__ = [
    "EMULATED_PLUGINS",
    "TEMPLATE_NEUTRAL_PLUGINS",
    "ServerlessTemplate",
    "compile_serverless",
]

# Plugins whose effect on the template windtunnel reproduces.
EMULATED_PLUGINS = frozenset({PER_FUNCTION_PLUGIN, STEP_FUNCTIONS_PLUGIN})

# Plugins that package code or run local tools but add nothing to the template.
TEMPLATE_NEUTRAL_PLUGINS = frozenset(
    {
        "serverless-offline",
        "serverless-python-requirements",
        "serverless-prune-plugin",
        "serverless-esbuild",
        "serverless-webpack",
        "serverless-plugin-typescript",
        "serverless-deployment-bucket",
    }
)

_DESCRIPTION = "The AWS CloudFormation template for this Serverless application"


@dataclass
class ServerlessTemplate(Template):
    """A compiled serverless.yml, with the plugins it lists and what the compiler warned about."""

    plugins: list[str] = field(default_factory=list)
    """The plugin names listed under ``plugins:``, in order."""

    warnings: list[str] = field(default_factory=list)
    """Settings the compiler could not reproduce, such as plugins that may change the template."""


def _load(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    document = load_json(text, file=path) if path.suffix == ".json" else load_yaml(text, file=path)
    if not isinstance(document, dict):
        raise TemplateError("a serverless configuration must be a mapping", file=path)
    return document


def _plugin_names(config: dict[str, Any]) -> list[str]:
    plugins = config.get("plugins") or []
    if isinstance(plugins, dict):
        plugins = plugins.get("modules") or []
    return [str(plugin) for plugin in plugins]


def compile_serverless(
    path: Path,
    *,
    stage: str | None = None,
    region: str | None = None,
    options: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    ssm_lookup: Callable[[str], str | None] | None = None,
    params: Mapping[str, str] | None = None,
) -> ServerlessTemplate:
    """Compile ``path`` (serverless.yml, .yaml or .json) into a CloudFormation template.

    ``stage`` and ``region`` act as the ``--stage`` and ``--region`` options; ``options``
    holds other CLI options for ``${opt:...}``; ``environ`` defaults to ``os.environ``;
    ``ssm_lookup`` returns the value of an SSM parameter for ``${ssm:...}``; ``params``
    overrides ``${param:...}`` values.
    """
    path = Path(path)
    raw = _load(path)

    all_options = dict(options or {})
    if stage:
        all_options["stage"] = stage
    if region:
        all_options["region"] = region
    resolver = VariableResolver(
        raw,
        file=path,
        options=all_options,
        environ=os.environ if environ is None else environ,
        ssm_lookup=ssm_lookup,
        params=params or {},
        account_id=DEFAULT_ACCOUNT_ID,
        default_region=DEFAULT_REGION,
    )
    config = resolver.resolve_all()
    resolved_stage = resolver.stage()
    resolved_region = resolver.region()

    service = config.get("service")
    if isinstance(service, dict):
        service = service.get("name")
    if not service:
        raise TemplateError('missing "service" property', file=path, path="service")
    provider = config.get("provider") or {}
    if provider.get("name") != "aws":
        raise TemplateError(
            f"provider.name must be 'aws', got {provider.get('name')!r}",
            file=path,
            path="provider.name",
        )

    ctx = CompileContext(
        file=path,
        config=config,
        service=str(service),
        stage=resolved_stage,
        region=resolved_region,
        instance_id=deterministic_instance_id(str(service), resolved_stage),
        plugins=_plugin_names(config),
    )
    _warn_about_plugins(ctx)

    _compile_core(ctx)
    compile_log_groups(ctx)
    compile_shared_role(ctx)
    compile_functions(ctx)
    compile_layers(ctx)
    compile_events(ctx)
    compile_function_roles(ctx)
    compile_state_machines(ctx)

    body: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": _DESCRIPTION,
        "Resources": ctx.resources,
        "Outputs": ctx.outputs,
    }
    _merge_user_resources(ctx, body)
    for resource in body["Resources"].values():
        if isinstance(resource, dict) and "Properties" in resource:
            resource["Properties"] = strip_none(resource["Properties"])
        if isinstance(resource, dict) and resource.get("DependsOn") == []:
            del resource["DependsOn"]

    stack_name = provider.get("stackName")
    return ServerlessTemplate(
        body=body,
        path=path,
        format="serverless",
        stack_name=str(stack_name)
        if isinstance(stack_name, str)
        else f"{service}-{resolved_stage}",
        region=resolved_region,
        plugins=ctx.plugins,
        warnings=ctx.warnings,
    )


def _warn_about_plugins(ctx: CompileContext) -> None:
    for plugin in ctx.plugins:
        if plugin in EMULATED_PLUGINS or plugin in TEMPLATE_NEUTRAL_PLUGINS:
            continue
        ctx.warnings.append(
            f"plugin '{plugin}' is not emulated; any resources or settings it adds to the "
            "template are missing"
        )


def _compile_core(ctx: CompileContext) -> None:
    # package/lib/core-cloudformation-template.json of serverless/serverless.
    # NOTE: provider.deploymentBucket (an existing bucket) still gets a generated bucket.
    bucket = naming.DEPLOYMENT_BUCKET_LOGICAL_ID
    bucket_arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": bucket}]]}
    objects_arn = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": bucket}, "/*"]]
    }
    ctx.resources[bucket] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            }
        },
    }
    ctx.resources[naming.DEPLOYMENT_BUCKET_POLICY_LOGICAL_ID] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": bucket},
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "s3:*",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Resource": [objects_arn, bucket_arn],
                        "Condition": {"Bool": {"aws:SecureTransport": False}},
                    }
                ]
            },
        },
    }
    ctx.outputs[naming.DEPLOYMENT_BUCKET_OUTPUT] = {"Value": {"Ref": bucket}}


def _merge_user_resources(ctx: CompileContext, body: dict[str, Any]) -> None:
    # merge-custom-provider-resources.js: lodash merge of resources into the template, so a
    # user resource with a generated logical ID overrides properties of the generated one.
    sections = ctx.config.get("resources") or {}
    if isinstance(sections, dict):
        sections = [sections]
    for index, section in enumerate(sections):
        if not isinstance(section, dict):
            raise ctx.invalid(
                "resources must be a mapping of template sections", f"resources.{index}"
            )
        section = copy.deepcopy(section)
        extensions = section.pop("extensions", None) or {}
        deep_merge(body, section)
        for logical_id, extension in extensions.items():
            target = body["Resources"].get(logical_id)
            if target is None:
                raise ctx.invalid(
                    f'Cannot extend "{logical_id}" resource, as it\'s not found in generated stack',
                    f"resources.extensions.{logical_id}",
                )
            for attribute, value in extension.items():
                if attribute == "Properties":
                    target.setdefault("Properties", {}).update(value)
                elif attribute == "DependsOn":
                    current = target.get("DependsOn") or []
                    current = [current] if isinstance(current, str) else list(current)
                    target["DependsOn"] = current + ([value] if isinstance(value, str) else value)
                elif attribute == "Metadata":
                    target.setdefault("Metadata", {}).update(value)
                else:
                    target[attribute] = value
