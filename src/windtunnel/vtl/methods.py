"""Methods and properties of Java String, List, Map, Number and Boolean values.

Velocity calls public Java methods by reflection; this module gives each Python value
the methods of the Java class it stands for (Java SE 8, https://docs.oracle.com/javase/8/docs/api/),
including the exceptions they throw. Regular expressions follow ``java.util.regex``
syntax and ``$1`` replacement references, translated to Python's ``re``.

Property lookup follows the Velocity 1.7 user guide: ``$a.name`` calls ``getName()``
(or ``getname()``), then ``get("name")``, then ``isName()``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from windtunnel.vtl.values import (
    JavaObject,
    MissingMember,
    is_number,
    java_class,
    java_equals,
    to_java_string,
)

__all__ = ["JavaException", "MapEntry", "call_method", "get_property", "java_regex"]

logger = logging.getLogger(__name__)


class JavaException(Exception):
    """An exception that the emulated Java method throws, such as IndexOutOfBoundsException."""

    def __init__(self, java_class_name: str, message: str) -> None:
        self.java_class_name = java_class_name
        self.message = message
        super().__init__(f"{java_class_name}: {message}")


class MapEntry(JavaObject):
    """An entry of ``$map.entrySet()``, with ``key`` and ``value``."""

    java_class_name = "java.util.LinkedHashMap$Entry"

    def __init__(self, owner: dict[object, object], key: object) -> None:
        self.owner = owner
        self.key = key

    def get_property(self, name: str) -> object:
        if name in ("key", "Key"):
            return self.key
        if name in ("value", "Value"):
            return self.owner.get(_hashable(self.key))
        raise MissingMember(name)

    def call(self, name: str, arguments: list[object]) -> object:
        if name == "getKey" and not arguments:
            return self.key
        if name == "getValue" and not arguments:
            return self.owner.get(_hashable(self.key))
        if name == "setValue" and len(arguments) == 1:
            previous = self.owner.get(_hashable(self.key))
            self.owner[_hashable(self.key)] = arguments[0]
            return previous
        if name == "toString" and not arguments:
            return self.to_java_string()
        raise MissingMember(name)

    def to_java_string(self) -> str:
        return f"{to_java_string(self.key)}={to_java_string(self.owner.get(_hashable(self.key)))}"


# --- argument kinds -----------------------------------------------------------

_INT_RANGE = range(-(2**31), 2**31)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in _INT_RANGE


_KINDS: dict[str, Callable[[object], bool]] = {
    "int": _is_int,
    "str": lambda value: isinstance(value, str),
    "any": lambda value: True,
    "list": lambda value: isinstance(value, list),
    "map": lambda value: isinstance(value, dict),
}

Overload = tuple[tuple[str, ...], Callable[..., object]]


def _hashable(key: object) -> object:
    if isinstance(key, (list, dict)):
        raise JavaException("java.lang.UnsupportedOperationException",
                            "a list or map as a map key is not supported by the emulation")
    return key


def _void(function: Callable[..., None]) -> Callable[..., object]:
    """Wrap a Java method declared void: Velocity 1.7 makes its call return an empty string.

    So ``$list.clear()`` prints nothing, where a method that returns null prints its text.
    """

    def call(*arguments: object) -> object:
        function(*arguments)
        return ""

    return call


class JavaClass(JavaObject):
    """The value of ``$value.class``: a ``java.lang.Class``."""

    java_class_name = "java.lang.Class"

    def __init__(self, name: str) -> None:
        self.name = name

    def get_property(self, name: str) -> object:
        if name == "name":
            return self.name
        if name == "simpleName":
            return self.name.rsplit(".", 1)[-1]
        raise MissingMember(name)

    def call(self, name: str, arguments: list[object]) -> object:
        if name in ("getName", "getSimpleName") and not arguments:
            return self.get_property(name[3].lower() + name[4:])
        raise MissingMember(name)

    def to_java_string(self) -> str:
        return f"class {self.name}"


# --- java.util.regex ----------------------------------------------------------


def java_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Java regular expression, or raise PatternSyntaxException."""
    translated = re.sub(r"\(\?<([a-zA-Z][a-zA-Z0-9]*)>", r"(?P<\1>", pattern)
    translated = translated.replace("\\z", "\\Z").replace("\\h", "[ \\t\\xa0]")
    try:
        return re.compile(translated)
    except re.error as error:
        raise JavaException("java.util.regex.PatternSyntaxException",
                            f"{error.msg} near index {error.pos}\n{pattern}") from error


