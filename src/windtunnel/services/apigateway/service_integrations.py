"""REST API ``AWS`` integrations with services other than Lambda: SQS, SNS, DynamoDB, ...

The integration URI names the service and either an action or a path:
``arn:aws:apigateway:{region}:{subdomain.service|service}:action/{Action}`` or
``...:path/{path}``. https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html
describes both forms.

API Gateway assumes the integration's ``credentials`` role, whose trust policy must allow
``apigateway.amazonaws.com``, and sends the integration request to the service signed as
that role, so the role's IAM policies decide whether the call is allowed:
https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-request-basic-setup.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html

An action URI of a JSON-protocol service (DynamoDB, Kinesis, EventBridge, Step Functions)
sends the request body with ``X-Amz-Target: {prefix}.{Action}``. An action URI of a query
service (SQS, SNS) adds ``Action`` and ``Version`` to the query string. A path URI sends the
integration's HTTP method to that path, with ``{name}`` parts taken from
``integration.request.path.*`` mappings. Here the request goes through the embedded cloud
in process; nothing leaves the machine.

The service's HTTP status code and body are the integration response: its status code is
matched against each ``selectionPattern``, so an error of the service (AccessDenied, say)
reaches the default integration response unless a pattern such as ``4\\d{2}`` selects it:
https://docs.aws.amazon.com/apigateway/latest/api/API_IntegrationResponse.html
Query services respond to API Gateway in JSON, with the output members that the service left
out set to null and keys in alphabetical order, as recorded from AWS in aws-samples/
serverless-patterns (``{"SendMessageResponse":{"ResponseMetadata":{...},
"SendMessageResult":{"MD5OfMessageAttributes":null,...}}}``).

Limitations:
    Integrations without credentials (which AWS calls under the service's resource-based
    permissions) and credentials that pass the caller's own identity
    (``arn:aws:iam::*:user/*``) return 500.
    Action URIs of REST-protocol services (S3 ``action/GetObject&Bucket=...``) are not
    supported; their path URIs are.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from windtunnel.cloud.messages import AwsResponse
from windtunnel.services.apigateway.gateway_responses import GatewayError
from windtunnel.services.apigateway.mapping import (
    EndpointResponse,
    MappingFailed,
    configuration_error,
    map_integration_response,
    map_request_parameters,
    transform_request_body,
)
from windtunnel.services.apigateway.permissions import CALLER_CREDENTIALS

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.services.apigateway.integrations import IntegrationCall

__all__ = ["ServiceTarget", "parse_service_uri", "query_response_as_json",
           "run_service_integration"]

logger = logging.getLogger(__name__)

_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
# The session name under which API Gateway appears when it assumes an integration's role,
# as CloudTrail records it.
_GATEWAY_SESSION = "BackplaneAssumeRoleSession"

_SERVICE_URI = re.compile(
    r"^arn:[^:]+:apigateway:(?P<region>[^:]*):(?P<service>[^:]+):(?P<kind>action|path)/"
    r"(?P<rest>.*)$")
_PATH_PARAMETER = re.compile(r"\{([A-Za-z0-9_.\-]+)\+?\}")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_.\-]+)\}")

# Services that API Gateway reaches with the query protocol although botocore's current
# model uses JSON: SQS accepts both, and API Gateway's SQS examples send query requests.
_QUERY_SERVICES = frozenset({"sqs"})


@dataclass(frozen=True)
class ServiceTarget:
    """The service, and the action or path, that an ``AWS`` integration URI names."""

    region: str
    service: str
    """The service's endpoint prefix (``sqs``, ``states``), without any subdomain."""
    action: str | None
    """The action of an ``action/`` URI, None for a ``path/`` URI."""
    path: str
    """The path of a ``path/`` URI, starting with ``/``, or ``/`` for an action."""
    parameters: tuple[tuple[str, str], ...] = ()
    """Parameters appended to an action with ``&`` (``action/GetObject&Key=k``)."""


def parse_service_uri(uri: str, default_region: str) -> ServiceTarget | None:
    """Parse an ``arn:aws:apigateway:...`` integration URI, or return None for another form."""
    match = _SERVICE_URI.match(uri)
    if match is None:
        return None
    region = match.group("region") or default_region
    # A subdomain ("{subdomain}.{service}") only speeds up AWS's host lookup.
    service = match.group("service").rsplit(".", 1)[-1]
    rest = match.group("rest")
    if match.group("kind") == "path":
        return ServiceTarget(region, service, None, "/" + rest.lstrip("/"))
    action, _, extra = rest.partition("&")
    if not action:
        return None
    return ServiceTarget(region, service, action, "/",
                         tuple(parse_qsl(extra, keep_blank_values=True)))


