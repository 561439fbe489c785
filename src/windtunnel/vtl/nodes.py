"""Syntax tree of a parsed Velocity template: statements and expressions."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Binary",
    "Block",
    "Break",
    "Define",
    "Directive",
    "Expression",
    "Foreach",
    "If",
    "Index",
    "Interpolated",
    "ListLiteral",
    "Literal",
    "MacroCall",
    "MacroDefinition",
    "MapLiteral",
    "Method",
    "Not",
    "Position",
    "Property",
    "Range",
    "Reference",
    "Set",
    "Statement",
    "Stop",
    "Text",
    "Unsupported",
]


@dataclass(frozen=True, slots=True)
class Position:
    """The 1-based line and column where a node starts in its template."""

    line: int
    column: int


# --- references ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Property:
    """``.name`` in a reference: a map key, a getter or an ``is`` method."""

    name: str


@dataclass(frozen=True, slots=True)
class Method:
    """``.name(args)`` in a reference."""

    name: str
    arguments: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Index:
    """``[expression]`` in a reference, the same as calling ``get(expression)``."""

    key: Expression


Accessor = Property | Method | Index


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference such as ``$a.b(1)[0]``; ``source`` is its text as written.

    ``backslashes`` counts the escape characters written before the ``$``. Velocity
    renders an odd count as an escaped reference that prints its own text.
    """

    name: str
    accessors: tuple[Accessor, ...]
    source: str
    quiet: bool
    position: Position
    backslashes: int = 0


# --- expressions --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: string in single quotes, integer, floating-point number, boolean, or
    null (AppSync's dialect)."""

    value: object


@dataclass(frozen=True, slots=True)
class Interpolated:
    """A double-quoted string whose ``$`` and ``#`` parts are rendered when it is evaluated."""

    body: Block
    source: str


@dataclass(frozen=True, slots=True)
class ListLiteral:
    """``[a, b, c]``, a new ``java.util.ArrayList`` on each evaluation."""

    items: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class MapLiteral:
    """``{k: v}``, a new ``java.util.LinkedHashMap`` on each evaluation."""

    entries: tuple[tuple[Expression, Expression], ...]


@dataclass(frozen=True, slots=True)
class Range:
    """``[first..last]``, the integers from first to last, counting down when first > last."""

    first: Expression
    last: Expression
    position: Position


@dataclass(frozen=True, slots=True)
class Binary:
    """An operator with two operands: arithmetic, comparison, ``&&`` or ``||``."""

    operator: str
    left: Expression
    right: Expression
    position: Position


@dataclass(frozen=True, slots=True)
class Not:
    """``!operand`` or ``not operand``."""

    operand: Expression


Expression = Reference | Literal | Interpolated | ListLiteral | MapLiteral | Range | Binary | Not


# --- statements ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """Template text copied to the output unchanged."""

    text: str


@dataclass(frozen=True, slots=True)
class Set:
    """``#set($target = value)``."""

    target: Reference
    value: Expression
    position: Position


@dataclass(frozen=True, slots=True)
class If:
    """``#if``, its ``#elseif`` branches and an optional ``#else``."""

    branches: tuple[tuple[Expression, Block], ...]
    otherwise: Block | None


@dataclass(frozen=True, slots=True)
class Foreach:
    """``#foreach($variable in iterable) body #end``."""

    variable: str
    iterable: Expression
    body: Block
    position: Position


@dataclass(frozen=True, slots=True)
class Break:
    """``#break``, which leaves the innermost ``#foreach``, macro or template."""

    position: Position


@dataclass(frozen=True, slots=True)
class Stop:
    """``#stop``, which ends rendering of the whole template."""

    position: Position


@dataclass(frozen=True, slots=True)
class MacroDefinition:
    """``#macro(name $param ...) body #end``."""

    name: str
    parameters: tuple[str, ...]
    body: Block
    position: Position


@dataclass(frozen=True, slots=True)
class MacroCall:
    """``#name(args)``, or ``#@name(args) body #end`` with a body; ``source`` is the call's text.

    A call to a name that no macro defines renders ``source`` unchanged, as Velocity does.
    """

    name: str
    arguments: tuple[Expression, ...]
    body: Block | None
    source: str
    position: Position


@dataclass(frozen=True, slots=True)
class Define:
    """``#define($name) body #end``: ``$name`` renders the body each time it is used."""

    name: str
    body: Block


@dataclass(frozen=True, slots=True)
class Directive:
    """A directive evaluated by the dialect, such as ``#return`` in AppSync."""

    name: str
    arguments: tuple[Expression, ...]
    position: Position


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A directive that needs something a mapping template lacks, such as ``#parse``."""

    name: str
    position: Position


Statement = (
    Text | Reference | Set | If | Foreach | Break | Stop | MacroDefinition | MacroCall | Define
    | Directive | Unsupported
)


@dataclass(frozen=True, slots=True)
class Block:
    """A sequence of statements."""

    statements: tuple[Statement, ...] = field(default_factory=tuple)
