"""Check APPSYNC_JS code against the language subset that AppSync's runtime accepts.

Source: https://docs.aws.amazon.com/appsync/latest/devguide/supported-features.html
("Supported runtime features"). AppSync rejects ``try``, ``catch``, ``finally``, ``throw``,
``while``, ``do``-``while``, ``continue``, C-style ``for`` loops and labeled statements.
It also rejects the ``++``, ``--``, ``~`` and ``in`` operators, but allows ``for-in`` and
``for-of``. The resolver reference lists classes and ``async`` functions as unsupported too.

The check works on tokens, not on a syntax tree, so it needs no JavaScript parser. Syntax
errors are left to the engine, which reports them when the code is compiled.

Limitations:
- The ``value`` texts of the errors are windtunnel's own. AWS documents ``LINT_ERROR`` as
  an error type with a line, column and span, but not the wording of each rule.
- Labeled statements are not detected, because telling a label from an object key or a
  ``case`` needs a parser. The engine runs such code.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

__all__ = ["CodeError", "check_code"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodeError:
    """One error in APPSYNC_JS code, in the shape of AppSync's ``CodeError``."""

    error_type: str
    value: str
    line: int
    column: int
    span: int

    def to_json_object(self) -> dict[str, object]:
        """Return the error as the AppSync API shows it."""
        return {"errorType": self.error_type, "value": self.value,
                "location": {"line": self.line, "column": self.column, "span": self.span}}


@dataclass(frozen=True)
class _Token:
    kind: str
    """``name``, ``punctuator``, ``string``, ``template``, ``number`` or ``regex``."""
    text: str
    offset: int


_PUNCTUATORS = sorted([
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
    "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=",
    "/=", "%=", "&=", "|=", "^=", "<<", ">>", "**",
    "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+", "-", "*", "/", "%", "&", "|",
    "^", "!", "~", "?", ":", "=", ".", "@", "#",
], key=len, reverse=True)
_NAME = re.compile(r"[A-Za-z_$\u0080-\uffff][\w$\u0080-\uffff]*")
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|"
                     r"(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)n?")
# After these tokens a slash starts a regular expression rather than a division.
_REGEX_AFTER_NAMES = frozenset({"return", "typeof", "case", "do", "else", "in", "of",
                                "instanceof", "new", "delete", "void", "throw", "yield"})

# Statement keywords that AppSync rejects, with the text of the error.
_FORBIDDEN_WORDS = {
    "try": "try statements are not supported.",
    "catch": "catch clauses are not supported.",
    "finally": "finally clauses are not supported.",
    "throw": "throw statements are not supported; use util.error to raise an error.",
    "while": "while and do-while loops are not supported; use for-of or for-in.",
    "do": "while and do-while loops are not supported; use for-of or for-in.",
    "continue": "continue statements are not supported.",
    "class": "classes are not supported.",
    "async": "async functions are not supported.",
    "await": "await is not supported.",
}
_FORBIDDEN_OPERATORS = {
    "++": "the ++ operator is not supported; use += 1.",
    "--": "the -- operator is not supported; use -= 1.",
    "~": "the ~ operator is not supported.",
}


