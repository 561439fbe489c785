"""One embedded cloud with the stacks loaded into it: what ``windtunnel up`` serves."""

from __future__ import annotations

import functools
import gc
import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path

from windtunnel.clock import VirtualClock
from windtunnel.cloud.messages import AwsRequest
from windtunnel.cloud.moto_corrections import (
    set_lambda_invoker,
    set_rule_delivery_clock,
    set_rule_role_client,
)
from windtunnel.cloud.pipeline import Cloud
from windtunnel.cloud.s3_notifications import route_bucket_notifications, set_notification_clock
from windtunnel.cloud.server import EndpointServer
from windtunnel.cloud.state import BackendSnapshot
from windtunnel.constants import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from windtunnel.deploy.engine import Deployer
from windtunnel.deploy.model import DeployedStack
from windtunnel.deploy.outputs import localize_endpoints
from windtunnel.errors import TemplateError, WindtunnelError
from windtunnel.iam.enforcement import IamMode
from windtunnel.runtime.event_sources import EventSourcePollers
from windtunnel.runtime.functions import Isolation, LambdaRuntime
from windtunnel.services.apigateway.dataplane import ExecuteApiPlane
from windtunnel.services.appsync.dataplane import GraphqlPlane
from windtunnel.services.appsync.provider import AppSyncProvider
from windtunnel.services.appsync.realtime import RealtimePlane
from windtunnel.services.awslambda.provider import LambdaProvider
from windtunnel.services.cloudformation.models import StackRegistry
from windtunnel.services.cloudformation.provider import CloudFormationProvider
from windtunnel.services.cognito.oauth import TokenEndpoint
from windtunnel.services.events.provider import EventsProvider
from windtunnel.services.events.targets.delivery import cancel_pending_retries
from windtunnel.services.sns.fifo import set_sns_clock
from windtunnel.services.stepfunctions.coverage import (
    PROCESS_COVERAGE,
    PathCoverage,
    TeeRecorder,
)
from windtunnel.services.stepfunctions.engine import Engine as StepFunctionsEngine
from windtunnel.services.stepfunctions.mocks import MockConfig, find_mock_config
from windtunnel.services.stepfunctions.provider import StepFunctionsProvider
from windtunnel.template.loader import (
    check_stack_name,
    default_stack_name,
    load_application,
    load_template_file,
)
from windtunnel.template.model import Template

__all__ = ["Environment"]

logger = logging.getLogger(__name__)


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def check_region(region: str) -> str:
    """Return ``region`` if it is an AWS region name, else raise with an example."""
    if not _REGION.match(region) or region not in _known_regions():
        raise WindtunnelError(f"unknown region {region!r}: use an AWS region name such as "
                              f"us-east-1 or eu-west-1")
    return region


@functools.cache
def _known_regions() -> frozenset[str]:
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("lambda", partition_name=partition))
    return frozenset(regions)


def _exclude_loaded_objects_from_garbage_collection() -> None:
    """Move every object alive now out of the garbage collector's reach (``gc.freeze``).

    Loading an application leaves a large, long-lived heap: service models, moto's data and
    the snapshot. Each full collection would scan all of it again, which made the AWS calls
    of invocations about 1.5 times slower. Objects frozen here stay in memory even if they
    become garbage later, which for a test process is a small price.
    https://docs.python.org/3/library/gc.html#gc.freeze
    """
    gc.collect()
    gc.freeze()


