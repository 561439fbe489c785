"""Errors of the AWS target, and the translation of SDK errors into them.

Hierarchy::

    WindtunnelError
    └── AwsTargetError                 the AWS target cannot do what was requested
        ├── StackNotFoundError         no stack of that name in the account and region
        ├── MissingOutputError         the stack has no output of that key (also a KeyError)
        ├── AwsCredentialsError        credentials are missing, expired or invalid
        ├── CapturePermissionError     the caller may not create or remove the event capture
        └── NotSupportedOnAwsError     a feature only the local target has (clock, reset)

Each message names what is missing and what to do about it.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from windtunnel.errors import WindtunnelError

__all__ = [
    "CAPTURE_ACTIONS",
    "AwsCredentialsError",
    "AwsTargetError",
    "CapturePermissionError",
    "MissingOutputError",
    "NotSupportedOnAwsError",
    "StackNotFoundError",
    "error_code",
    "is_denied",
    "raise_capture_denied",
    "raise_for_sdk_error",
]

logger = logging.getLogger(__name__)

# Error codes with which AWS rejects the credentials of a request, not the request itself:
# https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
_CREDENTIAL_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
    "UnrecognizedClientException", "RequestExpired", "InvalidAccessKeyId",
    "SignatureDoesNotMatch", "InvalidSignatureException", "InvalidToken",
})
_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "AuthorizationError",
    "UnauthorizedOperation", "AuthorizationErrorException",
})

CAPTURE_ACTIONS = (
    "sqs:CreateQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:DeleteQueue",
    "events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule",
    "events:PutEvents", "sns:Subscribe", "sns:Unsubscribe",
)
"""The actions that ``stack.events`` calls on AWS to capture the stack's events."""


class AwsTargetError(WindtunnelError):
    """The AWS target cannot do what was requested."""


class StackNotFoundError(AwsTargetError):
    """No stack of the requested name exists in the account and region."""


class MissingOutputError(AwsTargetError, KeyError):
    """The stack has no output of the requested key."""

    def __str__(self) -> str:
        # KeyError would show the message with quotes around it.
        return str(self.args[0])


class AwsCredentialsError(AwsTargetError):
    """The credentials for the AWS target are missing, expired or invalid."""


class CapturePermissionError(AwsTargetError):
    """The caller may not create or remove the resources of the event capture."""


class NotSupportedOnAwsError(AwsTargetError):
    """A feature that only the local target has, such as the virtual clock."""


def error_code(error: ClientError) -> str:
    """Return the AWS error code of a botocore ClientError."""
    return str(error.response.get("Error", {}).get("Code", ""))


def raise_for_sdk_error(error: Exception, *, action: str, profile: str | None,
                        region: str) -> NoReturn:
    """Raise :class:`AwsCredentialsError` for an error about credentials, else ``error``.

    ``action`` names the call that failed (``cloudformation:DescribeStacks``), for the
    message.
    """
    where = f"profile {profile!r}" if profile else "the default credential chain"
    fix = (f"run `aws sso login --profile {profile}` or renew the profile's keys"
           if profile else
           "set AWS_PROFILE (and run `aws sso login` for an SSO profile) or "
           "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")

    if isinstance(error, ProfileNotFound):
        raise AwsCredentialsError(
            f"the AWS profile {profile!r} does not exist in ~/.aws/config or "
            f"~/.aws/credentials; create it with `aws configure --profile {profile}` or pass "
            f"another profile") from error
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        raise AwsCredentialsError(
            f"{action} failed: no AWS credentials were found in {where}; {fix}") from error
    if isinstance(error, TokenRetrievalError | UnauthorizedSSOTokenError):
        raise AwsCredentialsError(
            f"{action} failed: the SSO session of {where} has expired or is missing; "
            f"{fix}") from error
    if isinstance(error, NoRegionError):
        raise AwsCredentialsError(
            f"{action} failed: no AWS region is configured; pass region=, set AWS_REGION "
            f"or --windtunnel-region, or set a region in the profile") from error
    if isinstance(error, ClientError) and error_code(error) in _CREDENTIAL_CODES:
        message = error.response.get("Error", {}).get("Message", "")
        raise AwsCredentialsError(
            f"{action} failed with {error_code(error)} ({message}): the credentials from "
            f"{where} are expired or invalid; {fix}") from error
    raise error


def is_denied(error: ClientError) -> bool:
    """Return whether AWS denied the call for lack of permission."""
    return error_code(error) in _DENIED_CODES


def raise_capture_denied(error: ClientError, action: str, resource: str) -> NoReturn:
    """Raise :class:`CapturePermissionError` for a denied call of the event capture."""
    message = error.response.get("Error", {}).get("Message", "")
    raise CapturePermissionError(
        f"the event capture needs {action} on {resource}, which was denied ({message}). "
        f"Allow these actions to the caller for the capture's resources (queues and rules "
        f"named windtunnel-capture-*, and the stack's buses and topics): "
        f"{', '.join(CAPTURE_ACTIONS)}. Or open the stack without the capture: "
        f"Stack.aws(..., capture=False).") from error
