"""AppSync's ``$util.map``, ``list``, ``str``, ``math``, ``xml``, ``http`` and ``log`` helpers.

Source: https://docs.aws.amazon.com/appsync/latest/devguide/resolver-util-reference.html
and its pages on each helper group.

Limitations:
- ``$util.math.randomWithinRange(min, max)`` returns an integer from ``min`` up to and
  excluding ``max``; the AWS documentation does not say whether ``max`` is included.
- ``$util.xml`` turns element text that reads as a number, ``true``, ``false`` or ``null``
  into that value, attributes into keys and mixed text into ``content``, as the
  ``org.json`` XML conversion does. The AWS documentation shows only plain elements.
- ``$util.http.copyHeaders`` drops the hop-by-hop headers and ``host``,
  ``content-length`` and ``expect``; AWS does not publish its list for VTL.
"""

from __future__ import annotations

import logging
import random
import re
import unicodedata
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable

from windtunnel.vtl.appsync_json import to_json
from windtunnel.vtl.methods import JavaException
from windtunnel.vtl.values import (
    JavaObject,
    MissingMember,
    format_double,
    is_number,
    java_class,
    java_equals,
    to_java_string,
)

__all__ = ["HttpUtil", "ListUtil", "LogUtil", "MapUtil", "MathUtil", "StrUtil", "XmlUtil",
           "xml_to_map"]

logger = logging.getLogger(__name__)

_MAX_SORTED_ITEMS = 1000
_RESTRICTED_HEADERS = frozenset({
    "connection", "content-length", "expect", "host", "keep-alive", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
})


def _illegal(message: str) -> JavaException:
    return JavaException("java.lang.IllegalArgumentException", message)


class MapUtil(JavaObject):
    """``$util.map``: shallow copies of a map that keep or drop keys."""

    java_class_name = "com.amazonaws.deepdish.transform.util.MapUtils"

    def call(self, name: str, arguments: list[object]) -> object:
        if len(arguments) != 2 or not isinstance(arguments[0], dict) or not isinstance(
                arguments[1], list):
            raise MissingMember(name)
        source, keys = arguments[0], arguments[1]
        if name == "copyAndRetainAllKeys":
            return {key: value for key, value in source.items()
                    if any(java_equals(key, wanted) for wanted in keys)}
        if name == "copyAndRemoveAllKeys":
            return {key: value for key, value in source.items()
                    if not any(java_equals(key, unwanted) for unwanted in keys)}
        raise MissingMember(name)


class ListUtil(JavaObject):
    """``$util.list``: shallow copies that keep or drop items, and sorting."""

    java_class_name = "com.amazonaws.deepdish.transform.util.ListUtils"

    def call(self, name: str, arguments: list[object]) -> object:
        if name == "sortList" and len(arguments) == 3 and isinstance(arguments[0], list):
            return _sort_list(arguments[0], arguments[1] is True, to_java_string(arguments[2]))
        if len(arguments) != 2 or not isinstance(arguments[0], list) or not isinstance(
                arguments[1], list):
            raise MissingMember(name)
        items, others = arguments[0], arguments[1]
        if name == "copyAndRetainAll":
            return [item for item in items if any(java_equals(item, o) for o in others)]
        if name == "copyAndRemoveAll":
            return [item for item in items if not any(java_equals(item, o) for o in others)]
        raise MissingMember(name)


def _sort_list(items: list[object], descending: bool, property_name: str) -> list[object]:
    """Sort as ``$util.list.sortList`` does: a list of mixed classes comes back unchanged."""
    if len(items) > _MAX_SORTED_ITEMS:
        raise _illegal(f"sortList supports at most {_MAX_SORTED_ITEMS} items, got {len(items)}")
    if not items:
        return []
    if all(is_number(item) for item in items):
        return sorted(items, key=lambda item: item, reverse=descending)  # type: ignore[arg-type,return-value]
    if all(isinstance(item, str) for item in items):
        return sorted(items, key=str, reverse=descending)
    if all(isinstance(item, dict) for item in items):
        keys = [item.get(property_name) for item in items if isinstance(item, dict)]
        classes = {java_class(key) for key in keys if key is not None}
        if len(classes) == 1 and None not in keys:
            order = sorted(range(len(items)), key=lambda index: keys[index],  # type: ignore[arg-type,return-value]
                           reverse=descending)
            return [items[index] for index in order]
    return list(items)


class StrUtil(JavaObject):
    """``$util.str``: case, replacement and Unicode normalization."""

    java_class_name = "com.amazonaws.deepdish.transform.util.StrUtils"

    def call(self, name: str, arguments: list[object]) -> object:
        if any(argument is None for argument in arguments):
            return None
        texts = [to_java_string(argument) for argument in arguments]
        if name == "toUpper" and len(texts) == 1:
            return texts[0].upper()
        if name == "toLower" and len(texts) == 1:
            return texts[0].lower()
        if name == "toReplace" and len(texts) == 3:
            return texts[0].replace(texts[1], texts[2])
        if name == "normalize" and len(texts) == 2:
            form = texts[1].upper()
            if form not in ("NFC", "NFD", "NFKC", "NFKD"):
                raise _illegal(f"No enum constant java.text.Normalizer.Form.{texts[1]}")
            return unicodedata.normalize(form, texts[0])  # type: ignore[arg-type]
        raise MissingMember(name)


