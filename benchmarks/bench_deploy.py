"""Benchmark: load and deploy a template, against creating the same resources by hand.

Three measurements, run in the same session so their ratios are meaningful:

1. ``windtunnel``: a fresh Python process imports windtunnel and deploys
   ``templates/deploy.yaml`` (5 functions, 3 tables, 2 queues, 1 topic, 1 bus with
   2 rules, 1 state machine, a REST API) with ``Stack.local``.
2. ``baseline``: a fresh Python process imports boto3 and moto and creates the same
   resources with boto3 calls under moto's ``mock_aws`` - the floor that a local
   deployment cannot beat.
3. ``reset``: in one process, the median time of ``reset()`` after the deployment,
   against the median time of a fresh deployment in the same (warm) process.

Both process timings start before the first import and end when the last resource exists.
Usage: ``python benchmarks/bench_deploy.py [--runs N]``; it prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

TEMPLATE = Path(__file__).parent / "templates" / "deploy.yaml"

WINDTUNNEL_SCRIPT = textwrap.dedent(f"""
    import time
    started = time.perf_counter()
    from windtunnel import Stack
    stack = Stack.local({str(TEMPLATE)!r}, stack_name="bench")
    elapsed = time.perf_counter() - started
    assert len(stack.deployed.resources) == 21, stack.deployed.resources
    print(elapsed)
""")

# The same resources, created with boto3 the way a test fixture would by hand.
BASELINE_SCRIPT = textwrap.dedent("""
    import time
    started = time.perf_counter()
    import io, json, zipfile
    import boto3
    from moto import mock_aws

    def code():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", "def handler(event, context):\\n    return event\\n")
        return buffer.getvalue()

    def trust(service):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": service},
            "Action": "sts:AssumeRole"}]})

    with mock_aws():
        region = "us-east-1"
        iam = boto3.client("iam", region_name=region)
        function_role = iam.create_role(
            RoleName="function-role",
            AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))["Role"]["Arn"]
        machine_role = iam.create_role(
            RoleName="machine-role",
            AssumeRolePolicyDocument=trust("states.amazonaws.com"))["Role"]["Arn"]

        awslambda = boto3.client("lambda", region_name=region)
        arns = {}
        for name in ("create-order", "get-order", "ship-order", "notify", "audit"):
            arns[name] = awslambda.create_function(
                FunctionName=name, Runtime="python3.12", Handler="index.handler",
                Role=function_role, Code={"ZipFile": code()})["FunctionArn"]

        dynamodb = boto3.client("dynamodb", region_name=region)
        for name in ("orders", "customers"):
            dynamodb.create_table(
                TableName=name, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        dynamodb.create_table(
            TableName="audit", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])

        sqs = boto3.client("sqs", region_name=region)
        queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
        sqs.create_queue(QueueName="dead-letters")
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        boto3.client("sns", region_name=region).create_topic(Name="notifications")

        events = boto3.client("events", region_name=region)
        events.create_event_bus(Name="orders-bus")
        events.put_rule(Name="created", EventBusName="orders-bus", EventPattern=json.dumps(
            {"source": ["orders"], "detail-type": ["OrderCreated"]}))
        events.put_targets(Rule="created", EventBusName="orders-bus",
                           Targets=[{"Id": "notify", "Arn": arns["notify"]}])
        events.put_rule(Name="shipped", EventBusName="orders-bus", EventPattern=json.dumps(
            {"source": ["orders"], "detail-type": ["OrderShipped"]}))
        events.put_targets(Rule="shipped", EventBusName="orders-bus",
                           Targets=[{"Id": "queue", "Arn": queue_arn}])

        boto3.client("stepfunctions", region_name=region).create_state_machine(
            name="fulfilment", roleArn=machine_role, definition=json.dumps({
                "StartAt": "Ship", "States": {"Ship": {
                    "Type": "Task", "Resource": arns["ship-order"], "End": True}}}))

        apigateway = boto3.client("apigateway", region_name=region)
        api = apigateway.create_rest_api(name="orders-api")["id"]
        root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
        resource = apigateway.create_resource(
            restApiId=api, parentId=root, pathPart="orders")["id"]
        apigateway.put_method(restApiId=api, resourceId=resource, httpMethod="POST",
                              authorizationType="NONE")
        apigateway.put_integration(
            restApiId=api, resourceId=resource, httpMethod="POST", type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                f"{arns['create-order']}/invocations")
        apigateway.create_deployment(restApiId=api, stageName="prod")
        elapsed = time.perf_counter() - started
    print(elapsed)
""")

RESET_SCRIPT = textwrap.dedent(f"""
    import statistics, time
    from windtunnel import Stack
    Stack.local({str(TEMPLATE)!r}, stack_name="warmup")
    deploys = []
    for _ in range(5):
        started = time.perf_counter()
        stack = Stack.local({str(TEMPLATE)!r}, stack_name="bench")
        deploys.append(time.perf_counter() - started)
    table = stack.physical_id("OrdersTable")
    dynamodb = stack.client("dynamodb")
    resets = []
    for index in range(50):
        dynamodb.put_item(TableName=table, Item={{"pk": {{"S": str(index)}}}})
        started = time.perf_counter()
        stack.reset()
        resets.append(time.perf_counter() - started)
    assert dynamodb.scan(TableName=table)["Count"] == 0
    print(statistics.median(deploys), statistics.median(resets))
""")


def run_python(script: str) -> list[float]:
    """Run ``script`` in a fresh interpreter and return the numbers it prints."""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, check=True)
    return [float(value) for value in result.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per variant")
    arguments = parser.parse_args()

    windtunnel_times: list[float] = []
    baseline_times: list[float] = []
    for _ in range(arguments.runs):
        # Alternate the variants so that machine noise affects both alike.
        windtunnel_times.extend(run_python(WINDTUNNEL_SCRIPT))
        baseline_times.extend(run_python(BASELINE_SCRIPT))
    warm_deploy, reset = run_python(RESET_SCRIPT)

    windtunnel_median = statistics.median(windtunnel_times)
    baseline_median = statistics.median(baseline_times)
    results = {
        "runs": arguments.runs,
        "windtunnel_deploy_s": windtunnel_median,
        "baseline_by_hand_s": baseline_median,
        "deploy_ratio": windtunnel_median / baseline_median,
        "warm_deploy_s": warm_deploy,
        "reset_s": reset,
        "reset_ratio": reset / warm_deploy,
    }
    print(json.dumps(results, indent=2))
    print()
    print("| measurement | median | ratio | target |")
    print("|---|---|---|---|")
    print(f"| load + deploy, imports included (windtunnel) | {windtunnel_median * 1000:.0f} ms"
          f" | {results['deploy_ratio']:.2f}x by hand | at most 1.5x |")
    print(f"| same resources by hand, boto3 under mock_aws | {baseline_median * 1000:.0f} ms"
          f" | 1.00x | floor |")
    print(f"| reset() after deploy | {reset * 1000:.2f} ms | {results['reset_ratio']:.3f}x of a"
          f" warm deploy ({warm_deploy * 1000:.0f} ms) | at most 0.10x |")


if __name__ == "__main__":
    main()
