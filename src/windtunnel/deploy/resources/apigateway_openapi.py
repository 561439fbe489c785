"""Import of OpenAPI 2 and 3 documents with API Gateway extensions into a REST API.

moto's ImportRestApi and PutRestApi (moto 5.2) reject Swagger 2.0 documents and keep only
paths, methods and ``x-amazon-apigateway-integration``. They drop authorizers, request
validators, gateway responses, binary media types, models, method parameters and method
security. This module therefore walks the document and makes the granular API Gateway calls
(CreateResource, PutMethod, PutIntegration, CreateAuthorizer, ...) that store every part,
following "Working with API Gateway extensions to OpenAPI":
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from windtunnel.deploy.resources.base import ResourceCreationFailed
from windtunnel.deploy.resources.properties import drop_none

__all__ = ["DocumentSettings", "OpenApiImport", "document_settings"]

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_ANY_METHOD = "x-amazon-apigateway-any-method"

# Document-level extensions that change nothing API Gateway stores for a REST API.
_IGNORED_EXTENSIONS = frozenset({"x-amazon-apigateway-importexport-version"})

_DOCUMENT_EXTENSIONS = frozenset({
    "x-amazon-apigateway-api-key-source",
    "x-amazon-apigateway-binary-media-types",
    "x-amazon-apigateway-policy",
    "x-amazon-apigateway-minimum-compression-size",
    "x-amazon-apigateway-endpoint-configuration",
    "x-amazon-apigateway-gateway-responses",
    "x-amazon-apigateway-request-validators",
    "x-amazon-apigateway-request-validator",
    "x-amazon-apigateway-documentation",
})

_INTEGRATION_FIELDS = {
    "type": "type",
    "uri": "uri",
    "httpMethod": "integrationHttpMethod",
    "credentials": "credentials",
    "requestTemplates": "requestTemplates",
    "requestParameters": "requestParameters",
    "passthroughBehavior": "passthroughBehavior",
    "contentHandling": "contentHandling",
    "timeoutInMillis": "timeoutInMillis",
    "cacheNamespace": "cacheNamespace",
    "cacheKeyParameters": "cacheKeyParameters",
    "connectionType": "connectionType",
    "connectionId": "connectionId",
    "tlsConfig": "tlsConfig",
}

_AUTHORIZER_FIELDS = {
    "authorizerUri": "authorizerUri",
    "authorizerCredentials": "authorizerCredentials",
    "identitySource": "identitySource",
    "identityValidationExpression": "identityValidationExpression",
    "authorizerResultTtlInSeconds": "authorizerResultTtlInSeconds",
    "providerARNs": "providerARNs",
}

_PARAMETER_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}


@dataclass
class DocumentSettings:
    """REST API settings that a document sets through its top-level extensions."""

    name: str | None = None
    description: str | None = None
    api_key_source: str | None = None
    binary_media_types: list[str] = field(default_factory=list)
    policy: str | None = None
    minimum_compression_size: int | None = None
    vpc_endpoint_ids: list[str] | None = None
    disable_execute_api_endpoint: bool | None = None


def _fail(message: str) -> ResourceCreationFailed:
    return ResourceCreationFailed(f"Body: {message}")


def document_version(document: Mapping[str, Any]) -> int:
    """Return 2 for a Swagger 2.0 document and 3 for an OpenAPI 3 document."""
    if str(document.get("swagger", "")).startswith("2"):
        return 2
    if str(document.get("openapi", "")).startswith("3"):
        return 3
    raise _fail("the document is neither Swagger 2.0 nor OpenAPI 3 (no 'swagger' or "
                "'openapi' version field)")


def document_settings(document: Mapping[str, Any], *, ignore_documentation: bool
                      ) -> DocumentSettings:
    """Read the API-level settings of a document and reject unknown top-level extensions."""
    document_version(document)
    for key in document:
        if key.startswith("x-amazon-apigateway-") and key not in _DOCUMENT_EXTENSIONS | (
                _IGNORED_EXTENSIONS):
            raise _fail(f"extension {key} is not emulated by windtunnel for REST APIs")
    if "x-amazon-apigateway-documentation" in document and not ignore_documentation:
        raise _fail("extension x-amazon-apigateway-documentation (documentation parts) is "
                    "not emulated by windtunnel; set Parameters ignore=documentation")

    info = document.get("info") or {}
    settings = DocumentSettings(name=info.get("title"), description=info.get("description"))
    settings.api_key_source = document.get("x-amazon-apigateway-api-key-source")
    settings.binary_media_types = list(
        document.get("x-amazon-apigateway-binary-media-types") or [])

    policy = document.get("x-amazon-apigateway-policy")
    if policy is not None:
        settings.policy = policy if isinstance(policy, str) else json.dumps(policy)

    size = document.get("x-amazon-apigateway-minimum-compression-size")
    settings.minimum_compression_size = None if size is None else int(size)

    endpoint = document.get("x-amazon-apigateway-endpoint-configuration") or {}
    settings.vpc_endpoint_ids = endpoint.get("vpcEndpointIds")
    if "disableExecuteApiEndpoint" in endpoint:
        settings.disable_execute_api_endpoint = bool(endpoint["disableExecuteApiEndpoint"])
    return settings


class OpenApiImport:
    """One import of a document's models, authorizers, validators, responses and paths."""

    def __init__(self, client: Any, rest_api_id: str, root_resource_id: str,
                 document: Mapping[str, Any]) -> None:
        self.client = client
        self.rest_api_id = rest_api_id
        self.document = document
        self.version = document_version(document)
        self.resource_ids: dict[str, str] = {"/": root_resource_id}
        self.authorizers: dict[str, tuple[str, str]] = {}
        self.api_key_schemes: set[str] = set()
        self.iam_schemes: set[str] = set()
        self.validators: dict[str, str] = {}
        self.inline_models = 0

    def run(self) -> None:
        """Create everything the document describes, models and authorizers first."""
        self._import_models()
        self._import_security_schemes()
        self._import_validators()
        self._import_gateway_responses()
        for path, path_item in (self.document.get("paths") or {}).items():
            self._import_path(str(path), path_item)

    # Models -----------------------------------------------------------------------------

    def _schemas(self) -> Mapping[str, Any]:
        if self.version == 2:
            return self.document.get("definitions") or {}
        return (self.document.get("components") or {}).get("schemas") or {}

    def _model_url(self, name: str) -> str:
        # API Gateway models reference each other by this URL, not by a JSON pointer.
        return f"https://apigateway.amazonaws.com/restapis/{self.rest_api_id}/models/{name}"

    def _rewrite_refs(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            rewritten = {key: self._rewrite_refs(item) for key, item in value.items()}
            ref = rewritten.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                rewritten["$ref"] = self._model_url(ref.rsplit("/", 1)[-1])
            return rewritten
        if isinstance(value, list):
            return [self._rewrite_refs(item) for item in value]
        return value

    def _import_models(self) -> None:
        for name, schema in self._schemas().items():
            self._create_model(str(name), schema)

    def _create_model(self, name: str, schema: Any,
                      content_type: str = "application/json") -> None:
        self.client.create_model(
            restApiId=self.rest_api_id, name=name, contentType=content_type,
            schema=json.dumps(self._rewrite_refs(schema)),
        )

    def _model_for(self, schema: Any, content_type: str, hint: str) -> str:
        """Return the model name for a schema, creating a model for an inline schema."""
        ref = schema.get("$ref") if isinstance(schema, Mapping) else None
        if isinstance(ref, str):
            return ref.rsplit("/", 1)[-1]
        # NOTE: AWS names models made from inline schemas itself, so this name differs.
        self.inline_models += 1
        name = re.sub(r"[^A-Za-z0-9]", "", hint) + f"Model{self.inline_models}"
        self._create_model(name, schema, content_type)
        return name

    # Authorizers, validators, gateway responses --------------------------------------------

    def _security_schemes(self) -> Mapping[str, Any]:
        if self.version == 2:
            return self.document.get("securityDefinitions") or {}
        return (self.document.get("components") or {}).get("securitySchemes") or {}

    def _import_security_schemes(self) -> None:
        for name, scheme in self._security_schemes().items():
            authorizer = scheme.get("x-amazon-apigateway-authorizer")
            auth_type = scheme.get("x-amazon-apigateway-authtype")
            if authorizer is not None:
                self._create_authorizer(str(name), scheme, authorizer, auth_type)
            elif str(auth_type).lower() == "awssigv4":
                self.iam_schemes.add(str(name))
            elif scheme.get("type") == "apiKey":
                # A plain API key scheme marks methods that require an API key.
                self.api_key_schemes.add(str(name))
            else:
                raise _fail(f"security scheme {name} has no x-amazon-apigateway-authorizer "
                            "and is not an API key or awsSigv4 scheme")

    def _create_authorizer(self, name: str, scheme: Mapping[str, Any],
                           authorizer: Mapping[str, Any], auth_type: Any) -> None:
        authorizer_type = str(authorizer.get("type", "")).upper()
        unknown = set(authorizer) - set(_AUTHORIZER_FIELDS) - {"type"}
        if unknown:
            raise _fail(f"x-amazon-apigateway-authorizer field {sorted(unknown)[0]} of "
                        f"{name} is not emulated by windtunnel")

        request = {_AUTHORIZER_FIELDS[key]: value for key, value in authorizer.items()
                   if key in _AUTHORIZER_FIELDS}
        if "identitySource" not in request and scheme.get("in") == "header":
            # A TOKEN authorizer reads the header that the security scheme names.
            request["identitySource"] = f"method.request.header.{scheme['name']}"
        if "authorizerResultTtlInSeconds" in request:
            request["authorizerResultTtlInSeconds"] = int(
                request["authorizerResultTtlInSeconds"])
        if auth_type is not None:
            request["authType"] = str(auth_type)

        created = self.client.create_authorizer(
            restApiId=self.rest_api_id, name=name, type=authorizer_type, **request)
        self._repair_authorizer(created, request)
        method_type = "COGNITO_USER_POOLS" if authorizer_type == "COGNITO_USER_POOLS" else (
            "CUSTOM")
        self.authorizers[name] = (created["id"], method_type)

    def _repair_authorizer(self, created: Mapping[str, Any], request: Mapping[str, Any]
                           ) -> None:
        # moto 5.2 drops identityValidationExpression on CreateAuthorizer but keeps it
        # through UpdateAuthorizer.
        expression = request.get("identityValidationExpression")
        if expression and created.get("identityValidationExpression") != expression:
            self.client.update_authorizer(
                restApiId=self.rest_api_id, authorizerId=created["id"],
                patchOperations=[{"op": "replace", "path": "/identityValidationExpression",
                                  "value": expression}],
            )

    def _import_validators(self) -> None:
        validators = self.document.get("x-amazon-apigateway-request-validators") or {}
        for name, validator in validators.items():
            created = self.client.create_request_validator(
                restApiId=self.rest_api_id, name=str(name),
                validateRequestBody=bool(validator.get("validateRequestBody", False)),
                validateRequestParameters=bool(
                    validator.get("validateRequestParameters", False)),
            )
            self.validators[str(name)] = created["id"]

    def _import_gateway_responses(self) -> None:
        responses = self.document.get("x-amazon-apigateway-gateway-responses") or {}
        for response_type, response in responses.items():
            status_code = response.get("statusCode")
            self.client.put_gateway_response(**drop_none({
                "restApiId": self.rest_api_id,
                "responseType": str(response_type),
                "statusCode": None if status_code is None else str(status_code),
                "responseParameters": response.get("responseParameters"),
                "responseTemplates": response.get("responseTemplates"),
            }))

    # Paths and methods ----------------------------------------------------------------------

    def _resource_id(self, path: str) -> str:
        if path in self.resource_ids:
            return self.resource_ids[path]
        parent_path, _, part = path.rstrip("/").rpartition("/")
        parent_id = self._resource_id(parent_path or "/")
        created = self.client.create_resource(
            restApiId=self.rest_api_id, parentId=parent_id, pathPart=part)
        self.resource_ids[path] = created["id"]
        return str(created["id"])

    def _import_path(self, path: str, path_item: Mapping[str, Any]) -> None:
        if "$ref" in path_item:
            raise _fail(f"path {path} uses $ref, which windtunnel does not resolve")
        resource_id = self._resource_id(path)
        shared_parameters = path_item.get("parameters") or []
        for key, operation in path_item.items():
            if key in _HTTP_METHODS:
                self._import_operation(resource_id, path, key.upper(), operation,
                                       shared_parameters)
            elif key == _ANY_METHOD:
                self._import_operation(resource_id, path, "ANY", operation, shared_parameters)
            elif key.startswith("x-amazon-apigateway-"):
                raise _fail(f"extension {key} on path {path} is not emulated by windtunnel")

    def _resolve(self, value: Any) -> Any:
        ref = value.get("$ref") if isinstance(value, Mapping) else None
        if not isinstance(ref, str):
            return value
        target: Any = self.document
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        if target is None:
            raise _fail(f"reference {ref} is not defined in the document")
        return target

    def _import_operation(self, resource_id: str, path: str, http_method: str,
                          operation: Mapping[str, Any], shared_parameters: list[Any]) -> None:
        for key in operation:
            if key.startswith("x-amazon-apigateway-") and key not in (
                    "x-amazon-apigateway-integration", "x-amazon-apigateway-request-validator",
                    "x-amazon-apigateway-auth"):
                raise _fail(f"extension {key} on {http_method} {path} is not emulated by "
                            "windtunnel")

        method = {"restApiId": self.rest_api_id, "resourceId": resource_id,
                  "httpMethod": http_method}
        request: dict[str, Any] = dict(method)
        request.update(self._method_security(operation, path, http_method))
        request_parameters, request_models = self._method_request(operation, path, http_method,
                                                                  shared_parameters)
        if request_parameters:
            request["requestParameters"] = request_parameters
        if request_models:
            request["requestModels"] = request_models
        if "operationId" in operation:
            request["operationName"] = str(operation["operationId"])
        validator = operation.get("x-amazon-apigateway-request-validator",
                                  self.document.get("x-amazon-apigateway-request-validator"))
        if validator is not None:
            if validator not in self.validators:
                raise _fail(f"request validator {validator} of {http_method} {path} is not "
                            "defined in x-amazon-apigateway-request-validators")
            request["requestValidatorId"] = self.validators[validator]
        self.client.put_method(**request)

        self._import_method_responses(method, operation)
        integration = operation.get("x-amazon-apigateway-integration")
        if integration is not None:
            self._import_integration(method, integration, path)

    def _method_security(self, operation: Mapping[str, Any], path: str, http_method: str
                         ) -> dict[str, Any]:
        auth = operation.get("x-amazon-apigateway-auth")
        settings: dict[str, Any] = {"authorizationType": "NONE"}
        if auth is not None:
            settings["authorizationType"] = str(auth.get("type", "NONE")).upper()

        requirements = operation.get("security", self.document.get("security")) or []
        for requirement in requirements:
            for scheme, scopes in requirement.items():
                if scheme in self.api_key_schemes:
                    settings["apiKeyRequired"] = True
                elif scheme in self.iam_schemes:
                    settings["authorizationType"] = "AWS_IAM"
                elif scheme in self.authorizers:
                    authorizer_id, authorization_type = self.authorizers[scheme]
                    settings["authorizationType"] = authorization_type
                    settings["authorizerId"] = authorizer_id
                    if scopes:
                        settings["authorizationScopes"] = list(scopes)
                else:
                    raise _fail(f"security scheme {scheme} of {http_method} {path} is not "
                                "defined in the document")
        return settings

    def _method_request(self, operation: Mapping[str, Any], path: str, http_method: str,
                        shared_parameters: list[Any]) -> tuple[dict[str, bool], dict[str, str]]:
        parameters: dict[tuple[str, str], Mapping[str, Any]] = {}
        for parameter in [*shared_parameters, *(operation.get("parameters") or [])]:
            resolved = self._resolve(parameter)
            parameters[(str(resolved.get("in")), str(resolved.get("name")))] = resolved

        request_parameters: dict[str, bool] = {}
        request_models: dict[str, str] = {}
        hint = str(operation.get("operationId") or f"{http_method}{path}")
        for (location, name), parameter in parameters.items():
            if location in _PARAMETER_LOCATIONS:
                key = f"method.request.{_PARAMETER_LOCATIONS[location]}.{name}"
                request_parameters[key] = bool(parameter.get("required", False))
            elif location == "body" and "schema" in parameter:
                for content_type in operation.get(
                        "consumes", self.document.get("consumes", ["application/json"])):
                    request_models[content_type] = self._model_for(
                        parameter["schema"], content_type, hint)
            else:
                raise _fail(f"parameter {name} in {location} of {http_method} {path} is not "
                            "emulated by windtunnel")

        body = self._resolve(operation.get("requestBody") or {})
        for content_type, media in (body.get("content") or {}).items():
            if "schema" in media:
                request_models[content_type] = self._model_for(media["schema"], content_type,
                                                               hint)
        return request_parameters, request_models

    def _import_method_responses(self, method: Mapping[str, Any],
                                 operation: Mapping[str, Any]) -> None:
        for status_code, response in (operation.get("responses") or {}).items():
            if not str(status_code).isdigit():
                # NOTE: a "default" response is skipped because a method response needs a
                # numeric status code. How AWS maps it on import is not verified.
                continue
            response = self._resolve(response)
            parameters = {f"method.response.header.{header}": False
                          for header in (response.get("headers") or {})}
            models: dict[str, str] = {}
            if self.version == 2 and "schema" in response:
                for content_type in operation.get(
                        "produces", self.document.get("produces", ["application/json"])):
                    models[content_type] = self._model_for(response["schema"], content_type,
                                                           f"{status_code}Response")
            for content_type, media in (response.get("content") or {}).items():
                if "schema" in media:
                    models[content_type] = self._model_for(media["schema"], content_type,
                                                           f"{status_code}Response")
            self.client.put_method_response(
                **method, statusCode=str(status_code),
                **drop_none({"responseParameters": parameters or None,
                             "responseModels": models or None}),
            )

    def _import_integration(self, method: Mapping[str, Any], integration: Mapping[str, Any],
                            path: str) -> None:
        unknown = set(integration) - set(_INTEGRATION_FIELDS) - {"responses"}
        if unknown:
            raise _fail(f"x-amazon-apigateway-integration field {sorted(unknown)[0]} on "
                        f"{method['httpMethod']} {path} is not emulated by windtunnel for "
                        "REST APIs")

        request = {_INTEGRATION_FIELDS[key]: value for key, value in integration.items()
                   if key in _INTEGRATION_FIELDS}
        request["type"] = str(request.get("type", "")).upper()
        if "timeoutInMillis" in request:
            request["timeoutInMillis"] = int(request["timeoutInMillis"])
        self.client.put_integration(**method, **request)

        for pattern, response in (integration.get("responses") or {}).items():
            # The response key is the selection pattern. The key "default" marks the response
            # used when no pattern matches, which API Gateway stores without a pattern.
            self.client.put_integration_response(**method, **drop_none({
                "statusCode": str(response["statusCode"]),
                "selectionPattern": None if pattern == "default" else str(pattern),
                "responseParameters": response.get("responseParameters"),
                "responseTemplates": response.get("responseTemplates"),
                "contentHandling": response.get("contentHandling"),
            }))
