"""``windtunnel test``: run an application's tests with its stack, then summarize them.

pytest runs in a child process (``python -m pytest`` with this interpreter), for two
reasons. pytest must import windtunnel itself to rewrite the asserts in the plugin, and in
this process windtunnel is already imported, so pytest would warn, which projects that
turn warnings into errors reject. The tests also get a process of their own, with none of
this command's logging setup. The summary is printed by the plugin's
``--windtunnel-summary``, which also collects it from pytest-xdist workers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from windtunnel.errors import WindtunnelError

__all__ = ["add_test_options", "pytest_arguments_for", "register", "run"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``test`` command."""
    parser = commands.add_parser(
        "test", help="run an application's tests against its local stack",
        description="Run pytest on the application's tests (PATH/tests, or PATH when it has "
                    "no tests directory) with windtunnel's stack fixture loading PATH, and "
                    "end with the tests per level, the functions invoked and the AWS "
                    "operations called. Arguments after '--' go to pytest. The exit status "
                    "is pytest's.")
    add_test_options(parser)
    parser.set_defaults(run=run)


def add_test_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that :func:`pytest_arguments_for` reads (``windtunnel test``'s own)."""
    parser.add_argument(
        "path", nargs="?", type=Path, default=None, metavar="PATH",
        help="the application directory, or its template file (default: the current "
             "directory)")
    parser.add_argument("--stack-name", metavar="NAME",
                        help="the stack name (default: stack_name in [tool.windtunnel], or "
                             "the name the format implies)")
    parser.add_argument("--stage", metavar="STAGE",
                        help="the Serverless Framework stage")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a template parameter value; repeat for several")
    parser.add_argument("--region", metavar="REGION",
                        help="the AWS region to emulate")
    parser.add_argument("--strict", action="store_true",
                        help="fail when a resource type is not emulated instead of listing it")
    parser.add_argument("--iam", choices=("enforce", "warn", "off"), default=None,
                        help="how IAM policies apply to the calls functions make: enforce "
                             "(deny as AWS does; the default), warn (allow, and log what AWS "
                             "would deny) or off")
    # Also accepted before the command; SUPPRESS keeps the earlier value when absent here.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and debug logs")


def run(arguments: argparse.Namespace) -> int:
    """Run pytest on the application's tests; return pytest's exit status."""
    command = [sys.executable, "-m", "pytest", *pytest_arguments_for(arguments)]
    sys.stdout.flush()
    # The run takes as long as the application's tests take, so there is no timeout. On
    # Ctrl-C, pytest in the child process gets the signal too and stops by itself.
    completed = subprocess.run(command, check=False)
    if completed.returncode == 1 and not _pytest_installed():
        raise WindtunnelError("windtunnel test runs pytest, which is not installed in "
                              f"{sys.prefix}; install it with 'pip install pytest'")
    return completed.returncode


def pytest_arguments_for(arguments: argparse.Namespace) -> list[str]:
    """Return pytest's arguments for the application at ``arguments.path``."""
    path: Path = (arguments.path or Path.cwd()).resolve()
    if not path.exists():
        raise WindtunnelError(f"{path} does not exist; pass the application directory or its "
                              f"template file")
    app_directory = path if path.is_dir() else path.parent
    tests = app_directory / "tests"
    if not tests.is_dir():
        tests = app_directory

    pytest_arguments = [str(tests), f"--windtunnel-template={path}", "--windtunnel-summary"]
    if arguments.stack_name:
        pytest_arguments.append(f"--windtunnel-stack-name={arguments.stack_name}")
    if arguments.stage:
        pytest_arguments.append(f"--windtunnel-stage={arguments.stage}")
    pytest_arguments.extend(f"--windtunnel-param={pair}" for pair in arguments.param)
    if arguments.region:
        pytest_arguments.append(f"--windtunnel-region={arguments.region}")
    if arguments.strict:
        pytest_arguments.append("--windtunnel-strict")
    if arguments.iam:
        pytest_arguments.append(f"--windtunnel-iam={arguments.iam}")
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        # pytest loads no entry point then, and the options above need the plugin.
        pytest_arguments[:0] = ["-p", "windtunnel.pytest_plugin"]
    return [*pytest_arguments, *getattr(arguments, "command", [])]


def _pytest_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("pytest") is not None
