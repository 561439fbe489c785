"""Compile Serverless Framework applications (serverless.yml) into CloudFormation templates."""

from __future__ import annotations

from windtunnel.template.serverless.compiler import ServerlessTemplate, compile_serverless

__all__ = ["ServerlessTemplate", "compile_serverless"]
