"""Benchmark: AppSync resolver template evaluations and GraphQL query latency.

Measurements:

1. ``evaluate``: evaluations per second of a typical request mapping template (a
   PutItem with ``$util.autoId()``, ``$util.dynamodb.toMapValuesJson`` of the arguments,
   a condition expression and a ``$util.time`` timestamp) through ``stack.appsync.evaluate``.
   For scale, the same template sent through the EvaluateMappingTemplate API with an
   in-process boto3 client (``stack.client("appsync")``).
2. ``query``: the median time of a GraphQL query through one DynamoDB GetItem resolver
   with ``stack.graphql`` (API key authorization, a data source role that IAM checks).
   The baseline is the median of a bare boto3 GetItem of the same item with
   ``stack.client("dynamodb")``, in the same process and the same run.
3. ``publish``: the median time of a mutation (a NONE resolver) whose result is published
   to one matching subscription among ten started with ``stack.graphql.subscribe``. The
   baseline is the same mutation on a field that no subscription listens to, alternated
   with it in the same run.

Usage: ``python benchmarks/bench_appsync.py [--evaluations N] [--queries N]``. It prints
the results as JSON and as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from windtunnel import EmulatedStack, Stack

RESOLVER_TEMPLATE = """## Mutation.createOrder: a typical PutItem request template.
#set($now = $util.time.nowISO8601())
#set($values = $util.defaultIfNull($ctx.args.input, {}))
$util.qr($values.put("createdAt", $now))
$util.qr($values.put("owner", $ctx.identity.username))
{
  "version": "2018-05-29",
  "operation": "PutItem",
  "key": {"id": $util.dynamodb.toDynamoDBJson($util.autoId())},
  "attributeValues": $util.dynamodb.toMapValuesJson($values),
  "condition": {"expression": "attribute_not_exists(id)"}
}"""
RESOLVER_CONTEXT: dict[str, Any] = {
    "arguments": {"input": {"customer": "Ana Lee", "quantity": 3, "total": 12.5,
                            "items": [{"sku": "PEN", "price": 1.5},
                                      {"sku": "INK", "price": 4.0}]}},
    "identity": {"username": "ana", "sub": "0a1b2c3d"},
}

TEMPLATE = """
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: appsync.amazonaws.com},
                     Action: sts:AssumeRole}]
      Policies:
        - PolicyName: read
          PolicyDocument:
            Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: dynamodb:GetItem,
                         Resource: !GetAtt Table.Arn}]
  Api:
    Type: AWS::AppSync::GraphQLApi
    Properties: {Name: bench, AuthenticationType: API_KEY}
  Key:
    Type: AWS::AppSync::ApiKey
    Properties: {ApiId: !GetAtt Api.ApiId}
  Schema:
    Type: AWS::AppSync::GraphQLSchema
    Properties:
      ApiId: !GetAtt Api.ApiId
      Definition: |
        type Item { id: ID! name: String price: Float }
        type Query { item(id: ID!): Item }
        type Mutation {
          touch(id: ID!, name: String): Item
          touchWatched(id: ID!, name: String): Item
        }
        type Subscription {
          onTouch(id: ID): Item @aws_subscribe(mutations: ["touchWatched"])
        }
  Source:
    Type: AWS::AppSync::DataSource
    Properties:
      ApiId: !GetAtt Api.ApiId
      Name: items
      Type: AMAZON_DYNAMODB
      ServiceRoleArn: !GetAtt Role.Arn
      DynamoDBConfig: {TableName: !Ref Table, AwsRegion: !Ref AWS::Region}
  ItemResolver:
    Type: AWS::AppSync::Resolver
    DependsOn: [Schema, Source]
    Properties:
      ApiId: !GetAtt Api.ApiId
      TypeName: Query
      FieldName: item
      DataSourceName: items
      RequestMappingTemplate: >-
        {"version": "2018-05-29", "operation": "GetItem",
         "key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}}
      ResponseMappingTemplate: $util.toJson($ctx.result)
  NoneSource:
    Type: AWS::AppSync::DataSource
    Properties: {ApiId: !GetAtt Api.ApiId, Name: none, Type: NONE}
  TouchResolver:
    Type: AWS::AppSync::Resolver
    DependsOn: [Schema, NoneSource]
    Properties:
      ApiId: !GetAtt Api.ApiId
      TypeName: Mutation
      FieldName: touch
      DataSourceName: none
      RequestMappingTemplate: '{"version": "2018-05-29", "payload": $util.toJson($ctx.args)}'
      ResponseMappingTemplate: $util.toJson($ctx.result)
  TouchWatchedResolver:
    Type: AWS::AppSync::Resolver
    DependsOn: [Schema, NoneSource]
    Properties:
      ApiId: !GetAtt Api.ApiId
      TypeName: Mutation
      FieldName: touchWatched
      DataSourceName: none
      RequestMappingTemplate: '{"version": "2018-05-29", "payload": $util.toJson($ctx.args)}'
      ResponseMappingTemplate: $util.toJson($ctx.result)
Outputs:
  Key: {Value: !GetAtt Key.ApiKey}
  Table: {Value: !Ref Table}
"""
QUERY = "query Item($id: ID!) { item(id: $id) { id name price } }"


def measure_evaluations(stack: EmulatedStack, count: int) -> dict[str, float]:
    """Return evaluations per second through stack.appsync.evaluate and through the API."""
    first = stack.appsync.evaluate(RESOLVER_TEMPLATE, RESOLVER_CONTEXT)
    if not first.succeeded:
        raise SystemExit(f"the benchmark template failed: {first.error_message}")

    start = time.perf_counter()
    for _ in range(count):
        stack.appsync.evaluate(RESOLVER_TEMPLATE, RESOLVER_CONTEXT)
    direct = count / (time.perf_counter() - start)

    client = stack.client("appsync")
    context = json.dumps(RESOLVER_CONTEXT)
    api_count = max(count // 10, 1)
    start = time.perf_counter()
    for _ in range(api_count):
        client.evaluate_mapping_template(template=RESOLVER_TEMPLATE, context=context)
    through_api = api_count / (time.perf_counter() - start)
    return {"evaluations_per_second": direct, "api_evaluations_per_second": through_api}


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure_query(stack: EmulatedStack, count: int) -> dict[str, float]:
    """Return the median ms of a GraphQL query and of a bare GetItem of the same item."""
    dynamodb = stack.client("dynamodb")
    table = stack.outputs["Table"]
    dynamodb.put_item(TableName=table, Item={"id": {"S": "item-1"}, "name": {"S": "Pen"},
                                             "price": {"N": "1.5"}})
    headers = {"x-api-key": stack.outputs["Key"]}
    expected = {"data": {"item": {"id": "item-1", "name": "Pen", "price": 1.5}}}
    response = stack.graphql(QUERY, {"id": "item-1"}, headers=headers)
    if response.json() != expected:
        raise SystemExit(f"the benchmark query returned {response.text}")

    query_samples: list[float] = []
    get_samples: list[float] = []
    # Alternate the two, so that drift in the machine's speed affects both alike.
    for _ in range(count):
        start = time.perf_counter()
        stack.graphql(QUERY, {"id": "item-1"}, headers=headers)
        query_samples.append(time.perf_counter() - start)

        start = time.perf_counter()
        dynamodb.get_item(TableName=table, Key={"id": {"S": "item-1"}})
        get_samples.append(time.perf_counter() - start)
    query = median_ms(query_samples)
    get_item = median_ms(get_samples)
    return {"query_median_ms": query, "get_item_median_ms": get_item,
            "query_to_get_item_ratio": query / get_item}


def measure_publish(stack: EmulatedStack, count: int) -> dict[str, float]:
    """Return the median ms of a mutation that is published to subscriptions and of a
    mutation that is not, timed alternately."""
    headers = {"x-api-key": stack.outputs["Key"]}
    subscriptions = [stack.graphql.subscribe(
        "subscription S($id: ID) { onTouch(id: $id) { id name } }", {"id": f"item-{number}"},
        headers=headers) for number in range(10)]
    watched = "mutation M($id: ID!) { touchWatched(id: $id, name: \"Pen\") { id name } }"
    plain = "mutation M($id: ID!) { touch(id: $id, name: \"Pen\") { id name } }"
    published: list[float] = []
    unpublished: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        stack.graphql(watched, {"id": "item-0"}, headers=headers)
        published.append(time.perf_counter() - start)

        start = time.perf_counter()
        stack.graphql(plain, {"id": "item-0"}, headers=headers)
        unpublished.append(time.perf_counter() - start)
    delivered = len(subscriptions[0].pending())
    others = sum(len(subscription.pending()) for subscription in subscriptions[1:])
    for subscription in subscriptions:
        subscription.close()
    if delivered != count or others:
        raise SystemExit(f"delivered {delivered} of {count} payloads, {others} to others")
    with_subscribers = median_ms(published)
    without = median_ms(unpublished)
    return {"published_mutation_median_ms": with_subscribers,
            "plain_mutation_median_ms": without,
            "publish_ratio": with_subscribers / without}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=5000,
                        help="template evaluations to time (default 5000)")
    parser.add_argument("--queries", type=int, default=500,
                        help="GraphQL queries and GetItem calls to time (default 500)")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "template.yaml"
        path.write_text(TEMPLATE, encoding="utf-8")
        with Stack.local(path, stack_name="bench-appsync") as stack:
            results = {**measure_evaluations(stack, arguments.evaluations),
                       **measure_query(stack, arguments.queries),
                       **measure_publish(stack, arguments.queries)}

    print(json.dumps({key: round(value, 3) for key, value in results.items()}, indent=2))
    print()
    print("| measurement | result | target |")
    print("|---|---|---|")
    print(f"| template evaluations per second, stack.appsync.evaluate | "
          f"{results['evaluations_per_second']:,.0f} | at least 5,000 |")
    print(f"| template evaluations per second, EvaluateMappingTemplate API | "
          f"{results['api_evaluations_per_second']:,.0f} | - |")
    print(f"| GraphQL query, one DynamoDB resolver, median | "
          f"{results['query_median_ms']:.2f} ms | at most 3 ms |")
    print(f"| bare boto3 GetItem in process, median | "
          f"{results['get_item_median_ms']:.2f} ms | baseline |")
    print(f"| ratio of the query to GetItem | "
          f"{results['query_to_get_item_ratio']:.2f}x | - |")
    print(f"| mutation published to 1 of 10 subscriptions, median | "
          f"{results['published_mutation_median_ms']:.2f} ms | - |")
    print(f"| the same mutation on a field without subscriptions, median | "
          f"{results['plain_mutation_median_ms']:.2f} ms | baseline |")
    print(f"| ratio of publishing to not publishing | {results['publish_ratio']:.2f}x | - |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
