"""The Stack API for the local target: an application loaded into the embedded cloud."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from windtunnel.clock import VirtualClock
from windtunnel.cloud.protocols import AwsError
from windtunnel.cloud.server import EndpointApp, EndpointServer
from windtunnel.deploy.model import DeployedStack
from windtunnel.errors import WindtunnelError
from windtunnel.iam.enforcement import IamMode
from windtunnel.runtime.functions import Isolation
from windtunnel.runtime.result import InvocationResult
from windtunnel.stack.appsync import StackAppSync
from windtunnel.stack.environment import Environment
from windtunnel.stack.events import StackEvents
from windtunnel.stack.graphql import StackGraphql
from windtunnel.stack.iam import StackIam
from windtunnel.stack.stepfunctions import StackStepFunctions

if TYPE_CHECKING:
    from windtunnel.stack.aws import AwsStack

__all__ = ["EmulatedStack", "InvocationError", "Stack"]


_API_TYPES = ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")


class InvocationError(WindtunnelError):
    """Lambda rejected an invocation (unknown function, throttling, payload too large).

    ``code``, ``message`` and ``status`` are the error Lambda's Invoke API returns.
    """

    def __init__(self, code: str, message: str, status: int) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{code}: {message}")


class Stack:
    """The seam that tests drive; :meth:`local` loads an application into the emulation."""

    @staticmethod
    def local(path: Path | str = ".", *, stack_name: str | None = None,
              stage: str | None = None, params: Mapping[str, str] | None = None,
              region: str | None = None, strict: bool = False,
              isolation: Isolation = "thread",
              iam: IamMode | str = IamMode.ENFORCE,
              sfn_mock_config: Path | str | None = None) -> EmulatedStack:
        """Load the application at ``path`` into a new embedded cloud.

        ``path`` is a template file or a directory holding serverless.yml, template.yaml or
        cdk.out. Use the result as a context manager, or call :meth:`EmulatedStack.close`.

        ``isolation`` chooses where handlers run. ``"thread"`` (the default) runs them in
        this process, which is fast and works with debuggers. ``"process"`` runs each
        execution environment in a child process that speaks the Lambda Runtime API, so
        a timeout kills the handler and a crash stays in its environment. Child processes
        reach the emulation over HTTP on a free port of 127.0.0.1.

        ``iam`` sets how the IAM policies of the application apply to the calls its
        functions make: ``"enforce"`` (the default) denies what AWS denies, ``"warn"``
        allows every call and records the denials for ``stack.iam.report()``, and ``"off"``
        checks nothing.

        ``sfn_mock_config`` is a Step Functions Local mock configuration file; executions
        started with ``#TestCaseName`` after the state machine ARN use its mocks. Without
        it, the file named by the ``SFN_MOCK_CONFIG`` environment variable is used.
        """
        environment = Environment(region=region, strict=strict, isolation=isolation,
                                  iam=iam, sfn_mock_config=sfn_mock_config)
        stacks = environment.load(path, stack_name=stack_name, stage=stage, parameters=params)
        if len(stacks) != 1:
            names = ", ".join(stack.name for stack in stacks)
            raise WindtunnelError(
                f"{path} defines {len(stacks)} stacks ({names}); Stack.local drives one. "
                f"Pass the directory or template of one stack.")
        return EmulatedStack(environment, stacks[0])

    @staticmethod
    def aws(stack_name: str, region: str | None = None, profile: str | None = None,
            endpoint_url: str | None = None, **options: Any) -> AwsStack:
        """Open a deployed stack on AWS, to drive it with the same calls as a local one.

        ``endpoint_url`` sends every call to another endpoint that speaks AWS's APIs. The
        other options (``code_root``, ``template``, ``capture``...) are those of
        :class:`~windtunnel.stack.aws.AwsStack`. Use the result as a context manager.
        """
        from windtunnel.stack.aws import AwsStack

        return AwsStack(stack_name, region=region, profile=profile,
                        endpoint_url=endpoint_url, **options)


class EmulatedStack:
    """One deployed stack in an embedded cloud, with the clients to drive it."""

    def __init__(self, environment: Environment, stack: DeployedStack) -> None:
        self.environment = environment
        self.deployed = stack
        self._server: EndpointServer | None = None
        self._http: httpx.Client | None = None
        self.iam = StackIam(environment, stack)
        """IAM enforcement: ``mode``, recorded ``decisions`` and ``report()``."""
        self.events = StackEvents(self)
        """Records of the events, messages and deliveries since the stack was loaded or
        reset: ``published()``, ``messages()``, ``delivered()`` and ``wait_for()``."""
        self.appsync = StackAppSync(self)
        """AppSync: ``evaluate()`` renders resolver mapping templates."""
        self.graphql = StackGraphql(self)
        """``stack.graphql(query, variables)`` sends a GraphQL request to the stack's
        AppSync API."""
        self.stepfunctions = StackStepFunctions(self)
        """State machines: ``execute()`` with mocks on virtual time, and ``coverage()``."""

    @property
    def name(self) -> str:
        """The stack name."""
        return self.deployed.name

    @property
    def outputs(self) -> dict[str, Any]:
        """The stack's outputs by key, with endpoint URLs that work locally."""
        return {output.key: output.local_value for output in self.deployed.outputs}

    def physical_id(self, logical_id: str) -> str:
        """Return the physical ID (what ``Ref`` gives) of a resource in the stack."""
        return self.deployed.physical_id(logical_id)

    def client(self, service: str, region: str | None = None) -> Any:
        """Return a boto3 client bound to the emulation, with administrator credentials."""
        return self.environment.cloud.client(service, region)

    def resource(self, service: str, region: str | None = None) -> Any:
        """Return a boto3 resource bound to the emulation, with administrator credentials."""
        return self.environment.cloud.resource(service, region)

    @property
    def http(self) -> httpx.Client:
        """An HTTP client for the stack's API (REST or HTTP API), in process.

        Paths are relative to the API's stage: ``stack.http.post("/u1/items", json=...)``.
        With several APIs in the stack, use :meth:`http_client`.
        """
        if self._http is None:
            self._http = self.http_client()
        return self._http

    def http_client(self, api: str | None = None, *, stage: str | None = None
                    ) -> httpx.Client:
        """Return an HTTP client for one API of the stack, by logical ID, and stage.

        Requests go through the same API Gateway emulation as requests to the endpoint's
        ``/_aws/execute-api/...`` URLs, without a socket.
        """
        api_id, api_stage = self._api(api, stage)
        base = f"{self.environment.cloud.endpoint_url}/_aws/execute-api/{api_id}"
        if api_stage and api_stage != "$default":
            base += f"/{api_stage}"
        transport = httpx.WSGITransport(app=EndpointApp(self.environment.cloud))
        return httpx.Client(transport=transport, base_url=base)

    def _api(self, api: str | None, stage: str | None) -> tuple[str, str | None]:
        resources = self.deployed.resources
        apis = [resource for resource in resources.values()
                if resource.resource_type in _API_TYPES]
        if api is not None:
            apis = [resource for resource in apis if resource.logical_id == api]
        if len(apis) != 1:
            names = ", ".join(resource.logical_id for resource in apis) or "none"
            if api is not None and not apis:
                names = ", ".join(resource.logical_id for resource in resources.values()
                                  if resource.resource_type in _API_TYPES) or "none"
                raise WindtunnelError(f"stack {self.name} has no API {api!r} (APIs: {names})")
            raise WindtunnelError(
                f"stack {self.name} has {len(apis)} APIs ({names}); choose one with "
                f"stack.http_client(api=LOGICAL_ID)")
        chosen = apis[0]
        if stage is not None:
            return chosen.physical_id, stage
        return chosen.physical_id, self._stage_of(chosen.physical_id, chosen.resource_type)

    def _stage_of(self, api_id: str, resource_type: str) -> str | None:
        stages = []
        for resource in self.deployed.resources.values():
            properties = resource.properties
            if resource.resource_type == "AWS::ApiGateway::Stage" and \
                    properties.get("RestApiId") == api_id:
                stages.append(str(properties.get("StageName")))
            elif resource.resource_type == "AWS::ApiGateway::Deployment" and \
                    properties.get("RestApiId") == api_id and properties.get("StageName"):
                stages.append(str(properties["StageName"]))
            elif resource.resource_type == "AWS::ApiGatewayV2::Stage" and \
                    properties.get("ApiId") == api_id:
                stages.append(str(properties.get("StageName")))
        if resource_type == "AWS::ApiGatewayV2::Api":
            # An HTTP API's $default stage serves at the root of the URL.
            return "$default" if "$default" in stages or not stages else stages[0]
        return stages[0] if stages else None

    def function_name(self, function: str) -> str:
        """Return the deployed name of a function given by logical ID, Framework key or name.

        ``function`` may be a logical ID (``AddItemLambdaFunction``), the key of a function
        in serverless.yml (``addItem``), a function name or an ARN.
        """
        resources = self.deployed.resources
        resource = resources.get(function)
        if resource is None and self.deployed.template.format == "serverless":
            from windtunnel.template.serverless.naming import lambda_logical_id

            resource = resources.get(lambda_logical_id(function))
        if resource is not None and resource.resource_type == "AWS::Lambda::Function":
            return resource.physical_id
        return function

    def invoke(self, function: str, event: Any = None, *, qualifier: str | None = None,
               invocation_type: str = "RequestResponse",
               client_context: dict[str, Any] | None = None) -> InvocationResult:
        """Invoke a function with ``event`` and return the result, logs and timing.

        ``event`` is any JSON-serializable value (or ``bytes`` of JSON). The function runs
        in process with its own environment variables, credentials and code, as Lambda
        runs it. A failure in the function is reported in the result, not raised (use
        ``result.raise_for_error()``).
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
        try:
            return self.environment.functions.invoke(
                self.function_name(function), payload, qualifier=qualifier,
                invocation_type=invocation_type, client_context=client_context)
        except AwsError as error:
            raise InvocationError(error.code, error.message, error.status) from None

    @property
    def invocations(self) -> list[InvocationResult]:
        """The invocations since the stack was loaded or last reset, oldest first."""
        return list(self.environment.functions.invocations)

    @property
    def clock(self) -> VirtualClock:
        """The stack's virtual clock: ``stack.clock.advance(300)`` runs what falls due."""
        return self.environment.clock

    def settle(self, timeout: float = 30.0) -> None:
        """Run the work that is due now and wait for every asynchronous invocation.

        Repeats until nothing is left, since an invocation may schedule more work.
        """
        functions = self.environment.functions
        while True:
            functions.settle(timeout)
            if self.environment.clock.run_due() == 0 and not functions.has_pending():
                return

    def reset(self) -> None:
        """Restore every service to its state right after the deployment, and forget the
        recorded events."""
        self.environment.reset()
        self.events.clear()

    def serve(self, port: int = 0, *, https: bool = False) -> str:
        """Serve the emulation on 127.0.0.1 and return the endpoint URL.

        With port 0 the system picks a free port. Outputs point at the served endpoint from
        then on. With ``https``, the endpoint speaks TLS with a certificate of windtunnel's
        local certificate authority, whose bundle ``windtunnel ca`` prints (``stack.http``
        calls the emulation in process, without TLS).
        """
        if self._server is None:
            context = None
            if https:
                from windtunnel.cloud.tls import CertificateAuthority

                context = CertificateAuthority().ensure().server_context()
            self._server = EndpointServer(self.environment.cloud, port=port,
                                          ssl_context=context).start()
            self.environment.set_endpoint_url(self._server.url)
        return self._server.url

    @property
    def ca_bundle(self) -> str:
        """The path of the local certificate authority's bundle (PEM), what ``windtunnel
        ca`` prints, for clients of the https endpoint: ``requests.get(url,
        verify=stack.ca_bundle)``. The authority is created on first use."""
        from windtunnel.cloud.tls import CertificateAuthority

        authority = CertificateAuthority()
        if not authority.bundle_path.is_file():
            authority.ensure()
        return str(authority.bundle_path)

    def close(self) -> None:
        """Stop serving, if :meth:`serve` was called, and stop the execution environments."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.environment.close()

    def __enter__(self) -> EmulatedStack:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
