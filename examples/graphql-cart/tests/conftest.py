"""Fixtures shared by the graphql-cart tests: the stack, the API key and signed-in users."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from windtunnel import EmulatedStack

APP_DIR = Path(__file__).resolve().parents[1]
RESOLVERS = APP_DIR / "resolvers"
PASSWORD = "Cart-pass-1"

@pytest.fixture
def api_key(stack: EmulatedStack) -> str:
    """Return the API's key, for the ``x-api-key`` header."""
    return stack.outputs["ApiKey"]


SignIn = Callable[[str], str]


@pytest.fixture
def sign_in(stack: EmulatedStack) -> SignIn:
    """Return a function that creates a user pool user and returns their ID token.

    The user signs in with InitiateAuth and USER_PASSWORD_AUTH, as a client app would.
    """
    idp = stack.client("cognito-idp")
    pool_id = stack.outputs["UserPoolId"]

    def create_and_sign_in(username: str) -> str:
        idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
        idp.admin_set_user_password(UserPoolId=pool_id, Username=username,
                                    Password=PASSWORD, Permanent=True)
        result = idp.initiate_auth(ClientId=stack.outputs["UserPoolClientId"],
                                   AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": username,
                                                   "PASSWORD": PASSWORD})
        token: str = result["AuthenticationResult"]["IdToken"]
        return token

    return create_and_sign_in


@pytest.fixture
def user_id() -> str:
    """Return a user name of this test's own, which is also the user's cart ID."""
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def resolvers() -> Path:
    """Return the directory of the resolver templates and code."""
    return RESOLVERS
