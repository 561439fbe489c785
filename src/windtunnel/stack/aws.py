"""The Stack API for the AWS target: a stack deployed by CloudFormation, driven with the
same calls as a local stack.

The stack is found by name with DescribeStacks, and its resources with ListStackResources
(nested stacks followed). Everything else goes through boto3 with the given profile,
region and endpoint URL. Features that need the emulation (the virtual clock, resetting
the stack's data, IAM decision records) raise :class:`NotSupportedOnAwsError` with a
message that says what to do instead.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import boto3
import httpx
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from windtunnel.constants import ENV_AWS_ENDPOINT_URL, ENV_AWS_REGION
from windtunnel.errors import WindtunnelError
from windtunnel.runtime.result import InvocationResult
from windtunnel.stack.aws_errors import (
    MissingOutputError,
    NotSupportedOnAwsError,
    StackNotFoundError,
    error_code,
    raise_for_sdk_error,
)
from windtunnel.stack.aws_events import DEFAULT_READY_TIMEOUT, AwsStackEvents
from windtunnel.stack.aws_http import SigV4, api_url_from_outputs, stage_url
from windtunnel.stack.aws_invoke import DeployedFunction, LocalRunner, invoke_remote

__all__ = ["AwsStack", "StackOutputs", "StackResource"]

logger = logging.getLogger(__name__)

_API_TYPES = ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")
_NESTED_STACK = "AWS::CloudFormation::Stack"


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack, as ListStackResources reports it."""

    logical_id: str
    physical_id: str
    resource_type: str
    stack_name: str
    """The stack that declares it: the stack itself or one of its nested stacks."""


class StackOutputs(dict[str, Any]):
    """The stack's outputs by key; a missing key raises :class:`MissingOutputError`."""

    stack_name = ""

    def __missing__(self, key: str) -> NoReturn:
        keys = ", ".join(sorted(self)) or "none"
        raise MissingOutputError(
            f"stack {self.stack_name} has no output {key!r} (outputs: {keys}). Add it to "
            f"the template's Outputs and deploy again, or check the stack name")


