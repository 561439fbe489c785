"""JSON of template values as AppSync writes and reads it (Jackson's rules for Java values).

``to_json`` writes compact JSON with Java's number forms (``1.0``, ``1.0E20``) and keeps
non-ASCII characters. ``parse_json`` reads integers as Integer or Long and decimals as
Double, the types that templates then see.
"""

from __future__ import annotations

import json
import logging
import math

from windtunnel.vtl.methods import JavaException
from windtunnel.vtl.values import JavaObject, format_double, to_java_string

__all__ = ["parse_json", "to_json", "to_plain"]

logger = logging.getLogger(__name__)


def to_plain(value: object) -> object:
    """Copy a template value into plain JSON types; other Java objects become their text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {to_java_string(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, JavaObject):
        return value.to_java_string()
    return str(value)


def to_json(value: object) -> str:
    """Serialize a template value as ``$util.toJson`` does."""
    return "".join(_write(to_plain(value)))


def _write(value: object) -> list[str]:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            # Jackson writes non-finite doubles as quoted strings.
            return [json.dumps(format_double(value))]
        return [format_double(value)]
    if isinstance(value, list):
        parts = ["["]
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            parts.extend(_write(item))
        parts.append("]")
        return parts
    if isinstance(value, dict):
        parts = ["{"]
        for index, (key, item) in enumerate(value.items()):
            if index:
                parts.append(",")
            parts.append(json.dumps(key, ensure_ascii=False))
            parts.append(":")
            parts.extend(_write(item))
        parts.append("}")
        return parts
    return [json.dumps(value, ensure_ascii=False)]


def parse_json(text: str) -> object:
    """Parse JSON text as ``$util.parseJson`` does; raise JavaException when it is invalid."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise JavaException("com.fasterxml.jackson.core.JsonParseException", str(error)) from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"Non-standard token '{name}'")
