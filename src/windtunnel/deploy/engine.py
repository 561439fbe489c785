"""Deploy a template into the embedded cloud, as CloudFormation creates a stack."""

from __future__ import annotations

import datetime
import difflib
import functools
import importlib.resources as resources_package
import logging
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from windtunnel.deploy import resources as _registered_handlers  # noqa: F401 - registers them
from windtunnel.deploy.model import DeployedResource, DeployedStack, StackOutput
from windtunnel.deploy.outputs import localize_endpoints
from windtunnel.deploy.parameters import resolve_parameters
from windtunnel.deploy.planner import creation_order
from windtunnel.deploy.resources.base import (
    ResourceContext,
    ResourceCreationFailed,
    generate_physical_name,
    handler_for,
)
from windtunnel.errors import (
    DeploymentError,
    TemplateError,
    UnresolvedReferenceError,
    UnsupportedFeatureError,
)
from windtunnel.template.intrinsics import NO_VALUE, Resolver, pseudo_parameters
from windtunnel.template.model import Template

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.services.cloudformation.models import StackRegistry

__all__ = ["Deployer", "NestedTemplateLoader"]

logger = logging.getLogger(__name__)

# Top-level sections a template may have:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html
_TEMPLATE_SECTIONS = frozenset({
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
    "Conditions", "Transform", "Resources", "Outputs", "Hooks",
})
_RESOURCE_KEYS = frozenset({
    "Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy",
    "UpdateReplacePolicy", "UpdatePolicy", "CreationPolicy",
})
# Transforms whose functions the intrinsic resolver evaluates itself.
_SUPPORTED_TRANSFORMS = frozenset({"AWS::LanguageExtensions"})
_NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
# Types that exist only before a transform runs; the SAM reader has expanded them already.
_WINDTUNNEL_RESOURCE_TYPES = frozenset({"AWS::CloudFormation::CustomResource"})

NestedTemplateLoader = Callable[[Path, Mapping[str, str]], Template]


