"""Resolve the Serverless Framework's ``${source:address, fallback}`` variables in a config."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.yaml import load_yaml

__all__ = ["VariableResolver", "deterministic_instance_id"]


class _Missing:
    """The marker for a variable source that has no value, so the next fallback applies."""


MISSING: Final = _Missing()

# The Framework's own placeholder grammar (sf-core resolvers/placeholders.js): a provider
# name, optional "(params)" and an optional ":address". A bare "${Name}" is no variable.
_PLACEHOLDER = re.compile(r"^([^:()]+)(?:\((.*)\))?(?::(.*))?$", re.DOTALL)

# Placeholders the Framework leaves alone for CloudFormation: pseudo parameters in Fn::Sub
# (${AWS::Region}), CloudWatch dynamic labels (${PROP:...}), IoT policy variables
# (${iot:...}) and Fn::Sub literals (${!Literal}).
_IGNORED_PROVIDERS = frozenset({"AWS", "PROP", "iot"})

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def deterministic_instance_id(service: str, stage: str) -> str:
    """Return a stable stand-in for ``${sls:instanceId}``, 13 digits like a timestamp.

    The Framework uses the time of the run; a digest keeps local builds reproducible.
    """
    digest = hashlib.sha256(f"{service}/{stage}".encode()).hexdigest()
    return str(int(digest, 16))[:13]


class VariableResolver:
    """Resolve every variable in a loaded serverless.yml, lazily and with cycle detection."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        file: Path,
        options: Mapping[str, str],
        environ: Mapping[str, str],
        ssm_lookup: Callable[[str], str | None] | None,
        params: Mapping[str, str],
        account_id: str,
        default_region: str,
    ) -> None:
        self._config = config
        self._file = file
        self._options = options
        self._environ = environ
        self._ssm_lookup = ssm_lookup
        self._params = params
        self._account_id = account_id
        self._default_region = default_region
        self._resolving: list[tuple[str, ...]] = []
        self._cache: dict[tuple[str, ...], Any] = {}

    # Public entry points

    def resolve_all(self) -> Any:
        """Return a copy of the whole config with every variable replaced by its value."""
        return self.resolve_value(self._config, ())

    def stage(self) -> str:
        """Return ``${sls:stage}``: the stage option, then ``provider.stage``, then ``dev``."""
        if self._options.get("stage"):
            return str(self._options["stage"])
        configured = self.resolve_path(("provider", "stage"))
        if isinstance(configured, str | int) and not isinstance(configured, bool):
            return str(configured)
        return "dev"

    def region(self) -> str:
        """Return ``${aws:region}``: the region option, ``provider.region`` or the default."""
        if self._options.get("region"):
            return str(self._options["region"])
        configured = self.resolve_path(("provider", "region"))
        if isinstance(configured, str) and configured:
            return configured
        return self._default_region

    def resolve_path(self, parts: tuple[str, ...]) -> Any:
        """Return the resolved value at ``parts`` of the config, or MISSING."""
        if parts in self._cache:
            return self._cache[parts]
        if parts in self._resolving:
            cycle = " -> ".join(".".join(p) for p in [*self._resolving, parts])
            raise TemplateError(
                f"circular variable reference: {cycle}", file=self._file, path=".".join(parts)
            )
        self._resolving.append(parts)
        try:
            node: Any = self._config
            walked: tuple[str, ...] = ()
            for part in parts:
                if isinstance(node, str):
                    node = self.resolve_string(node, walked)
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                else:
                    return MISSING
                walked = (*walked, part)
            value = self.resolve_value(node, parts)
        finally:
            self._resolving.pop()
        self._cache[parts] = value
        return value

    def resolve_value(self, value: Any, path: tuple[str, ...]) -> Any:
        """Resolve the variables in ``value`` (a string, mapping or list) found at ``path``."""
        if isinstance(value, str):
            return self.resolve_string(value, path)
        if isinstance(value, dict):
            return {key: self.resolve_value(item, (*path, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve_value(item, (*path, str(i))) for i, item in enumerate(value)]
        return value

    # Strings and placeholders

    def resolve_string(self, text: str, path: tuple[str, ...]) -> Any:
        """Replace the placeholders in ``text``; a string that is one variable keeps its type."""
        spans = _top_level_placeholders(text)
        if not spans:
            return text

        pieces: list[str] = []
        cursor = 0
        for start, end in spans:
            pieces.append(text[cursor:start])
            inner = text[start + 2 : end]
            is_variable, value = self._resolve_placeholder(inner, path)
            if not is_variable:
                pieces.append(text[start : end + 1])
            elif len(spans) == 1 and start == 0 and end == len(text) - 1:
                return value
            elif isinstance(value, dict | list):
                raise TemplateError(
                    f"variable '${{{inner}}}' resolves to a {type(value).__name__}, which "
                    "cannot be embedded in a string",
                    file=self._file,
                    path=".".join(path),
                )
            else:
                pieces.append(_to_text(value))
            cursor = end + 1
        pieces.append(text[cursor:])
        return "".join(pieces)

    def _resolve_placeholder(self, inner: str, path: tuple[str, ...]) -> tuple[bool, Any]:
        candidates = _split_top_level(inner, ",")
        first = candidates[0].strip()
        match = _PLACEHOLDER.match(first)
        if match is None:
            return False, None
        provider, params, address = match.groups()
        if params is None and address is None:
            return False, None
        if len(candidates) == 1 and (provider in _IGNORED_PROVIDERS or provider.startswith("!")):
            return False, None

        hints: list[str] = []
        for candidate in candidates:
            value = self._evaluate(candidate.strip(), path, hints)
            if value is not MISSING:
                return True, value

        hint = f" {' '.join(hints)}" if hints else ""
        raise TemplateError(
            f"Cannot resolve '${{{inner}}}' variable at '{'.'.join(path)}'. No value is "
            "available for this variable, and no default value was provided. Please check "
            f"your variable definitions or provide a default value.{hint}",
            file=self._file,
            path=".".join(path),
        )

    def _evaluate(self, candidate: str, path: tuple[str, ...], hints: list[str]) -> Any:
        literal = _literal(candidate)
        if literal is not MISSING:
            return literal

        # A fallback written as a whole variable, as in ${env:X, ${self:custom.y}}.
        spans = _top_level_placeholders(candidate)
        if len(spans) == 1 and spans[0] == (0, len(candidate) - 1):
            return self.resolve_string(candidate, path)

        # A nested variable inside the address, as in ${self:custom.${sls:stage}}.
        if spans:
            expanded = self.resolve_string(candidate, path)
            if not isinstance(expanded, str):
                return expanded
            candidate = expanded

        match = _PLACEHOLDER.match(candidate)
        if match is None or (match.group(2) is None and match.group(3) is None):
            raise TemplateError(
                f"invalid variable fallback {candidate!r}: use a variable such as "
                "self:custom.key, a quoted string, a number, true, false or null",
                file=self._file,
                path=".".join(path),
            )
        provider, params, address = match.groups()
        provider = provider.strip()
        address = (address or "").strip()
        return self._from_source(provider, params, address, path, hints)

    def _from_source(
        self,
        provider: str,
        params: str | None,
        address: str,
        path: tuple[str, ...],
        hints: list[str],
    ) -> Any:
        if provider == "self":
            if not address:
                return self.resolve_path(())
            return self.resolve_path(tuple(address.split(".")))
        if provider == "opt":
            return self._options.get(address, MISSING)
        if provider == "env":
            return self._environ.get(address, MISSING)
        if provider == "sls":
            if address == "stage":
                return self.stage()
            if address == "instanceId":
                service = self.resolve_path(("service",))
                name = service.get("name") if isinstance(service, dict) else service
                return deterministic_instance_id(str(name), self.stage())
        elif provider == "aws":
            if address == "region":
                return self.region()
            if address == "accountId":
                return self._account_id
        elif provider == "param":
            return self._param(address)
        elif provider == "file":
            return self._file_value(params or "", address, path)
        elif provider == "ssm":
            return self._ssm(address, hints)
        elif provider == "strToBool":
            return _str_to_bool(params, self._file, path)

        # NOTE: ${cf:...}, ${s3:...}, ${output:...}, ${git:...} and other sources that need
        # AWS or another system are not resolved.
        label = f"{provider}:{address}" if address else provider
        raise UnsupportedFeatureError(
            f"variable source '${{{label}}}' is not supported by windtunnel; replace it "
            "with a literal value or an ${env:...} or ${param:...} variable",
            file=self._file,
            path=".".join(path),
        )

    # Sources

    def _param(self, name: str) -> Any:
        if name in self._params:
            return self._params[name]
        stage = self.stage()
        for scope in (stage, "default"):
            value = self.resolve_path(("params", scope, name))
            if value is not MISSING:
                return value
        return MISSING

    def _ssm(self, address: str, hints: list[str]) -> Any:
        name = re.sub(r"~(true|false|split|noDecrypt)$", "", address)
        if self._ssm_lookup is None:
            hints.append(
                f"SSM parameter {name!r} needs a value: pass ssm_lookup= to compile_serverless "
                "or give the variable a fallback."
            )
            return MISSING
        value = self._ssm_lookup(name)
        if value is None:
            hints.append(f"ssm_lookup returned no value for SSM parameter {name!r}.")
            return MISSING
        if address.endswith("~split"):
            return value.split(",")
        return value

    def _file_value(self, params: str, address: str, path: tuple[str, ...]) -> Any:
        relative = params.strip().strip("'\"")
        target = (self._file.parent / relative).resolve()
        if target.suffix in {".js", ".cjs", ".mjs", ".ts"}:
            raise UnsupportedFeatureError(
                f"variable '${{file({relative})}}' reads a JavaScript/TypeScript file, which "
                "windtunnel cannot run; export the values to a .yml or .json file instead",
                file=self._file,
                path=".".join(path),
            )
        if not target.is_file():
            return MISSING

        text = target.read_text(encoding="utf-8")
        content = json.loads(text) if target.suffix == ".json" else load_yaml(text, file=target)
        if address:
            for part in address.split("."):
                if isinstance(content, dict) and part in content:
                    content = content[part]
                elif isinstance(content, list) and part.isdigit() and int(part) < len(content):
                    content = content[int(part)]
                else:
                    return MISSING
        return self.resolve_value(content, path)


def _top_level_placeholders(text: str) -> list[tuple[int, int]]:
    """Return (start of ``${``, index of its closing ``}``) for each outermost placeholder."""
    spans: list[tuple[int, int]] = []
    index = 0
    while True:
        start = text.find("${", index)
        if start == -1:
            return spans
        depth = 0
        position = start
        end = -1
        while position < len(text):
            if text.startswith("${", position):
                depth += 1
                position += 2
                continue
            if text[position] == "}":
                depth -= 1
                if depth == 0:
                    end = position
                    break
            position += 1
        if end == -1:
            return spans
        spans.append((start, end))
        index = end + 1


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside quotes, parentheses and nested placeholders."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current: list[str] = []
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _literal(candidate: str) -> Any:
    """Return the value of a literal fallback (quoted string, number, bool, null) or MISSING."""
    if len(candidate) >= 2 and candidate[0] == candidate[-1] and candidate[0] in "'\"":
        return candidate[1:-1]
    if _NUMBER.match(candidate):
        return float(candidate) if "." in candidate else int(candidate)
    if candidate == "null":
        return None
    if candidate in {"true", "false"}:
        return candidate == "true"
    return MISSING


def _str_to_bool(params: str | None, file: Path, path: tuple[str, ...]) -> bool:
    text = (params or "").strip().strip("'\"").lower()
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise TemplateError(
        f"strToBool expects true, false, 1 or 0, got {params!r}", file=file, path=".".join(path)
    )


def _to_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
