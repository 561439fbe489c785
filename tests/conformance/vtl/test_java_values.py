"""Java value semantics in Velocity templates: rendering, arithmetic and methods.

Sources, per case group:
- toString of Boolean, Double, AbstractCollection and AbstractMap:
  https://docs.oracle.com/javase/8/docs/api/java/lang/Double.html#toString-double-
  https://docs.oracle.com/javase/8/docs/api/java/util/AbstractCollection.html#toString--
  https://docs.oracle.com/javase/8/docs/api/java/util/AbstractMap.html#toString--
- integer division and remainder: https://docs.oracle.com/javase/specs/jls/se8/html/jls-15.html#jls-15.17.2
  and the Velocity 1.7 user guide, "Math": https://velocity.apache.org/engine/1.7/user-guide.html
- String, List and Map methods: https://docs.oracle.com/javase/8/docs/api/java/lang/String.html,
  https://docs.oracle.com/javase/8/docs/api/java/util/ArrayList.html,
  https://docs.oracle.com/javase/8/docs/api/java/util/Map.html
"""

from __future__ import annotations

import pytest

from windtunnel.vtl import VtlRuntimeError, render_template

RENDERING = [
    ("$t $f", {"t": True, "f": False}, "true false"),
    ("$d $whole $big $small $neg", {"d": 2.5, "whole": 1.0, "big": 1e20, "small": 1e-5,
                                    "neg": -1.5e-7}, "2.5 1.0 1.0E20 1.0E-5 -1.5E-7"),
    ("$million", {"million": 1e7}, "1.0E7"),
    ("#set($l = [1, 'two', 3.0, true])$l", {}, "[1, two, 3.0, true]"),
    ('#set($m = {"a": 1, "b": [2]})$m', {}, "{a=1, b=[2]}"),
    ("#set($empty = {})$empty, #set($none = [])$none", {}, "{}, []"),
]

ARITHMETIC = [
    ("#set($x = -7 / 2)$x", "-3"),
    ("#set($x = -7 % 3)$x", "-1"),
    ("#set($x = 7 % -3)$x", "1"),
    ("#set($x = 7.0 / 2)$x", "3.5"),
    ("#set($x = 2147483647 + 1)$x", "2147483648"),
    ("#set($x = 1.5 * 2)$x", "3.0"),
    ("#set($x = 'a' + 1)$x", "a1"),
    ("#set($x = 5)#set($x = 1 / 0)$x", "5"),
]

METHODS = [
    ("$s.length() $s.substring(7) $s.substring(0, 5) $s.charAt(1)", "12 World Hello e"),
    ("$s.indexOf('o') $s.indexOf('o', 5) $s.lastIndexOf('o') $s.indexOf('z')", "4 8 8 -1"),
    ("$s.contains('World') $s.startsWith('He') $s.endsWith('d') $s.isEmpty()",
     "true true true false"),
    ("$s.toUpperCase() $s.toLowerCase() $s.replace('l', 'L')",
     "HELLO, WORLD hello, world HeLLo, WorLd"),
    ("$s.replaceAll('(l+)o', '<$1>') $s.replaceFirst('l', '_')", "He<ll>, World He_lo, World"),
    ("$s.matches('H.*d') $s.matches('H') $s.equals('Hello, World')", "true false true"),
    ("$s.split(', ').size() $s.split(',')[1] $s.hashCode()", "2  World -505841268"),
    ("#set($csv = 'a,b,,')#set($parts = $csv.split(','))$parts.size()", "2"),
    ("$padded.trim()|", "x|"),
    ("$list.size() $list.get(0) $list.contains(2) $list.indexOf(3) $list.isEmpty()",
     "3 1 true 2 false"),
    ("$list.add(4) $list $list.remove(0) $list $list.subList(0, 2) $list.set(0, 9) $list",
     "true [1, 2, 3, 4] 1 [2, 3, 4] [2, 3] 2 [9, 3, 4]"),
    ("[$list.clear()] $list", "[] []"),
    ("$map.get('a') $map.containsKey('b') $map.keySet() $map.values() $map.size()",
     "1 true [a, b] [1, x] 2"),
    ("$map.put('c', 3) $map.put('a', 7) $map $map.remove('b') $map",
     "$map.put('c', 3) 1 {a=7, b=x, c=3} x {a=7, c=3}"),
    ("#foreach($entry in $map.entrySet())$entry.key=$entry.value;#end", "a=1;b=x;"),
    ("$map.size $map.a", "$map.size 1"),
]


@pytest.mark.parametrize(("template", "variables", "expected"), RENDERING)
def test_values_render_as_java(template: str, variables: dict[str, object],
                               expected: str) -> None:
    """Values print as Java's toString prints them."""
    assert render_template(template, variables) == expected


@pytest.mark.parametrize(("template", "expected"), ARITHMETIC)
def test_arithmetic_follows_java(template: str, expected: str) -> None:
    """Integer operations truncate, a double makes a double, a String concatenates."""
    assert render_template(template) == expected


@pytest.mark.parametrize(("template", "expected"), METHODS)
def test_methods_follow_java(template: str, expected: str) -> None:
    """String, List and Map methods return what Java returns."""
    variables = {"s": "Hello, World", "list": [1, 2, 3], "map": {"a": 1, "b": "x"},
                 "padded": "  x \n"}
    assert render_template(template, variables) == expected


def test_unknown_method_prints_reference() -> None:
    """A method the class lacks gives null, so the reference prints its own text."""
    assert render_template("$s.noSuchMethod() $s.length(1)", {"s": "x"}) == (
        "$s.noSuchMethod() $s.length(1)")


def test_unknown_method_is_false_in_if() -> None:
    """A null result takes the #else branch."""
    assert render_template("#if($s.noSuchMethod())yes#{else}no#end", {"s": "x"}) == "no"


def test_literal_conditions_are_false() -> None:
    """In Velocity 1.7 a literal, list or arithmetic condition is false; a reference is not."""
    template = "#if('')a#end#if(0)b#end#if([])c#end#if($empty)d#end#if(1 + 1)e#end"
    assert render_template(template, {"empty": ""}) == "d"


def test_method_exception_stops_rendering() -> None:
    """An exception thrown by a method aborts the template, naming the Java exception."""
    with pytest.raises(VtlRuntimeError) as raised:
        render_template("ok\n$list.get(5)", {"list": [1]})
    assert "java.lang.IndexOutOfBoundsException: Index: 5, Size: 1" in str(raised.value)
    assert raised.value.line == 2
    assert raised.value.column == 1


def test_invalid_java_regex_raises() -> None:
    """replaceAll with an invalid pattern raises PatternSyntaxException."""
    with pytest.raises(VtlRuntimeError, match="PatternSyntaxException"):
        render_template("$s.replaceAll('(', 'x')", {"s": "a"})
