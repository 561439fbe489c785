"""The report object: its inputs, merging, JSON form, and the analysis it renders."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast, get_args

from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.records import DecisionRecord
from windtunnel.iam.report.analysis import PrincipalUsage, analyze
from windtunnel.iam.report.inputs import RoleGrants, merge_roles
from windtunnel.iam.report.serialization import record_from_json, record_to_json
from windtunnel.iam.report.text import render_text
from windtunnel.template.model import TemplateFormat

__all__ = ["JSON_FORMAT", "IamReport", "build_report"]

# The "format" and "version" values of the JSON form. The version changes when a reader of
# an older form could misread the new one.
JSON_FORMAT = "windtunnel-iam-report"
JSON_VERSION = 1


def _check_format(template_format: str | None) -> TemplateFormat | None:
    if template_format is not None and template_format not in get_args(TemplateFormat):
        raise ValueError(f"template format {template_format!r} is invalid; expected one of "
                         f"{', '.join(get_args(TemplateFormat))}")
    return cast("TemplateFormat | None", template_format)


@dataclass(frozen=True)
class IamReport:
    """The authorization decisions of a test run and the roles they concern.

    The report keeps its inputs, so that parts from several processes merge exactly. The
    analysis (:attr:`principals`) is computed from them when first read.
    """

    records: tuple[DecisionRecord, ...] = ()
    roles: tuple[RoleGrants, ...] = ()
    template_format: TemplateFormat | None = None
    """The format the application was written in, which decides the suggestions' syntax;
    None for an empty report."""

    @functools.cached_property
    def principals(self) -> tuple[PrincipalUsage, ...]:
        """One entry per function, then per role and principal without a function, by name."""
        return analyze(self.records, self.roles, self.template_format)

    def function(self, name: str) -> PrincipalUsage:
        """Return the entry of the function ``name``; raise KeyError if there is none."""
        for entry in self.principals:
            if entry.kind == "function" and entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.principals if e.kind == "function") or "none"
        raise KeyError(f"no function {name!r} in the report; the functions are: {known}")

    def merge(self, *others: IamReport) -> IamReport:
        """Combine this report with ``others``, as parts of one test run.

        Records are concatenated in order and roles combined by ARN. Raises ValueError
        when the parts come from applications in different template formats.
        """
        parts = (self, *others)
        formats = {part.template_format for part in parts} - {None}
        if len(formats) > 1:
            raise ValueError(f"cannot merge reports of different template formats: "
                             f"{', '.join(sorted(f for f in formats if f is not None))}")
        return IamReport(
            records=tuple(record for part in parts for record in part.records),
            roles=merge_roles(role for part in parts for role in part.roles),
            template_format=formats.pop() if formats else None,
        )

    def to_json(self, *, analysis: bool = False) -> dict[str, Any]:
        """Return the report's inputs as JSON-ready values, which :meth:`from_json` reads.

        With ``analysis``, the result also has the entries of :attr:`principals` under
        ``"principals"``, for programs that read the report. :meth:`from_json` ignores them.
        """
        data: dict[str, Any] = {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "template_format": self.template_format,
            "roles": [role.to_json() for role in self.roles],
            "records": [record_to_json(record) for record in self.records],
        }
        if analysis:
            data["principals"] = [entry.to_json() for entry in self.principals]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IamReport:
        """Read a report written by :meth:`to_json`; raise ValueError if it is not one."""
        if not isinstance(data, Mapping) or data.get("format") != JSON_FORMAT:
            raise ValueError(f"not a windtunnel IAM report: expected a JSON object with "
                             f'"format": "{JSON_FORMAT}"')
        if data.get("version") != JSON_VERSION:
            raise ValueError(f"IAM report version {data.get('version')!r} is not supported; "
                             f"this windtunnel reads version {JSON_VERSION}")
        try:
            return cls(
                records=tuple(record_from_json(record) for record in data["records"]),
                roles=tuple(RoleGrants.from_json(role) for role in data["roles"]),
                template_format=_check_format(data["template_format"]),
            )
        except (KeyError, TypeError, MalformedPolicyError) as error:
            raise ValueError(f"invalid windtunnel IAM report: {type(error).__name__} "
                             f"{error}") from None

    def render_text(self, width: int = 100) -> str:
        """Return the report as a plain-text table for a terminal ``width`` columns wide."""
        return render_text(self.principals, self.template_format, width)


def build_report(records: Iterable[DecisionRecord], roles: Iterable[RoleGrants],
                 template_format: TemplateFormat | None) -> IamReport:
    """Make the report of ``records`` for ``roles``, whose application has that format.

    ``roles`` may describe a role several times, and the descriptions of one role are
    combined. Raises ValueError for an unknown template format.
    """
    return IamReport(records=tuple(records), roles=merge_roles(roles),
                     template_format=_check_format(template_format))