class Environment:
    """An embedded cloud, the stacks deployed into it and a snapshot to reset them to."""

    def __init__(self, *, region: str | None = None, account_id: str = DEFAULT_ACCOUNT_ID,
                 endpoint_url: str | None = None, strict: bool = False,
                 isolation: Isolation = "thread",
                 iam: IamMode | str = IamMode.ENFORCE,
                 sfn_mock_config: Path | str | None = None) -> None:
        # Without an explicit region, the first application that names one (the Framework's
        # provider.region) sets it.
        if region is not None:
            check_region(region)
        self._region_chosen = region is not None
        self.cloud = Cloud(region=region or DEFAULT_REGION, account_id=account_id,
                           endpoint_url=endpoint_url, iam_mode=IamMode.parse(iam))
        self.registry = StackRegistry()
        self.cloud.register(CloudFormationProvider(self.registry))
        # True while something serves the cloud at its endpoint URL: the caller that
        # passed or set the URL, or the server started below for subprocess handlers.
        self._endpoint_served = endpoint_url is not None
        self._server: EndpointServer | None = None
        self._server_lock = threading.Lock()
        self.clock = VirtualClock()
        self.cloud.authorizer.clock = self.clock.now
        self.functions = LambdaRuntime(self.cloud, isolation=isolation,
                                       endpoint=self._serve_for_functions, clock=self.clock)
        lambda_provider = LambdaProvider(self.functions)
        self.cloud.register(lambda_provider)
        self.cloud.register(EventsProvider())
        self.cloud.add_side_effect(lambda_provider.after_request)
        self.cloud.add_before_dispatch(self._flush_logs_before_reading)
        set_lambda_invoker(self._invoke_asynchronously)
        set_rule_delivery_clock(self.clock)
        set_sns_clock(self.clock)
        route_bucket_notifications()
        set_notification_clock(self.clock.now)
        # Event source mappings poll on the virtual clock, which stack.settle() runs.
        self.event_sources = EventSourcePollers(self.cloud, self.functions, self.clock)
        self.coverage = PathCoverage()
        """States and transitions that executions took, for path coverage reports."""
        self.stepfunctions = StepFunctionsEngine(
            self.cloud, self.clock,
            recorder=TeeRecorder(self.coverage, PROCESS_COVERAGE.transitions))
        mock_path = find_mock_config(sfn_mock_config)
        if mock_path is not None:
            self.stepfunctions.mock_config = MockConfig.load(mock_path)
        self.cloud.register(StepFunctionsProvider(self.stepfunctions))
        # Rules call Step Functions and Kinesis targets as the target's role.
        set_rule_role_client(self.cloud.role_client)
        self.cloud.register(AppSyncProvider(now=self.clock.now,
                                            moto=self.cloud.dispatch_to_moto))
        self.cloud.register_data_plane(ExecuteApiPlane.plane,
                                       ExecuteApiPlane(self.cloud, self.functions))
        graphql = GraphqlPlane(self.cloud, now=self.clock.now)
        self.cloud.register_data_plane(GraphqlPlane.plane, graphql)
        realtime = RealtimePlane(graphql)
        self.cloud.register_websocket_plane(RealtimePlane.plane, realtime)
        self.cloud.register_data_plane(RealtimePlane.plane, realtime.answer_http)
        self.cloud.register_data_plane(TokenEndpoint.plane, TokenEndpoint(
            lambda: self.clock.now().timestamp(), self.cloud.account_id, self.cloud.region))
        self.deployer = Deployer(self.cloud, self.registry, load_nested=self._load_nested,
                                 strict=strict)
        self._snapshot: BackendSnapshot | None = None

    def load(self, path: Path | str, *, stack_name: str | None = None,
             stage: str | None = None,
             parameters: Mapping[str, str] | None = None) -> list[DeployedStack]:
        """Read the application at ``path`` and deploy each of its stacks."""
        templates = load_application(Path(path), stage=stage, region=self.cloud.region,
                                     parameters=parameters,
                                     ssm_lookup=self.deployer._read_ssm_parameter)
        stacks = []
        for template in templates:
            if template.region and not self._region_chosen:
                self.cloud.region = template.region
            self._region_chosen = True
            name = stack_name if stack_name and len(templates) == 1 else \
                default_stack_name(template)
            own_parameters = parameters
            if template.format == "serverless":
                # The Framework's parameters are ${param:...} values, already substituted.
                own_parameters = None
            elif len(templates) > 1:
                # A cloud assembly's stacks share the command line; each takes its own.
                declared = template.body.get("Parameters") or {}
                own_parameters = {key: value for key, value in (parameters or {}).items()
                                  if key in declared}
            stacks.append(self.deploy(template, stack_name=name, parameters=own_parameters))
        for stack in stacks:
            self._register_state_machines(stack)
        _exclude_loaded_objects_from_garbage_collection()
        return stacks

    def deploy(self, template: Template, *, stack_name: str,
               parameters: Mapping[str, str] | None = None) -> DeployedStack:
        """Deploy one template as a stack named ``stack_name``."""
        check_stack_name(stack_name)
        existing = self.registry.get(stack_name)
        if existing is not None:
            raise TemplateError(
                f"a stack named {stack_name} is loaded already (from "
                f"{existing.template.path}); give this application another name "
                f"(--stack-name, one per PATH, or stack_name= in Python)",
                file=template.path)
        stack = self.deployer.deploy(template, stack_name=stack_name, parameters=parameters)
        logger.info("deployed stack %s: %d resources", stack.name, len(stack.resources))
        self.snapshot()
        return stack

    def _register_state_machines(self, stack: DeployedStack) -> None:
        """Give the test run's path coverage every state machine, run or not."""
        for logical_id, resource in stack.resources.items():
            if resource.resource_type != "AWS::StepFunctions::StateMachine":
                continue
            machine = self.stepfunctions.state_machine_ref(resource.physical_id)
            PROCESS_COVERAGE.register(machine.name, machine.definition.text,
                                      f"{stack.name}/{logical_id}")
            # Mock configuration files may name the state machine by its logical ID.
            self.stepfunctions.name_aliases[machine.name] = [logical_id]

    def set_endpoint_url(self, endpoint_url: str) -> None:
        """Point outputs' endpoint URLs at ``endpoint_url`` (after choosing a port, say)."""
        self.cloud.endpoint_url = endpoint_url
        self._endpoint_served = True
        for stack in self.registry.stacks():
            for output in stack.outputs:
                output.local_value = localize_endpoints(output.value, endpoint_url)

    def close(self) -> None:
        """Stop the execution environments and the server started for their handlers."""
        self.event_sources.close()
        self.functions.close()
        with self._server_lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
            # Callers stop any server they started for this environment with it.
            self._endpoint_served = False

    def _serve_for_functions(self) -> str:
        """Return the endpoint URL for handlers in child processes, serving the cloud on a
        free port first when nothing serves it yet."""
        with self._server_lock:
            if not self._endpoint_served:
                self._server = EndpointServer(self.cloud, port=0).start()
                self.set_endpoint_url(self._server.url)
            return self.cloud.endpoint_url

    def snapshot(self) -> None:
        """Remember the current state of every service as the state to reset to."""
        self._snapshot = self.cloud.snapshot()

    def reset(self) -> None:
        """Restore every service to its state right after the last deployment (or snapshot).

        Pending asynchronous invocations finish first; execution environments stay warm,
        as module-level state in handlers survives between invocations in Lambda too.
        """
        self.functions.settle()
        self.functions.async_invocations.cancel_retries()
        cancel_pending_retries()
        self.event_sources.reset()
        self.stepfunctions.reset()
        # Logs not yet written would be written after the restore: drop them instead.
        self.functions.drop_unwritten_logs()
        self.functions.invocations.clear()
        if self._snapshot is not None:
            self.cloud.restore(self._snapshot)
            # Function configurations may have changed since the snapshot.
            self.functions.forget_configurations()

    def _invoke_asynchronously(self, function_arn: str, payload: bytes) -> None:
        self.functions.invoke(function_arn, payload, invocation_type="Event")

    def _flush_logs_before_reading(self, request: AwsRequest) -> None:
        if request.service == "logs":
            self.functions.flush_logs()

    def _load_nested(self, path: Path, parameters: Mapping[str, str]) -> Template:
        if path.name.endswith(".nested.template.json"):
            # A CDK nested stack: its assets are annotated the way the assembly's are.
            from windtunnel.template.cdk import read_nested_stack_template

            return read_nested_stack_template(path)
        return load_template_file(path, parameters=parameters, region=self.cloud.region)
