"""EvaluateMappingTemplate: render a resolver mapping template and report it as AppSync does.

API reference: https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateMappingTemplate.html
The response has ``evaluationResult`` (the rendered template), ``error`` (``message``) when
the template fails, ``logs`` from ``$util.log``, ``stash`` (the final ``$context.stash``
as JSON) and ``outErrors`` (the errors added with ``$util.appendError``, as JSON).
"""

from __future__ import annotations

import datetime
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from windtunnel.vtl.appsync import (
    AppSyncRendering,
    GraphqlError,
    TemplateErrorRaised,
    render_resolver_template,
)
from windtunnel.vtl.appsync_json import to_json
from windtunnel.vtl.errors import VtlError

__all__ = ["EvaluationResult", "evaluate_template"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationResult:
    """The outcome of evaluating one mapping template, in EvaluateMappingTemplate's terms."""

    evaluation_result: str | None
    """The rendered template; None when the template failed."""
    error_message: str | None = None
    """Why the template failed: the message of ``$util.error`` or of a template error."""
    error: GraphqlError | None = None
    """The error that ``$util.error``, ``$util.validate`` or ``$util.unauthorized`` raised."""
    logs: list[str] = field(default_factory=list)
    """Messages from ``$util.log.info`` and ``$util.log.error``, in order."""
    stash: dict[object, object] = field(default_factory=dict)
    """``$context.stash`` after evaluation."""
    out_errors: list[GraphqlError] = field(default_factory=list)
    """Errors added with ``$util.appendError``."""
    response_headers: dict[str, object] = field(default_factory=dict)
    """Headers added with ``$util.http.addResponseHeader(s)``."""

    @property
    def succeeded(self) -> bool:
        """True when the template rendered without an error."""
        return self.error_message is None

    def json(self) -> object:
        """Parse ``evaluation_result`` as JSON, as the data source would read it."""
        if self.evaluation_result is None:
            raise ValueError(f"the template failed: {self.error_message}")
        return json.loads(self.evaluation_result)

    def to_response(self) -> dict[str, object]:
        """Return the EvaluateMappingTemplate response body."""
        body: dict[str, object] = {}
        if self.evaluation_result is not None:
            body["evaluationResult"] = self.evaluation_result
        if self.error_message is not None:
            body["error"] = {"message": self.error_message}
        body["logs"] = list(self.logs)
        body["stash"] = to_json(self.stash)
        body["outErrors"] = to_json([error.to_json_object() for error in self.out_errors])
        return body


def evaluate_template(
    template: str,
    context: Mapping[str, object],
    *,
    now: Callable[[], datetime.datetime] | None = None,
    randomness: random.Random | None = None,
) -> EvaluationResult:
    """Evaluate a request or response mapping template against a resolver context.

    ``context`` has the keys of ``$context`` (``arguments``, ``source``, ``result``,
    ``identity``, ``stash``, ``prev``, ``info``, ...). A template that ends with
    ``#return(value)`` evaluates to ``value`` as JSON. Template errors do not raise: they
    are reported in ``error_message``, as EvaluateMappingTemplate reports them.
    """
    rendering = AppSyncRendering()
    try:
        rendering = render_resolver_template(template, context, now=now, randomness=randomness,
                                             into=rendering)
    except TemplateErrorRaised as raised:
        return _failed(rendering, raised.error.message, raised.error)
    except VtlError as error:
        logger.debug("mapping template failed: %s", error)
        return _failed(rendering, str(error), None)

    # NOTE: the value of #return is reported as its JSON; AWS documents #return for
    # resolvers but not what EvaluateMappingTemplate returns for it.
    result = to_json(rendering.return_value) if rendering.returned else rendering.output
    return EvaluationResult(
        evaluation_result=result,
        logs=[message for _, message in rendering.logs],
        stash=rendering.stash,
        out_errors=list(rendering.errors),
        response_headers=dict(rendering.response_headers),
    )


def _failed(rendering: AppSyncRendering, message: str,
            error: GraphqlError | None) -> EvaluationResult:
    return EvaluationResult(
        evaluation_result=None,
        error_message=message,
        error=error,
        logs=[text for _, text in rendering.logs],
        stash=rendering.stash,
        out_errors=list(rendering.errors),
        response_headers=dict(rendering.response_headers),
    )
