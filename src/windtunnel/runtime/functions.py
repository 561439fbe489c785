"""Invoke functions: find their configuration, keep their execution environments, apply
Lambda's invocation rules (types, sizes, concurrency) and record what happened.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from windtunnel.clock import VirtualClock
from windtunnel.cloud.protocols import AwsError
from windtunnel.runtime.async_invocations import AsyncInvocations, keep_dead_letter_configs
from windtunnel.runtime.code import code_path_of, extract_package
from windtunnel.runtime.environment import ExecutionEnvironment, FunctionConfig, Outcome
from windtunnel.runtime.imports import iter_layer_paths
from windtunnel.runtime.result import InvocationResult
from windtunnel.runtime.subprocess_environment import SubprocessEnvironment

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["INVOCATION_TYPES", "ISOLATION_MODES", "Isolation", "LambdaRuntime"]

logger = logging.getLogger(__name__)

# Invocation payload quotas:
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
# Lambda's documented response limit is 6 MB; its error names the exact byte count.
_RESPONSE_LIMIT_MESSAGE = "Response payload size exceeded maximum allowed payload size " \
                          "(6291556 bytes)."
# The default concurrency quota of an account, which bounds unreserved functions.
ACCOUNT_CONCURRENCY = 1000
# LogType=Tail returns the last 4 KB of the invocation's log.
_TAIL_BYTES = 4 * 1024
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
_MAX_RECORDED = 1000
# The place handlers run in: a thread of this process, or a child process that speaks the
# Runtime API (isolated, with hard timeouts).
Isolation = Literal["thread", "process"]
ISOLATION_MODES: tuple[Isolation, ...] = ("thread", "process")
_Environment = ExecutionEnvironment | SubprocessEnvironment
_ROUTING_SEED = 7


@dataclass
class _Pool:
    """The execution environments of one function version."""

    config: FunctionConfig
    idle: list[_Environment] = field(default_factory=list)
    busy: int = 0

    @property
    def size(self) -> int:
        return len(self.idle) + self.busy


class LambdaRuntime:
    """Runs the functions of one cloud, in threads or in child processes.

    ``endpoint`` returns the URL where the cloud is served over HTTP, serving it first if
    nothing does yet; with ``isolation="process"`` it is called before each new execution
    environment, because handlers in a child process reach the cloud only over HTTP.
    Retries of asynchronous invocations are scheduled on ``clock``.
    """

    def __init__(self, cloud: Cloud, *, isolation: Isolation = "thread",
                 endpoint: Callable[[], str] | None = None,
                 clock: VirtualClock | None = None) -> None:
        if isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_MODES)}, "
                             f"not {isolation!r}")
        self.cloud = cloud
        self.isolation = isolation
        self._endpoint = endpoint
        self.invocations: deque[InvocationResult] = deque(maxlen=_MAX_RECORDED)
        self.listeners: list[Callable[[InvocationResult], None]] = []
        self._pools: dict[tuple[str, str], _Pool] = {}
        self._lock = threading.Lock()
        self._async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-async")
        self._pending: set[Future[InvocationResult | None]] = set()
        self._pending_lock = threading.Lock()
        # (log group, log stream, timestamp in milliseconds, log text) per invocation.
        self._unflushed_logs: list[tuple[str, str, int, str]] = []
        # Configurations by (function as named by the caller, qualifier); a request that
        # changes a function discards its entries.
        self._configs: dict[tuple[str, str | None], FunctionConfig] = {}
        # Weighted alias routing draws from a seeded source, so runs repeat exactly.
        self._random = random.Random(_ROUTING_SEED)
        keep_dead_letter_configs()
        self.async_invocations = AsyncInvocations(self, clock or VirtualClock())

    # --- invoking -----------------------------------------------------------------------

    def invoke(self, function: str, payload: bytes, *, qualifier: str | None = None,
               invocation_type: str = "RequestResponse", client_context: Any = None
               ) -> InvocationResult:
        """Invoke a function by name, ARN or partial ARN, as the Invoke API does."""
        if invocation_type not in INVOCATION_TYPES:
            raise AwsError("InvalidParameterValueException",
                           f"1 validation error detected: Value '{invocation_type}' at "
                           f"'invocationType' failed to satisfy constraint: Member must "
                           f"satisfy enum value set: [Event, RequestResponse, DryRun]")
        invoked_arn: str | None = None
        if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
            # An alias: the function gets the alias ARN, and a version is chosen per request.
            invoked_arn, qualifier = self._route_alias(function, qualifier)
        config = self._config(function, qualifier)
        invoked_arn = invoked_arn or (config.function_arn if qualifier is None else
                                      _qualified_arn(config.function_arn, qualifier))
        request_id = str(uuid.uuid4())

        if invocation_type == "DryRun":
            return InvocationResult(config.function_name, request_id, 204, b"",
                                    executed_version=config.version)
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            raise AwsError("RequestTooLargeException",
                           f"Request must be smaller than {limit} bytes for the "
                           f"InvokeFunction operation", status=413)
        _check_json(payload)

        if invocation_type == "Event":
            future = self._async.submit(self.async_invocations.first_attempt, config, payload,
                                        request_id, client_context, invoked_arn)
            with self._pending_lock:
                self._pending.add(future)
            future.add_done_callback(self._forget)
            return InvocationResult(config.function_name, request_id, 202, b"",
                                    executed_version=config.version)
        return self._run(config, payload, request_id, client_context, invoked_arn)

    def _run(self, config: FunctionConfig, payload: bytes, request_id: str,
             client_context: Any, invoked_arn: str) -> InvocationResult:
        environment = self._acquire(config)
        try:
            outcome = environment.invoke(payload, request_id=request_id,
                                         invoked_arn=invoked_arn,
                                         client_context=client_context)
        finally:
            self._release(config, environment)
        return self._record(config, request_id, outcome, environment.log_stream_name)

    def _record(self, config: FunctionConfig, request_id: str, outcome: Outcome,
                log_stream: str) -> InvocationResult:
        payload, function_error = outcome.payload, outcome.function_error
        if len(payload) > SYNC_PAYLOAD_LIMIT:
            payload = json.dumps({"errorMessage": _RESPONSE_LIMIT_MESSAGE,
                                  "errorType": "Function.ResponseSizeTooLarge"}).encode()
            function_error = "Unhandled"
        result = InvocationResult(
            function_name=config.function_name,
            request_id=request_id,
            status_code=200,
            raw_payload=payload,
            function_error=function_error,
            logs=outcome.log,
            duration_ms=outcome.duration_ms,
            billed_duration_ms=max(int(-(-outcome.duration_ms // 1)), 1),
            init_duration_ms=outcome.init_duration_ms,
            executed_version=config.version,
        )
        self.invocations.append(result)
        self._queue_log(config, outcome, log_stream)
        for listener in list(self.listeners):
            listener(result)
        return result

    def has_pending(self) -> bool:
        """Tell whether an asynchronous invocation is still running."""
        with self._pending_lock:
            return bool(self._pending)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every asynchronous invocation started so far has finished."""
        while True:
            with self._pending_lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                future.result(timeout=timeout)

    def _forget(self, future: Future[InvocationResult | None]) -> None:
        with self._pending_lock:
            self._pending.discard(future)
        if future.exception() is not None:
            logger.error("asynchronous invocation failed: %s", future.exception())

    # --- execution environments --------------------------------------------------------

    def _acquire(self, config: FunctionConfig) -> _Environment:
        key = (config.function_name, config.version)
        with self._lock:
            pool = self._pools.get(key)
            # Configurations are cached, so a new object means a changed configuration.
            if pool is None or pool.config is not config:
                if pool is not None:
                    _stop_all(pool)
                pool = self._pools[key] = _Pool(config)
            if pool.idle:
                environment = pool.idle.pop()
                pool.busy += 1
                return environment
            limit = config.reserved_concurrency
            if limit is not None and pool.size >= limit:
                raise AwsError("TooManyRequestsException", "Rate Exceeded.", status=429)
            if self._total_busy() >= ACCOUNT_CONCURRENCY:
                raise AwsError("TooManyRequestsException", "Rate Exceeded.", status=429)
            pool.busy += 1
        if self.isolation == "process":
            if self._endpoint is not None:
                self._endpoint()
            return SubprocessEnvironment(config, self.cloud, self._variables(config))
        return ExecutionEnvironment(config, self.cloud, self._variables(config))

    def _release(self, config: FunctionConfig, environment: _Environment) -> None:
        key = (config.function_name, config.version)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None or pool.config is not environment.config:
                environment.stop()
                return
            pool.busy -= 1
            if environment.broken:
                environment.stop()
            else:
                pool.idle.append(environment)

    def _total_busy(self) -> int:
        return sum(pool.busy for pool in self._pools.values())

    def discard(self, function_name: str | None = None) -> None:
        """Stop the environments of one function (or all), so the next invocation is cold
        and reads the function's configuration again."""
        with self._lock:
            for key in list(self._pools):
                if function_name is None or key[0] == function_name:
                    _stop_all(self._pools.pop(key))
            for config_key, config in list(self._configs.items()):
                if function_name is None or config.function_name == function_name:
                    del self._configs[config_key]

    def close(self) -> None:
        """Stop every idle execution environment, killing their child processes.

        An environment busy with an invocation stops when the invocation ends. The runtime
        stays usable: the next invocation starts a new environment.
        """
        self.discard()

    # --- configuration -----------------------------------------------------------------

    def _route_alias(self, function: str, alias: str) -> tuple[str, str]:
        """Return the alias ARN and the version this request runs, by the alias's weights.

        An alias with a routing configuration sends each request to an additional version
        with that version's weight, and to its primary version otherwise:
        https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html
        """
        client = self.cloud.client("lambda")
        try:
            configuration = client.get_alias(FunctionName=function, Name=alias)
        except ClientError as error:
            raise _aws_error(error) from None
        version = str(configuration["FunctionVersion"])
        weights = (configuration.get("RoutingConfig") or {}).get(
            "AdditionalVersionWeights") or {}
        draw = self._random.random()
        for additional, weight in weights.items():
            if draw < float(weight):
                version = str(additional)
                break
            draw -= float(weight)
        return str(configuration["AliasArn"]), version

    def forget_configurations(self) -> None:
        """Read every function's configuration again on its next invocation."""
        with self._lock:
            self._configs.clear()

    def _config(self, function: str, qualifier: str | None) -> FunctionConfig:
        cached = self._configs.get((function, qualifier))
        if cached is not None:
            return cached
        config = self._read_config(function, qualifier)
        _warn_about_python_version(config)
        with self._lock:
            self._configs[(function, qualifier)] = config
        return config

    def _read_config(self, function: str, qualifier: str | None) -> FunctionConfig:
        configuration, reserved = self._stored_configuration(function, qualifier)
        name = configuration["FunctionName"]
        logging_config = configuration.get("LoggingConfig") or {}
        return FunctionConfig(
            function_name=name,
            function_arn=configuration["FunctionArn"],
            version=configuration.get("Version", "$LATEST"),
            handler=configuration.get("Handler", ""),
            runtime=configuration.get("Runtime", ""),
            timeout=float(configuration.get("Timeout", 3)),
            memory_size=int(configuration.get("MemorySize", 128)),
            code_path=self._code_path(name),
            layer_paths=tuple(path for layer in configuration.get("Layers", [])
                              for path in self._layer_paths(layer["Arn"])),
            environment=dict((configuration.get("Environment") or {}).get("Variables", {})),
            role_arn=configuration.get("Role", ""),
            region=self.cloud.region,
            log_group_name=logging_config.get("LogGroup") or f"/aws/lambda/{name}",
            reserved_concurrency=reserved,
        )

    def _stored_configuration(self, function: str, qualifier: str | None
                              ) -> tuple[dict[str, Any], int | None]:
        """Return what GetFunctionConfiguration returns, and the reserved concurrency.

        Both are read from moto's Lambda model directly, which is what the API operations
        return, without serializing a request and a response: a cold start pays for it.
        """
        from moto.awslambda.models import lambda_backends
        from werkzeug.exceptions import HTTPException

        backend = lambda_backends[self.cloud.account_id][self.cloud.region]
        try:
            function_model = backend.get_function(function, qualifier)
        except HTTPException as error:
            code = getattr(error, "error_type", "ResourceNotFoundException")
            raise AwsError(code, getattr(error, "message", str(error)),
                           status=error.code or 404) from None
        reserved = function_model.reserved_concurrency
        return (function_model.get_configuration(),
                int(reserved) if reserved not in (None, "") else None)

    def _code_path(self, function_name: str) -> Path:
        registered = code_path_of(self.cloud.service_state, function_name)
        if registered is not None:
            return registered
        # A function created through the API: unpack the package moto stores.
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[self.cloud.account_id][self.cloud.region]
        function = backend.get_function(function_name)
        return extract_package(function.code_bytes)

    def _layer_paths(self, layer_arn: str) -> list[Path]:
        registered = code_path_of(self.cloud.service_state, layer_arn)
        if registered is None:
            # NOTE: layers published through the API (not from a template) are not unpacked
            # yet, so their modules are missing from the function's path.
            logger.warning("layer %s has no local content; it is left off the path",
                           layer_arn)
            return []
        return list(iter_layer_paths(registered))

    def _variables(self, config: FunctionConfig) -> dict[str, str]:
        from windtunnel.runtime.variables import environment_variables

        return environment_variables(config, self.cloud)

    # --- logs --------------------------------------------------------------------------

    def _queue_log(self, config: FunctionConfig, outcome: Outcome, log_stream: str) -> None:
        # Split into log events only when written: most invocations' logs are never read.
        with self._lock:
            self._unflushed_logs.append((config.log_group_name, log_stream,
                                         int(time.time() * 1000), outcome.log))

    def drop_unwritten_logs(self) -> None:
        """Forget logs not yet written to CloudWatch Logs."""
        with self._lock:
            self._unflushed_logs.clear()

    def flush_logs(self) -> None:
        """Write the invocations' logs to CloudWatch Logs (before anyone reads them)."""
        with self._lock:
            batches, self._unflushed_logs = self._unflushed_logs, []
        if not batches:
            return
        client = self.cloud.client("logs")
        for group, stream, timestamp, text in batches:
            events = [{"timestamp": timestamp, "message": line}
                      for line in text.splitlines() if line]
            for create, arguments in ((client.create_log_group, {"logGroupName": group}),
                                      (client.create_log_stream,
                                       {"logGroupName": group, "logStreamName": stream})):
                try:
                    create(**arguments)
                except ClientError as error:
                    if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                        raise
            if events:
                client.put_log_events(logGroupName=group, logStreamName=stream,
                                      logEvents=events)


