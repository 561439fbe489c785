"""Compare what each role was granted with the calls its functions made.

Calls are grouped by function; calls of role sessions without a function are grouped by
role, and the rest by principal. A grant is one action entry times one resource entry of
an ``Allow`` statement (a whole ``NotAction`` or ``NotResource`` list counts as one
entry). A grant is used when an allowed call of the role matches it, with the policy
engine's wildcard matching: actions ignore case, resources do not.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.evaluation import MatchedStatement, PolicyType, Reason
from windtunnel.iam.policy import Effect, Policy, Statement, parse_policy
from windtunnel.iam.records import DecisionRecord
from windtunnel.iam.report.inputs import NamedPolicy, RoleGrants
from windtunnel.iam.report.suggestion import SuggestedPolicy, suggest_policy
from windtunnel.iam.wildcards import (
    ANY_CHARACTERS,
    Pattern,
    Token,
    arn_components,
    match_pattern,
    parse_pattern,
)
from windtunnel.template.model import TemplateFormat

__all__ = [
    "LAMBDA_SERVICE_ACTIONS",
    "DeniedCall",
    "GrantUse",
    "PrincipalKind",
    "PrincipalUsage",
    "UsedPermission",
    "analyze",
]

logger = logging.getLogger(__name__)

PrincipalKind = Literal["function", "role", "principal"]

# Actions that Lambda itself performs with a function's execution role: writing the
# function's logs and traces, and polling the sources of event source mappings. The
# function's code may never call them, so a grant of only these is not reported unused.
# Sources, the AWS managed policies made for this purpose:
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaDynamoDBExecutionRole.html
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaKinesisExecutionRole.html
# and, for SQS (AWSLambdaSQSQueueExecutionRole) and X-Ray (AWSXRayDaemonWriteAccess),
# https://docs.aws.amazon.com/lambda/latest/dg/security-iam-awsmanpol.html
LAMBDA_SERVICE_ACTIONS = frozenset(action.lower() for action in (
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
    "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
    "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:ListStreams",
    "kinesis:SubscribeToShard",
))

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ${*}, ${?} and ${$} stand for the characters themselves.
_ESCAPED_CHARACTERS = frozenset("*?$")


@dataclass(frozen=True)
class UsedPermission:
    """An action on a resource that was allowed, and how many calls it took."""

    action: str
    resource: str
    calls: int


@dataclass(frozen=True)
class DeniedCall:
    """Denied calls of one action on one resource, why, and the statement that allows them."""

    action: str
    resource: str
    calls: int
    enforced: bool
    """False when the calls went ahead because IAM ran in warn mode."""
    reason: Reason
    explanation: str
    """The reason for the denial, such as ``implicit deny: no identity-based policy allows
    it``, or the policy and statement of an explicit deny."""
    statement: Mapping[str, Any]
    """``{"Effect": "Allow", "Action": action, "Resource": resource}``, with the
    ``Principal`` for a service principal, whose grant belongs in the resource's policy."""


@dataclass(frozen=True)
class GrantUse:
    """One grant of a role's policies, whether it is broad, and which calls used it."""

    policy_name: str
    policy_kind: str
    statement_index: int
    sid: str | None
    action: str
    """The action entry, or ``NotAction a, b`` for a whole NotAction list."""
    resource: str
    """The resource entry, or ``NotResource a, b`` for a whole NotResource list."""
    broad: tuple[str, ...]
    """The reasons the grant is broad (``every action``, ``every resource``, ``NotAction``
    ...), or nothing for a narrow grant."""
    conditional: bool
    """Whether the statement has a Condition."""
    used_actions: tuple[str, ...]
    used_resources: tuple[str, ...]
    calls: int
    """How many allowed calls of the role it matches."""
    lambda_service: bool
    """Whether Lambda itself performs the action for the function (logs, event polling)."""

    @property
    def used(self) -> bool:
        """Whether any allowed call of the role matches the grant."""
        return self.calls > 0


