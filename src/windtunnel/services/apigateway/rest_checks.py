"""What a REST API method requires before its integration runs: validation and access.

Request validation follows
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html:
a validator may check the required request parameters (failing with 400
``Missing required request parameters: [name, ...]``) and the body against the method's
model for its content type, in JSON Schema draft 4 (failing with 400
``Invalid request body``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jsonschema

from windtunnel.cloud.dataplane import DataPlaneRequest

__all__ = ["GatewayRejection", "check_method_requirements"]


@dataclass(frozen=True)
class GatewayRejection:
    """A response API Gateway returns before the integration runs."""

    status: int
    error_type: str
    message: str
    response_type: str
    """The gateway response type that customizes the response."""
    validation_error: str = ""
    """``$context.error.validationErrorString``."""


def check_method_requirements(api: Any, method: Any, request: DataPlaneRequest,
                              path_parameters: dict[str, str]) -> GatewayRejection | None:
    """Return why API Gateway rejects the request for this method, or None."""
    authorization = getattr(method, "authorization_type", None) or "NONE"
    if authorization not in ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"):
        # An authorization type that windtunnel does not know is refused instead of being
        # left open. The known ones are checked before this function runs.
        return GatewayRejection(500, "InternalServerErrorException",
                                f"windtunnel does not emulate {authorization} authorization "
                                f"of REST API methods yet; this method cannot run locally.",
                                "API_CONFIGURATION_ERROR")
    validator_id = getattr(method, "request_validator_id", None)
    if not validator_id:
        return None
    validator = api.request_validators.get(validator_id)
    if validator is None:
        return None
    if validator.validate_request_parameters:
        missing = _missing_parameters(method, request, path_parameters)
        if missing:
            return GatewayRejection(400, "BadRequestException",
                                    f"Missing required request parameters: "
                                    f"[{', '.join(missing)}]", "BAD_REQUEST_PARAMETERS")
    if validator.validate_request_body and not _body_is_valid(api, method, request):
        return GatewayRejection(400, "BadRequestException", "Invalid request body",
                                "BAD_REQUEST_BODY")
    return None


def _missing_parameters(method: Any, request: DataPlaneRequest,
                        path_parameters: dict[str, str]) -> list[str]:
    query = {key for key, _ in parse_qsl(request.raw_query, keep_blank_values=True)}
    headers = {key.lower() for key, _ in request.headers}
    missing = []
    for key, required in (getattr(method, "request_parameters", None) or {}).items():
        if not required:
            continue
        parts = str(key).split(".", 3)
        if len(parts) != 4:
            continue
        location, name = parts[2], parts[3]
        present = (name in query if location == "querystring" else
                   name.lower() in headers if location == "header" else
                   name in path_parameters if location == "path" else True)
        if not present:
            missing.append(name)
    return missing


def _body_is_valid(api: Any, method: Any, request: DataPlaneRequest) -> bool:
    models = getattr(method, "request_models", None) or {}
    content_type = (request.header("Content-Type") or "application/json").split(";")[0]
    model_name = models.get(content_type.strip().lower())
    if model_name is None:
        # No model for this content type: nothing to validate against.
        return True
    model = next((candidate for candidate in api.models.values()
                  if candidate.name == model_name), None)
    if model is None or not model.schema:
        return True
    schema = json.loads(model.schema) if isinstance(model.schema, str) else model.schema
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return False
    validator = jsonschema.Draft4Validator(_without_model_references(schema))
    return bool(validator.is_valid(body))


def _without_model_references(schema: Any) -> Any:
    # API Gateway models name their JSON Schema dialect with a "$schema" URL. API Gateway
    # validates with draft 4 whatever that URL names.
    if isinstance(schema, dict):
        return {key: _without_model_references(value) for key, value in schema.items()
                if key != "$schema"}
    if isinstance(schema, list):
        return [_without_model_references(item) for item in schema]
    return schema
