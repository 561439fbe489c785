"""The Framework's variable syntax, resolved the way its documentation describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.serverless import compile_serverless

VARIABLES = "https://www.serverless.com/framework/docs/guides/variables"
SELF = "https://www.serverless.com/framework/docs/guides/variables/self"
OPT = "https://www.serverless.com/framework/docs/guides/variables/cli-options"
ENV = "https://www.serverless.com/framework/docs/guides/variables/env-vars"
FILE = "https://www.serverless.com/framework/docs/guides/variables/file"
CORE = "https://www.serverless.com/framework/docs/guides/variables/core"
AWS = "https://www.serverless.com/framework/docs/guides/variables/aws"
SSM = "https://www.serverless.com/framework/docs/guides/variables/aws/ssm"
PARAMS = "https://www.serverless.com/framework/docs/guides/parameters"
PLACEHOLDERS = (
    "https://github.com/serverless/serverless/blob/main/"
    "packages/sf-core/src/lib/resolvers/placeholders.js"
)

_BASE = """
service: demo
provider:
  name: aws
  runtime: python3.12
custom:
  name: demo-name
  nested:
    dev: nested-dev
    prod: nested-prod
  count: 3
  list: [a, b]
params:
  default:
    domain: default.example.com
  prod:
    domain: prod.example.com
