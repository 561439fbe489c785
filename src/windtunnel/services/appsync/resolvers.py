"""Unit and pipeline resolvers: VTL request and response templates around data sources.

Sources:
https://docs.aws.amazon.com/appsync/latest/devguide/resolver-components.html (unit and
pipeline resolvers, functions, ``$ctx.prev.result`` and ``$ctx.stash``),
https://docs.aws.amazon.com/appsync/latest/devguide/resolver-context-reference.html
(``$context``), https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-lambda.html
(direct Lambda resolvers: without templates the context is the payload and the result
is the field's value) and
https://docs.aws.amazon.com/appsync/latest/devguide/resolver-util-reference.html
(``#return``, ``$util.error``, ``$util.appendError``).

APPSYNC_JS resolvers and functions (``code``) run their ``request`` and ``response``
functions around the data source, as
https://docs.aws.amazon.com/appsync/latest/devguide/resolver-reference-overview-js.html
describes; ``runtime.earlyReturn`` follows
https://docs.aws.amazon.com/appsync/latest/devguide/runtime-utils-js.html.

Limitations:
- BatchInvoke sends one source per invocation (a batch of one). AppSync groups the
  sibling fields of a list into one batch. The function receives a list either way.
- Caching (``cachingConfig``) and ``syncConfig`` are ignored. With no cache, a mutation's
  ``evictFromApiCache`` has nothing to evict; the response's ``extensions`` do not list
  ``apiCacheEntriesDeleted``.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import GraphQLResolveInfo, print_ast
from graphql.language import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from windtunnel.deploy.resources.appsync import GraphqlApiConfiguration
from windtunnel.services.appsync.datasources import DataSourceError, DataSourceInvoker
from windtunnel.services.appsync.js_runtime import CodeEvaluation, evaluate_code
from windtunnel.vtl.appsync import (
    AppSyncRendering,
    GraphqlError,
    TemplateErrorRaised,
    render_resolver_template,
)
from windtunnel.vtl.appsync_json import to_plain
from windtunnel.vtl.errors import VtlError

__all__ = ["ResolverError", "ResolverScope", "resolve_field"]

logger = logging.getLogger(__name__)


class ResolverError(Exception):
    """A field that failed; ``error`` is what the response's ``errors`` entry shows."""

    def __init__(self, error: GraphqlError) -> None:
        self.error = error
        super().__init__(error.message)


@dataclass
class ResolverScope:
    """The shared state of one GraphQL request's resolvers: the API, the caller, errors."""

    configuration: GraphqlApiConfiguration
    invoker: DataSourceInvoker
    identity: object
    """``$ctx.identity``: None for API keys, the caller's details for the other modes."""
    headers: dict[str, str]
    domain_name: str | None
    variables: dict[str, Any]
    now: Callable[[], datetime]
    randomness: random.Random
    authorize: Callable[[GraphQLResolveInfo[Any]], None]
    """Raises ResolverError when the caller may not read the field."""
    appended: list[tuple[GraphqlError, GraphQLResolveInfo[Any]]] = field(default_factory=list)
    """Errors added with ``$util.appendError``, with the field that added them."""
    subscription_filters: list[object] = field(default_factory=list)
    """Filters set with ``setSubscriptionFilter`` by the resolvers, in order."""


@dataclass
class _Step:
    """The state that flows through the templates of one field."""

    arguments: dict[str, Any]
    source: object
    info: dict[str, Any]
    stash: dict[Any, Any] = field(default_factory=dict)
    prev_result: object = None


def resolve_field(source: object, info: GraphQLResolveInfo[Any], **arguments: Any) -> object:
    """Resolve one field: check its authorization, then run its resolver or read ``source``.

    A field without a resolver takes the member of the parent's result with its name.
    """
    scope: ResolverScope = info.context
    scope.authorize(info)
    resolver = scope.configuration.resolvers.get((info.parent_type.name, info.field_name))
    if resolver is None:
        if isinstance(source, Mapping):
            return source.get(info.field_name)
        return None
    step = _Step(arguments=dict(arguments), source=source, info=_info(info, scope))
    if resolver.get("kind") == "PIPELINE":
        return _run_pipeline(scope, resolver, step, info)
    return _run_unit(scope, resolver, step, info)


