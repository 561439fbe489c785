"""``stack.iam``: the IAM mode of a local stack, its recorded decisions and the report."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from windtunnel.iam.enforcement import IamMode, default_document, iam_backend
from windtunnel.iam.records import DecisionRecord

if TYPE_CHECKING:
    from windtunnel.deploy.model import DeployedStack
    from windtunnel.iam.report import IamReport, RoleGrants
    from windtunnel.stack.environment import Environment

__all__ = ["StackIam"]


class StackIam:
    """IAM enforcement of one local stack: its mode, decisions and least-privilege report."""

    def __init__(self, environment: Environment, stack: DeployedStack) -> None:
        self._environment = environment
        self._stack = stack

    @property
    def mode(self) -> IamMode:
        """``enforce`` (deny as AWS does), ``warn`` (allow and record) or ``off``."""
        return self._environment.cloud.authorizer.mode

    @mode.setter
    def mode(self, value: IamMode | str) -> None:
        self._environment.cloud.authorizer.mode = IamMode.parse(value)

    @property
    def decisions(self) -> list[DecisionRecord]:
        """Every authorization decision since the stack was loaded, oldest first.

        Resets of the stack keep them, so a report covers a whole test run.
        """
        return list(self._environment.cloud.authorizer.records)

    @property
    def denials(self) -> list[DecisionRecord]:
        """The decisions that denied a request (or would have, in ``warn`` mode)."""
        return [record for record in self.decisions if not record.allowed]

    def clear(self) -> None:
        """Forget the recorded decisions."""
        self._environment.cloud.authorizer.records.clear()

    def report(self) -> IamReport:
        """Build the least-privilege report of the stack's functions from the decisions."""
        from windtunnel.iam.report import build_report

        return build_report(self.decisions, self.roles(), self._stack.template.format)

    def roles(self) -> list[RoleGrants]:
        """Return the execution roles of the stack's functions with their policies."""
        from windtunnel.iam.report import NamedPolicy, RoleGrants

        functions_by_role: dict[str, list[str]] = {}
        lambda_backend = _lambda_backend(self._environment)
        for resource in self._stack.resources.values():
            if resource.resource_type != "AWS::Lambda::Function":
                continue
            function = lambda_backend.get_function(resource.physical_id)
            functions_by_role.setdefault(function.role, []).append(resource.physical_id)

        backend = iam_backend(self._environment.cloud.account_id)
        roles_by_arn = {role.arn: role for role in backend.roles.values()}
        grants: list[RoleGrants] = []
        for role_arn, function_names in sorted(functions_by_role.items()):
            role = roles_by_arn.get(role_arn)
            policies: list[NamedPolicy] = []
            if role is not None:
                for name, document in sorted(role.policies.items()):
                    policies.append(NamedPolicy(name, json.loads(document), "inline", None))
                for arn, managed in sorted(role.managed_policies.items()):
                    policies.append(NamedPolicy(managed.name,
                                                json.loads(default_document(managed)),
                                                "managed", arn))
            grants.append(RoleGrants(role_arn=role_arn, role_name=role_arn.rsplit("/", 1)[-1],
                                     function_names=tuple(sorted(function_names)),
                                     policies=tuple(policies)))
        return grants


def _lambda_backend(environment: Environment) -> Any:
    from moto.awslambda.models import lambda_backends

    cloud = environment.cloud
    return lambda_backends[cloud.account_id][cloud.region]
