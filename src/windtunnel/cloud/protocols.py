"""Render responses and errors in the wire shape of each AWS protocol.

Shapes follow the protocol definitions that botocore's service models name
(``json``, ``query``, ``rest-json``, ``rest-xml``):
https://smithy.io/2.0/aws/protocols/index.html
"""

from __future__ import annotations

import datetime
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import botocore.session

from windtunnel.cloud.messages import AwsResponse

__all__ = ["AwsError", "protocol_of", "render_error", "render_query_response", "service_model"]

# Signing names whose botocore service name differs.
_SERVICE_NAMES = {
    "states": "stepfunctions",
    "monitoring": "cloudwatch",
    "email": "ses",
    "execute-api": "apigateway",
}


@dataclass
class AwsError(Exception):
    """An error that AWS would return: code, message, HTTP status and who is at fault."""

    code: str
    message: str
    status: int = 400
    sender_fault: bool = True

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def service_model(signing_name: str) -> Any:
    """Return botocore's model of the service that signs as ``signing_name``."""
    return _session().get_service_model(_SERVICE_NAMES.get(signing_name, signing_name))


def protocol_of(signing_name: str) -> str:
    """Return the wire protocol of a service, ``json`` when botocore does not know it."""
    try:
        return str(service_model(signing_name).metadata.get("protocol", "json"))
    except Exception:
        return "json"


def new_request_id() -> str:
    """Return a request ID in AWS's UUID form."""
    return str(uuid.uuid4())


def render_error(signing_name: str, error: AwsError) -> AwsResponse:
    """Render ``error`` as the service's protocol sends errors."""
    request_id = new_request_id()
    protocol = protocol_of(signing_name)
    if protocol in ("query", "ec2"):
        fault = "Sender" if error.sender_fault else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{_xml_namespace(signing_name)}">'
            f"<Error><Type>{fault}</Type><Code>{escape(error.code)}</Code>"
            f"<Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return AwsResponse(error.status, {"Content-Type": "text/xml",
                                          "x-amzn-RequestId": request_id}, body.encode())
    if protocol == "rest-xml":
        body = (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{escape(error.code)}</Code>"
            f"<Message>{escape(error.message)}</Message><RequestId>{request_id}</RequestId>"
            f"</Error>"
        )
        return AwsResponse(error.status, {"Content-Type": "application/xml",
                                          "x-amz-request-id": request_id}, body.encode())
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code}
    if protocol == "json":
        try:
            version = service_model(signing_name).metadata.get("jsonVersion", "1.0")
        except Exception:  # a service without a botocore model
            version = "1.0"
        headers["Content-Type"] = f"application/x-amz-json-{version}"
        payload = {"__type": error.code, "message": error.message}
    else:
        headers["Content-Type"] = "application/json"
        payload = {"message": error.message}
    return AwsResponse(error.status, headers, json.dumps(payload).encode())


def _xml_namespace(signing_name: str) -> str:
    try:
        model = service_model(signing_name)
        return str(model.metadata.get("xmlNamespace") or
                   f"http://{model.endpoint_prefix}.amazonaws.com/doc/{model.api_version}/")
    except Exception:
        return "https://aws.amazon.com/"


def render_query_response(signing_name: str, operation: str, data: dict[str, Any]) -> AwsResponse:
    """Serialize an operation's output in the query protocol's XML, by botocore's shape."""
    model = service_model(signing_name)
    operation_model = model.operation_model(operation)
    request_id = new_request_id()
    namespace = _xml_namespace(signing_name)
    result = ""
    output_shape = operation_model.output_shape
    if output_shape is not None:
        wrapper = output_shape.serialization.get("resultWrapper", f"{operation}Result")
        result = f"<{wrapper}>{_serialize_members(output_shape, data)}</{wrapper}>"
    body = (
        f'<{operation}Response xmlns="{namespace}">{result}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{operation}Response>"
    )
    return AwsResponse(200, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id},
                       body.encode())


def _serialize_members(shape: Any, data: dict[str, Any]) -> str:
    parts = []
    for name, member in shape.members.items():
        if name not in data or data[name] is None:
            continue
        tag = member.serialization.get("name", name)
        parts.append(_serialize(member, data[name], tag))
    return "".join(parts)


def _serialize(shape: Any, value: Any, tag: str) -> str:
    if shape.type_name == "structure":
        return f"<{tag}>{_serialize_members(shape, value)}</{tag}>"
    if shape.type_name == "list":
        member_tag = shape.member.serialization.get("name", "member")
        items = "".join(_serialize(shape.member, item, member_tag) for item in value)
        if shape.serialization.get("flattened"):
            return "".join(_serialize(shape.member, item, tag) for item in value)
        return f"<{tag}>{items}</{tag}>"
    if shape.type_name == "map":
        entries = "".join(
            f"<entry>{_serialize(shape.key, key, 'key')}{_serialize(shape.value, item, 'value')}"
            f"</entry>" for key, item in value.items()
        )
        return f"<{tag}>{entries}</{tag}>"
    if shape.type_name == "timestamp":
        return f"<{tag}>{_timestamp(value)}</{tag}>"
    if shape.type_name == "boolean":
        return f"<{tag}>{'true' if value else 'false'}</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        value = value.astimezone(datetime.UTC)
        text: str = value.strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{text}{value.microsecond // 1000:03d}Z"
    return str(value)