@dataclass(frozen=True)
class PrincipalUsage:
    """The calls of one function (or other principal), and the grants of its role."""

    name: str
    """The function name, the role name, or the principal's ARN."""
    kind: PrincipalKind
    role_arn: str | None
    role_name: str | None
    role_functions: tuple[str, ...]
    """Every function that runs with the same role, this one included."""
    used: tuple[UsedPermission, ...]
    denied: tuple[DeniedCall, ...]
    grants: tuple[GrantUse, ...]
    """Every grant of the role, judged by the calls of all the role's functions."""
    suggested: SuggestedPolicy
    """The statements the role needs for the calls that went ahead."""
    problems: tuple[str, ...] = ()
    """Policies that could not be read, and roles whose policies are not known."""

    @property
    def unused_grants(self) -> tuple[GrantUse, ...]:
        """The grants that no allowed call used, except those that Lambda itself uses."""
        return tuple(g for g in self.grants if not g.used and not g.lambda_service)

    @property
    def broad_grants(self) -> tuple[GrantUse, ...]:
        """The grants with a wildcard or a NotAction or NotResource list."""
        return tuple(g for g in self.grants if g.broad)

    def to_json(self) -> dict[str, Any]:
        """Return the entry as JSON-ready values, for programs that read the report."""
        data: dict[str, Any] = _plain(self)
        return data


