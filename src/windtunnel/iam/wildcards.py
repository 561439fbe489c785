"""Glob matching for actions, resources, ARNs and ``...Like`` condition values.

IAM has two wildcards: ``*`` matches any run of characters (including none) and ``?``
matches exactly one character. A pattern is kept as a sequence of tokens, so text that
came from a policy variable such as ``${*}`` stays literal even though it reads ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ANY_CHARACTERS",
    "ONE_CHARACTER",
    "Pattern",
    "Token",
    "arn_components",
    "match_any",
    "match_any_written",
    "match_arn",
    "match_pattern",
    "parse_pattern",
]


@dataclass(frozen=True)
class Wildcard:
    """A wildcard token, written as ``symbol`` in the policy."""

    symbol: str


ANY_CHARACTERS = Wildcard("*")
ONE_CHARACTER = Wildcard("?")

Token = str | Wildcard


@dataclass(frozen=True)
class Pattern:
    """A policy value split into literal text and wildcard tokens."""

    tokens: tuple[Token, ...]

    @property
    def text(self) -> str:
        """The value as written, with each wildcard shown as its symbol."""
        return "".join(t.symbol if isinstance(t, Wildcard) else t for t in self.tokens)

    @property
    def has_wildcards(self) -> bool:
        """Whether any token is a wildcard."""
        return any(isinstance(t, Wildcard) for t in self.tokens)

    @classmethod
    def literal(cls, text: str) -> Pattern:
        """Make a pattern in which ``*`` and ``?`` are ordinary characters."""
        return cls((text,) if text else ())


@lru_cache(maxsize=8192)
def parse_pattern(text: str) -> Pattern:
    """Split ``text`` into literal runs and the wildcards ``*`` and ``?``.

    Patterns are immutable, so parses are cached: the same policies are evaluated on every
    request.
    """
    tokens: list[Token] = []
    literal: list[str] = []
    for character in text:
        if character in "*?":
            if literal:
                tokens.append("".join(literal))
                literal.clear()
            tokens.append(ANY_CHARACTERS if character == "*" else ONE_CHARACTER)
        else:
            literal.append(character)
    if literal:
        tokens.append("".join(literal))
    return Pattern(tuple(tokens))


@lru_cache(maxsize=4096)
def _compile(pattern: Pattern, ignore_case: bool) -> re.Pattern[str]:
    parts: list[str] = []
    for token in pattern.tokens:
        if token == ANY_CHARACTERS:
            parts.append(".*")
        elif token == ONE_CHARACTER:
            parts.append(".")
        else:
            assert isinstance(token, str)
            parts.append(re.escape(token))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def match_any_written(patterns: tuple[str, ...], value: str, *,
                      ignore_case: bool = False) -> bool:
    """Return whether the whole of ``value`` matches any of ``patterns`` as written."""
    return _compile_any(patterns, ignore_case).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _compile_any(patterns: tuple[str, ...], ignore_case: bool) -> re.Pattern[str]:
    # One alternation per list of patterns, so a statement's Action list costs one match.
    alternatives = "|".join(f"(?:{_compile(parse_pattern(text), ignore_case).pattern})"
                            for text in patterns)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(alternatives, flags)


def match_pattern(pattern: Pattern, value: str, *, ignore_case: bool = False) -> bool:
    """Return whether the whole of ``value`` matches ``pattern``."""
    return _compile(pattern, ignore_case).fullmatch(value) is not None


def arn_components(text: str) -> list[str] | None:
    """Split an ARN into its six colon-separated components, or return None.

    The last component (the resource) may itself contain colons, as in
    ``arn:aws:lambda:us-east-1:123456789012:function:name``.
    """
    components = text.split(":", 5)
    if len(components) != 6 or components[0] != "arn":
        return None
    return components


def _split_pattern(pattern: Pattern) -> list[Pattern] | None:
    """Split a pattern at its first five colons, like :func:`arn_components`."""
    components: list[list[Token]] = [[]]
    for token in pattern.tokens:
        if isinstance(token, Wildcard):
            components[-1].append(token)
            continue
        pieces = token.split(":", 5 - (len(components) - 1))
        components[-1].append(pieces[0])
        for piece in pieces[1:]:
            components.append([piece] if piece else [])
    if len(components) != 6:
        return None
    return [Pattern(tuple(t for t in component if t != "")) for component in components]


def match_arn(pattern: Pattern, value: str) -> bool:
    """Match an ARN component by component, case-sensitively.

    Each of the six components is matched on its own, so a ``*`` in the region does not
    reach into the account. A pattern or value that is not a six-part ARN is matched as a
    whole string instead.
    """
    value_components = arn_components(value)
    pattern_components = _split_pattern(pattern)
    if value_components is None or pattern_components is None:
        return match_pattern(pattern, value)
    return all(
        match_pattern(component, text)
        for component, text in zip(pattern_components, value_components, strict=True)
    )


def match_any(patterns: Sequence[Pattern], value: str, *, ignore_case: bool = False) -> bool:
    """Return whether ``value`` matches at least one of ``patterns``."""
    return any(match_pattern(p, value, ignore_case=ignore_case) for p in patterns)
