"""CloudFormation YAML: short-form tags, string dates, duplicate keys and error locations."""

from __future__ import annotations

import pytest

from windtunnel.errors import TemplateSyntaxError
from windtunnel.template.yaml import line_of, load_json, load_yaml

# Short forms and their long forms:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
SHORT_FORMS = [
    ("!Ref Bucket", {"Ref": "Bucket"}),
    ("!GetAtt Table.Arn", {"Fn::GetAtt": ["Table", "Arn"]}),
    ("!GetAtt Nested.Outputs.Name", {"Fn::GetAtt": ["Nested", "Outputs.Name"]}),
    ("!GetAtt [Table, Arn]", {"Fn::GetAtt": ["Table", "Arn"]}),
    ("!Sub '${AWS::Region}-x'", {"Fn::Sub": "${AWS::Region}-x"}),
    ("!Join [',', [a, b]]", {"Fn::Join": [",", ["a", "b"]]}),
    ("!If [C, !Ref A, !Ref AWS::NoValue]",
     {"Fn::If": ["C", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]}),
    ("!Condition IsProd", {"Condition": "IsProd"}),
    ("!Select [0, !GetAZs '']", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
    ("!FindInMap [M, a, b]", {"Fn::FindInMap": ["M", "a", "b"]}),
    ("!Base64 text", {"Fn::Base64": "text"}),
    ("!ImportValue shared", {"Fn::ImportValue": "shared"}),
    ("!Split [',', 'a,b']", {"Fn::Split": [",", "a,b"]}),
    ("!Equals [a, b]", {"Fn::Equals": ["a", "b"]}),
    ("!Not [!Condition C]", {"Fn::Not": [{"Condition": "C"}]}),
    ("!Cidr [10.0.0.0/16, 2, 8]", {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}),
]


@pytest.mark.parametrize(("text", "expected"), SHORT_FORMS)
def test_short_form_tags(text: str, expected: object) -> None:
    """Each short-form tag loads as its long form."""
    assert load_yaml(f"value: {text}\n")["value"] == expected


def test_dates_stay_strings() -> None:
    """AWSTemplateFormatVersion: 2010-09-09 is a string, as CloudFormation reads it."""
    assert load_yaml("AWSTemplateFormatVersion: 2010-09-09\n") == {
        "AWSTemplateFormatVersion": "2010-09-09"}


def test_duplicate_key_is_an_error_with_lines() -> None:
    """A key that appears twice in one mapping is rejected with both lines."""
    with pytest.raises(TemplateSyntaxError) as caught:
        load_yaml("Resources:\n  A: 1\n  A: 2\n", file="template.yaml")

    message = str(caught.value)
    assert message.startswith("template.yaml:3:3:")
    assert "duplicate key 'A'" in message
    assert "first on line 2" in message


def test_yaml_syntax_error_has_file_and_line() -> None:
    """Malformed YAML reports file, line and column."""
    with pytest.raises(TemplateSyntaxError) as caught:
        load_yaml("a:\n  - [1, 2\nb: 3\n", file="t.yaml")

    assert caught.value.line == 3
    assert str(caught.value).startswith("t.yaml:3:")


def test_json_syntax_error_has_file_and_line() -> None:
    """Malformed JSON reports file, line and column."""
    with pytest.raises(TemplateSyntaxError) as caught:
        load_json('{\n  "a": 1,\n}\n', file="t.json")

    assert caught.value.line == 3
    assert "invalid JSON" in str(caught.value)


def test_line_of_finds_nested_keys() -> None:
    """Lines are kept for keys, so later errors can point at them."""
    document = load_yaml("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"
                         "    Properties:\n      QueueName: !Ref Name\n")

    assert line_of(document, ["Resources", "Queue", "Properties", "QueueName"]) == 5
    assert line_of(document, ["Resources", "Missing"]) == 1