"""


def _probe(tmp_path: Path, value: str, **kwargs: Any) -> Any:
    """Compile a service whose custom.probe is ``value`` and return the resolved probe."""
    document = _BASE.replace("custom:\n", f"custom:\n  probe: {value}\n", 1)
    document += (
        "functions:\n  fn:\n    handler: h.main\n"
        "    environment:\n      PROBE: ${self:custom.probe}\n"
    )
    (tmp_path / "serverless.yml").write_text(document)
    kwargs.setdefault("environ", {})
    template = compile_serverless(tmp_path / "serverless.yml", **kwargs)
    # A null value removes the property, as the Framework strips nulls before deploying.
    variables = template.body["Resources"]["FnLambdaFunction"]["Properties"]["Environment"]
    return variables["Variables"].get("PROBE")


@pytest.mark.parametrize(
    ("value", "kwargs", "expected", "source"),
    [
        ("${self:custom.name}", {}, "demo-name", SELF),
        ("${self:service}-api", {}, "demo-api", SELF),
        ("${self:custom.count}", {}, 3, SELF),
        ("${self:custom.list}", {}, ["a", "b"], SELF),
        ("${opt:stage}", {"stage": "prod"}, "prod", OPT),
        ("${opt:region}", {"region": "eu-west-1"}, "eu-west-1", OPT),
        ("${opt:memory}", {"options": {"memory": "2048"}}, "2048", OPT),
        ("${opt:stage, 'dev'}", {}, "dev", VARIABLES),
        ('${opt:stage, "qa"}', {}, "qa", VARIABLES),
        ("${opt:memory, 1024}", {}, 1024, VARIABLES),
        ("${sls:stage}", {}, "dev", CORE),
        ("${sls:stage}", {"stage": "prod"}, "prod", CORE),
        ("${env:NAME}", {"environ": {"NAME": "from-env"}}, "from-env", ENV),
        ("${env:MISSING, self:custom.name}", {}, "demo-name", VARIABLES),
        ("${env:MISSING, null}", {}, None, VARIABLES),
        ("${env:MISSING, ${self:custom.name}}", {}, "demo-name", VARIABLES),
        ("${self:custom.nested.${sls:stage}}", {}, "nested-dev", VARIABLES),
        ("${self:custom.nested.${opt:stage}}", {"stage": "prod"}, "nested-prod", VARIABLES),
        ("${aws:region}", {}, "us-east-1", AWS),
        ("${aws:region}", {"region": "ap-south-1"}, "ap-south-1", AWS),
        ("${aws:accountId}", {}, "123456789012", AWS),
        ("${param:domain}", {}, "default.example.com", PARAMS),
        ("${param:domain}", {"stage": "prod"}, "prod.example.com", PARAMS),
        ("${param:domain}", {"params": {"domain": "cli.example.com"}}, "cli.example.com", PARAMS),
        ("${ssm:/app/key}", {"ssm_lookup": {"/app/key": "secret"}.get}, "secret", SSM),
        ("${ssm:/app/missing, 'fallback'}", {"ssm_lookup": {}.get}, "fallback", SSM),
        ("${strToBool(true)}", {}, True, VARIABLES),
        ("arn:${AWS::Partition}:s3:::b", {}, "arn:${AWS::Partition}:s3:::b", PLACEHOLDERS),
        ("${!Literal}", {}, "${!Literal}", PLACEHOLDERS),
        ("${Bucket}", {}, "${Bucket}", PLACEHOLDERS),
    ],
)
def test_variable(
    tmp_path: Path, value: str, kwargs: dict[str, Any], expected: Any, source: str
) -> None:
    """A variable resolves to the value the Framework documents."""
    assert (
        _probe(tmp_path, f"'{value}'" if "'" not in value else f'"{value}"', **kwargs) == expected
    ), source


def test_instance_id_is_stable(tmp_path: Path) -> None:
    """${sls:instanceId} is one value per compile, here derived from service and stage."""
    first = _probe(tmp_path, '"${sls:instanceId}"')
    second = _probe(tmp_path, '"${sls:instanceId}"')
    assert first == second
    assert len(first) == 13


def test_file_variable_reads_yaml_key(tmp_path: Path) -> None:
    """${file(path):key} reads one key of a YAML file next to serverless.yml."""
    (tmp_path / "config.yml").write_text("db:\n  name: ${self:custom.name}-db\n")
    assert _probe(tmp_path, '"${file(./config.yml):db.name}"') == "demo-name-db", FILE


def test_file_variable_reads_json(tmp_path: Path) -> None:
    """${file(path)} without a key returns the whole JSON document."""
    (tmp_path / "config.json").write_text('{"a": 1}')
    assert _probe(tmp_path, '"${file(./config.json)}"') == {"a": 1}, FILE


def test_file_variable_missing_uses_fallback(tmp_path: Path) -> None:
    """A missing file has no value, so the fallback applies."""
    assert _probe(tmp_path, "\"${file(./absent.yml):x, 'none'}\"") == "none", FILE


def test_file_variable_javascript_is_unsupported(tmp_path: Path) -> None:
    """A JavaScript file source raises UnsupportedFeatureError naming the file."""
    (tmp_path / "config.js").write_text("module.exports = {}")
    with pytest.raises(UnsupportedFeatureError, match=r"config\.js"):
        _probe(tmp_path, '"${file(./config.js):value}"')


def test_missing_variable_without_fallback(tmp_path: Path) -> None:
    """A variable with no value and no fallback is an error naming it and its path."""
    with pytest.raises(
        TemplateError, match=r"Cannot resolve '\$\{env:NOPE\}' variable at 'custom.probe'"
    ):
        _probe(tmp_path, '"${env:NOPE}"')


def test_ssm_without_lookup_explains_how_to_provide(tmp_path: Path) -> None:
    """An SSM variable without ssm_lookup names the parameter and the ssm_lookup argument."""
    with pytest.raises(TemplateError, match=r"'/app/key'.*ssm_lookup"):
        _probe(tmp_path, '"${ssm:/app/key}"')


@pytest.mark.parametrize(
    "value", ['"${cf:other-stack.Output}"', '"${s3:bucket/key}"', '"${foo:bar}"']
)
def test_unsupported_source(tmp_path: Path, value: str) -> None:
    """A source windtunnel cannot resolve raises UnsupportedFeatureError naming the source."""
    source = value.strip('"')[2:].split(":")[0]
    with pytest.raises(UnsupportedFeatureError, match=source):
        _probe(tmp_path, value)


def test_circular_reference(tmp_path: Path) -> None:
    """A self reference that leads back to itself is an error, not a hang."""
    with pytest.raises(TemplateError, match="circular"):
        _probe(tmp_path, '"${self:custom.probe}"')
