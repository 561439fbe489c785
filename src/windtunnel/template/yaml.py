"""Load CloudFormation YAML and JSON, short-form tags included, keeping line numbers.

CloudFormation reads YAML with its own rules, which differ from a plain YAML 1.1 loader:

- short-form tags (``!Ref``, ``!GetAtt a.b``, ``!Sub``, ...) stand for the long forms
  ``{"Ref": ...}`` and ``{"Fn::GetAtt": [...]}``;
- dates such as ``AWSTemplateFormatVersion: 2010-09-09`` stay strings;
- a key that appears twice in one mapping is an error.

Mappings load as :class:`LocatedDict`, a ``dict`` that also records the line of each key,
so errors found later (an unknown ``Ref``, say) can still point at a line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from windtunnel.errors import TemplateSyntaxError

__all__ = ["LocatedDict", "line_of", "load_json", "load_template_text", "load_yaml"]

# Short-form tags whose long form is "Fn::<Name>"; Ref and Condition keep their own key.
_FUNCTION_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "GetAtt",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
    "ForEach",
)


class LocatedDict(dict[str, Any]):
    """A mapping loaded from YAML that remembers the line (1-based) of each of its keys."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[str, int] = {}
        self.start_line: int | None = None


class _TemplateLoader(yaml.SafeLoader):
    """A SafeLoader with CloudFormation's tags, string dates and duplicate-key checks."""


def _construct_mapping(loader: _TemplateLoader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    mapping = LocatedDict()
    mapping.start_line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in mapping:
            raise TemplateSyntaxError(
                f"duplicate key {key!r} in one mapping (first on line {mapping.key_lines[key]})",
                line=key_node.start_mark.line + 1,
                column=key_node.start_mark.column + 1,
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_tag_value(loader: _TemplateLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return _construct_mapping(loader, node)  # type: ignore[arg-type]


def _function_constructor(name: str) -> Any:
    def construct(loader: _TemplateLoader, node: yaml.Node) -> LocatedDict:
        value = _construct_tag_value(loader, node)
        if name == "GetAtt" and isinstance(value, str):
            # "!GetAtt Resource.Attribute" splits at the first dot only: attribute names
            # such as "Outputs.Name" of a nested stack keep theirs.
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        result = LocatedDict({f"Fn::{name}": value})
        result.start_line = node.start_mark.line + 1
        result.key_lines[f"Fn::{name}"] = node.start_mark.line + 1
        return result

    return construct


def _key_constructor(key: str) -> Any:
    def construct(loader: _TemplateLoader, node: yaml.Node) -> LocatedDict:
        result = LocatedDict({key: _construct_tag_value(loader, node)})
        result.start_line = node.start_mark.line + 1
        result.key_lines[key] = node.start_mark.line + 1
        return result

    return construct


_TemplateLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)
_TemplateLoader.add_constructor("!Ref", _key_constructor("Ref"))
_TemplateLoader.add_constructor("!Condition", _key_constructor("Condition"))
for _name in _FUNCTION_TAGS:
    _TemplateLoader.add_constructor(f"!{_name}", _function_constructor(_name))

# CloudFormation keeps timestamps as strings; drop the resolver that would turn them into dates.
_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str, *, file: Path | str | None = None) -> Any:
    """Parse CloudFormation-flavoured YAML; syntax errors carry the file, line and column."""
    try:
        return yaml.load(text, Loader=_TemplateLoader)
    except TemplateSyntaxError as error:
        raise error.located(file=file) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or "invalid YAML"
        if error.context:
            problem = f"{problem} ({error.context})"
        raise TemplateSyntaxError(
            f"invalid YAML: {problem}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as error:
        raise TemplateSyntaxError(f"invalid YAML: {error}", file=file) from None


def load_json(text: str, *, file: Path | str | None = None) -> Any:
    """Parse JSON; syntax errors carry the file, line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TemplateSyntaxError(
            f"invalid JSON: {error.msg}", file=file, line=error.lineno, column=error.colno
        ) from None


def load_template_text(text: str, *, file: Path | str | None = None) -> Any:
    """Parse a template that may be JSON or YAML, as CloudFormation accepts both."""
    if text.lstrip().startswith("{"):
        return load_json(text, file=file)
    return load_yaml(text, file=file)


def line_of(document: Any, path: Sequence[str | int]) -> int | None:
    """Return the line of the deepest key along ``path`` that a YAML load recorded."""
    line: int | None = None
    node = document
    for part in path:
        if isinstance(node, LocatedDict) and isinstance(part, str) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if isinstance(node, LocatedDict) and node.start_line is not None:
                line = node.start_line
        else:
            break
    return line