def _java_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """Turn a Java replacement string (``$1``, ``${name}``, ``\\$``) into a function."""

    def expand(match: re.Match[str]) -> str:
        output: list[str] = []
        index = 0
        while index < len(replacement):
            char = replacement[index]
            if char == "\\":
                index += 1
                if index >= len(replacement):
                    raise JavaException("java.lang.IllegalArgumentException",
                                        "character to be escaped is missing")
                output.append(replacement[index])
                index += 1
            elif char == "$":
                index += 1
                named = re.compile(r"\{([a-zA-Z][a-zA-Z0-9]*)\}").match(replacement, index)
                if named is not None:
                    output.append(match.group(named.group(1)) or "")
                    index = named.end()
                    continue
                digits = re.compile(r"\d").match(replacement, index)
                if digits is None:
                    raise JavaException("java.lang.IllegalArgumentException",
                                        "Illegal group reference")
                group = int(digits.group())
                index += 1
                # Java takes more digits while they still name an existing group.
                while index < len(replacement) and replacement[index].isdigit():
                    longer = group * 10 + int(replacement[index])
                    if longer > (match.re.groups or 0):
                        break
                    group = longer
                    index += 1
                if group > (match.re.groups or 0):
                    raise JavaException("java.lang.IndexOutOfBoundsException", f"No group {group}")
                output.append(match.group(group) or "")
            else:
                output.append(char)
                index += 1
        return "".join(output)

    return expand


def _split(text: str, regex: str, limit: int = 0) -> list[object]:
    pattern = java_regex(regex)
    if text == "":
        return [""]
    parts: list[object] = []
    index = 0
    for match in pattern.finditer(text):
        if limit > 0 and len(parts) >= limit - 1:
            break
        if match.end() == 0:
            # Java 8 drops the empty string that a zero-width match at the start would give.
            continue
        parts.append(text[index:match.start()])
        index = match.end()
    parts.append(text[index:])
    if limit == 0:
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
    return parts


# --- java.lang.String ---------------------------------------------------------


def _string_index_error(index: int) -> JavaException:
    return JavaException("java.lang.StringIndexOutOfBoundsException",
                         f"String index out of range: {index}")


def _substring(text: str, begin: int, end: int | None = None) -> str:
    stop = len(text) if end is None else end
    if begin < 0:
        raise _string_index_error(begin)
    if stop > len(text):
        raise _string_index_error(stop)
    if stop < begin:
        raise _string_index_error(stop - begin)
    return text[begin:stop]


def _char_at(text: str, index: int) -> str:
    if not 0 <= index < len(text):
        raise _string_index_error(index)
    return text[index]


def _string_hash(text: str) -> int:
    result = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        result = (31 * result + int(unit, 16)) & 0xFFFFFFFF
    return result - 2**32 if result >= 2**31 else result


def _index_of(text: str, part: str, start: int = 0) -> int:
    return text.find(part, max(start, 0))


def _last_index_of(text: str, part: str, start: int | None = None) -> int:
    if start is None:
        return text.rfind(part)
    if start < 0:
        return -1
    return text.rfind(part, 0, start + len(part))


_STRING: dict[str, list[Overload]] = {
    "length": [((), len)],
    "isEmpty": [((), lambda s: s == "")],
    "charAt": [(("int",), _char_at)],
    "substring": [(("int",), _substring), (("int", "int"), _substring)],
    "indexOf": [(("str",), _index_of), (("str", "int"), _index_of)],
    "lastIndexOf": [(("str",), _last_index_of), (("str", "int"), _last_index_of)],
    "contains": [(("str",), lambda s, part: part in s)],
    "startsWith": [(("str",), lambda s, p: s.startswith(p)),
                   (("str", "int"), lambda s, p, at: 0 <= at <= len(s) and s.startswith(p, at))],
    "endsWith": [(("str",), lambda s, p: s.endswith(p))],
    "equals": [(("any",), lambda s, other: isinstance(other, str) and s == other)],
    "equalsIgnoreCase": [(("any",), lambda s, other: isinstance(other, str)
                          and s.upper().lower() == other.upper().lower())],
    "compareTo": [(("str",), lambda s, other: _compare_strings(s, other))],
    "compareToIgnoreCase": [(("str",), lambda s, other: _compare_strings(
        s.upper().lower(), other.upper().lower()))],
    "concat": [(("str",), lambda s, other: s + other)],
    "replace": [(("str", "str"), lambda s, old, new: _replace_literal(s, old, new))],
    "replaceAll": [(("str", "str"), lambda s, regex, new: java_regex(regex).sub(
        _java_replacement(new), s))],
    "replaceFirst": [(("str", "str"), lambda s, regex, new: java_regex(regex).sub(
        _java_replacement(new), s, count=1))],
    "matches": [(("str",), lambda s, regex: java_regex(regex).fullmatch(s) is not None)],
    "split": [(("str",), _split), (("str", "int"), _split)],
    "toUpperCase": [((), str.upper)],
    "toLowerCase": [((), str.lower)],
    "trim": [((), lambda s: s.strip("".join(chr(code) for code in range(33))))],
    "toString": [((), lambda s: s)],
    "intern": [((), lambda s: s)],
    "hashCode": [((), _string_hash)],
    "toCharArray": [((), list)],
}