class AwsStack:
    """A deployed stack on AWS (or on an endpoint that speaks AWS's APIs), with the local
    stack's API where AWS allows it.

    Use it as a context manager: entering starts the event capture for ``stack.events``,
    leaving removes it.
    """

    def __init__(self, stack_name: str, *, region: str | None = None,
                 profile: str | None = None, endpoint_url: str | None = None,
                 session: boto3.session.Session | None = None,
                 code_root: Path | str | None = None, template: Path | str | None = None,
                 stage: str | None = None, params: dict[str, str] | None = None,
                 capture: bool = True,
                 capture_timeout: float = DEFAULT_READY_TIMEOUT) -> None:
        try:
            self.session = session or boto3.session.Session(profile_name=profile,
                                                            region_name=region)
        except BotoCoreError as error:
            raise_for_sdk_error(error, action="opening the AWS session", profile=profile,
                                region=region or "")
        self.profile = profile
        # boto3 reads AWS_DEFAULT_REGION; Lambda and newer SDKs set AWS_REGION.
        self.region: str = (region or self.session.region_name
                            or os.environ.get(ENV_AWS_REGION) or "")
        # boto3 clients honour AWS_ENDPOINT_URL themselves; the API URLs and locally run
        # handlers need it too.
        self.endpoint_url = endpoint_url or os.environ.get(ENV_AWS_ENDPOINT_URL) or None
        self.code_root = Path(code_root).resolve() if code_root is not None else None
        self.template = Path(template) if template is not None else None
        self._stage = stage
        self._params = dict(params or {})
        self._capture_enabled = capture
        self._capture_timeout = capture_timeout
        self._clients: dict[str, Any] = {}
        self._http: httpx.Client | None = None
        self._invocations: list[InvocationResult] = []
        self._runner = LocalRunner()
        self._code_paths: dict[str, Path] | None = None

        if not self.region:
            raise_for_sdk_error(NoRegionError(), action="opening the AWS session",
                                profile=profile, region="")
        self._description = self._describe(stack_name)
        self._resources = self._list_resources(stack_name)
        self.events = AwsStackEvents(self)
        """Events and topic messages received through the capture: ``published()``,
        ``messages(topic=...)`` and ``wait_for()``."""

    # --- discovery -----------------------------------------------------------------------

    def _call(self, action: str, call: Any, **arguments: Any) -> Any:
        try:
            return call(**arguments)
        except (BotoCoreError, ClientError) as error:
            raise_for_sdk_error(error, action=action, profile=self.profile,
                                region=self.region)

    def _describe(self, stack_name: str) -> dict[str, Any]:
        cloudformation = self.client("cloudformation")
        try:
            stacks = self._call("cloudformation:DescribeStacks",
                                cloudformation.describe_stacks, StackName=stack_name)
        except ClientError as error:
            if error_code(error) == "ValidationError" and "does not exist" in str(error):
                raise StackNotFoundError(
                    f"stack {stack_name} does not exist in region {self.region}"
                    f"{self._where()}. Deploy it first, or check the stack name and the "
                    f"region (region=, AWS_REGION or the profile's region)") from None
            raise
        description: dict[str, Any] = stacks["Stacks"][0]
        if description.get("StackStatus", "").endswith("_FAILED") or \
                description.get("StackStatus") == "DELETE_COMPLETE":
            logger.warning("stack %s is in state %s; tests may fail", stack_name,
                           description.get("StackStatus"))
        return description

    def _where(self) -> str:
        parts = []
        if self.profile:
            parts.append(f"profile {self.profile}")
        if self.endpoint_url:
            parts.append(f"endpoint {self.endpoint_url}")
        return f" ({', '.join(parts)})" if parts else ""

    def _list_resources(self, stack_name: str) -> list[StackResource]:
        """List the stack's resources, and those of its nested stacks, in that order."""
        cloudformation = self.client("cloudformation")
        resources: list[StackResource] = []
        pending = [stack_name]
        while pending:
            current = pending.pop(0)
            paginator = cloudformation.get_paginator("list_stack_resources")
            try:
                pages = list(paginator.paginate(StackName=current))
            except (BotoCoreError, ClientError) as error:
                raise_for_sdk_error(error, action="cloudformation:ListStackResources",
                                    profile=self.profile, region=self.region)
            for page in pages:
                for summary in page["StackResourceSummaries"]:
                    resource = StackResource(
                        logical_id=summary["LogicalResourceId"],
                        physical_id=summary.get("PhysicalResourceId", ""),
                        resource_type=summary["ResourceType"], stack_name=current)
                    resources.append(resource)
                    if resource.resource_type == _NESTED_STACK and resource.physical_id:
                        # The physical ID of a nested stack is its stack ID (an ARN).
                        pending.append(resource.physical_id)
        return resources

    @property
    def name(self) -> str:
        """The stack name."""
        return str(self._description["StackName"])

    @property
    def outputs(self) -> StackOutputs:
        """The stack's outputs by key, as DescribeStacks returned them on opening."""
        outputs = StackOutputs({output["OutputKey"]: output.get("OutputValue")
                                for output in self._description.get("Outputs", [])})
        outputs.stack_name = self.name
        return outputs

    @property
    def resources(self) -> list[StackResource]:
        """The resources of the stack and of its nested stacks."""
        return list(self._resources)

    def physical_id(self, logical_id: str) -> str:
        """Return the physical ID of a resource by logical ID; nested stacks are searched
        after the stack itself."""
        for resource in self._resources:
            if resource.logical_id == logical_id:
                return resource.physical_id
        raise WindtunnelError(
            f"stack {self.name} has no resource with logical ID {logical_id!r}, also not in "
            f"its nested stacks; the logical IDs are those of the deployed template")

    def _resource(self, logical_id: str) -> StackResource | None:
        for resource in self._resources:
            if resource.logical_id == logical_id:
                return resource
        return None

    def buses(self) -> list[str]:
        """Return the names of the event buses that the stack declares or has rules on."""
        names: list[str] = []
        for resource in self._resources:
            if resource.resource_type == "AWS::Events::EventBus":
                names.append(resource.physical_id.rsplit("/", 1)[-1])
            elif resource.resource_type == "AWS::Events::Rule":
                # A rule's physical ID is BUS|NAME on a custom bus and NAME on the default.
                bus, separator, _ = resource.physical_id.partition("|")
                names.append(bus.rsplit("/", 1)[-1] if separator else "default")
        return list(dict.fromkeys(names))

    def topics(self) -> list[str]:
        """Return the ARNs of the stack's SNS topics."""
        return [resource.physical_id for resource in self._resources
                if resource.resource_type == "AWS::SNS::Topic"]

    def bus_name(self, reference: str) -> str:
        """Return the name of a bus given by logical ID, name or ARN."""
        resource = self._resource(reference)
        if resource is not None and resource.resource_type == "AWS::Events::EventBus":
            reference = resource.physical_id
        return reference.rsplit("/", 1)[-1]

    def topic_arn(self, reference: str) -> str:
        """Return the ARN of a topic of the stack given by logical ID, name or ARN."""
        resource = self._resource(reference)
        if resource is not None and resource.resource_type == "AWS::SNS::Topic":
            return resource.physical_id
        for arn in self.topics():
            if reference in (arn, arn.rsplit(":", 1)[-1]):
                return arn
        return reference

    # --- clients -------------------------------------------------------------------------

    def client(self, service: str, region: str | None = None) -> Any:
        """Return a boto3 client with the stack's profile, region and endpoint URL."""
        key = f"{service}|{region or self.region}"
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=region or self.region, endpoint_url=self.endpoint_url)
        return self._clients[key]

    def resource(self, service: str, region: str | None = None) -> Any:
        """Return a boto3 resource with the stack's profile, region and endpoint URL."""
        return self.session.resource(service, region_name=region or self.region,
                                     endpoint_url=self.endpoint_url)

    @property
    def http(self) -> httpx.Client:
        """An HTTP client for the stack's one API, at the URL from the stack's outputs.

        Paths are relative to the stage: ``stack.http.post("/u1/items", json=...)``.
        """
        if self._http is None:
            self._http = self.http_client()
        return self._http

    def http_client(self, api: str | None = None, *, stage: str | None = None,
                    sign: bool = False) -> httpx.Client:
        """Return an HTTP client for one API of the stack (by logical ID) and stage.

        The base URL is the output that contains the API's invoke URL, or else the URL of
        the stage. With ``sign=True`` each request carries a SigV4 signature made with the
        stack's credentials, as methods with AWS_IAM authorization require.
        """
        api_id = self._api_id(api)
        base = None if stage is not None else api_url_from_outputs(self.outputs, api_id)
        if base is None:
            base = stage_url(api_id, stage if stage is not None else self._stage_of(api_id),
                             self.region, self.endpoint_url)
        auth = SigV4(self._credentials, self.region) if sign else None
        return httpx.Client(base_url=base, auth=auth, timeout=30.0)

    def _api_id(self, api: str | None) -> str:
        apis = [resource for resource in self._resources if resource.resource_type in _API_TYPES]
        every = ", ".join(resource.logical_id for resource in apis) or "none"
        if api is not None:
            apis = [resource for resource in apis if resource.logical_id == api]
            if not apis:
                raise WindtunnelError(f"stack {self.name} has no API {api!r} (APIs: {every})")
        if len(apis) != 1:
            raise WindtunnelError(
                f"stack {self.name} has {len(apis)} APIs ({every}); choose one with "
                f"stack.http_client(api=LOGICAL_ID)")
        return apis[0].physical_id

    def _stage_of(self, api_id: str) -> str | None:
        """Return the API's only stage from API Gateway, or None when it has several."""
        rest = any(resource.physical_id == api_id
                   and resource.resource_type == "AWS::ApiGateway::RestApi"
                   for resource in self._resources)
        if rest:
            stages = [item["stageName"] for item in self._call(
                "apigateway:GET", self.client("apigateway").get_stages,
                restApiId=api_id).get("item", [])]
        else:
            stages = [item["StageName"] for item in self._call(
                "apigateway:GET", self.client("apigatewayv2").get_stages,
                ApiId=api_id).get("Items", [])]
        if "$default" in stages:
            return "$default"
        if len(stages) == 1:
            return str(stages[0])
        raise WindtunnelError(
            f"the API {api_id} of stack {self.name} has {len(stages)} stages "
            f"({', '.join(stages) or 'none'}); choose one with stack.http_client(stage=...)")

    def _credentials(self) -> Any:
        credentials = self.session.get_credentials()
        if credentials is None:
            raise_for_sdk_error(NoCredentialsError(), action="signing the request",
                                profile=self.profile, region=self.region)
        return credentials.get_frozen_credentials()

    # --- invoking ------------------------------------------------------------------------

    def function_name(self, function: str) -> str:
        """Return the deployed name of a function given by logical ID, Framework key
        (``addItem``), name or ARN."""
        resource = self._resource(function)
        if resource is None:
            from windtunnel.template.serverless.naming import lambda_logical_id

            resource = self._resource(lambda_logical_id(function))
        if resource is not None and resource.resource_type == "AWS::Lambda::Function":
            return resource.physical_id
        return function

    def invoke(self, function: str, event: Any = None, *, mode: str = "remote",
               qualifier: str | None = None, invocation_type: str = "RequestResponse",
               client_context: dict[str, Any] | None = None) -> InvocationResult:
        """Invoke a function with ``event`` and return the result, as the local stack does.

        ``mode="remote"`` (the default) calls Lambda's Invoke API. ``mode="local"`` runs
        the handler from the local checkout in this process, with the deployed function's
        handler and environment variables, while its AWS calls reach this stack with the
        test's credentials (not the function's role).
        """
        if isinstance(event, bytes):
            payload = event
        else:
            try:
                payload = json.dumps({} if event is None else event).encode()
            except (TypeError, ValueError) as error:
                raise WindtunnelError(
                    f"the event for {function} is not JSON-serializable ({error}); Lambda "
                    f"accepts only JSON events") from None
        name = self.function_name(function)

        if mode == "remote":
            result = invoke_remote(self.client("lambda"), name, payload, qualifier=qualifier,
                                   invocation_type=invocation_type,
                                   client_context=client_context)
        elif mode == "local":
            result = self._runner.invoke(self._deployed_function(name, qualifier), payload,
                                         self._target_variables(), client_context)
        else:
            raise ValueError(f"mode must be \"remote\" or \"local\", not {mode!r}")
        self._invocations.append(result)
        return result

    def _deployed_function(self, name: str, qualifier: str | None) -> DeployedFunction:
        request: dict[str, Any] = {"FunctionName": name}
        if qualifier is not None:
            request["Qualifier"] = qualifier
        try:
            configuration = self.client("lambda").get_function_configuration(**request)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise WindtunnelError(
                    f"function {name} does not exist in stack {self.name} (region "
                    f"{self.region}); name it by logical ID, serverless.yml key or "
                    f"function name") from None
            raise_for_sdk_error(error, action="lambda:GetFunctionConfiguration",
                                profile=self.profile, region=self.region)
        runtime = str(configuration.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise WindtunnelError(
                f"function {name} has runtime {runtime or 'none (a container image)'}; "
                f"mode=\"local\" runs Python handlers only. Use mode=\"remote\"")
        return DeployedFunction(
            name=name, arn=configuration["FunctionArn"],
            version=str(configuration.get("Version", "$LATEST")),
            handler=configuration["Handler"], runtime=runtime,
            timeout=float(configuration.get("Timeout", 3)),
            memory_size=int(configuration.get("MemorySize", 128)),
            environment=dict(configuration.get("Environment", {}).get("Variables", {})),
            code_path=self._code_path(name), region=self.region)

    def _code_path(self, function_name: str) -> Path:
        """Return the local directory of a function's code: ``code_root``, or the path
        that the application's template gives for the function's logical ID."""
        if self.code_root is not None:
            return self.code_root
        if self._code_paths is None:
            self._code_paths = self._template_code_paths()
        for resource in self._resources:
            if resource.physical_id == function_name and \
                    resource.logical_id in self._code_paths:
                return self._code_paths[resource.logical_id]
        reason = (f"the template {self.template} gives no code path for it"
                  if self.template else "neither code_root= nor template= was given")
        raise WindtunnelError(
            f"mode=\"local\" needs the code of function {function_name}, but {reason}. "
            f"Pass code_root= (the directory the handler path starts from) or template= "
            f"(the application's serverless.yml, template.yaml or cdk.out)")

    def _template_code_paths(self) -> dict[str, Path]:
        if self.template is None:
            return {}
        from windtunnel.template.loader import load_application
        from windtunnel.template.model import CODE_PATH_METADATA

        paths: dict[str, Path] = {}
        templates = load_application(self.template, stage=self._stage, region=self.region,
                                     parameters=self._params)
        for template in templates:
            for logical_id, resource in template.body.get("Resources", {}).items():
                metadata = resource.get("Metadata") or {}
                if resource.get("Type") == "AWS::Lambda::Function" and \
                        CODE_PATH_METADATA in metadata:
                    paths[logical_id] = Path(metadata[CODE_PATH_METADATA])
        return paths

    def _target_variables(self) -> dict[str, str]:
        """Return the variables that send a locally run handler's SDK calls to the target."""
        credentials = self._credentials()
        variables = {
            "AWS_ACCESS_KEY_ID": credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        }
        if credentials.token:
            variables["AWS_SESSION_TOKEN"] = credentials.token
        if self.endpoint_url is not None:
            variables["AWS_ENDPOINT_URL"] = self.endpoint_url
        return variables

    @property
    def invocations(self) -> list[InvocationResult]:
        """The invocations made through this object, oldest first.

        Invocations by AWS itself (event source mappings, rule targets) are not listed.
        """
        return list(self._invocations)

    # --- what only the local target has --------------------------------------------------

    @property
    def clock(self) -> NoReturn:
        """Raise :class:`NotSupportedOnAwsError`: the AWS target cannot move time."""
        raise NotSupportedOnAwsError(
            "the AWS target cannot move time: stack.clock exists on the local target only, "
            "where waits, retries and visibility timeouts run on a virtual clock. Mark the "
            "test windtunnel_local_only, or wait in real time (stack.settle(timeout=...))")

    def reset(self) -> NoReturn:
        """Raise :class:`NotSupportedOnAwsError`: a deployed stack's data is not restored.

        The pytest plugin does not call it on the AWS target; it clears the captured events
        before each test instead.
        """
        raise NotSupportedOnAwsError(
            "the AWS target cannot reset a deployed stack: windtunnel does not delete data "
            "from deployed tables, queues or buckets. Give each test its own keys (a unique "
            "user ID), or mark the test windtunnel_local_only")

    @property
    def iam(self) -> NoReturn:
        """Raise :class:`NotSupportedOnAwsError`: AWS reports no IAM decisions to tests."""
        raise NotSupportedOnAwsError(
            "stack.iam is not available on the AWS target, which does not report IAM "
            "decisions to tests; AWS itself enforces the policies there")

    def serve(self, port: int = 0) -> NoReturn:
        """Raise :class:`NotSupportedOnAwsError`: the deployed stack is served by AWS."""
        raise NotSupportedOnAwsError(
            "stack.serve() is not available on the AWS target: AWS serves the deployed stack")

    def settle(self, timeout: float = 30.0, *, quiet: float = 2.0) -> None:
        """Wait until the event capture has received nothing for ``quiet`` seconds.

        AWS does not report the work still running in functions and queues, so this is a
        heuristic that observes only the events and topic messages reaching the capture.
        Raises TimeoutError when events still arrive after ``timeout`` seconds.
        """
        self.events.settle(timeout, quiet)

    # --- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the event capture and close the HTTP client."""
        try:
            self.events.stop()
        finally:
            if self._http is not None:
                self._http.close()
                self._http = None

    def __enter__(self) -> AwsStack:
        if self._capture_enabled:
            self.events.start(self._capture_timeout)
        return self

    def __exit__(self, error_type: type[BaseException] | None,
                 error: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()

