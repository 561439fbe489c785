"""Renderer for parsed Velocity templates, with Velocity 1.7's rules for nulls and scopes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from windtunnel.vtl.errors import VtlRuntimeError
from windtunnel.vtl.methods import JavaException, call_method, get_property
from windtunnel.vtl.nodes import (
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
from windtunnel.vtl.values import (
    JavaObject,
    MissingMember,
    arithmetic,
    compare,
    loose_equals,
    to_java_string,
    truthy,
)

__all__ = ["DirectiveHandler", "Options", "Renderer", "StopRendering"]

logger = logging.getLogger(__name__)

_LOGICAL = frozenset({"&&", "||", "==", "!=", "<", "<=", ">", ">="})

DirectiveHandler = Callable[["Renderer", list[object], Position], None]


@dataclass(frozen=True)
class Options:
    """What differs between dialects."""

    # Velocity prints a null or undefined reference as its own text ($name); API Gateway
    # prints nothing.
    null_renders_empty: bool = False
    directives: Mapping[str, DirectiveHandler] = field(default_factory=dict)


class StopRendering(Exception):
    """Raised by ``#stop`` (and dialect directives such as ``#return``) to end the template."""


class _BreakLoop(Exception):
    """Raised by ``#break`` to leave the innermost ``#foreach``, macro or template."""


class ForeachScope(JavaObject):
    """``$foreach``: ``count``, ``index``, ``hasNext``, ``first``, ``last`` and ``parent``."""

    java_class_name = "org.apache.velocity.runtime.directive.ForeachScope"

    def __init__(self, parent: object) -> None:
        self.parent = parent
        self.index = -1
        self.has_next = False

    def get_property(self, name: str) -> object:
        values: dict[str, object] = {
            "index": self.index, "count": self.index + 1, "hasNext": self.has_next,
            "first": self.index < 1, "last": not self.has_next, "parent": self.parent,
            "topmost": self.topmost(),
        }
        if name in values:
            return values[name]
        raise MissingMember(name)

    def call(self, name: str, arguments: list[object]) -> object:
        getters = {"getIndex": "index", "getCount": "count", "hasNext": "hasNext",
                   "getHasNext": "hasNext", "isFirst": "first", "getFirst": "first",
                   "isLast": "last", "getLast": "last", "getParent": "parent",
                   "getTopmost": "topmost"}
        if name in getters and not arguments:
            return self.get_property(getters[name])
        raise MissingMember(name)

    def topmost(self) -> ForeachScope:
        scope = self
        while isinstance(scope.parent, ForeachScope):
            scope = scope.parent
        return scope


class DefinedBlock(JavaObject):
    """The value of ``$name`` after ``#define($name)``: its body, rendered when used."""

    java_class_name = "org.apache.velocity.runtime.directive.Block$Reference"

    def __init__(self, renderer: Renderer, body: Block) -> None:
        self.renderer = renderer
        self.body = body

    def to_java_string(self) -> str:
        return self.renderer.render_to_string(self.body)


