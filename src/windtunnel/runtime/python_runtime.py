"""What the Lambda Python runtime does around a handler: load it, call it, report errors.

The error types, messages and log lines follow AWS's runtime interface client for Python
(awslambdaric, ``bootstrap.py`` and ``lambda_runtime_marshaller.py``):
https://github.com/aws/aws-lambda-python-runtime-interface-client
"""

from __future__ import annotations

import decimal
import logging
import math
import sys
import time
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import simplejson

__all__ = [
    "HandlerFault",
    "error_payload",
    "format_error_log",
    "load_handler",
    "marshal_response",
    "unmarshal_event",
]

# Lines of a multi-line error log entry are joined with a carriage return and indented with
# no-break spaces, so that CloudWatch Logs keeps the entry as one event.
_ERROR_LINE_SEPARATOR = "\r"
_ERROR_INDENT = "\u00a0"
UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function "
    "code. However, in rare cases, a Lambda runtime update can cause unexpected function "
    "behavior. For functions using managed runtimes, runtime updates can be triggered by a "
    "function change, or can be applied automatically. To determine if the runtime has been "
    "updated, check the runtime version in the INIT_START log entry. If this error correlates "
    "with a change in the runtime version, you may be able to mitigate this error by "
    "temporarily rolling back to the previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)


@dataclass
class HandlerFault(Exception):
    """A failure that the runtime reports with its own error type (``Runtime.*``)."""

    error_type: str
    message: str
    stack_trace: list[str] | None = None


def load_handler(handler: str, importer: Any) -> Any:
    """Import the handler's module with ``importer`` and return the handler function.

    ``handler`` is ``module.function``, where the module part may use ``/`` for packages
    (``src/handlers.add_item``) and may contain dashes.
    """
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as error:
        raise HandlerFault("Runtime.MalformedHandlerName",
                           f"Bad handler '{handler}': {error}") from None

    if module_name.split(".")[0] in sys.builtin_module_names:
        raise HandlerFault("Runtime.BuiltInModuleConflict",
                           f"Cannot use built-in module {module_name} as a handler module")
    try:
        module: ModuleType = importer(module_name.replace("/", "."))
    except ImportError as error:
        raise HandlerFault("Runtime.ImportModuleError",
                           f"Unable to import module '{module_name}': {error}") from None
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise HandlerFault("Runtime.UserCodeSyntaxError",
                           f"Syntax error in module '{module_name}': {error}", trace) from None

    try:
        return getattr(module, function_name)
    except AttributeError:
        raise HandlerFault("Runtime.HandlerNotFound",
                           f"Handler '{function_name}' missing on module '{module_name}'",
                           ) from None


def unmarshal_event(payload: bytes) -> Any:
    """Decode the event as the runtime does; invalid JSON is ``Runtime.UnmarshalError``."""
    try:
        return simplejson.loads(payload) if payload else {}
    except Exception as error:
        raise HandlerFault("Runtime.UnmarshalError",
                           f"Unable to unmarshal input: {error}") from None


class _Encoder(simplejson.JSONEncoder):
    """The runtime's encoder: Decimal values keep their digits; NaN becomes NaN."""

    def __init__(self) -> None:
        # The Python 3.12 and later runtimes write non-ASCII characters as they are.
        super().__init__(use_decimal=False, ensure_ascii=sys.version_info < (3, 12))

    def default(self, value: Any) -> Any:
        if isinstance(value, decimal.Decimal):
            if value.is_nan():
                return math.nan
            return simplejson.RawJSON(str(value))
        return super().default(value)


# Encoding keeps no state between calls, so one encoder serves every thread.
_ENCODER = _Encoder()


def marshal_response(response: Any) -> bytes:
    """Encode a handler's return value as the runtime does (bytes pass through)."""
    if isinstance(response, bytes):
        return response
    try:
        encoded: str = _ENCODER.encode(response)
        return encoded.encode("utf-8")
    except Exception as error:
        raise HandlerFault("Runtime.MarshalError",
                           f"Unable to marshal response: {error}") from None


def error_payload(error_type: str, message: str, stack_trace: list[str] | None,
                  request_id: str) -> dict[str, Any]:
    """Build the error document that Invoke returns for a failed function."""
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": stack_trace or [],
    }


def exception_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """Build the error document for an exception the handler raised."""
    frames = traceback.extract_tb(error.__traceback__)
    # Drop windtunnel's own frames above the handler, as the runtime drops its bootstrap.
    while frames and "/windtunnel/runtime/" in frames[0].filename:
        frames.pop(0)
    return error_payload(type(error).__name__, str(error), traceback.format_list(frames),
                         request_id)


def format_error_log(payload: dict[str, Any]) -> str:
    """Render an error document as the runtime's ``[ERROR]`` log entry."""
    description = "[ERROR]"
    if payload.get("errorType"):
        description += " " + payload["errorType"]
    if payload.get("errorMessage"):
        if payload.get("errorType"):
            description += ":"
        description += " " + payload["errorMessage"]
    lines = [description]
    stack_trace = payload.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            for line in element.splitlines() or [""]:
                stripped = line.lstrip(" ")
                lines.append(_ERROR_INDENT * (len(line) - len(stripped)) + stripped)
    return _ERROR_LINE_SEPARATOR.join(lines) + "\n"


class RuntimeLogFormatter(logging.Formatter):
    """The runtime's format for the root logger: level, UTC time, request ID, message."""

    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t"
                         "%(message)s\n", "%Y-%m-%dT%H:%M:%S")
