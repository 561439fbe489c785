"""Resource handlers for Cognito user pools, clients, groups, domains and users."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    ResourceCreationFailed,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
    reject_not_emulated,
    tags_to_dict,
)

# Properties that each type's CloudFormation schema accepts in a template. Read-only
# attributes are left out because a template cannot set them.
_PROPERTIES = {
    "AWS::Cognito::UserPool": frozenset({
        "AccountRecoverySetting", "AdminCreateUserConfig", "AliasAttributes",
        "AutoVerifiedAttributes", "DeletionProtection", "DeviceConfiguration",
        "EmailAuthenticationMessage", "EmailAuthenticationSubject", "EmailConfiguration",
        "EmailVerificationMessage", "EmailVerificationSubject", "EnabledMfas",
        "IssuerConfiguration", "KeyConfiguration", "LambdaConfig", "MfaConfiguration",
        "Policies", "Schema", "SmsAuthenticationMessage", "SmsConfiguration",
        "SmsVerificationMessage", "UserAttributeUpdateSettings", "UserPoolAddOns",
        "UserPoolName", "UserPoolTags", "UserPoolTier", "UsernameAttributes",
        "UsernameConfiguration", "VerificationMessageTemplate", "WebAuthnFactorConfiguration",
        "WebAuthnRelyingPartyID", "WebAuthnUserVerification",
    }),
    "AWS::Cognito::UserPoolClient": frozenset({
        "AccessTokenValidity", "AllowedOAuthFlows", "AllowedOAuthFlowsUserPoolClient",
        "AllowedOAuthScopes", "AnalyticsConfiguration", "AuthSessionValidity", "CallbackURLs",
        "ClientName", "DefaultRedirectURI", "EnablePropagateAdditionalUserContextData",
        "EnableTokenRevocation", "ExplicitAuthFlows", "GenerateSecret", "IdTokenValidity",
        "LogoutURLs", "PreventUserExistenceErrors", "ReadAttributes", "RefreshTokenRotation",
        "RefreshTokenValidity", "SupportedIdentityProviders", "TokenValidityUnits",
        "UserPoolId", "WriteAttributes",
    }),
    "AWS::Cognito::UserPoolGroup": frozenset({
        "Description", "GroupName", "Precedence", "RoleArn", "UserPoolId",
    }),
    "AWS::Cognito::UserPoolDomain": frozenset({
        "CustomDomainConfig", "Domain", "ManagedLoginVersion", "UserPoolId",
    }),
    "AWS::Cognito::UserPoolUser": frozenset({
        "ClientMetadata", "DesiredDeliveryMediums", "ForceAliasCreation", "MessageAction",
        "UserAttributes", "UserPoolId", "Username", "ValidationData",
    }),
}

# Cognito limits user pool, client and group names to 128 characters.
_NAME_MAX = 128

# User pool properties that CreateUserPool takes under the same name.
_POOL_PASSED = (
    "Policies", "LambdaConfig", "AutoVerifiedAttributes", "AliasAttributes",
    "UsernameAttributes", "SmsVerificationMessage", "EmailVerificationMessage",
    "EmailVerificationSubject", "VerificationMessageTemplate", "SmsAuthenticationMessage",
    "MfaConfiguration", "UserAttributeUpdateSettings", "DeviceConfiguration",
    "EmailConfiguration", "SmsConfiguration", "AdminCreateUserConfig", "Schema",
    "UserPoolAddOns", "UsernameConfiguration", "AccountRecoverySetting", "DeletionProtection",
    "UserPoolTier",
)
# Nested keys whose values templates may write as strings, but the API expects these types.
_INTEGER_KEYS = frozenset({
    "MinimumLength", "TemporaryPasswordValidityDays", "PasswordHistorySize",
    "UnusedAccountValidityDays", "Priority",
})
_BOOLEAN_KEYS = frozenset({
    "RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols",
    "AllowAdminCreateUserOnly", "Mutable", "Required", "DeveloperOnlyAttribute",
    "CaseSensitive", "ChallengeRequiredOnNewDevice", "DeviceOnlyRememberedOnUserPrompt",
})
_CLIENT_INTEGERS = ("AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity",
                    "AuthSessionValidity")
_CLIENT_BOOLEANS = ("GenerateSecret", "AllowedOAuthFlowsUserPoolClient",
                    "EnableTokenRevocation", "EnablePropagateAdditionalUserContextData")
_CLIENT_PASSED = ("ReadAttributes", "WriteAttributes", "ExplicitAuthFlows",
                  "SupportedIdentityProviders", "CallbackURLs", "LogoutURLs",
                  "DefaultRedirectURI", "AllowedOAuthFlows", "AllowedOAuthScopes",
                  "AnalyticsConfiguration", "PreventUserExistenceErrors", "TokenValidityUnits",
                  "RefreshTokenRotation")



def _coerce(value: Any, path: str) -> Any:
    """Coerce the integer and boolean fields of nested user pool settings at ``path``."""
    if isinstance(value, list):
        return [_coerce(item, f"{path}/{index}") for index, item in enumerate(value)]
    if not isinstance(value, Mapping):
        return value
    coerced: dict[str, Any] = {}
    for key, item in value.items():
        if key in _INTEGER_KEYS:
            coerced[key] = coerce_integer(item, f"{path}/{key}")
        elif key in _BOOLEAN_KEYS:
            coerced[key] = coerce_boolean(item, f"{path}/{key}")
        else:
            coerced[key] = _coerce(item, f"{path}/{key}")
    return coerced


def _mfa_request(properties: Mapping[str, Any], pool_id: str) -> dict[str, Any] | None:
    """Build the SetUserPoolMfaConfig request that EnabledMfas and email MFA settings need."""
    enabled = properties.get("EnabledMfas")
    mfa = properties.get("MfaConfiguration", "OFF")
    if enabled is None or mfa == "OFF":
        return None
    request: dict[str, Any] = {"UserPoolId": pool_id, "MfaConfiguration": mfa}
    if "SOFTWARE_TOKEN_MFA" in enabled:
        request["SoftwareTokenMfaConfiguration"] = {"Enabled": True}
    if "SMS_MFA" in enabled:
        sms: dict[str, Any] = {}
        if "SmsAuthenticationMessage" in properties:
            sms["SmsAuthenticationMessage"] = properties["SmsAuthenticationMessage"]
        if "SmsConfiguration" in properties:
            sms["SmsConfiguration"] = properties["SmsConfiguration"]
        request["SmsMfaConfiguration"] = sms
    if "EMAIL_OTP" in enabled:
        email: dict[str, Any] = {}
        if "EmailAuthenticationMessage" in properties:
            email["Message"] = properties["EmailAuthenticationMessage"]
        if "EmailAuthenticationSubject" in properties:
            email["Subject"] = properties["EmailAuthenticationSubject"]
        request["EmailMfaConfiguration"] = email
    return request


@provisions("AWS::Cognito::UserPool")
def create_user_pool(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a user pool with its policies, schema, triggers and MFA settings."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    reject_not_emulated(context.resource_type, properties, (
        "IssuerConfiguration", "KeyConfiguration", "WebAuthnFactorConfiguration",
        "WebAuthnRelyingPartyID", "WebAuthnUserVerification"), type_first=True)
    cognito = context.client("cognito-idp")

    request: dict[str, Any] = {
        "PoolName": properties.get("UserPoolName") or context.physical_name(max_length=_NAME_MAX),
    }
    for key in _POOL_PASSED:
        if key in properties:
            request[key] = _coerce(properties[key], key)
    if "UserPoolTags" in properties:
        request["UserPoolTags"] = tags_to_dict(properties["UserPoolTags"])
    pool = cognito.create_user_pool(**request)["UserPool"]
    pool_id = pool["Id"]

    mfa_request = _mfa_request(properties, pool_id)
    if mfa_request is not None:
        cognito.set_user_pool_mfa_config(**mfa_request)

    provider_name = f"cognito-idp.{context.region}.amazonaws.com/{pool_id}"
    return Provisioned(physical_id=pool_id, attributes={
        "Arn": pool["Arn"],
        "ProviderName": provider_name,
        "ProviderURL": f"https://{provider_name}",
        "UserPoolId": pool_id,
    })


@provisions("AWS::Cognito::UserPoolClient")
def create_user_pool_client(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an app client, with a client secret when GenerateSecret is true."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "UserPoolId")
    cognito = context.client("cognito-idp")

    name = properties.get("ClientName") or context.physical_name(max_length=_NAME_MAX)
    request: dict[str, Any] = {"UserPoolId": properties["UserPoolId"], "ClientName": name}
    for key in _CLIENT_PASSED:
        if key in properties:
            request[key] = properties[key]
    for key in _CLIENT_INTEGERS:
        if key in properties:
            request[key] = coerce_integer(properties[key], key)
    for key in _CLIENT_BOOLEANS:
        if key in properties:
            request[key] = coerce_boolean(properties[key], key)
    client = cognito.create_user_pool_client(**request)["UserPoolClient"]

    return Provisioned(physical_id=client["ClientId"], attributes={
        "ClientId": client["ClientId"],
        "ClientSecret": client.get("ClientSecret"),
        "Name": name,
    })


@provisions("AWS::Cognito::UserPoolGroup")
def create_user_pool_group(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a group in a user pool."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "UserPoolId")
    cognito = context.client("cognito-idp")

    name = properties.get("GroupName") or context.physical_name(max_length=_NAME_MAX)
    request: dict[str, Any] = {"UserPoolId": properties["UserPoolId"], "GroupName": name}
    for key in ("Description", "RoleArn"):
        if key in properties:
            request[key] = properties[key]
    if "Precedence" in properties:
        request["Precedence"] = coerce_integer(properties["Precedence"], "Precedence")
    cognito.create_group(**request)
    return Provisioned(physical_id=name)


@provisions("AWS::Cognito::UserPoolDomain")
def create_user_pool_domain(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create the hosted domain of a user pool."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "UserPoolId", "Domain")
    cognito = context.client("cognito-idp")

    domain = str(properties["Domain"])
    request: dict[str, Any] = {"UserPoolId": properties["UserPoolId"], "Domain": domain}
    if "CustomDomainConfig" in properties:
        request["CustomDomainConfig"] = properties["CustomDomainConfig"]
    if "ManagedLoginVersion" in properties:
        request["ManagedLoginVersion"] = coerce_integer(properties["ManagedLoginVersion"],
                                                        "ManagedLoginVersion")
    cognito.create_user_pool_domain(**request)

    description = cognito.describe_user_pool_domain(Domain=domain)["DomainDescription"]
    return Provisioned(physical_id=domain, attributes={
        "CloudFrontDistribution": description.get("CloudFrontDistribution"),
    })


@provisions("AWS::Cognito::UserPoolUser")
def create_user_pool_user(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a user through AdminCreateUser."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "UserPoolId")
    if "Username" not in properties:
        # NOTE: AWS accepts a user without Username in pools that sign in by email or phone
        # number, but here the username must be given.
        raise ResourceCreationFailed(
            f"{context.resource_type} without Username is not emulated by windtunnel")
    cognito = context.client("cognito-idp")

    request: dict[str, Any] = {
        "UserPoolId": properties["UserPoolId"],
        "Username": properties["Username"],
    }
    for key in ("UserAttributes", "ValidationData", "MessageAction", "DesiredDeliveryMediums",
                "ClientMetadata"):
        if key in properties:
            request[key] = properties[key]
    if "ForceAliasCreation" in properties:
        request["ForceAliasCreation"] = coerce_boolean(properties["ForceAliasCreation"],
                                                       "ForceAliasCreation")
    cognito.admin_create_user(**request)
    return Provisioned(physical_id=str(properties["Username"]))
