"""GraphQL schemas as AppSync reads them: AppSync's scalars and authorization directives.

Sources:
https://docs.aws.amazon.com/appsync/latest/devguide/scalars.html (the ``AWS*`` scalars) and
https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html (the directives
``@aws_api_key``, ``@aws_iam``, ``@aws_oidc``, ``@aws_lambda``, ``@aws_cognito_user_pools``,
``@aws_auth``, and which authorization modes a field accepts).

Limitations:
- A value that an ``AWS*`` scalar rejects gets graphql-core's error message with the
  reason, not the message of graphql-java that AppSync returns.
- ``AWSPhone`` accepts digits, spaces, dashes, dots, brackets and one leading ``+``;
  AppSync's exact phone number rules are not published.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    ValueNode,
    build_ast_schema,
    parse,
)
from graphql.language import DirectiveDefinitionNode as DirectiveDefinition
from graphql.language import (
    DirectiveNode,
    ListValueNode,
    StringValueNode,
    TypeDefinitionNode,
)

__all__ = ["API_KEY", "AWS_IAM", "AWS_LAMBDA", "COGNITO", "OIDC", "FieldAuthorization",
           "build_appsync_schema", "field_authorization"]

logger = logging.getLogger(__name__)

API_KEY = "API_KEY"
AWS_IAM = "AWS_IAM"
AWS_LAMBDA = "AWS_LAMBDA"
COGNITO = "AMAZON_COGNITO_USER_POOLS"
OIDC = "OPENID_CONNECT"

# The authorization mode that each directive grants.
_DIRECTIVE_MODES = {
    "aws_api_key": API_KEY,
    "aws_iam": AWS_IAM,
    "aws_lambda": AWS_LAMBDA,
    "aws_oidc": OIDC,
    "aws_cognito_user_pools": COGNITO,
    "aws_auth": COGNITO,
}

# The definitions AppSync adds to every schema, where the schema does not define them.
_DIRECTIVE_DEFINITIONS = {
    "aws_api_key": "directive @aws_api_key on FIELD_DEFINITION | OBJECT",
    "aws_iam": "directive @aws_iam on FIELD_DEFINITION | OBJECT",
    "aws_lambda": "directive @aws_lambda on FIELD_DEFINITION | OBJECT",
    "aws_oidc": "directive @aws_oidc on FIELD_DEFINITION | OBJECT",
    "aws_cognito_user_pools":
        "directive @aws_cognito_user_pools(cognito_groups: [String]) "
        "on FIELD_DEFINITION | OBJECT",
    "aws_auth": "directive @aws_auth(cognito_groups: [String]) on FIELD_DEFINITION",
    "aws_subscribe": "directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION",
    "aws_publish": "directive @aws_publish(subscriptions: [String]) on FIELD_DEFINITION",
}

_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
_OFFSET = r"(?:Z|[+-]\d{2}:\d{2}(?::\d{2})?)"
_AWS_DATE = re.compile(rf"{_DATE}{_OFFSET}?")
_AWS_TIME = re.compile(rf"{_TIME}{_OFFSET}?")
_AWS_DATE_TIME = re.compile(rf"({_DATE})T({_TIME}){_OFFSET}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-]{2,}")


def _check_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _check_time(text: str) -> bool:
    hours, minutes = int(text[0:2]), int(text[3:5])
    seconds = int(text[6:8]) if len(text) >= 8 and text[5] == ":" else 0
    return hours < 24 and minutes < 60 and seconds < 60


def _aws_date(text: str) -> bool:
    return _AWS_DATE.fullmatch(text) is not None and _check_date(text)


def _aws_time(text: str) -> bool:
    return _AWS_TIME.fullmatch(text) is not None and _check_time(text)


def _aws_date_time(text: str) -> bool:
    found = _AWS_DATE_TIME.fullmatch(text)
    return found is not None and _check_date(found[1]) and _check_time(found[2])


def _aws_url(text: str) -> bool:
    parts = urlsplit(text)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


def _aws_ip_address(text: str) -> bool:
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _string_scalar(name: str, valid: Callable[[str], bool]) -> GraphQLScalarType:
    """Build an AppSync scalar that travels as a string in a format that ``valid`` checks."""

    def parse_value(value: Any) -> str:
        if not isinstance(value, str) or not valid(value):
            raise GraphQLError(f"Can't serialize value: {value!r} is not a valid {name}")
        return value

    def parse_literal(node: ValueNode, _variables: Any = None) -> str:
        if not isinstance(node, StringValueNode):
            raise GraphQLError(f"{name} cannot represent a non-string value")
        return parse_value(node.value)

    return GraphQLScalarType(name, serialize=parse_value, parse_value=parse_value,
                             parse_literal=parse_literal)


def _timestamp_scalar() -> GraphQLScalarType:
    # AWSTimestamp is a number of seconds before or after 1970-01-01T00:00Z.
    def parse_value(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GraphQLError(f"Can't serialize value: {value!r} is not a valid AWSTimestamp")
        return value

    def parse_literal(node: ValueNode, _variables: Any = None) -> int:
        from graphql.language import IntValueNode

        if not isinstance(node, IntValueNode):
            raise GraphQLError("AWSTimestamp cannot represent a non-integer value")
        return int(node.value)

    return GraphQLScalarType("AWSTimestamp", serialize=parse_value, parse_value=parse_value,
                             parse_literal=parse_literal)


def _json_scalar() -> GraphQLScalarType:
    """AWSJSON: JSON text in requests and responses, a parsed value inside resolvers.

    "Any valid JSON construct is automatically parsed and loaded in the resolver mapping
    templates as maps, lists, or scalar values" (scalars.html).
    """

    def parse_value(value: Any) -> Any:
        if not isinstance(value, str):
            raise GraphQLError(f"Can't serialize value: {value!r} is not a valid AWSJSON")
        try:
            return json.loads(value)
        except ValueError as error:
            raise GraphQLError(f"Can't serialize value: not valid JSON ({error})") from None

    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if not isinstance(node, StringValueNode):
            raise GraphQLError("AWSJSON cannot represent a non-string value")
        return parse_value(node.value)

    def serialize(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    return GraphQLScalarType("AWSJSON", serialize=serialize, parse_value=parse_value,
                             parse_literal=parse_literal)


def _scalars() -> dict[str, GraphQLScalarType]:
    return {
        "AWSDate": _string_scalar("AWSDate", _aws_date),
        "AWSTime": _string_scalar("AWSTime", _aws_time),
        "AWSDateTime": _string_scalar("AWSDateTime", _aws_date_time),
        "AWSEmail": _string_scalar("AWSEmail", lambda text: _EMAIL.fullmatch(text) is not None),
        "AWSURL": _string_scalar("AWSURL", _aws_url),
        "AWSPhone": _string_scalar("AWSPhone", lambda text: _PHONE.fullmatch(text) is not None),
        "AWSIPAddress": _string_scalar("AWSIPAddress", _aws_ip_address),
        "AWSTimestamp": _timestamp_scalar(),
        "AWSJSON": _json_scalar(),
    }


def build_appsync_schema(definition: str) -> GraphQLSchema:
    """Build an executable schema from an API's SDL, with AppSync's scalars and directives.

    Raises GraphQLError when the definition does not parse or is not a valid schema.
    """
    document = parse(definition)
    defined = {node.name.value for node in document.definitions
               if isinstance(node, (TypeDefinitionNode, DirectiveDefinition))}
    scalars = _scalars()
    additions = [f"scalar {name}" for name in scalars if name not in defined]
    additions += [text for name, text in _DIRECTIVE_DEFINITIONS.items() if name not in defined]
    if additions:
        document = parse(definition + "\n" + "\n".join(additions))
    schema = build_ast_schema(document)

    # build_ast_schema gives every custom scalar graphql-core's pass-through behavior; the
    # AppSync scalars get their own parsing and serialization.
    for name, scalar in scalars.items():
        declared = schema.type_map.get(name)
        if isinstance(declared, GraphQLScalarType):
            _replace_coercion(declared, scalar)
    return schema


def _replace_coercion(declared: GraphQLScalarType, scalar: GraphQLScalarType) -> None:
    """Give a scalar built from SDL the parsing and serialization of ``scalar``.

    graphql-core 3.2 calls ``serialize``, ``parse_value`` and ``parse_literal``; 3.3
    calls ``coerce_output_value`` and ``coerce_input_value`` and falls back to
    ``parse_literal`` for literals.
    """
    for name, source in (("serialize", "serialize"), ("parse_value", "parse_value"),
                         ("parse_literal", "parse_literal"),
                         ("coerce_output_value", "serialize"),
                         ("coerce_input_value", "parse_value")):
        if name.startswith("coerce") and not hasattr(declared, name):
            continue
        setattr(declared, name, getattr(scalar, source))


@dataclass(frozen=True)
class FieldAuthorization:
    """The authorization modes that a field accepts, from its directives or its type's."""

    modes: frozenset[str] | None
    """The modes named by directives; None when neither the field nor its type has one,
    so that only the API's default mode applies."""
    cognito_groups: tuple[str, ...] | None = None
    """The user pool groups of ``@aws_auth`` or ``@aws_cognito_user_pools``, if given."""


