"""The suggested least-privilege policy, written in the syntax of the application's template.

SAM takes inline statements in a function's ``Policies`` list. The Serverless Framework
takes them under ``provider.iam.role.statements`` for the shared role, or under a
function's ``iamRoleStatements`` with the serverless-iam-roles-per-function plugin.
CloudFormation and the CDK take a JSON ``PolicyDocument``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from windtunnel.iam.policy import CURRENT_VERSION
from windtunnel.iam.report.inputs import RoleGrants
from windtunnel.template.model import TemplateFormat

__all__ = ["SuggestedPolicy", "group_statements", "suggest_policy"]

# The Framework names its shared role "{service}-{stage}-{region}-lambdaRole". The
# serverless-iam-roles-per-function plugin names a function's role after the function,
# "{service}-{stage}-{function key}-{region}-lambdaRole", and drops "-lambdaRole" when the
# name would pass 64 characters. The deployed function is "{service}-{stage}-{key}".
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_SHARED_ROLE = re.compile(rf".+-{_REGION}-lambdaRole")


def _is_function_role(role: RoleGrants) -> bool:
    if len(role.function_names) != 1:
        return False
    pattern = rf"{re.escape(role.function_names[0])}-{_REGION}(?:-lambdaRole)?"
    return re.fullmatch(pattern, role.role_name) is not None


@dataclass(frozen=True)
class SuggestedPolicy:
    """The statements that allow exactly the calls that went ahead, and where they go."""

    template_format: TemplateFormat | None
    statements: tuple[Mapping[str, Any], ...]
    """IAM JSON statements: ``{"Effect": "Allow", "Action": [...], "Resource": [...]}``."""
    location: str
    """The place in the application's definition where the text belongs."""
    text: str
    """The statements in the template's syntax; empty when there are none."""


class _IndentedDumper(yaml.SafeDumper):
    """Indent list items under their key, as SAM and Framework documentation write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_IndentedDumper, sort_keys=False, default_flow_style=False,
                     width=1000)


def group_statements(calls: Iterable[tuple[str, str]]) -> tuple[dict[str, Any], ...]:
    """Group ``(action, resource)`` pairs into Allow statements.

    Resources that are used with the same set of actions share one statement. Actions and
    resources are sorted, and so are the statements, so equal input gives equal output.
    """
    actions_by_resource: dict[str, set[str]] = {}
    for action, resource in calls:
        actions_by_resource.setdefault(resource, set()).add(action)

    resources_by_actions: dict[tuple[str, ...], list[str]] = {}
    for resource, actions in actions_by_resource.items():
        key = tuple(sorted(actions, key=lambda a: (a.lower(), a)))
        resources_by_actions.setdefault(key, []).append(resource)

    statements = [{"Effect": "Allow", "Action": list(actions), "Resource": sorted(resources)}
                  for actions, resources in resources_by_actions.items()]
    statements.sort(key=lambda s: (s["Resource"], [a.lower() for a in s["Action"]]))
    return tuple(statements)


def _serverless(statements: list[dict[str, Any]], role: RoleGrants | None,
                functions: Sequence[str]) -> tuple[str, str]:
    if role is not None and _is_function_role(role):
        location = (f"functions.<key>.iamRoleStatements in serverless.yml, for the function "
                    f"deployed as {role.function_names[0]} (serverless-iam-roles-per-function)")
        return _yaml({"iamRoleStatements": statements}), location
    if role is not None and _SHARED_ROLE.fullmatch(role.role_name):
        users = ", ".join(role.function_names or functions)
        location = (f"provider.iam.role.statements in serverless.yml (role {role.role_name}, "
                    f"shared by {users})")
        return _yaml({"provider": {"iam": {"role": {"statements": statements}}}}), location
    owner = f"role {role.role_name}" if role is not None else ", ".join(functions)
    location = (f"the statements of {owner}: provider.iam.role.statements for the "
                f"Framework's shared role, or the function's iamRoleStatements with "
                f"serverless-iam-roles-per-function")
    return _yaml(statements), location


def _sam(statements: list[dict[str, Any]], role: RoleGrants | None,
         functions: Sequence[str]) -> tuple[str, str]:
    names = ", ".join(functions)
    location = f"Policies of the AWS::Serverless::Function deployed as {names}"
    if role is not None and len(role.function_names) > 1:
        location = (f"Policies of each function that shares role {role.role_name} "
                    f"({', '.join(role.function_names)})")
    return _yaml({"Policies": [{"Statement": statements}]}), location


def _policy_document(statements: list[dict[str, Any]], role: RoleGrants | None,
                     template_format: TemplateFormat | None,
                     functions: Sequence[str]) -> tuple[str, str]:
    text = json.dumps({"Version": CURRENT_VERSION, "Statement": statements}, indent=2) + "\n"
    owner = f"role {role.role_name}" if role is not None else ", ".join(functions)
    if template_format == "cdk":
        location = (f"a PolicyDocument for {owner} (iam.PolicyDocument.fromJson, from_json "
                    f"in Python)")
    elif template_format == "cloudformation":
        location = (f"the PolicyDocument of a policy of {owner} (Policies of the "
                    f"AWS::IAM::Role, or an AWS::IAM::Policy)")
    else:
        location = f"an identity-based policy of {owner}"
    return text, location


def suggest_policy(calls: Iterable[tuple[str, str]], role: RoleGrants | None,
                   functions: Sequence[str],
                   template_format: TemplateFormat | None) -> SuggestedPolicy:
    """Suggest the statements that allow ``calls``, for ``role`` or the named principals.

    ``functions`` names the functions (or the principal) that the suggestion is for. The
    location text uses them when the role's name does not show where the text goes.
    """
    statements = group_statements(calls)
    if not statements:
        return SuggestedPolicy(template_format, (), "no statements: no call needs a "
                               "permission", "")
    plain = [dict(statement) for statement in statements]
    if template_format == "serverless":
        text, location = _serverless(plain, role, functions)
    elif template_format == "sam":
        text, location = _sam(plain, role, functions)
    else:
        text, location = _policy_document(plain, role, template_format, functions)
    return SuggestedPolicy(template_format, statements, location, text)
