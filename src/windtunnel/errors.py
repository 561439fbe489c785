"""Exceptions that windtunnel raises for bad input and failed deployments.

Hierarchy::

    WindtunnelError
    ├── TemplateError              the application definition is invalid
    │   ├── TemplateSyntaxError    malformed YAML or JSON
    │   ├── UnresolvedReferenceError   Ref, GetAtt, DependsOn or an import names nothing
    │   ├── CircularDependencyError    resources depend on each other in a cycle
    │   ├── ParameterError         a parameter has no value or a value it does not allow
    │   └── UnsupportedFeatureError    a construct windtunnel does not emulate
    └── DeploymentError            a resource could not be created

Every error carries the file and, where known, the line and the template path
(``Resources.Table.Properties.KeySchema``) that it is about, so the message can say
where to look.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CircularDependencyError",
    "DeploymentError",
    "ParameterError",
    "TemplateError",
    "TemplateSyntaxError",
    "UnresolvedReferenceError",
    "UnsupportedFeatureError",
    "WindtunnelError",
]


class WindtunnelError(Exception):
    """Base class of every error windtunnel raises on purpose."""


class TemplateError(WindtunnelError):
    """An application definition that cannot be loaded as written."""

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.file = Path(file) if file is not None else None
        self.line = line
        self.column = column
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        location = ""
        if self.file is not None:
            location = str(self.file)
            if self.line is not None:
                location += f":{self.line}"
                if self.column is not None:
                    location += f":{self.column}"
        if self.path:
            location = f"{location} at {self.path}" if location else f"at {self.path}"
        return f"{location}: {self.message}" if location else self.message

    def located(self, *, file: Path | str | None = None, path: str | None = None) -> TemplateError:
        """Fill in a file or template path that the raiser did not know, keeping the rest."""
        if self.file is None and file is not None:
            self.file = Path(file)
        if self.path is None and path is not None:
            self.path = path
        self.args = (self._render(),)
        return self


class TemplateSyntaxError(TemplateError):
    """Malformed YAML or JSON."""


class UnresolvedReferenceError(TemplateError):
    """A Ref, Fn::GetAtt, Fn::Sub variable, DependsOn or Fn::ImportValue names nothing."""


class CircularDependencyError(TemplateError):
    """Resources whose references form a cycle, so no creation order exists."""


class ParameterError(TemplateError):
    """A template parameter without a value, or with a value its constraints reject."""


class UnsupportedFeatureError(TemplateError):
    """A construct that windtunnel does not emulate; the message names it."""


class DeploymentError(WindtunnelError):
    """A resource that the local deployment failed to create, with CloudFormation's reason."""

    def __init__(self, logical_id: str, resource_type: str, reason: str,
                 file: Path | str | None = None) -> None:
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
        self.file = Path(file) if file is not None else None
        location = f"{self.file} at Resources.{logical_id}: " if self.file else ""
        super().__init__(f"{location}Resource {logical_id} ({resource_type}) failed to "
                         f"create: {reason}")
