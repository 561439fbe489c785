"""The pytest plugin: testing-level markers and a ``stack`` fixture with the application loaded.

pytest loads it through the ``pytest11`` entry point once windtunnel is installed. The
application comes from ``[tool.windtunnel]`` in the pyproject.toml nearest the rootdir, or
from the ``--windtunnel-*`` options, which win over it::

    [tool.windtunnel]
    template = "template.yaml"      # relative to this pyproject.toml
    stack_name = "orders"
    stage = "dev"                   # the Serverless Framework stage
    region = "eu-west-1"
    strict = false
    iam = "enforce"                 # or "warn" (allow and record denials) or "off"
    params = { TableName = "orders" }

The application is loaded once per test process (each pytest-xdist worker loads its own)
and reset to its state right after deployment before each test that uses it, unless the
test is marked ``windtunnel_no_reset``. A failed test's report gets a section with the
invocations that the test caused, with their logs. ``--windtunnel-summary`` ends the run
with the tests per level and outcome, the functions invoked and the AWS operations called.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections import Counter, defaultdict
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from windtunnel import pytest_sfn_coverage as sfn_coverage
from windtunnel import pytest_target
from windtunnel.constants import ENV_REGION
from windtunnel.errors import WindtunnelError
from windtunnel.iam.report import IamReport, RoleGrants
from windtunnel.runtime.result import InvocationResult
from windtunnel.stack.local import EmulatedStack, Stack

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import CallRecord
    from windtunnel.stack.aws import AwsStack

__all__ = [
    "IAM_ATTRIBUTE",
    "LEVELS",
    "LEVEL_ATTRIBUTE",
    "SECTION_TITLE",
    "USAGE_ATTRIBUTE",
    "IamReportCollector",
    "RunSummary",
    "WindtunnelSettings",
    "level_of",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_makereport",
    "stack",
    "windtunnel_stack",
]

# The testing levels, as marker names. A test's level is the nearest of these markers.
LEVELS = ("unit", "integration", "e2e")
UNMARKED = "unmarked"
# The outcomes in the order pytest's own summary line uses.
OUTCOMES = ("failed", "passed", "skipped", "xfailed", "xpassed", "error")

_MARKERS = (
    "unit: fast tests of one piece of domain logic, with no AWS services",
    "integration: handlers invoked directly against emulated or deployed services",
    "e2e: the application driven through its front door (HTTP, GraphQL, events)",
    "windtunnel_no_reset: keep the state that earlier tests left in the windtunnel stack "
    "instead of resetting it before this test",
    *pytest_target.MARKERS,
)

_SETTING_KEYS = ("template", "stack_name", "stage", "params", "region", "strict", "iam")

# The report section that lists a failed test's invocations, and how much of it to show.
SECTION_TITLE = "windtunnel invocations"
_MAX_INVOCATIONS_SHOWN = 20
_LOG_HEAD_LINES = 10
_LOG_TAIL_LINES = 40
_MAX_LOG_LINE = 500

# Attributes set on test reports. pytest-xdist copies report attributes from the workers
# to the controller, so the summary there reads them too.
LEVEL_ATTRIBUTE = "windtunnel_level"
USAGE_ATTRIBUTE = "windtunnel_usage"
# The IAM report part of a test, as JSON-ready values, set on its teardown report.
IAM_ATTRIBUTE = "windtunnel_iam"


@dataclass(frozen=True)
class WindtunnelSettings:
    """The application that the ``windtunnel_stack`` fixture loads, and where it came from."""

    template: Path | None = None
    """The template file or application directory; None when nothing configures it."""
    stack_name: str | None = None
    stage: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    strict: bool = False
    iam: str = "enforce"
    """How IAM policies apply to the functions' calls: enforce, warn or off."""
    pyproject: Path | None = None
    """The pyproject.toml that was read, if one was found at or above the rootdir."""
    rootdir: Path | None = None


_SETTINGS_KEY = pytest.StashKey[WindtunnelSettings]()
_TARGET_KEY = pytest.StashKey[pytest_target.Target]()


