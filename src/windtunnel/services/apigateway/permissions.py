"""Whether API Gateway may invoke an integration's Lambda function.

Without integration credentials, API Gateway invokes the function as the service principal
``apigateway.amazonaws.com``, so the function's resource-based policy must allow it
(``AWS::Lambda::Permission``, which SAM and the Serverless Framework generate). With
credentials (an IAM role), API Gateway assumes the role and the role's policies must allow
``lambda:InvokeFunction``. Otherwise API Gateway returns 500 and writes "Invalid
permissions on Lambda function" to the execution log. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html
https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from windtunnel.iam.enforcement import IamMode, Principal
from windtunnel.iam.operations import AccessCheck
from windtunnel.iam.request import PrincipalType

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["CALLER_CREDENTIALS", "execute_api_arn", "gateway_may_invoke"]

logger = logging.getLogger(__name__)

# The session name under which API Gateway appears when it assumes an integration's role.
_GATEWAY_SESSION = "BackplaneAssumeRoleSession"


def execute_api_arn(cloud: Cloud, api_id: str, stage: str, method: str, path: str) -> str:
    """Return the ``execute-api`` ARN of a request: the source ARN of the invocation."""
    return (f"arn:aws:execute-api:{cloud.region}:{cloud.account_id}:{api_id}/{stage}/"
            f"{method.upper()}/{path.lstrip('/')}")


# The integration credentials with which API Gateway calls the backend as the IAM-authorized
# caller itself (SAM's InvokeRole: CALLER_CREDENTIALS).
CALLER_CREDENTIALS = "arn:aws:iam::*:user/*"


def gateway_may_invoke(cloud: Cloud, function: str, qualifier: str | None, source_arn: str,
                       credentials: str | None, caller: Principal | None = None) -> bool:
    """Decide whether API Gateway may invoke ``function`` for the request at ``source_arn``.

    ``function`` is a function name or ARN. ``credentials`` is the integration's role ARN,
    if it has one, or :data:`CALLER_CREDENTIALS` to call as ``caller``, the principal that
    IAM authorization admitted. Returns True when the invocation may go ahead, which is
    always the case when IAM is off or in warn mode.
    """
    function_arn = function if function.startswith("arn:") else (
        f"arn:aws:lambda:{cloud.region}:{cloud.account_id}:function:{function}")
    if qualifier:
        function_arn = f"{function_arn}:{qualifier}"
    authorizer = cloud.authorizer
    if authorizer.mode is IamMode.OFF:
        return True

    principal: Principal | None = None
    if credentials == CALLER_CREDENTIALS and caller is not None:
        principal = caller
    elif credentials and credentials.startswith("arn:") and ":role/" in credentials:
        role_name = credentials.rsplit("/", 1)[-1]
        session_arn = (f"arn:aws:sts::{cloud.account_id}:assumed-role/{role_name}/"
                       f"{_GATEWAY_SESSION}")
        principal = Principal(session_arn, PrincipalType.ROLE_SESSION, cloud.account_id,
                              role_arn=credentials)
    if principal is not None and principal.admin:
        return True
    if principal is not None:
        check = AccessCheck("lambda:InvokeFunction", function_arn)
        decision, authorization = authorizer.decide(principal, check, {
            "aws:SecureTransport": True, "aws:CurrentTime": authorizer.clock()})
        authorizer.record(principal, "lambda", "Invoke", authorization, decision)
        allowed = decision.allowed or authorizer.mode is IamMode.WARN
    else:
        allowed = authorizer.authorize_service(
            "apigateway.amazonaws.com", "lambda:InvokeFunction", function_arn,
            source_arn=source_arn, source_account=cloud.account_id)
    if not allowed:
        logger.warning("Execution failed due to configuration error: Invalid permissions on "
                       "Lambda function %s for %s", function_arn, source_arn)
    return allowed
