"""Tests of the AppSync resource handlers against moto and windtunnel's configuration store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from windtunnel.constants import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from windtunnel.deploy.resources.appsync import graphql_api_configuration
from windtunnel.deploy.resources.base import ResourceCreationFailed, handler_for

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
ARN_PREFIX = f"arn:aws:appsync:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:apis/"
SCHEMA = "type Query { item(id: ID!): Item }\ntype Item { id: ID! name: String }\n"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:items"


@pytest.fixture
def client(make_context: Any) -> Any:
    """A boto3 AppSync client on the same moto backend as the handlers."""
    return boto3.client("appsync", region_name=DEFAULT_REGION)


def create(make_context: Any, resource_type: str, properties: dict[str, Any],
           logical_id: str = "Resource") -> Any:
    handler = handler_for(resource_type)
    assert handler is not None
    return handler(make_context(logical_id, resource_type), properties)


def graphql_api(make_context: Any) -> str:
    provisioned = create(make_context, "AWS::AppSync::GraphQLApi",
                         {"Name": "items", "AuthenticationType": "API_KEY"}, "Api")
    return str(provisioned.attributes["ApiId"])


# source: {DOCS}aws-resource-appsync-graphqlapi.html (Return values)
def test_graphql_api_ref_and_attributes(make_context: Any, client: Any,
                                        service_state: dict[str, Any]) -> None:
    """Ref is the API ARN. ApiId, Arn, GraphQLUrl, GraphQLDns and RealtimeUrl are attributes."""
    provisioned = create(make_context, "AWS::AppSync::GraphQLApi", {
        "Name": "items", "AuthenticationType": "AMAZON_COGNITO_USER_POOLS",
        "UserPoolConfig": {"UserPoolId": "us-east-1_abc", "AwsRegion": "us-east-1",
                           "DefaultAction": "ALLOW"},
        "AdditionalAuthenticationProviders": [
            {"AuthenticationType": "AWS_LAMBDA", "LambdaAuthorizerConfig": {
                "AuthorizerUri": FUNCTION_ARN, "AuthorizerResultTtlInSeconds": 60}},
            {"AuthenticationType": "OPENID_CONNECT",
             "OpenIDConnectConfig": {"Issuer": "https://id.example.com", "ClientId": "app"}}],
        "LogConfig": {"CloudWatchLogsRoleArn": "arn:aws:iam::123456789012:role/logs",
                      "FieldLogLevel": "ERROR"},
        "XrayEnabled": "true", "Tags": [{"Key": "team", "Value": "web"}],
        "EnvironmentVariables": {"TABLE": "items"},
    })

    api_id = provisioned.attributes["ApiId"]
    api = client.get_graphql_api(apiId=api_id)["graphqlApi"]
    assert provisioned.physical_id == f"{ARN_PREFIX}{api_id}" == api["arn"]
    assert provisioned.attributes["Arn"] == api["arn"]
    dns = provisioned.attributes["GraphQLDns"]
    assert dns.endswith(f".appsync-api.{DEFAULT_REGION}.amazonaws.com")
    assert provisioned.attributes["GraphQLUrl"] == f"https://{dns}/graphql"
    realtime = provisioned.attributes["RealtimeDns"]
    assert realtime.endswith(f".appsync-realtime-api.{DEFAULT_REGION}.amazonaws.com")
    assert provisioned.attributes["RealtimeUrl"] == f"wss://{realtime}/graphql"
    assert api["userPoolConfig"] == {"userPoolId": "us-east-1_abc", "awsRegion": "us-east-1",
                                     "defaultAction": "ALLOW"}
    assert api["additionalAuthenticationProviders"][0]["lambdaAuthorizerConfig"] == {
        "authorizerUri": FUNCTION_ARN, "authorizerResultTtlInSeconds": 60}
    assert api["additionalAuthenticationProviders"][1]["openIDConnectConfig"] == {
        "issuer": "https://id.example.com", "clientId": "app"}
    assert api["logConfig"]["fieldLogLevel"] == "ERROR"
    assert api["xrayEnabled"] is True
    assert api["tags"] == {"team": "web"}
    stored = graphql_api_configuration(service_state, api_id)
    assert stored.api["environmentVariables"] == {"TABLE": "items"}


@pytest.mark.parametrize(("resource_type", "properties", "missing", "source"), [
    ("AWS::AppSync::GraphQLApi", {"Name": "x"}, "AuthenticationType",
     "aws-resource-appsync-graphqlapi.html"),
    ("AWS::AppSync::GraphQLSchema", {}, "ApiId", "aws-resource-appsync-graphqlschema.html"),
    ("AWS::AppSync::DataSource", {"ApiId": "a", "Name": "d"}, "Type",
     "aws-resource-appsync-datasource.html"),
    ("AWS::AppSync::Resolver", {"ApiId": "a", "TypeName": "Query"}, "FieldName",
     "aws-resource-appsync-resolver.html"),
    ("AWS::AppSync::FunctionConfiguration", {"ApiId": "a", "Name": "f"}, "DataSourceName",
     "aws-resource-appsync-functionconfiguration.html"),
    ("AWS::AppSync::ApiKey", {}, "ApiId", "aws-resource-appsync-apikey.html"),
])
def test_missing_required_property(make_context: Any, resource_type: str,
                                   properties: dict[str, Any], missing: str,
                                   source: str) -> None:
    """A missing required property fails CloudFormation's schema validation."""
    with pytest.raises(ResourceCreationFailed) as raised:
        create(make_context, resource_type, properties)
    assert raised.value.reason == ("Properties validation failed for resource with message: "
                                   f"#: required key [{missing}] not found")


