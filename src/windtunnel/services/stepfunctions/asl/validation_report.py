"""Diagnostics of definition validation and the collector that gathers them.

The codes and the fields of a diagnostic are those of ValidateStateMachineDefinition.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = [
    "DUPLICATE_LABEL_NAME",
    "DUPLICATE_STATE_NAME",
    "ERROR",
    "INVALID_JSONATA_EXPRESSION",
    "INVALID_JSON_DESCRIPTION",
    "INVALID_LABEL_NAME",
    "INVALID_STATE_NAME",
    "MISSING_END_STATE",
    "MISSING_TRANSITION_TARGET",
    "NO_DOLLAR",
    "PASS_RESULT_IS_STATIC",
    "SCHEMA_VALIDATION_FAILED",
    "WARNING",
    "Diagnostic",
    "Report",
    "child",
    "item",
]

logger = logging.getLogger(__name__)

ERROR = "ERROR"
WARNING = "WARNING"

# Error codes listed by the API reference.
INVALID_JSON_DESCRIPTION = "INVALID_JSON_DESCRIPTION"
SCHEMA_VALIDATION_FAILED = "SCHEMA_VALIDATION_FAILED"
MISSING_END_STATE = "MISSING_END_STATE"
DUPLICATE_STATE_NAME = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME = "INVALID_STATE_NAME"
DUPLICATE_LABEL_NAME = "DUPLICATE_LABEL_NAME"
INVALID_LABEL_NAME = "INVALID_LABEL_NAME"
MISSING_TRANSITION_TARGET = "MISSING_TRANSITION_TARGET"
# Not in the API reference's list, but AWS returns it for a JSONata expression that does
# not parse (a response recorded from AWS; the conformance tests cite it).
INVALID_JSONATA_EXPRESSION = "INVALID_JSONATA_EXPRESSION"

# Warning codes listed by the API reference.
NO_DOLLAR = "NO_DOLLAR"
PASS_RESULT_IS_STATIC = "PASS_RESULT_IS_STATIC"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a definition, as ValidateStateMachineDefinition reports it."""

    severity: str
    """``ERROR`` (the definition cannot be created) or ``WARNING``."""
    code: str
    """A code such as ``SCHEMA_VALIDATION_FAILED`` or ``MISSING_TRANSITION_TARGET``."""
    message: str
    location: str | None
    """A JSON-pointer-like location such as ``/States/Choose/Choices[0]``, or None."""


@dataclass
class Report:
    """Collects diagnostics in the order the checks find them."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, location: str | None) -> None:
        """Record an ERROR diagnostic."""
        logger.debug("definition error %s at %s: %s", code, location, message)
        self.diagnostics.append(Diagnostic(ERROR, code, message, location))

    def schema(self, message: str, location: str | None) -> None:
        """Record a SCHEMA_VALIDATION_FAILED error."""
        self.error(SCHEMA_VALIDATION_FAILED, message, location)

    def warning(self, code: str, message: str, location: str | None) -> None:
        """Record a WARNING diagnostic."""
        self.diagnostics.append(Diagnostic(WARNING, code, message, location))

    @property
    def has_errors(self) -> bool:
        """Whether any ERROR diagnostic was recorded."""
        return any(diagnostic.severity == ERROR for diagnostic in self.diagnostics)


def child(location: str, name: str) -> str:
    """The location of field ``name`` inside the object at ``location``."""
    if location == "/":
        return "/" + name
    return f"{location}/{name}"


def item(location: str, index: int) -> str:
    """The location of element ``index`` of the array at ``location``.

    AWS writes array elements in brackets, as in ``/States/C/Choices[0]/Next`` (a response
    recorded from AWS; the conformance tests cite it).
    """
    return f"{location}[{index}]"
