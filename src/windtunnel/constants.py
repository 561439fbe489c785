"""Defaults and the names of the environment variables that windtunnel reads."""

from __future__ import annotations

# The account that moto uses by default. Resources and ARNs carry it.
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_HOST = "127.0.0.1"
# The port that local AWS emulators have used for years, so existing setups work unchanged.
DEFAULT_PORT = 4566

# Environment variables read by windtunnel.
ENV_PORT = "WINDTUNNEL_PORT"
ENV_REGION = "WINDTUNNEL_REGION"
ENV_DEBUG = "WINDTUNNEL_DEBUG"
# The target of the pytest plugin's stack fixture: "local" or "aws:STACK_NAME".
ENV_TARGET = "WINDTUNNEL_TARGET"
# An endpoint that the AWS target sends every call to instead of AWS.
ENV_TARGET_ENDPOINT_URL = "WINDTUNNEL_AWS_ENDPOINT_URL"

# Environment variables that AWS tools define and windtunnel honours.
ENV_AWS_REGION = "AWS_REGION"
ENV_AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"
# The endpoint that AWS SDKs send every call to instead of AWS.
ENV_AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
# Step Functions Local's mock configuration file.
ENV_SFN_MOCK_CONFIG = "SFN_MOCK_CONFIG"

# Temporary AWS environments (``windtunnel env``): the tags that mark a stack as one.
TAG_ENVIRONMENT = "windtunnel:environment"
TAG_EXPIRES_AT = "windtunnel:expires-at"
TAG_BRANCH = "windtunnel:branch"
TAG_APP = "windtunnel:app"
DEFAULT_ENVIRONMENT_TTL = "24h"
# Branch names that CI systems set when the checkout is a detached HEAD: GitHub Actions
# (the pull request's head branch, then the branch or tag that triggered the run) and
# GitLab CI.
ENV_GITHUB_HEAD_REF = "GITHUB_HEAD_REF"
ENV_GITHUB_REF_NAME = "GITHUB_REF_NAME"
ENV_GITLAB_REF_NAME = "CI_COMMIT_REF_NAME"