# --- the context --------------------------------------------------------------------


def _selection_list(selection_set: SelectionSetNode | None, info: GraphQLResolveInfo[Any],
                    prefix: str = "") -> list[str]:
    """Return ``$ctx.info.selectionSetList``: the selected fields as slash paths."""
    names: list[str] = []
    if selection_set is None:
        return names
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue
            path = f"{prefix}{name}"
            names.append(path)
            names.extend(_selection_list(selection.selection_set, info, f"{path}/"))
        elif isinstance(selection, InlineFragmentNode):
            names.extend(_selection_list(selection.selection_set, info, prefix))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = info.fragments.get(selection.name.value)
            if fragment is not None:
                names.extend(_selection_list(fragment.selection_set, info, prefix))
    # A field selected twice (directly and through a fragment) is listed once.
    return list(dict.fromkeys(names))


def _info(info: GraphQLResolveInfo[Any], scope: ResolverScope) -> dict[str, Any]:
    node = info.field_nodes[0]
    return {
        "fieldName": info.field_name,
        "parentTypeName": info.parent_type.name,
        "variables": dict(scope.variables),
        "selectionSetList": _selection_list(node.selection_set, info),
        "selectionSetGraphQL": print_ast(node.selection_set) if node.selection_set else "",
    }


def _context(scope: ResolverScope, step: _Step, result: object = None,
             error: DataSourceError | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "arguments": step.arguments,
        "source": step.source,
        "identity": scope.identity,
        "stash": step.stash,
        "prev": {"result": step.prev_result},
        "request": {"headers": dict(scope.headers), "domainName": scope.domain_name},
        "info": step.info,
        "result": result,
    }
    if error is not None:
        context["error"] = {"message": error.message, "type": error.error_type}
    return context


# --- templates ----------------------------------------------------------------------


def _render(scope: ResolverScope, template: str, context: dict[str, Any], step: _Step,
            info: GraphQLResolveInfo[Any]) -> AppSyncRendering:
    """Render a template; keep its stash and appended errors, and raise its ``$util.error``."""
    rendering = AppSyncRendering()
    try:
        render_resolver_template(template, context, now=scope.now, randomness=scope.randomness,
                                 into=rendering)
    except TemplateErrorRaised as raised:
        _keep(scope, rendering, step, info)
        raise ResolverError(raised.error) from None
    except VtlError as error:
        _keep(scope, rendering, step, info)
        raise ResolverError(GraphqlError(str(error), "MappingTemplate")) from None
    _keep(scope, rendering, step, info)
    return rendering


def _keep(scope: ResolverScope, rendering: AppSyncRendering, step: _Step,
          info: GraphQLResolveInfo[Any]) -> None:
    step.stash = rendering.stash
    scope.appended.extend((error, info) for error in rendering.errors)
    _keep_extensions(scope, rendering.extensions, "$extensions")


# The extensions that the emulation does not carry out; a resolver that calls one fails.
_UNSUPPORTED_EXTENSIONS = ("setSubscriptionInvalidationFilter", "invalidateSubscriptions")


def _keep_extensions(scope: ResolverScope, calls: list[tuple[str, list[object]]],
                     prefix: str) -> None:
    for name, arguments in calls:
        if name in _UNSUPPORTED_EXTENSIONS:
            raise ResolverError(GraphqlError(
                f"{prefix}.{name} is not supported by the emulation.", "UnsupportedOperation"))
        if name == "setSubscriptionFilter":
            scope.subscription_filters.append(to_plain(arguments[0]) if arguments else None)
        elif name == "evictFromApiCache":
            logger.debug("%s.evictFromApiCache: the emulation keeps no resolver cache",
                         prefix)


