"""InvocationResult's summary of a failed invocation, as the server's log lines show it.

The error payload has ``errorType`` and ``errorMessage``, and the ``Unhandled`` function
error: https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
"""

from __future__ import annotations

from windtunnel import InvocationResult


def result(payload: bytes, function_error: str | None = "Unhandled") -> InvocationResult:
    return InvocationResult(function_name="orders", request_id="r-1", status_code=200,
                            raw_payload=payload, function_error=function_error)


def test_summary_names_type_and_message() -> None:
    """The summary joins the error payload's type and message."""
    failed = result(b'{"errorType": "Runtime.ImportModuleError", '
                    b'"errorMessage": "No module named \'fastjsonschema\'"}')

    assert failed.error_summary == \
        "Runtime.ImportModuleError: No module named 'fastjsonschema'"


def test_summary_of_payload_that_is_not_json() -> None:
    """A payload that is not JSON leaves the function error alone."""
    assert result(b"<html>").error_summary == "Unhandled"


def test_summary_empty_when_function_succeeded() -> None:
    """A successful invocation has no summary."""
    assert result(b'{"ok": true}', function_error=None).error_summary == ""
