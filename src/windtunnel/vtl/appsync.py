"""AppSync resolver mapping templates: ``$context``, ``$util`` and ``#return``.

Sources: https://docs.aws.amazon.com/appsync/latest/devguide/resolver-context-reference.html
(``$context``), https://docs.aws.amazon.com/appsync/latest/devguide/resolver-util-reference.html
(``$util`` and ``#return``) and
https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-programming-guide.html
(the language). Resolver templates are Velocity 1.7 templates.

Limitations:
- A null or undefined reference renders as its own text (``$ctx.args.missing``), as in
  Velocity; ``$!ref`` and ``$util.toJson`` are the AppSync idioms that avoid it.
- ``$util.unauthorized()`` raises "Not Authorized to access FIELD on type TYPE", the
  message AppSync returns for a resolver, with the field from ``$context.info``.
- ``$util.rds`` is not emulated and raises an error that names it.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import logging
import random
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from windtunnel.vtl.apigateway import escape_javascript
from windtunnel.vtl.appsync_dynamodb import DynamodbUtil, TransformUtil
from windtunnel.vtl.appsync_helpers import (
    HttpUtil,
    ListUtil,
    LogUtil,
    MapUtil,
    MathUtil,
    StrUtil,
    XmlUtil,
)
from windtunnel.vtl.appsync_json import parse_json, to_json, to_plain
from windtunnel.vtl.appsync_time import TimeUtil
from windtunnel.vtl.errors import VtlRuntimeError
from windtunnel.vtl.methods import JavaException, java_regex
from windtunnel.vtl.nodes import Block, Position
from windtunnel.vtl.parser import parse
from windtunnel.vtl.render import Options, Renderer, StopRendering
from windtunnel.vtl.values import JavaObject, MissingMember, is_number, to_java_string

__all__ = [
    "AppSyncRendering",
    "GraphqlError",
    "TemplateErrorRaised",
    "render_resolver_template",
]

logger = logging.getLogger(__name__)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# KSUID timestamps count seconds from 2014-05-13T16:53:20Z.
_KSUID_EPOCH = 1_400_000_000


@dataclass(frozen=True)
class GraphqlError:
    """An error that a template raised or appended, as the GraphQL response lists it."""

    message: str
    error_type: str | None = None
    data: object = None
    error_info: object = None

    def to_json_object(self) -> dict[str, object]:
        """Return the error as a GraphQL error object: message, errorType, data, errorInfo."""
        return {"message": self.message, "errorType": self.error_type,
                "data": to_plain(self.data), "errorInfo": to_plain(self.error_info)}


class TemplateErrorRaised(Exception):
    """Raised by ``$util.error``, ``validate`` and ``unauthorized`` to end the template."""

    def __init__(self, error: GraphqlError) -> None:
        self.error = error
        super().__init__(error.message)


@dataclass
class AppSyncRendering:
    """The outcome of rendering one resolver template."""

    output: str = ""
    """The rendered text; empty when ``#return`` ended the template."""
    returned: bool = False
    """True when ``#return`` ended the template."""
    return_value: object = None
    """The value given to ``#return``, or None."""
    errors: list[GraphqlError] = field(default_factory=list)
    """Errors added with ``$util.appendError``."""
    logs: list[tuple[str, str]] = field(default_factory=list)
    """``(level, message)`` pairs from ``$util.log.info`` and ``$util.log.error``."""
    stash: dict[object, object] = field(default_factory=dict)
    """``$context.stash`` after rendering."""
    response_headers: dict[str, object] = field(default_factory=dict)
    """Headers added with ``$util.http.addResponseHeader(s)``."""
    extensions: list[tuple[str, list[object]]] = field(default_factory=list)
    """Calls of ``$extensions`` methods (``setSubscriptionFilter``, ...) with their
    arguments, in order."""


def render_resolver_template(
    template: str,
    context: Mapping[str, object] | None = None,
    *,
    now: Callable[[], datetime.datetime] | None = None,
    randomness: random.Random | None = None,
    into: AppSyncRendering | None = None,
) -> AppSyncRendering:
    """Render an AppSync request or response mapping template against a resolver context.

    ``context`` has the keys of ``$context``: ``arguments``, ``source``, ``result``,
    ``identity``, ``stash``, ``prev``, ``error``, ``request``, ``info``. ``now`` gives
    the time for ``$util.time`` and the generated IDs (UTC wall time by default) and
    ``randomness`` the random source for IDs. Raises VtlSyntaxError for a template that
    does not parse, VtlRuntimeError when a method call fails, and TemplateErrorRaised
    when the template calls ``$util.error``, ``$util.validate`` or ``$util.unauthorized``.
    ``into`` receives the logs, errors and stash as rendering goes, so a caller still has
    them when rendering raises.
    """
    rendering = into if into is not None else AppSyncRendering()
    context_value = build_context(context or {})
    stash = context_value["stash"]
    rendering.stash = stash if isinstance(stash, dict) else {}
    util = UtilVariable(rendering, context_value,
                        now or (lambda: datetime.datetime.now(datetime.UTC)),
                        randomness or random.Random())

    def return_directive(renderer: Renderer, arguments: list[object], position: Position) -> None:
        rendering.returned = True
        rendering.return_value = arguments[0] if arguments else None
        logger.debug("#return at line %d ended the template", position.line)
        raise StopRendering()

    variables: dict[str, object] = {"context": context_value, "ctx": context_value,
                                    "util": util, "utils": util,
                                    "extensions": ExtensionsVariable(rendering)}
    options = Options(null_renders_empty=False, directives={"return": return_directive})
    block = _parsed(template)
    output = Renderer(variables, options).render(block)
    rendering.output = "" if rendering.returned else output
    final_stash = context_value.get("stash")
    if isinstance(final_stash, dict):
        rendering.stash = final_stash
    return rendering