@pytest.mark.parametrize("resource_type", [
    "AWS::AppSync::GraphQLApi", "AWS::AppSync::GraphQLSchema", "AWS::AppSync::DataSource",
    "AWS::AppSync::Resolver", "AWS::AppSync::FunctionConfiguration", "AWS::AppSync::ApiKey",
])
def test_unknown_property(make_context: Any, resource_type: str) -> None:
    """A property outside the type's schema fails as CloudFormation fails."""
    with pytest.raises(ResourceCreationFailed) as raised:
        create(make_context, resource_type, {"Foo": 1})
    assert raised.value.reason == ("Properties validation failed for resource with message: "
                                   "#: extraneous key [Foo] is not permitted")


def test_merged_api_not_emulated(make_context: Any) -> None:
    """ApiType MERGED raises an error naming the property."""
    with pytest.raises(ResourceCreationFailed, match="ApiType MERGED is not emulated"):
        create(make_context, "AWS::AppSync::GraphQLApi",
               {"Name": "x", "AuthenticationType": "API_KEY", "ApiType": "MERGED"})


# source: {DOCS}aws-resource-appsync-graphqlschema.html (Ref: API ID + "GraphQLSchema")
def test_schema_from_local_file(make_context: Any, client: Any, tmp_path: Path) -> None:
    """DefinitionS3Location names a local schema file. The schema is stored by AppSync."""
    api_id = graphql_api(make_context)
    (tmp_path / "schema.graphql").write_text(SCHEMA)
    provisioned = create(make_context, "AWS::AppSync::GraphQLSchema",
                         {"ApiId": api_id, "DefinitionS3Location": "schema.graphql"})

    assert provisioned.physical_id == f"{api_id}GraphQLSchema"
    assert client.get_schema_creation_status(apiId=api_id)["status"] == "SUCCESS"
    item = client.get_type(apiId=api_id, typeName="Item", format="SDL")["type"]
    assert item["name"] == "Item"


def test_schema_s3_location_not_emulated(make_context: Any) -> None:
    """A schema in S3 raises an error naming the property."""
    api_id = graphql_api(make_context)
    with pytest.raises(ResourceCreationFailed, match="DefinitionS3Location with an Amazon S3"):
        create(make_context, "AWS::AppSync::GraphQLSchema",
               {"ApiId": api_id, "DefinitionS3Location": "s3://bucket/schema.graphql"})


# source: {DOCS}aws-resource-appsync-apikey.html (Return values)
def test_api_key(make_context: Any, client: Any) -> None:
    """Ref is the API key ARN. ApiKey is the key."""
    api_id = graphql_api(make_context)
    provisioned = create(make_context, "AWS::AppSync::ApiKey",
                         {"ApiId": api_id, "Description": "partner"})

    [key] = client.list_api_keys(apiId=api_id)["apiKeys"]
    assert key["description"] == "partner"
    assert provisioned.attributes["ApiKey"] == key["id"]
    assert provisioned.physical_id == f"{ARN_PREFIX}{api_id}/apikey/{key['id']}"
    assert provisioned.attributes["Arn"] == provisioned.physical_id


