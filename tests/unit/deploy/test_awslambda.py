"""Tests of the Lambda resource handlers against moto's Lambda."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel.deploy.resources.base import ResourceCreationFailed, handler_for

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference"
FUNCTION_DOCS = f"{DOCS}/aws-resource-lambda-function.html"
MAPPING_DOCS = f"{DOCS}/aws-resource-lambda-eventsourcemapping.html"
ALIAS_DOCS = f"{DOCS}/aws-resource-lambda-alias.html"

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})
INLINE_SOURCE = "def handler(event, context):\n    return event\n"


def create(make_context: Any, logical_id: str, resource_type: str,
           properties: dict[str, Any]) -> Any:
    handler = handler_for(resource_type)
    assert handler is not None
    return handler(make_context(logical_id, resource_type), properties)


@pytest.fixture
def role_arn(make_context: Any) -> str:
    """A role that Lambda can assume, which moto requires before CreateFunction."""
    iam = make_context("Role", "AWS::IAM::Role").client("iam")
    return str(iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"])


@pytest.fixture
def lambda_client(make_context: Any) -> Any:
    return make_context("Any", "AWS::Lambda::Function").client("lambda")


def function_properties(role_arn: str, **extra: Any) -> dict[str, Any]:
    return {"Role": role_arn, "Runtime": "python3.12", "Handler": "index.handler",
            "Code": {"ZipFile": INLINE_SOURCE}, **extra}


@pytest.fixture
def function_name(make_context: Any, role_arn: str) -> str:
    create(make_context, "Fn", "AWS::Lambda::Function",
           function_properties(role_arn, FunctionName="fn"))
    return "fn"


def test_function_stores_configuration(make_context: Any, role_arn: str,
                                       lambda_client: Any) -> None:
    """A function keeps handler, runtime, environment, limits, tracing and architecture."""
    result = create(make_context, "Fn", "AWS::Lambda::Function", function_properties(
        role_arn, FunctionName="orders", Description="takes orders",
        Environment={"Variables": {"TABLE": "orders"}}, Timeout="30", MemorySize="512",
        TracingConfig={"Mode": "Active"}, Architectures=["arm64"],
        EphemeralStorage={"Size": "1024"}, Tags=[{"Key": "team", "Value": "core"}],
    ))

    config = lambda_client.get_function_configuration(FunctionName="orders")
    assert config["Handler"] == "index.handler"
    assert config["Runtime"] == "python3.12"
    assert config["Role"] == role_arn
    assert config["Description"] == "takes orders"
    assert config["Environment"] == {"Variables": {"TABLE": "orders"}}
    assert config["Timeout"] == 30
    assert config["MemorySize"] == 512
    assert config["TracingConfig"] == {"Mode": "Active"}
    assert config["Architectures"] == ["arm64"]
    assert config["EphemeralStorage"] == {"Size": 1024}
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
    assert lambda_client.list_tags(Resource=arn)["Tags"]["team"] == "core"
    # Return values (FUNCTION_DOCS): Ref is the function name, and Arn is an attribute.
    assert result.physical_id == "orders"
    assert result.attributes["Arn"] == arn
    assert result.attributes["SnapStartResponse.ApplyOn"] == "None"
    assert result.attributes["SnapStartResponse.OptimizationStatus"] == "Off"


def test_function_defaults(make_context: Any, role_arn: str, lambda_client: Any) -> None:
    """Timeout defaults to 3 seconds and MemorySize to 128 MB (FUNCTION_DOCS)."""
    result = create(make_context, "DefaultsFunction", "AWS::Lambda::Function",
                    function_properties(role_arn))

    config = lambda_client.get_function_configuration(FunctionName=result.physical_id)
    assert config["Timeout"] == 3
    assert config["MemorySize"] == 128
    assert result.physical_id.startswith("test-stack-DefaultsFunction-")
    assert len(result.physical_id) <= 64


def test_inline_code_kept_as_index(make_context: Any, role_arn: str) -> None:
    """Inline ZipFile source is stored as index.py, as CloudFormation packages it."""
    create(make_context, "Fn", "AWS::Lambda::Function",
           function_properties(role_arn, FunctionName="inline"))

    from moto.awslambda.models import lambda_backends

    function = lambda_backends[ACCOUNT][REGION].get_function("inline")
    with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
        assert archive.namelist() == ["index.py"]
        assert archive.read("index.py").decode() == INLINE_SOURCE


def test_inline_code_nodejs_extension(make_context: Any, role_arn: str) -> None:
    """Inline source for a Node.js runtime is stored as index.js."""
    create(make_context, "Fn", "AWS::Lambda::Function", function_properties(
        role_arn, FunctionName="node", Runtime="nodejs20.x"))

    from moto.awslambda.models import lambda_backends

    function = lambda_backends[ACCOUNT][REGION].get_function("node")
    with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
        assert archive.namelist() == ["index.js"]


def test_local_code_gets_placeholder(make_context: Any, role_arn: str) -> None:
    """Code from S3 or a local directory is not copied, so a placeholder is stored."""
    properties = function_properties(role_arn, FunctionName="local",
                                     Code={"S3Bucket": "artifacts", "S3Key": "fn.zip"})
    create(make_context, "Fn", "AWS::Lambda::Function", properties)

    from moto.awslambda.models import lambda_backends

    function = lambda_backends[ACCOUNT][REGION].get_function("local")
    with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
        assert archive.namelist() == ["windtunnel-placeholder.txt"]


def test_reserved_concurrency(make_context: Any, role_arn: str, lambda_client: Any) -> None:
    """ReservedConcurrentExecutions is set through PutFunctionConcurrency."""
    create(make_context, "Fn", "AWS::Lambda::Function", function_properties(
        role_arn, FunctionName="limited", ReservedConcurrentExecutions="5"))

    concurrency = lambda_client.get_function_concurrency(FunctionName="limited")
    assert concurrency["ReservedConcurrentExecutions"] == 5


def test_function_with_layer(make_context: Any, role_arn: str, lambda_client: Any) -> None:
    """A function lists the layer versions named in Layers."""
    layer = create(make_context, "Layer", "AWS::Lambda::LayerVersion", {
        "LayerName": "shared", "Content": {"S3Bucket": "b", "S3Key": "k"},
        "CompatibleRuntimes": ["python3.12"], "Description": "shared code",
    })
    create(make_context, "Fn", "AWS::Lambda::Function", function_properties(
        role_arn, FunctionName="layered", Layers=[layer.physical_id]))

    config = lambda_client.get_function_configuration(FunctionName="layered")
    assert [entry["Arn"] for entry in config["Layers"]] == [layer.physical_id]
    # Return values of AWS::Lambda::LayerVersion: Ref is the layer version ARN.
    assert layer.physical_id == f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:shared:1"
    assert layer.attributes["LayerVersionArn"] == layer.physical_id
    stored = lambda_client.get_layer_version(LayerName="shared", VersionNumber=1)
    assert stored["CompatibleRuntimes"] == ["python3.12"]
    assert stored["Description"] == "shared code"


def test_image_package_not_emulated(make_context: Any, role_arn: str) -> None:
    """Container image functions fail with a message that names the gap."""
    with pytest.raises(ResourceCreationFailed, match="container image functions are not"):
        create(make_context, "Fn", "AWS::Lambda::Function", {
            "Role": role_arn, "PackageType": "Image",
            "Code": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"},
        })


def test_unassumable_role_fails(make_context: Any) -> None:
    """A role that does not exist fails as Lambda fails."""
    with pytest.raises(ClientError, match="cannot be assumed by Lambda"):
        create(make_context, "Fn", "AWS::Lambda::Function",
               function_properties(f"arn:aws:iam::{ACCOUNT}:role/missing"))


def test_function_requires_code(make_context: Any, role_arn: str) -> None:
    """Code and Role are required (FUNCTION_DOCS)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[Code\] not found"):
        create(make_context, "Fn", "AWS::Lambda::Function", {"Role": role_arn})


