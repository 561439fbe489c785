"""The state shared by the compilers of one serverless.yml: config, template and warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.serverless import naming

__all__ = ["CompileContext", "deep_merge", "function_arn", "strip_none"]


def function_arn(function_key: str) -> dict[str, Any]:
    """Return ``{"Fn::GetAtt": [<Fn>LambdaFunction, "Arn"]}``, the Framework's lambda target."""
    return {"Fn::GetAtt": [naming.lambda_logical_id(function_key), "Arn"]}


def deep_merge(target: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """Merge ``source`` into ``target`` like lodash ``merge``: mappings and lists recursively."""
    for key, value in source.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            deep_merge(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            for index, item in enumerate(value):
                if (
                    index < len(current)
                    and isinstance(current[index], dict)
                    and isinstance(item, dict)
                ):
                    deep_merge(current[index], item)
                elif index < len(current):
                    current[index] = item
                else:
                    current.append(item)
        else:
            target[key] = value
    return target


def strip_none(value: Any) -> Any:
    """Drop mapping entries whose value is None, as the Framework does before deploying."""
    if isinstance(value, dict):
        return {key: strip_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [strip_none(item) for item in value]
    return value


@dataclass
class CompileContext:
    """One compilation: the resolved config, the template being built and its warnings."""

    file: Path
    config: dict[str, Any]
    service: str
    stage: str
    region: str
    instance_id: str
    plugins: list[str]
    resources: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def service_dir(self) -> Path:
        return self.file.parent.resolve()

    @property
    def provider(self) -> dict[str, Any]:
        provider = self.config.get("provider") or {}
        return provider if isinstance(provider, dict) else {}

    @property
    def functions(self) -> dict[str, dict[str, Any]]:
        functions = self.config.get("functions") or {}
        return {key: value or {} for key, value in functions.items()}

    def function_name(self, function_key: str) -> str:
        """Return the deployed name: ``name`` or ``{service}-{stage}-{key}``."""
        configured = self.functions[function_key].get("name")
        return str(configured) if configured else f"{self.service}-{self.stage}-{function_key}"

    def events(self, function_key: str) -> list[dict[str, Any]]:
        events = self.functions[function_key].get("events") or []
        return [event for event in events if isinstance(event, dict)]

    def uses_plugin(self, name: str) -> bool:
        return name in self.plugins

    def has_dedicated_role(self, function_key: str) -> bool:
        """Whether serverless-iam-roles-per-function gives this function its own role."""
        function = self.functions[function_key]
        return (
            self.uses_plugin("serverless-iam-roles-per-function")
            and "iamRoleStatements" in function
            and "role" not in function
        )

    def shared_role_statements(self) -> list[dict[str, Any]] | None:
        """Return the statement list of IamRoleLambdaExecution, or None if no such role."""
        role = self.resources.get(naming.ROLE_LOGICAL_ID)
        if role is None:
            return None
        statements: list[dict[str, Any]] = role["Properties"]["Policies"][0]["PolicyDocument"][
            "Statement"
        ]
        return statements

    def unsupported(self, message: str, path: str) -> UnsupportedFeatureError:
        return UnsupportedFeatureError(message, file=self.file, path=path)

    def invalid(self, message: str, path: str) -> TemplateError:
        return TemplateError(message, file=self.file, path=path)
