"""Import of OpenAPI 3 documents with API Gateway extensions into an HTTP API.

moto's ReimportApi (moto 5.2) creates routes and integrations with only type, method, URI
and payload format version. It drops authorizers, route security, timeouts, request
parameters, integrations shared through ``components.x-amazon-apigateway-integrations`` and
``$default`` routes. This module makes the granular CreateRoute, CreateIntegration and
CreateAuthorizer calls instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.deploy.resources.base import ResourceCreationFailed

__all__ = ["HttpApiImport"]

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")

_DOCUMENT_EXTENSIONS = frozenset({
    "x-amazon-apigateway-cors",
    "x-amazon-apigateway-importexport-version",
})

_INTEGRATION_FIELDS = {
    "type": "IntegrationType",
    "uri": "IntegrationUri",
    "httpMethod": "IntegrationMethod",
    "payloadFormatVersion": "PayloadFormatVersion",
    "timeoutInMillis": "TimeoutInMillis",
    "connectionType": "ConnectionType",
    "connectionId": "ConnectionId",
    "credentials": "CredentialsArn",
    "integrationSubtype": "IntegrationSubtype",
    "requestParameters": "RequestParameters",
    "responseParameters": "ResponseParameters",
    "tlsConfig": "TlsConfig",
    "description": "Description",
}

_CORS_FIELDS = {
    "allowOrigins": "AllowOrigins",
    "allowCredentials": "AllowCredentials",
    "exposeHeaders": "ExposeHeaders",
    "maxAge": "MaxAge",
    "allowMethods": "AllowMethods",
    "allowHeaders": "AllowHeaders",
}


def _fail(message: str) -> ResourceCreationFailed:
    return ResourceCreationFailed(f"Body: {message}")


def cors_configuration(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the CreateApi CORS configuration of ``x-amazon-apigateway-cors``, if any."""
    cors = document.get("x-amazon-apigateway-cors")
    if cors is None:
        return None
    unknown = set(cors) - set(_CORS_FIELDS)
    if unknown:
        raise _fail(f"x-amazon-apigateway-cors field {sorted(unknown)[0]} is not known")
    return {_CORS_FIELDS[key]: value for key, value in cors.items()}


