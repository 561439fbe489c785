"""Binary media types and ``contentHandling`` conversions of REST API non-proxy integrations.

A payload is binary when its media type matches one of the API's ``binaryMediaTypes``
(``*`` matches any type or subtype). The integration's ``contentHandling`` converts the
method request payload, and the integration response's ``contentHandling`` converts the
response payload, following the tables in
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html

Request payloads:

- text, with CONVERT_TO_BINARY: base64-decoded; otherwise it stays text;
- binary, with CONVERT_TO_TEXT: base64-encoded; otherwise it stays binary.

Response payloads, where only the first media type of the Accept header counts:

- text, with CONVERT_TO_BINARY, or with no contentHandling and a binary Accept type:
  base64-decoded; otherwise it stays text;
- binary, with CONVERT_TO_TEXT, or with no contentHandling and a text Accept type:
  base64-encoded; otherwise it stays binary.

Text that does not decode as base64 is an API configuration error (500). Mapping templates
apply only to text payloads; a binary one passes through when ``passthroughBehavior``
allows it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CONVERT_TO_BINARY",
    "CONVERT_TO_TEXT",
    "ConversionFailed",
    "Payload",
    "convert_request_payload",
    "convert_response_payload",
    "first_accept_type",
    "is_binary_media_type",
]

logger = logging.getLogger(__name__)

CONVERT_TO_BINARY = "CONVERT_TO_BINARY"
CONVERT_TO_TEXT = "CONVERT_TO_TEXT"


class ConversionFailed(Exception):
    """Raised when a text payload that must become binary is not valid base64."""


@dataclass(frozen=True)
class Payload:
    """A payload after conversion, and whether mapping templates may read it as text."""

    body: bytes
    is_text: bool


def is_binary_media_type(media_type: str | None, binary_media_types: Iterable[str]) -> bool:
    """Tell whether ``media_type`` matches one of the API's binary media types.

    Parameters after ``;`` are ignored, case does not matter, and ``*`` in a binary media
    type matches any type or subtype (``*/*``, ``image/*``). A binary media type written
    as in a patch path, with ``/`` escaped as ``~1``, matches too.
    """
    if not media_type:
        return False
    kind, _, subtype = media_type.split(";", 1)[0].strip().lower().partition("/")
    for entry in binary_media_types:
        pattern_kind, _, pattern_subtype = str(entry).replace("~1", "/").lower().partition("/")
        if pattern_kind in ("*", kind) and pattern_subtype in ("*", subtype):
            return True
    return False


def first_accept_type(accept: str | None) -> str | None:
    """Return the first media type of an Accept header, the only one API Gateway reads."""
    if not accept:
        return None
    return accept.split(",", 1)[0].split(";", 1)[0].strip() or None


def convert_request_payload(body: bytes, content_type: str | None,
                            binary_media_types: Iterable[str],
                            content_handling: str | None) -> Payload:
    """Convert a method request payload into the integration request payload.

    Raises ConversionFailed when CONVERT_TO_BINARY meets text that is not base64.
    """
    if is_binary_media_type(content_type, binary_media_types):
        if content_handling == CONVERT_TO_TEXT:
            return Payload(base64.b64encode(body), is_text=True)
        return Payload(body, is_text=False)
    if content_handling == CONVERT_TO_BINARY:
        return Payload(_decode(body), is_text=False)
    return Payload(body, is_text=True)


def convert_response_payload(body: bytes, content_type: str | None, accept: str | None,
                             binary_media_types: Iterable[str],
                             content_handling: str | None) -> Payload:
    """Convert an integration response payload into the method response payload.

    ``content_type`` is the integration response's Content-Type, which decides whether the
    payload is binary, and ``accept`` is the request's Accept header. Raises
    ConversionFailed when text that must become binary is not base64.
    """
    types = list(binary_media_types)
    accepts_binary = is_binary_media_type(first_accept_type(accept), types)
    if is_binary_media_type(content_type, types):
        if content_handling == CONVERT_TO_TEXT or (
                content_handling is None and not accepts_binary):
            return Payload(base64.b64encode(body), is_text=True)
        return Payload(body, is_text=False)
    if content_handling == CONVERT_TO_BINARY or (content_handling is None and accepts_binary):
        return Payload(_decode(body), is_text=False)
    return Payload(body, is_text=True)


def _decode(text: bytes) -> bytes:
    try:
        return base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        logger.warning("API Gateway: a payload converted to binary is not valid base64: %s",
                       error)
        raise ConversionFailed(str(error)) from error
