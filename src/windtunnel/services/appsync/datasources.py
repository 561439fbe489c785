"""AppSync data sources: NONE, AWS_LAMBDA, AMAZON_DYNAMODB and HTTP, called with a request.

Each data source takes the request mapping document (the rendered request template, as
JSON) and returns the result that the response template reads as ``$ctx.result``, or
raises :class:`DataSourceError`, which the response template reads as ``$ctx.error``.
Calls to Lambda and DynamoDB are signed with the data source's service role, so the
role's IAM policies apply to them as in AWS. Sources:
https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-none.html
https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-lambda.html
https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-http.html

Limitations:
- A data source without ``serviceRoleArn`` calls Lambda and DynamoDB as the administrator.
- The trust policy of the service role is not checked for ``appsync.amazonaws.com``.
- HTTP data sources reach only loopback hosts (127.0.0.0/8, ::1, localhost), and the
  ``authorizationConfig`` of an HTTP data source (SigV4 signing) is not applied.
- Relational databases, OpenSearch and EventBridge data sources raise an error that names
  the type.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["DataSourceError", "DataSourceInvoker"]

logger = logging.getLogger(__name__)

# The timeout of an HTTP data source request, in seconds; AppSync documents no other.
_HTTP_TIMEOUT = 30.0


# The session name of the data sources' role sessions.
_SESSION_NAME = "APPSYNC_ASSUME_ROLE"


class DataSourceError(Exception):
    """A data source call that failed: ``$ctx.error`` has its message and type."""

    def __init__(self, message: str, error_type: str, data: object = None) -> None:
        self.message = message
        self.error_type = error_type
        self.data = data
        super().__init__(message)


class DataSourceInvoker:
    """Calls the data sources of the APIs in one cloud, with clients per service role."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def call(self, data_source: Mapping[str, Any], document: object) -> object:
        """Send a request mapping document to a data source and return its result."""
        kind = str(data_source.get("type", ""))
        if not isinstance(document, dict):
            raise DataSourceError("The request mapping template must be a JSON object.",
                                  "MappingTemplate")
        if kind == "NONE":
            # A NONE data source returns the payload of the request unchanged.
            return document.get("payload")
        if kind == "AWS_LAMBDA":
            return self._call_lambda(data_source, document)
        if kind == "AMAZON_DYNAMODB":
            from windtunnel.services.appsync.dynamodb import call_dynamodb

            return call_dynamodb(self.client("dynamodb", data_source), data_source, document)
        if kind == "HTTP":
            return _call_http(data_source, document)
        raise DataSourceError(f"Data sources of type {kind or 'unknown'} are not supported "
                              f"by the emulation (data source {data_source.get('name')}).",
                              "UnsupportedOperation")

    def client(self, service: str, data_source: Mapping[str, Any]) -> Any:
        """Return a client signed as the data source's service role (or the administrator)."""
        role = data_source.get("serviceRoleArn")
        role_arn = str(role) if role else None
        key = (service, role_arn)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._new_client(service, role_arn)
                self._clients[key] = client
        return client

    def _new_client(self, service: str, role_arn: str | None) -> Any:
        if role_arn is None:
            return self.cloud.client(service)
        return self.cloud.role_client(service, role_arn, _SESSION_NAME)

    def _call_lambda(self, data_source: Mapping[str, Any], document: dict[str, Any]) -> object:
        from botocore.exceptions import ClientError

        operation = document.get("operation", "Invoke")
        if operation not in ("Invoke", "BatchInvoke"):
            raise DataSourceError(f"Unsupported operation '{operation}' for a Lambda data "
                                  f"source.", "MappingTemplate")
        invocation_type = document.get("invocationType", "RequestResponse")
        if invocation_type not in ("RequestResponse", "Event"):
            raise DataSourceError(f"Unsupported invocationType '{invocation_type}'.",
                                  "MappingTemplate")
        config = data_source.get("lambdaConfig") or {}
        function_arn = str(config.get("lambdaFunctionArn", ""))
        payload = json.dumps(document.get("payload")).encode()

        try:
            response = self.client("lambda", data_source).invoke(
                FunctionName=function_arn, Payload=payload, InvocationType=invocation_type)
        except ClientError as error:
            details = error.response.get("Error", {})
            raise DataSourceError(str(details.get("Message", error)),
                                  f"Lambda:{details.get('Code', 'Unknown')}") from None
        body = response["Payload"].read()
        if invocation_type == "Event":
            # An asynchronous invocation has no result, so the response template reads null.
            return None
        result = json.loads(body) if body.strip() else None
        if response.get("FunctionError"):
            message = result.get("errorMessage") if isinstance(result, dict) else None
            # NOTE: the type is Lambda:Unhandled for every function error, as AppSync
            # reports unhandled errors; whether AppSync passes a function's own
            # errorType through is not documented.
            raise DataSourceError(str(message if message is not None else body.decode()),
                                  "Lambda:Unhandled")
        return result


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _call_http(data_source: Mapping[str, Any], document: dict[str, Any]) -> object:
    """Send the request of an HTTP resolver and return ``statusCode``, ``headers``, ``body``."""
    endpoint = str((data_source.get("httpConfig") or {}).get("endpoint", ""))
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if not _is_loopback(host):
        logger.warning("HTTP data source %s: request to %s not sent; windtunnel sends HTTP "
                       "data source requests only to 127.0.0.1 or localhost",
                       data_source.get("name"), host)
        raise DataSourceError(f"windtunnel sends HTTP data source requests only to 127.0.0.1 "
                              f"or localhost; the endpoint names the host {host!r}.",
                              "UnsupportedOperation")
    method = str(document.get("method", "GET")).upper()
    resource_path = str(document.get("resourcePath", "/"))
    params = document.get("params") or {}
    headers = {str(key): str(value) for key, value in (params.get("headers") or {}).items()}
    query = params.get("query") or {}
    target = (parts.path.rstrip("/") + resource_path) or "/"
    if query:
        target += "?" + "&".join(f"{quote(str(key), safe='')}={quote(str(value), safe='')}"
                                 for key, value in query.items())
    body = params.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)

    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        import ssl

        connection = http.client.HTTPSConnection(host, parts.port, timeout=_HTTP_TIMEOUT,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=_HTTP_TIMEOUT)
    try:
        connection.request(method, target, body=body.encode() if body else None,
                           headers=headers)
        response = connection.getresponse()
        content = response.read()
    except (OSError, http.client.HTTPException) as error:
        logger.warning("HTTP data source %s: %s %s failed: %s", data_source.get("name"),
                       method, target, error)
        raise DataSourceError(f"An error occurred while calling the HTTP endpoint: {error}",
                              "HTTP") from None
    finally:
        connection.close()
    return {"statusCode": response.status,
            "headers": dict(response.getheaders()),
            "body": content.decode("utf-8", errors="replace")}
