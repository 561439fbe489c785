"""One execution environment: a thread that initializes a function once and runs its
invocations one at a time, as a Lambda execution environment does.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import os
import queue
import sys
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from windtunnel.runtime import environ, http_interception, imports, streams, threads, transport
from windtunnel.runtime.context import LambdaContext
from windtunnel.runtime.python_runtime import (
    UNHANDLED_EXCEPTION_WARNING,
    HandlerFault,
    RuntimeLogFormatter,
    error_payload,
    exception_payload,
    format_error_log,
    load_handler,
    marshal_response,
    unmarshal_event,
)

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = [
    "INIT_TIMEOUT_SECONDS",
    "ExecutionEnvironment",
    "FunctionConfig",
    "Outcome",
    "new_log_stream_name",
    "new_trace_id",
    "report_line",
    "timeout_outcome",
]

logger = logging.getLogger(__name__)

# Lambda allows 10 seconds for an environment's initialization phase:
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib
INIT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class FunctionConfig:
    """The configuration an execution environment is created with (one function version)."""

    function_name: str
    function_arn: str
    version: str
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    code_path: Path
    layer_paths: tuple[Path, ...]
    environment: dict[str, str]
    role_arn: str
    region: str
    log_group_name: str
    reserved_concurrency: int | None = None


@dataclass
class Outcome:
    """The raw result of one invocation inside an environment."""

    payload: bytes
    function_error: str | None
    log: str
    duration_ms: float
    init_duration_ms: float | None = None
    timed_out: bool = False


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Job:
    event: bytes
    request_id: str
    invoked_arn: str
    trace_id: str
    client_context: Any
    # Held until the environment finishes the job. A bare lock is the cheapest way for one
    # thread to wake another, and warm invocations pay for two such wake-ups.
    done: threading.Lock = field(default_factory=_held_lock)
    handler_started: threading.Event | None = None
    """Set when the handler starts; only a cold environment's caller waits for it."""
    outcome: Outcome | None = None


_current_request_id: ContextVar[str] = ContextVar("windtunnel_request_id")


class _RequestIdFilter(logging.Filter):
    """Adds the current request ID to log records, as the runtime's root handler does."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id.get("")
        return True


class _InvocationLogHandler(logging.Handler):
    """The runtime's root-logger handler, active only inside an invocation."""

    def emit(self, record: logging.LogRecord) -> None:
        if _current_request_id.get(None) is None:
            return
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


_root_handler_lock = threading.Lock()
_root_handler_installed = False


def _install_root_handler() -> None:
    global _root_handler_installed
    with _root_handler_lock:
        if _root_handler_installed:
            return
        handler = _InvocationLogHandler()
        handler.setFormatter(RuntimeLogFormatter())
        handler.addFilter(_RequestIdFilter())
        logging.getLogger().addHandler(handler)
        _root_handler_installed = True