# source: {DOCS}aws-resource-appsync-datasource.html (Return values, Type)
@pytest.mark.parametrize(("data_source_type", "config_property", "config", "expected"), [
    ("AMAZON_DYNAMODB", "DynamoDBConfig",
     {"TableName": "items", "AwsRegion": "us-east-1", "UseCallerCredentials": "false"},
     {"dynamodbConfig": {"tableName": "items", "awsRegion": "us-east-1",
                         "useCallerCredentials": False}}),
    ("AWS_LAMBDA", "LambdaConfig", {"LambdaFunctionArn": FUNCTION_ARN},
     {"lambdaConfig": {"lambdaFunctionArn": FUNCTION_ARN}}),
    ("HTTP", "HttpConfig", {"Endpoint": "https://example.com"},
     {"httpConfig": {"endpoint": "https://example.com"}}),
    ("RELATIONAL_DATABASE", "RelationalDatabaseConfig",
     {"RelationalDatabaseSourceType": "RDS_HTTP_ENDPOINT",
      "RdsHttpEndpointConfig": {"AwsRegion": "us-east-1", "DbClusterIdentifier": "c",
                                "AwsSecretStoreArn": "s", "DatabaseName": "d"}},
     {"relationalDatabaseConfig": {
         "relationalDatabaseSourceType": "RDS_HTTP_ENDPOINT",
         "rdsHttpEndpointConfig": {"awsRegion": "us-east-1", "dbClusterIdentifier": "c",
                                   "awsSecretStoreArn": "s", "databaseName": "d"}}}),
    ("AMAZON_OPENSEARCH_SERVICE", "OpenSearchServiceConfig",
     {"AwsRegion": "us-east-1", "Endpoint": "https://search.example.com"},
     {"openSearchServiceConfig": {"awsRegion": "us-east-1",
                                  "endpoint": "https://search.example.com"}}),
    ("NONE", None, None, {}),
])
def test_data_source_types(make_context: Any, data_source_type: str,
                           config_property: str | None, config: dict[str, Any] | None,
                           expected: dict[str, Any], service_state: dict[str, Any]) -> None:
    """Each data source type keeps its configuration as the CreateDataSource request."""
    api_id = graphql_api(make_context)
    properties: dict[str, Any] = {"ApiId": api_id, "Name": "source", "Type": data_source_type,
                                  "ServiceRoleArn": "arn:aws:iam::123456789012:role/appsync"}
    if config_property is not None:
        properties[config_property] = config
    provisioned = create(make_context, "AWS::AppSync::DataSource", properties)

    arn = f"{ARN_PREFIX}{api_id}/datasources/source"
    assert provisioned.physical_id == arn
    assert provisioned.attributes == {"DataSourceArn": arn, "Name": "source"}
    stored = graphql_api_configuration(service_state, api_id).data_sources["source"]
    assert stored == {"apiId": api_id, "name": "source", "type": data_source_type,
                      "serviceRoleArn": "arn:aws:iam::123456789012:role/appsync", **expected}


def test_data_source_unknown_api(make_context: Any) -> None:
    """A data source of an API that does not exist fails with AppSync's error."""
    with pytest.raises(ClientError, match="NotFoundException"):
        create(make_context, "AWS::AppSync::DataSource",
               {"ApiId": "missing", "Name": "d", "Type": "NONE"})


