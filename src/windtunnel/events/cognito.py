"""Amazon Cognito user pool Lambda trigger events."""

from __future__ import annotations

from typing import Any

from windtunnel.events.base import (
    Context,
    Event,
    Option,
    Source,
    take_choice,
    take_string,
    take_string_list,
    take_string_mapping,
)

__all__ = ["POST_CONFIRMATION", "PRE_SIGNUP", "PRE_TOKEN_GENERATION"]

PRE_SIGNUP_SOURCES = ("PreSignUp_SignUp", "PreSignUp_AdminCreateUser",
                      "PreSignUp_ExternalProvider")
POST_CONFIRMATION_SOURCES = ("PostConfirmation_ConfirmSignUp",
                             "PostConfirmation_ConfirmForgotPassword")
PRE_TOKEN_SOURCES = ("TokenGeneration_Authentication", "TokenGeneration_HostedAuth",
                     "TokenGeneration_NewPasswordChallenge",
                     "TokenGeneration_AuthenticateDevice", "TokenGeneration_RefreshTokens")


class _Trigger:
    """The options and fields that every user pool trigger event shares."""

    def __init__(self, context: Context, options: dict[str, Any],
                 sources: tuple[str, ...]) -> None:
        self.context = context
        self.trigger_source = take_choice(options, "trigger_source", sources[0], sources)
        self.user_pool = take_string(options, "user_pool",
                                     f"{context.region}_{context.alnum(9)}")
        self.client_id = take_string(options, "client_id", context.alnum(26, lower=True))
        self.sub = context.uuid()
        # Pools that sign users in by email name each user by a UUID, the same as sub.
        self.username = take_string(options, "username", self.sub)
        self.attributes = (take_string_mapping(options, "attributes")
                           or {"email": "jane.doe@example.com"})
        self.client_metadata = take_string_mapping(options, "client_metadata")

    def confirmed_attributes(self) -> dict[str, str]:
        """Return the attributes of a user who exists and is confirmed."""
        attributes = {"sub": self.sub, "cognito:user_status": "CONFIRMED"}
        if "email" in self.attributes:
            attributes["email_verified"] = "true"
        attributes.update(self.attributes)
        return attributes

    def event(self, request: dict[str, Any], response: dict[str, Any]) -> Event:
        """Return the event with the common fields in the documented order."""
        if self.client_metadata is not None:
            request["clientMetadata"] = self.client_metadata
        return {
            "version": "1",
            "triggerSource": self.trigger_source,
            "region": self.context.region,
            "userPoolId": self.user_pool,
            "userName": self.username,
            "callerContext": {
                # Requests that do not come from an AWS SDK, such as the hosted UI, show this.
                "awsSdkVersion": "aws-sdk-unknown-unknown",
                "clientId": self.client_id,
            },
            "request": request,
            "response": response,
        }


COMMON_OPTIONS = (
    Option("user_pool", "the user pool ID (default: <region>_ and 9 random characters)"),
    Option("username", "the user name (default: a random UUID, as in pools that sign in "
                       "by email)"),
    Option("attributes", "a mapping of user attribute names to string values "
                         "(default: an email address)"),
    Option("client_id", "the app client ID (default: 26 random characters)"),
    Option("client_metadata", "a mapping of client metadata that the app sent"),
)


def pre_signup_event(context: Context, options: dict[str, Any]) -> Event:
    """Build a pre sign-up trigger event."""
    trigger = _Trigger(context, options, PRE_SIGNUP_SOURCES)
    validation_data = take_string_mapping(options, "validation_data")
    # The user does not exist yet, so there is no sub or status among the attributes.
    request = {"userAttributes": dict(trigger.attributes), "validationData": validation_data}
    response = {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}
    return trigger.event(request, response)


def post_confirmation_event(context: Context, options: dict[str, Any]) -> Event:
    """Build a post confirmation trigger event."""
    trigger = _Trigger(context, options, POST_CONFIRMATION_SOURCES)
    return trigger.event({"userAttributes": trigger.confirmed_attributes()}, {})


def pre_token_generation_event(context: Context, options: dict[str, Any]) -> Event:
    """Build a pre token generation trigger event, version 1 (ID token claims)."""
    trigger = _Trigger(context, options, PRE_TOKEN_SOURCES)
    groups = take_string_list(options, "groups") or []
    request = {
        "userAttributes": trigger.confirmed_attributes(),
        "groupConfiguration": {
            "groupsToOverride": groups,
            "iamRolesToOverride": [],
            "preferredRole": None,
        },
    }
    return trigger.event(request, {"claimsOverrideDetails": None})


_GUIDE = "https://docs.aws.amazon.com/cognito/latest/developerguide/"

PRE_SIGNUP = Source(
    name="cognito-pre-signup",
    description="Cognito user pool pre sign-up trigger",
    doc_url=_GUIDE + "user-pool-lambda-pre-sign-up.html",
    build=pre_signup_event,
    options=(
        *COMMON_OPTIONS,
        Option("trigger_source", f"one of {', '.join(PRE_SIGNUP_SOURCES)} "
                                 f"(default: {PRE_SIGNUP_SOURCES[0]})"),
        Option("validation_data", "a mapping of validation data sent with the sign-up"),
    ),
)

POST_CONFIRMATION = Source(
    name="cognito-post-confirmation",
    description="Cognito user pool post confirmation trigger",
    doc_url=_GUIDE + "user-pool-lambda-post-confirmation.html",
    build=post_confirmation_event,
    options=(
        *COMMON_OPTIONS,
        Option("trigger_source", f"one of {', '.join(POST_CONFIRMATION_SOURCES)} "
                                 f"(default: {POST_CONFIRMATION_SOURCES[0]})"),
    ),
)

PRE_TOKEN_GENERATION = Source(
    name="cognito-pre-token-generation",
    description="Cognito user pool pre token generation trigger, version 1",
    doc_url=_GUIDE + "user-pool-lambda-pre-token-generation.html",
    build=pre_token_generation_event,
    options=(
        *COMMON_OPTIONS,
        Option("trigger_source", f"one of {', '.join(PRE_TOKEN_SOURCES)} "
                                 f"(default: {PRE_TOKEN_SOURCES[0]})"),
        Option("groups", "a list of the user's group names"),
    ),
)
