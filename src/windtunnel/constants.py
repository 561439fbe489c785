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

# Environment variables that AWS tools define and windtunnel honours.
ENV_AWS_REGION = "AWS_REGION"
ENV_AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"
# Step Functions Local's mock configuration file.
ENV_SFN_MOCK_CONFIG = "SFN_MOCK_CONFIG"