def _directives_of(node: Any) -> list[DirectiveNode]:
    directives: list[DirectiveNode] = []
    if node is None:
        return directives
    directives.extend(node.directives or ())
    return directives


def _authorization_of(directives: list[DirectiveNode]) -> FieldAuthorization | None:
    modes: set[str] = set()
    groups: list[str] | None = None
    for directive in directives:
        mode = _DIRECTIVE_MODES.get(directive.name.value)
        if mode is None:
            continue
        modes.add(mode)
        for argument in directive.arguments or ():
            if argument.name.value == "cognito_groups" and isinstance(argument.value,
                                                                       ListValueNode):
                groups = (groups or []) + [item.value for item in argument.value.values
                                           if isinstance(item, StringValueNode)]
    if not modes:
        return None
    return FieldAuthorization(frozenset(modes), tuple(groups) if groups is not None else None)


def field_authorization(parent: GraphQLNamedType, field: GraphQLField) -> FieldAuthorization:
    """Return the modes that a field accepts.

    A directive on the field overrides those on its type, and a field of a type without
    directives accepts only the default mode (security-authz.html, "Using additional
    authorization modes"). Directives in type extensions count as the type's.
    """
    own = _authorization_of(_directives_of(field.ast_node))
    if own is not None:
        return own
    type_directives = _directives_of(parent.ast_node)
    if isinstance(parent, GraphQLObjectType):
        for extension in parent.extension_ast_nodes or ():
            type_directives.extend(extension.directives or ())
    from_type = _authorization_of(type_directives)
    if from_type is not None:
        return from_type
    return FieldAuthorization(None)
