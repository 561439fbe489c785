"""Read the resource-based policy that AWS evaluates for a resource from the embedded cloud.

The policies live in moto's backends, and each service stores them in its own form. SQS
queues and SNS topics keep decoded JSON. S3 buckets, KMS keys, Secrets Manager secrets and
EventBridge buses keep JSON text, and Lambda functions a list of AddPermission statements.
:func:`resource_policy_of` returns each one as a decoded policy document.

Sources, one page per service:

- SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-using-identity-based-policies.html
- SNS: https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
- S3: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
- Lambda: https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
- EventBridge: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
- KMS: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
- Secrets Manager: https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from windtunnel.iam.wildcards import arn_components

__all__ = ["resource_policy_of"]

logger = logging.getLogger(__name__)

PolicyDocument = Mapping[str, Any]

_ACCOUNT_ID = re.compile(r"^\d{12}$")

# The number of distinct policy texts whose decoded form is kept (a few kilobytes each).
_DECODED_POLICY_CACHE_SIZE = 512


def resource_policy_of(resource_arn: str) -> PolicyDocument | None:
    """Return the resource-based policy of the resource that ``resource_arn`` names.

    Covers SQS queues, SNS topics, S3 buckets and objects (an object is governed by its
    bucket's policy), Lambda functions with or without a version or alias qualifier, EventBridge
    event buses, KMS keys and aliases, and Secrets Manager secrets. Returns None when the
    resource has no policy, does not exist, or belongs to another service. The account and
    region come from the ARN. The returned mapping may be shared with the service's state or
    with other callers, so it must not be modified.
    """
    components = arn_components(resource_arn)
    if components is None:
        return None
    _, partition, service, region, account, resource = components
    reader = _READERS.get(service)
    if reader is None:
        return None
    return reader(partition, region, account, resource)


def _backend(backends: Any, account: str, region: str) -> Any:
    """Return moto's backend for ``account`` and ``region`` without creating one.

    Indexing moto's backend dictionaries creates the backend on first use; a lookup for a
    resource must not add state to the cloud.
    """
    regions = dict.get(backends, account)
    if regions is None:
        return None
    return dict.get(regions, region)


@functools.lru_cache(maxsize=_DECODED_POLICY_CACHE_SIZE)
def _decoded(text: str) -> PolicyDocument | None:
    """Decode a policy stored as JSON text. The cache makes a repeated lookup a dict access."""
    try:
        document = json.loads(text)
    except ValueError:
        logger.debug("stored resource policy is not valid JSON: %.80s", text)
        return None
    if not isinstance(document, dict):
        return None
    return document


def _sqs_policy(partition: str, region: str, account: str, resource: str) -> PolicyDocument | None:
    from moto.sqs.models import sqs_backends

    backend = _backend(sqs_backends, account, region)
    queue = backend.queues.get(resource) if backend is not None else None
    if queue is None:
        return None
    # moto keeps the Policy attribute decoded, with an empty statement list when unset.
    document: dict[str, Any] = queue._policy_json
    return document if document.get("Statement") else None


def _sns_policy(partition: str, region: str, account: str, resource: str) -> PolicyDocument | None:
    from moto.sns.models import sns_backends

    backend = _backend(sns_backends, account, region)
    if backend is None:
        return None
    topic = backend.topics.get(f"arn:{partition}:sns:{region}:{account}:{resource}")
    if topic is None:
        return None
    # Every topic has a policy: SNS gives a new topic a default one, and moto does too.
    document: dict[str, Any] = topic._policy_json
    return document


def _s3_policy(partition: str, region: str, account: str, resource: str) -> PolicyDocument | None:
    from moto.s3.models import s3_backends

    bucket_name = resource.split("/", 1)[0]
    # S3 ARNs carry no account or region, so the bucket is found by name.
    owner = s3_backends.bucket_accounts.get(bucket_name)
    if owner is None:
        return None
    bucket_partition, bucket_account = owner
    backend = _backend(s3_backends, bucket_account, bucket_partition)
    bucket = backend.buckets.get(bucket_name) if backend is not None else None
    if bucket is None or bucket.policy is None:
        return None
    policy: bytes | str = bucket.policy
    return _decoded(policy.decode() if isinstance(policy, bytes) else policy)


def _lambda_policy(partition: str, region: str, account: str,
                   resource: str) -> PolicyDocument | None:
    from moto.awslambda.models import lambda_backends

    kind, _, rest = resource.partition(":")
    if kind != "function" or not rest:
        return None
    name, _, qualifier = rest.partition(":")
    backend = _backend(lambda_backends, account, region)
    if backend is None:
        return None
    storage = backend._lambdas
    entry = storage._functions.get(name)
    if entry is None or entry["latest"] is None:
        return None

    function_arn = f"arn:{partition}:lambda:{region}:{account}:function:{name}"
    if qualifier in ("", "$LATEST"):
        # The unqualified ARN and $LATEST share one policy.
        policy_arn = function_arn
    else:
        versions = {str(version.version) for version in entry["versions"]}
        aliases = storage._aliases.get(function_arn, {})
        if qualifier not in versions and qualifier not in aliases:
            return None
        policy_arn = f"{function_arn}:{qualifier}"

    # Lambda keeps one policy per version and alias. moto 5.2 keeps every AddPermission
    # statement of a function in one list, with the qualified ARN as the Resource of those
    # added for a version or alias, so the Resource distinguishes them.
    statements = [_lambda_statement(statement, partition)
                  for statement in entry["latest"].policy.statements
                  if statement.get("Resource") == policy_arn]
    if not statements:
        return None
    return {"Version": "2012-10-17", "Id": "default", "Statement": statements}


def _lambda_statement(statement: Mapping[str, Any], partition: str) -> dict[str, Any]:
    """Write an AddPermission statement as Lambda's GetPolicy shows it.

    AddPermission takes the principal as a bare string. Lambda stores an account ID as that
    account's root ARN and an ARN under ``AWS``, but moto 5.2 converts only service
    principals and root ARNs.
    """
    principal = statement.get("Principal")
    if not isinstance(principal, str) or principal == "*":
        return dict(statement)
    if _ACCOUNT_ID.match(principal):
        principal = f"arn:{partition}:iam::{principal}:root"
    return {**statement, "Principal": {"AWS": principal}}


def _events_policy(partition: str, region: str, account: str,
                   resource: str) -> PolicyDocument | None:
    from moto.events.models import events_backends

    kind, _, name = resource.partition("/")
    if kind != "event-bus" or not name:
        return None
    backend = _backend(events_backends, account, region)
    bus = backend.event_buses.get(name) if backend is not None else None
    if bus is None:
        return None
    text: str | None = bus.policy
    return _decoded(text) if text else None


def _kms_policy(partition: str, region: str, account: str, resource: str) -> PolicyDocument | None:
    from moto.kms.models import kms_backends

    backend = _backend(kms_backends, account, region)
    if backend is None:
        return None
    kind, _, identifier = resource.partition("/")
    key: Any = None
    if kind == "key":
        key = backend.keys.get(identifier)
    elif kind == "alias":
        # Requests on an alias are authorized with the key policy of the key it points to.
        alias = f"alias/{identifier}"
        key = next((candidate for candidate in backend.keys.values()
                    if alias in candidate.aliases), None)
    if key is None or not key.policy:
        return None
    # moto gives a key created without a policy KMS's default key policy, as KMS does.
    return _decoded(key.policy)


def _secretsmanager_policy(partition: str, region: str, account: str,
                           resource: str) -> PolicyDocument | None:
    from moto.secretsmanager.models import secretsmanager_backends

    backend = _backend(secretsmanager_backends, account, region)
    if backend is None:
        return None
    secret_arn = f"arn:{partition}:secretsmanager:{region}:{account}:{resource}"
    secret = next((candidate for candidate in dict.values(backend.secrets)
                   if candidate.arn == secret_arn), None)
    if secret is None or not getattr(secret, "policy", None):
        return None
    return _decoded(secret.policy)


_READERS: dict[str, Callable[[str, str, str, str], PolicyDocument | None]] = {
    "sqs": _sqs_policy,
    "sns": _sns_policy,
    "s3": _s3_policy,
    "lambda": _lambda_policy,
    "events": _events_policy,
    "kms": _kms_policy,
    "secretsmanager": _secretsmanager_policy,
}