def run_service_integration(call: IntegrationCall) -> AwsResponse:
    """Send an ``AWS`` integration's request to the service it names, as its role.

    Raises MappingFailed with the gateway error that ends the request.
    """
    integration = call.integration
    uri = _STAGE_VARIABLE.sub(lambda match: call.method.stage_variables.get(match.group(1), ""),
                              str(getattr(integration, "uri", "") or ""))
    target = parse_service_uri(uri, call.cloud.region)
    if target is None:
        logger.warning("REST API %s: integration URI %s is not an AWS service URI",
                       call.api_id, uri)
        raise MappingFailed(configuration_error())
    model = _service_model(target.service)
    if model is None:
        raise _not_emulated(f"windtunnel does not emulate the AWS service {target.service!r} "
                            f"that the integration URI {uri} names.")
    protocol = "query" if target.service in _QUERY_SERVICES else str(
        model.metadata.get("protocol", "json"))
    if target.action is not None and protocol not in ("json", "query"):
        raise _not_emulated(f"windtunnel sends action URIs only to JSON and query protocol "
                            f"services; use a path URI for {target.service} "
                            f"({protocol} protocol).")

    role_arn = str(getattr(integration, "credentials", None) or "")
    if role_arn == CALLER_CREDENTIALS:
        raise _not_emulated("windtunnel does not emulate AWS service integrations that call "
                            "with the caller's credentials (arn:aws:iam::*:user/*); give "
                            "the integration an IAM role.")
    if not role_arn:
        # NOTE: without credentials AWS calls the service under its resource-based
        # permissions (a queue policy naming apigateway.amazonaws.com, say). That is not
        # emulated: such an integration returns the 500 of an API configuration error.
        logger.warning("REST API %s: the AWS integration with %s has no credentials role, "
                       "and calls under resource-based permissions are not emulated; "
                       "returning 500", call.api_id, target.service)
        raise MappingFailed(configuration_error())
    if not _gateway_may_assume(call.cloud, role_arn):
        # "Execution failed due to configuration error: API Gateway does not have
        # permission to assume the provided role" in the execution log.
        logger.warning("Execution failed due to configuration error: API Gateway does not "
                       "have permission to assume the provided role %s", role_arn)
        raise MappingFailed(configuration_error())

    body = transform_request_body(integration, call.method)
    parameters = map_request_parameters(integration, call.method)
    method = str(getattr(integration, "http_method", None) or "POST").upper()
    if method == "ANY":
        method = call.request.method.upper()
    headers = dict(parameters.header)
    query = list(parameters.querystring.items())
    path = _PATH_PARAMETER.sub(
        lambda match: quote(parameters.path.get(match.group(1), match.group(0)), safe="/"),
        target.path)
    if target.action is not None and protocol == "json":
        _default_header(headers, "X-Amz-Target",
                        f"{model.metadata.get('targetPrefix')}.{target.action}")
        _default_header(headers, "Content-Type",
                        f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}")
    elif target.action is not None:
        query = [("Action", target.action), ("Version", model.api_version),
                 *target.parameters, *query]
        # Query parameters travel as a form unless a mapping names another Content-Type.
        # NOTE: which Content-Type AWS sends without a mapping is not documented.
        _default_header(headers, "Content-Type", "application/x-www-form-urlencoded")

    url = f"https://{target.service}.{target.region}.amazonaws.com{path}"
    if query:
        url += "?" + urlencode(query)
    signing_name = str(model.metadata.get("signingName") or target.service)
    response = _send_as_role(call.cloud, role_arn, signing_name, target.region, method, url,
                             headers, body)
    logger.debug("REST API %s: %s %s returned %s", call.api_id, method, url, response.status)

    response_headers = dict(response.headers)
    content = response.body
    if protocol == "query":
        request_id = next((value for name, value in response_headers.items()
                           if name.lower() == "x-amzn-requestid"), None)
        converted = query_response_as_json(content, target.action or _operation(body, url),
                                           model, request_id)
        if converted is not None:
            content = converted
            response_headers = {name: value for name, value in response_headers.items()
                                if name.lower() != "content-type"}
            response_headers["Content-Type"] = "application/json"
    endpoint = EndpointResponse(response.status, response_headers, content,
                                selection_value=str(response.status))
    return map_integration_response(integration, call.method_definition, endpoint,
                                    call.method, call.request_id_headers)


def _not_emulated(message: str) -> MappingFailed:
    body = json.dumps({"message": message}).encode()
    return MappingFailed(GatewayError("API_CONFIGURATION_ERROR", 500, "Internal server error",
                                      "InternalServerErrorException", body=body))


def _service_model(service: str) -> Any:
    from windtunnel.cloud.protocols import service_model

    try:
        return service_model(service)
    except Exception:
        # botocore raises UnknownServiceError, among others, for a name it lacks.
        return None


