"""EventBridge event-pattern matching and validation, as tables of AWS-checked cases.

Each row gives a pattern, an event, the expected result and the source of that result.
A source is an AWS documentation page, an aws/event-ruler (v2.0.1, commit 337e8d9) test
file whose assertion gives the expected value, or the ruler source file that raises the
message. Ruler is the matcher EventBridge runs.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from windtunnel.services.events.patterns import (
    InvalidEventPatternError,
    Pattern,
    PatternIndex,
    compile_pattern,
    flatten_event,
    matches,
)

OPERATORS = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"
)
PATTERNS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html"
QUOTAS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
NULLS = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html"
)
RULER = "aws/event-ruler "
# Expected results obtained by running aws/event-ruler v2.0.1 (rulesForJSONEvent) on the case.
RULER_RUN = "aws/event-ruler v2.0.1, result of running the case"
RULER_TEST = RULER + "src/test/software/amazon/event/ruler/RulerTest.java"
RULER_README = RULER + "README.md"
COMPILER = RULER + "src/main/software/amazon/event/ruler/JsonRuleCompiler.java"
CIDR_SOURCE = RULER + "src/main/software/amazon/event/ruler/CIDR.java"
RANGE_SOURCE = RULER + "src/main/software/amazon/event/ruler/Range.java"
NUMBER_SOURCE = RULER + "src/main/software/amazon/event/ruler/ComparableNumber.java"
WILDCARD_SOURCE = RULER + "src/main/software/amazon/event/ruler/input/WildcardParser.java"

# The README event of ruler's RulerTest.java (JSON_FROM_README).
README_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:012345679012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c.count": 5,
        "d.count": 3,
        "x.limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}

# JSON_WITH_COMPLEX_ARRAYS of ruler's RulerTest.java.
EMPLOYEES: dict[str, Any] = {
    "employees": [
        [
            {"firstName": "John", "lastName": "Doe", "ids": [1234, 1000, 9999]},
            {"firstName": "Anna", "lastName": "Smith"},
        ],
        [{"firstName": "Peter", "lastName": "Jones", "ids": []}],
    ]
}

# The rule of RulerTest.java's anything-but test, with its first (matching) event.
ANYTHING_BUT_RULE = {
    "a": [{"anything-but": ["dad0", "dad1", "dad2"]}],
    "b": [{"anything-but": [111, 222, 333]}],
    "c": [{"anything-but": "zdd"}],
    "d": [{"anything-but": 444}],
    "z": [{"numeric": [">", 0, "<", 1]}],
    "w": [{"anything-but": {"prefix": "zax"}}],
    "n": [{"anything-but": {"suffix": "ing"}}],
    "o": [{"anything-but": {"equals-ignore-case": "CamelCase"}}],
    "p": [{"anything-but": {"equals-ignore-case": ["CamelCase", "AbC"]}}],
}
ANYTHING_BUT_EVENT = {
    "a": "child1",
    "b": "444",
    "c": "child1",
    "d": 123,
    "w": "xaz",
    "z": 0.001,
    "n": "nomatch",
    "o": "nomatch",
    "p": "nomatch",
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**ANYTHING_BUT_EVENT, **changes}


MATCH_CASES: list[tuple[str, Any, dict[str, Any], bool, str]] = [
    # id, pattern, event, expected, source
    # --- exact values and JSON types ---
    ("exact-string", {"x": ["X"]}, {"x": "X"}, True, RULER_TEST),
    ("exact-number", {"a": [1]}, {"a": 1}, True, RULER_TEST),
    ("number-vs-true", {"a": [1]}, {"x": True}, False, RULER_TEST),
    ("string-vs-true", {"x": ["X"]}, {"x": True}, False, RULER_TEST),
    ("number-not-bool", {"a": [1]}, {"a": True}, False, RULER_RUN),
    ("string-5-not-number-5", {"a": ["5"]}, {"a": 5}, False, COMPILER),
    ("number-5-not-string-5", {"a": [5]}, {"a": "5"}, False, COMPILER),
    ("number-300-equals-300.0", {"a": [300]}, {"a": 300.0}, True, OPERATORS),
    ("number-exponent-equals", {"a": [3e2]}, {"a": 300}, True, OPERATORS),
    ("true-literal", {"a": [True]}, {"a": True}, True, OPERATORS),
    ("false-not-true", {"a": [False]}, {"a": True}, False, OPERATORS),
    ("true-not-string-true", {"a": [True]}, {"a": "true"}, False, COMPILER),
    ("null-matches-null", {"a": [None]}, {"a": None}, True, NULLS),
    ("null-not-empty-string", {"a": [None]}, {"a": ""}, False, NULLS),
    ("empty-string-matches-empty", {"a": [""]}, {"a": ""}, True, NULLS),
    ("empty-string-not-null", {"a": [""]}, {"a": None}, False, NULLS),
    ("null-not-missing", {"a": [None]}, {"b": 1}, False, OPERATORS),
    ("values-are-ored", {"s": ["initializing", "running"]}, {"s": "running"}, True, PATTERNS),
    ("fields-are-anded", {"a": ["1"], "b": ["2"]}, {"a": "1", "b": "3"}, False, PATTERNS),
    ("missing-field-fails", {"a": ["1"]}, {"b": "1"}, False, PATTERNS),
    ("case-sensitive-exact", {"a": ["abc"]}, {"a": "ABC"}, False, PATTERNS),
    ("exactly-operator", {"a": [{"exactly": "x*"}]}, {"a": "x*"}, True, COMPILER),
    (
        "readme-exact-fields",
        {
            "detail-type": ["EC2 Instance State-change Notification"],
            "resources": ["arn:aws:ec2:us-east-1:012345679012:instance/i-000000aaaaaa00000"],
            "detail": {"state": ["initializing", "running"]},
        },
        README_EVENT,
        True,
        RULER_TEST,
    ),
    ("nested-object-pattern", {"detail": {"state": ["running"]}}, README_EVENT, True, PATTERNS),
    ("nested-pattern-vs-leaf", {"detail": {"state": ["x"]}}, {"detail": "x"}, False, PATTERNS),
    ("dotted-key-in-pattern", {"detail.state": ["running"]}, README_EVENT, True, RULER_TEST),
    (
        "dotted-key-nested-pattern",
        {"detail": {"c.count": [5]}},
        README_EVENT,
        True,
        RULER_TEST,
    ),
    # --- arrays in events ---
    ("array-any-element", {"r": ["b"]}, {"r": ["a", "b"]}, True, PATTERNS),
    ("array-no-element", {"r": ["c"]}, {"r": ["a", "b"]}, False, PATTERNS),
    ("array-pattern-vs-array-event", {"r": ["1", "2"]}, {"r": ["3", "1"]}, True, PATTERNS),
    ("nested-arrays", {"a": [2]}, {"a": [[1, 2], [3]]}, True, RULER_RUN),
    ("array-of-objects-field", {"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True, RULER_TEST),
    (
        "array-of-objects-same-element",
        {"employees": {"firstName": ["John"], "ids": [1000]}},
        EMPLOYEES,
        True,
        RULER_TEST,
    ),
    (
        "array-consistency-absent-in-element",
        {"employees": {"firstName": ["Anna"], "ids": [{"exists": False}]}},
        EMPLOYEES,
        True,
        RULER_TEST,
    ),
    (
        "array-of-objects-no-value",
        {"employees": {"firstName": ["Alice"]}},
        EMPLOYEES,
        False,
        RULER_TEST,
    ),
    (
        "array-consistency-split-elements",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        EMPLOYEES,
        False,
        RULER_TEST,
    ),
    (
        "array-consistency-two-misses",
        {"employees": {"firstName": ["Alice"], "lastName": ["Bob"]}},
        EMPLOYEES,
        False,
        RULER_TEST,
    ),
    ("array-missing-field", {"a": ["b"]}, EMPLOYEES, False, RULER_TEST),
    ("leaf-vs-array-of-objects", {"employees": ["b"]}, EMPLOYEES, False, RULER_TEST),
    (
        "array-consistency-ids-other-element",
        {"employees": {"firstName": ["Anna"], "ids": [1000]}},
        EMPLOYEES,
        False,
        RULER_TEST,
    ),
    (
        "array-consistency-exists-other-element",
        {"employees": {"firstName": ["Anna"], "ids": [{"exists": True}]}},
        EMPLOYEES,
        False,
        RULER_TEST,
    ),
    # --- prefix and suffix ---
    ("prefix-match", {"time": [{"prefix": "2017-10-02"}]}, README_EVENT, True, RULER_TEST),
    ("prefix-miss", {"r": [{"prefix": "ca-"}]}, {"r": "us-east-1"}, False, OPERATORS),
    ("prefix-hit", {"r": [{"prefix": "ca-"}]}, {"r": "ca-central-1"}, True, OPERATORS),
    ("prefix-case-sensitive", {"r": [{"prefix": "CA-"}]}, {"r": "ca-central-1"}, False, OPERATORS),
    ("prefix-empty-any-string", {"r": [{"prefix": ""}]}, {"r": "anything"}, True, OPERATORS),
    ("prefix-empty-empty-string", {"r": [{"prefix": ""}]}, {"r": ""}, True, OPERATORS),
    ("prefix-not-number", {"r": [{"prefix": "1"}]}, {"r": 12}, False, COMPILER),
    ("prefix-not-null", {"r": [{"prefix": ""}]}, {"r": None}, False, COMPILER),
    (
        "prefix-ignore-case",
        {"detail": {"state": [{"prefix": {"equals-ignore-case": "RuNn"}}]}},
        README_EVENT,
        True,
        RULER_TEST,
    ),
    (
        "prefix-ignore-case-miss",
        {"a": [{"prefix": {"equals-ignore-case": "xyz"}}]},
        {"a": "XYa"},
        False,
        OPERATORS,
    ),
    ("suffix-match", {"detail": {"state": [{"suffix": "ning"}]}}, README_EVENT, True, RULER_TEST),
    ("suffix-miss", {"f": [{"suffix": ".png"}]}, {"f": "image.jpg"}, False, OPERATORS),
    ("suffix-case-sensitive", {"f": [{"suffix": ".PNG"}]}, {"f": "a.png"}, False, OPERATORS),
    (
        "suffix-ignore-case",
        {"detail": {"state": [{"suffix": {"equals-ignore-case": "nInG"}}]}},
        README_EVENT,
        True,
        RULER_TEST,
    ),
    ("suffix-not-number", {"a": [{"suffix": "5"}]}, {"a": 15}, False, COMPILER),
    # --- equals-ignore-case ---
    (
        "ignore-case-all-fields",
        {
            "a": [{"equals-ignore-case": "aBc"}],
            "b": [{"equals-ignore-case": "Def"}],
            "c": [{"equals-ignore-case": "xyZ"}],
        },
        {"a": "ABC", "b": "def", "c": "xYz", "d": "rst"},
        True,
        RULER_TEST,
    ),
    (
        "ignore-case-longer-value",
        {"a": [{"equals-ignore-case": "aBc"}], "b": [{"equals-ignore-case": "Def"}]},
        {"a": "ABC", "b": "defx"},
        False,
        RULER_TEST,
    ),
    (
        "ignore-case-missing-field",
        {"a": [{"equals-ignore-case": "aBc"}], "b": [{"equals-ignore-case": "Def"}]},
        {"a": "ABC"},
        False,
        RULER_TEST,
    ),
    ("ignore-case-name", {"n": [{"equals-ignore-case": "alice"}]}, {"n": "ALICE"}, True, OPERATORS),
    ("ignore-case-not-number", {"n": [{"equals-ignore-case": "1"}]}, {"n": 1}, False, COMPILER),
    # --- wildcard ---
    (
        "wildcard-all-fields",
        {
            "a": [{"wildcard": "*bc"}],
            "b": [{"wildcard": "d*f"}],
            "c": [{"wildcard": "xy*"}],
            "d": [{"wildcard": "xy*"}],
        },
        {"a": "abcbc", "b": "deeeef", "c": "xy", "d": "xyzzz"},
        True,
        RULER_TEST,
    ),
    (
        "wildcard-trailing-text",
        {"a": [{"wildcard": "*bc"}], "b": [{"wildcard": "d*f"}]},
        {"a": "abcbc", "b": "deeeefx"},
        False,
        RULER_TEST,
    ),
    ("wildcard-zero-chars", {"a": [{"wildcard": "a*b"}]}, {"a": "ab"}, True, RULER_RUN),
    ("wildcard-many", {"a": [{"wildcard": "dir/*.png"}]}, {"a": "dir/x/y.png"}, True, OPERATORS),
    ("wildcard-miss", {"a": [{"wildcard": "dir/*.png"}]}, {"a": "dir/y.jpg"}, False, OPERATORS),
    ("wildcard-newline", {"a": [{"wildcard": "a*b"}]}, {"a": "a\nb"}, True, RULER_RUN),
    ("wildcard-escaped-star", {"a": [{"wildcard": "a\\*b"}]}, {"a": "a*b"}, True, RULER_RUN),
    ("wildcard-escaped-not-any", {"a": [{"wildcard": "a\\*b"}]}, {"a": "axb"}, False, OPERATORS),
    (
        "wildcard-escaped-backslash",
        {"a": [{"wildcard": "a\\\\b"}]},
        {"a": "a\\b"},
        True,
        WILDCARD_SOURCE,
    ),
    ("wildcard-star-only", {"a": [{"wildcard": "*"}]}, {"a": ""}, True, OPERATORS),
    ("wildcard-not-number", {"a": [{"wildcard": "*"}]}, {"a": 5}, False, COMPILER),
    ("wildcard-regex-chars-literal", {"a": [{"wildcard": "a.c*"}]}, {"a": "abc"}, False, OPERATORS),
    ("wildcard-no-star-exact", {"a": [{"wildcard": "abc"}]}, {"a": "abc"}, True, OPERATORS),
    # --- anything-but ---
    (
        "anything-but-readme",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {"state": [{"anything-but": "initializing"}]},
        },
        README_EVENT,
        True,
        RULER_TEST,
    ),
    ("anything-but-rule-event-1", ANYTHING_BUT_RULE, ANYTHING_BUT_EVENT, True, RULER_TEST),
    ("anything-but-excluded-string", ANYTHING_BUT_RULE, _with(c="zdd"), False, RULER_TEST),
    ("anything-but-list-excluded", ANYTHING_BUT_RULE, _with(a="dad1"), False, RULER_TEST),
    ("anything-but-number-list", ANYTHING_BUT_RULE, _with(b=111), False, RULER_TEST),
    ("anything-but-single-number", ANYTHING_BUT_RULE, _with(d=444), False, RULER_TEST),
    ("anything-but-prefix-excluded", ANYTHING_BUT_RULE, _with(w="zaxonie"), False, RULER_TEST),
    ("anything-but-suffix-excluded", ANYTHING_BUT_RULE, _with(n="matching"), False, RULER_TEST),
    ("anything-but-ignore-case", ANYTHING_BUT_RULE, _with(o="camelcase"), False, RULER_TEST),
    ("anything-but-ignore-case-list", ANYTHING_BUT_RULE, _with(p="abc"), False, RULER_TEST),
    ("numeric-upper-open", ANYTHING_BUT_RULE, _with(z=1.01), False, RULER_TEST),
    ("anything-but-string-vs-number", {"a": [{"anything-but": ["1"]}]}, {"a": 1}, True, RULER_TEST),
    (
        "anything-but-number-vs-string",
        {"b": [{"anything-but": [444]}]},
        {"b": "444"},
        True,
        RULER_TEST,
    ),
    ("anything-but-matches-null", {"a": [{"anything-but": ["baz"]}]}, {"a": None}, True, OPERATORS),
    ("anything-but-matches-bool", {"a": [{"anything-but": "x"}]}, {"a": False}, True, OPERATORS),
    ("anything-but-missing-field", {"a": [{"anything-but": "x"}]}, {"b": "y"}, False, OPERATORS),
    (
        "anything-but-array-any-allowed",
        {"a": [{"anything-but": "x"}]},
        {"a": ["x", "y"]},
        True,
        OPERATORS,
    ),
    (
        "anything-but-array-all-excluded",
        {"a": [{"anything-but": ["x", "y"]}]},
        {"a": ["x", "y"]},
        False,
        OPERATORS,
    ),
    (
        "anything-but-number-exponent",
        {"a": [{"anything-but": [3e2]}]},
        {"a": 300},
        False,
        OPERATORS,
    ),
    (
        "anything-but-prefix-number",
        {"a": [{"anything-but": {"prefix": "1"}}]},
        {"a": 123},
        True,
        COMPILER,
    ),
    (
        "anything-but-prefix-list",
        {"a": [{"anything-but": {"prefix": ["a", "b"]}}]},
        {"a": "bob"},
        False,
        OPERATORS,
    ),
    (
        "anything-but-suffix-kept",
        {"a": [{"anything-but": {"suffix": ".txt"}}]},
        {"a": "a.png"},
        True,
        OPERATORS,
    ),
    (
        "anything-but-wildcard-excluded",
        {"a": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"a": "/usr/lib/x"},
        False,
        OPERATORS,
    ),
    (
        "anything-but-wildcard-kept",
        {"a": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"a": "/usr/bin/x"},
        True,
        OPERATORS,
    ),
    (
        "anything-but-wildcard-list",
        {"a": [{"anything-but": {"wildcard": ["*.txt", "*.md"]}}]},
        {"a": "r.md"},
        False,
        OPERATORS,
    ),
    # --- numeric ---
    (
        "numeric-readme-ranges",
        {
            "detail": {
                "source-ip": [{"cidr": "10.0.0.0/24"}],
                "c.count": [{"numeric": [">", 0, "<=", 5]}],
                "d.count": [{"numeric": ["<", 10]}],
                "x.limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        README_EVENT,
        True,
        RULER_TEST,
    ),
    ("numeric-gt-miss", {"a": [{"numeric": [">", 5]}]}, {"a": 5}, False, OPERATORS),
    ("numeric-ge-hit", {"a": [{"numeric": [">=", 5]}]}, {"a": 5}, True, OPERATORS),
    ("numeric-lt-hit", {"a": [{"numeric": ["<", 5]}]}, {"a": 4.999}, True, OPERATORS),
    ("numeric-le-hit", {"a": [{"numeric": ["<=", 5]}]}, {"a": 5}, True, OPERATORS),
    ("numeric-eq-exponent", {"a": [{"numeric": ["=", 3.018e2]}]}, {"a": 301.8}, True, RULER_TEST),
    ("numeric-negative", {"a": [{"numeric": ["<", 0]}]}, {"a": -1e3}, True, OPERATORS),
    ("numeric-range-inside", {"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5}, True, OPERATORS),
    ("numeric-range-outside", {"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 0}, False, OPERATORS),
    ("numeric-not-string", {"a": [{"numeric": [">", 0]}]}, {"a": "5"}, False, OPERATORS),
    ("numeric-not-bool", {"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": True}, False, RULER_RUN),
    ("numeric-not-null", {"a": [{"numeric": [">", 0]}]}, {"a": None}, False, OPERATORS),
    ("numeric-array-any", {"a": [{"numeric": [">", 10]}]}, {"a": [1, 20]}, True, OPERATORS),
    ("numeric-ored-with-value", {"a": [{"numeric": ["<", 0]}, "x"]}, {"a": "x"}, True, PATTERNS),
    ("numeric-large", {"a": [{"numeric": [">", 1e10]}]}, {"a": 2e10}, True, NUMBER_SOURCE),
    # --- exists ---
    ("exists-true-present", {"a": [{"exists": True}]}, {"a": 1}, True, RULER_TEST),
    ("exists-false-other-field", {"b": [{"exists": False}]}, {"a": 1}, True, RULER_TEST),
    ("exists-true-missing", {"x": [{"exists": True}]}, {"a": 1}, False, RULER_TEST),
    ("exists-false-present", {"b": [{"exists": False}]}, {"b": 2}, False, RULER_TEST),
    ("exists-true-null", {"a": [{"exists": True}]}, {"a": None}, True, OPERATORS),
    ("exists-false-null", {"a": [{"exists": False}]}, {"a": None}, False, OPERATORS),
    ("exists-true-empty-array", {"a": [{"exists": True}]}, {"a": []}, False, RULER_RUN),
    ("exists-false-empty-array", {"a": [{"exists": False}]}, {"a": []}, True, RULER_RUN),
    ("exists-true-empty-object", {"a": [{"exists": True}]}, {"a": {}}, False, RULER_RUN),
    ("exists-true-object", {"a": [{"exists": True}]}, {"a": {"b": 1}}, False, RULER_README),
    ("exists-false-object", {"a": [{"exists": False}]}, {"a": {"b": 1}}, True, RULER_README),
    (
        "exists-false-one-element",
        {"a": {"b": [{"exists": False}]}},
        {"a": [{"b": 1}, {"c": 2}]},
        False,
        RULER_RUN,
    ),
    (
        "exists-true-nested-leaf",
        {"detail": {"c-count": [{"exists": True}]}},
        {"detail": {"c-count": {"x": 1}}},
        False,
        RULER_README,
    ),
    ("exists-or-value", {"a": [{"exists": False}, "x"]}, {"b": 1}, True, PATTERNS),
    ("exists-or-value-mismatch", {"a": [{"exists": False}, "x"]}, {"a": "y"}, False, PATTERNS),
    # --- cidr ---
    (
        "cidr-readme",
        {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}},
        README_EVENT,
        True,
        RULER_TEST,
    ),
    (
        "cidr-wider",
        {"detail": {"source-ip": [{"cidr": "10.0.0.0/8"}]}},
        README_EVENT,
        True,
        RULER_TEST,
    ),
    ("cidr-outside", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.1"}, False, OPERATORS),
    ("cidr-upper-edge", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.255"}, True, OPERATORS),
    ("cidr-host-bits", {"ip": [{"cidr": "10.0.0.1/24"}]}, {"ip": "10.0.0.200"}, True, RULER_RUN),
    ("cidr-ipv6", {"ip": [{"cidr": "2001:db8::/64"}]}, {"ip": "2001:db8::1:2"}, True, OPERATORS),
    (
        "cidr-ipv6-outside",
        {"ip": [{"cidr": "2001:db8::/64"}]},
        {"ip": "2001:db9::1"},
        False,
        OPERATORS,
    ),
    ("cidr-v4-vs-v6", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "2001:db8::1"}, False, OPERATORS),
    ("cidr-not-ip", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "host.example"}, False, OPERATORS),
    ("cidr-not-number", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": 10}, False, OPERATORS),
    (
        "exact-ip-other-spelling",
        {"ip": ["2001:db8::1"]},
        {"ip": "2001:0db8:0:0:0:0:0:1"},
        True,
        COMPILER,
    ),
    # --- $or ---
    (
        "or-top-level-first",
        {"$or": [{"a": ["1"]}, {"b": ["2"]}]},
        {"a": "1"},
        True,
        PATTERNS,
    ),
    ("or-top-level-second", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": "2"}, True, PATTERNS),
    ("or-top-level-none", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"a": "2"}, False, PATTERNS),
    (
        "or-nested-under-detail",
        {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization", "ReadLatency"]},
                {"namespace": ["AWS/EC2", "AWS/ES"]},
            ],
        },
        {"source": "aws.cloudwatch", "namespace": "AWS/ES"},
        True,
        COMPILER,
    ),
    (
        "or-shared-field-required",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.s3", "namespace": "AWS/EC2"},
        False,
        COMPILER,
    ),
    (
        "or-inside-object",
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                ]
            }
        },
        {"detail": {"c-count": 9, "d-count": 3}},
        True,
        COMPILER,
    ),
    (
        "or-inside-object-miss",
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                ]
            }
        },
        {"detail": {"c-count": 9, "d-count": 30}},
        False,
        COMPILER,
    ),
    (
        "or-nested-or",
        {"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]},
        {"c": "3"},
        True,
        PATTERNS,
    ),
    (
        "or-branch-conjunction",
        {"$or": [{"a": ["1"], "b": ["2"]}, {"c": ["3"]}]},
        {"a": "1", "b": "9"},
        False,
        PATTERNS,
    ),
]

MIXED_ANYTHING_BUT = (
    "Inside anything but list, either all values are number or string, mixed type is not supported"
)

ERROR_CASES: list[tuple[str, Any, str, str]] = [
    # id, pattern, expected ruler reason, source
    ("not-object-array", "[]", "Filter is not an object", COMPILER),
    ("not-object-string", '"x"', "Filter is not an object", COMPILER),
    ("empty-object", "{}", "Empty objects are not allowed", COMPILER),
    ("nested-empty-object", {"a": {}}, "Empty objects are not allowed", COMPILER),
    ("leaf-not-array", {"source": "aws.ec2"}, '"source" must be an object or an array', COMPILER),
    ("leaf-number", {"a": 1}, '"a" must be an object or an array', COMPILER),
    ("empty-array", {"a": []}, "Empty arrays are not allowed", COMPILER),
    (
        "nested-array-value",
        {"a": [["x"]]},
        "Match value must be String, number, true, false, or null",
        COMPILER,
    ),
    ("unknown-operator", {"a": [{"regex": "x"}]}, "Unrecognized match type regex", COMPILER),
    (
        "operator-case-sensitive",
        {"a": [{"NUMERIC": [">", 1]}]},
        "Unrecognized match type NUMERIC",
        COMPILER,
    ),
    ("empty-match-expression", {"a": [{}]}, "Match expression name not found", COMPILER),
    (
        "two-keys",
        {"a": [{"prefix": "a", "suffix": "b"}]},
        "Only one key allowed in match expression",
        COMPILER,
    ),
    ("prefix-number", {"a": [{"prefix": 1}]}, "prefix match pattern must be a string", COMPILER),
    ("prefix-list", {"a": [{"prefix": ["a"]}]}, "prefix match pattern must be a string", COMPILER),
    ("suffix-null", {"a": [{"suffix": None}]}, "suffix match pattern must be a string", COMPILER),
    (
        "prefix-unsupported-inner",
        {"a": [{"prefix": {"wildcard": "a"}}]},
        "Unsupported prefix pattern: wildcard",
        COMPILER,
    ),
    (
        "suffix-unsupported-inner",
        {"a": [{"suffix": {"prefix": "a"}}]},
        "Unsupported suffix pattern: prefix",
        COMPILER,
    ),
    ("prefix-empty-inner", {"a": [{"prefix": {}}]}, "Prefix expression name not found", COMPILER),
    (
        "prefix-ignore-case-number",
        {"a": [{"prefix": {"equals-ignore-case": 1}}]},
        "equals-ignore-case match pattern must be a string",
        COMPILER,
    ),
    (
        "ignore-case-list",
        {"a": [{"equals-ignore-case": ["a"]}]},
        "equals-ignore-case match pattern must be a string",
        COMPILER,
    ),
    ("exactly-number", {"a": [{"exactly": 1}]}, "exact match pattern must be a string", COMPILER),
    (
        "wildcard-number",
        {"a": [{"wildcard": 1}]},
        "wildcard match pattern must be a string",
        COMPILER,
    ),
    (
        "wildcard-consecutive",
        {"a": [{"wildcard": "a**b"}]},
        "Consecutive wildcard characters at pos 2",
        WILDCARD_SOURCE,
    ),
    (
        "wildcard-bad-escape",
        {"a": [{"wildcard": "a\\b"}]},
        "Invalid escape character at pos 2",
        WILDCARD_SOURCE,
    ),
    (
        "wildcard-trailing-backslash",
        {"a": [{"wildcard": "ab\\"}]},
        "Invalid escape character at pos 3",
        WILDCARD_SOURCE,
    ),
    (
        "exists-string",
        {"a": [{"exists": "true"}]},
        "exists match pattern must be either true or false.",
        COMPILER,
    ),
    (
        "exists-two-keys",
        {"a": [{"exists": True, "prefix": "a"}]},
        "Only one key allowed in match expression",
        COMPILER,
    ),
    (
        "numeric-not-array",
        {"a": [{"numeric": ">"}]},
        "Value of numeric must be an array.",
        COMPILER,
    ),
    ("numeric-empty", {"a": [{"numeric": []}]}, "Invalid member in numeric match: ]", COMPILER),
    (
        "numeric-number-first",
        {"a": [{"numeric": [5, ">"]}]},
        "Invalid member in numeric match: 5",
        COMPILER,
    ),
    (
        "numeric-unknown-op",
        {"a": [{"numeric": ["!=", 5]}]},
        "Unrecognized numeric range operator: !=",
        COMPILER,
    ),
    (
        "numeric-string-value",
        {"a": [{"numeric": [">", "5"]}]},
        "Value of > must be numeric",
        COMPILER,
    ),
    (
        "numeric-equals-string",
        {"a": [{"numeric": ["=", "5"]}]},
        "Value of equals must be numeric",
        COMPILER,
    ),
    (
        "numeric-two-lower",
        {"a": [{"numeric": [">", 0, ">", 5]}]},
        "Bad numeric range operator: >",
        COMPILER,
    ),
    (
        "numeric-bad-range-value",
        {"a": [{"numeric": [">", 0, 5]}]},
        "Bad value in numeric range: 5",
        COMPILER,
    ),
    (
        "numeric-upper-string",
        {"a": [{"numeric": [">", 0, "<", "5"]}]},
        "Value of < must be numeric",
        COMPILER,
    ),
    (
        "numeric-too-many-terms",
        {"a": [{"numeric": [">", 0, "<", 5, "<", 6]}]},
        "Too many terms in numeric range expression",
        COMPILER,
    ),
    (
        "numeric-lt-then-more",
        {"a": [{"numeric": ["<", 5, ">", 0]}]},
        "Too many elements in numeric expression",
        COMPILER,
    ),
    (
        "numeric-extra-key",
        {"a": [{"numeric": [">", 0], "prefix": "a"}]},
        "Too many elements in numeric expression",
        COMPILER,
    ),
    (
        "numeric-bottom-above-top",
        {"a": [{"numeric": [">", 5, "<", 1]}]},
        "Bottom must be less than top",
        RANGE_SOURCE,
    ),
    (
        "numeric-bottom-equals-top",
        {"a": [{"numeric": [">=", 5, "<=", 5]}]},
        "Bottom must be less than top",
        RANGE_SOURCE,
    ),
    (
        "numeric-not-a-double",
        '{"a": [{"numeric": [">", 1.00000000000000000001]}]}',
        "Cannot compare number : 1.00000000000000000001",
        NUMBER_SOURCE,
    ),
    (
        "anything-but-null",
        {"a": [{"anything-but": None}]},
        "Value of anything-but must be an array or single string/number value.",
        COMPILER,
    ),
    (
        "anything-but-bool",
        {"a": [{"anything-but": True}]},
        "Value of anything-but must be an array or single string/number value.",
        COMPILER,
    ),
    (
        "anything-but-list-null",
        {"a": [{"anything-but": ["a", None]}]},
        "Inside anything but list, start|null|boolean is not supported.",
        COMPILER,
    ),
    (
        "anything-but-mixed",
        {"a": [{"anything-but": ["a", 1]}]},
        MIXED_ANYTHING_BUT,
        COMPILER,
    ),
    (
        "anything-but-empty-list",
        {"a": [{"anything-but": []}]},
        MIXED_ANYTHING_BUT,
        COMPILER,
    ),
    (
        "anything-but-unsupported",
        {"a": [{"anything-but": {"numeric": [">", 1]}}]},
        "Unsupported anything-but pattern: numeric",
        COMPILER,
    ),
    (
        "anything-but-empty-object",
        {"a": [{"anything-but": {}}]},
        "Anything-But expression name not found",
        COMPILER,
    ),
    (
        "anything-but-prefix-empty",
        {"a": [{"anything-but": {"prefix": ""}}]},
        "Null prefix/suffix not allowed",
        COMPILER,
    ),
    (
        "anything-but-prefix-number",
        {"a": [{"anything-but": {"prefix": 1}}]},
        "prefix/suffix match pattern must be a string",
        COMPILER,
    ),
    (
        "anything-but-prefix-list-number",
        {"a": [{"anything-but": {"prefix": ["a", 1]}}]},
        "prefix/suffix match pattern must be a string",
        COMPILER,
    ),
    (
        "anything-but-ignore-case-number",
        {"a": [{"anything-but": {"equals-ignore-case": [1]}}]},
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
        COMPILER,
    ),
    (
        "anything-but-wildcard-number",
        {"a": [{"anything-but": {"wildcard": [1]}}]},
        "wildcard match pattern must be a string",
        COMPILER,
    ),
    (
        "anything-but-wildcard-consecutive",
        {"a": [{"anything-but": {"wildcard": "a**"}}]},
        "Consecutive wildcard characters at pos 2",
        WILDCARD_SOURCE,
    ),
    (
        "anything-but-extra-key",
        {"a": [{"anything-but": "x", "prefix": "y"}]},
        "Too many elements in numeric expression",
        COMPILER,
    ),
    ("cidr-number", {"a": [{"cidr": 10}]}, "prefix match pattern must be a string", COMPILER),
    (
        "cidr-no-slash",
        {"a": [{"cidr": "10.0.0.0"}]},
        "Malformed CIDR, one '/' required",
        CIDR_SOURCE,
    ),
    (
        "cidr-mask-text",
        {"a": [{"cidr": "10.0.0.0/x"}]},
        "Malformed CIDR, mask bits must be an integer",
        CIDR_SOURCE,
    ),
    (
        "cidr-mask-negative",
        {"a": [{"cidr": "10.0.0.0/-1"}]},
        "Malformed CIDR, mask bits must not be negative",
        CIDR_SOURCE,
    ),
    (
        "cidr-v4-mask-32",
        {"a": [{"cidr": "10.0.0.0/32"}]},
        "IPv4 mask bits must be < 32",
        CIDR_SOURCE,
    ),
    (
        "cidr-v6-mask-128",
        {"a": [{"cidr": "2001:db8::/128"}]},
        "IPv6 mask bits must be < 128",
        CIDR_SOURCE,
    ),
    (
        "cidr-hostname",
        {"a": [{"cidr": "example.com/24"}]},
        "Nonstandard IP address: example.com",
        CIDR_SOURCE,
    ),
    (
        "cidr-bad-octet",
        {"a": [{"cidr": "999.0.0.1/24"}]},
        "Invalid IP address: 999.0.0.1",
        CIDR_SOURCE,
    ),
    ("or-not-array", {"$or": {"a": ["1"]}}, "It must be an Array followed with $or.", COMPILER),
    (
        "or-one-branch",
        {"$or": [{"a": ["1"]}]},
        "There must have at least 2 Objects in $or relationship.",
        COMPILER,
    ),
    (
        "or-non-object",
        {"$or": [{"a": ["1"]}, "b"]},
        "Only JSON object is allowed in array of $or relationship.",
        COMPILER,
    ),
    ("or-empty-branch", {"$or": [{"a": ["1"]}, {}]}, "Empty objects are not allowed", COMPILER),
    (
        "or-reserved-name",
        {"$or": [{"numeric": ["1"]}, {"b": ["2"]}]},
        "numeric is Ruler reserved fieldName which cannot be used inside $or.",
        COMPILER,
    ),
]


@pytest.mark.parametrize(
    ("case_id", "pattern", "event", "expected", "source"),
    MATCH_CASES,
    ids=[c[0] for c in MATCH_CASES],
)
def test_pattern_matches_event(
    case_id: str, pattern: Any, event: dict[str, Any], expected: bool, source: str
) -> None:
    """A pattern matches an event exactly when EventBridge's matcher does."""
    assert matches(pattern, event) is expected, source


