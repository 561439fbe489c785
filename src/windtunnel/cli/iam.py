"""``windtunnel iam report``: run an application's tests, then print its least-privilege report.

The tests run as ``windtunnel test`` runs them, in a pytest child process, with the
plugin's ``--windtunnel-iam-report-file`` writing the report as JSON to a temporary file.
This command then reads the file and prints the report as a table, or as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from windtunnel.cli.test import add_test_options, pytest_arguments_for
from windtunnel.errors import WindtunnelError
from windtunnel.iam.report import IamReport

__all__ = ["register", "run"]

# pytest's exit statuses: 1 means that tests failed, 2 and above that the run itself did
# not complete (interrupted, internal error, usage error, no tests collected).
_TESTS_FAILED = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``iam`` command group and its ``report`` command."""
    group = commands.add_parser("iam", help="IAM tools: the least-privilege report",
                                description="IAM tools for an application's functions.")
    subcommands = group.add_subparsers(title="commands", metavar="COMMAND", required=True)

    parser = subcommands.add_parser(
        "report", help="run the tests, then report the permissions each function used",
        usage="%(prog)s [-h] [--json] [--output FILE] [OPTIONS] [PATH] [-- PYTEST ARGS]",
        description="Run the application's tests as 'windtunnel test' does, then print for "
                    "each function the actions and resources it used, the calls IAM denied "
                    "with the statement that would allow them, the granted permissions that "
                    "are broad or were never used, and a least-privilege policy in the "
                    "template's syntax. The report covers what the tests exercised, so a "
                    "path no test takes is missing from it. Use --iam warn to record every "
                    "call the code makes, including those the policies deny. Arguments after "
                    "'--' go to pytest. Exit status: 0 when the report was made, also when "
                    "tests failed (pytest's output and a note on standard error say so); "
                    "pytest's own status (2 or more) when the tests could not run, for "
                    "example for a usage error or when no tests were collected.")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON instead of a table; pytest's output "
                             "then goes to standard error")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="also write the report as JSON to FILE")

    add_test_options(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Run the tests and print the report; return 0, or pytest's status of 2 and above."""
    with tempfile.TemporaryDirectory(prefix="windtunnel-iam-") as directory:
        report_file = Path(directory) / "iam-report.json"
        returncode = _run_pytest(arguments, report_file)
        if not report_file.is_file():
            return _missing_report(returncode)
        text = report_file.read_text(encoding="utf-8")

    try:
        report = IamReport.from_json(json.loads(text))
    except ValueError as error:
        raise WindtunnelError(f"the IAM report that pytest wrote could not be read: "
                              f"{error}") from None
    document = json.dumps(report.to_json(analysis=True), indent=2) + "\n"
    if arguments.output is not None:
        try:
            arguments.output.write_text(document, encoding="utf-8")
        except OSError as error:
            raise WindtunnelError(f"could not write the report to {arguments.output}: "
                                  f"{error.strerror or error}") from None

    sys.stdout.write(document if arguments.json else report.render_text())
    sys.stdout.flush()
    if returncode == _TESTS_FAILED:
        print("windtunnel: some tests failed; the report covers the calls that the tests "
              "made.", file=sys.stderr)
        return 0
    return returncode


def _run_pytest(arguments: argparse.Namespace, report_file: Path) -> int:
    """Run the tests with the report option; return pytest's exit status."""
    without_command = argparse.Namespace(**{**vars(arguments), "command": []})
    command = [sys.executable, "-m", "pytest", *pytest_arguments_for(without_command),
               f"--windtunnel-iam-report-file={report_file}",
               *getattr(arguments, "command", [])]
    sys.stdout.flush()
    sys.stderr.flush()
    # With --json, standard output carries only the report, so pytest writes to stderr.
    # The run takes as long as the tests take, so there is no timeout.
    completed = subprocess.run(command, check=False,
                               stdout=sys.stderr if arguments.json else None)
    return completed.returncode


def _missing_report(returncode: int) -> int:
    """Explain why pytest wrote no report, and return the exit status to use."""
    import importlib.util

    if importlib.util.find_spec("pytest") is None:
        raise WindtunnelError("windtunnel iam report runs pytest, which is not installed in "
                              f"{sys.prefix}; install it with 'pip install pytest'")
    if returncode == 0:
        raise WindtunnelError("pytest ran but wrote no IAM report; check that the windtunnel "
                              "plugin is not disabled (-p no:windtunnel)")
    print(f"windtunnel: pytest stopped with exit status {returncode} before the IAM report "
          f"was written", file=sys.stderr)
    return returncode if returncode > _TESTS_FAILED else 2