def _default_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set a header that no ``integration.request.header`` mapping set."""
    if not any(key.lower() == name.lower() for key in headers):
        headers[name] = value


def _operation(body: bytes, url: str) -> str | None:
    """Return the ``Action`` of a query request that a path URI sends in its form body."""
    parameters = dict(parse_qsl(url.partition("?")[2]))
    parameters.update(parse_qsl(body.decode("utf-8", errors="replace")))
    return parameters.get("Action")


# --- the role and the request ----------------------------------------------------------

def _gateway_may_assume(cloud: Cloud, role_arn: str) -> bool:
    """Tell whether the role exists and its trust policy lets API Gateway assume it.

    With IAM off every role may be assumed; in warn mode a refusal is logged only.
    """
    from windtunnel.iam.enforcement import IamMode, find_role, iam_backend
    from windtunnel.iam.errors import MalformedPolicyError
    from windtunnel.iam.evaluation import evaluate
    from windtunnel.iam.request import AuthorizationRequest, PrincipalType

    mode = cloud.authorizer.mode
    if mode is IamMode.OFF:
        return True
    components = role_arn.split(":")
    role = find_role(iam_backend(components[4]), role_arn) if len(components) == 6 else None
    allowed = False
    if role is not None:
        request = AuthorizationRequest(
            principal=_GATEWAY_PRINCIPAL, action="sts:AssumeRole", resource=role_arn,
            context={"aws:SourceAccount": cloud.account_id},
            principal_type=PrincipalType.SERVICE)
        try:
            trust = json.loads(role.assume_role_policy_document)
            allowed = evaluate(request, [], resource_policy=trust).allowed
        except (ValueError, MalformedPolicyError) as error:
            logger.info("the trust policy of %s is not valid, so it allows nothing: %s",
                        role_arn, error)
    if not allowed and mode is IamMode.WARN:
        logger.warning("IAM (warn mode): API Gateway may not assume role %s", role_arn)
        return True
    return allowed


def _send_as_role(cloud: Cloud, role_arn: str, signing_name: str, region: str, method: str,
                  url: str, headers: dict[str, str], body: bytes) -> AwsResponse:
    """Sign a request with the credentials of a session of ``role_arn`` and let the cloud
    handle it in process, so that authentication and IAM treat it as that session."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    access_key, secret, token = cloud.role_session_credentials(role_arn, _GATEWAY_SESSION)
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(Credentials(access_key, secret, token), signing_name, region).add_auth(request)
    return cloud.handle_http(method, url, dict(request.headers.items()), body)


# --- query protocol responses as JSON --------------------------------------------------

def query_response_as_json(content: bytes, operation: str | None, model: Any,
                           request_id: str | None = None) -> bytes | None:
    """Render a query-protocol response as the JSON that API Gateway receives.

    Every element becomes an object key, a repeated element or a ``member`` list becomes
    a list, and text becomes a string. The ``{Operation}Result`` object lists every member
    of the operation's output, null when absent. An error (``ErrorResponse``) becomes
    ``{"Error": {...}, "RequestId": ...}``; one that the cloud rendered in JSON is given
    that shape too. Returns None for a body that is neither.

    NOTE: the JSON form of query errors, and of lists, is not documented; these shapes
    follow the XML elements.
    """
    text = content.strip()
    if text.startswith(b"{"):
        return _json_error_as_query(text, request_id)
    if not text.startswith(b"<"):
        return None
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        logger.warning("API Gateway: the service's XML response is not valid: %s", error)
        return None

    name = _local_name(root.tag)
    value = _element_value(root)
    if name == "ErrorResponse":
        document: Any = value if isinstance(value, dict) else {}
    else:
        document = {name: value}
        result = value.get(f"{operation}Result") if isinstance(value, dict) else None
        members = _output_members(model, operation)
        if members and isinstance(value, dict):
            filled = {member: None for member in members}
            if isinstance(result, dict):
                filled.update(result)
            value[f"{operation}Result"] = filled
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _json_error_as_query(text: bytes, request_id: str | None) -> bytes | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or "__type" not in document:
        return text
    code = str(document["__type"]).rsplit("#", 1)[-1]
    message = document.get("message", document.get("Message"))
    error = {"Code": code, "Message": message, "Type": "Sender"}
    return json.dumps({"Error": error, "RequestId": request_id}, sort_keys=True,
                      separators=(",", ":")).encode()


def _output_members(model: Any, operation: str | None) -> list[str]:
    if not operation:
        return []
    try:
        shape = model.operation_model(operation).output_shape
    except Exception:
        # botocore raises OperationNotFoundError for an action it does not know.
        return []
    return list(shape.members) if shape is not None else []


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element_value(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    names = [_local_name(child.tag) for child in children]
    if all(name == "member" for name in names):
        return [_element_value(child) for child in children]
    value: dict[str, Any] = {}
    for name, child in zip(names, children, strict=True):
        child_value = _element_value(child)
        if names.count(name) > 1:
            value.setdefault(name, []).append(child_value)
        else:
            value[name] = child_value
    return value
