"""Unit tests of each event compiler, with expected shapes from the Framework's compilers.

Sources: https://github.com/serverless/serverless/tree/main/packages/serverless/lib/plugins/aws/package/compile/events
and the event pages under https://www.serverless.com/framework/docs/providers/aws/events
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.serverless import ServerlessTemplate

Compile = Callable[..., ServerlessTemplate]


def test_http_event_creates_rest_api(compile_yaml: Compile) -> None:
    """An http event adds the REST API, resource, method, permission, deployment and endpoint."""
    template = compile_yaml(
        "functions:\n  hello:\n    handler: h.main\n    events:\n      - http: GET users/{id}\n"
    )
    resources = template.body["Resources"]
    assert resources["ApiGatewayRestApi"]["Properties"]["Name"] == "dev-svc"
    assert resources["ApiGatewayResourceUsers"]["Properties"]["PathPart"] == "users"
    assert resources["ApiGatewayResourceUsersIdVar"]["Properties"]["ParentId"] == {
        "Ref": "ApiGatewayResourceUsers"
    }
    method = resources["ApiGatewayMethodUsersIdVarGet"]
    assert method["Properties"]["Integration"]["Type"] == "AWS_PROXY"
    assert method["DependsOn"] == ["HelloLambdaPermissionApiGateway"]
    assert resources["HelloLambdaPermissionApiGateway"]["Properties"]["Principal"] == (
        "apigateway.amazonaws.com"
    )
    deployments = [k for k in resources if k.startswith("ApiGatewayDeployment")]
    assert len(deployments) == 1
    assert resources[deployments[0]]["Properties"]["StageName"] == "dev"
    assert "ServiceEndpoint" in template.body["Outputs"]


def test_http_root_path_uses_root_resource(compile_yaml: Compile) -> None:
    """A method on / hangs off the REST API's RootResourceId."""
    template = compile_yaml(
        "functions:\n  hello:\n    handler: h.main\n    events:\n"
        "      - http:\n          path: /\n          method: any\n"
    )
    method = template.body["Resources"]["ApiGatewayMethodAny"]
    assert method["Properties"]["ResourceId"] == {
        "Fn::GetAtt": ["ApiGatewayRestApi", "RootResourceId"]
    }


