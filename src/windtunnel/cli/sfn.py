"""``windtunnel sfn coverage``: which states and transitions of the state machines tests took.

Like ``windtunnel iam report``, the command runs the application's tests in a pytest child
process (the plugin's ``--windtunnel-sfn-coverage-file`` writes the data), then lists per
state machine the states never entered and the transitions never taken, and writes a
diagram with the covered edges marked. ``--data FILE`` reads data written earlier instead.
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
from windtunnel.services.stepfunctions.coverage import CoverageData, CoverageReport

__all__ = ["register", "run_coverage"]

# pytest's status when tests failed; 2 and above mean the run itself did not complete.
_TESTS_FAILED = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sfn`` command group and its ``coverage`` command."""
    group = commands.add_parser("sfn", help="Step Functions tools: path coverage",
                                description="Step Functions tools for an application's "
                                            "state machines.")
    subcommands = group.add_subparsers(title="commands", metavar="COMMAND", required=True)
    parser = subcommands.add_parser(
        "coverage", help="run the tests, then list the states and transitions never taken",
        usage="%(prog)s [-h] [--json] [--diagram FILE] [--format {mermaid,dot}] "
              "[--data FILE] [--fail-under PERCENT] [OPTIONS] [PATH] [-- PYTEST ARGS]",
        description="Run the application's tests as 'windtunnel test' does, then print for "
                    "each state machine the share of transitions taken (Next, each Choice "
                    "rule and Default, each Retry and Catch entry, the start and end of "
                    "every branch), the states never entered and the transitions never "
                    "taken. Arguments after '--' go to pytest.")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON; pytest's output then goes to "
                             "standard error")
    parser.add_argument("--diagram", type=Path, metavar="FILE",
                        help="write a diagram of every state machine with the transitions "
                             "taken drawn solid and the others dashed")
    parser.add_argument("--format", choices=("mermaid", "dot"), default=None,
                        help="the diagram's format (default: from the file's extension, "
                             ".dot or .gv for Graphviz, else Mermaid)")
    parser.add_argument("--data", type=Path, metavar="FILE",
                        help="read coverage data that --windtunnel-sfn-coverage-file wrote "
                             "instead of running the tests")
    parser.add_argument("--fail-under", type=float, metavar="PERCENT", default=None,
                        help="exit with status 3 when a state machine's transition coverage "
                             "is below PERCENT")
    add_test_options(parser)
    parser.set_defaults(run=run_coverage)


def run_coverage(arguments: argparse.Namespace) -> int:
    """Collect (or read) the data, print the report, write the diagram."""
    returncode = 0
    if arguments.data is not None:
        text = _read(arguments.data)
    else:
        with tempfile.TemporaryDirectory(prefix="windtunnel-sfn-") as directory:
            data_file = Path(directory) / "sfn-coverage.json"
            returncode = _run_pytest(arguments, data_file)
            if not data_file.is_file():
                print(f"windtunnel: pytest stopped with exit status {returncode} before the "
                      f"coverage data was written", file=sys.stderr)
                return returncode if returncode > _TESTS_FAILED else 2
            text = data_file.read_text(encoding="utf-8")

    try:
        report = CoverageData.from_json(text).report()
    except (ValueError, KeyError) as error:
        raise WindtunnelError(f"the coverage data could not be read: {error}") from None

    if arguments.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report.text() or "no state machine was loaded\n")
    if arguments.diagram is not None:
        _write_diagram(report, arguments.diagram, arguments.format)
    sys.stdout.flush()

    if returncode == _TESTS_FAILED:
        print("windtunnel: some tests failed; the coverage counts what they ran.",
              file=sys.stderr)
        returncode = 0
    if arguments.fail_under is not None and any(
            machine.percent < arguments.fail_under for machine in report.machines):
        return 3
    return returncode


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise WindtunnelError(f"cannot read the coverage data {path}: "
                              f"{error.strerror or error}") from None


def _write_diagram(report: CoverageReport, path: Path, diagram_format: str | None) -> None:
    chosen = diagram_format or ("dot" if path.suffix in (".dot", ".gv") else "mermaid")
    if chosen == "dot":
        # Graphviz draws each digraph of a file.
        text = "\n".join(machine.dot() for machine in report.machines)
    elif path.suffix == ".md":
        text = "\n".join(f"## {machine.label or machine.name}\n\n```mermaid\n"
                         f"{machine.mermaid()}```\n" for machine in report.machines)
    elif len(report.machines) == 1:
        text = report.machines[0].mermaid()
    else:
        raise WindtunnelError(
            f"a Mermaid file holds one diagram, and {len(report.machines)} state machines "
            f"were loaded: name the diagram file with .md to get one Mermaid block per "
            f"state machine, or use --format dot")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise WindtunnelError(f"could not write the diagram to {path}: "
                              f"{error.strerror or error}") from None
    print(f"windtunnel: wrote the {chosen} diagram to {path}", file=sys.stderr)


def _run_pytest(arguments: argparse.Namespace, data_file: Path) -> int:
    without_command = argparse.Namespace(**{**vars(arguments), "command": []})
    command = [sys.executable, "-m", "pytest", *pytest_arguments_for(without_command),
               f"--windtunnel-sfn-coverage-file={data_file}",
               *getattr(arguments, "command", [])]
    sys.stdout.flush()
    sys.stderr.flush()
    # The run takes as long as the tests take, so there is no timeout.
    completed = subprocess.run(command, check=False,
                               stdout=sys.stderr if arguments.json else None)
    return completed.returncode