def _double(value: object, method: str) -> float:
    if not is_number(value):
        raise _illegal(f"$util.math.{method} needs numbers, got {to_java_string(value)}")
    assert isinstance(value, (int, float))
    return float(value)


class MathUtil(JavaObject):
    """``$util.math``: rounding, minimum, maximum and random numbers."""

    java_class_name = "com.amazonaws.deepdish.transform.util.MathUtils"

    def __init__(self, randomness: random.Random) -> None:
        self.random = randomness

    def call(self, name: str, arguments: list[object]) -> object:
        if name == "roundNum" and len(arguments) == 1:
            # Java's Math.round: the nearest integer, halves rounding up.
            value = _double(arguments[0], name)
            return int((value + 0.5) // 1)
        if name == "minVal" and len(arguments) == 2:
            return min(_double(arguments[0], name), _double(arguments[1], name))
        if name == "maxVal" and len(arguments) == 2:
            return max(_double(arguments[0], name), _double(arguments[1], name))
        if name == "randomDouble" and not arguments:
            return self.random.random()
        if name == "randomWithinRange" and len(arguments) == 2:
            low = int(_double(arguments[0], name))
            high = int(_double(arguments[1], name))
            if high <= low:
                raise _illegal("bound must be greater than origin")
            return self.random.randrange(low, high)
        raise MissingMember(name)


# --- $util.xml ----------------------------------------------------------------

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _xml_value(text: str, keep_strings: bool) -> object:
    if keep_strings:
        return text
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if _NUMBER.fullmatch(text):
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return float(text)
    return text


def _add_child(target: dict[object, object], key: str, value: object) -> None:
    if key not in target:
        target[key] = value
        return
    existing = target[key]
    if isinstance(existing, list):
        existing.append(value)
    else:
        target[key] = [existing, value]


def _element_value(element: ElementTree.Element, keep_strings: bool) -> object:
    attributes: dict[object, object] = {
        key: _xml_value(value, keep_strings) for key, value in element.attrib.items()}
    children = list(element)
    text = (element.text or "").strip()
    if not children and not attributes:
        return _xml_value(text, keep_strings)
    result: dict[object, object] = dict(attributes)
    if text:
        result["content"] = _xml_value(text, keep_strings)
    for child in children:
        _add_child(result, child.tag, _element_value(child, keep_strings))
    return result


def xml_to_map(text: str, *, keep_strings: bool = False) -> dict[object, object]:
    """Convert an XML document to nested maps; repeated elements become lists."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise JavaException("org.json.JSONException", f"the XML is not valid: {error}") from None
    return {root.tag: _element_value(root, keep_strings)}


class XmlUtil(JavaObject):
    """``$util.xml``: XML documents as maps or JSON."""

    java_class_name = "com.amazonaws.deepdish.transform.util.XmlUtils"

    def call(self, name: str, arguments: list[object]) -> object:
        if not arguments or arguments[0] is None:
            return None
        text = to_java_string(arguments[0])
        if name == "toMap" and len(arguments) == 1:
            return xml_to_map(text)
        if name == "toJsonString" and len(arguments) == 1:
            return to_json(xml_to_map(text))
        if name == "toJsonString" and len(arguments) == 2:
            document = to_json(xml_to_map(text))
            # The second argument asks for the JSON as a JSON-encoded string.
            return to_json(document) if arguments[1] is True else document
        raise MissingMember(name)


# --- $util.http and $util.log -------------------------------------------------


class HttpUtil(JavaObject):
    """``$util.http``: copies of request headers and extra response headers."""

    java_class_name = "com.amazonaws.deepdish.transform.util.HttpUtils"

    def __init__(self, response_headers: dict[str, object]) -> None:
        self.response_headers = response_headers

    def call(self, name: str, arguments: list[object]) -> object:
        if name == "copyHeaders" and len(arguments) == 1 and isinstance(arguments[0], dict):
            return {key: value for key, value in arguments[0].items()
                    if to_java_string(key).lower() not in _RESTRICTED_HEADERS}
        if name == "addResponseHeader" and len(arguments) == 2:
            self.response_headers[to_java_string(arguments[0])] = arguments[1]
            return ""
        if name == "addResponseHeaders" and len(arguments) == 1 and isinstance(
                arguments[0], dict):
            for key, value in arguments[0].items():
                self.response_headers[to_java_string(key)] = value
            return ""
        raise MissingMember(name)


def _log_text(arguments: list[object]) -> str:
    """Render a log message; ``{}`` placeholders take the listed values in order."""
    message = to_java_string(arguments[0])
    if len(arguments) == 1:
        return message
    values = iter(arguments[1] if isinstance(arguments[1], list) else arguments[1:])

    def substitute(_: re.Match[str]) -> str:
        value = next(values, None)
        return "{}" if value is None else _log_value(value)

    return re.sub(r"\{\}", substitute, message)


def _log_value(value: object) -> str:
    if isinstance(value, float):
        return format_double(value)
    return to_java_string(value)


class LogUtil(JavaObject):
    """``$util.log``: messages for the resolver's CloudWatch log, collected in order."""

    java_class_name = "com.amazonaws.deepdish.transform.util.LogUtils"

    def __init__(self, sink: Callable[[str, str], None]) -> None:
        self.sink = sink

    def call(self, name: str, arguments: list[object]) -> object:
        if name in ("info", "error") and 1 <= len(arguments) <= 2:
            self.sink(name.upper(), _log_text(arguments))
            return ""
        raise MissingMember(name)
