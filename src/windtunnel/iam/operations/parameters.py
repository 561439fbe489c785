"""Read an operation's request parameters back from the wire, for each AWS protocol.

The member names are those of botocore's service models, as the JSON protocols send them.
``awsJson`` bodies are read as they are. ``query`` parameters are unflattened
(``Tags.member.1.Key`` becomes ``{"Tags": [{"Key": ...}]}``). ``rest-json`` members come
from the URI template, the query string, headers and the JSON body, and Smithy RPC v2
CBOR bodies are decoded. S3's ``rest-xml`` requests are read in :mod:`.s3`.
https://smithy.io/2.0/aws/protocols/index.html
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from windtunnel.cloud.messages import AwsRequest
from windtunnel.cloud.protocols import protocol_of, service_model

__all__ = ["cbor_operation", "parameters_of"]

logger = logging.getLogger(__name__)

_URI_LABEL = re.compile(r"\{([^}]+)\}")
_CBOR_PATH = re.compile(r"/service/[^/]+/operation/([^/?]+)$")


def parameters_of(request: AwsRequest, operation: str) -> dict[str, Any]:
    """Return the request parameters of ``request``, by member name.

    A body that is not valid for the protocol gives no parameters: the service rejects
    such a request itself, and the checks then name the resources with wildcards.
    """
    protocol = _protocol(request.service)
    try:
        if protocol == "json" and _form_encoded(request):
            # Services that moved to JSON (SQS) still take the query protocol's
            # form-encoded requests, as API Gateway's AWS integrations send them.
            return unflatten(request.query_parameters())
        if protocol == "json":
            return _json_object(request.body)
        if protocol in ("query", "ec2"):
            return unflatten(request.query_parameters())
        if protocol == "rest-json":
            return _rest_parameters(request, operation)
        if protocol == "smithy-rpc-v2-cbor":
            return _body_parameters(request)
    except (ValueError, UnicodeDecodeError) as error:
        logger.debug("Unreadable %s %s request: %s", request.service, operation, error)
    return {}


def _form_encoded(request: AwsRequest) -> bool:
    content_type = str(request.headers.get("Content-Type", ""))
    if "x-www-form-urlencoded" in content_type:
        return True
    return "Action=" in urlsplit(request.url).query and not request.body


def cbor_operation(request: AwsRequest) -> str | None:
    """Return the operation of a Smithy RPC v2 request (``/service/S/operation/Op``)."""
    match = _CBOR_PATH.search(request.path)
    return match.group(1) if match else None


@functools.cache
def _protocol(signing_name: str) -> str:
    return protocol_of(signing_name)


def _body_parameters(request: AwsRequest) -> dict[str, Any]:
    # Botocore clients of services that offer several protocols pick awsJson, so the body
    # is JSON unless the request's headers name CBOR.
    content_type = str(request.headers.get("Content-Type", ""))
    if "cbor" in content_type or request.headers.get("smithy-protocol"):
        return _cbor_object(request.body)
    return _json_object(request.body)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    value = json.loads(body)
    return value if isinstance(value, dict) else {}


def _cbor_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    from botocore.parsers import BaseCBORParser

    value = BaseCBORParser().parse_data_item(io.BytesIO(body))
    return value if isinstance(value, dict) else {}


def unflatten(flat: dict[str, str]) -> dict[str, Any]:
    """Turn query-protocol parameters into nested members.

    ``A.member.N`` items become lists and ``A.entry.N.key``/``.value`` pairs (also
    ``Name``/``Value``) become maps, as botocore's query serializer writes them.
    """
    tree: dict[str, Any] = {}
    for name, value in flat.items():
        if name in ("Action", "Version"):
            continue
        node = tree
        parts = name.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return {name: _collapse(value) for name, value in tree.items()}


def _collapse(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"member"} and isinstance(node["member"], dict):
        return _ordered_items(node["member"])
    if set(node) == {"entry"} and isinstance(node["entry"], dict):
        mapping = {}
        for entry in _ordered_items(node["entry"]):
            if isinstance(entry, dict):
                key = entry.get("key", entry.get("Name", entry.get("Key")))
                mapping[str(key)] = entry.get("value", entry.get("Value"))
        return mapping
    if node and all(key.isdigit() for key in node):
        return _ordered_items(node)
    return {name: _collapse(value) for name, value in node.items()}


def _ordered_items(node: dict[str, Any]) -> list[Any]:
    return [_collapse(node[key]) for key in sorted(node, key=_index_of)]


def _index_of(key: str) -> int:
    return int(key) if key.isdigit() else 0


@dataclass(frozen=True)
class _RestBinding:
    """The wire locations of one REST operation's input members."""

    path: re.Pattern[str]
    path_members: tuple[str, ...]
    query_members: dict[str, str]
    """Query string name -> member name."""
    header_members: dict[str, str]
    """Header name -> member name."""
    body_member: str | None
    """The member that is the whole body (``Payload`` of Lambda Invoke), if any."""
    body_is_structure: bool


@functools.cache
def _rest_binding(signing_name: str, operation: str) -> _RestBinding | None:
    model = service_model(signing_name)
    if operation not in model.operation_names:
        return None
    operation_model = model.operation_model(operation)
    template = str(operation_model.http.get("requestUri", "/")).partition("?")[0]
    shape = operation_model.input_shape
    members = shape.members if shape is not None else {}
    by_location_name: dict[str, str] = {}
    query_members: dict[str, str] = {}
    header_members: dict[str, str] = {}
    for member_name, member_shape in members.items():
        location = member_shape.serialization.get("location")
        location_name = member_shape.serialization.get("name", member_name)
        if location == "uri":
            by_location_name[location_name] = member_name
        elif location == "querystring":
            query_members[location_name] = member_name
        elif location == "header":
            header_members[location_name] = member_name

    regex = ""
    position = 0
    path_members = []
    for label in _URI_LABEL.finditer(template):
        regex += re.escape(template[position:label.start()])
        name = label.group(1)
        greedy = name.endswith("+")
        path_members.append(by_location_name.get(name.rstrip("+"), name.rstrip("+")))
        regex += "(.+)" if greedy else "([^/]+)"
        position = label.end()
    regex += re.escape(template[position:])
    payload = shape.serialization.get("payload") if shape is not None else None
    body_is_structure = payload is None or members[payload].type_name == "structure"
    return _RestBinding(re.compile(f"^{regex.rstrip('/')}/?$"), tuple(path_members),
                        query_members, header_members, payload, body_is_structure)


def _rest_parameters(request: AwsRequest, operation: str) -> dict[str, Any]:
    binding = _rest_binding(request.service, operation)
    if binding is None:
        return {}
    parameters: dict[str, Any] = {}
    if binding.body_member is None:
        parameters.update(_json_object(request.body))
    elif binding.body_is_structure and request.body:
        parameters[binding.body_member] = _json_object(request.body)
    parts = urlsplit(request.url)
    match = binding.path.match(parts.path or "/")
    if match is not None:
        for member, value in zip(binding.path_members, match.groups(), strict=True):
            parameters[member] = unquote(value)
    if parts.query and binding.query_members:
        for name, text in parse_qsl(parts.query, keep_blank_values=True):
            query_member = binding.query_members.get(name)
            if query_member is not None:
                parameters[query_member] = text
    for header, header_member in binding.header_members.items():
        header_value = request.headers.get(header)
        if header_value is not None:
            parameters[header_member] = header_value
    return parameters
