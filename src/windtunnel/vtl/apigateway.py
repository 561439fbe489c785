"""API Gateway mapping templates: ``$input``, ``$util``, ``$context`` and ``$stageVariables``.

Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
(variables and functions) and
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-variable-examples.html
(examples). Mapping templates are Velocity 1.7 templates.

Limitations:
- A null or undefined reference renders as an empty string, as observed on AWS (the
  AWS documentation does not state it); plain Velocity prints the reference's text.
- ``$input.path`` returns maps and lists that print as Java's ``{a=1}`` and ``[1, 2]``;
  which JSON library AWS uses, and so how it prints them, is not documented.
- ``$input.json`` of a path that matches nothing returns an empty string.
- ``$input.params(name)`` of a parameter that the request lacks returns an empty string,
  and header names are compared case-sensitively.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import urllib.parse
from collections.abc import Mapping

from windtunnel.vtl.jsonpath import JsonPathError, evaluate_jsonpath
from windtunnel.vtl.methods import JavaException
from windtunnel.vtl.nodes import Block
from windtunnel.vtl.parser import parse
from windtunnel.vtl.render import Options, Renderer
from windtunnel.vtl.values import JavaObject, MissingMember, to_java_string

__all__ = ["RequestParameters", "escape_javascript", "render_mapping_template"]

logger = logging.getLogger(__name__)

RequestParameters = Mapping[str, Mapping[str, str]]
"""Request parameters by location: ``{"path": {...}, "querystring": {...}, "header": {...}}``."""

_PARAMETER_LOCATIONS = ("path", "querystring", "header")


def render_mapping_template(
    template: str,
    *,
    body: str = "",
    params: RequestParameters | None = None,
    context: Mapping[str, object] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> str:
    """Render an API Gateway mapping template for one request or integration response.

    ``body`` is the payload (the method request body for a request template, the
    integration response body for a response template), ``params`` the method request
    parameters, ``context`` the ``$context`` variables as nested mappings and
    ``stage_variables`` the stage's variables. Raises VtlSyntaxError, naming the line and
    column, for a template that does not parse, and VtlRuntimeError when a method call
    in it fails.
    """
    parameters = {location: dict((params or {}).get(location, {}))
                  for location in _PARAMETER_LOCATIONS}
    variables: dict[str, object] = {
        "input": InputVariable(body, parameters),
        "util": UtilVariable(),
        "context": _java_value(dict(context or {})),
        "stageVariables": dict(stage_variables or {}),
    }
    return Renderer(variables, Options(null_renders_empty=True)).render(_parsed(template))


@functools.lru_cache(maxsize=512)
def _parsed(template: str) -> Block:
    """The template's syntax tree, parsed once: rendering does not change it."""
    return parse(template)


def _java_value(value: object) -> object:
    """Copy nested mappings and sequences into the dicts and lists that templates use."""
    if isinstance(value, Mapping):
        return {str(key): _java_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_java_value(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class InputVariable(JavaObject):
    """``$input``: the payload and the request parameters."""

    java_class_name = "com.amazonaws.apigateway.Input"

    def __init__(self, body: str, parameters: dict[str, dict[str, str]]) -> None:
        self.body = body
        self.parameters = parameters

    def get_property(self, name: str) -> object:
        if name == "body":
            return self.body
        raise MissingMember(name)

    def call(self, name: str, arguments: list[object]) -> object:
        if name == "params" and not arguments:
            return {location: dict(values) for location, values in self.parameters.items()}
        if name == "params" and len(arguments) == 1:
            return self.param(to_java_string(arguments[0]))
        if name == "path" and len(arguments) == 1:
            result, found = self.evaluate(arguments[0])
            return _java_value(result) if found else None
        if name == "json" and len(arguments) == 1:
            result, found = self.evaluate(arguments[0])
            if not found:
                return ""
            return json.dumps(result, separators=(",", ":"), ensure_ascii=False)
        if name == "getBody" and not arguments:
            return self.body
        raise MissingMember(name)

    def param(self, name: str) -> str:
        """Return a parameter from the path, else the query string, else the headers."""
        for location in _PARAMETER_LOCATIONS:
            if name in self.parameters[location]:
                return self.parameters[location][name]
        return ""

    def evaluate(self, path: object) -> tuple[object, bool]:
        if not isinstance(path, str):
            raise JavaException("java.lang.IllegalArgumentException",
                                f"invalid JSONPath {to_java_string(path)}")
        try:
            document = json.loads(self.body) if self.body.strip() else {}
        except ValueError as error:
            raise JavaException("com.jayway.jsonpath.InvalidJsonException",
                                f"the body is not valid JSON: {error}") from error
        try:
            return evaluate_jsonpath(document, path)
        except JsonPathError as error:
            raise JavaException("com.jayway.jsonpath.InvalidPathException", str(error)) from error


def escape_javascript(text: str) -> str:
    """Escape a string with JavaScript string rules, as ``$util.escapeJavaScript`` does.

    ``'`` becomes ``\\'``, ``"`` ``\\"``, ``\\`` ``\\\\``, ``/`` ``\\/``; control characters
    use short escapes or ``\\u00XX``, and non-ASCII characters ``\\uXXXX`` in upper case.
    """
    short = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r",
             "'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}
    output: list[str] = []
    for char in text:
        code = ord(char)
        if char in short:
            output.append(short[char])
        elif code < 32 or code > 0x7F:
            units = char.encode("utf-16-be").hex().upper()
            output.extend("\\u" + units[index:index + 4] for index in range(0, len(units), 4))
        else:
            output.append(char)
    return "".join(output)


def _url_encode(text: str) -> str:
    # java.net.URLEncoder keeps letters, digits and ".-*_", and writes a space as "+".
    return urllib.parse.quote_plus(text, safe="*").replace("~", "%7E")


def _url_decode(text: str) -> str:
    try:
        return urllib.parse.unquote_plus(text, errors="strict")
    except UnicodeDecodeError as error:
        raise JavaException("java.lang.IllegalArgumentException",
                            "URLDecoder: Illegal hex characters in escape (%) pattern") from error


def _base64_decode(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError) as error:
        raise JavaException("java.lang.IllegalArgumentException", str(error)) from error


class UtilVariable(JavaObject):
    """``$util``: escaping, JSON parsing, URL and base64 encoding."""

    java_class_name = "com.amazonaws.apigateway.Util"

    def call(self, name: str, arguments: list[object]) -> object:
        if len(arguments) != 1:
            raise MissingMember(name)
        argument = arguments[0]
        if argument is None:
            return None
        text = to_java_string(argument)
        if name == "escapeJavaScript":
            return escape_javascript(text)
        if name == "parseJson":
            try:
                return _java_value(json.loads(text))
            except ValueError as error:
                raise JavaException("com.fasterxml.jackson.core.JsonParseException",
                                    str(error)) from error
        if name == "urlEncode":
            return _url_encode(text)
        if name == "urlDecode":
            return _url_decode(text)
        if name == "base64Encode":
            return base64.b64encode(text.encode("utf-8")).decode("ascii")
        if name == "base64Decode":
            return _base64_decode(text)
        raise MissingMember(name)
