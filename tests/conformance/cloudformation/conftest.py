"""Deploy small templates into a fresh embedded cloud and read back what CloudFormation would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from windtunnel.deploy.model import DeployedStack
from windtunnel.stack.environment import Environment
from windtunnel.template.loader import load_template_file

Deploy = Callable[..., DeployedStack]


@pytest.fixture
def deploy(tmp_path: Path) -> Deploy:
    """Write a template (a dict, or YAML text with short-form tags) and deploy it."""

    def run(template: dict[str, Any] | str, *, parameters: dict[str, str] | None = None,
            stack_name: str = "conformance", environment: Environment | None = None
            ) -> DeployedStack:
        path = tmp_path / f"{stack_name}.yaml"
        text = template if isinstance(template, str) else yaml.safe_dump(template)
        path.write_text(text)
        environment = environment or Environment()
        loaded = load_template_file(path, parameters=parameters or {})
        return environment.deploy(loaded, stack_name=stack_name, parameters=parameters)

    return run


def output_values(stack: DeployedStack) -> dict[str, Any]:
    """Return the stack's outputs by key, as AWS computes them."""
    return {output.key: output.value for output in stack.outputs}
