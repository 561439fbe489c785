"""Cognito user pool endpoints that apps call over plain HTTPS."""