def _compare_strings(left: str, right: str) -> int:
    for a, b in zip(left, right, strict=False):
        if a != b:
            return ord(a) - ord(b)
    return len(left) - len(right)


def _replace_literal(text: str, old: str, new: str) -> str:
    if old == "":
        # Java inserts the replacement before every char and at the end.
        return new + new.join(text) + new if text else new
    return text.replace(old, new)


# --- java.util.ArrayList ------------------------------------------------------


def _check_index(items: list[object], index: int, size: int | None = None) -> None:
    limit = len(items) if size is None else size
    if not 0 <= index < limit:
        raise JavaException("java.lang.IndexOutOfBoundsException",
                            f"Index: {index}, Size: {len(items)}")


def _list_get(items: list[object], index: int) -> object:
    _check_index(items, index)
    return items[index]


def _list_set(items: list[object], index: int, value: object) -> object:
    _check_index(items, index)
    previous = items[index]
    items[index] = value
    return previous


def _list_insert(items: list[object], index: int, value: object) -> None:
    _check_index(items, index, len(items) + 1)
    items.insert(index, value)


def _list_remove_at(items: list[object], index: int) -> object:
    _check_index(items, index)
    return items.pop(index)


def _list_index(items: list[object], value: object) -> int:
    return next((i for i, item in enumerate(items) if java_equals(item, value)), -1)


def _list_last_index(items: list[object], value: object) -> int:
    return next((i for i in range(len(items) - 1, -1, -1) if java_equals(items[i], value)), -1)


def _list_remove_value(items: list[object], value: object) -> bool:
    position = _list_index(items, value)
    if position < 0:
        return False
    del items[position]
    return True


def _sub_list(items: list[object], start: int, end: int) -> list[object]:
    if start < 0:
        raise JavaException("java.lang.IndexOutOfBoundsException", f"fromIndex = {start}")
    if end > len(items):
        raise JavaException("java.lang.IndexOutOfBoundsException", f"toIndex = {end}")
    if start > end:
        raise JavaException("java.lang.IllegalArgumentException",
                            f"fromIndex({start}) > toIndex({end})")
    # NOTE: Java returns a view, so changes to it change the original list; this is a copy.
    return items[start:end]


def _add_all(items: list[object], more: object) -> bool:
    values = list(more.values()) if isinstance(more, dict) else list(more)  # type: ignore[call-overload]
    items.extend(values)
    return bool(values)


_LIST: dict[str, list[Overload]] = {
    "size": [((), len)],
    "isEmpty": [((), lambda items: not items)],
    "get": [(("int",), _list_get)],
    "set": [(("int", "any"), _list_set)],
    "add": [(("any",), lambda items, value: items.append(value) or True),
            (("int", "any"), _void(_list_insert))],
    "addAll": [(("list",), _add_all)],
    "remove": [(("int",), _list_remove_at), (("any",), _list_remove_value)],
    "contains": [(("any",), lambda items, value: _list_index(items, value) >= 0)],
    "containsAll": [(("list",), lambda items, other: all(
        _list_index(items, value) >= 0 for value in other))],
    "indexOf": [(("any",), _list_index)],
    "lastIndexOf": [(("any",), _list_last_index)],
    "subList": [(("int", "int"), _sub_list)],
    "clear": [((), _void(list.clear))],
    "equals": [(("any",), java_equals)],
    "toString": [((), to_java_string)],
}


# --- java.util.LinkedHashMap --------------------------------------------------


def _map_put(entries: dict[object, object], key: object, value: object) -> object:
    previous = entries.get(_hashable(key))
    entries[_hashable(key)] = value
    return previous


