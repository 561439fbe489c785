"""Syntax of intrinsic function calls: the argument grammar and the tree it parses into.

The grammar follows the Amazon States Language page on intrinsic functions
(https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html):

- a call is ``States.<Name>(<argument>, ...)`` with zero or more arguments;
- an argument is a string literal in single quotes, a number, ``true``, ``false``,
  ``null``, a path (``$``, ``$.a.b``, ``$$.Execution.Id``, ``$variable.x``) or a call;
- inside a string literal only ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` are escapes. Any other
  backslash makes the definition invalid: AWS rejects ``\\"`` inside a literal at
  CreateStateMachine with SCHEMA_VALIDATION_FAILED (recorded from AWS in LocalStack's
  ``tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json``,
  ``test_illegal_escapes``).

Paths are not interpreted here. The parser only finds where a path ends (the first comma
or closing parenthesis outside brackets, parentheses and quotes) and hands the text to
the caller's resolver.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

__all__ = [
    "Argument",
    "IntrinsicCall",
    "IntrinsicSyntaxError",
    "Literal",
    "PathArgument",
    "StringLiteral",
    "parse_call",
]

logger = logging.getLogger(__name__)

_FUNCTION_NAME = re.compile(r"States\.([A-Za-z0-9]+)\(")
# JSON's number syntax: an optional minus, an integer part without leading zeros, an
# optional fraction and an optional exponent.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_KEYWORDS: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_ESCAPABLE = "'{}\\"
_PATH_START = re.compile(r"\$(?:[.\[$A-Za-z_]|(?=[\s,)])|$)")
_CLOSERS = {"(": ")", "[": "]"}


class IntrinsicSyntaxError(ValueError):
    """An intrinsic function call that AWS would reject when the state machine is created."""


@dataclass(frozen=True)
class StringLiteral:
    """A single-quoted string argument after its escapes are decoded.

    ``format_parts`` is the value split at each ``{}`` written without escapes, so that
    ``States.Format`` can tell a placeholder from the escaped text ``\\{\\}``.
    """

    value: str
    format_parts: tuple[str, ...]


@dataclass(frozen=True)
class Literal:
    """A number, ``true``, ``false`` or ``null`` argument."""

    value: int | float | bool | None


@dataclass(frozen=True)
class PathArgument:
    """A path argument, resolved by the caller when the call is evaluated."""

    path: str


@dataclass(frozen=True)
class IntrinsicCall:
    """A parsed call: the function name with its ``States.`` prefix and its arguments."""

    name: str
    arguments: tuple[Argument, ...]
    text: str

    def count_calls(self) -> int:
        """Count this call and every call nested in its arguments."""
        nested = sum(
            argument.count_calls()
            for argument in self.arguments
            if isinstance(argument, IntrinsicCall)
        )
        return 1 + nested


Argument = StringLiteral | Literal | PathArgument | IntrinsicCall


def parse_call(text: str) -> IntrinsicCall:
    """Parse ``text`` as one intrinsic function call, nothing before it and only spaces after.

    Raises IntrinsicSyntaxError when the text does not follow the grammar. Function names
    and argument counts are checked by the caller.
    """
    parser = _Parser(text)
    call = parser.parse_call()
    parser.skip_whitespace()
    if parser.position != len(text):
        raise parser.error("unexpected text after the closing parenthesis")
    return call


class _Parser:
    """A recursive-descent parser over one expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def error(self, problem: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(
            f"Invalid intrinsic function call {self.text!r}: {problem} at offset {self.position}."
        )

    def skip_whitespace(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def parse_call(self) -> IntrinsicCall:
        start = self.position
        match = _FUNCTION_NAME.match(self.text, self.position)
        if match is None:
            raise self.error("expected a function call such as States.Format(...)")
        self.position = match.end()

        arguments: list[Argument] = []
        self.skip_whitespace()
        if self._peek() == ")":
            self.position += 1
            return IntrinsicCall(f"States.{match.group(1)}", (), self.text[start : self.position])

        while True:
            self.skip_whitespace()
            arguments.append(self.parse_argument())
            self.skip_whitespace()
            separator = self._peek()
            if separator == ",":
                self.position += 1
                continue
            if separator == ")":
                self.position += 1
                break
            if separator == "":
                raise self.error("missing closing parenthesis")
            raise self.error(f"expected ',' or ')' but found {separator!r}")

        name = f"States.{match.group(1)}"
        return IntrinsicCall(name, tuple(arguments), self.text[start : self.position])

    def parse_argument(self) -> Argument:
        character = self._peek()
        if character == "'":
            return self.parse_string()
        if character == "$":
            return self.parse_path()
        if self.text.startswith("States.", self.position):
            return self.parse_call()
        if character == "-" or character.isdigit():
            return self.parse_number()
        for keyword, value in _KEYWORDS.items():
            if self.text.startswith(keyword, self.position):
                self.position += len(keyword)
                self._expect_argument_end(keyword)
                return Literal(value)
        if character in ("", ",", ")"):
            raise self.error("missing argument")
        raise self.error(f"unexpected character {character!r}")

    def parse_string(self) -> StringLiteral:
        self.position += 1
        parts: list[str] = []
        current: list[str] = []
        while True:
            character = self._peek()
            if character == "":
                raise self.error("unterminated string literal")
            if character == "'":
                self.position += 1
                break
            if character == "\\":
                escaped = self.text[self.position + 1 : self.position + 2]
                if escaped == "" or escaped not in _ESCAPABLE:
                    raise self.error(
                        "invalid escape in a string literal; "
                        "only \\', \\{, \\} and \\\\ are allowed"
                    )
                current.append(escaped)
                self.position += 2
                continue
            if self.text.startswith("{}", self.position):
                parts.append("".join(current))
                current = []
                self.position += 2
                continue
            current.append(character)
            self.position += 1

        parts.append("".join(current))
        self._expect_argument_end("string literal")
        return StringLiteral("{}".join(parts), tuple(parts))

    def parse_number(self) -> Literal:
        match = _NUMBER.match(self.text, self.position)
        if match is None:
            raise self.error("invalid number")
        self.position = match.end()
        self._expect_argument_end("number")

        number_text = match.group(0)
        if any(marker in number_text for marker in ".eE"):
            return Literal(float(number_text))
        return Literal(int(number_text))

    def parse_path(self) -> PathArgument:
        start = self.position
        if _PATH_START.match(self.text, start) is None:
            raise self.error("invalid path; a path starts with $, $., $[, $$ or $<variable name>")

        open_brackets: list[str] = []
        while self.position < len(self.text):
            character = self.text[self.position]
            if character in "'\"":
                self._skip_quoted(character)
                continue
            if character in _CLOSERS:
                open_brackets.append(_CLOSERS[character])
            elif character in ")]":
                if not open_brackets and character == ")":
                    break
                if not open_brackets or open_brackets.pop() != character:
                    raise self.error("unbalanced brackets in a path")
            elif not open_brackets and (character == "," or character.isspace()):
                break
            self.position += 1

        if open_brackets:
            raise self.error("unbalanced brackets in a path")
        return PathArgument(self.text[start : self.position])

    def _skip_quoted(self, quote: str) -> None:
        """Move past a quoted key or filter operand inside a path, honoring backslash escapes."""
        self.position += 1
        while self.position < len(self.text):
            character = self.text[self.position]
            if character == "\\":
                self.position += 2
                continue
            self.position += 1
            if character == quote:
                return
        raise self.error("unterminated quoted text in a path")

    def _expect_argument_end(self, construct: str) -> None:
        following = self._peek()
        if following not in ("", ",", ")") and not following.isspace():
            raise self.error(f"unexpected {following!r} after a {construct}")

    def _peek(self) -> str:
        return self.text[self.position : self.position + 1]
