"""What a rule's target receives: Input, InputPath and InputTransformer, case by case.

Sources:
- TRANSFORM: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
  (the example EC2 event, the template/output table, predefined variables, "Common issues":
  string variables are quoted where a JSON value goes and not inside a string, objects in
  a string lose their inner quotes, a path that does not exist leaves the variable out,
  values are not escaped)
- API: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html
  (text templates such as ``<instance> is in state <status>``, JSON templates with
  variables inside and outside quotes)
- TARGET: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html
  (one of Input, InputPath, InputTransformer; InputPathsMap up to 100 keys; RetryPolicy
  ranges 0-185 attempts and 60-86400 seconds)
- EVENT: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
  (the fields a target receives)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from windtunnel.services.events.targets.input import InputContext, render_template, target_input
from windtunnel.services.events.targets.validation import validate_targets

TRANSFORM = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html"
API = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html"
TARGET = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html"

# The example event of the transformer page, with extra detail fields for value types.
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {
        "instance-id": "i-0123456789",
        "state": "RUNNING",
        "count": 3,
        "spot": True,
        "owner": None,
        "note": 'say "hi"',
    },
}
EVENT_WITHOUT_DETAIL = {name: value for name, value in EVENT.items() if name != "detail"}
CONTEXT = InputContext("arn:aws:events:us-east-2:123456789012:rule/example",
                       "2015-11-11T21:29:55Z")
PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "count": "$.detail.count",
    "spot": "$.detail.spot",
    "owner": "$.detail.owner",
    "note": "$.detail.note",
    "detail": "$.detail",
    "resources": "$.resources",
    "first_resource": "$.resources[0]",
    "missing": "$.detail.missing",
}

# (case id, template, expected output, source)
TEMPLATE_CASES = [
    ("simple-string", '"instance <instance> is in <state>"',
     '"instance i-0123456789 is in RUNNING"', TRANSFORM),
    ("string-with-escaped-quotes", '"instance \\"<instance>\\" is in <state>"',
     '"instance \\"i-0123456789\\" is in RUNNING"', TRANSFORM),
    ("simple-json", '{\n  "instance" : <instance>,\n  "state": <state>\n}',
     '{"instance":"i-0123456789","state":"RUNNING"}', TRANSFORM),
    ("json-with-strings-and-variables",
     '{"instance" : <instance>, "state": "<state>", '
     '"instanceStatus": "instance \\"<instance>\\" is in <state>"}',
     '{"instance":"i-0123456789","state":"RUNNING",'
     '"instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}', TRANSFORM),
    ("json-mix-of-variables-and-static",
     '{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}',
     '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}',
     TRANSFORM),
    ("reserved-variables-in-json",
     '{"ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>}',
     '{"ruleArn":"arn:aws:events:us-east-2:123456789012:rule/example",'
     '"ruleName":"example"}', TRANSFORM),
    ("reserved-variable-in-string", '"<aws.events.rule-name> triggered"',
     '"example triggered"', TRANSFORM),
    ("event-without-detail", '{"originalEvent" : <aws.events.event>}',
     json.dumps({"originalEvent": EVENT_WITHOUT_DETAIL}, separators=(",", ":")), TRANSFORM),
    ("full-event-json", '{"originalEvent" : <aws.events.event.json>}',
     json.dumps({"originalEvent": EVENT}, separators=(",", ":")), TRANSFORM),
    ("ingestion-time", '{"received": <aws.events.event.ingestion-time>}',
     '{"received":"2015-11-11T21:29:55Z"}', TRANSFORM),
    ("object-as-json-value", '{"detail": <detail>}',
     json.dumps({"detail": EVENT["detail"]}, separators=(",", ":")), TRANSFORM),
    ("object-inside-string-loses-quotes", '"Detail is <resources>"',
     '"Detail is [arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111]"', TRANSFORM),
    ("missing-path-left-out-of-string", '"instance <instance> owner <missing>"',
     '"instance i-0123456789 owner "', TRANSFORM),
    ("text-template", "<instance> is in state <state>",
     "i-0123456789 is in state RUNNING", API),
    ("text-template-with-quotes", '<instance> is in state "<state>"',
     'i-0123456789 is in state "RUNNING"', API),
    ("json-variables-in-quotes-and-out",
     '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<state>\\""}',
     '{"myInstance":"i-0123456789","myStatus":"i-0123456789 is in state \\"RUNNING\\""}',
     API),
    ("number-as-json-value", '{"count": <count>}', '{"count":3}', TRANSFORM),
    ("boolean-as-json-value", '{"spot": <spot>}', '{"spot":true}', TRANSFORM),
    ("null-as-json-value", '{"owner": <owner>}', '{"owner":null}', TRANSFORM),
    ("number-inside-string", '"count <count>"', '"count 3"', TRANSFORM),
    ("array-as-json-value", '{"resources": <resources>}',
     '{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]}', TRANSFORM),
    ("array-index-path", '{"first": <first_resource>}',
     '{"first":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}', TRANSFORM),
    ("json-array-template", "[<instance>, <state>, 1]",
     '["i-0123456789","RUNNING",1]', TRANSFORM),
    ("time-variable", '{"timestamp" : <timestamp>}',
     '{"timestamp":"2015-11-11T21:29:54Z"}', TRANSFORM),
    # Not escaped: the value's quotes end the JSON string early, and the output is not JSON.
    ("value-not-escaped-in-json", '{"note": <note>}', '{"note": "say "hi""}', TRANSFORM),
    ("value-not-escaped-in-string", '"note: <note>"', '"note: say "hi""', TRANSFORM),
]


@pytest.mark.parametrize(("template", "expected"),
                         [pytest.param(template, expected, id=case)
                          for case, template, expected, _source in TEMPLATE_CASES])
def test_input_template(template: str, expected: str) -> None:
    """The template renders as the transformer page and API reference describe."""
    assert render_template(template, PATHS, EVENT, CONTEXT) == expected


def test_template_table_size() -> None:
    """The table covers at least 25 documented cases, each with a source."""
    assert len(TEMPLATE_CASES) >= 25
    assert all(source.startswith("https://docs.aws.amazon.com/")
               for *_rest, source in TEMPLATE_CASES)


# The event as moto hands it to a rule: epoch time and its own ingestion-time field.
MOTO_EVENT: dict[str, Any] = {**EVENT, "time": 1447277394.0, "ingestion-time": 1447277395.5}

# (case id, target input settings, expected text, source)
TARGET_CASES = [
    ("whole-event", {}, json.dumps(EVENT, separators=(",", ":")),
     "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html"),
    ("constant-input", {"Input": '{"constant": true}'}, '{"constant": true}', TARGET),
    ("input-path-object", {"InputPath": "$.detail"},
     json.dumps(EVENT["detail"], separators=(",", ":")), TARGET),
    ("input-path-string", {"InputPath": "$.detail.state"}, '"RUNNING"', TARGET),
    ("input-path-root", {"InputPath": "$"}, json.dumps(EVENT, separators=(",", ":")),
     TARGET),
    ("transformer", {"InputTransformer": {"InputPathsMap": {"state": "$.detail.state"},
                                          "InputTemplate": '{"state": <state>}'}},
     '{"state":"RUNNING"}', TRANSFORM),
]


@pytest.mark.parametrize(("settings", "expected"),
                         [pytest.param(settings, expected, id=case)
                          for case, settings, expected, _source in TARGET_CASES])
def test_target_input(settings: dict[str, Any], expected: str) -> None:
    """Each input setting gives the documented text, from the event as EventBridge shapes it
    (ISO 8601 time, no ingestion-time field)."""
    target = {"Id": "target", "Arn": "arn:aws:sqs:us-east-1:123456789012:queue", **settings}

    assert target_input(target, MOTO_EVENT, CONTEXT) == expected


# (case id, target, expected ValidationException message or None, source)
VALIDATION_CASES = [
    ("valid-transformer", {"InputTransformer": {"InputPathsMap": {"s": "$.detail.state"},
                                                "InputTemplate": '{"s": <s>, "t": "<s>"}'}},
     None, TRANSFORM),
    ("valid-text-template", {"InputTransformer": {"InputTemplate": "not JSON <x>"}},
     None, API),
    ("two-input-settings", {"Input": "{}", "InputPath": "$.detail"},
     "Target t can have only one of Input, InputPath and InputTransformer, not Input and "
     "InputPath.", TARGET),
    ("input-not-json", {"Input": "{not json"},
     "Input for target t is not valid JSON text.", TARGET),
    ("retry-attempts-above-185", {"RetryPolicy": {"MaximumRetryAttempts": 186}},
     "1 validation error detected: Value '186' at "
     "'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: "
     "Member must have value less than or equal to 185", TARGET),
    ("event-age-below-60", {"RetryPolicy": {"MaximumEventAgeInSeconds": 59}},
     "1 validation error detected: Value '59' at "
     "'targets.1.member.retryPolicy.maximumEventAgeInSeconds' failed to satisfy "
     "constraint: Member must have value greater than or equal to 60", TARGET),
    ("over-100-paths", {"InputTransformer": {
        "InputPathsMap": {f"v{index}": "$.detail" for index in range(101)},
        "InputTemplate": "{}"}},
     "1 validation error detected: Value at "
     "'targets.1.member.inputTransformer.inputPathsMap' failed to satisfy constraint: "
     "Member must have length less than or equal to 100", TRANSFORM),
    ("reserved-aws-prefix", {"InputTransformer": {"InputPathsMap": {"AWSx": "$.detail"},
                                                  "InputTemplate": "{}"}},
     "InputTransformer for target t uses the reserved variable name AWSx: InputPathsMap "
     "keys cannot start with 'AWS'.", TARGET),
]


@pytest.mark.parametrize(("settings", "expected"),
                         [pytest.param(settings, expected, id=case)
                          for case, settings, expected, _source in VALIDATION_CASES])
def test_put_targets_validation(settings: dict[str, Any], expected: str | None) -> None:
    """PutTargets accepts valid settings and rejects invalid ones with ValidationException."""
    target = {"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:queue", **settings}

    assert validate_targets([target]) == expected


def test_placeholder_as_object_key_is_rejected() -> None:
    """A placeholder cannot be an object key in a JSON template (API reference)."""
    target = {"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:queue",
              "InputTransformer": {"InputPathsMap": {"k": "$.detail.state"},
                                   "InputTemplate": '{<k>: 1}'}}

    message = validate_targets([target])

    assert message is not None
    assert message.startswith("Invalid InputTemplate for target t : ")
