"""Run APPSYNC_JS resolver code: its ``request`` or ``response`` function, in V8.

Sources: https://docs.aws.amazon.com/appsync/latest/devguide/resolver-reference-overview-js.html
(the runtime, its module imports and the request and response functions),
https://docs.aws.amazon.com/appsync/latest/devguide/supported-features.html (the language
subset) and https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateCode.html
(what an evaluation reports).

The engine is V8 through the ``mini-racer`` package. It loads scripts, not ES modules, so
the imports of ``@aws-appsync/utils`` and ``@aws-appsync/utils/dynamodb`` are rewritten
to read the emulation's modules and ``export`` is removed. Each evaluation gets a new V8
context, so no state leaks from one resolver to the next.

Limitations:
- ``util.error`` and runtime errors report the message only; errors that the engine
  raises read as V8 writes them (``TypeError: ...``), not as AppSync's engine does.
- ``console.log`` lines read ``LEVEL - message``; the file and line that AppSync adds to
  each log line are not reproduced.
- Modules other than ``@aws-appsync/utils`` and ``@aws-appsync/utils/dynamodb`` cannot be
  imported; ``@aws-appsync/utils/rds`` is not emulated.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from py_mini_racer import JSEvalException, JSParseException, MiniRacer

from windtunnel.services.appsync.js_library import BRIDGED_UTIL, LIBRARY_SOURCE
from windtunnel.services.appsync.js_lint import CodeError, check_code
from windtunnel.vtl.appsync import AppSyncRendering, GraphqlError, UtilVariable, build_context
from windtunnel.vtl.appsync_json import to_plain
from windtunnel.vtl.errors import VtlError
from windtunnel.vtl.methods import JavaException
from windtunnel.vtl.values import JavaObject, MissingMember

__all__ = ["CODE_ERRORS_MESSAGE", "CodeEvaluation", "evaluate_code"]

logger = logging.getLogger(__name__)

# NOTE: the message AppSync uses for code that fails its checks, as its console and
# CreateResolver show it; the EvaluateCode documentation gives no example.
CODE_ERRORS_MESSAGE = "The code contains one or more errors."

# Each helper call replays the code once, so this bounds the runs of one evaluation.
_MAX_HELPER_CALLS = 200
_TIMEOUT_SECONDS = 5.0
_MODULES = ("@aws-appsync/utils", "@aws-appsync/utils/dynamodb")
_IMPORT = re.compile(
    r"^[ \t]*import\s+(?:(?P<names>\{[^}]*\})|\*\s+as\s+(?P<namespace>[\w$]+)"
    r"|(?P<default>[\w$]+))\s+from\s+(?P<quote>['\"])(?P<module>[^'\"]+)(?P=quote)[ \t]*;?",
    re.MULTILINE)
_EXPORT_DECLARATION = re.compile(r"^([ \t]*)export\s+(?=(?:function|const|let|var)\b)",
                                 re.MULTILINE)
_EXPORT_LIST = re.compile(r"^[ \t]*export\s*\{(?P<names>[^}]*)\}[ \t]*;?", re.MULTILINE)
_ENGINE_LINE = re.compile(r"<anonymous>:(\d+): (.*)")


@dataclass(frozen=True)
class CodeEvaluation:
    """The outcome of one ``request`` or ``response`` function."""

    result: object = None
    """The value the function returned, or the value given to ``runtime.earlyReturn``."""
    early_return: bool = False
    """True when the code called ``runtime.earlyReturn``."""
    error: GraphqlError | None = None
    """The error that ``util.error`` raised or the runtime error that ended the code."""
    code_errors: list[CodeError] = field(default_factory=list)
    """Uses of unsupported language features and syntax errors, found before running."""
    logs: list[str] = field(default_factory=list)
    stash: dict[str, object] = field(default_factory=dict)
    out_errors: list[GraphqlError] = field(default_factory=list)
    """Errors added with ``util.appendError``."""
    extensions: list[tuple[str, list[object]]] = field(default_factory=list)
    """Calls of ``extensions`` functions (``setSubscriptionFilter``, ...) with their
    arguments, in order."""

    @property
    def succeeded(self) -> bool:
        """True when the function returned or returned early, without an error."""
        return self.error is None


class _ModuleError(Exception):
    def __init__(self, error: CodeError) -> None:
        self.error = error
        super().__init__(error.value)


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _binding_list(names: str) -> list[tuple[str, str]]:
    """Parse ``a, b as c`` into ``(exported, local)`` pairs."""
    pairs: list[tuple[str, str]] = []
    for item in names.split(","):
        parts = item.split()
        if len(parts) == 1:
            pairs.append((parts[0], parts[0]))
        elif len(parts) == 3 and parts[1] == "as":
            pairs.append((parts[0], parts[2]))
    return pairs


def _rewrite_import(match: re.Match[str], source: str) -> str:
    module = match["module"]
    line = _line_of(source, match.start())
    if module not in _MODULES:
        raise _ModuleError(CodeError("PARSER_ERROR", f"Cannot find module '{module}'. Only "
                                     f"@aws-appsync/utils and @aws-appsync/utils/dynamodb "
                                     f"can be imported.", line, 1, len(match[0])))
    if match["default"]:
        raise _ModuleError(CodeError("PARSER_ERROR", f"Module '{module}' has no default "
                                     f"export.", line, 1, len(match[0])))
    # The replacement keeps the line count, so engine errors point at the user's lines.
    padding = "\n" * match[0].count("\n")
    reference = f"__modules[{json.dumps(module)}]"
    if match["namespace"]:
        return f"const {match['namespace']} = {reference};{padding}"
    bindings = ", ".join(f"{exported}: {local}"
                         for exported, local in _binding_list(match["names"][1:-1]))
    return f"const {{ {bindings} }} = {reference};{padding}"


def _module_factory(code: str) -> str:
    """Rewrite resolver code into a function that returns its request and response."""
    exported = {"request": "request", "response": "response"}

    def export_list(match: re.Match[str]) -> str:
        for local, name in _binding_list(match["names"]):
            exported[name] = local
        return "\n" * match[0].count("\n")

    body = _IMPORT.sub(lambda match: _rewrite_import(match, code), code)
    body = _EXPORT_LIST.sub(export_list, body)
    body = _EXPORT_DECLARATION.sub(r"\1", body)
    members = ", ".join(
        f"{name}: typeof {local} === 'function' ? {local} : undefined"
        for name, local in exported.items())
    # The user's code starts on the second line of the script.
    return f"(function (__modules) {{ 'use strict';\n{body}\n;return {{ {members} }}; }})"


def _syntax_error(error: JSParseException) -> CodeError:
    """Turn a V8 syntax error into a CodeError on the user's line."""
    found = _ENGINE_LINE.search(str(error))
    if found is None:
        return CodeError("PARSER_ERROR", str(error).strip(), 1, 1, 0)
    return CodeError("PARSER_ERROR", found[2].strip(), max(int(found[1]) - 1, 1), 1, 0)


