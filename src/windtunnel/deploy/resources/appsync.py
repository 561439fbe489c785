"""Resource handlers for AppSync GraphQL APIs, schemas, data sources, resolvers and keys.

moto 5.2 stores GraphQL APIs, schemas and API keys but has no CreateDataSource,
CreateResolver, CreateFunction or PutGraphqlApiEnvironmentVariables, and it drops
several CreateGraphqlApi fields. Those parts are kept in :class:`GraphqlApiConfiguration`,
one per API, as the exact AppSync API requests, so the AppSync data plane can read them.
The configurations live in the cloud's service state under :data:`SERVICE_STATE_KEY`, so
snapshots and resets of the cloud include them.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    ResourceCreationFailed,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_boolean,
    coerce_integer,
    drop_none,
    read_local_file,
    reject_not_emulated,
    tags_to_dict,
)

__all__ = ["SERVICE_STATE_KEY", "GraphqlApiConfiguration", "api_hostnames", "dns_label",
           "graphql_api_configuration"]

SERVICE_STATE_KEY = "appsync"
"""The key of the GraphQL API configurations, by API ID, in the cloud's service state."""


@dataclass
class GraphqlApiConfiguration:
    """The parts of one GraphQL API that moto does not store, as AppSync API requests."""

    api: dict[str, Any] = field(default_factory=dict)
    """The CreateGraphqlApi request, with ``environmentVariables`` when the template sets them."""
    data_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """CreateDataSource requests by data source name."""
    resolvers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """CreateResolver requests by (type name, field name)."""
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """CreateFunction requests by function ID."""


def graphql_api_configuration(service_state: MutableMapping[str, Any],
                              api_id: str) -> GraphqlApiConfiguration:
    """Return the stored configuration of a GraphQL API created by a stack.

    ``service_state`` is the cloud's service state (``ResourceContext.service_state``). An API
    with nothing stored yet gets an empty configuration, which is stored and returned.
    """
    configurations: dict[str, GraphqlApiConfiguration] = service_state.setdefault(
        SERVICE_STATE_KEY, {})
    return configurations.setdefault(api_id, GraphqlApiConfiguration())


def _camel(value: Any) -> Any:
    """Turn CloudFormation's PascalCase property structure into the API's camelCase one."""
    if isinstance(value, Mapping):
        converted = {}
        for key, item in value.items():
            name = "dynamodbConfig" if key == "DynamoDBConfig" else key[:1].lower() + key[1:]
            converted[name] = _camel(item)
        return converted
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _known_api(context: ResourceContext, api_id: str) -> GraphqlApiConfiguration:
    # GetGraphqlApi fails with AppSync's NotFoundException when the API does not exist.
    context.client("appsync").get_graphql_api(apiId=api_id)
    return graphql_api_configuration(context.service_state, api_id)


_GRAPHQL_API_PROPERTIES = (
    "AdditionalAuthenticationProviders", "ApiType", "AuthenticationType",
    "EnhancedMetricsConfig", "EnvironmentVariables", "IntrospectionConfig",
    "LambdaAuthorizerConfig", "LogConfig", "MergedApiExecutionRoleArn", "Name",
    "OpenIDConnectConfig", "OwnerContact", "QueryDepthLimit", "ResolverCountLimit", "Tags",
    "UserPoolConfig", "Visibility", "XrayEnabled",
)


def dns_label(api_id: str) -> str:
    """Return the DNS label of an API's GraphQL and real-time hostnames.

    NOTE: AWS gives each API a random 26-character DNS label. windtunnel derives it from
    the API ID, so that the same API always has the same URLs.
    """
    return api_id.replace("-", "").lower()[:26]


def api_hostnames(api_id: str, region: str) -> tuple[str, str]:
    """Return the hostnames of an API's GraphQL endpoint and of its real-time endpoint."""
    label = dns_label(api_id)
    return (f"{label}.appsync-api.{region}.amazonaws.com",
            f"{label}.appsync-realtime-api.{region}.amazonaws.com")