_warned_runtimes: set[str] = set()


def _warn_about_python_version(config: FunctionConfig) -> None:
    """Say once per runtime when handlers run on another Python than their runtime's."""
    host = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if not config.runtime.startswith("python") or config.runtime == host or \
            config.runtime in _warned_runtimes:
        return
    _warned_runtimes.add(config.runtime)
    logger.warning("%s runs in process on this interpreter's %s, not %s; run the tests "
                   "with %s for an exact match", config.function_name, host, config.runtime,
                   config.runtime)


def _aws_error(error: ClientError) -> AwsError:
    """Pass on an error of Lambda's control plane (an unknown function, say) unchanged."""
    details = error.response["Error"]
    return AwsError(details.get("Code", "ResourceNotFoundException"), details.get("Message", ""),
                    status=error.response["ResponseMetadata"]["HTTPStatusCode"])


def _qualified_arn(function_arn: str, qualifier: str) -> str:
    unqualified = function_arn.split(":function:", 1)
    name = unqualified[1].split(":", 1)[0]
    return f"{unqualified[0]}:function:{name}:{qualifier}"


def _stop_all(pool: _Pool) -> None:
    for environment in pool.idle:
        environment.stop()
    pool.idle.clear()


def _check_json(payload: bytes) -> None:
    if not payload:
        return
    try:
        json.loads(payload)
    except ValueError as error:
        # Lambda's error for an event that is not JSON.
        raise AwsError("InvalidRequestContentException",
                       f"Could not parse request body into json: Could not parse payload "
                       f"into json: {error}") from None


def tail_log(logs: str) -> str:
    """Return the last 4 KB of an invocation's log, base64-encoded (``LogType=Tail``)."""
    return base64.b64encode(logs.encode()[-_TAIL_BYTES:]).decode()
