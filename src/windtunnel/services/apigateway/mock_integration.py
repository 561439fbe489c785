"""MOCK integrations of REST APIs with static mapping templates.

API Gateway runs no backend for a MOCK integration. The request mapping template gives a
``statusCode``, which selects the integration response: the one whose
``selectionPattern`` matches the status code, or else the default one without a pattern.
That response's parameters and template make the method's response. SAM's and the
Serverless Framework's CORS settings create such OPTIONS methods. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html

Limitations: templates are used only when they contain no Velocity directives or
variables (``$`` or ``#``). A template with them returns 500 with a message that names it.
Response parameters take only static values (``'text'``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MockResult", "run_mock_integration"]

_VELOCITY = re.compile(r"[$#]")


@dataclass(frozen=True)
class MockResult:
    """The method response of a MOCK integration, or the reason it cannot be emulated."""

    status: int
    headers: dict[str, str]
    body: bytes
    unsupported: str | None = None


def _template(templates: Any, content_type: str | None) -> str | None:
    if not isinstance(templates, dict) or not templates:
        return None
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type in templates:
            return str(templates[media_type])
    if "application/json" in templates:
        return str(templates["application/json"])
    return str(next(iter(templates.values())))


def run_mock_integration(integration: Any, content_type: str | None) -> MockResult:
    """Produce the method response of a MOCK integration for a request of ``content_type``."""
    request_template = _template(integration.request_templates, content_type)
    status_code = "200"
    if request_template:
        if _VELOCITY.search(request_template):
            return MockResult(500, {}, b"", unsupported="a request mapping template with "
                              "Velocity (VTL) expressions")
        try:
            document = json.loads(request_template)
        except ValueError:
            document = None
        if isinstance(document, dict) and "statusCode" in document:
            status_code = str(document["statusCode"])

    responses = integration.integration_responses or {}
    chosen = None
    for response in responses.values():
        pattern = response.selection_pattern
        if pattern and re.fullmatch(str(pattern), status_code):
            chosen = response
            break
    if chosen is None:
        chosen = next((response for response in responses.values()
                       if not response.selection_pattern), None)
    if chosen is None:
        # Without a matching integration response API Gateway reports a configuration error.
        return MockResult(500, {}, b"", unsupported=None)

    headers: dict[str, str] = {}
    for target, source in (chosen.response_parameters or {}).items():
        name = str(target).removeprefix("method.response.header.")
        value = str(source)
        if not (value.startswith("'") and value.endswith("'")):
            return MockResult(500, {}, b"", unsupported=f"the response parameter {target} "
                              f"mapped from {value}")
        headers[name] = value[1:-1]

    body_template = _template(chosen.response_templates, "application/json")
    if body_template and _VELOCITY.search(body_template):
        return MockResult(500, {}, b"", unsupported="a response mapping template with "
                          "Velocity (VTL) expressions")
    headers.setdefault("Content-Type", "application/json")
    return MockResult(int(chosen.status_code), headers, (body_template or "").encode())
