"""Tests of the Cognito user pool resource handlers against moto's Cognito."""

from __future__ import annotations

from typing import Any

import pytest

from windtunnel.deploy.resources.base import ResourceCreationFailed, handler_for

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference"
POOL_DOCS = f"{DOCS}/aws-resource-cognito-userpool.html"
CLIENT_DOCS = f"{DOCS}/aws-resource-cognito-userpoolclient.html"

REGION = "us-east-1"
ACCOUNT = "123456789012"
TRIGGER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pre-sign-up"


def create(make_context: Any, logical_id: str, resource_type: str,
           properties: dict[str, Any]) -> Any:
    handler = handler_for(resource_type)
    assert handler is not None
    return handler(make_context(logical_id, resource_type), properties)


@pytest.fixture
def cognito(make_context: Any) -> Any:
    return make_context("Any", "AWS::Cognito::UserPool").client("cognito-idp")


@pytest.fixture
def pool_id(make_context: Any) -> str:
    result = create(make_context, "Pool", "AWS::Cognito::UserPool", {"UserPoolName": "users"})
    return str(result.physical_id)


def test_user_pool_stores_configuration(make_context: Any, cognito: Any) -> None:
    """A pool keeps password policy, schema, verified and username attributes and triggers."""
    result = create(make_context, "Pool", "AWS::Cognito::UserPool", {
        "UserPoolName": "users",
        "Policies": {"PasswordPolicy": {
            "MinimumLength": "12", "RequireSymbols": "false", "RequireNumbers": True,
            "TemporaryPasswordValidityDays": 3}},
        "Schema": [{"Name": "tenant", "AttributeDataType": "String", "Mutable": "true",
                    "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"}}],
        "AutoVerifiedAttributes": ["email"],
        "UsernameAttributes": ["email"],
        "LambdaConfig": {"PreSignUp": TRIGGER},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": "true"},
        "UserPoolTags": {"team": "core"},
    })

    pool = cognito.describe_user_pool(UserPoolId=result.physical_id)["UserPool"]
    password = pool["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] == 12
    assert password["RequireSymbols"] is False
    assert password["RequireNumbers"] is True
    assert password["TemporaryPasswordValidityDays"] == 3
    tenant = next(attribute for attribute in pool["SchemaAttributes"]
                  if attribute["Name"] == "custom:tenant")
    assert tenant["Mutable"] is True
    assert tenant["StringAttributeConstraints"] == {"MinLength": "1", "MaxLength": "64"}
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["LambdaConfig"] == {"PreSignUp": TRIGGER}
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UserPoolTags"] == {"team": "core"}
    # Return values (POOL_DOCS): Ref is the pool ID. Arn, ProviderName and ProviderURL follow.
    pool_id = result.physical_id
    assert result.attributes["Arn"] == (
        f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool_id}")
    assert result.attributes["ProviderName"] == f"cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    assert result.attributes["ProviderURL"] == (
        f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}")
    assert result.attributes["UserPoolId"] == pool_id


def test_user_pool_generated_name(make_context: Any, cognito: Any) -> None:
    """A pool without UserPoolName gets CloudFormation's generated name."""
    result = create(make_context, "Users", "AWS::Cognito::UserPool", {})

    pool = cognito.describe_user_pool(UserPoolId=result.physical_id)["UserPool"]
    assert pool["Name"].startswith("test-stack-Users-")


def test_user_pool_software_token_mfa(make_context: Any, cognito: Any) -> None:
    """EnabledMfas with MfaConfiguration ON enables software token MFA."""
    result = create(make_context, "Pool", "AWS::Cognito::UserPool", {
        "MfaConfiguration": "ON", "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
    })

    mfa = cognito.get_user_pool_mfa_config(UserPoolId=result.physical_id)
    assert mfa["MfaConfiguration"] == "ON"
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}


