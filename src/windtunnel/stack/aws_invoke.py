"""Invocations on the AWS target: Lambda's Invoke API, or the handler run in this process.

A remote invocation calls Lambda's Invoke API with ``LogType=Tail``, which returns the
last 4 KB of the invocation's log, base64-encoded, in ``LogResult``:
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html

A local invocation runs the handler from the local checkout in this process, with the
deployed function's handler and environment variables (GetFunctionConfiguration) and
Lambda's reserved variables, so that breakpoints and coverage work while its AWS calls
reach the deployed resources:
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from windtunnel.runtime import environ, imports, streams, transport
from windtunnel.runtime.context import ClientContext, LambdaContext
from windtunnel.runtime.environment import new_log_stream_name, report_line
from windtunnel.runtime.python_runtime import (
    HandlerFault,
    error_payload,
    exception_payload,
    format_error_log,
    load_handler,
    marshal_response,
    unmarshal_event,
)
from windtunnel.runtime.result import InvocationResult
from windtunnel.stack.aws_errors import error_code

__all__ = ["DeployedFunction", "LocalRunner", "invoke_remote"]

logger = logging.getLogger(__name__)

# The REPORT line's numbers, as Lambda writes them:
# https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html
_DURATION = re.compile(r"\tDuration: ([\d.]+) ms")
_BILLED = re.compile(r"Billed Duration: (\d+) ms")
_INIT = re.compile(r"Init Duration: ([\d.]+) ms")

# Variables of this process that a locally run handler keeps, as the local target's
# execution environments keep them.
_INHERITED = ("PATH", "HOME", "TMPDIR", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
              "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "PYTHONPATH", "VIRTUAL_ENV")


def invoke_remote(lambda_client: Any, function_name: str, payload: bytes, *,
                  qualifier: str | None, invocation_type: str,
                  client_context: dict[str, Any] | None) -> InvocationResult:
    """Call Lambda's Invoke API and return its response as an :class:`InvocationResult`.

    Raises :class:`~windtunnel.stack.local.InvocationError` when Lambda rejects the call.
    """
    from windtunnel.stack.local import InvocationError

    request: dict[str, Any] = {"FunctionName": function_name, "Payload": payload,
                               "InvocationType": invocation_type}
    if invocation_type == "RequestResponse":
        request["LogType"] = "Tail"
    if qualifier is not None:
        request["Qualifier"] = qualifier
    if client_context is not None:
        request["ClientContext"] = base64.b64encode(
            json.dumps(client_context).encode()).decode()

    try:
        response = lambda_client.invoke(**request)
    except ClientError as error:
        metadata = error.response.get("ResponseMetadata", {})
        message = error.response.get("Error", {}).get("Message", "")
        raise InvocationError(error_code(error), message,
                              int(metadata.get("HTTPStatusCode", 400))) from None

    logs = ""
    if response.get("LogResult"):
        logs = base64.b64decode(response["LogResult"]).decode("utf-8", errors="replace")
    duration = _DURATION.search(logs)
    billed = _BILLED.search(logs)
    init = _INIT.search(logs)
    return InvocationResult(
        function_name=function_name,
        request_id=str(response.get("ResponseMetadata", {}).get("RequestId", "")),
        status_code=int(response["StatusCode"]),
        raw_payload=response["Payload"].read(),
        function_error=response.get("FunctionError"),
        logs=logs,
        duration_ms=float(duration.group(1)) if duration else 0.0,
        billed_duration_ms=int(billed.group(1)) if billed else 0,
        init_duration_ms=float(init.group(1)) if init else None,
        executed_version=str(response.get("ExecutedVersion", "$LATEST")),
        extra={"mode": "remote"},
    )


@dataclass(frozen=True)
class DeployedFunction:
    """What a local invocation takes from the deployed function and the local checkout."""

    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    environment: dict[str, str]
    code_path: Path
    region: str


class _LocalEnvironment:
    """One warm copy of a function's code in this process, with modules of its own."""

    def __init__(self, function: DeployedFunction) -> None:
        self.function = function
        self.modules = imports.ModuleSpace([function.code_path])
        self.log_stream_name = new_log_stream_name(function.version)
        self.handler: Any = None
        self.init_fault: HandlerFault | None = None


