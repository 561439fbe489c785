"""Lambda's Invoke operation, answered by running the function in process.

Every other Lambda operation (CreateFunction, GetFunction, PublishVersion, aliases,
concurrency, event source mappings...) is moto's; after one that changes a function, its
execution environments are discarded so the next invocation starts cold with the new
configuration, as Lambda does.
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html

Limitations:
    Response streaming (InvokeWithResponseStream) is not emulated.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, unquote, urlsplit

from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.cloud.protocols import AwsError
from windtunnel.runtime.functions import LambdaRuntime, tail_log

__all__ = ["LambdaProvider"]

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_INVOKE_ASYNC_PATH = re.compile(r"^/2014-11-13/functions/(?P<name>[^/]+)/invoke-async/?$")
_FUNCTION_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/functions/(?P<name>[^/]+)")
_CHANGING_METHODS = ("POST", "PUT", "DELETE", "PATCH")


class LambdaProvider:
    """Runs invocations; lets moto answer every other Lambda request."""

    service = "lambda"

    def __init__(self, runtime: LambdaRuntime) -> None:
        self.runtime = runtime

    def handle(self, request: AwsRequest) -> AwsResponse | None:
        """Handle Invoke and InvokeAsync; return None for every other operation."""
        path = urlsplit(request.url).path
        match = _INVOKE_PATH.match(path)
        if match and request.method == "POST":
            return self.invoke(request, unquote(match.group("name")))
        match = _INVOKE_ASYNC_PATH.match(path)
        if match and request.method == "POST":
            self.runtime.invoke(unquote(match.group("name")), request.body,
                                invocation_type="Event")
            return AwsResponse(202, {"Content-Type": "application/json"}, b'{"Status": 202}')
        return None

    def invoke(self, request: AwsRequest, function: str) -> AwsResponse:
        """Invoke: run the function and return its payload with Lambda's headers."""
        query = parse_qs(urlsplit(request.url).query)
        qualifier = query.get("Qualifier", [None])[0]
        invocation_type = request.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        log_type = request.headers.get("X-Amz-Log-Type") or "None"
        client_context = _client_context(request.headers.get("X-Amz-Client-Context"))

        result = self.runtime.invoke(function, request.body, qualifier=qualifier,
                                     invocation_type=invocation_type,
                                     client_context=client_context)
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": result.request_id,
            "X-Amz-Executed-Version": result.executed_version,
        }
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if log_type == "Tail" and invocation_type == "RequestResponse":
            headers["X-Amz-Log-Result"] = tail_log(result.logs)
        return AwsResponse(result.status_code, headers, result.raw_payload)

    def after_request(self, request: AwsRequest, response: AwsResponse) -> None:
        """Discard a function's environments after a request that changed it."""
        if request.service != "lambda" or request.method not in _CHANGING_METHODS:
            return
        path = urlsplit(request.url).path
        if _INVOKE_PATH.match(path) or _INVOKE_ASYNC_PATH.match(path):
            return
        match = _FUNCTION_PATH.match(path)
        if match:
            name = unquote(match.group("name"))
            self.runtime.discard(name.split(":function:")[-1].split(":")[0])


def _client_context(header: str | None) -> object:
    if not header:
        return None
    try:
        import json

        return json.loads(base64.b64decode(header))
    except ValueError:
        raise AwsError("InvalidRequestContentException",
                       "Client context must be a valid Base64-encoded JSON object.") from None
