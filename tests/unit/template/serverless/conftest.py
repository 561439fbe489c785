"""Helpers that write a serverless.yml into a temporary directory and compile it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from windtunnel.template.serverless import ServerlessTemplate, compile_serverless

HEADER = """
service: svc
provider:
  name: aws
  runtime: python3.12
"""


@pytest.fixture
def compile_yaml(tmp_path: Path) -> Callable[..., ServerlessTemplate]:
    """Return a function that compiles HEADER plus the given YAML text."""

    def compile_text(text: str, **kwargs: Any) -> ServerlessTemplate:
        path = tmp_path / "serverless.yml"
        path.write_text(HEADER + text)
        kwargs.setdefault("environ", {})
        return compile_serverless(path, **kwargs)

    return compile_text