class Deployer:
    """Creates stacks in a :class:`Cloud` and records them in a stack registry."""

    def __init__(self, cloud: Cloud, registry: StackRegistry, *,
                 load_nested: NestedTemplateLoader | None = None,
                 strict: bool = False) -> None:
        self.cloud = cloud
        self.registry = registry
        self.strict = strict
        self._load_nested = load_nested

    def deploy(self, template: Template, *, stack_name: str,
               parameters: Mapping[str, str] | None = None,
               parent: DeployedStack | None = None) -> DeployedStack:
        """Create every resource of ``template`` and return the stack.

        A failure restores the cloud to its state before the call, as CloudFormation rolls
        a failed stack creation back, and raises the error.
        """
        before = self.cloud.snapshot() if parent is None else None
        try:
            stack = self._deploy(template, stack_name=stack_name,
                                 parameters=dict(parameters or {}), parent=parent)
        except BaseException:
            if before is not None:
                self.cloud.restore(before)
            raise
        if parent is None:
            self.registry.add(stack)
        return stack

    def _deploy(self, template: Template, *, stack_name: str, parameters: dict[str, str],
                parent: DeployedStack | None) -> DeployedStack:
        body = template.body
        try:
            _check_sections(body)
            merged = {**template.parameters, **parameters}
            region = self.cloud.region
            stack_id = _stack_id(region, self.cloud.account_id, stack_name)
            stack = DeployedStack(
                name=stack_name,
                stack_id=stack_id,
                region=region,
                account_id=self.cloud.account_id,
                template=template,
                parameters={},
                resources={},
                outputs=[],
                description=body.get("Description"),
                parent_id=parent.stack_id if parent else None,
                root_id=(parent.root_id or parent.stack_id) if parent else None,
            )
            stack.parameters = resolve_parameters(
                body.get("Parameters") or {}, merged, ssm_lookup=self._read_ssm_parameter
            )
            resolver = self._resolver(stack, body)
            self._create_resources(stack, body, resolver)
            stack.outputs = self._resolve_outputs(body, resolver)
        except TemplateError as error:
            raise error.located(file=template.path) from None
        except DeploymentError as error:
            if error.file is not None:
                raise
            raise DeploymentError(error.logical_id, error.resource_type, error.reason,
                                  file=template.path) from None
        return stack

    # --- resolution context ----------------------------------------------------------

    def _resolver(self, stack: DeployedStack, body: dict[str, Any]) -> Resolver:
        resources = body.get("Resources") or {}

        def resource_ref(name: str, path: str) -> Any:
            return self._created(stack, name, path).physical_id

        def resource_attribute(name: str, attribute: str, path: str) -> Any:
            resource = self._created(stack, name, path)
            if attribute in resource.attributes:
                return resource.attributes[attribute]
            if not resource.emulated:
                return f"windtunnel-not-emulated:{resource.resource_type}.{attribute}"
            raise UnresolvedReferenceError(
                f"Template error: resource {name} does not support attribute type "
                f"{attribute} in Fn::GetAtt",
                path=path,
            )

        return Resolver(
            parameters=stack.parameters,
            pseudo=pseudo_parameters(region=stack.region, account_id=stack.account_id,
                                     stack_name=stack.name, stack_id=stack.stack_id),
            mappings=body.get("Mappings") or {},
            condition_definitions=body.get("Conditions") or {},
            resource_ref=resource_ref,
            resource_attribute=resource_attribute,
            import_value=self.registry.import_value,
            resource_names=frozenset(resources),
        )

    def _created(self, stack: DeployedStack, name: str, path: str) -> DeployedResource:
        resource = stack.resources.get(name)
        if resource is None:
            # Only a resource whose Condition is false can be missing here.
            raise UnresolvedReferenceError(
                f"Template format error: Unresolved resource dependencies [{name}] in the "
                f"Resources block of the template (its Condition is false, so it is not "
                f"created)",
                path=path,
            )
        return resource

    def _read_ssm_parameter(self, name: str) -> str | None:
        client = self.cloud.client("ssm")
        try:
            value = client.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError:
            return None
        return str(value)

    # --- resources -------------------------------------------------------------------

    def _create_resources(self, stack: DeployedStack, body: dict[str, Any],
                          resolver: Resolver) -> None:
        resources = body.get("Resources")
        if not isinstance(resources, dict) or not resources:
            raise TemplateError(
                "Template format error: At least one Resources member must be defined.",
                path="Resources",
            )
        active = frozenset(
            logical_id for logical_id, resource in resources.items()
            if _is_active(logical_id, resource, resolver)
        )
        for logical_id in creation_order(resources, active):
            stack.resources[logical_id] = self._create_resource(
                stack, logical_id, resources[logical_id], resolver
            )

    def _create_resource(self, stack: DeployedStack, logical_id: str,
                         resource: dict[str, Any], resolver: Resolver) -> DeployedResource:
        resource_type = resource["Type"]
        path = f"Resources.{logical_id}.Properties"
        properties = resolver.resolve(resource.get("Properties") or {}, path)
        metadata = resolver.resolve(resource.get("Metadata") or {}, f"Resources.{logical_id}")
        now = datetime.datetime.now(datetime.UTC)

        if resource_type == _NESTED_STACK_TYPE:
            nested = self._create_nested_stack(stack, logical_id, properties)
            attributes = {f"Outputs.{output.key}": output.value for output in nested.outputs}
            return DeployedResource(logical_id, resource_type, nested.stack_id, attributes,
                                    properties, metadata, emulated=True, timestamp=now,
                                    nested_stack=nested)

        handler = handler_for(resource_type)
        if handler is None:
            return self._record_not_emulated(stack, logical_id, resource_type, properties,
                                             metadata, now)

        context = ResourceContext(
            stack_name=stack.name,
            stack_id=stack.stack_id,
            logical_id=logical_id,
            resource_type=resource_type,
            region=stack.region,
            account_id=stack.account_id,
            template_dir=stack.template.directory,
            metadata=metadata,
            client_factory=self.cloud.client,
            service_state=self.cloud.service_state,
        )
        try:
            provisioned = handler(context, properties)
        except ResourceCreationFailed as error:
            raise DeploymentError(logical_id, resource_type, error.reason) from None
        except ClientError as error:
            raise DeploymentError(logical_id, resource_type,
                                  _handler_message(error)) from None
        return DeployedResource(logical_id, resource_type, provisioned.physical_id,
                                provisioned.attributes, properties, metadata, emulated=True,
                                timestamp=now)

    def _record_not_emulated(self, stack: DeployedStack, logical_id: str, resource_type: str,
                             properties: dict[str, Any], metadata: dict[str, Any],
                             now: datetime.datetime) -> DeployedResource:
        if self.strict:
            raise UnsupportedFeatureError(
                f"resource type {resource_type} is not emulated (--strict is set)",
                path=f"Resources.{logical_id}",
            )
        if resource_type not in stack.not_emulated:
            stack.not_emulated.append(resource_type)
            logger.warning("stack %s: resource type %s is not emulated; %s is recorded only",
                           stack.name, resource_type, logical_id)
        physical_id = generate_physical_name(stack.name, logical_id, max_length=128)
        return DeployedResource(logical_id, resource_type, physical_id, {}, properties,
                                metadata, emulated=False, timestamp=now)

    def _create_nested_stack(self, parent: DeployedStack, logical_id: str,
                             properties: dict[str, Any]) -> DeployedStack:
        location = properties.get("TemplateURL")
        if not isinstance(location, str):
            raise DeploymentError(logical_id, _NESTED_STACK_TYPE,
                                  "Properties validation failed for resource with message: "
                                  "#: required key [TemplateURL] not found")
        template_path = _local_template_path(location, parent.template.directory)
        if template_path is None:
            raise UnsupportedFeatureError(
                f"nested stack template {location!r} is not a local file; windtunnel loads "
                f"nested stacks from local template files only",
                path=f"Resources.{logical_id}.Properties.TemplateURL",
            )
        if self._load_nested is None:
            raise UnsupportedFeatureError("nested stacks need a template loader",
                                          path=f"Resources.{logical_id}")
        nested_parameters = {key: _parameter_text(value)
                             for key, value in (properties.get("Parameters") or {}).items()}
        nested_template = self._load_nested(template_path, nested_parameters)
        # CloudFormation names nested stacks "{parent}-{logical ID}-{random suffix}".
        nested_name = generate_physical_name(parent.name, logical_id, max_length=128)
        return self._deploy(nested_template, stack_name=nested_name,
                            parameters=nested_parameters, parent=parent)

    # --- outputs ---------------------------------------------------------------------

    def _resolve_outputs(self, body: dict[str, Any], resolver: Resolver) -> list[StackOutput]:
        outputs = []
        for key, output in (body.get("Outputs") or {}).items():
            path = f"Outputs.{key}"
            if not isinstance(output, dict) or "Value" not in output:
                raise TemplateError(
                    f"Template format error: Every Outputs member must contain a Value object,"
                    f" the Outputs member {key} does not",
                    path=path,
                )
            if "Condition" in output and not resolver.condition(output["Condition"], path):
                continue
            value = resolver.resolve(output["Value"], f"{path}.Value")
            if value is NO_VALUE:
                continue
            export_name = None
            if "Export" in output:
                export_name = str(resolver.resolve(output["Export"].get("Name"),
                                                   f"{path}.Export.Name"))
            description = output.get("Description")
            outputs.append(StackOutput(
                key=key,
                value=value,
                local_value=localize_endpoints(value, self.cloud.endpoint_url),
                description=str(description) if description is not None else None,
                export_name=export_name,
            ))
        return outputs