class _Helpers:
    """The Python helpers behind the bridged ``util`` members."""

    def __init__(self, context: dict[str, object], now: datetime.datetime,
                 randomness: random.Random) -> None:
        self.util = UtilVariable(AppSyncRendering(), build_context(context), lambda: now,
                                 randomness)

    def call(self, path: str, arguments: list[object]) -> dict[str, object]:
        group, _, name = path.rpartition(".")
        if name not in BRIDGED_UTIL.get(group, ()):
            return {"path": path, "error": f"util.{path} is not a function"}
        target: JavaObject = self.util.groups[group] if group else self.util
        try:
            value = target.call(name, arguments)
        except MissingMember:
            return {"path": path, "error": f"util.{path} does not take {len(arguments)} "
                                           f"arguments"}
        except (JavaException, VtlError, ValueError, TypeError) as error:
            return {"path": path, "error": f"util.{path} failed: {error}"}
        return {"path": path, "value": to_plain(value)}


def _graphql_error(value: object) -> GraphqlError:
    document = value if isinstance(value, dict) else {"message": str(value)}
    error_type = document.get("errorType")
    return GraphqlError(str(document.get("message")),
                        str(error_type) if error_type is not None else None,
                        document.get("data"), document.get("errorInfo"))


def _unauthorized(context: Mapping[str, object]) -> GraphqlError:
    info = context.get("info")
    info = info if isinstance(info, dict) else {}
    return GraphqlError(f"Not Authorized to access {info.get('fieldName')} on type "
                        f"{info.get('parentTypeName')}", "Unauthorized")


