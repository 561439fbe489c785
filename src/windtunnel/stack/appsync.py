"""``stack.appsync``: unit tests for AppSync resolver mapping templates.

``evaluate`` renders a VTL request or response template against a resolver context, as
AppSync's EvaluateMappingTemplate API does, with ``$util.time`` on the stack's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from windtunnel.errors import WindtunnelError
from windtunnel.services.appsync.evaluate import EvaluationResult, evaluate_template

if TYPE_CHECKING:
    from windtunnel.stack.local import EmulatedStack

__all__ = ["StackAppSync"]


class StackAppSync:
    """The AppSync side of an emulated stack."""

    def __init__(self, stack: EmulatedStack) -> None:
        self._stack = stack

    def evaluate(self, template: str | Path, context: Mapping[str, Any] | None = None,
                 ) -> EvaluationResult:
        """Render a resolver mapping template (text, or a path to a ``.vtl`` file).

        ``context`` has the keys of ``$context``: ``arguments``, ``source``, ``result``,
        ``identity``, ``stash``, ``prev``, ``request``, ``info``. Template errors are
        reported in the result (``error_message``), as the API reports them.
        """
        if isinstance(template, Path):
            try:
                template = template.read_text(encoding="utf-8")
            except OSError as error:
                raise WindtunnelError(f"cannot read the template {template}: "
                                      f"{error.strerror or error}") from None
        return evaluate_template(template, context or {},
                                 now=self._stack.environment.clock.now)