def _template_value(value: object) -> object:
    """Copy nested mappings and sequences into the dicts and lists that templates use."""
    if isinstance(value, Mapping):
        return {str(key): _template_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_template_value(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def build_context(context: Mapping[str, object]) -> dict[str, object]:
    """Build ``$context`` from a resolver context; ``args`` and ``arguments`` are one map."""
    value = _template_value(context)
    assert isinstance(value, dict)
    arguments = value.get("arguments", value.get("args"))
    if not isinstance(arguments, dict):
        arguments = {}
    value["arguments"] = arguments
    value["args"] = arguments
    if not isinstance(value.get("stash"), dict):
        value["stash"] = {}
    if not isinstance(value.get("prev"), dict):
        value["prev"] = {"result": None}
    return value


# --- $util --------------------------------------------------------------------


def _url_encode(text: str) -> str:
    # java.net.URLEncoder keeps letters, digits and ".-*_", and writes a space as "+".
    return urllib.parse.quote_plus(text, safe="*").replace("~", "%7E")


def _url_decode(text: str) -> str:
    try:
        return urllib.parse.unquote_plus(text, errors="strict")
    except UnicodeDecodeError:
        raise JavaException("java.lang.IllegalArgumentException",
                            "URLDecoder: Illegal hex characters in escape (%) pattern") from None


def _base64_decode(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError) as error:
        raise JavaException("java.lang.IllegalArgumentException", str(error)) from None


def _encode(number: int, alphabet: str, length: int) -> str:
    digits: list[str] = []
    for _ in range(length):
        number, remainder = divmod(number, len(alphabet))
        digits.append(alphabet[remainder])
    return "".join(reversed(digits))


def type_of(value: object) -> str:
    """Return ``$util.typeOf``'s name for a value's type."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if is_number(value):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "List"
    if isinstance(value, dict):
        return "Map"
    return "Object"


def auth_type(identity: object) -> str:
    """Name the authorization type of a request from the shape of ``$context.identity``.

    AppSync fills identity by mode: null for an API key, ``resolverContext`` for a Lambda
    authorizer, ``accountId`` and ``userArn`` for IAM, ``sub`` and ``issuer`` for
    Cognito user pools (a ``cognito-idp`` issuer) and OpenID Connect.
    """
    if not isinstance(identity, dict):
        return "API Key Authorization"
    if "resolverContext" in identity:
        return "Lambda Authorization"
    if "userArn" in identity or "accountId" in identity:
        return "IAM Authorization"
    if "cognito-idp." in to_java_string(identity.get("issuer", "")):
        return "User Pool Authorization"
    return "Open ID Connect Authorization"


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


class ExtensionsVariable(JavaObject):
    """``$extensions``: subscription filters and cache eviction, recorded for the caller.

    Source: https://docs.aws.amazon.com/appsync/latest/devguide/extensions.html
    """

    _METHODS = frozenset({"setSubscriptionFilter", "setSubscriptionInvalidationFilter",
                          "invalidateSubscriptions", "evictFromApiCache"})

    def __init__(self, rendering: AppSyncRendering) -> None:
        self.rendering = rendering

    def get_property(self, name: str) -> object:
        raise MissingMember(name)

    def call(self, name: str, arguments: list[object]) -> object:
        if name not in self._METHODS:
            raise MissingMember(name)
        self.rendering.extensions.append((name, list(arguments)))
        # The methods are void; Velocity renders a void call as empty text.
        return ""


class UtilVariable(JavaObject):
    """``$util`` (also ``$utils``): the general AppSync helpers and their groups."""

    java_class_name = "com.amazonaws.deepdish.transform.util.Utils"

    def __init__(self, rendering: AppSyncRendering, context: dict[str, object],
                 now: Callable[[], datetime.datetime], randomness: random.Random) -> None:
        self.rendering = rendering
        self.context = context
        self.now = now
        self.random = randomness
        self.groups: dict[str, JavaObject] = {
            "time": TimeUtil(now),
            "dynamodb": DynamodbUtil(),
            "transform": TransformUtil(),
            "map": MapUtil(),
            "list": ListUtil(),
            "str": StrUtil(),
            "math": MathUtil(randomness),
            "xml": XmlUtil(),
            "http": HttpUtil(rendering.response_headers),
            "log": LogUtil(lambda level, text: rendering.logs.append((level, text))),
        }

    def get_property(self, name: str) -> object:
        if name in self.groups:
            return self.groups[name]
        if name == "rds":
            raise VtlRuntimeError("$util.rds is not supported by the emulation")
        raise MissingMember(name)

    def call(self, name: str, arguments: list[object]) -> object:
        getter = f"{name[3:4].lower()}{name[4:]}" if name.startswith("get") else None
        if getter in self.groups and not arguments:
            return self.groups[getter]
        for method in (self.call_errors, self.call_checks, self.call_encoding):
            try:
                return method(name, arguments)
            except MissingMember:
                continue
        raise MissingMember(name)

    def call_errors(self, name: str, arguments: list[object]) -> object:
        """``error``, ``appendError``, ``unauthorized`` and ``validate``."""
        count = len(arguments)
        if name == "error" and 1 <= count <= 4:
            raise TemplateErrorRaised(_graphql_error(arguments))
        if name == "appendError" and 1 <= count <= 4:
            self.rendering.errors.append(_graphql_error(arguments))
            return ""
        if name == "unauthorized" and count == 0:
            info = self.context.get("info")
            info = info if isinstance(info, dict) else {}
            message = (f"Not Authorized to access {to_java_string(info.get('fieldName'))} "
                       f"on type {to_java_string(info.get('parentTypeName'))}")
            raise TemplateErrorRaised(GraphqlError(message, "Unauthorized"))
        if name == "validate" and 2 <= count <= 4:
            if arguments[0] is not True:
                raise TemplateErrorRaised(_graphql_error(arguments[1:]))
            return ""
        raise MissingMember(name)

    def call_checks(self, name: str, arguments: list[object]) -> object:
        """Null checks, defaults, type checks, ``typeOf``, ``matches`` and ``authType``."""
        count = len(arguments)
        value = arguments[0] if arguments else None
        if count == 1:
            checks: dict[str, Callable[[object], object]] = {
                "isNull": lambda item: item is None,
                "isNullOrEmpty": _is_empty,
                "isNullOrBlank": _is_blank,
                "isString": lambda item: isinstance(item, str),
                "isNumber": is_number,
                "isBoolean": lambda item: isinstance(item, bool),
                "isList": lambda item: isinstance(item, list),
                "isMap": lambda item: isinstance(item, dict),
                "typeOf": type_of,
            }
            if name in checks:
                return checks[name](value)
        if count == 2:
            fallback = arguments[1]
            if name == "defaultIfNull":
                return fallback if value is None else value
            if name == "defaultIfNullOrEmpty":
                return fallback if _is_empty(value) else value
            if name == "defaultIfNullOrBlank":
                return fallback if _is_blank(value) else value
            if name == "matches":
                if value is None or fallback is None:
                    return False
                pattern = java_regex(to_java_string(value))
                return pattern.fullmatch(to_java_string(fallback)) is not None
        if name == "authType" and count == 0:
            return auth_type(self.context.get("identity"))
        raise MissingMember(name)

    def call_encoding(self, name: str, arguments: list[object]) -> object:
        """``qr``/``quiet``, JSON, escaping, URL and base64 encoding, and generated IDs."""
        count = len(arguments)
        if name in ("qr", "quiet") and count == 1:
            return ""
        if name == "toJson" and count == 1:
            return to_json(arguments[0])
        if name == "autoId" and count == 0:
            return str(uuid.UUID(int=self.random.getrandbits(128), version=4))
        if name == "autoUlid" and count == 0:
            milliseconds = int(self.now().timestamp() * 1000)
            return _encode((milliseconds << 80) | self.random.getrandbits(80), _CROCKFORD, 26)
        if name == "autoKsuid" and count == 0:
            seconds = int(self.now().timestamp()) - _KSUID_EPOCH
            payload = (seconds << 128) | self.random.getrandbits(128)
            return _encode(payload, _BASE62, 27)
        if count != 1:
            raise MissingMember(name)
        if arguments[0] is None:
            return None
        text = to_java_string(arguments[0])
        if name == "parseJson":
            return parse_json(text)
        encoders: dict[str, Callable[[str], str]] = {
            "escapeJavaScript": escape_javascript,
            "urlEncode": _url_encode,
            "urlDecode": _url_decode,
            "base64Encode": lambda plain: base64.b64encode(plain.encode()).decode("ascii"),
            "base64Decode": _base64_decode,
        }
        if name in encoders:
            return encoders[name](text)
        raise MissingMember(name)


def _graphql_error(arguments: list[object]) -> GraphqlError:
    """Build the error of ``$util.error(message[, type[, data[, errorInfo]]])``."""
    message = to_java_string(arguments[0])
    error_type = to_java_string(arguments[1]) if len(arguments) > 1 and arguments[1] is not None \
        else None
    data = arguments[2] if len(arguments) > 2 else None
    error_info = arguments[3] if len(arguments) > 3 else None
    return GraphqlError(message, error_type, data, error_info)


@functools.lru_cache(maxsize=512)
def _parsed(template: str) -> Block:
    """The template's syntax tree, parsed once: rendering does not change it."""
    # AppSync's templates write null as a literal, as in $util.toJson(null).
    return parse(template, line_directives={"return"}, null_literal=True)
