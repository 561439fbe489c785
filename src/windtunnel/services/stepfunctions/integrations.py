"""Calls from Task states to other services: Lambda, optimized integrations and the AWS SDK.

Requests go through the embedded cloud signed with a session of the state machine's role,
so IAM decides them as it decides the role's calls on AWS. Service errors become task
errors named as Step Functions names them.
https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html
https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from windtunnel.services.stepfunctions.asl.errors import TASK_FAILED, StatesError
from windtunnel.services.stepfunctions.asl.execution import Execution
from windtunnel.services.stepfunctions.asl.fibers import Future
from windtunnel.services.stepfunctions.asl.json_text import to_json
from windtunnel.services.stepfunctions.asl.resources import (
    LEGACY_LAMBDA,
    RUN_JOB,
    RUN_JOB_JSON,
    Resource,
)

if TYPE_CHECKING:
    from windtunnel.services.stepfunctions.engine import Engine

__all__ = ["UNSUPPORTED_INTEGRATION", "Integrations", "Submitted"]

logger = logging.getLogger(__name__)

UNSUPPORTED_INTEGRATION = "windtunnel does not emulate the integration"

# The optimized integrations windtunnel runs: (service, action) -> boto3 service and
# operation. https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html
_OPTIMIZED = {
    ("lambda", "invoke"): ("lambda", "Invoke"),
    ("dynamodb", "getItem"): ("dynamodb", "GetItem"),
    ("dynamodb", "putItem"): ("dynamodb", "PutItem"),
    ("dynamodb", "deleteItem"): ("dynamodb", "DeleteItem"),
    ("dynamodb", "updateItem"): ("dynamodb", "UpdateItem"),
    ("sqs", "sendMessage"): ("sqs", "SendMessage"),
    ("sns", "publish"): ("sns", "Publish"),
    ("events", "putEvents"): ("events", "PutEvents"),
    ("states", "startExecution"): ("stepfunctions", "StartExecution"),
    ("states", "startSyncExecution"): ("stepfunctions", "StartSyncExecution"),
}

# Error name prefixes of the optimized integrations: "Lambda.ServiceException",
# "DynamoDB.ConditionalCheckFailedException", ...
_OPTIMIZED_PREFIX = {"lambda": "Lambda", "dynamodb": "DynamoDB", "sqs": "SQS", "sns": "SNS",
                     "events": "EventBridge", "states": "StepFunctions"}

# The service names of AWS SDK integrations (as in the Resource ARN) that differ from
# boto3's, and the PascalCase names their errors start with ("DynamoDb.", "Sfn.").
_SDK_SERVICES = {"sfn": "stepfunctions", "eventbridge": "events",
                 "cloudwatchlogs": "logs", "cloudwatch": "cloudwatch"}
_SDK_ERROR_PREFIX = {"dynamodb": "DynamoDb", "sfn": "Sfn", "sqs": "Sqs", "sns": "Sns",
                     "eventbridge": "EventBridge", "secretsmanager": "SecretsManager",
                     "cloudwatchlogs": "CloudWatchLogs", "apigateway": "ApiGateway",
                     "kinesis": "Kinesis", "kms": "Kms", "ssm": "Ssm", "sts": "Sts",
                     "iam": "Iam", "s3": "S3", "lambda": "Lambda",
                     "cognitoidp": "CognitoIdentityProvider"}

# The service (signing) name of the Service in error causes: "(Service: AmazonDynamoDBv2; ...)".
_CAUSE_SERVICE = {"lambda": "AWSLambda", "dynamodb": "AmazonDynamoDBv2", "sqs": "AmazonSQS",
                  "sns": "AmazonSNS", "events": "AmazonEventBridge",
                  "stepfunctions": "AWSStepFunctions"}


@dataclass
class Submitted:
    """A task the service accepted and finishes later: its first response and the future."""

    output: Any
    future: Future


class Integrations:
    """Performs the service calls of Task states."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def call(self, execution: Execution, resource: Resource, arguments: Any, *,
             role_arn: str | None = None) -> Any:
        """Call the resource with ``arguments``; return its result or a :class:`Submitted`."""
        role = role_arn or execution.state_machine.role_arn
        if resource.kind == LEGACY_LAMBDA:
            response = self._invoke_lambda(execution, role, {
                "FunctionName": resource.arn, "Payload": arguments})
            return response["Payload"]

        if resource.aws_sdk:
            return self._aws_sdk(execution, role, resource, arguments)
        if (resource.service, resource.action) == ("http", "invoke"):
            from windtunnel.services.stepfunctions.http_task import invoke_http

            # NOTE: the role's states:InvokeHTTPEndpoint and
            # events:RetrieveConnectionCredentials permissions are not checked.
            return invoke_http(arguments, region=self.engine.cloud.region,
                               now=self.engine.clock.now())

        target = _OPTIMIZED.get((resource.service, resource.action))
        if target is None:
            raise StatesError("States.Runtime", (
                f"{UNSUPPORTED_INTEGRATION} arn:aws:states:::{resource.service}:"
                f"{resource.history_resource}; use a Lambda function, an AWS SDK "
                f"integration or a mock for this state"))
        if not isinstance(arguments, dict):
            raise StatesError("States.Runtime", (
                f"The parameters of {resource.arn} must be a JSON object, not "
                f"{to_json(arguments)}"))
        if target == ("lambda", "Invoke"):
            return self._invoke_lambda(execution, role, arguments)
        if target[0] == "stepfunctions" and resource.pattern in (RUN_JOB, RUN_JOB_JSON):
            return self._start_child_execution(execution, role, resource, arguments)
        prepared = _optimized_parameters(resource, arguments)
        return self._call(execution, role, target[0], target[1], prepared,
                          error_prefix=_OPTIMIZED_PREFIX[resource.service])

    # --- Lambda ------------------------------------------------------------------

    def _invoke_lambda(self, execution: Execution, role: str,
                       arguments: dict[str, Any]) -> dict[str, Any]:
        parameters = dict(arguments)
        payload = parameters.get("Payload")
        if payload is not None and not isinstance(payload, str):
            parameters["Payload"] = to_json(payload)
        response = self._call(execution, role, "lambda", "Invoke", parameters,
                              error_prefix="Lambda", raw=True)
        body = response.get("Payload")
        text = body.read().decode() if hasattr(body, "read") else (body or b"").decode() \
            if isinstance(body, bytes) else str(body or "")
        if response.get("FunctionError"):
            error_type = "Lambda.Unknown"
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict) and isinstance(decoded.get("errorType"), str):
                error_type = decoded["errorType"]
            # The function's errorType is the task's error and its error payload the
            # cause, so ErrorEquals can name the function's exception class.
            # https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
            raise StatesError(error_type, text)
        try:
            result_payload: Any = json.loads(text) if text else None
        except ValueError:
            result_payload = text
        metadata = response.get("ResponseMetadata", {})
        headers = metadata.get("HTTPHeaders", {})
        return {
            "ExecutedVersion": response.get("ExecutedVersion", "$LATEST"),
            "Payload": result_payload,
            "SdkHttpMetadata": {
                "AllHttpHeaders": {name: [value] for name, value in headers.items()},
                "HttpHeaders": dict(headers),
                "HttpStatusCode": response.get("StatusCode", 200),
            },
            "SdkResponseMetadata": {"RequestId": metadata.get("RequestId", "")},
            "StatusCode": response.get("StatusCode", 200),
        }

    # --- nested executions ---------------------------------------------------------

    def _start_child_execution(self, execution: Execution, role: str, resource: Resource,
                               arguments: dict[str, Any]) -> Submitted:
        parameters = _optimized_parameters(resource, arguments)
        response = self._call(execution, role, "stepfunctions", "StartExecution", parameters,
                              error_prefix="StepFunctions")
        child = self.engine.execution(response["ExecutionArn"])
        future = Future()
        as_json = resource.pattern == RUN_JOB_JSON

        def child_finished(done: Future) -> None:
            description = self.engine.describe_for_task(child, output_as_json=as_json)
            if child.status == "SUCCEEDED":
                future.resolve(description)
            else:
                # NOTE: the cause is the child's description as JSON; the exact text AWS
                # gives for a failed .sync child execution is not recorded here.
                future.reject(StatesError(TASK_FAILED, to_json(description)))

        child.finished.add_done_callback(child_finished)
        return Submitted({"ExecutionArn": response["ExecutionArn"],
                          "StartDate": response["StartDate"]}, future)

    # --- AWS SDK -------------------------------------------------------------------

    def _aws_sdk(self, execution: Execution, role: str, resource: Resource,
                 arguments: Any) -> Any:
        sdk_service = resource.service.split(":", 1)[1]
        service = _SDK_SERVICES.get(sdk_service, sdk_service)
        client = self._client(service, role, execution)
        operations = {name.lower(): name for name in client.meta.service_model.operation_names}
        operation = operations.get(resource.action.lower())
        if operation is None:
            raise StatesError("States.Runtime", (
                f"The AWS SDK integration {resource.arn} names no operation of "
                f"{service}: {resource.action} is unknown"))
        prefix = _SDK_ERROR_PREFIX.get(sdk_service, sdk_service[:1].upper() + sdk_service[1:])
        return self._call(execution, role, service, operation,
                          arguments if isinstance(arguments, dict) else {},
                          error_prefix=prefix, always_exception_suffix=True)

    def call_operation(self, execution: Execution, role: str, service: str, operation: str,
                       parameters: dict[str, Any]) -> dict[str, Any]:
        """Call ``operation`` as ``role``; the botocore response with bodies read as bytes."""
        response: dict[str, Any] = self._call(execution, role, service, operation,
                                              parameters, error_prefix=service.upper(),
                                              raw=True)
        for key, value in list(response.items()):
            if hasattr(value, "read"):
                response[key] = value.read()
        return response

    # --- the call ------------------------------------------------------------------

    def _call(self, execution: Execution, role: str, service: str, operation: str,
              parameters: dict[str, Any], *, error_prefix: str, raw: bool = False,
              always_exception_suffix: bool = False) -> Any:
        from botocore.exceptions import ClientError, ParamValidationError

        client = self._client(service, role, execution)
        model = client.meta.service_model.operation_model(operation)
        parameters = _to_member_names(parameters, model.input_shape)
        try:
            response = client._make_api_call(operation, parameters)
        except ClientError as error:
            raise _task_error(error, service, error_prefix, always_exception_suffix) from None
        except ParamValidationError as error:
            raise StatesError(f"{error_prefix}.ValidationException"
                              if always_exception_suffix else "States.Runtime",
                              str(error).replace("\n", " ")) from None
        if raw:
            return response
        response.pop("ResponseMetadata", None)
        return _json_ready(_to_pascal_case(response, model.output_shape))

    def _client(self, service: str, role: str, execution: Execution) -> Any:
        key = (service, role)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self.engine.cloud.role_client(service, role,
                                                 execution.state_machine.name)
                self._clients[key] = client
        return client