def _plain(value: Any) -> Any:
    """Convert dataclasses, enums and collections into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class _Selector:
    """An action or resource entry of a statement, or a whole Not... list."""

    text: str
    patterns: tuple[Pattern, ...]
    negated: bool

    def matches(self, value: str, *, ignore_case: bool) -> bool:
        found = any(match_pattern(p, value, ignore_case=ignore_case) for p in self.patterns)
        return found != self.negated


def _grant_pattern(text: str, variables: bool) -> Pattern:
    """Parse a resource entry, reading each policy variable as ``*``.

    The records do not keep the request context, so the value a variable had is unknown.
    Reading it as ``*`` may count a grant as used by a call that the variable's value would
    exclude, but it never reports a used grant as unused.
    """
    if not variables or "${" not in text:
        return parse_pattern(text)
    tokens: list[Token] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        tokens.extend(parse_pattern(text[position:found.start()]).tokens)
        name = found.group(1).strip()
        tokens.append(name if name in _ESCAPED_CHARACTERS else ANY_CHARACTERS)
        position = found.end()
    tokens.extend(parse_pattern(text[position:]).tokens)
    return Pattern(tuple(tokens))


def _selectors(values: tuple[str, ...] | None, not_values: tuple[str, ...] | None,
               negated_name: str, variables: bool) -> list[_Selector]:
    if values is not None:
        return [_Selector(value, (_grant_pattern(value, variables),), False) for value in values]
    if not_values is None:
        return []
    patterns = tuple(_grant_pattern(value, variables) for value in not_values)
    return [_Selector(f"{negated_name} {', '.join(not_values)}", patterns, True)]


def _action_breadth(selector: _Selector) -> str | None:
    if selector.negated:
        return "NotAction"
    if selector.text == "*":
        return "every action"
    service, _, name = selector.text.partition(":")
    return f"every {service} action" if name == "*" else None


def _resource_breadth(selector: _Selector) -> str | None:
    if selector.negated:
        return "NotResource"
    if selector.text == "*":
        return "every resource"
    components = arn_components(selector.text)
    if components is not None and components[5] == "*":
        service = components[2] if components[2] not in ("", "*") else "service's"
        return f"every {service} resource"
    return None


@dataclass
class _ParsedPolicy:
    named: NamedPolicy
    policy: Policy


@dataclass
class _RoleView:
    """A role with its policies parsed once."""

    role: RoleGrants
    policies: list[_ParsedPolicy] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, role: RoleGrants) -> _RoleView:
        view = cls(role)
        for named in role.policies:
            try:
                view.policies.append(_ParsedPolicy(named, parse_policy(named.document)))
            except MalformedPolicyError as error:
                logger.debug("policy %s of %s is not valid: %s", named.name, role.role_arn,
                             error)
                view.problems.append(f"policy {named.name} of role {role.role_name} could "
                                     f"not be read, so it is not reviewed: {error}")
        return view

    def allow_statements(self) -> Iterable[tuple[_ParsedPolicy, Statement]]:
        for parsed in self.policies:
            for statement in parsed.policy.statements:
                if statement.effect is Effect.ALLOW:
                    yield parsed, statement

    def policy_with(self, statement: Statement) -> NamedPolicy | None:
        """Return the policy that contains ``statement``, found by equal content."""
        for parsed in self.policies:
            if statement in parsed.policy.statements:
                return parsed.named
        return None


def _statement_label(statement: Statement) -> str:
    # Statements without a Sid are counted from 1, as a reader counts them in the policy.
    return (f"statement {statement.sid!r}" if statement.sid
            else f"statement {statement.index + 1}")


def _grant_uses(view: _RoleView, allowed: Counter[tuple[str, str]]) -> tuple[GrantUse, ...]:
    grants: list[GrantUse] = []
    for parsed, statement in view.allow_statements():
        variables = parsed.policy.supports_variables
        actions = _selectors(statement.actions, statement.not_actions, "NotAction", False)
        resources = _selectors(statement.resources, statement.not_resources, "NotResource",
                               variables)
        for action in actions:
            for resource in resources:
                matching = {
                    (called, on): count for (called, on), count in allowed.items()
                    if action.matches(called, ignore_case=True)
                    and resource.matches(on, ignore_case=False)
                }
                breadth = (_action_breadth(action), _resource_breadth(resource))
                grants.append(GrantUse(
                    policy_name=parsed.named.name,
                    policy_kind=parsed.named.kind,
                    statement_index=statement.index,
                    sid=statement.sid,
                    action=action.text,
                    resource=resource.text,
                    broad=tuple(reason for reason in breadth if reason is not None),
                    conditional=bool(statement.conditions),
                    used_actions=tuple(sorted({called for called, _ in matching})),
                    used_resources=tuple(sorted({on for _, on in matching})),
                    calls=sum(matching.values()),
                    lambda_service=(not action.negated
                                    and action.text.lower() in LAMBDA_SERVICE_ACTIONS),
                ))
    return tuple(grants)


def _explain(record: DecisionRecord, view: _RoleView | None) -> str:
    """Say which kind of policy denied ``record``, and which policy and statement if known."""
    if record.reason is Reason.EXPLICIT_DENY:
        if not record.matched_statements:
            return "explicit deny, which no Allow can override"
        matched = record.matched_statements[0]
        where = matched.policy_type.value
        if matched.policy_type is PolicyType.IDENTITY and view is not None:
            named = view.policy_with(matched.statement)
            if named is not None:
                where = f"{where} {named.name}"
        article = "an" if where[0] in "aeiou" else "a"
        return (f"explicit deny in {article} {where}, {_statement_label(matched.statement)}, "
                f"which no Allow can override")

    if record.policy_type not in (None, PolicyType.IDENTITY):
        assert record.policy_type is not None
        return f"implicit deny: no {record.policy_type.value} allows it"
    if view is None:
        return "implicit deny: no policy allows it"
    for parsed, statement in view.allow_statements():
        variables = parsed.policy.supports_variables
        actions = _selectors(statement.actions, statement.not_actions, "NotAction", False)
        resources = _selectors(statement.resources, statement.not_resources, "NotResource",
                               variables)
        if (any(a.matches(record.action, ignore_case=True) for a in actions)
                and any(r.matches(record.resource, ignore_case=False) for r in resources)):
            # NOTE: the role's policies, as the report received them, allow the call. So a
            # Condition, a boundary, a session policy or a change to the role denied it,
            # and the record does not say which.
            return (f"implicit deny, although {parsed.named.name}, "
                    f"{_statement_label(statement)}, allows it: a Condition, a permissions "
                    f"boundary, a session policy or a change to the role left it out")
    return f"implicit deny: no {PolicyType.IDENTITY.value} allows it"


def _used(records: Iterable[DecisionRecord]) -> tuple[UsedPermission, ...]:
    counts = Counter((r.action, r.resource) for r in records if r.allowed)
    return tuple(UsedPermission(action, resource, calls)
                 for (action, resource), calls in sorted(counts.items()))


def _denied(records: Iterable[DecisionRecord], view: _RoleView | None) -> tuple[DeniedCall, ...]:
    counts: Counter[tuple[str, str, bool, Reason, str]] = Counter()
    explanations: dict[tuple[str, str, Reason, tuple[MatchedStatement, ...]], str] = {}
    service_principal: str | None = None
    for record in records:
        if record.allowed:
            continue
        if record.principal.endswith((".amazonaws.com", ".amazonaws.com.cn")):
            service_principal = record.principal
        key = (record.action, record.resource, record.reason, record.matched_statements)
        explanation = explanations.get(key)
        if explanation is None:
            explanation = explanations[key] = _explain(record, view)
        counts[(record.action, record.resource, record.enforced, record.reason,
                explanation)] += 1
    principal = {"Principal": {"Service": service_principal}} if service_principal else {}
    return tuple(
        DeniedCall(action, resource, calls, enforced, reason, explanation,
                   {"Effect": "Allow", **principal, "Action": action, "Resource": resource})
        for (action, resource, enforced, reason, explanation), calls in sorted(
            counts.items(), key=lambda item: (item[0][0], item[0][1], item[0][2]))
    )


def _went_ahead(records: Iterable[DecisionRecord]) -> list[tuple[str, str]]:
    """Return the calls a least-privilege policy must allow: those that went ahead.

    Those are the allowed calls and the implicitly denied calls that warn mode let
    through. Enforced denials are left out, because a test may expect them; the report
    lists them with the statement that would allow them.
    """
    return [(r.action, r.resource) for r in records
            if r.allowed or (not r.enforced and r.reason is Reason.IMPLICIT_DENY)]


@dataclass
class _Group:
    name: str
    kind: PrincipalKind
    records: list[DecisionRecord] = field(default_factory=list)
    role_arn: str | None = None


def _group_records(records: Sequence[DecisionRecord], roles: Sequence[RoleGrants],
                   ) -> list[_Group]:
    groups: dict[tuple[PrincipalKind, str], _Group] = {}
    for role in roles:
        for function in role.function_names:
            groups[("function", function)] = _Group(function, "function", role_arn=role.role_arn)
    for record in records:
        key: tuple[PrincipalKind, str]
        if record.function_name is not None:
            key = ("function", record.function_name)
        elif record.role_arn is not None:
            key = ("role", record.role_arn)
        else:
            key = ("principal", record.principal)
        group = groups.get(key)
        if group is None:
            name = key[1].rsplit("/", 1)[-1] if key[0] == "role" else key[1]
            group = groups[key] = _Group(name, key[0], role_arn=record.role_arn)
        group.role_arn = group.role_arn or record.role_arn
        group.records.append(record)
    order: dict[PrincipalKind, int] = {"function": 0, "role": 1, "principal": 2}
    return [groups[key] for key in sorted(groups, key=lambda k: (order[k[0]], k[1]))]


def analyze(records: Sequence[DecisionRecord], roles: Sequence[RoleGrants],
            template_format: TemplateFormat | None) -> tuple[PrincipalUsage, ...]:
    """Build the report's content: one entry per function, role or other principal."""
    views = {role.role_arn: _RoleView.of(role) for role in roles}
    by_role: dict[str, list[DecisionRecord]] = {}
    for record in records:
        if record.role_arn is not None:
            by_role.setdefault(record.role_arn, []).append(record)

    role_results: dict[str, tuple[tuple[GrantUse, ...], SuggestedPolicy]] = {}
    entries: list[PrincipalUsage] = []
    for group in _group_records(records, roles):
        view = views.get(group.role_arn) if group.role_arn is not None else None
        problems: list[str] = []
        role_name: str | None = None
        functions: tuple[str, ...] = (group.name,)
        if view is not None:
            role_name = view.role.role_name
            functions = view.role.function_names or functions
            problems.extend(view.problems)
            if view.role.role_arn not in role_results:
                role_records = by_role.get(view.role.role_arn, [])
                allowed = Counter((r.action, r.resource) for r in role_records if r.allowed)
                role_results[view.role.role_arn] = (
                    _grant_uses(view, allowed),
                    suggest_policy(_went_ahead(role_records), view.role, functions,
                                   template_format),
                )
            grants, suggested = role_results[view.role.role_arn]
        else:
            grants = ()
            suggested = suggest_policy(_went_ahead(group.records), None, functions,
                                       template_format)
            if group.role_arn is not None:
                role_name = group.role_arn.rsplit("/", 1)[-1]
                problems.append(f"the policies of role {role_name} are not known, so its "
                                f"grants are not reviewed")
        entries.append(PrincipalUsage(
            name=group.name,
            kind=group.kind,
            role_arn=group.role_arn,
            role_name=role_name,
            role_functions=functions if view is not None else (),
            used=_used(group.records),
            denied=_denied(group.records, view),
            grants=grants,
            suggested=suggested,
            problems=tuple(problems),
        ))
    return tuple(entries)