def test_function_rejects_unknown_property(make_context: Any, role_arn: str) -> None:
    """A property outside the schema fails as CloudFormation fails."""
    with pytest.raises(ResourceCreationFailed,
                       match=r"#: extraneous key \[CodeUri\] is not permitted"):
        create(make_context, "Fn", "AWS::Lambda::Function",
               function_properties(role_arn, CodeUri="src/"))


def test_permission_adds_statement(make_context: Any, function_name: str,
                                   lambda_client: Any) -> None:
    """A permission becomes a statement in the function's resource-based policy."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html
    source = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/*"
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
    result = create(make_context, "Permission", "AWS::Lambda::Permission", {
        "FunctionName": function_arn, "Action": "lambda:InvokeFunction",
        "Principal": "apigateway.amazonaws.com", "SourceArn": source,
    })

    policy = json.loads(lambda_client.get_policy(FunctionName=function_name)["Policy"])
    statement = policy["Statement"][0]
    assert statement["Sid"] == result.physical_id
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == source
    assert result.attributes["Id"] == result.physical_id


def test_permission_requires_principal(make_context: Any, function_name: str) -> None:
    """Principal is required."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[Principal\] not found"):
        create(make_context, "Permission", "AWS::Lambda::Permission",
               {"FunctionName": function_name, "Action": "lambda:InvokeFunction"})


