"""Velocity (VTL) engine with Java value semantics, for API Gateway and AppSync templates.

``render_template`` renders plain Velocity 1.7; ``render_mapping_template`` adds API
Gateway's ``$input``, ``$util``, ``$context`` and ``$stageVariables``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from windtunnel.vtl.apigateway import RequestParameters, render_mapping_template
from windtunnel.vtl.errors import VtlError, VtlRuntimeError, VtlSyntaxError
from windtunnel.vtl.parser import parse
from windtunnel.vtl.render import Options, Renderer
from windtunnel.vtl.values import JavaObject

__all__ = [
    "JavaObject",
    "RequestParameters",
    "VtlError",
    "VtlRuntimeError",
    "VtlSyntaxError",
    "render_mapping_template",
    "render_template",
]

logger = logging.getLogger(__name__)


def render_template(template: str, variables: Mapping[str, object] | None = None) -> str:
    """Render a Velocity 1.7 template; raise VtlSyntaxError or VtlRuntimeError on failure."""
    block = parse(template)
    return Renderer(variables or {}, Options()).render(block)
