"""A state machine definition read into states that know their query language and exits.

The definition is checked by the validator before it gets here; this module only gives
the interpreter a convenient, precomputed view of it.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JSONATA", "JSONPATH", "Definition", "State", "StatesBlock", "parse_definition"]

JSONPATH = "JSONPath"
JSONATA = "JSONata"


@dataclass(frozen=True)
class Retrier:
    """One entry of a state's Retry list, with AWS's defaults filled in."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: str = "NONE"


@dataclass(frozen=True)
class Catcher:
    """One entry of a state's Catch list."""

    error_equals: tuple[str, ...]
    next: str
    fields: Mapping[str, Any]


@dataclass
class State:
    """One state: its name, type, fields and query language."""

    name: str
    type: str
    fields: Mapping[str, Any]
    query_language: str
    retriers: tuple[Retrier, ...] = ()
    catchers: tuple[Catcher, ...] = ()
    branches: tuple[StatesBlock, ...] = ()
    """Parallel branches, or the Map's item processor as the only entry."""

    @property
    def next(self) -> str | None:
        """The state to go to after this one, or None at an end."""
        value = self.fields.get("Next")
        return str(value) if value is not None else None

    @property
    def end(self) -> bool:
        """Whether the execution (or branch) ends after this state."""
        return bool(self.fields.get("End")) or self.type in ("Succeed", "Fail")

    @property
    def jsonata(self) -> bool:
        """Whether this state's fields are JSONata rather than JSONPath."""
        return self.query_language == JSONATA

    def get(self, name: str, default: Any = None) -> Any:
        """The value of field ``name`` or ``default``."""
        return self.fields.get(name, default)

    def has(self, name: str) -> bool:
        """Whether the state sets field ``name`` (even to null)."""
        return name in self.fields


@dataclass
class StatesBlock:
    """A set of states with a start: the machine, a Parallel branch or a Map processor."""

    start_at: str
    states: dict[str, State]
    query_language: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> State:
        return self.states[name]

    def __iter__(self) -> Iterator[State]:
        return iter(self.states.values())

    def walk(self) -> Iterator[State]:
        """Every state of the block and of the blocks nested in it."""
        for state in self.states.values():
            yield state
            for branch in state.branches:
                yield from branch.walk()


@dataclass
class Definition(StatesBlock):
    """A whole state machine definition."""

    text: str = ""

    @property
    def timeout_seconds(self) -> int | None:
        """The execution's TimeoutSeconds, if the definition sets one."""
        value = self.fields.get("TimeoutSeconds")
        return int(value) if value is not None else None


def parse_definition(text: str) -> Definition:
    """Read a definition (already validated) into a :class:`Definition`."""
    document = json.loads(text)
    language = document.get("QueryLanguage", JSONPATH)
    block = _block(document, language)
    return Definition(block.start_at, block.states, language, document, text)


def _block(document: Mapping[str, Any], inherited_language: str) -> StatesBlock:
    language = document.get("QueryLanguage", inherited_language)
    states = {name: _state(name, fields, language)
              for name, fields in document["States"].items()}
    return StatesBlock(document["StartAt"], states, language, document)


def _state(name: str, fields: Mapping[str, Any], machine_language: str) -> State:
    language = fields.get("QueryLanguage", machine_language)
    retriers = tuple(
        Retrier(
            error_equals=tuple(entry["ErrorEquals"]),
            interval_seconds=float(entry.get("IntervalSeconds", 1)),
            max_attempts=int(entry.get("MaxAttempts", 3)),
            backoff_rate=float(entry.get("BackoffRate", 2.0)),
            max_delay_seconds=(float(entry["MaxDelaySeconds"])
                               if entry.get("MaxDelaySeconds") is not None else None),
            jitter=str(entry.get("JitterStrategy", "NONE")),
        )
        for entry in fields.get("Retry", ())
    )
    catchers = tuple(Catcher(tuple(entry["ErrorEquals"]), str(entry["Next"]), entry)
                     for entry in fields.get("Catch", ()))

    branches: tuple[StatesBlock, ...] = ()
    if fields.get("Type") == "Parallel":
        branches = tuple(_block(branch, language) for branch in fields.get("Branches", ()))
    elif fields.get("Type") == "Map":
        processor = fields.get("ItemProcessor") or fields.get("Iterator")
        if processor is not None:
            branches = (_block(processor, language),)
    return State(name, str(fields["Type"]), fields, language, retriers, catchers, branches)
