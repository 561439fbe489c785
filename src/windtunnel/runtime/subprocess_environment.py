"""One execution environment in a child process that speaks the Lambda Runtime API.

The child runs :mod:`windtunnel.runtime.bootstrap`, which loads the handler and polls
this environment's :class:`RuntimeApiServer` for invocations. A separate process makes
isolation real (its own modules, environment variables and crashes) and timeouts hard:
on a timeout the child's process group is killed. The interface is the one of the
in-process :class:`~windtunnel.runtime.environment.ExecutionEnvironment`.

The child's standard output and error are one pipe. The bootstrap ends each phase
(initialization, every invocation) with a marker on it, which splits the output into
one segment per phase.
"""

from __future__ import annotations

import atexit
import io
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from windtunnel.runtime.bootstrap import PHASE_END_MARKER
from windtunnel.runtime.environment import (
    INIT_TIMEOUT_SECONDS,
    FunctionConfig,
    Outcome,
    new_log_stream_name,
    new_trace_id,
    report_line,
    timeout_outcome,
)
from windtunnel.runtime.runtime_api import Invocation, RuntimeApiServer

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["SubprocessEnvironment", "stop_all_children"]

logger = logging.getLogger(__name__)

_BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# How long to wait for the output of a phase once the phase is over. The marker is
# written before the result is posted, so it normally arrives first. After a crash or a
# kill, the output ends when the pipe closes.
_OUTPUT_WAIT_SECONDS = 2.0

# Every child still running, by process ID, for the exit-time safety net.
_children: dict[int, subprocess.Popen[bytes]] = {}
_children_lock = threading.Lock()


