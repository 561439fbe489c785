"""Parameter and secret values that a template wrote with AWS endpoint URLs, read locally.

A template may store an API's URL (``https://{id}.execute-api.{region}.amazonaws.com/...``,
an AppSync, function URL or queue URL) in an SSM parameter or a Secrets Manager secret
for code to read at run time. Those values are read back pointed at the local endpoint,
as stack outputs are, so the code reaches the emulation. Values that tests or handlers
store themselves are returned as stored.

Limitations: only the read operations below rewrite values; a value changed after the
deployment (PutParameter with Overwrite, PutSecretValue) is no longer rewritten.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.deploy.outputs import localize_endpoints

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["LOCALIZED_VALUES", "LocalizedValuesProvider"]

LOCALIZED_VALUES = "localized-values"
"""Key in ``cloud.service_state``: the set of parameter names and secret ARNs and names
whose stored values the deployment wrote."""

_SSM_READS = ("GetParameter", "GetParameters", "GetParametersByPath")
_SECRET_READS = ("GetSecretValue", "BatchGetSecretValue")


class LocalizedValuesProvider:
    """Rewrites AWS endpoint URLs in template-created values that a read returns."""

    def __init__(self, cloud: Cloud, service: str) -> None:
        self.cloud = cloud
        self.service = service

    def handle(self, request: AwsRequest) -> AwsResponse | None:
        """Serve a read through moto and rewrite the values; leave the rest to moto."""
        reads = _SSM_READS if self.service == "ssm" else _SECRET_READS
        names: set[str] = self.cloud.service_state.get(LOCALIZED_VALUES, set())
        if request.operation not in reads or not names:
            return None
        response = self.cloud.dispatch_to_moto(request)
        if response.status >= 400:
            return response
        try:
            document = json.loads(response.body)
        except ValueError:
            return response
        _rewrite(document, names, self.cloud.endpoint_url)
        response.body = json.dumps(document).encode()
        return response


def _rewrite(document: Any, names: set[str], endpoint_url: str) -> None:
    """Rewrite the Value of parameters and SecretString of secrets the deployment wrote."""
    if isinstance(document, list):
        for item in document:
            _rewrite(item, names, endpoint_url)
        return
    if not isinstance(document, dict):
        return
    if document.get("Name") in names or document.get("ARN") in names:
        for field in ("Value", "SecretString"):
            if isinstance(document.get(field), str):
                document[field] = localize_endpoints(document[field], endpoint_url)
    for value in document.values():
        if isinstance(value, dict | list):
            _rewrite(value, names, endpoint_url)