class HttpApiImport:
    """One import of a document's authorizers, integrations and routes into an HTTP API."""

    def __init__(self, client: Any, api_id: str, document: Mapping[str, Any]) -> None:
        if not str(document.get("openapi", "")).startswith("3"):
            raise _fail("HTTP APIs import only OpenAPI 3 documents")
        for key in document:
            if key.startswith("x-amazon-apigateway-") and key not in _DOCUMENT_EXTENSIONS:
                raise _fail(f"extension {key} is not emulated by windtunnel for HTTP APIs")
        self.client = client
        self.api_id = api_id
        self.document = document
        self.components: Mapping[str, Any] = document.get("components") or {}
        self.authorizers: dict[str, str] = {}
        self.iam_schemes: set[str] = set()

    def run(self) -> None:
        """Create the authorizers, then one integration and one route per operation."""
        for name, scheme in (self.components.get("securitySchemes") or {}).items():
            self._import_security_scheme(str(name), scheme)
        for path, path_item in (self.document.get("paths") or {}).items():
            for key, operation in path_item.items():
                if key in _HTTP_METHODS:
                    self._import_route(f"{key.upper()} {path}", operation)
                elif key == "x-amazon-apigateway-any-method":
                    # The path "$default" holds the catch-all route, whose key has no method.
                    route_key = "$default" if path == "$default" else f"ANY {path}"
                    self._import_route(route_key, operation)
                elif key.startswith("x-amazon-apigateway-"):
                    raise _fail(f"extension {key} on path {path} is not emulated by "
                                "windtunnel")

    def _import_security_scheme(self, name: str, scheme: Mapping[str, Any]) -> None:
        authorizer = scheme.get("x-amazon-apigateway-authorizer")
        if authorizer is None:
            if str(scheme.get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4":
                self.iam_schemes.add(name)
                return
            raise _fail(f"security scheme {name} has no x-amazon-apigateway-authorizer")

        authorizer_type = str(authorizer.get("type", "")).upper()
        request: dict[str, Any] = {"ApiId": self.api_id, "Name": name,
                                   "AuthorizerType": authorizer_type}
        identity_source = authorizer.get("identitySource")
        if isinstance(identity_source, str):
            identity_source = [part.strip() for part in identity_source.split(",")]
        if identity_source:
            request["IdentitySource"] = identity_source
        if authorizer_type == "JWT":
            jwt = authorizer.get("jwtConfiguration") or {}
            request["JwtConfiguration"] = {"Audience": list(jwt.get("audience") or []),
                                           "Issuer": jwt.get("issuer")}
        elif authorizer_type == "REQUEST":
            for field, parameter in (
                    ("authorizerUri", "AuthorizerUri"),
                    ("authorizerCredentials", "AuthorizerCredentialsArn"),
                    ("authorizerPayloadFormatVersion", "AuthorizerPayloadFormatVersion"),
                    ("enableSimpleResponses", "EnableSimpleResponses"),
                    ("authorizerResultTtlInSeconds", "AuthorizerResultTtlInSeconds")):
                if field in authorizer:
                    request[parameter] = authorizer[field]
        else:
            raise _fail(f"authorizer type {authorizer_type} of {name} is not known")
        created = self.client.create_authorizer(**request)
        self.authorizers[name] = created["AuthorizerId"]

    def _integration(self, operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
        integration = operation.get("x-amazon-apigateway-integration")
        ref = integration.get("$ref") if isinstance(integration, Mapping) else None
        if isinstance(ref, str):
            shared = self.components.get("x-amazon-apigateway-integrations") or {}
            name = ref.rsplit("/", 1)[-1]
            if name not in shared:
                raise _fail(f"integration reference {ref} is not defined in the document")
            integration = shared[name]
        return integration

    def _import_route(self, route_key: str, operation: Mapping[str, Any]) -> None:
        for key in operation:
            if key.startswith("x-amazon-apigateway-") and key != (
                    "x-amazon-apigateway-integration"):
                raise _fail(f"extension {key} on route {route_key} is not emulated by "
                            "windtunnel")

        request: dict[str, Any] = {"ApiId": self.api_id, "RouteKey": route_key}
        integration = self._integration(operation)
        if integration is not None:
            request["Target"] = "integrations/" + self._create_integration(integration,
                                                                           route_key)
        if "operationId" in operation:
            request["OperationName"] = str(operation["operationId"])

        requirements = operation.get("security", self.document.get("security")) or []
        for requirement in requirements:
            for scheme, scopes in requirement.items():
                if scheme in self.iam_schemes:
                    request["AuthorizationType"] = "AWS_IAM"
                elif scheme in self.authorizers:
                    authorizer_type = self.client.get_authorizer(
                        ApiId=self.api_id, AuthorizerId=self.authorizers[scheme],
                    )["AuthorizerType"]
                    request["AuthorizationType"] = "JWT" if authorizer_type == "JWT" else (
                        "CUSTOM")
                    request["AuthorizerId"] = self.authorizers[scheme]
                    if scopes:
                        request["AuthorizationScopes"] = list(scopes)
                else:
                    raise _fail(f"security scheme {scheme} of route {route_key} is not "
                                "defined in the document")
        self.client.create_route(**request)

    def _create_integration(self, integration: Mapping[str, Any], route_key: str) -> str:
        unknown = set(integration) - set(_INTEGRATION_FIELDS)
        if unknown:
            raise _fail(f"x-amazon-apigateway-integration field {sorted(unknown)[0]} on "
                        f"route {route_key} is not emulated by windtunnel for HTTP APIs")
        request: dict[str, Any] = {"ApiId": self.api_id}
        for field, parameter in _INTEGRATION_FIELDS.items():
            if field in integration:
                request[parameter] = integration[field]
        request["IntegrationType"] = str(request.get("IntegrationType", "")).upper()
        if "TimeoutInMillis" in request:
            request["TimeoutInMillis"] = int(request["TimeoutInMillis"])
        if "TlsConfig" in request:
            request["TlsConfig"] = {"ServerNameToVerify":
                                    request["TlsConfig"].get("serverNameToVerify")}
        return str(self.client.create_integration(**request)["IntegrationId"])