def test_sqs_event_source_mapping(make_context: Any, function_name: str,
                                  lambda_client: Any) -> None:
    """An SQS mapping keeps batch size, window, filters, response types and scaling."""
    sqs = make_context("Queue", "AWS::SQS::Queue").client("sqs")
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    filters = {"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]}

    result = create(make_context, "Mapping", "AWS::Lambda::EventSourceMapping", {
        "FunctionName": function_name, "EventSourceArn": queue_arn, "BatchSize": "5",
        "MaximumBatchingWindowInSeconds": "2", "FilterCriteria": filters,
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "Enabled": "false",
        "ScalingConfig": {"MaximumConcurrency": "3"},
    })

    mapping = lambda_client.get_event_source_mapping(UUID=result.physical_id)
    assert mapping["EventSourceArn"] == queue_arn
    assert mapping["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
    assert mapping["BatchSize"] == 5
    assert mapping["MaximumBatchingWindowInSeconds"] == 2
    assert mapping["FilterCriteria"] == filters
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert mapping["State"] == "Disabled"
    # Return values (MAPPING_DOCS): Ref is the mapping's UUID, with Id and EventSourceMappingArn.
    assert result.attributes["Id"] == result.physical_id
    assert result.attributes["EventSourceMappingArn"].endswith(result.physical_id)


def test_kinesis_mapping_starting_position(make_context: Any, function_name: str,
                                           lambda_client: Any) -> None:
    """A Kinesis mapping keeps its starting position and destination."""
    kinesis = make_context("Stream", "AWS::Kinesis::Stream").client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    destination = {"OnFailure": {"Destination": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"}}

    result = create(make_context, "Mapping", "AWS::Lambda::EventSourceMapping", {
        "FunctionName": function_name, "EventSourceArn": stream_arn,
        "StartingPosition": "TRIM_HORIZON", "DestinationConfig": destination,
        "BisectBatchOnFunctionError": "true", "MaximumRetryAttempts": "2",
    })

    mapping = lambda_client.get_event_source_mapping(UUID=result.physical_id)
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["DestinationConfig"] == destination
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 2


def test_mapping_requires_function(make_context: Any) -> None:
    """FunctionName is required (MAPPING_DOCS)."""
    with pytest.raises(ResourceCreationFailed, match=r"required key \[FunctionName\] not found"):
        create(make_context, "Mapping", "AWS::Lambda::EventSourceMapping",
               {"EventSourceArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"})


def test_version_and_weighted_alias(make_context: Any, function_name: str,
                                    lambda_client: Any) -> None:
    """A version's Ref is its ARN, and an alias stores routing weights as Lambda does."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-version.html
    first = create(make_context, "V1", "AWS::Lambda::Version",
                   {"FunctionName": function_name, "Description": "first"})
    lambda_client.update_function_configuration(FunctionName=function_name, Timeout=9)
    second = create(make_context, "V2", "AWS::Lambda::Version", {"FunctionName": function_name})

    alias = create(make_context, "Live", "AWS::Lambda::Alias", {
        "FunctionName": function_name, "Name": "live", "FunctionVersion": "1",
        "RoutingConfig": {"AdditionalVersionWeights": [
            {"FunctionVersion": "2", "FunctionWeight": "0.25"},
        ]},
    })

    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
    assert first.physical_id == f"{function_arn}:1"
    assert first.attributes == {"Version": "1", "FunctionArn": f"{function_arn}:1"}
    assert second.attributes["Version"] == "2"
    # Return values (ALIAS_DOCS): Ref is the alias ARN.
    assert alias.physical_id == f"{function_arn}:live"
    assert alias.attributes["AliasArn"] == alias.physical_id
    stored = lambda_client.get_alias(FunctionName=function_name, Name="live")
    assert stored["FunctionVersion"] == "1"
    assert stored["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}}


def test_alias_provisioned_concurrency_not_emulated(make_context: Any,
                                                    function_name: str) -> None:
    """ProvisionedConcurrencyConfig fails with a message that names it."""
    with pytest.raises(ResourceCreationFailed,
                       match="ProvisionedConcurrencyConfig is not emulated"):
        create(make_context, "Live", "AWS::Lambda::Alias", {
            "FunctionName": function_name, "Name": "live", "FunctionVersion": "$LATEST",
            "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 1},
        })


def test_layer_version_permission(make_context: Any, lambda_client: Any) -> None:
    """A layer version permission adds a statement to the layer version's policy."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-layerversionpermission.html
    layer = create(make_context, "Layer", "AWS::Lambda::LayerVersion",
                   {"LayerName": "shared", "Content": {"S3Bucket": "b", "S3Key": "k"}})

    result = create(make_context, "LayerPermission", "AWS::Lambda::LayerVersionPermission", {
        "LayerVersionArn": layer.physical_id, "Action": "lambda:GetLayerVersion",
        "Principal": "*",
    })

    policy = json.loads(lambda_client.get_layer_version_policy(
        LayerName="shared", VersionNumber=1)["Policy"])
    assert policy["Statement"][0]["Action"] == "lambda:GetLayerVersion"
    assert result.attributes["Id"] == result.physical_id


def test_function_url(make_context: Any, function_name: str, lambda_client: Any) -> None:
    """A function URL keeps its auth type and CORS settings and returns FunctionUrl."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-url.html
    result = create(make_context, "Url", "AWS::Lambda::Url", {
        "TargetFunctionArn": function_name, "AuthType": "NONE",
        "Cors": {"AllowOrigins": ["https://example.com"]},
    })

    stored = lambda_client.get_function_url_config(FunctionName=function_name)
    assert stored["AuthType"] == "NONE"
    assert stored["Cors"] == {"AllowOrigins": ["https://example.com"]}
    assert result.attributes["FunctionUrl"] == stored["FunctionUrl"]
    assert result.attributes["FunctionArn"] == stored["FunctionArn"]


def test_event_invoke_config(make_context: Any, function_name: str,
                             lambda_client: Any) -> None:
    """EventInvokeConfig stores retry attempts and maximum event age."""
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventinvokeconfig.html
    create(make_context, "Async", "AWS::Lambda::EventInvokeConfig", {
        "FunctionName": function_name, "Qualifier": "$LATEST",
        "MaximumRetryAttempts": "0", "MaximumEventAgeInSeconds": "60",
    })

    stored = lambda_client.get_function_event_invoke_config(FunctionName=function_name)
    assert stored["MaximumRetryAttempts"] == 0
    assert stored["MaximumEventAgeInSeconds"] == 60