def test_user_pool_rejects_unknown_property(make_context: Any) -> None:
    """A property outside the schema fails as CloudFormation fails."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"#: extraneous key \[PoolName\] is not permitted"):
        create(make_context, "Pool", "AWS::Cognito::UserPool", {"PoolName": "users"})


def test_client_with_secret_and_oauth(make_context: Any, cognito: Any, pool_id: str) -> None:
    """A client keeps auth flows, OAuth settings and token validity, and its Ref is the ID."""
    result = create(make_context, "WebClient", "AWS::Cognito::UserPoolClient", {
        "UserPoolId": pool_id, "ClientName": "web", "GenerateSecret": "true",
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "AllowedOAuthFlows": ["code"], "AllowedOAuthScopes": ["openid", "email"],
        "AllowedOAuthFlowsUserPoolClient": "true", "CallbackURLs": ["https://app/callback"],
        "SupportedIdentityProviders": ["COGNITO"], "AccessTokenValidity": "2",
        "TokenValidityUnits": {"AccessToken": "hours"},
    })

    client = cognito.describe_user_pool_client(UserPoolId=pool_id,
                                               ClientId=result.physical_id)["UserPoolClient"]
    assert client["ClientName"] == "web"
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH",
                                           "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthScopes"] == ["openid", "email"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["CallbackURLs"] == ["https://app/callback"]
    assert client["AccessTokenValidity"] == 2
    assert client["TokenValidityUnits"] == {"AccessToken": "hours"}
    # Return values (CLIENT_DOCS): Ref is the client ID, with ClientSecret and Name.
    assert result.attributes["ClientId"] == result.physical_id
    assert result.attributes["ClientSecret"] == client["ClientSecret"]
    assert result.attributes["Name"] == "web"


def test_client_without_secret(make_context: Any, pool_id: str) -> None:
    """A client without GenerateSecret has no secret."""
    result = create(make_context, "Client", "AWS::Cognito::UserPoolClient",
                    {"UserPoolId": pool_id})

    assert result.attributes["ClientSecret"] is None
    assert result.attributes["Name"].startswith("test-stack-Client-")


def test_client_requires_pool(make_context: Any) -> None:
    """UserPoolId is required (CLIENT_DOCS)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[UserPoolId\] not found"):
        create(make_context, "Client", "AWS::Cognito::UserPoolClient", {"ClientName": "web"})


def test_group_domain_and_user(make_context: Any, cognito: Any, pool_id: str) -> None:
    """Groups, domains and users are created in the pool, and each Ref is the name."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpoolgroup.html
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpooldomain.html
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpooluser.html
    group = create(make_context, "Admins", "AWS::Cognito::UserPoolGroup", {
        "UserPoolId": pool_id, "GroupName": "admins", "Precedence": "1",
        "Description": "administrators",
    })
    domain = create(make_context, "Domain", "AWS::Cognito::UserPoolDomain",
                    {"UserPoolId": pool_id, "Domain": "my-app-auth"})
    user = create(make_context, "User", "AWS::Cognito::UserPoolUser", {
        "UserPoolId": pool_id, "Username": "alice", "MessageAction": "SUPPRESS",
        "UserAttributes": [{"Name": "email", "Value": "alice@example.com"}],
    })

    stored_group = cognito.get_group(GroupName="admins", UserPoolId=pool_id)["Group"]
    assert stored_group["Precedence"] == 1
    assert stored_group["Description"] == "administrators"
    assert group.physical_id == "admins"
    assert domain.physical_id == "my-app-auth"
    description = cognito.describe_user_pool_domain(Domain="my-app-auth")["DomainDescription"]
    assert description["UserPoolId"] == pool_id
    assert domain.attributes["CloudFrontDistribution"] == description["CloudFrontDistribution"]
    stored_user = cognito.admin_get_user(UserPoolId=pool_id, Username="alice")
    assert {"Name": "email", "Value": "alice@example.com"} in stored_user["UserAttributes"]
    assert user.physical_id == "alice"


def test_domain_requires_domain(make_context: Any, pool_id: str) -> None:
    """Domain is required for a user pool domain."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[Domain\] not found"):
        create(make_context, "Domain", "AWS::Cognito::UserPoolDomain", {"UserPoolId": pool_id})
