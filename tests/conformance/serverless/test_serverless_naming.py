"""Logical IDs that the Serverless Framework generates, checked against its naming rules."""

from __future__ import annotations

import pytest

from windtunnel.template.serverless import naming

NAMING_JS = (
    "https://github.com/serverless/serverless/blob/main/"
    "packages/serverless/lib/plugins/aws/lib/naming.js"
)
RESOURCES_DOC = "https://www.serverless.com/framework/docs/providers/aws/guide/resources"


@pytest.mark.parametrize(
    ("produced", "expected", "source"),
    [
        # getNormalizedResourceName: "-" -> Dash, "_" -> Underscore, first letter upper-cased.
        (naming.lambda_logical_id("hello"), "HelloLambdaFunction", RESOURCES_DOC),
        (naming.lambda_logical_id("hello-world"), "HelloDashworldLambdaFunction", RESOURCES_DOC),
        (naming.lambda_logical_id("hello_world"), "HelloUnderscoreworldLambdaFunction", NAMING_JS),
        (naming.lambda_logical_id("helloWorld"), "HelloWorldLambdaFunction", NAMING_JS),
        (naming.log_group_logical_id("hello-world"), "HelloDashworldLogGroup", RESOURCES_DOC),
        (naming.layer_logical_id("deps"), "DepsLambdaLayer", NAMING_JS),
        (naming.version_logical_id("hello", "a+b/c="), "HelloLambdaVersionabc", NAMING_JS),
        # normalizePathPart: lodash capitalize lower-cases the rest of each path part.
        (
            naming.resource_logical_id("users/create"),
            "ApiGatewayResourceUsersCreate",
            RESOURCES_DOC,
        ),
        (
            naming.resource_logical_id("users/{userId}"),
            "ApiGatewayResourceUsersUseridVar",
            NAMING_JS,
        ),
        (naming.resource_logical_id("my-path"), "ApiGatewayResourceMyDashpath", NAMING_JS),
        (naming.resource_logical_id("{proxy+}"), "ApiGatewayResourceProxyVar", NAMING_JS),
        (
            naming.method_logical_id(naming.normalize_path("users/create"), "POST"),
            "ApiGatewayMethodUsersCreatePost",
            RESOURCES_DOC,
        ),
        (naming.method_logical_id("", "get"), "ApiGatewayMethodGet", NAMING_JS),
        (naming.authorizer_logical_id("auth"), "AuthApiGatewayAuthorizer", RESOURCES_DOC),
        (
            naming.rest_api_permission_logical_id("hello"),
            "HelloLambdaPermissionApiGateway",
            RESOURCES_DOC,
        ),
        (
            naming.validator_logical_id("my-service"),
            "ApiGatewayMyserviceRequestValidator",
            NAMING_JS,
        ),
        (naming.model_logical_id("create-item"), "ApiGatewayCreateItemModel", NAMING_JS),
        (
            naming.endpoint_model_logical_id("Items", "post", "application/json"),
            "ApiGatewayMethodItemsPostApplicationJsonModel",
            NAMING_JS,
        ),
        (naming.api_key_logical_id(1), "ApiGatewayApiKey1", RESOURCES_DOC),
        (naming.http_api_integration_logical_id("hello"), "HttpApiIntegrationHello", NAMING_JS),
        (
            naming.http_api_route_logical_id("GET /users/{id}"),
            "HttpApiRouteGetUsersIdVar",
            NAMING_JS,
        ),
        (naming.http_api_route_logical_id("*"), "HttpApiRouteDefault", NAMING_JS),
        (naming.http_api_permission_logical_id("hello"), "HelloLambdaPermissionHttpApi", NAMING_JS),
        (naming.http_api_authorizer_logical_id("jwt"), "HttpApiAuthorizerJwt", NAMING_JS),
        (naming.bucket_logical_id("photos"), "S3BucketPhotos", RESOURCES_DOC),
        (naming.bucket_logical_id("my-photos.bucket"), "S3BucketMyphotosbucket", NAMING_JS),
        (
            naming.s3_permission_logical_id("resize", "photos"),
            "ResizeLambdaPermissionPhotosS3",
            RESOURCES_DOC,
        ),
        (naming.topic_logical_id("dispatch"), "SNSTopicDispatch", RESOURCES_DOC),
        (
            naming.sns_permission_logical_id("hello", "dispatch"),
            "HelloLambdaPermissionDispatchSNS",
            RESOURCES_DOC,
        ),
        (
            naming.sns_subscription_logical_id("hello", "dispatch"),
            "HelloSnsSubscriptionDispatch",
            NAMING_JS,
        ),
        (naming.schedule_logical_id("cron", 1), "CronEventsRuleSchedule1", RESOURCES_DOC),
        (
            naming.schedule_permission_logical_id("cron", 1),
            "CronLambdaPermissionEventsRuleSchedule1",
            RESOURCES_DOC,
        ),
        (
            naming.queue_logical_id("worker", "my-queue"),
            "WorkerEventSourceMappingSQSMyqueue",
            RESOURCES_DOC,
        ),
        (
            naming.stream_logical_id("sync", "dynamodb", "Table"),
            "SyncEventSourceMappingDynamodbTable",
            RESOURCES_DOC,
        ),
        (naming.event_bus_logical_id("orders-bus"), "OrdersDashbusEventBridgeEventBus", NAMING_JS),
        (
            naming.event_bridge_rule_logical_id("svc-dev-fn-rule-1"),
            "Svcdevfnrule1EventBridgeRule",
            NAMING_JS,
        ),
        (
            naming.event_bridge_permission_logical_id("fn", 1),
            "FnEventBridgeLambdaPermission1",
            NAMING_JS,
        ),
    ],
)
def test_logical_id(produced: str, expected: str, source: str) -> None:
    """Each generated logical ID matches the Framework's naming rule."""
    assert produced == expected, source


@pytest.mark.parametrize(
    ("fixed", "expected", "source"),
    [
        (naming.ROLE_LOGICAL_ID, "IamRoleLambdaExecution", RESOURCES_DOC),
        (naming.DEPLOYMENT_BUCKET_LOGICAL_ID, "ServerlessDeploymentBucket", RESOURCES_DOC),
        (naming.DEPLOYMENT_BUCKET_POLICY_LOGICAL_ID, "ServerlessDeploymentBucketPolicy", NAMING_JS),
        (naming.REST_API_LOGICAL_ID, "ApiGatewayRestApi", RESOURCES_DOC),
        (naming.HTTP_API_LOGICAL_ID, "HttpApi", NAMING_JS),
        (naming.HTTP_API_STAGE_LOGICAL_ID, "HttpApiStage", NAMING_JS),
    ],
)
def test_fixed_logical_id(fixed: str, expected: str, source: str) -> None:
    """Service-wide resources keep the Framework's fixed logical IDs."""
    assert fixed == expected, source
