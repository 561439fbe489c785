"""The report as plain text for a terminal, readable at 100 columns."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from windtunnel.iam.report.analysis import DeniedCall, GrantUse, PrincipalUsage, UsedPermission
from windtunnel.template.model import TemplateFormat

__all__ = ["ReviewItem", "render_text", "review_items"]

_FORMAT_NAMES: dict[TemplateFormat, str] = {
    "cloudformation": "CloudFormation",
    "sam": "SAM",
    "serverless": "Serverless Framework",
    "cdk": "CDK",
}
_KIND_TITLES = {"function": "Function", "role": "Role", "principal": "Principal"}
_MAX_ACTION_COLUMN = 40


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _wrap(text: str, indent: int, width: int, hanging: int | None = None) -> list[str]:
    """Wrap ``text`` at ``indent``, continuing at ``hanging`` (default: the same indent)."""
    prefix = " " * indent
    following = " " * (indent if hanging is None else hanging)
    return textwrap.wrap(text, width=width, initial_indent=prefix, subsequent_indent=following,
                         break_long_words=False, break_on_hyphens=False) or [prefix]


def _call_rows(rows: Sequence[UsedPermission | DeniedCall], width: int) -> list[str]:
    """Write ``count  action  resource`` rows, moving a long resource to its own line."""
    action_width = min(max(len(row.action) for row in rows), _MAX_ACTION_COLUMN)
    lines: list[str] = []
    for row in rows:
        head = f"    {row.calls:>5}  {row.action.ljust(action_width)}"
        line = f"{head}  {row.resource}"
        if len(line) <= width:
            lines.append(line)
        else:
            lines.append(head.rstrip())
            lines.append(f"{' ' * 13}{row.resource}")
    return lines


def _denied_lines(denied: Sequence[DeniedCall], width: int) -> list[str]:
    lines = ["  Denied calls:"]
    for call in denied:
        lines.extend(_call_rows([call], width))
        mode = "enforced" if call.enforced else "went ahead in warn mode"
        lines.extend(_wrap(f"{mode}; {call.explanation}", 13, width))
        allow = json.dumps(dict(call.statement))
        lines.extend(_wrap(f"to allow it: {allow}", 13, width))
    return lines


def _grant_detail(grant: GrantUse) -> str:
    where = f"policy {grant.policy_name}, statement {grant.sid or grant.statement_index}"
    if grant.conditional:
        where += " (with a Condition)"
    if not grant.used:
        return f"{where}; no call used it"
    resources = _plural(len(grant.used_resources), "resource")
    return (f"{where}; used only for {', '.join(grant.used_actions)} on {resources} "
            f"({_plural(grant.calls, 'call')})")


@dataclass(frozen=True)
class ReviewItem:
    """One line of the grants to review: broad grants, and unused grants of one resource."""

    status: str
    """``broad`` or ``unused``."""
    actions: str
    resource: str
    detail: str


def review_items(entry: PrincipalUsage) -> list[ReviewItem]:
    """Return the grants worth reviewing: the broad ones and the unused ones.

    Grants of actions that Lambda itself performs for the function are left out. Unused
    narrow grants of one statement and resource share an item.
    """
    items: list[ReviewItem] = []
    unused: dict[tuple[str, int, str], list[GrantUse]] = {}
    for grant in entry.grants:
        if grant.lambda_service:
            continue
        if grant.broad:
            items.append(ReviewItem("broad", grant.action,
                                    f"{grant.resource} ({', '.join(grant.broad)})",
                                    _grant_detail(grant)))
        elif not grant.used:
            key = (grant.policy_name, grant.statement_index, grant.resource)
            unused.setdefault(key, []).append(grant)
    for grants in unused.values():
        actions = ", ".join(grant.action for grant in grants)
        items.append(ReviewItem("unused", actions, grants[0].resource, _grant_detail(grants[0])))
    return items


def _grant_lines(entry: PrincipalUsage, width: int) -> list[str]:
    items = review_items(entry)
    lambda_grants = sum(1 for grant in entry.grants if grant.lambda_service)
    lines: list[str] = []
    if items:
        lines.append(f"  Grants to review (role {entry.role_name}):")
        for item in items:
            line = f"    {item.status.ljust(6)}  {item.actions} on {item.resource}"
            if len(line) <= width:
                lines.append(line)
            else:
                lines.extend(_wrap(f"{item.status.ljust(6)}  {item.actions}", 4, width, 12))
                lines.extend(_wrap(f"on {item.resource}", 12, width))
            lines.extend(_wrap(item.detail, 12, width))
    elif entry.grants:
        lines.append(f"  Grants to review (role {entry.role_name}): none")
    if lambda_grants:
        lines.extend(_wrap(
            f"Not reviewed: {_plural(lambda_grants, 'grant')} of actions that Lambda "
            f"performs for the function (logs, traces, event source polling).", 2, width))
    return lines


def _suggestion_lines(entry: PrincipalUsage, width: int) -> list[str]:
    if entry.name.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        # A service principal is allowed by the target's resource-based policy (a Lambda
        # permission, a queue or topic policy), not by statements of a role.
        return _wrap("Allowed by the resource-based policies of the targets (Lambda "
                     "permissions, queue and topic policies).", 2, width)
    suggested = entry.suggested
    if not suggested.statements:
        return ["  Suggested policy: no statements, because no call went ahead."]
    lines = _wrap(f"Suggested policy, for {suggested.location}:", 2, width)
    lines.extend(f"    {line}" if line else "" for line in suggested.text.rstrip().splitlines())
    return lines


def _entry_lines(entry: PrincipalUsage, shown_roles: dict[str, str], width: int) -> list[str]:
    title = f"{_KIND_TITLES[entry.kind]} {entry.name}"
    if entry.role_name is not None and entry.kind != "role":
        title += f" (role {entry.role_name})"
    lines = [title]

    if entry.used:
        lines.append("  Allowed calls:")
        lines.extend(_call_rows(entry.used, width))
    else:
        lines.append("  Allowed calls: none recorded")
    if entry.denied:
        lines.extend(_denied_lines(entry.denied, width))
    for problem in entry.problems:
        lines.extend(_wrap(f"Note: {problem}", 2, width))

    first = shown_roles.get(entry.role_arn) if entry.role_arn is not None else None
    if first is not None and entry.grants:
        lines.extend(_wrap(f"Grants and suggested policy: as for {first}, which has the same "
                           f"role.", 2, width))
        return lines
    if entry.role_arn is not None and entry.grants:
        shown_roles[entry.role_arn] = f"{entry.kind} {entry.name}"
    lines.extend(_grant_lines(entry, width))
    lines.extend(_suggestion_lines(entry, width))
    return lines


def render_text(entries: Sequence[PrincipalUsage], template_format: TemplateFormat | None,
                width: int = 100) -> str:
    """Write the report as text lines of at most ``width`` columns where the content allows.

    An ARN or action longer than the line stays whole.
    """
    source = f" ({_FORMAT_NAMES[template_format]})" if template_format is not None else ""
    if not entries:
        return f"windtunnel IAM report{source}: no authorization decisions were recorded.\n"

    functions = sum(1 for entry in entries if entry.kind == "function")
    allowed = sum(row.calls for entry in entries for row in entry.used)
    denied = sum(row.calls for entry in entries for row in entry.denied)
    to_review: set[tuple[str | None, ReviewItem]] = set()
    for entry in entries:
        to_review.update((entry.role_arn, item) for item in review_items(entry))
    header = (f"windtunnel IAM report{source}: {_plural(functions, 'function')}, "
              f"{_plural(allowed, 'allowed call')}, {_plural(denied, 'denied call')}, "
              f"{_plural(len(to_review), 'grant')} to review")
    lines = _wrap(header, 0, width)

    shown_roles: dict[str, str] = {}
    for entry in entries:
        lines.append("")
        lines.extend(_entry_lines(entry, shown_roles, width))
    return "\n".join(lines) + "\n"
