"""The pytest plugin as a user's test suite meets it, in pytest subprocesses run by pytester.

Each inner run loads a small SAM application into its own process, because the embedded
cloud's state is global to a process.
"""

from __future__ import annotations

import importlib.util
import re
import textwrap

import pytest

# pytest accepts pytest_plugins only in the rootdir's conftest or in a test module.
pytest_plugins = ["pytester"]

TIMEOUT = 120

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Timeout: 3}
Resources:
  Items:
    Type: AWS::Serverless::SimpleTable
  PutItem:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.put_item
      Environment: {Variables: {TABLE: !Ref Items, GREETING: !Ref Greeting}}
      Policies: [{DynamoDBWritePolicy: {TableName: !Ref Items}}]
  Fail:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.fail}
Outputs:
  TableName: {Value: !Ref Items}
"""

HANDLERS = """
import os

import boto3


def put_item(event, context):
    print("storing", event["id"])
    boto3.client("dynamodb").put_item(TableName=os.environ["TABLE"],
                                      Item={"id": {"S": event["id"]}})
    return {"stored": event["id"], "greeting": os.environ["GREETING"]}


def fail(event, context):
    for number in range(event.get("lines", 0)):
        print("log line", number)
    raise ValueError("bad input")
"""

# Helpers for the inner test modules.
HELPERS = """
def count_items(stack):
    table = stack.outputs["TableName"]
    return stack.client("dynamodb").scan(TableName=table)["Count"]
"""


@pytest.fixture
def app(pytester: pytest.Pytester) -> pytest.Pytester:
    """Write the application into the pytester directory, with no pyproject.toml yet."""
    (pytester.path / "template.yaml").write_text(TEMPLATE)
    (pytester.path / "src").mkdir()
    (pytester.path / "src" / "app.py").write_text(HANDLERS)
    (pytester.path / "helpers.py").write_text(HELPERS)
    return pytester


def write_pyproject(pytester: pytest.Pytester, windtunnel_table: str) -> None:
    (pytester.path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        'addopts = ["--strict-markers", "-p", "no:cacheprovider"]\n'
        "pythonpath = [\".\"]\n"
        "\n"
        "[tool.windtunnel]\n"
        + textwrap.dedent(windtunnel_table))


def write_tests(pytester: pytest.Pytester, source: str) -> None:
    (pytester.path / "test_app.py").write_text(
        "import pytest\n\nfrom helpers import count_items\n\n" + textwrap.dedent(source))


def run(pytester: pytest.Pytester, *arguments: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*arguments, timeout=TIMEOUT)


def test_template_and_params_from_pyproject(app: pytest.Pytester) -> None:
    """[tool.windtunnel] names the template and the parameter values."""
    write_pyproject(app, """
        template = "template.yaml"
        stack_name = "configured"
        params = { Greeting = "hi" }
    """)
    write_tests(app, """
        def test_greeting(stack):
            assert stack.name == "configured"
            result = stack.invoke("PutItem", {"id": "a"}).raise_for_error()
            assert result.payload == {"stored": "a", "greeting": "hi"}
    """)

    result = run(app)

    result.assert_outcomes(passed=1)


def test_command_line_wins_over_pyproject(app: pytest.Pytester) -> None:
    """--windtunnel-* options replace what pyproject.toml sets, parameter by parameter."""
    write_pyproject(app, """
        template = "missing.yaml"
        params = { Greeting = "hi" }
    """)
    write_tests(app, """
        def test_greeting(stack):
            assert stack.name == "from-option"
            result = stack.invoke("PutItem", {"id": "a"}).raise_for_error()
            assert result.payload["greeting"] == "hey"
    """)

    result = run(app, "--windtunnel-template=template.yaml",
                 "--windtunnel-stack-name=from-option", "--windtunnel-param", "Greeting=hey")

    result.assert_outcomes(passed=1)


def test_template_option_without_pyproject(app: pytest.Pytester) -> None:
    """--windtunnel-template alone is enough; its path is relative to the current directory."""
    write_tests(app, """
        def test_loaded(windtunnel_stack):
            assert "TableName" in windtunnel_stack.outputs
    """)

    result = run(app, "-p", "no:cacheprovider", "--windtunnel-template=.")

    result.assert_outcomes(passed=1)


def test_unloadable_template_names_path(app: pytest.Pytester) -> None:
    """A template that cannot be loaded fails the tests that use it, with the path."""
    write_tests(app, """
        def test_loaded(windtunnel_stack):
            pass
    """)

    result = run(app, "-p", "no:cacheprovider", "--windtunnel-template=missing.yaml")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*could not load the application at {app.path}/missing.yaml*"])


def test_stack_is_reset_before_each_test(app: pytest.Pytester) -> None:
    """Each test that uses the stack starts from the state right after deployment."""
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        @pytest.mark.parametrize("item", ["a", "b", "c"])
        def test_starts_empty(stack, item):
            assert count_items(stack) == 0
            assert stack.invocations == []
            stack.invoke("PutItem", {"id": item}).raise_for_error()
            assert count_items(stack) == 1
    """)

    result = run(app)

    result.assert_outcomes(passed=3)


