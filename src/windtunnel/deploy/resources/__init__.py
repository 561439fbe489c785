"""Resource handlers, one module per service; importing this package registers them all."""

from __future__ import annotations

import importlib

_SERVICE_MODULES = (
    "dynamodb", "sqs", "sns", "kinesis", "s3", "ssm", "secretsmanager", "kms", "logs",
    "cloudwatch", "iam", "cognito", "events", "awslambda", "stepfunctions", "apigateway",
    "apigatewayv2", "appsync",
)

for _module in _SERVICE_MODULES:
    importlib.import_module(f"{__name__}.{_module}")