class _Tokenizer:
    """Split JavaScript source into tokens, skipping comments and whitespace."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0
        self.tokens: list[_Token] = []
        # The brace depths at which a template literal's ``${`` substitution started.
        self.template_depths: list[int] = []
        self.brace_depth = 0

    def run(self) -> list[_Token]:
        source = self.source
        while self.position < len(source):
            character = source[self.position]
            if character.isspace():
                self.position += 1
            elif source.startswith("//", self.position):
                end = source.find("\n", self.position)
                self.position = len(source) if end < 0 else end
            elif source.startswith("/*", self.position):
                end = source.find("*/", self.position + 2)
                self.position = len(source) if end < 0 else end + 2
            elif character in "'\"":
                self._string(character)
            elif character == "`":
                self._template(self.position + 1)
            elif character == "}" and self.template_depths \
                    and self.template_depths[-1] == self.brace_depth:
                self.template_depths.pop()
                self._template(self.position + 1)
            elif character == "/" and self._regex_allowed():
                self._regex()
            else:
                self._other()
        return self.tokens

    def _add(self, kind: str, start: int, end: int) -> None:
        self.tokens.append(_Token(kind, self.source[start:end], start))
        self.position = end

    def _string(self, quote: str) -> None:
        index = self.position + 1
        while index < len(self.source) and self.source[index] not in (quote, "\n"):
            index += 2 if self.source[index] == "\\" else 1
        self._add("string", self.position, min(index + 1, len(self.source)))

    def _template(self, index: int) -> None:
        """Read template text up to its closing backtick or the next ``${``."""
        start = self.position
        while index < len(self.source):
            if self.source[index] == "\\":
                index += 2
            elif self.source[index] == "`":
                self._add("template", start, index + 1)
                return
            elif self.source.startswith("${", index):
                self.template_depths.append(self.brace_depth)
                self._add("template", start, index + 2)
                return
            else:
                index += 1
        self._add("template", start, len(self.source))

    def _regex_allowed(self) -> bool:
        if not self.tokens:
            return True
        previous = self.tokens[-1]
        if previous.kind == "name":
            return previous.text in _REGEX_AFTER_NAMES
        if previous.kind == "punctuator":
            return previous.text not in (")", "]", "}")
        return False

    def _regex(self) -> None:
        index = self.position + 1
        in_class = False
        while index < len(self.source) and self.source[index] != "\n":
            character = self.source[index]
            if character == "\\":
                index += 2
                continue
            if character == "[":
                in_class = True
            elif character == "]":
                in_class = False
            elif character == "/" and not in_class:
                break
            index += 1
        index += 1
        while index < len(self.source) and (self.source[index].isalnum()):
            index += 1
        self._add("regex", self.position, index)

    def _other(self) -> None:
        name = _NAME.match(self.source, self.position)
        if name:
            self._add("name", self.position, name.end())
            return
        number = _NUMBER.match(self.source, self.position)
        if number and number.end() > self.position:
            self._add("number", self.position, number.end())
            return
        for punctuator in _PUNCTUATORS:
            if self.source.startswith(punctuator, self.position):
                if punctuator == "{":
                    self.brace_depth += 1
                elif punctuator == "}":
                    self.brace_depth -= 1
                self._add("punctuator", self.position, self.position + len(punctuator))
                return
        # An unknown character is the engine's to report as a syntax error.
        self.position += 1


def _location(source: str, token: _Token) -> tuple[int, int]:
    """Return the 1-based line and column of a token."""
    line = source.count("\n", 0, token.offset) + 1
    column = token.offset - source.rfind("\n", 0, token.offset)
    return line, column


def _is_property_name(tokens: list[_Token], index: int) -> bool:
    """Tell whether a keyword is used as a property name (``a.catch``, ``{ do: 1 }``)."""
    if index > 0 and tokens[index - 1].text in (".", "?."):
        return True
    following = tokens[index + 1].text if index + 1 < len(tokens) else ""
    previous = tokens[index - 1].text if index > 0 else ""
    return following == ":" and previous in ("{", ",")


def _for_header_end(tokens: list[_Token], start: int) -> int:
    """Return the index of the ``)`` that closes the ``for (`` header opened at ``start``."""
    depth = 0
    for index in range(start, len(tokens)):
        if tokens[index].kind != "punctuator":
            continue
        if tokens[index].text in ("(", "[", "{"):
            depth += 1
        elif tokens[index].text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def check_code(source: str) -> list[CodeError]:
    """Return the uses of JavaScript features that the APPSYNC_JS runtime rejects."""
    tokens = _Tokenizer(source).run()
    errors: list[CodeError] = []
    # Indexes of ``in`` tokens that belong to a for-in header and are allowed there.
    for_in_tokens: set[int] = set()

    def report(token: _Token, message: str) -> None:
        line, column = _location(source, token)
        errors.append(CodeError("LINT_ERROR", message, line, column, len(token.text)))

    for index, token in enumerate(tokens):
        if token.kind == "name" and not _is_property_name(tokens, index):
            if token.text in _FORBIDDEN_WORDS:
                report(token, _FORBIDDEN_WORDS[token.text])
            elif token.text == "for":
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                if following is None or following.text != "(":
                    continue
                end = _for_header_end(tokens, index + 1)
                depth = 0
                loop_kind = "c-style"
                for inner in range(index + 2, end):
                    text = tokens[inner].text
                    if tokens[inner].kind == "punctuator" and text in ("(", "[", "{"):
                        depth += 1
                    elif tokens[inner].kind == "punctuator" and text in (")", "]", "}"):
                        depth -= 1
                    elif depth == 0 and tokens[inner].kind == "name" and text in ("of", "in"):
                        loop_kind = text
                        if text == "in":
                            for_in_tokens.add(inner)
                        break
                if loop_kind == "c-style":
                    report(token, "for loops with initialization, condition and afterthought "
                                  "are not supported; use for-of or for-in.")
            elif token.text == "in" and index not in for_in_tokens:
                report(token, "the in operator is not supported; use Object.hasOwn.")
        elif token.kind == "punctuator" and token.text in _FORBIDDEN_OPERATORS:
            report(token, _FORBIDDEN_OPERATORS[token.text])

    if errors:
        logger.debug("APPSYNC_JS code has %d unsupported constructs", len(errors))
    return errors