def test_no_reset_marker_keeps_state(app: pytest.Pytester) -> None:
    """A test marked windtunnel_no_reset sees what the test before it stored."""
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        def test_store(stack):
            stack.invoke("PutItem", {"id": "a"}).raise_for_error()

        @pytest.mark.windtunnel_no_reset
        def test_sees_stored_item(stack):
            assert count_items(stack) == 1
            assert len(stack.invocations) == 1

        def test_reset_again(windtunnel_stack):
            assert count_items(windtunnel_stack) == 0
    """)

    result = run(app)

    result.assert_outcomes(passed=3)


def test_failed_test_reports_executions(app: pytest.Pytester) -> None:
    """A failed test's report lists its Step Functions executions: status, error, states."""
    (app.path / "template.yaml").write_text(TEMPLATE.replace("Outputs:", """  Checkout:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Check
        States:
          Check: {Type: Pass, Next: Reject}
          Reject: {Type: Fail, Error: OutOfStock, Cause: none left}
Outputs:"""))
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        def test_checkout(stack):
            assert stack.stepfunctions.execute("Checkout", {}).status == "SUCCEEDED"
    """)

    result = run(app)

    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    section = output[output.index("Step Functions executions:"):]
    assert re.search(r"-Checkout-\S+ +\S+ +FAILED \(OutOfStock: none left\)", section)
    assert "    states: Check -> Reject" in section


def test_failed_test_reports_invocations(app: pytest.Pytester) -> None:
    """A failed test's report lists its invocations with status, error type and logs."""
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        def test_earlier(stack):
            stack.invoke("PutItem", {"id": "earlier"})

        @pytest.mark.windtunnel_no_reset
        def test_fails(stack):
            stored = stack.invoke("PutItem", {"id": "a"})
            print("stored request", stored.request_id)
            stack.invoke("Fail", {"lines": 200}).raise_for_error()
    """)

    result = run(app)

    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    section = output[output.index("windtunnel invocations"):]
    request_id = re.search(r"stored request (\S+)", output)
    assert request_id is not None
    assert re.search(rf"-PutItem-\S+ +request ID {request_id.group(1)} +succeeded +[\d.]+ ms",
                     section)
    assert re.search(r"-Fail-\S+ +request ID \S+ +failed \(Unhandled, ValueError\)", section)
    assert "    storing a" in section
    # The test before it, whose state this one kept, is not part of its report.
    assert "storing earlier" not in section
    assert "[ERROR] ValueError: bad input" in section
    assert "log line 0" in section
    assert "log line 199" in section
    assert "log lines not shown ...]" in section
    assert "log line 100\n" not in section


def test_failed_test_without_stack_has_no_section(app: pytest.Pytester) -> None:
    """Only tests that used the stack get the invocations section."""
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        def test_fails():
            assert False
    """)

    result = run(app)

    result.assert_outcomes(failed=1)
    assert "windtunnel invocations" not in result.stdout.str()


def test_missing_template_explains_configuration(app: pytest.Pytester) -> None:
    """Without a template, a test that requests the stack fails with how to configure one."""
    write_pyproject(app, 'stage = "dev"\n')
    write_tests(app, """
        def test_needs_stack(stack):
            pass

        def test_without_stack():
            pass
    """)

    result = run(app)

    result.assert_outcomes(passed=1, errors=1)
    # fnmatch reads [...] as a set of characters, so [[] and []] match the brackets.
    result.stdout.fnmatch_lines([
        "*the stack fixture needs an application, but none is configured*"
        "pyproject.toml has no template in [[]tool.windtunnel[]]*",
        "    [[]tool.windtunnel[]]",
        '    template = "template.yaml"',
        "or pass --windtunnel-template PATH on the command line.",
    ])


