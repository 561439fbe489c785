"""Request parameters read back from each protocol's wire form.

Protocols: https://smithy.io/2.0/aws/protocols/index.html
"""

from __future__ import annotations

import contextlib

from botocore.exceptions import ClientError

from windtunnel.cloud.messages import AwsRequest
from windtunnel.cloud.pipeline import Cloud
from windtunnel.iam.operations.parameters import parameters_of, unflatten


def _capture(cloud: Cloud, service: str, method: str, **arguments: object) -> AwsRequest:
    captured: list[AwsRequest] = []
    cloud.add_before_dispatch(captured.append)
    with contextlib.suppress(ClientError):
        getattr(cloud.client(service), method)(**arguments)
    return captured[-1]


def test_unflatten_lists_and_maps() -> None:
    """Query members ``.member.N`` become lists and ``.entry.N`` pairs become maps."""
    flat = {"Action": "CreateTopic", "Name": "t",
            "Tags.member.1.Key": "a", "Tags.member.1.Value": "1",
            "Tags.member.2.Key": "b", "Tags.member.2.Value": "2",
            "Attributes.entry.1.key": "DisplayName", "Attributes.entry.1.value": "T"}

    assert unflatten(flat) == {"Name": "t",
                               "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                               "Attributes": {"DisplayName": "T"}}


def test_query_protocol_request() -> None:
    """An SNS request's form body is read into nested members."""
    request = _capture(Cloud(), "sns", "create_topic", Name="alerts",
                       Tags=[{"Key": "team", "Value": "ops"}])

    parameters = parameters_of(request, "CreateTopic")

    assert parameters == {"Name": "alerts", "Tags": [{"Key": "team", "Value": "ops"}]}


def test_rest_json_uri_and_query_members() -> None:
    """A Lambda request's members come from its URI template and query string."""
    request = _capture(Cloud(), "lambda", "invoke", FunctionName="checkout",
                       Qualifier="live", Payload=b'{"FunctionName": "other"}')

    parameters = parameters_of(request, "Invoke")

    assert parameters["FunctionName"] == "checkout"
    assert parameters["Qualifier"] == "live"
    assert "Payload" not in parameters


def test_rest_json_body_members() -> None:
    """A REST-JSON body that is the input structure adds its members."""
    request = _capture(Cloud(), "appsync", "create_resolver", apiId="api1",
                       typeName="Query", fieldName="order")

    parameters = parameters_of(request, "CreateResolver")

    assert parameters["apiId"] == "api1"
    assert parameters["typeName"] == "Query"
    assert parameters["fieldName"] == "order"


def test_invalid_json_body_gives_no_parameters() -> None:
    """A body that is not JSON gives no parameters; the service rejects the request."""
    request = AwsRequest("POST", "https://dynamodb.us-east-1.amazonaws.com/",
                         {"X-Amz-Target": "DynamoDB_20120810.GetItem"}, b"{not json",
                         "dynamodb", "us-east-1", operation="GetItem")

    assert parameters_of(request, "GetItem") == {}