# source: {DOCS}aws-resource-appsync-resolver.html (Return values, Kind UNIT)
def test_unit_resolver_with_local_templates(make_context: Any, tmp_path: Path,
                                            service_state: dict[str, Any]) -> None:
    """A UNIT resolver reads its mapping templates from local files."""
    api_id = graphql_api(make_context)
    create(make_context, "AWS::AppSync::DataSource",
           {"ApiId": api_id, "Name": "items", "Type": "NONE"}, "Source")
    (tmp_path / "request.vtl").write_text('{"version": "2018-05-29", "payload": {}}')
    provisioned = create(make_context, "AWS::AppSync::Resolver", {
        "ApiId": api_id, "TypeName": "Query", "FieldName": "item", "DataSourceName": "items",
        "RequestMappingTemplateS3Location": "request.vtl",
        "ResponseMappingTemplate": "$util.toJson($ctx.result)", "MaxBatchSize": "5",
    })

    arn = f"{ARN_PREFIX}{api_id}/types/Query/resolvers/item"
    assert provisioned.physical_id == arn
    assert provisioned.attributes == {"FieldName": "item", "ResolverArn": arn,
                                      "TypeName": "Query"}
    stored = graphql_api_configuration(service_state, api_id).resolvers[("Query", "item")]
    assert stored["kind"] == "UNIT"
    assert stored["dataSourceName"] == "items"
    assert stored["requestMappingTemplate"] == '{"version": "2018-05-29", "payload": {}}'
    assert stored["responseMappingTemplate"] == "$util.toJson($ctx.result)"
    assert stored["maxBatchSize"] == 5


def test_resolver_unknown_data_source(make_context: Any) -> None:
    """A resolver naming a data source that does not exist fails."""
    api_id = graphql_api(make_context)
    with pytest.raises(ResourceCreationFailed, match="No data source found named missing"):
        create(make_context, "AWS::AppSync::Resolver", {
            "ApiId": api_id, "TypeName": "Query", "FieldName": "item",
            "DataSourceName": "missing"})


# source: {DOCS}aws-resource-appsync-functionconfiguration.html (Return values) and
# aws-resource-appsync-resolver.html (PipelineConfig, Runtime APPSYNC_JS)
def test_pipeline_resolver_with_js_function(make_context: Any, tmp_path: Path,
                                            service_state: dict[str, Any]) -> None:
    """A PIPELINE resolver runs APPSYNC_JS functions read from local code files."""
    api_id = graphql_api(make_context)
    create(make_context, "AWS::AppSync::DataSource",
           {"ApiId": api_id, "Name": "items", "Type": "NONE"}, "Source")
    (tmp_path / "function.js").write_text("export function request(ctx) { return {}; }")
    runtime = {"Name": "APPSYNC_JS", "RuntimeVersion": "1.0.0"}
    function = create(make_context, "AWS::AppSync::FunctionConfiguration", {
        "ApiId": api_id, "Name": "load", "DataSourceName": "items",
        "CodeS3Location": "function.js", "Runtime": runtime,
    }, "Load")
    function_id = function.attributes["FunctionId"]
    resolver = create(make_context, "AWS::AppSync::Resolver", {
        "ApiId": api_id, "TypeName": "Query", "FieldName": "item", "Kind": "PIPELINE",
        "PipelineConfig": {"Functions": [function_id]}, "Runtime": runtime,
        "Code": "export function request() { return {}; }",
    })

    arn = f"{ARN_PREFIX}{api_id}/functions/{function_id}"
    assert function.physical_id == arn
    assert function.attributes == {"DataSourceName": "items", "FunctionArn": arn,
                                   "FunctionId": function_id, "Name": "load"}
    assert len(function_id) == 26
    configuration = graphql_api_configuration(service_state, api_id)
    assert configuration.functions[function_id]["code"] == (
        "export function request(ctx) { return {}; }")
    assert configuration.functions[function_id]["runtime"] == {"name": "APPSYNC_JS",
                                                               "runtimeVersion": "1.0.0"}
    stored = configuration.resolvers[("Query", "item")]
    assert resolver.attributes["ResolverArn"] == resolver.physical_id
    assert stored["kind"] == "PIPELINE"
    assert stored["pipelineConfig"] == {"functions": [function_id]}


def test_code_without_runtime(make_context: Any) -> None:
    """Code without Runtime fails, as AppSync requires a runtime for code."""
    api_id = graphql_api(make_context)
    create(make_context, "AWS::AppSync::DataSource",
           {"ApiId": api_id, "Name": "items", "Type": "NONE"}, "Source")
    with pytest.raises(ResourceCreationFailed, match="Runtime is required"):
        create(make_context, "AWS::AppSync::FunctionConfiguration", {
            "ApiId": api_id, "Name": "f", "DataSourceName": "items", "Code": "x"})