class Renderer:
    """Render one template against a context of variables."""

    def __init__(self, variables: Mapping[str, object], options: Options) -> None:
        self.variables: dict[str, object] = dict(variables)
        self.options = options
        self.macros: dict[str, MacroDefinition] = {}
        self.output: list[str] = []

    def render(self, block: Block) -> str:
        self.collect_macros(block)
        with contextlib.suppress(StopRendering, _BreakLoop):
            self.render_block(block)
        return "".join(self.output)

    def collect_macros(self, block: Block) -> None:
        # Velocity registers a macro when the template is parsed, so a call may come first.
        for statement in block.statements:
            if isinstance(statement, MacroDefinition):
                self.macros.setdefault(statement.name, statement)

    def render_to_string(self, block: Block) -> str:
        saved = self.output
        self.output = []
        try:
            self.render_block(block)
            return "".join(self.output)
        finally:
            self.output = saved

    def write(self, text: str) -> None:
        self.output.append(text)

    # --- statements -----------------------------------------------------------

    def render_block(self, block: Block) -> None:
        for statement in block.statements:
            self.render_statement(statement)

    def render_statement(self, statement: Statement) -> None:
        if isinstance(statement, Text):
            self.write(statement.text)
        elif isinstance(statement, Reference):
            self.write(self.render_reference(statement))
        elif isinstance(statement, Set):
            self.render_set(statement)
        elif isinstance(statement, If):
            self.render_if(statement)
        elif isinstance(statement, Foreach):
            self.render_foreach(statement)
        elif isinstance(statement, Break):
            raise _BreakLoop()
        elif isinstance(statement, Stop):
            raise StopRendering()
        elif isinstance(statement, MacroDefinition):
            self.macros[statement.name] = statement
        elif isinstance(statement, MacroCall):
            self.render_macro_call(statement)
        elif isinstance(statement, Define):
            self.variables[statement.name] = DefinedBlock(self, statement.body)
        elif isinstance(statement, Directive):
            handler = self.options.directives.get(statement.name)
            if handler is None:
                raise VtlRuntimeError(f"Unsupported directive #{statement.name}",
                                      line=statement.position.line,
                                      column=statement.position.column)
            handler(self, [self.evaluate(argument) for argument in statement.arguments],
                    statement.position)
        elif isinstance(statement, Unsupported):
            raise VtlRuntimeError(
                f"#{statement.name} is not supported: mapping templates cannot load other "
                "templates or evaluate generated ones",
                line=statement.position.line, column=statement.position.column)

    def render_reference(self, reference: Reference) -> str:
        value = self.evaluate_reference(reference)
        prefix = "\\" * (reference.backslashes // 2)
        if reference.backslashes % 2 == 1:
            # An escaped reference prints its own text; Velocity keeps the escaping
            # backslash when the reference has no value.
            return prefix + ("\\" if value is None else "") + reference.source
        if value is None:
            if reference.quiet or self.options.null_renders_empty:
                return prefix * 2
            return prefix * 2 + reference.source
        return prefix + self.to_string(value)

    def to_string(self, value: object) -> str:
        return to_java_string(value)

    def render_set(self, statement: Set) -> None:
        value = self.evaluate(statement.value)
        if value is None:
            # Velocity 1.7 leaves the target unchanged when the value is null.
            logger.debug("#set at line %d left %s unchanged: the value is null",
                         statement.position.line, statement.target.source)
            return
        target = statement.target
        if not target.accessors:
            self.variables[target.name] = value
            return
        owner = self.evaluate_accessors(target, target.accessors[:-1])
        last = target.accessors[-1]
        if owner is None:
            return
        if isinstance(last, Property):
            self.assign(owner, last.name, value, target)
        elif isinstance(last, Index):
            self.assign(owner, self.evaluate(last.key), value, target)

    def assign(self, owner: object, key: object, value: object, target: Reference) -> None:
        """Set a property or an index: ``set(key, value)`` on a list, ``put`` on a map."""
        method = "set" if isinstance(owner, list) else "put"
        if isinstance(owner, JavaObject):
            method = f"set{str(key)[:1].upper()}{str(key)[1:]}"
            self.invoke(owner, method, [value], target)
            return
        self.invoke(owner, method, [key, value], target)

    def render_if(self, statement: If) -> None:
        for condition, body in statement.branches:
            if self.evaluate_condition(condition):
                self.render_block(body)
                return
        if statement.otherwise is not None:
            self.render_block(statement.otherwise)

    def render_foreach(self, statement: Foreach) -> None:
        iterable = self.evaluate(statement.iterable)
        if isinstance(iterable, dict):
            items = list(iterable.values())
        elif isinstance(iterable, list):
            items = list(iterable)
        else:
            # Velocity 1.7 skips a null or non-iterable value without output.
            return

        saved = {name: self.variables.get(name)
                 for name in (statement.variable, "foreach", "velocityCount", "velocityHasNext")}
        scope = ForeachScope(saved["foreach"])
        self.variables["foreach"] = scope
        try:
            for position, item in enumerate(items):
                scope.index = position
                scope.has_next = position + 1 < len(items)
                self.variables["velocityCount"] = position + 1
                self.variables["velocityHasNext"] = scope.has_next
                if item is None:
                    self.variables.pop(statement.variable, None)
                else:
                    self.variables[statement.variable] = item
                try:
                    self.render_block(statement.body)
                except _BreakLoop:
                    break
        finally:
            for name, value in saved.items():
                if value is None:
                    self.variables.pop(name, None)
                else:
                    self.variables[name] = value

    def render_macro_call(self, call: MacroCall) -> None:
        macro = self.macros.get(call.name)
        if macro is None:
            self.write(call.source)
            return
        if len(call.arguments) != len(macro.parameters):
            logger.debug("#%s expects %d arguments, got %d", call.name, len(macro.parameters),
                         len(call.arguments))
        # NOTE: Velocity passes macro arguments by name and evaluates them at each use;
        # here each argument is evaluated once, at the call.
        bound: dict[str, object] = {}
        for index, parameter in enumerate(macro.parameters):
            bound[parameter] = (self.evaluate(call.arguments[index])
                                if index < len(call.arguments) else None)
        if call.body is not None:
            bound["bodyContent"] = DefinedBlock(self, call.body)
        saved = {name: self.variables.get(name) for name in bound}
        for name, value in bound.items():
            if value is None:
                self.variables.pop(name, None)
            else:
                self.variables[name] = value
        try:
            self.render_block(macro.body)
        except _BreakLoop:
            pass
        finally:
            for name, value in saved.items():
                if value is None:
                    self.variables.pop(name, None)
                else:
                    self.variables[name] = value

    # --- expressions ----------------------------------------------------------

    def evaluate(self, expression: Expression) -> object:
        if isinstance(expression, Literal):
            return expression.value
        if isinstance(expression, Reference):
            return self.evaluate_reference(expression)
        if isinstance(expression, Interpolated):
            text = self.render_to_string(expression.body)
            return text if "##" in expression.source else text[:-1]
        if isinstance(expression, ListLiteral):
            return [self.evaluate(item) for item in expression.items]
        if isinstance(expression, MapLiteral):
            result: dict[object, object] = {}
            for key, value in expression.entries:
                self.invoke(result, "put", [self.evaluate(key), self.evaluate(value)], None)
            return result
        if isinstance(expression, Range):
            return self.evaluate_range(expression)
        if isinstance(expression, Not):
            return not self.evaluate_condition(expression.operand)
        if isinstance(expression, Binary):
            return self.evaluate_binary(expression)
        raise TypeError(f"not an expression: {expression!r}")

    def evaluate_condition(self, expression: Expression) -> bool:
        """Decide ``#if(expression)`` as Velocity 1.7 does, which depends on the node.

        A reference is true unless it is null or false; comparisons and logical operators
        give their result; every other literal or arithmetic expression is false, so
        ``#if("text")`` and ``#if(1)`` take the else branch.
        """
        if isinstance(expression, Reference):
            return truthy(self.evaluate_reference(expression))
        if isinstance(expression, Literal):
            return expression.value is True
        if isinstance(expression, Not):
            return not self.evaluate_condition(expression.operand)
        if isinstance(expression, Binary) and expression.operator in _LOGICAL:
            return bool(self.evaluate_binary(expression))
        return False

    def evaluate_range(self, expression: Range) -> object:
        first = self.evaluate(expression.first)
        last = self.evaluate(expression.last)
        if isinstance(first, str) and first.strip().lstrip("-").isdigit():
            first = int(first)
        if isinstance(last, str) and last.strip().lstrip("-").isdigit():
            last = int(last)
        if not isinstance(first, int) or not isinstance(last, int) or isinstance(
                first, bool) or isinstance(last, bool):
            return None
        step = 1 if last >= first else -1
        return list(range(first, last + step, step))

    def evaluate_binary(self, expression: Binary) -> object:
        operator = expression.operator
        if operator == "&&":
            return self.evaluate_condition(expression.left) and self.evaluate_condition(
                expression.right)
        if operator == "||":
            return self.evaluate_condition(expression.left) or self.evaluate_condition(
                expression.right)
        left = self.evaluate(expression.left)
        right = self.evaluate(expression.right)
        if operator == "==":
            return loose_equals(left, right)
        if operator == "!=":
            return not loose_equals(left, right)
        if operator in ("<", "<=", ">", ">="):
            order = compare(left, right)
            if order is None:
                return False
            return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[operator]
        if operator == "+" and (isinstance(left, str) or isinstance(right, str)):
            # Velocity concatenates when either side is a String; a null side prints
            # as its own text.
            left_text = self.literal_text(expression.left) if left is None else self.to_string(left)
            right_text = (self.literal_text(expression.right) if right is None
                          else self.to_string(right))
            return left_text + right_text
        return arithmetic(operator, left, right)

    def literal_text(self, expression: Expression) -> str:
        if isinstance(expression, Reference):
            return expression.source
        return "null"

    def evaluate_reference(self, reference: Reference) -> object:
        return self.evaluate_accessors(reference, reference.accessors)

    def evaluate_accessors(self, reference: Reference, accessors: tuple[object, ...]) -> object:
        value = self.variables.get(reference.name)
        for accessor in accessors:
            if value is None:
                return None
            try:
                if isinstance(accessor, Property):
                    value = get_property(value, accessor.name)
                elif isinstance(accessor, Method):
                    arguments = [self.evaluate(argument) for argument in accessor.arguments]
                    value = self.invoke(value, accessor.name, arguments, reference)
                elif isinstance(accessor, Index):
                    value = self.invoke(value, "get", [self.evaluate(accessor.key)], reference)
            except MissingMember:
                logger.debug("%s has no member %s", reference.source, accessor)
                return None
        return value

    def invoke(self, target: object, name: str, arguments: list[object],
               reference: Reference | None) -> object:
        """Call a method; a Java exception aborts rendering, as Velocity's does."""
        try:
            return call_method(target, name, arguments)
        except JavaException as error:
            position = reference.position if reference is not None else None
            source = reference.source if reference is not None else name
            raise VtlRuntimeError(
                f"Invocation of method '{name}' in {source} threw exception "
                f"{error.java_class_name}: {error.message}",
                line=position.line if position else None,
                column=position.column if position else None,
            ) from error
