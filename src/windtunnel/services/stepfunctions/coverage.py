"""Path coverage of state machines: which states and transitions executions took.

A transition is an edge of the workflow's graph: the start, each ``Next``, each Choice
rule and the Default, each Retry and Catch entry, the end of a branch, and the start of
every Parallel branch and Map iteration (named ``Parallel/branch 0/State``, ``Map/State``).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from windtunnel.services.stepfunctions.asl.definition import Definition, StatesBlock

__all__ = [
    "PROCESS_COVERAGE",
    "CoverageData",
    "CoverageReport",
    "Edge",
    "PathCoverage",
    "TeeRecorder",
    "coverage_report",
    "edges_of",
]

START = "(start)"
END = "(end)"


@dataclass(frozen=True, order=True)
class Edge:
    """One transition of a state machine's graph."""

    source: str
    target: str
    kind: str
    """``start``, ``next``, ``choice N``, ``default``, ``retry N`` or ``catch N``."""

    def describe(self) -> str:
        """Describe the edge readably: ``Check --choice 1--> Approve``."""
        return f"{self.source} --{self.kind}--> {self.target}"


class PathCoverage:
    """Counts the transitions executions take, by state machine name."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, state_machine: str, source: str, target: str, kind: str) -> None:
        """Count one transition of ``state_machine``."""
        with self._lock:
            self.counts[(state_machine, source, target, kind)] += 1

    def taken(self, state_machine: str) -> dict[Edge, int]:
        """Return the transitions of ``state_machine`` taken so far, with their counts."""
        return {Edge(source, target, kind): count
                for (machine, source, target, kind), count in self.counts.items()
                if machine == state_machine}

    def clear(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self.counts.clear()

    def merge(self, other: PathCoverage) -> None:
        """Add the counts of ``other`` (another test process's, say)."""
        with self._lock:
            self.counts.update(other.counts)

    def to_json(self) -> str:
        """Write the counts as JSON text, for a file that ``load`` reads back."""
        rows = [[*key, count] for key, count in sorted(self.counts.items())]
        return json.dumps({"transitions": rows}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> PathCoverage:
        """Read counts written by :meth:`to_json`."""
        coverage = cls()
        for machine, source, target, kind, count in json.loads(text).get("transitions", ()):
            coverage.counts[(machine, source, target, kind)] += int(count)
        return coverage

    @classmethod
    def load(cls, path: Path) -> PathCoverage:
        """Read a coverage file."""
        return cls.from_json(path.read_text(encoding="utf-8"))


class CoverageData:
    """Transitions taken and the definitions of the state machines they belong to.

    One instance per process collects what every stack in it runs, so a test run's
    coverage includes the stacks of all fixtures. Definitions are registered when a stack
    is loaded, so state machines no test ran show as not covered at all.
    """

    def __init__(self) -> None:
        self.transitions = PathCoverage()
        self.definitions: dict[str, str] = {}
        """Definition text by state machine name."""
        self.labels: dict[str, str] = {}
        """A readable name (``stack/LogicalId``) by state machine name."""

    def register(self, name: str, definition: str, label: str | None = None) -> None:
        """Remember a state machine's definition (and a label to show it by)."""
        self.definitions[name] = definition
        if label:
            self.labels[name] = label

    def merge(self, other: CoverageData) -> None:
        """Add another process's data."""
        self.transitions.merge(other.transitions)
        self.definitions.update(other.definitions)
        self.labels.update(other.labels)

    def to_json(self) -> str:
        """Write the data as JSON text, for a file ``windtunnel sfn coverage`` reads."""
        transitions = json.loads(self.transitions.to_json())["transitions"]
        return json.dumps({"transitions": transitions, "definitions": self.definitions,
                           "labels": self.labels}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> CoverageData:
        """Read data written by :meth:`to_json`."""
        document = json.loads(text)
        data = cls()
        data.transitions = PathCoverage.from_json(json.dumps(
            {"transitions": document.get("transitions", [])}))
        data.definitions = dict(document.get("definitions", {}))
        data.labels = dict(document.get("labels", {}))
        return data

    def report(self) -> CoverageReport:
        """Compute the coverage of every registered state machine."""
        from windtunnel.services.stepfunctions.asl.definition import parse_definition

        definitions = {name: parse_definition(text)
                       for name, text in self.definitions.items()}
        report = coverage_report(definitions, self.transitions)
        for machine in report.machines:
            machine.label = self.labels.get(machine.name, machine.name)
        report.machines.sort(key=lambda machine: machine.label)
        return report


class TeeRecorder:
    """Records each transition in several :class:`PathCoverage` objects."""

    def __init__(self, *targets: PathCoverage) -> None:
        self.targets = targets

    def record(self, state_machine: str, source: str, target: str, kind: str) -> None:
        """Count the transition in every target."""
        for coverage in self.targets:
            coverage.record(state_machine, source, target, kind)


def edges_of(definition: StatesBlock, prefix: str = "") -> list[Edge]:
    """Return every transition a block (and the blocks nested in it) can take."""
    edges = [Edge(prefix + START, prefix + definition.start_at, "start")]
    for state in definition:
        name = prefix + state.name
        fields = state.fields
        if state.type == "Choice":
            for index, rule in enumerate(fields.get("Choices", ())):
                edges.append(Edge(name, prefix + str(rule.get("Next")), f"choice {index}"))
            if "Default" in fields:
                edges.append(Edge(name, prefix + str(fields["Default"]), "default"))
        elif state.type != "Fail":
            target = prefix + state.next if state.next and not state.end else prefix + END
            edges.append(Edge(name, target, "next"))
        for index, _ in enumerate(state.retriers):
            edges.append(Edge(name, name, f"retry {index}"))
        for index, catcher in enumerate(state.catchers):
            edges.append(Edge(name, prefix + catcher.next, f"catch {index}"))
        if state.type == "Parallel":
            for number, branch in enumerate(state.branches):
                edges.extend(edges_of(branch, f"{name}/branch {number}/"))
        elif state.type == "Map" and state.branches:
            edges.extend(edges_of(state.branches[0], f"{name}/"))
    return edges


def _states_of(definition: StatesBlock, prefix: str = "") -> list[str]:
    names = []
    for state in definition:
        names.append(prefix + state.name)
        if state.type == "Parallel":
            for number, branch in enumerate(state.branches):
                names.extend(_states_of(branch, f"{prefix}{state.name}/branch {number}/"))
        elif state.type == "Map" and state.branches:
            names.extend(_states_of(state.branches[0], f"{prefix}{state.name}/"))
    return names


@dataclass
class MachineCoverage:
    """Coverage of one state machine."""

    name: str
    edges: dict[Edge, int]
    """Every edge of the graph with the number of times it was taken."""
    states: dict[str, bool]
    """Every state with whether an execution entered it."""
    label: str = ""
    """The name to show: ``stack/LogicalId`` for a stack's state machine."""

    @property
    def missed_edges(self) -> list[Edge]:
        """The transitions no execution took."""
        return sorted(edge for edge, count in self.edges.items() if count == 0)

    @property
    def percent(self) -> float:
        """Transitions taken, as a percentage of all transitions."""
        if not self.edges:
            return 100.0
        covered = sum(1 for count in self.edges.values() if count)
        return 100.0 * covered / len(self.edges)

    def mermaid(self) -> str:
        """Draw a Mermaid flowchart: taken transitions solid, the others dotted."""
        ids: dict[str, str] = {}

        def node(name: str) -> str:
            if name not in ids:
                ids[name] = f"n{len(ids)}"
            return ids[name]

        lines = ["flowchart TD"]
        for name in [START, *self.states, END]:
            label = name.replace('"', "'")
            lines.append(f'    {node(name)}["{label}"]')
        for edge, count in sorted(self.edges.items()):
            arrow = f"-->|{edge.kind} x{count}|" if count else f"-.->|{edge.kind}|"
            lines.append(f"    {node(edge.source)} {arrow} {node(edge.target)}")
        missed = [ids[name] for name, covered in self.states.items() if not covered]
        if missed:
            lines.append("    classDef missed stroke:#d33,stroke-dasharray:4")
            lines.append(f"    class {','.join(missed)} missed")
        return "\n".join(lines) + "\n"


    def dot(self) -> str:
        """Draw a Graphviz digraph: taken transitions solid, the others dashed and red."""
        def quoted(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = [f"digraph {quoted(self.label or self.name)} {{", "    rankdir=TB;"]
        for name, covered in self.states.items():
            style = "" if covered else ", color=red, style=dashed"
            lines.append(f"    {quoted(name)} [shape=box{style}];")
        for edge, count in sorted(self.edges.items()):
            if count:
                attributes = f'label="{edge.kind} x{count}"'
            else:
                attributes = f'label="{edge.kind}", color=red, style=dashed'
            lines.append(f"    {quoted(edge.source)} -> {quoted(edge.target)} [{attributes}];")
        lines.append("}")
        return "\n".join(lines) + "\n"


@dataclass
class CoverageReport:
    """Coverage of several state machines."""

    machines: list[MachineCoverage]

    def text(self) -> str:
        """Summarize, readably, what was never taken."""
        lines = []
        for machine in self.machines:
            covered_states = sum(1 for covered in machine.states.values() if covered)
            lines.append(f"{machine.label or machine.name}: {machine.percent:.0f}% of "
                         f"transitions "
                         f"({len(machine.edges) - len(machine.missed_edges)}/"
                         f"{len(machine.edges)}), {covered_states}/{len(machine.states)} "
                         f"states")
            for name, covered in machine.states.items():
                if not covered:
                    lines.append(f"  state never entered: {name}")
            for edge in machine.missed_edges:
                lines.append(f"  transition never taken: {edge.describe()}")
        return "\n".join(lines) + ("\n" if lines else "")

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {"stateMachines": [{
            "name": machine.name,
            "label": machine.label or machine.name,
            "percent": round(machine.percent, 1),
            "missedStates": [name for name, covered in machine.states.items() if not covered],
            "missedTransitions": [edge.describe() for edge in machine.missed_edges],
        } for machine in self.machines]}


def coverage_report(definitions: Mapping[str, Definition],
                    coverage: PathCoverage | Iterable[PathCoverage]) -> CoverageReport:
    """Compare each state machine's graph with the transitions recorded."""
    recorded = PathCoverage()
    for part in [coverage] if isinstance(coverage, PathCoverage) else coverage:
        recorded.merge(part)
    machines = []
    for name, definition in sorted(definitions.items()):
        taken = recorded.taken(name)
        edges = {edge: taken.get(edge, 0) for edge in edges_of(definition)}
        entered = {edge.target for edge, count in taken.items() if count}
        states = {state: state in entered for state in _states_of(definition)}
        machines.append(MachineCoverage(name, edges, states))
    return CoverageReport(machines)


PROCESS_COVERAGE = CoverageData()
"""What the state machines of every stack in this process did, for the test run's report."""