# --- options ------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--windtunnel-*`` options, which win over ``[tool.windtunnel]``."""
    group = parser.getgroup("windtunnel", "windtunnel: the application under test")
    group.addoption("--windtunnel-template", metavar="PATH",
                    help="the template file or application directory to load, relative to "
                         "the current directory (default: template in [tool.windtunnel])")
    group.addoption("--windtunnel-stack-name", metavar="NAME",
                    help="the stack name (default: stack_name in [tool.windtunnel], or the "
                         "name the format implies)")
    group.addoption("--windtunnel-stage", metavar="STAGE",
                    help="the Serverless Framework stage (default: stage in "
                         "[tool.windtunnel])")
    group.addoption("--windtunnel-param", action="append", default=[], metavar="KEY=VALUE",
                    help="a template parameter value, over the params table in "
                         "[tool.windtunnel]; repeat for several")
    group.addoption("--windtunnel-region", metavar="REGION", default=os.environ.get(ENV_REGION),
                    help=f"the AWS region to emulate (default: ${ENV_REGION}, region in "
                         f"[tool.windtunnel], the template's own, or us-east-1)")
    group.addoption("--windtunnel-iam", choices=("enforce", "warn", "off"), default=None,
                    help="how IAM policies apply to the calls functions make: enforce (deny "
                         "as AWS does, the default), warn (allow and record the denials) or "
                         "off")
    group.addoption("--windtunnel-strict", action="store_true", default=None,
                    help="fail to load when a resource type is not emulated")
    group.addoption("--windtunnel-summary", action="store_true",
                    help="end with the tests per level and outcome, the functions invoked "
                         "and the AWS operations called")
    group.addoption("--windtunnel-iam-report", action="store_true",
                    help="end with the least-privilege report: per function, the actions and "
                         "resources used, the calls denied, the grants that are broad or "
                         "unused, and a suggested policy")
    group.addoption("--windtunnel-iam-report-file", metavar="PATH",
                    help="write the least-privilege report as JSON to PATH, relative to the "
                         "current directory")
    sfn_coverage.add_options(group)
    pytest_target.add_options(group)


# --- configure ----------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and read the settings, so that mistakes stop the run early."""
    for marker in _MARKERS:
        config.addinivalue_line("markers", marker)
    config.stash[_SETTINGS_KEY] = _read_settings(config)
    target = pytest_target.read_target(config)
    config.stash[_TARGET_KEY] = target
    config.pluginmanager.register(pytest_target.TargetSelection(target), "windtunnel-target")

    # pytest-xdist workers send their reports to the controller, which prints the summary.
    if config.getoption("windtunnel_summary") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(RunSummary(), "windtunnel-summary")
    if _iam_report_requested(config) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(IamReportCollector(config), "windtunnel-iam-report")
    if sfn_coverage.requested(config):
        config.pluginmanager.register(sfn_coverage.SfnCoverageCollector(config),
                                      "windtunnel-sfn-coverage")


def _read_settings(config: pytest.Config) -> WindtunnelSettings:
    """Merge ``[tool.windtunnel]`` with the command line; raise UsageError when invalid."""
    pyproject = _find_pyproject(Path(config.rootpath))
    table = _read_table(pyproject) if pyproject is not None else {}

    template: Path | None = None
    option_template = config.getoption("windtunnel_template")
    if option_template:
        template = Path(config.invocation_params.dir, option_template)
    elif "template" in table and pyproject is not None:
        template = pyproject.parent / _string_setting(table, "template", pyproject)

    params = _table_params(table, pyproject) if pyproject is not None else {}
    params.update(_option_params(config.getoption("windtunnel_param")))

    strict = config.getoption("windtunnel_strict")
    if strict is None:
        strict = table.get("strict", False)
        if not isinstance(strict, bool):
            raise pytest.UsageError(f"{pyproject}: [tool.windtunnel] strict must be true or "
                                    f"false, not {strict!r}")

    iam = config.getoption("windtunnel_iam") or table.get("iam", "enforce")
    if iam not in ("enforce", "warn", "off"):
        raise pytest.UsageError(f"{pyproject}: [tool.windtunnel] iam must be \"enforce\", "
                                f"\"warn\" or \"off\", not {iam!r}")

    return WindtunnelSettings(
        template=template,
        stack_name=config.getoption("windtunnel_stack_name") or _optional_string(
            table, "stack_name", pyproject),
        stage=config.getoption("windtunnel_stage") or _optional_string(
            table, "stage", pyproject),
        params=params,
        region=config.getoption("windtunnel_region") or _optional_string(
            table, "region", pyproject),
        strict=strict,
        iam=iam,
        pyproject=pyproject,
        rootdir=Path(config.rootpath),
    )