@provisions("AWS::AppSync::GraphQLApi")
def create_graphql_api(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a GraphQL API with its authorization modes, logging and tracing settings."""
    check_properties(properties, _GRAPHQL_API_PROPERTIES)
    require_properties(properties, "AuthenticationType", "Name")
    # NOTE: merged APIs combine source APIs, which windtunnel does not do.
    reject_not_emulated(context.resource_type, properties, ("MergedApiExecutionRoleArn",),
                        type_first=True)
    if properties.get("ApiType", "GRAPHQL") != "GRAPHQL":
        raise ResourceCreationFailed(
            f"Property ApiType {properties['ApiType']} is not emulated by windtunnel")

    request: dict[str, Any] = {"name": properties["Name"],
                               "authenticationType": properties["AuthenticationType"]}
    for name in ("AdditionalAuthenticationProviders", "ApiType", "EnhancedMetricsConfig",
                 "IntrospectionConfig", "LambdaAuthorizerConfig", "LogConfig",
                 "OpenIDConnectConfig", "OwnerContact", "UserPoolConfig", "Visibility"):
        if name in properties:
            request[name[:1].lower() + name[1:]] = _camel(properties[name])
    if "XrayEnabled" in properties:
        request["xrayEnabled"] = coerce_boolean(properties["XrayEnabled"], "XrayEnabled")
    for name in ("QueryDepthLimit", "ResolverCountLimit"):
        if name in properties:
            request[name[:1].lower() + name[1:]] = coerce_integer(properties[name], name)
    if "Tags" in properties:
        request["tags"] = tags_to_dict(properties["Tags"])

    api = context.client("appsync").create_graphql_api(**request)["graphqlApi"]
    api_id = api["apiId"]
    configuration = graphql_api_configuration(context.service_state, api_id)
    configuration.api = dict(request)
    if "EnvironmentVariables" in properties:
        configuration.api["environmentVariables"] = {
            str(key): str(value) for key, value in properties["EnvironmentVariables"].items()}

    graphql_dns, realtime_dns = api_hostnames(api_id, context.region)
    return Provisioned(physical_id=api["arn"], attributes={
        "ApiId": api_id,
        "Arn": api["arn"],
        "GraphQLDns": graphql_dns,
        "GraphQLEndpointArn": context.arn("appsync", f"endpoints/graphql-api/{api_id}"),
        "GraphQLUrl": f"https://{graphql_dns}/graphql",
        "RealtimeDns": realtime_dns,
        "RealtimeUrl": f"wss://{realtime_dns}/graphql",
    })


@provisions("AWS::AppSync::GraphQLSchema")
def create_graphql_schema(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Set a GraphQL API's schema from SDL text or a local schema file."""
    check_properties(properties, ("ApiId", "Definition", "DefinitionS3Location"))
    require_properties(properties, "ApiId")
    if "Definition" in properties:
        definition = str(properties["Definition"])
    elif "DefinitionS3Location" in properties:
        definition = read_local_file(context, properties["DefinitionS3Location"],
                                     "DefinitionS3Location")
    else:
        raise ResourceCreationFailed(
            "Either Definition or DefinitionS3Location must be set for AWS::AppSync::GraphQLSchema")

    client = context.client("appsync")
    api_id = properties["ApiId"]
    client.start_schema_creation(apiId=api_id, definition=definition.encode())
    status = client.get_schema_creation_status(apiId=api_id)
    if status["status"] == "FAILED":
        raise ResourceCreationFailed(f"Schema creation failed: {status.get('details')}")
    # Ref returns the API ID with "GraphQLSchema" appended.
    return Provisioned(physical_id=f"{api_id}GraphQLSchema")


@provisions("AWS::AppSync::ApiKey")
def create_api_key(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an API key for a GraphQL API."""
    check_properties(properties, ("ApiId", "ApiKeyId", "Description", "Expires"))
    require_properties(properties, "ApiId")
    # NOTE: ApiKeyId only adopts an existing key into a stack.
    reject_not_emulated(context.resource_type, properties, ("ApiKeyId",), type_first=True)
    request: dict[str, Any] = drop_none({"apiId": properties["ApiId"],
                                         "description": properties.get("Description")})
    if "Expires" in properties:
        # AppSync rounds the expiry time down to the nearest hour.
        expires = coerce_integer(properties["Expires"], "Expires")
        request["expires"] = expires - expires % 3600
    key = context.client("appsync").create_api_key(**request)["apiKey"]
    arn = context.arn("appsync", f"apis/{properties['ApiId']}/apikey/{key['id']}")
    return Provisioned(physical_id=arn, attributes={
        "ApiKey": key["id"],
        "ApiKeyId": key["id"],
        "Arn": arn,
    })


_DATA_SOURCE_CONFIGS = ("DynamoDBConfig", "ElasticsearchConfig", "EventBridgeConfig",
                        "HttpConfig", "LambdaConfig", "OpenSearchServiceConfig",
                        "RelationalDatabaseConfig")


@provisions("AWS::AppSync::DataSource")
def create_data_source(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Record a data source (DynamoDB, Lambda, HTTP, NONE, RDS, OpenSearch, EventBridge)."""
    check_properties(properties, ("ApiId", "Description", "MetricsConfig", "Name",
                                  "ServiceRoleArn", "Type", *_DATA_SOURCE_CONFIGS))
    require_properties(properties, "ApiId", "Name", "Type")
    configuration = _known_api(context, properties["ApiId"])
    name = str(properties["Name"])
    if name in configuration.data_sources:
        raise ResourceCreationFailed(f"Data source {name} already exists")

    request: dict[str, Any] = drop_none({
        "apiId": properties["ApiId"],
        "name": name,
        "type": properties["Type"],
        "description": properties.get("Description"),
        "serviceRoleArn": properties.get("ServiceRoleArn"),
        "metricsConfig": properties.get("MetricsConfig"),
    })
    for config_name in _DATA_SOURCE_CONFIGS:
        if config_name in properties:
            request.update(_camel({config_name: properties[config_name]}))
    dynamodb = request.get("dynamodbConfig")
    if dynamodb is not None:
        for flag in ("useCallerCredentials", "versioned"):
            if flag in dynamodb:
                dynamodb[flag] = coerce_boolean(dynamodb[flag], f"DynamoDBConfig/{flag}")
    configuration.data_sources[name] = request

    arn = context.arn("appsync", f"apis/{properties['ApiId']}/datasources/{name}")
    return Provisioned(physical_id=arn, attributes={"DataSourceArn": arn, "Name": name})


def _mapping_code(context: ResourceContext, properties: dict[str, Any]) -> dict[str, Any]:
    """Return the request and response mapping templates, code and runtime of a request."""
    request: dict[str, Any] = {}
    for inline, location, key in (
            ("RequestMappingTemplate", "RequestMappingTemplateS3Location",
             "requestMappingTemplate"),
            ("ResponseMappingTemplate", "ResponseMappingTemplateS3Location",
             "responseMappingTemplate"),
            ("Code", "CodeS3Location", "code")):
        if inline in properties and location in properties:
            raise ResourceCreationFailed(f"Properties {inline} and {location} cannot both be set")
        if inline in properties:
            request[key] = str(properties[inline])
        elif location in properties:
            request[key] = read_local_file(context, properties[location], location)
    if "Runtime" in properties:
        runtime = properties["Runtime"]
        check_properties(runtime, ("Name", "RuntimeVersion"))
        request["runtime"] = _camel(runtime)
    if "code" in request and "runtime" not in request:
        raise ResourceCreationFailed("Property Runtime is required when Code is set")
    if "MaxBatchSize" in properties:
        request["maxBatchSize"] = coerce_integer(properties["MaxBatchSize"], "MaxBatchSize")
    if "SyncConfig" in properties:
        request["syncConfig"] = _camel(properties["SyncConfig"])
    return request


def _require_data_source(configuration: GraphqlApiConfiguration, name: str) -> None:
    if name not in configuration.data_sources:
        raise ResourceCreationFailed(f"No data source found named {name}")


_RESOLVER_PROPERTIES = (
    "ApiId", "CachingConfig", "Code", "CodeS3Location", "DataSourceName", "FieldName", "Kind",
    "MaxBatchSize", "MetricsConfig", "PipelineConfig", "RequestMappingTemplate",
    "RequestMappingTemplateS3Location", "ResponseMappingTemplate",
    "ResponseMappingTemplateS3Location", "Runtime", "SyncConfig", "TypeName",
)


@provisions("AWS::AppSync::Resolver")
def create_resolver(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Record a UNIT or PIPELINE resolver attached to a type's field."""
    check_properties(properties, _RESOLVER_PROPERTIES)
    require_properties(properties, "ApiId", "FieldName", "TypeName")
    api_id = properties["ApiId"]
    configuration = _known_api(context, api_id)
    type_name, field_name = str(properties["TypeName"]), str(properties["FieldName"])
    if (type_name, field_name) in configuration.resolvers:
        raise ResourceCreationFailed(f"A resolver for {type_name}.{field_name} already exists")

    kind = properties.get("Kind", "UNIT")
    request: dict[str, Any] = {"apiId": api_id, "typeName": type_name, "fieldName": field_name,
                               "kind": kind}
    if kind == "PIPELINE":
        pipeline = properties.get("PipelineConfig") or {}
        check_properties(pipeline, ("Functions",))
        functions = [str(function_id) for function_id in pipeline.get("Functions") or []]
        for function_id in functions:
            if function_id not in configuration.functions:
                raise ResourceCreationFailed(f"No function found with ID {function_id}")
        request["pipelineConfig"] = {"functions": functions}
    elif kind == "UNIT":
        if "DataSourceName" in properties:
            _require_data_source(configuration, str(properties["DataSourceName"]))
            request["dataSourceName"] = str(properties["DataSourceName"])
    else:
        raise ResourceCreationFailed(f"Property Kind has an invalid value {kind}")
    request.update(_mapping_code(context, properties))
    if "CachingConfig" in properties:
        request["cachingConfig"] = _camel(properties["CachingConfig"])
    if "MetricsConfig" in properties:
        request["metricsConfig"] = properties["MetricsConfig"]
    configuration.resolvers[(type_name, field_name)] = request

    arn = context.arn("appsync", f"apis/{api_id}/types/{type_name}/resolvers/{field_name}")
    return Provisioned(physical_id=arn, attributes={
        "FieldName": field_name,
        "ResolverArn": arn,
        "TypeName": type_name,
    })


_FUNCTION_PROPERTIES = (
    "ApiId", "Code", "CodeS3Location", "DataSourceName", "Description", "FunctionVersion",
    "MaxBatchSize", "Name", "RequestMappingTemplate", "RequestMappingTemplateS3Location",
    "ResponseMappingTemplate", "ResponseMappingTemplateS3Location", "Runtime", "SyncConfig",
)
_FUNCTION_ID_ALPHABET = string.ascii_lowercase + string.digits


@provisions("AWS::AppSync::FunctionConfiguration")
def create_function(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Record a pipeline function bound to a data source."""
    check_properties(properties, _FUNCTION_PROPERTIES)
    require_properties(properties, "ApiId", "DataSourceName", "Name")
    api_id = properties["ApiId"]
    configuration = _known_api(context, api_id)
    data_source_name = str(properties["DataSourceName"])
    _require_data_source(configuration, data_source_name)

    # AppSync function IDs are 26 lowercase letters and digits. This one derives from the
    # stack and logical ID, so it is the same on every load.
    digest = hashlib.sha256(f"{context.stack_id}/{context.logical_id}".encode()).digest()
    function_id = "".join(_FUNCTION_ID_ALPHABET[byte % len(_FUNCTION_ID_ALPHABET)]
                          for byte in digest[:26])
    request: dict[str, Any] = drop_none({
        "apiId": api_id,
        "name": str(properties["Name"]),
        "dataSourceName": data_source_name,
        "description": properties.get("Description"),
        "functionVersion": properties.get("FunctionVersion"),
    })
    request.update(_mapping_code(context, properties))
    configuration.functions[function_id] = request

    arn = context.arn("appsync", f"apis/{api_id}/functions/{function_id}")
    return Provisioned(physical_id=arn, attributes={
        "DataSourceName": data_source_name,
        "FunctionArn": arn,
        "FunctionId": function_id,
        "Name": request["name"],
    })

