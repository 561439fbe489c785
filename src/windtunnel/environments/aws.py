"""AWS sessions for temporary environments, and AWS errors turned into one-line messages."""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3
import botocore.exceptions

from windtunnel.constants import ENV_AWS_REGION
from windtunnel.errors import WindtunnelError

__all__ = ["AwsCallFailed", "aws_error", "make_session"]

logger = logging.getLogger(__name__)

_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                  "AuthorizationError"}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_INVALID_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException",
                        "SignatureDoesNotMatch", "InvalidAccessKeyId"}

_CREDENTIALS_FIX = ("set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run "
                    "'aws configure' or 'aws sso login' (in GitHub Actions, use "
                    "aws-actions/configure-aws-credentials)")


class AwsCallFailed(WindtunnelError):
    """An AWS API call failed; ``code`` is AWS's error code, or the botocore error name."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def make_session(*, region: str | None, profile: str | None) -> Any:
    """Return a boto3 session for ``region`` and ``profile``; raise when no region is set.

    The endpoint comes from boto3's own settings, so ``AWS_ENDPOINT_URL`` redirects every
    call, for example to a local stand-in in tests.
    """
    # botocore reads AWS_DEFAULT_REGION and the profile's region, but not AWS_REGION, which
    # the other AWS SDKs and the AWS CLI v2 read first.
    region = region or os.environ.get(ENV_AWS_REGION) or None
    try:
        session = boto3.session.Session(region_name=region, profile_name=profile)
    except botocore.exceptions.ProfileNotFound:
        raise WindtunnelError(f"the AWS profile {profile!r} is not configured; run 'aws "
                              f"configure --profile {profile}' or pass another --profile"
                              ) from None
    if not session.region_name:
        raise WindtunnelError("no AWS region is set; pass --region or set AWS_REGION")
    return session


def aws_error(error: Exception, action: str) -> AwsCallFailed:
    """Return a one-line error for a failed call of ``action`` (``cloudformation:CreateStack``)
    that names the fix."""
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return AwsCallFailed(f"no AWS credentials found for {action}: {_CREDENTIALS_FIX}",
                             code="NoCredentialsError")
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return AwsCallFailed(f"{action} failed: {error}; check the network and "
                             f"AWS_ENDPOINT_URL", code="EndpointConnectionError")
    if not isinstance(error, botocore.exceptions.ClientError):
        return AwsCallFailed(f"{action} failed: {type(error).__name__}: {error}",
                             code=type(error).__name__)

    code = str(error.response.get("Error", {}).get("Code", "Unknown"))
    message = str(error.response.get("Error", {}).get("Message", "")).strip()
    logger.debug("%s failed with %s: %s", action, code, message)
    if code in _ACCESS_DENIED:
        return AwsCallFailed(f"access denied for {action} ({message}); use credentials "
                             f"whose IAM policies allow {action}", code=code)
    if code in _EXPIRED:
        return AwsCallFailed(f"the AWS credentials have expired ({code}); refresh them, "
                             f"for example with 'aws sso login'", code=code)
    if code in _INVALID_CREDENTIALS:
        return AwsCallFailed(f"AWS rejected the credentials for {action} ({code}: "
                             f"{message}); {_CREDENTIALS_FIX}", code=code)
    return AwsCallFailed(f"{action} failed: {code}: {message}", code=code)