def _check_sections(body: Any) -> None:
    if not isinstance(body, dict):
        raise TemplateError("Template format error: a template must be a JSON or YAML object")
    unknown = sorted(set(body) - _TEMPLATE_SECTIONS)
    if unknown:
        raise TemplateError(
            f"Template format error: Invalid template property or properties "
            f"[{', '.join(unknown)}]"
        )
    transforms = body.get("Transform") or []
    if isinstance(transforms, str):
        transforms = [transforms]
    for transform in transforms:
        if transform not in _SUPPORTED_TRANSFORMS:
            name = transform.get("Name") if isinstance(transform, dict) else transform
            raise UnsupportedFeatureError(f"the transform {name} is not supported",
                                          path="Transform")
    _check_resource_types(body.get("Resources") or {})
    for logical_id, resource in (body.get("Resources") or {}).items():
        path = f"Resources.{logical_id}"
        if logical_id.startswith("Fn::ForEach"):
            raise UnsupportedFeatureError("Fn::ForEach is not supported", path=path)
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateError(
                f"Template format error: [/Resources/{logical_id}] Every Resources object "
                f"must contain a Type member.",
                path=path,
            )
        extra = sorted(set(resource) - _RESOURCE_KEYS)
        if extra:
            raise TemplateError(
                f"Template format error: [/Resources/{logical_id}] Invalid template resource "
                f"property '{extra[0]}'",
                path=path,
            )


