"""MOCK integrations of REST APIs: the request template chooses the integration response.

API Gateway runs no backend for a MOCK integration. The rendered request mapping template
gives a ``statusCode``, which selects the integration response: the one whose
``selectionPattern`` matches the status code, or else the default one without a pattern.
That response's parameters and template make the method's response. SAM's and the
Serverless Framework's CORS settings create such OPTIONS methods. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html

Limitations: a request body that is passed through (no template matched) or a rendered
template that is not a JSON object with ``statusCode`` selects status 200.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from windtunnel.cloud.messages import AwsResponse
from windtunnel.services.apigateway.mapping import (
    EndpointResponse,
    MethodRequest,
    map_integration_response,
    transform_request_body,
)

__all__ = ["run_mock_integration"]

logger = logging.getLogger(__name__)


def run_mock_integration(integration: Any, method_definition: Any, method: MethodRequest,
                         request_id_headers: Mapping[str, str]) -> AwsResponse:
    """Produce the method response of a MOCK integration.

    Raises MappingFailed when the request is rejected (415) or the mapping fails (500).
    """
    rendered = transform_request_body(integration, method)
    status_code = "200"
    try:
        document = json.loads(rendered) if rendered.strip() else None
    except ValueError:
        logger.debug("MOCK integration: the request template output is not JSON")
        document = None
    if isinstance(document, dict) and "statusCode" in document:
        status_code = str(document["statusCode"])

    # The response template reads an empty $input.body: a MOCK integration has no backend.
    endpoint = EndpointResponse(status=int(status_code) if status_code.isdigit() else 200,
                                headers={}, body=b"", selection_value=status_code)
    return map_integration_response(integration, method_definition, endpoint, method,
                                    request_id_headers)