def _output(rendering: AppSyncRendering) -> object:
    """Return the value of a rendered template: ``#return``'s value, or the text as JSON."""
    if rendering.returned:
        return to_plain(rendering.return_value)
    text = rendering.output.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        # NOTE: AppSync reports Jackson's parse error here; the message differs.
        raise ResolverError(GraphqlError(
            f"Unable to parse the JSON document: {error.msg} at line {error.lineno} column "
            f"{error.colno}", "MappingTemplate")) from None


# --- APPSYNC_JS code -----------------------------------------------------------------


def _run_code(scope: ResolverScope, code: str, function: str, context: dict[str, Any],
              step: _Step, info: GraphQLResolveInfo[Any]) -> CodeEvaluation:
    """Run a request or response function; keep its stash and errors, raise util.error."""
    evaluation = evaluate_code(code, context, function, now=scope.now,
                               randomness=scope.randomness)
    step.stash = dict(evaluation.stash)
    scope.appended.extend((error, info) for error in evaluation.out_errors)
    _keep_extensions(scope, evaluation.extensions, "extensions")
    if evaluation.error is not None:
        error = evaluation.error
        if evaluation.code_errors:
            details = "; ".join(f"line {item.line}: {item.value}"
                                for item in evaluation.code_errors)
            error = GraphqlError(f"{error.message} {details}", "Code")
        raise ResolverError(error)
    return evaluation


def _run_code_with_data_source(scope: ResolverScope, definition: Mapping[str, Any],
                               data_source: Mapping[str, Any], step: _Step,
                               info: GraphQLResolveInfo[Any]) -> object:
    """Run the request function, the data source and the response function of code."""
    code = str(definition["code"])
    request = _run_code(scope, code, "request", _context(scope, step), step, info)
    if request.early_return:
        # runtime.earlyReturn skips the data source and the response function.
        return request.result

    error: DataSourceError | None = None
    result: object = None
    try:
        result = scope.invoker.call(data_source, request.result)
    except DataSourceError as failure:
        logger.debug("data source %s failed: %s", data_source.get("name"), failure.error_type)
        error = failure
        result = failure.data
    response = _run_code(scope, code, "response", _context(scope, step, result, error), step,
                         info)
    return response.result


# --- unit resolvers and functions ---------------------------------------------------


def _run_unit(scope: ResolverScope, resolver: Mapping[str, Any], step: _Step,
              info: GraphQLResolveInfo[Any]) -> object:
    name = resolver.get("dataSourceName")
    data_source = scope.configuration.data_sources.get(str(name)) if name else None
    if data_source is None:
        return _raise(ResolverError(GraphqlError(
            f"The resolver of {info.parent_type.name}.{info.field_name} has no data source.",
            "MappingTemplate")))
    if "code" in resolver:
        return _run_code_with_data_source(scope, resolver, data_source, step, info)
    result = _run_with_data_source(scope, resolver, data_source, step, info)
    return result


def _run_with_data_source(scope: ResolverScope, definition: Mapping[str, Any],
                          data_source: Mapping[str, Any], step: _Step,
                          info: GraphQLResolveInfo[Any]) -> object:
    """Run the request template, the data source and the response template of a unit
    resolver or a pipeline function."""
    request_template = definition.get("requestMappingTemplate")
    response_template = definition.get("responseMappingTemplate")
    is_lambda = data_source.get("type") == "AWS_LAMBDA"

    if request_template is None:
        if not is_lambda:
            raise ResolverError(GraphqlError(
                "A request mapping template is required for data sources other than "
                "AWS_LAMBDA.", "MappingTemplate"))
        # A direct Lambda resolver sends the whole context as the payload.
        context = _context(scope, step)
        document: object = {"operation": "Invoke", "payload": {
            key: context[key] for key in ("arguments", "identity", "source", "request",
                                          "prev", "info", "stash")}}
    else:
        rendering = _render(scope, str(request_template), _context(scope, step), step, info)
        if rendering.returned:
            # #return in a request template skips the data source and the response template.
            return to_plain(rendering.return_value)
        document = _output(rendering)

    document = _batch_of_one(definition, data_source, document)
    error: DataSourceError | None = None
    result: object = None
    try:
        result = scope.invoker.call(data_source, document)
    except DataSourceError as failure:
        logger.debug("data source %s failed: %s", data_source.get("name"), failure.error_type)
        error = failure
        result = failure.data
    if isinstance(document, dict) and document.get("operation") == "BatchInvoke" \
            and error is None:
        result = result[0] if isinstance(result, list) and result else None

    if response_template is None:
        if error is not None:
            raise ResolverError(GraphqlError(error.message, error.error_type, error.data))
        return result
    version = document.get("version") if isinstance(document, dict) else None
    if error is not None and version == "2017-02-28":
        # Templates of version 2017-02-28 do not handle data source errors themselves.
        raise ResolverError(GraphqlError(error.message, error.error_type, error.data))
    rendering = _render(scope, str(response_template), _context(scope, step, result, error),
                        step, info)
    return _output(rendering)


