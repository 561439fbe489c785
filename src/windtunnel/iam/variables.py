"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}`` and friends.

Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
Variables are replaced only in policies whose ``Version`` is ``2012-10-17``; in older
policies the text ``${aws:username}`` is an ordinary string. ``${*}``, ``${?}`` and
``${$}`` stand for the literal characters, so ``${*}`` does not act as a wildcard. A
variable whose key has no single value in the request context resolves to nothing, unless
it names a default value in single quotes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from windtunnel.iam.wildcards import Pattern, Token, parse_pattern

__all__ = ["ContextValues", "resolve", "resolve_literal"]

# Request context keys, lower-cased, mapped to their values as strings.
ContextValues = Mapping[str, Sequence[str]]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'((?:[^']|'')*)'\s*$")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def _substitute(name: str, context: ContextValues) -> str | None:
    escaped = _ESCAPES.get(name.strip())
    if escaped is not None:
        return escaped
    default: str | None = None
    with_default = _DEFAULT.match(name)
    if with_default:
        name, default = with_default.group(1), with_default.group(2).replace("''", "'")
    values = context.get(name.strip().lower(), ())
    if len(values) == 1:
        return values[0]
    return default


def resolve(text: str, context: ContextValues, *, variables: bool) -> Pattern | None:
    """Replace the variables in ``text`` and split the result into a wildcard pattern.

    Substituted text is literal: a ``*`` in a user name does not become a wildcard.
    Returns None when a variable has no value and no default, because IAM then treats the
    element that contains it as not matching.
    """
    if not variables or "${" not in text:
        return parse_pattern(text)
    tokens: list[Token] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        tokens.extend(parse_pattern(text[position : found.start()]).tokens)
        value = _substitute(found.group(1), context)
        if value is None:
            return None
        if value:
            tokens.append(value)
        position = found.end()
    tokens.extend(parse_pattern(text[position:]).tokens)
    return Pattern(tuple(tokens))


def resolve_literal(text: str, context: ContextValues, *, variables: bool) -> str | None:
    """Replace the variables in ``text`` and return plain text, or None if one has no value."""
    pattern = resolve(text, context, variables=variables)
    return None if pattern is None else pattern.text