def _find_pyproject(rootdir: Path) -> Path | None:
    for directory in (rootdir, *rootdir.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_table(pyproject: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise pytest.UsageError(f"{pyproject} could not be read: {error}") from None

    table = document.get("tool", {}).get("windtunnel", {})
    if not isinstance(table, dict):
        raise pytest.UsageError(f"{pyproject}: tool.windtunnel must be a table")
    unknown = sorted(set(table) - set(_SETTING_KEYS))
    if unknown:
        raise pytest.UsageError(
            f"{pyproject}: unknown key {', '.join(unknown)} in [tool.windtunnel]; the "
            f"known keys are {', '.join(_SETTING_KEYS)}")
    return table


def _string_setting(table: Mapping[str, Any], key: str, pyproject: Path | None) -> str:
    value = table[key]
    if not isinstance(value, str) or not value:
        raise pytest.UsageError(f"{pyproject}: [tool.windtunnel] {key} must be a non-empty "
                                f"string, not {value!r}")
    return value


def _optional_string(table: Mapping[str, Any], key: str, pyproject: Path | None) -> str | None:
    return _string_setting(table, key, pyproject) if key in table else None


def _table_params(table: Mapping[str, Any], pyproject: Path) -> dict[str, str]:
    raw = table.get("params", {})
    if not isinstance(raw, dict):
        raise pytest.UsageError(f"{pyproject}: [tool.windtunnel] params must be a table of "
                                f"parameter names and values")
    params: dict[str, str] = {}
    for key, value in raw.items():
        # CloudFormation passes every parameter value as a string; numbers are written as
        # TOML numbers often enough to accept them.
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise pytest.UsageError(f"{pyproject}: [tool.windtunnel] params.{key} must be a "
                                    f"string or a number, not {value!r}")
        params[key] = str(value)
    return params


def _option_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise pytest.UsageError(f"--windtunnel-param {pair!r} is not KEY=VALUE")
        params[key] = value
    return params


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def windtunnel_stack(pytestconfig: pytest.Config) -> Iterator[EmulatedStack | AwsStack]:
    """Return the application loaded into the local emulation, once per test process.

    Before each test that uses it, the stack is reset to its state right after the
    deployment, unless the test is marked ``windtunnel_no_reset``. The reset also removes
    what module- or class-scoped fixtures created in it before the test.

    With ``--windtunnel-target aws:STACK_NAME`` it returns the deployed stack instead, with
    its event capture running. That stack is not reset; its captured events are cleared
    before each test.
    """
    settings = pytestconfig.stash[_SETTINGS_KEY]
    target = pytestconfig.stash[_TARGET_KEY]
    if target.kind == "aws":
        opened = pytest_target.open_aws_stack(settings, target)
        try:
            opened.__enter__()
        except WindtunnelError as error:
            opened.close()
            pytest.fail(f"windtunnel could not start the event capture of stack "
                        f"{target.stack_name}: {error}", pytrace=False)
        try:
            yield opened
        finally:
            opened.close()
        return

    if settings.template is None:
        pytest.fail(_missing_template_message(settings), pytrace=False)

    try:
        loaded = Stack.local(settings.template, stack_name=settings.stack_name,
                             stage=settings.stage, params=settings.params,
                             region=settings.region, strict=settings.strict,
                             iam=settings.iam)
    except WindtunnelError as error:
        pytest.fail(f"windtunnel could not load the application at {settings.template}: "
                    f"{error}", pytrace=False)

    with loaded:
        yield loaded


@pytest.fixture
def stack(windtunnel_stack: EmulatedStack | AwsStack) -> EmulatedStack | AwsStack:
    """Return the application loaded into the local emulation, reset for this test, or
    the deployed stack on the AWS target."""
    return windtunnel_stack


def _missing_template_message(settings: WindtunnelSettings) -> str:
    """Return the error for a test that needs the stack when no template is configured."""
    where = (f"{settings.pyproject} has no template in [tool.windtunnel]"
             if settings.pyproject is not None
             else f"no pyproject.toml was found in {settings.rootdir} or above")
    return (
        f"windtunnel: the stack fixture needs an application, but none is configured "
        f"({where}).\n"
        f"Name its template in pyproject.toml, relative to that file:\n"
        f"\n"
        f"    [tool.windtunnel]\n"
        f'    template = "template.yaml"\n'
        f"\n"
        f"or pass --windtunnel-template PATH on the command line."
    )


@dataclass
class _TestRecord:
    """The state of the stack before a test, to tell the invocations and calls it caused."""

    stack: EmulatedStack | AwsStack
    earlier_request_ids: frozenset[str]
    last_call: CallRecord | None
    usage: dict[str, Any] | None = None
    iam: dict[str, Any] | None = None

    def invocations(self) -> list[InvocationResult]:
        """Return the invocations recorded since the test started, oldest first."""
        return [result for result in self.stack.invocations
                if result.request_id not in self.earlier_request_ids]

    def calls(self) -> list[CallRecord]:
        """Return the AWS API calls recorded since the test started, oldest first.

        The AWS target records no calls, so there the list is empty.
        """
        if not isinstance(self.stack, EmulatedStack):
            return []
        recorded = list(self.stack.environment.cloud.calls)
        if self.last_call is None:
            return recorded
        for index in range(len(recorded) - 1, -1, -1):
            if recorded[index] is self.last_call:
                return recorded[index + 1:]
        # The recorder dropped the last call seen before the test, so every call is newer.
        return recorded


_RECORD_KEY = pytest.StashKey[_TestRecord]()


@pytest.fixture(autouse=True)
def _windtunnel_reset_and_record(request: pytest.FixtureRequest) -> Iterator[None]:
    """Reset the stack before a test that uses it, and record what the test causes."""
    if "windtunnel_stack" not in request.fixturenames:
        yield
        return

    loaded: EmulatedStack | AwsStack = request.getfixturevalue("windtunnel_stack")
    if not isinstance(loaded, EmulatedStack):
        # A deployed stack's data stays; only what the capture recorded is forgotten.
        if request.node.get_closest_marker("windtunnel_no_reset") is None:
            loaded.events.clear()
        aws_record = _TestRecord(stack=loaded, earlier_request_ids=frozenset(
            result.request_id for result in loaded.invocations), last_call=None)
        request.node.stash[_RECORD_KEY] = aws_record
        yield
        aws_record.usage = _usage(aws_record.invocations(), [])
        return

    if request.node.get_closest_marker("windtunnel_no_reset") is None:
        loaded.reset()
    calls = loaded.environment.cloud.calls
    record = _TestRecord(
        stack=loaded,
        earlier_request_ids=frozenset(result.request_id for result in loaded.invocations),
        last_call=calls[-1] if calls else None,
    )
    request.node.stash[_RECORD_KEY] = record
    if _iam_report_requested(request.config):
        _remember_deployed_roles(request.config, loaded)

    yield

    # NOTE: an asynchronous invocation that is still running when the test ends is not
    # counted, because the next reset waits for it and then clears the invocations.
    record.usage = _usage(record.invocations(), record.calls())
    if _iam_report_requested(request.config):
        record.iam = _iam_part(request.config, loaded)


def _usage(invocations: list[InvocationResult], calls: list[CallRecord]) -> dict[str, Any]:
    """Count invocations per function and calls per operation, as JSON-ready values."""
    functions = Counter(result.function_name for result in invocations)
    operations: Counter[tuple[str, str]] = Counter()
    failures: Counter[tuple[str, str]] = Counter()
    for call in calls:
        # NOTE: the recorder names no operation for REST protocols (Lambda, S3, API
        # Gateway), so those calls are counted together per service.
        key = (call.service, call.operation or "(operation not named)")
        operations[key] += 1
        if call.status >= 400:
            failures[key] += 1
    return {
        "invocations": dict(functions),
        "calls": [[service, operation, count, failures[(service, operation)]]
                  for (service, operation), count in operations.items()],
    }


# --- reports ------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None],
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the level and usage to reports, and the invocations to a failed test's report."""
    report: pytest.TestReport = yield
    setattr(report, LEVEL_ATTRIBUTE, level_of(item))

    record = item.stash.get(_RECORD_KEY, None)
    if record is None:
        return report
    if report.failed:
        section = _format_invocations(record.invocations())
        executions = _format_executions(record.stack)
        if executions:
            section += "\n" + executions
        report.sections.append((SECTION_TITLE, section))
    if call.when == "teardown" and record.usage is not None:
        setattr(report, USAGE_ATTRIBUTE, record.usage)
    if call.when == "teardown" and record.iam is not None:
        setattr(report, IAM_ATTRIBUTE, record.iam)
    return report


def level_of(item: pytest.Item) -> str | None:
    """Return the level marker nearest to the test (``unit``, ``integration``, ``e2e``)."""
    for marker in item.iter_markers():
        if marker.name in LEVELS:
            return marker.name
    return None


def _format_invocations(invocations: list[InvocationResult]) -> str:
    """Describe invocations, one line each with their logs below, for a report section."""
    if not invocations:
        return "The test invoked no function."

    lines: list[str] = []
    shown = invocations[-_MAX_INVOCATIONS_SHOWN:]
    if len(shown) < len(invocations):
        lines.append(f"({len(invocations) - len(shown)} earlier invocations not shown)")
    for result in shown:
        if result.function_error is None:
            status = "succeeded"
        else:
            error_type = (result.error or {}).get("errorType", "unknown error type")
            status = f"failed ({result.function_error}, {error_type})"
        lines.append(f"{result.function_name}  request ID {result.request_id}  {status}  "
                     f"{result.duration_ms:.1f} ms")
        lines.extend(f"    {line}" for line in _trim_log(result.logs))
    return "\n".join(lines)


def _format_executions(stack: EmulatedStack | AwsStack) -> str:
    """Describe the stack's Step Functions executions: status, error and states entered."""
    if not isinstance(stack, EmulatedStack):
        return ""
    executions = list(stack.environment.stepfunctions.executions.values())
    if not executions:
        return ""
    lines = ["Step Functions executions:"]
    for execution in executions[-_MAX_INVOCATIONS_SHOWN:]:
        status = execution.status
        if execution.error:
            status += f" ({execution.error}: {(execution.cause or '')[:200]})"
        lines.append(f"{execution.state_machine.name}  {execution.name}  {status}")
        lines.append(f"    states: {' -> '.join(execution.path) or '(none)'}")
    return "\n".join(lines)


def _trim_log(log: str) -> list[str]:
    """Keep the start and the end of a long log, where START and the error usually are."""
    lines = []
    for line in log.rstrip().splitlines():
        line = line.rstrip()
        lines.append(line if len(line) <= _MAX_LOG_LINE else f"{line[:_MAX_LOG_LINE]} [...]")
    if len(lines) <= _LOG_HEAD_LINES + _LOG_TAIL_LINES:
        return lines
    omitted = len(lines) - _LOG_HEAD_LINES - _LOG_TAIL_LINES
    return [*lines[:_LOG_HEAD_LINES], f"[... {omitted} log lines not shown ...]",
            *lines[-_LOG_TAIL_LINES:]]


# --- summary ------------------------------------------------------------------------------


class RunSummary:
    """Count tests per level and outcome, invocations and AWS calls, and print the counts.

    Registered as a plugin by ``--windtunnel-summary``. It reads the attributes that
    :func:`pytest_runtest_makereport` sets on reports, in this process or, under
    pytest-xdist, in the workers.
    """

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        """The outcome of each test by node ID."""
        self.levels: dict[str, str] = {}
        """The level of each test by node ID, ``unmarked`` without a level marker."""
        self.invocations: Counter[str] = Counter()
        """Invocations per function name."""
        self.calls: Counter[tuple[str, str]] = Counter()
        """AWS API calls per (service, operation)."""
        self.failed_calls: Counter[tuple[str, str]] = Counter()
        """AWS API calls that returned an error, per (service, operation)."""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the outcome, level and usage from one phase's report."""
        nodeid = report.nodeid
        self.levels[nodeid] = getattr(report, LEVEL_ATTRIBUTE, None) or UNMARKED
        outcome = _outcome(report)
        # A failed test whose teardown fails too stays failed, as pytest counts it first.
        if outcome is not None and not (outcome == "error"
                                        and self.outcomes.get(nodeid) == "failed"):
            self.outcomes[nodeid] = outcome

        usage: dict[str, Any] | None = getattr(report, USAGE_ATTRIBUTE, None)
        if usage is not None:
            self.invocations.update(usage["invocations"])
            for service, operation, count, failed in usage["calls"]:
                self.calls[(service, operation)] += count
                self.failed_calls[(service, operation)] += failed

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print the summary before pytest's closing line, which stays the last one."""
        terminalreporter.write_sep("=", "windtunnel summary")
        for line in self.lines():
            terminalreporter.write_line(line)

    def lines(self) -> list[str]:
        """Return the summary as lines of text."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for nodeid, outcome in self.outcomes.items():
            counts[self.levels.get(nodeid, UNMARKED)][outcome] += 1

        lines = ["tests by level:"]
        width = max(len(level) for level in (*LEVELS, UNMARKED))
        for level in (*LEVELS, UNMARKED):
            per_outcome = counts.get(level)
            text = ", ".join(f"{per_outcome[outcome]} {outcome}" for outcome in OUTCOMES
                             if per_outcome and per_outcome[outcome]) or "none"
            lines.append(f"  {level.ljust(width)}  {text}")

        lines.append("functions invoked:" if self.invocations else "functions invoked: none")
        if self.invocations:
            width = max(len(name) for name in self.invocations)
            for name, count in sorted(self.invocations.items()):
                lines.append(f"  {name.ljust(width)}  {count}")

        lines.append("AWS operations called:" if self.calls else "AWS operations called: none")
        by_service: dict[str, list[str]] = defaultdict(list)
        for (service, operation), count in sorted(self.calls.items()):
            failed = self.failed_calls[(service, operation)]
            errors = f" ({failed} failed)" if failed else ""
            by_service[service].append(f"{operation} {count}{errors}")
        if by_service:
            width = max(len(service) for service in by_service)
            for service, operations in by_service.items():
                lines.append(f"  {service.ljust(width)}  {', '.join(operations)}")
        return lines


def _outcome(report: pytest.TestReport) -> str | None:
    """Return the test's outcome as this phase decides it, as pytest's summary counts it."""
    expected_failure = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return "xpassed" if expected_failure else "passed"
        if report.skipped:
            return "xfailed" if expected_failure else "skipped"
        return "failed"
    if report.failed:
        return "error"
    if report.when == "setup" and report.skipped:
        return "xfailed" if expected_failure else "skipped"
    return None


# --- IAM report ---------------------------------------------------------------------------


def _iam_report_requested(config: pytest.Config) -> bool:
    return bool(config.getoption("windtunnel_iam_report")
                or config.getoption("windtunnel_iam_report_file"))


@dataclass
class _IamPartState:
    """The state of this test process's IAM report parts: the roles and the last record."""

    roles: tuple[RoleGrants, ...] | None = None
    """The roles as deployed, taken before the first test that uses the stack."""
    roles_sent: bool = False
    last_record: object | None = None
    """The newest decision record sent so far, found again by identity."""


_IAM_STATE_KEY = pytest.StashKey[_IamPartState]()


def _remember_deployed_roles(config: pytest.Config, loaded: EmulatedStack) -> None:
    """Take the roles before the first test, so that roles a test changes are not reported."""
    state = config.stash.setdefault(_IAM_STATE_KEY, _IamPartState())
    if state.roles is None:
        state.roles = loaded.iam.report().roles


def _iam_part(config: pytest.Config, loaded: EmulatedStack) -> dict[str, Any]:
    """Return the IAM report part of one test: the decisions made since the last part.

    The first part of each process also carries the roles, which are the same for every
    test. The controller merges the roles of all processes.
    """
    state = config.stash.setdefault(_IAM_STATE_KEY, _IamPartState())
    report = loaded.iam.report()
    records = report.records
    start = 0
    if state.last_record is not None:
        for index in range(len(records) - 1, -1, -1):
            if records[index] is state.last_record:
                start = index + 1
                break
        # Otherwise the recorder dropped the record seen last, so every record is newer.
    if records:
        state.last_record = records[-1]

    roles: tuple[RoleGrants, ...] = ()
    if not state.roles_sent:
        roles = state.roles if state.roles is not None else report.roles
        state.roles_sent = True
    part = IamReport(records=records[start:], roles=roles,
                     template_format=report.template_format)
    return part.to_json()


class IamReportCollector:
    """Merge the IAM report parts of every test, then print the report or write it as JSON.

    Registered by ``--windtunnel-iam-report`` and ``--windtunnel-iam-report-file``. Under
    pytest-xdist the parts come from the workers on the tests' reports, as the summary's
    counts do.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.parts: list[IamReport] = []
        self.show_table = bool(config.getoption("windtunnel_iam_report"))
        self.path: Path | None = None
        option = config.getoption("windtunnel_iam_report_file")
        if option:
            self.path = Path(config.invocation_params.dir, option)
            if not self.path.parent.is_dir():
                raise pytest.UsageError(f"--windtunnel-iam-report-file: the directory "
                                        f"{self.path.parent} does not exist")

    def report(self) -> IamReport:
        """Return the parts received so far, merged into one report."""
        return IamReport().merge(*self.parts)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the IAM report part from a test's teardown report."""
        part: dict[str, Any] | None = getattr(report, IAM_ATTRIBUTE, None)
        if part is not None:
            self.parts.append(IamReport.from_json(part))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print the report's table before pytest's closing line."""
        if not self.show_table:
            return
        terminalreporter.write_sep("=", "windtunnel IAM report")
        for line in self.report().render_text().splitlines():
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write the report as JSON, also when no test used the stack."""
        if self.path is not None:
            self.path.write_text(json.dumps(self.report().to_json(), indent=2) + "\n",
                                 encoding="utf-8")
