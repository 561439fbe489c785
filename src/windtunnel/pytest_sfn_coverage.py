"""Path coverage of state machines across a pytest run, pytest-xdist workers included.

Registered by the windtunnel plugin for ``--windtunnel-sfn-coverage`` (print the report at
the end) and ``--windtunnel-sfn-coverage-file`` (write the data that
``windtunnel sfn coverage`` reads). Each process collects what the state machines of all
its stacks did; workers hand their data to the controller when they finish.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from windtunnel.services.stepfunctions.coverage import PROCESS_COVERAGE, CoverageData

__all__ = ["SfnCoverageCollector", "add_options", "requested"]

_WORKER_OUTPUT_KEY = "windtunnel_sfn_coverage"


def add_options(group: Any) -> None:
    """Add the coverage options to the plugin's option group."""
    group.addoption("--windtunnel-sfn-coverage", action="store_true",
                    help="end with the path coverage of the state machines: the states and "
                         "transitions (Choice rules, Retry and Catch entries, branches) no "
                         "test took")
    group.addoption("--windtunnel-sfn-coverage-file", metavar="PATH",
                    help="write the state machines' path coverage data as JSON to PATH, "
                         "for 'windtunnel sfn coverage'")


def requested(config: pytest.Config) -> bool:
    """Whether the run asked for path coverage."""
    return bool(config.getoption("windtunnel_sfn_coverage")
                or config.getoption("windtunnel_sfn_coverage_file"))


class SfnCoverageCollector:
    """Merges the coverage of every process and reports it at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.worker_data: list[CoverageData] = []
        self.show = bool(config.getoption("windtunnel_sfn_coverage"))
        self.path: Path | None = None
        option = config.getoption("windtunnel_sfn_coverage_file")
        if option:
            self.path = Path(config.invocation_params.dir, option)
            if not self.path.parent.is_dir():
                raise pytest.UsageError(f"--windtunnel-sfn-coverage-file: the directory "
                                        f"{self.path.parent} does not exist")

    @property
    def is_worker(self) -> bool:
        """Whether this process is a pytest-xdist worker."""
        return hasattr(self.config, "workerinput")

    def data(self) -> CoverageData:
        """This process's data and what the workers sent."""
        merged = CoverageData()
        merged.merge(PROCESS_COVERAGE)
        for part in self.worker_data:
            merged.merge(part)
        return merged

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Take a finished worker's data (pytest-xdist's hook)."""
        text = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY)
        if text:
            self.worker_data.append(CoverageData.from_json(text))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Workers hand their data over; the controller writes the file."""
        if self.is_worker:
            self.config.workeroutput[_WORKER_OUTPUT_KEY] = (  # type: ignore[attr-defined]
                PROCESS_COVERAGE.to_json())
            return
        if self.path is not None:
            self.path.write_text(self.data().to_json() + "\n", encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print what the tests never took."""
        if not self.show or self.is_worker:
            return
        terminalreporter.write_sep("=", "windtunnel state machine path coverage")
        report = self.data().report()
        if not report.machines:
            terminalreporter.write_line("no state machine was loaded")
        for line in report.text().splitlines():
            terminalreporter.write_line(line)