def _to_member_names(value: Any, shape: Any) -> Any:
    """Rename the PascalCase parameters of a Task to the API's member names.

    "Parameters in Step Functions are expressed in PascalCase, even if the native service
    API is in camelCase" (StateMachineArn for Step Functions' stateMachineArn). Map keys
    (DynamoDB attribute names, tags) are left as they are.
    https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
    """
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        renamed: dict[str, Any] = {}
        for key, item in value.items():
            name = members.get(str(key).lower(), str(key))
            renamed[name] = _to_member_names(item, shape.members.get(name))
        return renamed
    if shape.type_name == "list" and isinstance(value, list):
        return [_to_member_names(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _to_member_names(item, shape.value) for key, item in value.items()}
    return value


def _to_pascal_case(value: Any, shape: Any) -> Any:
    """Name a response's members in PascalCase, as Step Functions returns them."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {key[:1].upper() + key[1:]: _to_pascal_case(item, shape.members.get(key))
                for key, item in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_to_pascal_case(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _to_pascal_case(item, shape.value) for key, item in value.items()}
    return value


def _optimized_parameters(resource: Resource, arguments: dict[str, Any]) -> dict[str, Any]:
    """Return the API parameters of an optimized integration's Parameters.

    SQS MessageBody, SNS Message and Step Functions Input may be JSON values; the
    integration sends them as JSON text.
    """
    parameters = dict(arguments)
    for service, name in (("sqs", "MessageBody"), ("sns", "Message"), ("states", "Input")):
        if resource.service == service and name in parameters and \
                not isinstance(parameters[name], str):
            parameters[name] = to_json(parameters[name])
    if resource.service == "events":
        for entry in parameters.get("Entries", ()):
            if isinstance(entry, dict) and "Detail" in entry and \
                    not isinstance(entry["Detail"], str):
                entry["Detail"] = to_json(entry["Detail"])
    return parameters


def _task_error(error: Any, service: str, prefix: str, sdk_v2: bool) -> StatesError:
    """A service error as the task's error: ``Prefix.ExceptionName`` and a Java SDK cause.

    Errors the service's API model declares keep their name; others take the SDK's
    catch-all exception: ``Lambda.AWSLambdaException`` for the optimized integrations
    (AWS SDK for Java 1) and ``S3.S3Exception`` for AWS SDK integrations (version 2).
    Names always end in "Exception", as the SDKs' exception classes do.
    https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
    """
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "Unknown")
    message = str(details.get("Message") or "")
    metadata = error.response.get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode", 400)
    request_id = metadata.get("RequestId", "")
    name = code.rsplit(".", 1)[-1]
    if name not in _modeled_errors(service):
        name = f"{prefix}Exception" if sdk_v2 else _SDK_V1_EXCEPTION.get(service, "")
        name = name or f"{prefix}Exception"
    elif not name.endswith("Exception"):
        # Both SDKs name their exception classes with the suffix (QueueDoesNotExist ->
        # QueueDoesNotExistException).
        name += "Exception"
    cause = (f"{message} (Service: {_CAUSE_SERVICE.get(service, service)}; Status Code: "
             f"{status}; Error Code: {code}; Request ID: {request_id}; Proxy: null)")
    return StatesError(f"{prefix}.{name}", cause)


# The catch-all exception of each service client in the AWS SDK for Java 1, which the
# optimized integrations use for errors their service model does not declare.
_SDK_V1_EXCEPTION = {"lambda": "AWSLambdaException", "dynamodb": "AmazonDynamoDBException",
                     "sqs": "AmazonSQSException", "sns": "AmazonSNSException",
                     "events": "AmazonEventBridgeException",
                     "stepfunctions": "AWSStepFunctionsException"}


@functools.lru_cache(maxsize=64)
def _modeled_errors(service: str) -> frozenset[str]:
    """Return the error shapes a service's API model declares."""
    from windtunnel.cloud.protocols import service_model

    try:
        model = service_model(service)
    except Exception:  # an unknown service declares nothing
        return frozenset()
    return frozenset(shape.name for shape in model.error_shapes)


def _json_ready(value: Any) -> Any:
    """Convert a botocore response to JSON values: times as ISO text, blobs as text or
    base64."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode()
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode()
    if hasattr(value, "read"):
        return _json_ready(value.read())
    return value