def test_unknown_pyproject_key_is_usage_error(app: pytest.Pytester) -> None:
    """A misspelled key in [tool.windtunnel] stops the run and lists the known keys."""
    write_pyproject(app, 'templat = "template.yaml"\n')
    write_tests(app, """
        def test_nothing():
            pass
    """)

    result = run(app)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown key templat in [[]tool.windtunnel[]]; the known "
                                 "keys are template, stack_name, stage, params, region, "
                                 "strict*"])


def test_malformed_param_option_is_usage_error(app: pytest.Pytester) -> None:
    """--windtunnel-param without '=' stops the run and shows the value."""
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        def test_nothing():
            pass
    """)

    result = run(app, "--windtunnel-param", "Greeting")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--windtunnel-param 'Greeting' is not KEY=VALUE*"])


def test_conftest_stack_fixture_overrides_plugin(app: pytest.Pytester) -> None:
    """An application's own stack fixture replaces the plugin's, which then loads nothing."""
    write_tests(app, """
        def test_own_fixture(stack):
            assert stack == "the application's own"
    """)
    (app.path / "conftest.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.fixture(scope="session")
        def stack():
            return "the application's own"
    """))

    result = run(app, "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


def test_summary_counts_levels_and_usage(app: pytest.Pytester) -> None:
    """--windtunnel-summary prints tests per level and outcome, invocations and calls."""
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        @pytest.mark.unit
        def test_unit():
            pass

        @pytest.mark.integration
        @pytest.mark.parametrize("item", ["a", "b"])
        def test_store(stack, item):
            stack.invoke("PutItem", {"id": item}).raise_for_error()

        @pytest.mark.e2e
        def test_fails(stack):
            stack.invoke("Fail", {}).raise_for_error()

        @pytest.mark.integration
        @pytest.mark.skip(reason="not yet")
        def test_skipped():
            pass

        def test_unmarked(stack):
            assert count_items(stack) == 0
    """)

    result = run(app, "--windtunnel-summary")

    result.assert_outcomes(passed=4, failed=1, skipped=1)
    result.stdout.re_match_lines([
        r"=+ windtunnel summary =+",
        r"tests by level:",
        r"  unit +1 passed$",
        r"  integration +2 passed, 1 skipped$",
        r"  e2e +1 failed$",
        r"  unmarked +1 passed$",
        r"functions invoked:",
        r"  \S+-Fail-\S+ +1$",
        r"  \S+-PutItem-\S+ +2$",
        r"AWS operations called:",
        r"  dynamodb +PutItem 2, Scan 1$",
    ])
    # pytest's closing line stays the last line.
    assert "1 failed, 4 passed, 1 skipped" in result.stdout.lines[-1]


def test_no_summary_without_option(app: pytest.Pytester) -> None:
    """Without --windtunnel-summary the output is pytest's own."""
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        def test_store(stack):
            stack.invoke("PutItem", {"id": "a"})
    """)

    result = run(app)

    result.assert_outcomes(passed=1)
    assert "windtunnel summary" not in result.stdout.str()


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None,
                    reason="needs pytest-xdist")
def test_xdist_workers_load_own_stacks(app: pytest.Pytester) -> None:
    """Under pytest-xdist each worker loads the stack; reset, reports and summary still work."""
    write_pyproject(app, 'template = "template.yaml"\n')
    write_tests(app, """
        import os

        @pytest.mark.integration
        @pytest.mark.parametrize("item", [str(number) for number in range(6)])
        def test_store(stack, item):
            assert count_items(stack) == 0
            stack.invoke("PutItem", {"id": item}).raise_for_error()
            assert count_items(stack) == 1
            assert os.environ["PYTEST_XDIST_WORKER"].startswith("gw")

        def test_fails(stack):
            stack.invoke("Fail", {}).raise_for_error()
    """)

    result = run(app, "-n", "2", "--windtunnel-summary")

    result.assert_outcomes(passed=6, failed=1)
    result.stdout.re_match_lines([
        r"-+ windtunnel invocations -+",
        r"\S+-Fail-\S+ +request ID \S+ +failed \(Unhandled, ValueError\)",
    ])
    result.stdout.re_match_lines([
        r"  integration +6 passed$",
        r"  unmarked +1 failed$",
        r"  \S+-PutItem-\S+ +6$",
        r"  dynamodb +PutItem 6, Scan 12$",
    ])
