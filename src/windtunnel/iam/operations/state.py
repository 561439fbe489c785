"""Look up the emulated resources that a request's checks depend on.

Some checks need facts that the request does not carry: the partition key of a table (for
``dynamodb:LeadingKeys``), the full ARN of a secret named without its random suffix, the
key behind a KMS alias, the stream of a Kinesis shard iterator. They come from moto's
backends. Every look-up reads with ``dict.get`` and so never creates a backend.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

__all__ = ["kinesis_stream_of_iterator", "kms_key_id", "partition_key_name", "secret_arn"]

logger = logging.getLogger(__name__)


def _backend(backends: Any, account_id: str, region: str) -> Any:
    regions = dict.get(backends, account_id)
    return dict.get(regions, region) if regions is not None else None


def partition_key_name(account_id: str, region: str, table_name: str,
                       index_name: str | None = None) -> str | None:
    """Return the partition key attribute of a table or of one of its indexes."""
    from moto.dynamodb.models import dynamodb_backends

    backend = _backend(dynamodb_backends, account_id, region)
    table = backend.tables.get(table_name) if backend is not None else None
    if table is None:
        return None
    schema = table.schema
    if index_name is not None:
        index = next((index for index in table.all_indexes() if index.name == index_name),
                     None)
        if index is None:
            return None
        schema = index.schema
    for element in schema:
        if element.get("KeyType") == "HASH":
            return str(element["AttributeName"])
    return None


def secret_arn(account_id: str, region: str, secret_id: str) -> str | None:
    """Return the full ARN of the secret named or partly named by ``secret_id``."""
    from moto.secretsmanager.models import secretsmanager_backends

    backend = _backend(secretsmanager_backends, account_id, region)
    if backend is None:
        return None
    secret = backend.secrets.get(secret_id)
    return str(secret.arn) if secret is not None else None


def kms_key_id(account_id: str, region: str, alias_name: str) -> str | None:
    """Return the ID of the key that alias ``alias_name`` (``alias/...``) points to."""
    from moto.kms.models import kms_backends

    backend = _backend(kms_backends, account_id, region)
    if backend is None:
        return None
    for key in backend.keys.values():
        if alias_name in key.aliases:
            return str(key.id)
    return None


def kinesis_stream_of_iterator(shard_iterator: str) -> str | None:
    """Return the stream name inside a shard iterator that moto issued.

    AWS's iterators are opaque; moto's are ``stream:shard:sequence`` in base64.
    """
    try:
        decoded = base64.b64decode(shard_iterator, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, separator, _rest = decoded.partition(":")
    return name if separator and name else None