@functools.cache
def _known_resource_types() -> frozenset[str]:
    text = resources_package.files("windtunnel.deploy").joinpath(
        "resource_types.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def _check_resource_types(resources: dict[str, Any]) -> None:
    """Reject AWS resource types that do not exist, as CloudFormation does.

    Types outside the AWS:: namespace (custom resources, third-party registry types) are
    left to the not-emulated list, since any registry may publish them.
    """
    known = _known_resource_types()
    unknown = sorted({resource["Type"] for resource in resources.values()
                      if isinstance(resource, dict) and isinstance(resource.get("Type"), str)
                      and resource["Type"].startswith("AWS::")
                      and resource["Type"] not in known
                      and resource["Type"] not in _WINDTUNNEL_RESOURCE_TYPES})
    if not unknown:
        return
    hints = []
    lowered = {name.lower(): name for name in known}
    for name in unknown:
        match = lowered.get(name.lower()) or next(
            iter(difflib.get_close_matches(name, known, n=1, cutoff=0.8)), None)
        if match:
            hints.append(f"{name} -> did you mean {match}?")
    message = f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]"
    if hints:
        message += " (" + "; ".join(hints) + ")"
    raise TemplateError(message, path="Resources")


def _is_active(logical_id: str, resource: dict[str, Any], resolver: Resolver) -> bool:
    condition = resource.get("Condition")
    if condition is None:
        return True
    return resolver.condition(str(condition), f"Resources.{logical_id}.Condition")


def _stack_id(region: str, account_id: str, stack_name: str) -> str:
    # The UUID derives from the name, so a stack has the same ID on every load.
    stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"windtunnel:{account_id}:{region}:{stack_name}")
    return f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/{stack_uuid}"


def _local_template_path(location: str, directory: Path) -> Path | None:
    if location.startswith("file://"):
        location = location[len("file://"):]
    if "://" in location:
        return None
    path = Path(location)
    return path if path.is_absolute() else directory / path


def _parameter_text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# CloudFormation's handler error codes for the service errors that resource handlers meet:
# https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-test-contract-errors.html
def _handler_error_code(code: str) -> str:
    if "AlreadyExists" in code or code in ("ResourceInUseException", "EntityAlreadyExists",
                                           "BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
        return "AlreadyExists"
    if "NotFound" in code or code.startswith("NoSuch"):
        return "NotFound"
    if code in ("ValidationException", "ValidationError", "InvalidParameterValue",
                "InvalidParameterException", "InvalidRequestException", "MalformedPolicyDocument",
                "InvalidParameterValueException", "BadRequestException",
                "InvalidAttributeValue", "InvalidParameter", "MalformedPolicy",
                "InvalidArgument"):
        return "InvalidRequest"
    return "GeneralServiceException"


def _handler_message(error: ClientError) -> str:
    details = error.response.get("Error", {})
    metadata = error.response.get("ResponseMetadata", {})
    code = str(details.get("Code", "Unknown"))
    return (
        f'Resource handler returned message: "{details.get("Message", code)} '
        f'(Status Code: {metadata.get("HTTPStatusCode", 400)}, '
        f'Request ID: {metadata.get("RequestId", "")})" '
        f"(HandlerErrorCode: {_handler_error_code(code)})"
    )
