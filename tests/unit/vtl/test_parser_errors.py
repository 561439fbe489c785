"""Syntax errors of Velocity templates name the problem, the line and the column."""

from __future__ import annotations

import pytest

from windtunnel.vtl import VtlSyntaxError, render_mapping_template, render_template


@pytest.mark.parametrize(("template", "message", "line", "column"), [
    ("#if($a)\nx\n", "Invalid #if: no #end closes it", 1, 1),
    ("a\n#end", "Invalid #end: no #if, #foreach, #macro or #define is open", 2, 1),
    ("#else", "Invalid #else: no matching #if is open", 1, 1),
    ("#set($a = )", "Invalid expression: unexpected ')'", 1, 11),
    ("#set(a = 1)", "Invalid #set: the left side must be a reference", 1, 6),
    ("#foreach($i from $list)x#end", "Invalid #foreach: expected 'in'", 1, 13),
    ("#foreach($i in $list)x", "Invalid #foreach: no #end closes it", 1, 1),
    ("${a", "Invalid reference ${a: expected '}'", 1, 4),
    ("x #* never closed", "Invalid comment: no closing *# for #*", 1, 3),
    ("$a.b('x'", "Invalid method call: expected ')'", 1, 9),
    ("#set($a = 'open)", "Invalid string: no closing quote", 1, 11),
    ("#if($a == )#end", "Invalid expression: unexpected ')'", 1, 11),
    ("#set($a = [1, 2)", "Invalid list: expected ']'", 1, 16),
])
def test_syntax_error_location(template: str, message: str, line: int, column: int) -> None:
    """The error names what is invalid and where."""
    with pytest.raises(VtlSyntaxError) as raised:
        render_template(template)
    assert raised.value.message.startswith(message)
    assert (raised.value.line, raised.value.column) == (line, column)
    assert f"at line {line}, column {column}" in str(raised.value)


def test_mapping_template_syntax_error() -> None:
    """render_mapping_template raises the same error type."""
    with pytest.raises(VtlSyntaxError, match="line 3, column 1"):
        render_mapping_template('{\n  "a": "$input.body"\n#end\n}')


@pytest.mark.parametrize("template", [
    "$ 5 costs $2.50", "#notadirective text", "50% # not a directive", "a\\b", "$!", "${",
    "#{else", "\\#unknown",
])
def test_text_that_resembles_syntax(template: str) -> None:
    """A $ or # that starts no reference or directive is copied as text."""
    assert render_template(template) == template