class LocalRunner:
    """Runs deployed functions' handlers in this process, one warm environment each."""

    def __init__(self) -> None:
        self._environments: dict[tuple[str, Path], _LocalEnvironment] = {}

    def invoke(self, function: DeployedFunction, payload: bytes,
               target_variables: dict[str, str],
               client_context: dict[str, Any] | None = None) -> InvocationResult:
        """Run one invocation of ``function`` in the calling thread and return its result.

        ``target_variables`` are the credentials, region and endpoint through which the
        handler's SDK calls reach the AWS target.
        """
        environ.install()
        streams.install()
        transport.install()

        key = (function.name, function.code_path)
        environment = self._environments.get(key)
        cold = environment is None
        if environment is None:
            environment = _LocalEnvironment(function)
            self._environments[key] = environment

        request_id = str(uuid.uuid4())
        variables = _variables(function, environment.log_stream_name, target_variables)
        log = io.StringIO()
        output_token = streams.capture_output(log)
        session_token = transport.use_own_default_session()
        try:
            with environ.use_environment(variables), imports.active_space(environment.modules):
                init_ms = _initialize(environment) if cold else None
                log.write(f"START RequestId: {request_id} Version: {function.version}\n")
                started = time.perf_counter()
                raw, function_error = _call(environment, payload, request_id, log,
                                            client_context)
                duration_ms = (time.perf_counter() - started) * 1000
        finally:
            transport._environment_session.reset(session_token)
            streams.release_output(output_token)

        log.write(f"END RequestId: {request_id}\n")
        log.write(report_line(request_id, duration_ms, function.memory_size, init_ms))
        if environment.init_fault is not None:
            # Lambda starts a new environment after a failed initialization.
            del self._environments[key]
        return InvocationResult(
            function_name=function.name, request_id=request_id, status_code=200,
            raw_payload=raw, function_error=function_error, logs=log.getvalue(),
            duration_ms=duration_ms, billed_duration_ms=max(1, round(duration_ms)),
            init_duration_ms=init_ms, executed_version=function.version,
            extra={"mode": "local"})


def _variables(function: DeployedFunction, log_stream_name: str,
               target_variables: dict[str, str]) -> dict[str, str]:
    variables = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    python_version = function.runtime.replace("python", "") or "3"
    variables.update({
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": function.handler,
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
        "LAMBDA_TASK_ROOT": str(function.code_path),
        "LAMBDA_RUNTIME_DIR": str(function.code_path),
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "PYTHON_VERSION": python_version,
    })
    variables.update(target_variables)
    # The function's own variables come last, as in Lambda, where reserved names are
    # rejected in them.
    variables.update(function.environment)
    return variables


def _initialize(environment: _LocalEnvironment) -> float:
    started = time.perf_counter()
    try:
        environment.handler = load_handler(environment.function.handler,
                                           environment.modules.import_module)
    except HandlerFault as fault:
        environment.init_fault = fault
    except Exception as error:
        payload = exception_payload(error, "")
        environment.init_fault = HandlerFault(payload["errorType"], payload["errorMessage"],
                                              payload["stackTrace"])
    return (time.perf_counter() - started) * 1000


def _call(environment: _LocalEnvironment, payload: bytes, request_id: str, log: io.StringIO,
          client_context: dict[str, Any] | None) -> tuple[bytes, str | None]:
    function = environment.function
    if environment.init_fault is not None:
        fault = environment.init_fault
        document = error_payload(fault.error_type, fault.message, fault.stack_trace, "")
        log.write(format_error_log(document))
        return json.dumps(document).encode(), "Unhandled"

    # NOTE: the function's timeout is not enforced here: the handler runs in the calling
    # thread until it returns, so that a debugger can stop in it.
    context = LambdaContext(
        function_name=function.name, function_version=function.version,
        invoked_function_arn=function.arn, memory_limit_in_mb=function.memory_size,
        aws_request_id=request_id, log_group_name=f"/aws/lambda/{function.name}",
        log_stream_name=environment.log_stream_name, timeout_seconds=function.timeout,
        client_context=_client_context(client_context),
    )
    try:
        event = unmarshal_event(payload)
        return marshal_response(environment.handler(event, context)), None
    except HandlerFault as fault:
        document = error_payload(fault.error_type, fault.message, fault.stack_trace,
                                 request_id)
    except Exception as error:
        document = exception_payload(error, request_id)
    log.write(format_error_log(document))
    return json.dumps(document).encode(), "Unhandled"


def _client_context(document: dict[str, Any] | None) -> ClientContext | None:
    """Build ``context.client_context`` from the document a client sends in Invoke."""
    if document is None:
        return None
    return ClientContext(client=document.get("client"), custom=document.get("custom"),
                         env=document.get("env"))
