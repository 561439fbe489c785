"""AppSync's $util.map, list, str, math, xml and http helpers.

Sources (named per test):
MAP = https://docs.aws.amazon.com/appsync/latest/devguide/map-helpers-in-util-map.html
LIST = https://docs.aws.amazon.com/appsync/latest/devguide/list-helpers-in-util-list.html
STR = https://docs.aws.amazon.com/appsync/latest/devguide/str-helpers-in-util-str.html
MATH = https://docs.aws.amazon.com/appsync/latest/devguide/math-helpers-in-util-math.html
XML = https://docs.aws.amazon.com/appsync/latest/devguide/xml-helpers-in-utils-xml.html
HTTP = https://docs.aws.amazon.com/appsync/latest/devguide/http-helpers-in-utils-http.html
"""

from __future__ import annotations

import json

import pytest

from windtunnel.services.appsync.evaluate import evaluate_template

GUIDE = "https://docs.aws.amazon.com/appsync/latest/devguide/"
MAP = GUIDE + "map-helpers-in-util-map.html"
LIST = GUIDE + "list-helpers-in-util-list.html"
STR = GUIDE + "str-helpers-in-util-str.html"
MATH = GUIDE + "math-helpers-in-util-math.html"
XML = GUIDE + "xml-helpers-in-utils-xml.html"
HTTP = GUIDE + "http-helpers-in-utils-http.html"

POSTS_XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<posts>\n<post>\n  <id>1</id>\n'
             "  <title>Getting started with GraphQL</title>\n</post>\n<post>\n  <id>2</id>\n"
             "  <title>Getting started with AWS AppSync</title>\n</post>\n</posts>")


def render(template: str, context: dict[str, object] | None = None) -> str:
    result = evaluate_template(template, context or {})
    assert result.error_message is None, result.error_message
    assert result.evaluation_result is not None
    return result.evaluation_result


@pytest.mark.parametrize(("template", "expected", "source"), [
    ('$util.toJson($util.map.copyAndRetainAllKeys({"a": 1, "b": 2, "c": 3}, ["a", "c", "z"]))',
     '{"a":1,"c":3}', MAP),
    ('$util.toJson($util.map.copyAndRemoveAllKeys({"a": 1, "b": 2, "c": 3}, ["a", "z"]))',
     '{"b":2,"c":3}', MAP),
    ('$util.toJson($util.list.copyAndRetainAll([1, 2, 3, 2], [2, 3]))', "[2,3,2]", LIST),
    ('$util.toJson($util.list.copyAndRemoveAll(["a", "b", "c"], ["b"]))', '["a","c"]', LIST),
    ('$util.toJson($util.list.sortList([3, 1, 2], false, "any"))', "[1,2,3]", LIST),
    ('$util.toJson($util.list.sortList(["b", "c", "a"], true, "any"))', '["c","b","a"]', LIST),
    ('$util.toJson($util.list.sortList([{"n": 2}, {"n": 1}], false, "n"))',
     '[{"n":1},{"n":2}]', LIST),
    ('$util.toJson($util.list.sortList([1, "a"], false, "any"))', '[1,"a"]', LIST),
    ('$util.str.toUpper("hello World")', "HELLO WORLD", STR),
    ('$util.str.toLower("Hello World")', "hello world", STR),
    ('$util.str.toReplace("hello world, hello", "hello", "bye")', "bye world, bye", STR),
    ('$util.str.normalize("e\u0301", "NFC")', "\u00e9", STR),
    ("$util.math.roundNum(1.5) $util.math.roundNum(-1.5) $util.math.roundNum(2.4)",
     "2 -1 2", MATH),
    ("$util.math.minVal(10.0, 12.0) $util.math.maxVal(10.0, 12.0)", "10.0 12.0", MATH),
])
def test_helper(template: str, expected: str, source: str) -> None:
    """Each helper returns what its documentation describes."""
    assert render(template) == expected, source


def test_math_random() -> None:
    """MATH: randomDouble is in [0, 1); randomWithinRange stays in its range."""
    values = render("$util.math.randomDouble() $util.math.randomWithinRange(5, 8)").split()
    assert 0.0 <= float(values[0]) < 1.0, MATH
    assert 5 <= int(values[1]) <= 8, MATH


def test_sort_list_limit() -> None:
    """LIST, sortList: only lists of at most 1000 objects are supported."""
    result = evaluate_template('#set($l = [1..1001])$util.list.sortList($l, false, "x")', {})
    assert result.error_message is not None, LIST


def test_xml_to_map_examples() -> None:
    """XML, toMap: the documentation's two examples, one post and a list of posts."""
    single = ('<?xml version="1.0" encoding="UTF-8"?>\n<posts>\n<post>\n  <id>1</id>\n'
              "  <title>Getting started with GraphQL</title>\n</post>\n</posts>")
    output = render("$util.toJson($util.xml.toMap($ctx.args.xml))",
                    {"arguments": {"xml": single}})
    assert json.loads(output) == {"posts": {"post": {
        "id": 1, "title": "Getting started with GraphQL"}}}, XML
    output = render("$util.xml.toJsonString($ctx.args.xml)", {"arguments": {"xml": POSTS_XML}})
    assert json.loads(output) == {"posts": {"post": [
        {"id": 1, "title": "Getting started with GraphQL"},
        {"id": 2, "title": "Getting started with AWS AppSync"},
    ]}}, XML


def test_xml_to_json_string_encoded() -> None:
    """XML, toJsonString(String, Boolean): true string-encodes the JSON."""
    output = render("$util.xml.toJsonString($ctx.args.xml, true)",
                    {"arguments": {"xml": "<a><b>x</b></a>"}})
    assert json.loads(json.loads(output)) == {"a": {"b": "x"}}, XML


def test_http_copy_headers() -> None:
    """HTTP, copyHeaders: copies the request headers without the restricted ones."""
    headers = {"authorization": "token", "host": "api.example.com", "x-custom": "1",
               "content-length": "10"}
    output = render("$util.toJson($util.http.copyHeaders($ctx.request.headers))",
                    {"request": {"headers": headers}})
    assert json.loads(output) == {"authorization": "token", "x-custom": "1"}, HTTP


def test_http_response_headers() -> None:
    """HTTP, addResponseHeader(s): the headers are kept for the GraphQL response."""
    result = evaluate_template('$util.http.addResponseHeader("x-a", "1")'
                               '$util.http.addResponseHeaders({"x-b": "2"})done', {})
    assert result.evaluation_result == "done", HTTP
    assert result.response_headers == {"x-a": "1", "x-b": "2"}, HTTP