def _map_put_if_absent(entries: dict[object, object], key: object, value: object) -> object:
    current = entries.get(_hashable(key))
    if current is None:
        entries[_hashable(key)] = value
    return current


def _map_contains_value(entries: dict[object, object], value: object) -> bool:
    return any(java_equals(item, value) for item in entries.values())


def _map_put_all(entries: dict[object, object], other: dict[object, object]) -> None:
    entries.update(other)


_MAP: dict[str, list[Overload]] = {
    "get": [(("any",), lambda entries, key: entries.get(_hashable(key)))],
    "getOrDefault": [(("any", "any"), lambda entries, key, default: entries.get(
        _hashable(key), default))],
    "put": [(("any", "any"), _map_put)],
    "putIfAbsent": [(("any", "any"), _map_put_if_absent)],
    "putAll": [(("map",), _void(_map_put_all))],
    "containsKey": [(("any",), lambda entries, key: _hashable(key) in entries)],
    "containsValue": [(("any",), _map_contains_value)],
    "remove": [(("any",), lambda entries, key: entries.pop(_hashable(key), None))],
    # NOTE: keySet, values and entrySet are copies; Java returns views of the map.
    "keySet": [((), lambda entries: list(entries))],
    "values": [((), lambda entries: list(entries.values()))],
    "entrySet": [((), lambda entries: [MapEntry(entries, key) for key in entries])],
    "size": [((), len)],
    "isEmpty": [((), lambda entries: not entries)],
    "clear": [((), _void(dict.clear))],
    "equals": [(("any",), java_equals)],
    "toString": [((), to_java_string)],
}


# --- numbers and booleans -----------------------------------------------------


def _to_int(value: float | int) -> int:
    if isinstance(value, float):
        if value != value:
            return 0
        return max(-(2**31), min(2**31 - 1, int(value)))
    return ((value + 2**31) % 2**32) - 2**31


_NUMBER: dict[str, list[Overload]] = {
    "intValue": [((), _to_int)],
    "longValue": [((), lambda n: int(n) if n == n else 0)],
    "doubleValue": [((), float)],
    "floatValue": [((), float)],
    "toString": [((), to_java_string)],
    "equals": [(("any",), java_equals)],
    "compareTo": [(("any",), lambda n, other: (n > other) - (n < other))],
}

_BOOLEAN: dict[str, list[Overload]] = {
    "booleanValue": [((), lambda b: b)],
    "toString": [((), to_java_string)],
    "equals": [(("any",), java_equals)],
}


def _methods_of(target: object) -> dict[str, list[Overload]]:
    if isinstance(target, bool):
        return _BOOLEAN
    if is_number(target):
        return _NUMBER
    if isinstance(target, str):
        return _STRING
    if isinstance(target, list):
        return _LIST
    if isinstance(target, dict):
        return _MAP
    return {}


def call_method(target: object, name: str, arguments: list[object]) -> object:
    """Call a Java method on a template value; raise MissingMember when none matches."""
    if isinstance(target, JavaObject):
        return target.call(name, arguments)
    for kinds, function in _methods_of(target).get(name, []):
        if len(kinds) == len(arguments) and all(
                _KINDS[kind](argument) for kind, argument in zip(kinds, arguments, strict=True)):
            return function(target, *arguments)
    if name == "toString" and not arguments:
        return to_java_string(target)
    if name == "equals" and len(arguments) == 1:
        return java_equals(target, arguments[0])
    if name == "getClass" and not arguments:
        return JavaClass(java_class(target))
    raise MissingMember(f"{java_class(target)}.{name}")


def get_property(target: object, name: str) -> object:
    """Resolve ``$target.name`` with Velocity's getter, ``get(name)`` and ``is`` lookup."""
    if isinstance(target, JavaObject):
        return target.get_property(name)
    capitalized = name[:1].upper() + name[1:]
    getters = (f"get{name}", f"get{capitalized}") if name[:1].islower() else (
        f"get{capitalized}", f"get{name}")
    methods = _methods_of(target)
    for getter in getters:
        if getter in methods and any(not kinds for kinds, _ in methods[getter]):
            return call_method(target, getter, [])
    if isinstance(target, dict):
        return target.get(name)
    if name == "class":
        return JavaClass(java_class(target))
    if f"is{capitalized}" in methods:
        return call_method(target, f"is{capitalized}", [])
    raise MissingMember(f"{java_class(target)}.{name}")