def test_http_cors_adds_options_method(compile_yaml: Compile) -> None:
    """cors: true adds an OPTIONS mock method with the default headers."""
    template = compile_yaml(
        "functions:\n  hello:\n    handler: h.main\n    events:\n"
        "      - http:\n          path: items\n          method: post\n          cors: true\n"
    )
    options = template.body["Resources"]["ApiGatewayMethodItemsOptions"]["Properties"]
    parameters = options["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    assert parameters["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    assert parameters["method.response.header.Access-Control-Allow-Methods"] == "'OPTIONS,POST'"


def test_http_private_and_parameters(compile_yaml: Compile) -> None:
    """private sets ApiKeyRequired and required parameters add the request validator."""
    template = compile_yaml(
        "functions:\n  hello:\n    handler: h.main\n    events:\n"
        "      - http:\n          path: items\n          method: get\n          private: true\n"
        "          request:\n            parameters:\n              querystrings:\n"
        "                page: true\n"
    )
    properties = template.body["Resources"]["ApiGatewayMethodItemsGet"]["Properties"]
    assert properties["ApiKeyRequired"] is True
    assert properties["RequestParameters"] == {"method.request.querystring.page": True}
    assert properties["RequestValidatorId"] == {"Ref": "ApiGatewaySvcRequestValidator"}


def test_http_function_authorizer(compile_yaml: Compile) -> None:
    """An authorizer naming a function adds {Name}ApiGatewayAuthorizer and CUSTOM auth."""
    template = compile_yaml(
        "functions:\n  auth:\n    handler: h.auth\n  hello:\n    handler: h.main\n"
        "    events:\n      - http:\n          path: items\n          method: get\n"
        "          authorizer: auth\n"
    )
    resources = template.body["Resources"]
    method = resources["ApiGatewayMethodItemsGet"]
    assert method["Properties"]["AuthorizationType"] == "CUSTOM"
    assert method["Properties"]["AuthorizerId"] == {"Ref": "AuthApiGatewayAuthorizer"}
    authorizer = resources["AuthApiGatewayAuthorizer"]["Properties"]
    assert authorizer["Type"] == "TOKEN"
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"
    assert "AuthLambdaPermissionApiGateway" in resources


def test_http_lambda_integration_is_unsupported(compile_yaml: Compile) -> None:
    """A non-proxy integration raises UnsupportedFeatureError naming the function."""
    with pytest.raises(UnsupportedFeatureError, match="hello"):
        compile_yaml(
            "functions:\n  hello:\n    handler: h.main\n    events:\n"
            "      - http:\n          path: items\n          method: get\n"
            "          integration: lambda\n"
        )


def test_api_keys_and_usage_plan(compile_yaml: Compile) -> None:
    """provider.apiGateway.apiKeys adds keys, a usage plan and usage plan keys."""
    template = compile_yaml(
        "  apiGateway:\n    apiKeys:\n      - first\n"
        "    usagePlan:\n      quota:\n        limit: 100\n        period: DAY\n"
        "functions:\n  hello:\n    handler: h.main\n    events:\n      - http: GET items\n"
    )
    resources = template.body["Resources"]
    assert resources["ApiGatewayApiKey1"]["Properties"]["Name"] == "first"
    assert resources["ApiGatewayUsagePlan"]["Properties"]["Quota"] == {
        "Limit": 100,
        "Period": "DAY",
    }
    assert resources["ApiGatewayUsagePlanKey1"]["Properties"]["KeyId"] == {
        "Ref": "ApiGatewayApiKey1"
    }


def test_http_api_event(compile_yaml: Compile) -> None:
    """An httpApi event adds HttpApi, HttpApiStage, integration, route and permission."""
    template = compile_yaml(
        "  httpApi:\n    cors: true\n    payload: '1.0'\n"
        "functions:\n  hello:\n    handler: h.main\n    events:\n"
        "      - httpApi: GET /users/{id}\n      - httpApi: '*'\n"
    )
    resources = template.body["Resources"]
    assert resources["HttpApi"]["Properties"]["CorsConfiguration"]["AllowMethods"] == [
        "OPTIONS",
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "HEAD",
        "DELETE",
    ]
    assert resources["HttpApiStage"]["Properties"]["StageName"] == "$default"
    assert resources["HttpApiIntegrationHello"]["Properties"]["PayloadFormatVersion"] == "1.0"
    assert resources["HttpApiRouteGetUsersIdVar"]["Properties"]["RouteKey"] == "GET /users/{id}"
    assert resources["HttpApiRouteDefault"]["Properties"]["RouteKey"] == "$default"
    assert "HelloLambdaPermissionHttpApi" in resources
    assert "HttpApiUrl" in template.body["Outputs"]


def test_http_api_jwt_authorizer(compile_yaml: Compile) -> None:
    """A route naming a JWT authorizer uses AuthorizationType JWT and the authorizer's ID."""
    template = compile_yaml(
        "  httpApi:\n    authorizers:\n      main:\n"
        "        identitySource: $request.header.Authorization\n"
        "        issuerUrl: https://issuer.example.com\n        audience: [client]\n"
        "functions:\n  hello:\n    handler: h.main\n    events:\n"
        "      - httpApi:\n          method: GET\n          path: /me\n"
        "          authorizer:\n            name: main\n            scopes: [read]\n"
    )
    resources = template.body["Resources"]
    route = resources["HttpApiRouteGetMe"]["Properties"]
    assert route["AuthorizationType"] == "JWT"
    assert route["AuthorizerId"] == {"Ref": "HttpApiAuthorizerMain"}
    assert route["AuthorizationScopes"] == ["read"]
    assert resources["HttpApiAuthorizerMain"]["Properties"]["JwtConfiguration"] == {
        "Audience": ["client"],
        "Issuer": "https://issuer.example.com",
    }


def test_http_api_duplicate_route(compile_yaml: Compile) -> None:
    """Two functions on one route is the Framework's duplicate route error."""
    with pytest.raises(TemplateError, match="Duplicate route 'GET /a'"):
        compile_yaml(
            "functions:\n  one:\n    handler: h.one\n    events:\n      - httpApi: GET /a\n"
            "  two:\n    handler: h.two\n    events:\n      - httpApi: GET /a\n"
        )


def test_sqs_event(compile_yaml: Compile) -> None:
    """An sqs event adds an event source mapping and the shared-role SQS statement."""
    template = compile_yaml(
        "functions:\n  worker:\n    handler: h.main\n    events:\n"
        "      - sqs:\n          arn: !GetAtt Jobs.Arn\n          batchSize: 5\n"
    )
    resources = template.body["Resources"]
    mapping = resources["WorkerEventSourceMappingSQSJobs"]
    assert mapping["Properties"]["BatchSize"] == 5
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["Jobs", "Arn"]}
    assert mapping["DependsOn"] == ["IamRoleLambdaExecution"]
    statements = resources["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    assert statements[-1]["Action"] == [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ]


def test_dynamodb_stream_event(compile_yaml: Compile) -> None:
    """A stream event on a DynamoDB stream ARN uses TRIM_HORIZON and the Dynamodb ID part."""
    template = compile_yaml(
        "functions:\n  sync:\n    handler: h.main\n    events:\n"
        "      - stream: arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024\n"
    )
    mapping = template.body["Resources"]["SyncEventSourceMappingDynamodbOrders"]["Properties"]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 10


def test_kinesis_stream_event_with_intrinsic(compile_yaml: Compile) -> None:
    """A stream event with an intrinsic ARN takes its name from the GetAtt resource."""
    template = compile_yaml(
        "functions:\n  sync:\n    handler: h.main\n    events:\n"
        "      - stream:\n          type: kinesis\n          arn: !GetAtt Feed.Arn\n"
        "          startingPosition: LATEST\n"
    )
    mapping = template.body["Resources"]["SyncEventSourceMappingKinesisFeed"]["Properties"]
    assert mapping["StartingPosition"] == "LATEST"


def test_sns_event_creates_topic(compile_yaml: Compile) -> None:
    """An sns event with a topic name creates SNSTopic{Name} with a subscription."""
    template = compile_yaml(
        "functions:\n  hello:\n    handler: h.main\n    events:\n      - sns: dispatch\n"
    )
    resources = template.body["Resources"]
    topic = resources["SNSTopicDispatch"]["Properties"]
    assert topic["TopicName"] == "dispatch"
    assert topic["Subscription"] == [
        {"Endpoint": {"Fn::GetAtt": ["HelloLambdaFunction", "Arn"]}, "Protocol": "lambda"}
    ]
    assert resources["HelloLambdaPermissionDispatchSNS"]["Properties"]["Principal"] == (
        "sns.amazonaws.com"
    )


def test_sns_event_on_existing_topic(compile_yaml: Compile) -> None:
    """An sns event with an ARN adds a subscription resource instead of a topic."""
    template = compile_yaml(
        "functions:\n  hello:\n    handler: h.main\n    events:\n"
        "      - sns:\n          arn: arn:aws:sns:us-east-1:123456789012:alerts\n"
        "          filterPolicy:\n            kind: [urgent]\n"
    )
    resources = template.body["Resources"]
    subscription = resources["HelloSnsSubscriptionAlerts"]["Properties"]
    assert subscription["FilterPolicy"] == {"kind": ["urgent"]}
    assert "SNSTopicAlerts" not in resources


def test_schedule_event(compile_yaml: Compile) -> None:
    """Each rate of a schedule event gets EventsRuleSchedule{N} and its permission."""
    template = compile_yaml(
        "functions:\n  cron:\n    handler: h.main\n    events:\n"
        "      - schedule: rate(5 minutes)\n"
        "      - schedule:\n          rate: ['cron(0 12 * * ? *)']\n          enabled: false\n"
        "          input:\n            key: value\n"
    )
    resources = template.body["Resources"]
    first = resources["CronEventsRuleSchedule1"]["Properties"]
    assert first["ScheduleExpression"] == "rate(5 minutes)"
    assert first["Targets"][0]["Id"] == "cronSchedule"
    second = resources["CronEventsRuleSchedule2"]["Properties"]
    assert second["State"] == "DISABLED"
    assert second["Targets"][0]["Input"] == '{"key":"value"}'
    assert resources["CronLambdaPermissionEventsRuleSchedule2"]["Properties"]["SourceArn"] == {
        "Fn::GetAtt": ["CronEventsRuleSchedule2", "Arn"]
    }


def test_event_bridge_event_with_custom_bus(compile_yaml: Compile) -> None:
    """An eventBridge event on a named bus creates the bus, the rule and the permission."""
    template = compile_yaml(
        "functions:\n  react:\n    handler: h.main\n    events:\n"
        "      - schedule: rate(1 hour)\n"
        "      - eventBridge:\n          eventBus: orders\n"
        "          pattern:\n            source: [shop]\n"
    )
    resources = template.body["Resources"]
    assert resources["OrdersEventBridgeEventBus"]["Properties"] == {"Name": "orders"}
    # The index counts all events of the function, so this rule is number 2.
    rule = resources["Svcdevreactrule2EventBridgeRule"]
    assert rule["Properties"]["Name"] == "svc-dev-react-rule-2"
    assert rule["Properties"]["EventBusName"] == "orders"
    assert rule["Properties"]["Targets"][0]["Id"] == "svc-dev-react-rule-2-target"
    assert rule["DependsOn"] == "OrdersEventBridgeEventBus"
    assert "ReactEventBridgeLambdaPermission2" in resources


def test_s3_event(compile_yaml: Compile) -> None:
    """An s3 event creates S3Bucket{Name} with a notification and a permission it depends on."""
    template = compile_yaml(
        "functions:\n  resize:\n    handler: h.main\n    events:\n"
        "      - s3:\n          bucket: photos\n          event: s3:ObjectCreated:Put\n"
        "          rules:\n            - suffix: .jpg\n"
    )
    resources = template.body["Resources"]
    bucket = resources["S3BucketPhotos"]
    configuration = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"][0]
    assert configuration["Event"] == "s3:ObjectCreated:Put"
    assert configuration["Filter"] == {"S3Key": {"Rules": [{"Name": "suffix", "Value": ".jpg"}]}}
    assert bucket["DependsOn"] == ["ResizeLambdaPermissionPhotosS3"]


def test_unknown_event_type(compile_yaml: Compile) -> None:
    """An event type that is not compiled raises UnsupportedFeatureError naming it."""
    with pytest.raises(UnsupportedFeatureError, match="'websocket' of function 'hello'"):
        compile_yaml(
            "functions:\n  hello:\n    handler: h.main\n    events:\n      - websocket: $connect\n"
        )