@pytest.mark.parametrize(
    ("case_id", "pattern", "event", "expected", "source"),
    MATCH_CASES,
    ids=[c[0] for c in MATCH_CASES],
)
def test_json_text_pattern_matches_same(
    case_id: str, pattern: Any, event: dict[str, Any], expected: bool, source: str
) -> None:
    """A pattern and event given as JSON text give the same result as dicts."""
    assert matches(json.dumps(pattern), json.dumps(event)) is expected, source


@pytest.mark.parametrize(
    ("case_id", "pattern", "reason", "source"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_invalid_pattern_message(case_id: str, pattern: Any, reason: str, source: str) -> None:
    """An invalid pattern raises InvalidEventPatternException's message."""
    with pytest.raises(InvalidEventPatternError) as caught:
        compile_pattern(pattern)
    assert caught.value.reason == reason, source
    assert caught.value.message == f"Event pattern is not valid. Reason: {reason}"
    assert caught.value.code == "InvalidEventPatternException"


def test_pattern_not_json_is_rejected() -> None:
    """Text that is not JSON raises InvalidEventPatternError."""
    with pytest.raises(InvalidEventPatternError):
        compile_pattern("{not json")


def test_pattern_length_limit() -> None:
    """A pattern above the 2048-character default quota is rejected."""
    long_value = "x" * 2100
    with pytest.raises(InvalidEventPatternError) as caught:
        compile_pattern({"a": [long_value]})
    assert "2048" in caught.value.reason, QUOTAS


def test_pattern_length_quota_raised() -> None:
    """A raised quota accepts a pattern above the default 2048 characters."""
    pattern = compile_pattern({"a": ["x" * 3000]}, max_length=4096)

    assert pattern.matches({"a": "x" * 3000})


def test_pattern_at_length_limit_is_accepted() -> None:
    """A pattern of exactly 2048 characters is accepted."""
    skeleton = json.dumps({"a": [""]}, separators=(",", ":"))
    text = json.dumps({"a": ["x" * (2048 - len(skeleton))]}, separators=(",", ":"))

    assert len(text) == 2048
    assert compile_pattern(text).matches({"a": "x" * (2048 - len(skeleton))})


def test_or_expands_into_branches() -> None:
    """Fields next to $or apply to every branch."""
    pattern = compile_pattern({"s": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]})

    assert len(pattern.branches) == 2
    assert all(len(branch) == 2 for branch in pattern.branches)


def test_flatten_event_joins_paths() -> None:
    """Nested keys and dotted keys flatten to the same path."""
    fields = flatten_event({"a": {"b": 1}, "c.d": [2, 3], "e": [], "f": {}})

    assert [value for value, _ in fields["a.b"]] == [1]
    assert sorted(value for value, _ in fields["c.d"]) == [2, 3]
    assert "e" not in fields
    assert "f" not in fields


def test_compiled_pattern_is_reusable() -> None:
    """One compiled Pattern matches many events."""
    pattern = compile_pattern('{"source": ["aws.ec2"]}')

    assert isinstance(pattern, Pattern)
    assert pattern.matches({"source": "aws.ec2"})
    assert not pattern.matches({"source": "aws.s3"})


# --- PatternIndex ---

INDEX_RULES: dict[str, Any] = {
    "ec2": {"source": ["aws.ec2"]},
    "ec2-running": {"source": ["aws.ec2"], "detail": {"state": ["running"]}},
    "s3": {"source": ["aws.s3"]},
    "any-prefix": {"detail": {"state": [{"prefix": "run"}]}},
    "or-rule": {"$or": [{"source": ["aws.s3"]}, {"detail": {"c.count": [5]}}]},
    "numeric-source": {"source": [1]},
    "absent": {"missing": [{"exists": False}]},
}


@pytest.fixture
def index() -> PatternIndex[str]:
    built: PatternIndex[str] = PatternIndex()
    for rule_id, pattern in INDEX_RULES.items():
        built.add(rule_id, pattern)
    return built


def test_index_agrees_with_matches(index: PatternIndex[str]) -> None:
    """PatternIndex returns exactly the rules whose pattern matches, in insertion order."""
    for event in (
        README_EVENT,
        {"source": "aws.s3"},
        {"source": 1},
        {"source": "1"},
        {"missing": 1},
    ):
        expected = [rule_id for rule_id, pattern in INDEX_RULES.items() if matches(pattern, event)]
        assert index.matching(event) == expected


def test_index_readme_event(index: PatternIndex[str]) -> None:
    """The README event matches the EC2, prefix, $or and absence rules."""
    assert index.matching(README_EVENT) == ["ec2", "ec2-running", "any-prefix", "or-rule", "absent"]


def test_index_keeps_types_apart(index: PatternIndex[str]) -> None:
    """The string "1" and true do not reach a rule keyed on the number 1."""
    assert "numeric-source" not in index.matching({"source": "1"})
    assert "numeric-source" not in index.matching({"source": True})
    assert "numeric-source" in index.matching({"source": 1.0})


def test_index_remove(index: PatternIndex[str]) -> None:
    """A removed rule no longer matches, and the others still do."""
    index.remove("ec2")
    index.remove("or-rule")

    assert index.matching(README_EVENT) == ["ec2-running", "any-prefix", "absent"]
    assert "ec2" not in index
    assert len(index) == len(INDEX_RULES) - 2


def test_index_replace(index: PatternIndex[str]) -> None:
    """Adding an existing id replaces its pattern."""
    index.add("ec2", {"source": ["aws.lambda"]})

    assert "ec2" not in index.matching(README_EVENT)
    assert "ec2" in index.matching({"source": "aws.lambda"})


def test_index_rejects_invalid_pattern(index: PatternIndex[str]) -> None:
    """An invalid pattern raises and leaves the index unchanged."""
    with pytest.raises(InvalidEventPatternError):
        index.add("bad", {"source": "aws.ec2"})

    assert "bad" not in index


def test_index_benchmark_10000_rules() -> None:
    """Match one event against 10,000 keyed rules; prints the time, asserts only results."""
    index: PatternIndex[int] = PatternIndex()
    for number in range(10_000):
        index.add(number, {"source": [f"app.{number}"], "detail": {"n": [{"numeric": [">", 0]}]}})
    event = {"source": "app.4242", "detail": {"n": 1}}

    started = time.perf_counter()
    for _ in range(1_000):
        result = index.matching(event)
    per_event = (time.perf_counter() - started) / 1_000

    print(f"PatternIndex, 10,000 rules: {per_event * 1e6:.1f} microseconds per event")
    assert result == [4242]