def _batch_of_one(definition: Mapping[str, Any], data_source: Mapping[str, Any],
                  document: object) -> object:
    """Wrap a BatchInvoke payload into a list, as AppSync sends a batch to the function."""
    if data_source.get("type") != "AWS_LAMBDA" or not isinstance(document, dict):
        return document
    if document.get("operation") != "BatchInvoke":
        return document
    if not definition.get("maxBatchSize", 1):
        raise ResolverError(GraphqlError("BatchInvoke requires maxBatchSize greater than 0.",
                                         "MappingTemplate"))
    return {**document, "payload": [document.get("payload")]}


def _raise(error: ResolverError) -> object:
    raise error


# --- pipeline resolvers -------------------------------------------------------------


def _run_pipeline(scope: ResolverScope, resolver: Mapping[str, Any], step: _Step,
                  info: GraphQLResolveInfo[Any]) -> object:
    code = resolver.get("code")
    before = resolver.get("requestMappingTemplate")
    if code is not None:
        evaluation = _run_code(scope, str(code), "request", _context(scope, step), step, info)
        step.prev_result = evaluation.result
        if evaluation.early_return:
            # earlyReturn in the resolver's request function skips the functions.
            return _after_pipeline_code(scope, str(code), step, info)
    elif before is not None:
        rendering = _render(scope, str(before), _context(scope, step), step, info)
        if rendering.returned:
            # #return in the before template ends the resolver with the value.
            return to_plain(rendering.return_value)
        step.prev_result = _lenient_output(rendering)

    for function_id in (resolver.get("pipelineConfig") or {}).get("functions", []):
        function = scope.configuration.functions.get(function_id)
        if function is None:
            raise ResolverError(GraphqlError(f"No function found with ID {function_id}.",
                                             "MappingTemplate"))
        data_source = scope.configuration.data_sources.get(str(function.get("dataSourceName")))
        if data_source is None:
            raise ResolverError(GraphqlError(
                f"No data source found named {function.get('dataSourceName')}.",
                "MappingTemplate"))
        if "code" in function:
            step.prev_result = _run_code_with_data_source(scope, function, data_source, step,
                                                          info)
        else:
            step.prev_result = _run_with_data_source(scope, function, data_source, step, info)

    if code is not None:
        return _after_pipeline_code(scope, str(code), step, info)
    after = resolver.get("responseMappingTemplate")
    if after is None:
        return step.prev_result
    rendering = _render(scope, str(after), _context(scope, step, step.prev_result), step, info)
    return _output(rendering)


def _after_pipeline_code(scope: ResolverScope, code: str, step: _Step,
                         info: GraphQLResolveInfo[Any]) -> object:
    """Run the pipeline resolver's response function on the last function's result."""
    context = _context(scope, step, step.prev_result)
    return _run_code(scope, code, "response", context, step, info).result


def _lenient_output(rendering: AppSyncRendering) -> object:
    """Return the before template's output for ``$ctx.prev.result``: JSON, else text."""
    try:
        return _output(rendering)
    except ResolverError:
        return rendering.output
