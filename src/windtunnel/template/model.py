"""The CloudFormation-shaped model that every template reader produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["CODE_PATH_METADATA", "Template", "TemplateFormat"]

# Resource Metadata key under which readers record the local directory (or file) that
# contains the code of an AWS::Lambda::Function or the content of an
# AWS::Lambda::LayerVersion, as an absolute path. SAM's CodeUri, the Framework's service
# directory and CDK's asset folders all end up here, so later stages need not know which
# format the template came from.
CODE_PATH_METADATA = "windtunnel:CodePath"

TemplateFormat = Literal["cloudformation", "sam", "serverless", "cdk"]


@dataclass
class Template:
    """One stack's template, in CloudFormation's own shape, with long-form intrinsics."""

    body: dict[str, Any]
    """The template document: ``Parameters``, ``Conditions``, ``Resources``, ``Outputs``..."""

    path: Path
    """The file the template was read from; errors and relative paths refer to it."""

    format: TemplateFormat
    """The format the application was written in."""

    stack_name: str | None = None
    """The stack name the format implies (``service-stage`` for the Framework, the stack id
    for CDK), or None when the user must choose one."""

    parameters: dict[str, str] = field(default_factory=dict)
    """Parameter values the format supplies; user overrides take precedence over them."""

    region: str | None = None
    """The region the format names (the Framework's ``provider.region``), if any."""

    @property
    def directory(self) -> Path:
        """The directory that relative paths in the template are resolved against."""
        return self.path.parent