class SubprocessEnvironment:
    """A child process with one initialized copy of a function, serving invocations
    through the Runtime API."""

    def __init__(self, config: FunctionConfig, cloud: Cloud,
                 variables: dict[str, str]) -> None:
        self.config = config
        self.cloud = cloud
        self.variables = variables
        self.log_stream_name = new_log_stream_name(config.version)
        self.variables["AWS_LAMBDA_LOG_STREAM_NAME"] = self.log_stream_name
        self.broken = False
        """True once the environment timed out or its runtime exited; it is not reused."""
        self.initialized = False
        self._lock = threading.Lock()
        self._current: Invocation | None = None
        self._exit_status: int | None = None
        self._init_reported = False
        self._output: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._output_ended = threading.Event()

        self._api = RuntimeApiServer().start()
        child_variables = dict(variables)
        child_variables["AWS_LAMBDA_RUNTIME_API"] = self._api.address
        child_variables["PYTHONPATH"] = os.pathsep.join(
            str(path) for path in (config.code_path, *config.layer_paths))
        self._spawned_at = time.perf_counter()
        # -P keeps the bootstrap's own directory (windtunnel/runtime) off sys.path, where
        # its modules would shadow the handler's (code.py, context.py...). The child gets
        # a session and process group of its own, so a kill reaches what it started.
        self._process = subprocess.Popen(
            [sys.executable, "-P", str(_BOOTSTRAP)],
            env=child_variables, cwd=config.code_path, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        with _children_lock:
            _children[self._process.pid] = self._process
        name = f"lambda-{config.function_name}"
        threading.Thread(target=self._read_output, name=f"{name}-output",
                         daemon=True).start()
        threading.Thread(target=self._wait_for_exit, name=f"{name}-exit",
                         daemon=True).start()
        logger.debug("started runtime process %d for %s", self._process.pid,
                     config.function_name)

    # --- called by the invoking thread -------------------------------------------------

    def invoke(self, event: bytes, *, request_id: str, invoked_arn: str,
               client_context: Any = None) -> Outcome:
        """Run one invocation and wait for it, at most the function's timeout."""
        log = io.StringIO()
        init_duration_ms = None
        if not self._init_reported:
            self._init_reported = True
            log.write(f"INIT_START Runtime Version: {self.config.runtime}\n")
            if not self._api.ready.wait(INIT_TIMEOUT_SECONDS):
                return self._time_out(request_id, time.monotonic() - INIT_TIMEOUT_SECONDS,
                                      log, initialized=False)
            init_duration_ms = self._init_duration_ms()
            self.initialized = True
            log.write(self._phase_output())
        log.write(f"START RequestId: {request_id} Version: {self.config.version}\n")

        started = time.perf_counter()
        started_monotonic = time.monotonic()
        payload, function_error = self._run(event, request_id, invoked_arn, client_context,
                                            log)
        if payload is None:
            return self._time_out(request_id, started_monotonic, log, initialized=True)
        duration_ms = (time.perf_counter() - started) * 1000

        log.write(f"END RequestId: {request_id}\n")
        # NOTE: Max Memory Used in this line is the peak of the test process, not of the
        # child process that ran the handler.
        log.write(report_line(request_id, duration_ms, self.config.memory_size,
                               init_duration_ms))
        return Outcome(payload=payload, function_error=function_error, log=log.getvalue(),
                       duration_ms=duration_ms, init_duration_ms=init_duration_ms)

    def stop(self) -> None:
        """Kill the child process and close the Runtime API."""
        self.broken = True
        self._api.stop()
        self._kill()

    # --- one invocation ----------------------------------------------------------------

    def _run(self, event: bytes, request_id: str, invoked_arn: str, client_context: Any,
             log: io.StringIO) -> tuple[bytes | None, str | None]:
        """Hand the invocation to the runtime and return its payload and function error;
        a payload of None means the invocation timed out."""
        if self._api.init_error is not None:
            # Lambda reports the initialization error as the invocation's error and starts
            # a new environment for the next one.
            self.broken = True
            return self._api.init_error, "Unhandled"

        deadline = time.time() + self.config.timeout
        invocation = Invocation(
            request_id=request_id, event=event, deadline_ms=int(deadline * 1000),
            invoked_arn=invoked_arn, trace_id=new_trace_id(),
            client_context=None if client_context is None else json.dumps(client_context))
        with self._lock:
            exited = self._exit_status is not None
            if not exited:
                self._current = invocation
                self._api.submit(invocation)
        if not exited and not invocation.done.wait(self.config.timeout):
            return None, None
        with self._lock:
            self._current = None

        output = self._phase_output()
        log.write(output)
        if invocation.response is not None:
            return invocation.response, None
        if invocation.error is not None:
            return invocation.error, "Unhandled"
        # The runtime exited before it posted a result; Lambda starts a new environment.
        self.broken = True
        return self._exit_error(request_id), "Unhandled"

    def _time_out(self, request_id: str, started: float, log: io.StringIO, *,
                  initialized: bool) -> Outcome:
        """Kill the child and return Lambda's timeout error, with what the handler printed
        before it."""
        self.broken = True
        self._kill()
        outcome = timeout_outcome(self.config, request_id, started)
        if not initialized:
            outcome.log = log.getvalue() + self._phase_output() + outcome.log
            return outcome
        # The timeout log repeats the START line, which ``log`` already ends with.
        _, after_start = outcome.log.split("\n", 1)
        outcome.log = log.getvalue() + self._phase_output() + after_start
        return outcome

    def _exit_error(self, request_id: str) -> bytes:
        # The exit watcher records the status before it wakes the invoking thread.
        status = self._exit_status
        assert status is not None
        if status >= 0:
            reason = f"exit status {status}"
        else:
            reason = f"signal: {(signal.strsignal(-status) or str(-status)).lower()}"
        return json.dumps({
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                            f"{reason}",
        }).encode()

    def _init_duration_ms(self) -> float:
        ready_at = self._api.ready_at or time.perf_counter()
        return (ready_at - self._spawned_at) * 1000

    def _phase_output(self) -> str:
        """Return the output of the phase that just ended, empty if it does not arrive."""
        try:
            if self._output_ended.is_set():
                segment = self._output.get_nowait()
            else:
                segment = self._output.get(timeout=_OUTPUT_WAIT_SECONDS)
        except queue.Empty:
            # Later segments would go to the wrong invocations; do not reuse this one.
            self.broken = True
            return ""
        return segment.decode("utf-8", errors="replace")

    # --- the child process -------------------------------------------------------------

    def _read_output(self) -> None:
        """Split the child's output at each marker into one segment per phase."""
        assert self._process.stdout is not None
        descriptor = self._process.stdout.fileno()
        buffer = bytearray()
        while True:
            try:
                chunk = os.read(descriptor, 65536)
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
            while (end := buffer.find(PHASE_END_MARKER)) >= 0:
                self._output.put(bytes(buffer[:end]))
                del buffer[:end + len(PHASE_END_MARKER)]
        # What came after the last marker: the output of a phase the child did not finish.
        self._output.put(bytes(buffer))
        self._output_ended.set()
        self._process.stdout.close()

    def _wait_for_exit(self) -> None:
        status = self._process.wait()
        with _children_lock:
            _children.pop(self._process.pid, None)
        with self._lock:
            self._exit_status = status
            invocation = self._current
        logger.debug("runtime process %d of %s exited with status %d", self._process.pid,
                     self.config.function_name, status)
        # Wake the threads that wait for initialization or for a result.
        self._api.ready.set()
        if invocation is not None:
            invocation.done.set()

    def _kill(self) -> None:
        _kill_process_group(self._process)
        if self._process.stdin is not None:
            self._process.stdin.close()


def _kill_process_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait()


def stop_all_children() -> None:
    """Kill every runtime process still running (registered to run at interpreter exit)."""
    with _children_lock:
        children = list(_children.values())
    for process in children:
        _kill_process_group(process)


atexit.register(stop_all_children)