def evaluate_code(
    code: str,
    context: Mapping[str, object],
    function: str,
    *,
    now: Callable[[], datetime.datetime] | None = None,
    randomness: random.Random | None = None,
) -> CodeEvaluation:
    """Run the ``request`` or ``response`` function of APPSYNC_JS code against a context.

    ``context`` has the keys of ``ctx`` (``arguments``, ``source``, ``result``,
    ``identity``, ``stash``, ``prev``, ``info``, ``request``, ``error``). Failures do not
    raise: unsupported syntax is reported in ``code_errors`` and runtime errors in
    ``error``, as EvaluateCode reports them.
    """
    code_errors = check_code(code)
    if code_errors:
        return CodeEvaluation(error=GraphqlError(CODE_ERRORS_MESSAGE), code_errors=code_errors)
    try:
        factory = _module_factory(code)
    except _ModuleError as failure:
        return CodeEvaluation(error=GraphqlError(CODE_ERRORS_MESSAGE),
                              code_errors=[failure.error])

    moment = (now or (lambda: datetime.datetime.now(datetime.UTC)))()
    source = randomness or random.Random()
    plain_context = to_plain(dict(context))
    assert isinstance(plain_context, dict)
    context_document: dict[str, object] = {
        "arguments": plain_context.get("arguments", plain_context.get("args", {})) or {},
        "stash": plain_context.get("stash") or {},
        "prev": plain_context.get("prev") or {"result": None},
        **{key: value for key, value in plain_context.items()
           if key not in ("arguments", "args", "stash", "prev")},
    }
    helpers = _Helpers(dict(context_document), moment, source)
    configuration: dict[str, object] = {
        "results": [],
        "nowMilliseconds": int(moment.timestamp() * 1000),
        "seed": source.getrandbits(32),
    }

    for _ in range(_MAX_HELPER_CALLS + 1):
        try:
            outcome = _run_once(factory, function, context_document, configuration)
        except JSParseException as error:
            return CodeEvaluation(error=GraphqlError(CODE_ERRORS_MESSAGE),
                                  code_errors=[_syntax_error(error)])
        need = outcome.get("need")
        if not isinstance(need, dict):
            return _evaluation(outcome, context_document)
        results = configuration["results"]
        assert isinstance(results, list)
        arguments = need.get("args")
        results.append(helpers.call(str(need.get("path")),
                                    arguments if isinstance(arguments, list) else []))
    return CodeEvaluation(error=GraphqlError(
        f"The code called more than {_MAX_HELPER_CALLS} util functions in one evaluation, "
        f"which the emulation does not support."))


def _run_once(factory: str, function: str, context: dict[str, object],
              configuration: dict[str, object]) -> dict[str, object]:
    """Run the code once in a new V8 context and return the runner's JSON outcome."""
    engine = MiniRacer()
    try:
        engine.eval(f"const BRIDGED = {json.dumps(BRIDGED_UTIL)};")
        engine.eval(LIBRARY_SOURCE)
        script = (f"__appsync.run({factory},\n{json.dumps(function)}, "
                  f"{json.dumps(context)}, {json.dumps(configuration)})")
        try:
            text = engine.eval(script, timeout_sec=_TIMEOUT_SECONDS)
        except JSParseException:
            raise
        except JSEvalException as error:
            logger.debug("APPSYNC_JS code failed in the engine: %s", error)
            return {"error": {"message": str(error).strip().splitlines()[0]}}
    finally:
        engine.close()
    outcome = json.loads(str(text))
    assert isinstance(outcome, dict)
    return outcome


def _evaluation(outcome: dict[str, object], context: Mapping[str, object]) -> CodeEvaluation:
    stash = outcome.get("stash")
    logs = outcome.get("logs")
    out_errors = outcome.get("outErrors")
    extensions = outcome.get("extensions")
    error: GraphqlError | None = None
    if outcome.get("unauthorized"):
        error = _unauthorized(context)
    elif "error" in outcome:
        error = _graphql_error(outcome["error"])
    return CodeEvaluation(
        result=outcome.get("result"),
        early_return=bool(outcome.get("earlyReturn")),
        error=error,
        logs=[str(line) for line in logs] if isinstance(logs, list) else [],
        stash=stash if isinstance(stash, dict) else {},
        out_errors=[_graphql_error(item) for item in out_errors]
        if isinstance(out_errors, list) else [],
        extensions=[(str(call.get("name")), list(call.get("args") or []))
                    for call in extensions if isinstance(call, dict)]
        if isinstance(extensions, list) else [],
    )