class ExecutionEnvironment:
    """A thread with one initialized copy of a function, which serves its invocations."""

    def __init__(self, config: FunctionConfig, cloud: Cloud,
                 variables: dict[str, str]) -> None:
        self.config = config
        self.cloud = cloud
        self.variables = variables
        self.log_stream_name = new_log_stream_name(config.version)
        self.variables["AWS_LAMBDA_LOG_STREAM_NAME"] = self.log_stream_name
        self.modules = imports.ModuleSpace([config.code_path, *config.layer_paths])
        self.broken = False
        """True once the environment timed out or its runtime exited; it is not reused."""
        self.initialized = False
        self._handler: Any = None
        self._init_fault: HandlerFault | None = None
        self._init_log = ""
        self._init_duration_ms: float | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve,
                                        name=f"lambda-{config.function_name}", daemon=True)
        environ.install()
        streams.install()
        transport.install()
        threads.install()
        http_interception.install()
        _install_root_handler()
        self._thread.start()

    # --- called by the invoking thread -------------------------------------------------

    def invoke(self, event: bytes, *, request_id: str, invoked_arn: str,
               client_context: Any = None) -> Outcome:
        """Run one invocation and wait for it, at most the function's timeout."""
        streams.install()
        transport.install()
        job = _Job(event=event, request_id=request_id, invoked_arn=invoked_arn,
                   trace_id=new_trace_id(), client_context=client_context,
                   handler_started=None if self.initialized else threading.Event())
        self._jobs.put(job)
        if job.handler_started is not None:
            # The timeout counts from the handler's start; initialization has its own limit.
            job.handler_started.wait(INIT_TIMEOUT_SECONDS)
        started = time.monotonic()
        if not job.done.acquire(timeout=self.config.timeout):
            self.broken = True
            return timeout_outcome(self.config, request_id, started)
        assert job.outcome is not None
        return job.outcome

    def stop(self) -> None:
        """Let the environment's thread end after its current invocation."""
        self._jobs.put(None)

    # --- the environment's own thread --------------------------------------------------

    def _serve(self) -> None:
        # Context variables set here hold for every invocation this thread runs.
        environ_token = environ._current.set(self.variables)
        transport_token = transport.enter_cloud(self.cloud)
        space_token = imports._current_space.set(self.modules)
        session_token = transport.use_own_default_session()
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                job.outcome = self._run(job)
                job.done.release()
        finally:
            transport._environment_session.reset(session_token)
            imports._current_space.reset(space_token)
            transport._current_cloud.reset(transport_token)
            environ._current.reset(environ_token)

    def _initialize(self) -> None:
        log = io.StringIO()
        token = streams.capture_output(log)
        started = time.perf_counter()
        try:
            self._handler = load_handler(self.config.handler, self.modules.import_module)
        except HandlerFault as fault:
            self._init_fault = fault
        except Exception as error:
            payload = exception_payload(error, "")
            self._init_fault = HandlerFault(payload["errorType"], payload["errorMessage"],
                                            payload["stackTrace"])
        finally:
            streams.release_output(token)
        self._init_duration_ms = (time.perf_counter() - started) * 1000
        self._init_log = log.getvalue()
        self.initialized = True

    def _run(self, job: _Job) -> Outcome:
        cold = not self.initialized
        if cold:
            self._initialize()
        log = io.StringIO()
        if cold:
            log.write(f"INIT_START Runtime Version: {self.config.runtime}\n")
            log.write(self._init_log)
        log.write(f"START RequestId: {job.request_id} Version: {self.config.version}\n")

        self.variables["_X_AMZN_TRACE_ID"] = job.trace_id
        if job.handler_started is not None:
            job.handler_started.set()
        started = time.perf_counter()
        payload, function_error = self._call_handler(job, log)
        duration_ms = (time.perf_counter() - started) * 1000

        log.write(f"END RequestId: {job.request_id}\n")
        log.write(report_line(job.request_id, duration_ms, self.config.memory_size,
                               self._init_duration_ms if cold else None))
        return Outcome(payload=payload, function_error=function_error, log=log.getvalue(),
                       duration_ms=duration_ms,
                       init_duration_ms=self._init_duration_ms if cold else None)

    def _call_handler(self, job: _Job, log: io.StringIO) -> tuple[bytes, str | None]:
        if self._init_fault is not None:
            # An environment whose initialization failed reports it on every invocation,
            # and Lambda starts a new one for the next.
            self.broken = True
            payload = error_payload(self._init_fault.error_type, self._init_fault.message,
                                    self._init_fault.stack_trace, "")
            log.write(UNHANDLED_EXCEPTION_WARNING + "\n")
            log.write(format_error_log(payload))
            return _json(payload), "Unhandled"

        context = LambdaContext(
            function_name=self.config.function_name,
            function_version=self.config.version,
            invoked_function_arn=job.invoked_arn,
            memory_limit_in_mb=self.config.memory_size,
            aws_request_id=job.request_id,
            log_group_name=self.config.log_group_name,
            log_stream_name=self.log_stream_name,
            timeout_seconds=self.config.timeout,
            client_context=job.client_context,
        )
        output_token = streams.capture_output(log)
        request_token = _current_request_id.set(job.request_id)
        try:
            event = unmarshal_event(job.event)
            result = self._handler(event, context)
            return marshal_response(result), None
        except HandlerFault as fault:
            payload = error_payload(fault.error_type, fault.message, fault.stack_trace,
                                    job.request_id)
        except SystemExit as error:
            # The runtime process exits; Lambda reports it and starts a new environment.
            self.broken = True
            payload = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {job.request_id} Error: Runtime exited with "
                                f"error: exit status {error.code if error.code else 0}",
            }
            return _json(payload), "Unhandled"
        except Exception as error:
            payload = exception_payload(error, job.request_id)
        finally:
            _current_request_id.reset(request_token)
            streams.release_output(output_token)
        log.write(format_error_log(payload))
        return _json(payload), "Unhandled"


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def report_line(request_id: str, duration_ms: float, memory_size: int,
                 init_duration_ms: float | None) -> str:
    """Build the REPORT line. Format:
    https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html
    """
    billed = max(int(-(-duration_ms // 1)), 1)
    line = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {memory_size} MB\t"
            f"Max Memory Used: {_memory_used_mb(memory_size)} MB\t")
    if init_duration_ms is not None:
        line += f"Init Duration: {init_duration_ms:.2f} ms\t"
    return line + "\n"


def _memory_used_mb(memory_size: int) -> int:
    # NOTE: in process, memory is shared with everything else in the test process. So this
    # reports the process's peak resident size, capped at the function's memory size.
    import resource

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return min(int(peak_kb / 1024), memory_size)


def timeout_outcome(config: FunctionConfig, request_id: str, started: float) -> Outcome:
    """The error Lambda returns for a timeout, with the log line it writes."""
    seconds = config.timeout
    payload = {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                        f"{seconds:.2f} seconds",
    }
    now = datetime.datetime.now(datetime.UTC)
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    duration_ms = (time.monotonic() - started) * 1000
    log = (f"START RequestId: {request_id} Version: {config.version}\n"
           f"{timestamp} {request_id} Task timed out after {seconds:.2f} seconds\n"
           f"END RequestId: {request_id}\n"
           + report_line(request_id, duration_ms, config.memory_size, None))
    return Outcome(payload=_json(payload), function_error="Unhandled", log=log,
                   duration_ms=duration_ms, timed_out=True)


def new_log_stream_name(version: str) -> str:
    """Return a log stream name in Lambda's pattern: ``YYYY/MM/DD/[version]{32 hex}``."""
    today = datetime.datetime.now(datetime.UTC).strftime("%Y/%m/%d")
    return f"{today}/[{version}]{uuid.uuid4().hex}"


def new_trace_id() -> str:
    """Return an X-Ray trace header: ``Root=1-{8 hex epoch seconds}-{24 hex};...``."""
    random = os.urandom(24).hex()
    return (f"Root=1-{int(time.time()):08x}-{random[:24]};Parent={random[24:40]};"
            f"Sampled=0;Lineage=1:{random[40:48]}:0")
