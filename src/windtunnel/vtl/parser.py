"""Parser for Velocity 1.7 templates, with the lexer's whitespace rules kept.

Velocity 1.7 (https://velocity.apache.org/engine/1.7/user-guide.html) decides the
layout of the output in its lexer, and this parser follows that grammar:

- a closing ``)`` of a directive, ``#else`` and ``#end`` swallow the spaces, tabs and
  the one newline that follow them on the same line;
- ``#set`` also swallows the spaces and tabs before it, but only when they start a new
  lexical token, such as right after another directive; indentation after plain text
  stays in the output;
- ``##`` comments swallow their newline, ``#* *#`` comments do not;
- a ``$`` or ``#`` that does not start a reference or a directive is text.

The parser accepts a few forms that Velocity 1.7 rejects: any expression as a method
argument or index (Velocity allows only literals and references there) and whitespace
inside an empty argument list.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable

from windtunnel.vtl.errors import VtlSyntaxError
from windtunnel.vtl.nodes import (
    Accessor,
    Binary,
    Block,
    Break,
    Define,
    Directive,
    Expression,
    Foreach,
    If,
    Index,
    Interpolated,
    ListLiteral,
    Literal,
    MacroCall,
    MacroDefinition,
    MapLiteral,
    Method,
    Not,
    Position,
    Property,
    Range,
    Reference,
    Set,
    Statement,
    Stop,
    Text,
    Unsupported,
)

__all__ = ["parse"]

logger = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]*")
_DIRECTIVE_WORD = re.compile(r"([a-zA-Z_@][a-zA-Z0-9_@]*)|\{([a-zA-Z_@][a-zA-Z0-9_@]*)\}")
_PLAIN_TEXT = re.compile(r"[^$#\\]+")
_SET_AHEAD = re.compile(r"[ \t]+#(?:set|\{set\}) *\(")
_LINE_END = re.compile(r"[ \t]*(?:\r\n|\n|\r)")
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_FLOAT = re.compile(r"-?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)")
_INTEGER = re.compile(r"-?\d+")
_WORD_OPERATORS = {
    "or": "||", "and": "&&", "eq": "==", "ne": "!=",
    "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
}
_SYMBOL_OPERATORS = ("||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%")
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"),
)

# Directives that Velocity 1.7 knows by name; an escaped one (``\#if``) loses its
# backslash, any other ``\#word`` prints as written.
_KNOWN_DIRECTIVES = frozenset({
    "if", "else", "elseif", "end", "set", "stop", "foreach", "include", "parse", "macro",
    "literal", "evaluate", "break", "define",
})
_UNSUPPORTED = frozenset({"include", "parse", "evaluate", "literal"})


def parse(source: str, *, line_directives: Iterable[str] = (),
          null_literal: bool = False) -> Block:
    """Parse a template; ``line_directives`` names dialect directives such as ``return``,
    and ``null_literal`` lets ``null`` stand for the null value (AppSync's dialect)."""
    return _Parser(source, frozenset(line_directives), null_literal).parse_template()


class _Parser:
    def __init__(self, source: str, line_directives: frozenset[str],
                 null_literal: bool = False) -> None:
        self.source = source
        self.position = 0
        self.line_directives = line_directives
        self.null_literal = null_literal
        self.macro_names: set[str] = set()
        self.line_starts = [0] + [match.end() for match in re.finditer(r"\r\n|\n|\r", source)]
        # True where the Velocity lexer would start a new token, which decides whether
        # spaces before #set belong to the text or to the directive.
        self.token_start = True

    # --- helpers --------------------------------------------------------------

    def where(self, offset: int | None = None) -> Position:
        offset = self.position if offset is None else offset
        line = bisect.bisect_right(self.line_starts, offset)
        return Position(line, offset - self.line_starts[line - 1] + 1)

    def error(self, message: str, offset: int | None = None) -> VtlSyntaxError:
        position = self.where(offset)
        return VtlSyntaxError(message, line=position.line, column=position.column)

    def peek(self, length: int = 1) -> str:
        return self.source[self.position:self.position + length]

    def at_end(self) -> bool:
        return self.position >= len(self.source)

    def skip_whitespace(self) -> None:
        match = _WHITESPACE.match(self.source, self.position)
        assert match is not None
        self.position = match.end()

    def expect(self, token: str, context: str) -> None:
        if not self.source.startswith(token, self.position):
            found = repr(self.peek()) if not self.at_end() else "the end of the template"
            raise self.error(f"Invalid {context}: expected {token!r} but found {found}")
        self.position += len(token)

    def close_directive(self, context: str) -> None:
        """Consume a directive's ``)`` and, as Velocity does, the rest of its line if blank."""
        self.skip_whitespace()
        self.expect(")", context)
        self.swallow_line_end()

    def swallow_line_end(self) -> None:
        match = _LINE_END.match(self.source, self.position)
        if match is not None:
            self.position = match.end()

    # --- statements -----------------------------------------------------------

    def parse_template(self) -> Block:
        block, closer, offset = self.parse_block(())
        if closer is not None:
            raise self.error(f"Invalid #{closer}: no #if, #foreach, #macro or #define is open",
                             offset)
        return block

    def parse_block(self, closers: tuple[str, ...]) -> tuple[Block, str | None, int]:
        """Parse statements until one of ``closers`` (``end``, ``else``, ``elseif``) or the end."""
        statements: list[Statement] = []

        def add_text(text: str) -> None:
            if statements and isinstance(statements[-1], Text):
                statements[-1] = Text(statements[-1].text + text)
            else:
                statements.append(Text(text))

        while not self.at_end():
            char = self.source[self.position]
            if char == "#":
                start = self.position
                result = self.parse_hash(closers)
                if isinstance(result, str):
                    return Block(tuple(statements)), result, start
                if isinstance(result, Text):
                    add_text(result.text)
                elif result is not None:
                    statements.append(result)
            elif char == "$":
                reference = self.parse_reference(0)
                if reference is None:
                    add_text("$")
                    self.position += 1
                    self.token_start = False
                else:
                    statements.append(reference)
                    self.token_start = True
            elif char == "\\":
                for item in self.parse_backslashes():
                    if isinstance(item, Text):
                        add_text(item.text)
                    else:
                        statements.append(item)
            else:
                if self.token_start:
                    ahead = _SET_AHEAD.match(self.source, self.position)
                    if ahead is not None:
                        self.position = self.source.index("#", self.position)
                        continue
                match = _PLAIN_TEXT.match(self.source, self.position)
                assert match is not None
                add_text(match.group())
                self.position = match.end()
                self.token_start = False
        return Block(tuple(statements)), None, self.position

    def parse_backslashes(self) -> list[Statement]:
        """Parse a run of backslashes and the reference or directive they may escape."""
        start = self.position
        while self.peek() == "\\":
            self.position += 1
        count = self.position - start
        self.token_start = True

        if self.peek() == "$":
            reference = self.parse_reference(count)
            if reference is not None:
                return [reference]
            return [Text("\\" * count)]

        if self.peek() == "#":
            word = _DIRECTIVE_WORD.match(self.source, self.position + 1)
            if word is None:
                return [Text("\\" * count)]
            name = word.group(1) or word.group(2)
            recognized = (name in _KNOWN_DIRECTIVES or name in self.macro_names
                          or name in self.line_directives)
            if count % 2 == 1:
                # \#if prints "#if"; each pair of backslashes before it prints one.
                self.position = word.end()
                image = self.source[start:self.position]
                if not recognized:
                    return [Text(image)]
                return [Text("\\" * (count // 2) + image[count:])]
            return [Text("\\" * (count // 2 if recognized else count))]

        return [Text("\\" * count)]

    def parse_hash(self, closers: tuple[str, ...]) -> Statement | str | None:
        """Parse what starts with ``#``; return a closer name when it ends the current block."""
        start = self.position
        source = self.source
        self.token_start = True

        if source.startswith("#[[", start):
            end = source.find("]]#", start + 3)
            if end < 0:
                raise self.error("Invalid #[[ block: no closing ]]#", start)
            self.position = end + 3
            return Text(source[start + 3:end])
        if source.startswith("##", start):
            newline = re.compile(r"\r\n|\n|\r").search(source, start)
            self.position = newline.end() if newline is not None else len(source)
            return None
        if source.startswith("#*", start):
            end = source.find("*#", start + 2)
            if end < 0:
                raise self.error("Invalid comment: no closing *# for #*", start)
            self.position = end + 2
            return None

        word = _DIRECTIVE_WORD.match(source, start + 1)
        if word is None:
            self.position += 1
            self.token_start = False
            return Text("#")
        name = word.group(1) or word.group(2)
        self.position = word.end()

        if name in ("end", "else", "elseif"):
            if name not in closers:
                raise self.error(f"Invalid #{name}: no matching #if is open"
                                 if name != "end" else
                                 "Invalid #end: no #if, #foreach, #macro or #define is open",
                                 start)
            if name != "elseif":
                self.swallow_line_end()
            return name
        if name == "if":
            return self.parse_if(start)
        if name == "set":
            if re.compile(r" *\(").match(source, self.position) is None:
                return Text(source[start:self.position])
            return self.parse_set(start)
        if name == "stop":
            return Stop(self.where(start))
        if name == "foreach":
            return self.parse_foreach(start)
        if name == "macro":
            return self.parse_macro(start)
        if name == "define":
            return self.parse_define(start)
        if name == "break":
            if self.left_parenthesis_follows():
                self.parse_arguments("#break")
            return Break(self.where(start))
        if name in _UNSUPPORTED:
            if self.left_parenthesis_follows():
                self.parse_arguments(f"#{name}")
            return Unsupported(name, self.where(start))
        if name in self.line_directives:
            arguments: tuple[Expression, ...] = ()
            if self.left_parenthesis_follows():
                arguments = self.parse_arguments(f"#{name}")
            return Directive(name, arguments, self.where(start))
        if name.startswith("@"):
            if not self.left_parenthesis_follows():
                raise self.error(f"Invalid #{name}: a block macro call needs parentheses", start)
            arguments = self.parse_arguments(f"#{name}")
            body, _, _ = self.parse_closed_block(f"#{name}", start)
            return MacroCall(name[1:], arguments, body, source[start:self.position],
                             self.where(start))
        if self.left_parenthesis_follows():
            # A call to an undefined macro prints as written, with the line end included.
            arguments = self.parse_arguments(f"#{name}")
            return MacroCall(name, arguments, None, source[start:self.position], self.where(start))
        return Text(source[start:self.position])

    def left_parenthesis_follows(self) -> bool:
        match = _WHITESPACE.match(self.source, self.position)
        assert match is not None
        return self.source.startswith("(", match.end())

    def parse_closed_block(self, context: str, start: int) -> tuple[Block, str | None, int]:
        body, closer, _ = self.parse_block(("end",))
        if closer != "end":
            raise self.error(f"Invalid {context}: no #end closes it", start)
        return body, closer, start

    def parse_if(self, start: int) -> If:
        branches: list[tuple[Expression, Block]] = []
        keyword = "#if"
        while True:
            self.skip_whitespace()
            self.expect("(", keyword)
            condition = self.parse_expression()
            self.close_directive(keyword)
            body, closer, _ = self.parse_block(("else", "elseif", "end"))
            branches.append((condition, body))
            if closer == "elseif":
                keyword = "#elseif"
                continue
            if closer == "else":
                otherwise, closer, _ = self.parse_block(("end",))
                if closer != "end":
                    raise self.error("Invalid #if: no #end closes it", start)
                return If(tuple(branches), otherwise)
            if closer == "end":
                return If(tuple(branches), None)
            raise self.error("Invalid #if: no #end closes it", start)

    def parse_set(self, start: int) -> Set:
        self.skip_whitespace()
        self.expect("(", "#set")
        self.skip_whitespace()
        if self.peek() != "$":
            raise self.error("Invalid #set: the left side must be a reference such as $name")
        target = self.parse_reference(0)
        if target is None:
            raise self.error("Invalid #set: the left side must be a reference such as $name")
        if target.accessors and isinstance(target.accessors[-1], Method):
            raise self.error("Invalid #set: the left side cannot end with a method call")
        self.skip_whitespace()
        self.expect("=", "#set")
        value = self.parse_expression()
        self.close_directive("#set")
        return Set(target, value, self.where(start))

    def parse_foreach(self, start: int) -> Foreach:
        self.skip_whitespace()
        self.expect("(", "#foreach")
        self.skip_whitespace()
        variable = self.parse_reference(0) if self.peek() == "$" else None
        if variable is None or variable.accessors:
            raise self.error("Invalid #foreach: expected a variable such as $item")
        self.skip_whitespace()
        if re.compile(r"in\b").match(self.source, self.position) is None:
            raise self.error("Invalid #foreach: expected 'in' after the loop variable")
        self.position += 2
        iterable = self.parse_expression()
        self.close_directive("#foreach")
        body, _, _ = self.parse_closed_block("#foreach", start)
        return Foreach(variable.name, iterable, body, self.where(start))

    def parse_macro(self, start: int) -> MacroDefinition:
        self.skip_whitespace()
        self.expect("(", "#macro")
        self.skip_whitespace()
        name = _DIRECTIVE_WORD.match(self.source, self.position)
        if name is None or name.group(1) is None:
            raise self.error("Invalid #macro: the first argument must be the macro's name")
        self.position = name.end()
        parameters: list[str] = []
        while True:
            self.skip_whitespace()
            if self.peek() == ",":
                self.position += 1
                self.skip_whitespace()
            if self.peek() != "$":
                break
            parameter = self.parse_reference(0)
            if parameter is None or parameter.accessors:
                raise self.error("Invalid #macro: parameters must be variables such as $name")
            parameters.append(parameter.name)
        self.close_directive("#macro")
        self.macro_names.add(name.group(1))
        body, _, _ = self.parse_closed_block("#macro", start)
        return MacroDefinition(name.group(1), tuple(parameters), body, self.where(start))

    def parse_define(self, start: int) -> Define:
        self.skip_whitespace()
        self.expect("(", "#define")
        self.skip_whitespace()
        target = self.parse_reference(0) if self.peek() == "$" else None
        if target is None or target.accessors:
            raise self.error("Invalid #define: expected a variable such as $block")
        self.close_directive("#define")
        body, _, _ = self.parse_closed_block("#define", start)
        return Define(target.name, body)

    def parse_arguments(self, context: str) -> tuple[Expression, ...]:
        """Parse ``(arg arg, arg)``: directive arguments separated by spaces or commas."""
        self.skip_whitespace()
        self.expect("(", context)
        arguments: list[Expression] = []
        while True:
            self.skip_whitespace()
            if self.peek() == ")":
                self.position += 1
                break
            if arguments and self.peek() == ",":
                self.position += 1
                self.skip_whitespace()
            word = _DIRECTIVE_WORD.match(self.source, self.position)
            if word is not None and word.group(1) and word.group(1) not in ("true", "false"):
                # A bare word, as Velocity allows for the name in #macro(name).
                arguments.append(Literal(word.group(1)))
                self.position = word.end()
                continue
            arguments.append(self.parse_primary(context))
        self.swallow_line_end()
        return tuple(arguments)

    # --- references -----------------------------------------------------------

    def parse_reference(self, backslashes: int) -> Reference | None:
        """Parse a reference at ``$``, or return None and move nothing if there is none."""
        source = self.source
        start = self.position
        cursor = start + 1
        quiet = source.startswith("!", cursor)
        if quiet:
            cursor += 1
        formal = source.startswith("{", cursor)
        if formal:
            cursor += 1
        identifier = _IDENTIFIER.match(source, cursor)
        if identifier is None:
            return None
        self.position = identifier.end()
        accessors: list[Accessor] = []
        while not self.at_end():
            char = source[self.position]
            if char == "[":
                self.position += 1
                self.skip_whitespace()
                key = self.parse_expression()
                self.skip_whitespace()
                self.expect("]", "index")
                accessors.append(Index(key))
            elif char == "." and self.position + 1 < len(source) and source[
                    self.position + 1].isascii() and source[self.position + 1].isalpha():
                member = _IDENTIFIER.match(source, self.position + 1)
                assert member is not None
                self.position = member.end()
                if self.peek() == "(":
                    accessors.append(Method(member.group(), self.parse_call_arguments()))
                else:
                    accessors.append(Property(member.group()))
            else:
                break
        if formal:
            self.expect("}", f"reference {source[start:self.position]}")
        return Reference(
            name=identifier.group(),
            accessors=tuple(accessors),
            source=source[start:self.position],
            quiet=quiet,
            position=self.where(start),
            backslashes=backslashes,
        )

    def parse_call_arguments(self) -> tuple[Expression, ...]:
        self.expect("(", "method call")
        arguments: list[Expression] = []
        self.skip_whitespace()
        if self.peek() == ")":
            self.position += 1
            return ()
        while True:
            arguments.append(self.parse_expression())
            self.skip_whitespace()
            if self.peek() == ",":
                self.position += 1
                continue
            self.expect(")", "method call")
            return tuple(arguments)

    # --- expressions ----------------------------------------------------------

    def parse_expression(self, level: int = 0) -> Expression:
        if level == len(_LEVELS):
            return self.parse_unary()
        left = self.parse_expression(level + 1)
        while True:
            self.skip_whitespace()
            start = self.position
            operator = self.match_operator()
            if operator is None or operator not in _LEVELS[level]:
                self.position = start
                return left
            right = self.parse_expression(level + 1)
            left = Binary(operator, left, right, self.where(start))

    def match_operator(self) -> str | None:
        word = re.compile(r"[a-z]+\b").match(self.source, self.position)
        if word is not None and word.group() in _WORD_OPERATORS:
            self.position = word.end()
            return _WORD_OPERATORS[word.group()]
        for operator in _SYMBOL_OPERATORS:
            if self.source.startswith(operator, self.position):
                self.position += len(operator)
                return operator
        return None

    def parse_unary(self) -> Expression:
        self.skip_whitespace()
        if self.peek() == "!" and self.peek(2) != "!=":
            self.position += 1
            return Not(self.parse_unary())
        if re.compile(r"not\b").match(self.source, self.position):
            self.position += 3
            return Not(self.parse_unary())
        return self.parse_primary("expression")

    def parse_primary(self, context: str) -> Expression:
        self.skip_whitespace()
        source = self.source
        start = self.position
        char = self.peek()
        if char == "$":
            reference = self.parse_reference(0)
            if reference is None:
                raise self.error(f"Invalid {context}: '$' must start a reference such as $name")
            return reference
        if char in ("'", '"'):
            return self.parse_string()
        if char == "(":
            self.position += 1
            inner = self.parse_expression()
            self.skip_whitespace()
            self.expect(")", context)
            return inner
        if char == "[":
            return self.parse_list()
        if char == "{":
            return self.parse_map()
        keywords: tuple[tuple[str, object], ...] = (("true", True), ("false", False))
        if self.null_literal:
            keywords += (("null", None),)
        for keyword, value in keywords:
            if re.compile(keyword + r"\b").match(source, start):
                self.position += len(keyword)
                return Literal(value)
        integer = _INTEGER.match(source, start)
        number = _FLOAT.match(source, start)
        if integer is not None and (number is None or source.startswith("..", integer.end())):
            self.position = integer.end()
            return Literal(int(integer.group()))
        if number is not None:
            self.position = number.end()
            return Literal(float(number.group()))
        found = repr(char) if char else "the end of the template"
        raise self.error(f"Invalid {context}: unexpected {found}")

    def parse_list(self) -> Expression:
        start = self.position
        self.position += 1
        self.skip_whitespace()
        if self.peek() == "]":
            self.position += 1
            return ListLiteral(())
        first = self.parse_expression()
        self.skip_whitespace()
        if self.peek(2) == "..":
            self.position += 2
            last = self.parse_expression()
            self.skip_whitespace()
            self.expect("]", "range")
            return Range(first, last, self.where(start))
        items = [first]
        while True:
            self.skip_whitespace()
            if self.peek() == ",":
                self.position += 1
                items.append(self.parse_expression())
                continue
            self.expect("]", "list")
            return ListLiteral(tuple(items))

    def parse_map(self) -> Expression:
        self.position += 1
        self.skip_whitespace()
        entries: list[tuple[Expression, Expression]] = []
        if self.peek() == "}":
            self.position += 1
            return MapLiteral(())
        while True:
            key = self.parse_expression()
            self.skip_whitespace()
            self.expect(":", "map")
            value = self.parse_expression()
            entries.append((key, value))
            self.skip_whitespace()
            if self.peek() == ",":
                self.position += 1
                continue
            self.expect("}", "map")
            return MapLiteral(tuple(entries))

    def parse_string(self) -> Expression:
        source = self.source
        start = self.position
        quote = source[start]
        cursor = start + 1
        while True:
            if cursor >= len(source):
                raise self.error("Invalid string: no closing quote", start)
            char = source[cursor]
            if char == "\\" and quote == '"' and cursor + 1 < len(source):
                cursor += 2
                continue
            if char == quote:
                if source.startswith(quote, cursor + 1):
                    cursor += 2
                    continue
                break
            cursor += 1
        self.position = cursor + 1
        image = source[start + 1:cursor].replace(quote * 2, quote)
        if quote == "'":
            return Literal(image)
        image = re.sub(r"\\u([0-9a-fA-F]{4})", lambda match: chr(int(match.group(1), 16)),
                       image)
        if "$" not in image and "#" not in image:
            return Literal(image)
        # Velocity renders the string as a template of its own, with one space appended
        # so that a reference at the very end terminates; the space is dropped afterwards.
        try:
            body = parse(image if "##" in image else image + " ",
                         line_directives=self.line_directives)
        except VtlSyntaxError as error:
            raise self.error(f"Invalid string {source[start:self.position]}: {error.message}",
                             start) from error
        return Interpolated(body, source[start:self.position])
