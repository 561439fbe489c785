"""Benchmark: what IAM enforcement adds to a DynamoDB GetItem through the HTTP endpoint.

The session's secret is registered as for a function, so both modes also verify each
request's SigV4 signature; the ratio is the cost of the policy checks.

A role with 50 statements (49 that do not apply and one that allows the GetItem) signs the
requests, as a function's execution role would. The same client calls GetItem with
enforcement on and off, alternating blocks of calls so that both modes see the same
machine load; the result is the median of each mode and their ratio.

Usage: ``python benchmarks/bench_iam.py [--calls N] [--statements N]``; it prints the
results as JSON and as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import boto3

from windtunnel.cloud.pipeline import Cloud
from windtunnel.cloud.server import EndpointServer
from windtunnel.iam.enforcement import IamMode
from windtunnel.runtime.variables import role_credentials

ACCOUNT = "123456789012"
TABLE = "bench"
BLOCK = 50


def policy_with(statements: int) -> dict[str, Any]:
    """Return an identity policy of ``statements`` statements; only the last allows GetItem."""
    unrelated = [
        {"Sid": f"Other{index}", "Effect": "Allow",
         "Action": ["dynamodb:PutItem", "dynamodb:Query", f"sqs:SendMessage{index}"],
         "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/other-{index}",
         "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}
        for index in range(statements - 1)
    ]
    allow = {"Sid": "Read", "Effect": "Allow", "Action": "dynamodb:GetItem",
             "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"}
    return {"Version": "2012-10-17", "Statement": [*unrelated, allow]}


def prepare(cloud: Cloud, statements: int) -> tuple[str, str, str]:
    """Create the table, an item and the role; return the role session's credentials."""
    dynamodb = cloud.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    dynamodb.put_item(TableName=TABLE, Item={"id": {"S": "1"}, "value": {"S": "x"}})
    iam = cloud.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(
        trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="bench", PolicyName="bench",
                        PolicyDocument=json.dumps(policy_with(statements)))
    access_key, secret, token = role_credentials(role_arn, "bench-function")
    # As for a function's session: the secret and token let the pipeline verify signatures.
    cloud.register_role_session(access_key, role_arn, "bench-function",
                                function_name="bench-function", secret_key=secret,
                                session_token=token)
    return access_key, secret, token


def measure(calls: int, statements: int) -> dict[str, float]:
    """Return the median GetItem time with enforcement on and off, in seconds."""
    cloud = Cloud()
    access_key, secret, token = prepare(cloud, statements)
    durations: dict[IamMode, list[float]] = {IamMode.ENFORCE: [], IamMode.OFF: []}
    server = EndpointServer(cloud, port=0).start()
    try:
        client = boto3.session.Session(
            aws_access_key_id=access_key, aws_secret_access_key=secret,
            aws_session_token=token, region_name="us-east-1",
        ).client("dynamodb", endpoint_url=server.url)
        key = {"id": {"S": "1"}}
        for mode in (IamMode.ENFORCE, IamMode.OFF):  # warm-up of both paths
            cloud.authorizer.mode = mode
            for _ in range(BLOCK):
                client.get_item(TableName=TABLE, Key=key)
        for _ in range(max(1, calls // BLOCK)):
            for mode in (IamMode.ENFORCE, IamMode.OFF):
                cloud.authorizer.mode = mode
                for _ in range(BLOCK):
                    started = time.perf_counter()
                    client.get_item(TableName=TABLE, Key=key)
                    durations[mode].append(time.perf_counter() - started)
    finally:
        server.stop()
    denied = [record for record in cloud.authorizer.records if not record.allowed]
    if denied:
        raise SystemExit(f"the benchmark role was denied: {denied[0]}")
    return {"enforce": statistics.median(durations[IamMode.ENFORCE]),
            "off": statistics.median(durations[IamMode.OFF])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000,
                        help="GetItem calls per mode (default: 2000)")
    parser.add_argument("--statements", type=int, default=50,
                        help="statements in the role's policy (default: 50)")
    arguments = parser.parse_args()

    result = measure(arguments.calls, arguments.statements)
    ratio = result["enforce"] / result["off"]
    print(json.dumps({**result, "ratio": ratio, "statements": arguments.statements}))
    print()
    print("| measurement | median | ratio | target |")
    print("|---|---|---|---|")
    print(f"| GetItem through the endpoint, IAM enforced ({arguments.statements} statements) "
          f"| {result['enforce'] * 1e6:.0f} µs | {ratio:.2f}x | at most 1.20x |")
    print(f"| GetItem through the endpoint, IAM off | {result['off'] * 1e6:.0f} µs | 1.00x "
          f"| baseline |")


if __name__ == "__main__":
    main()
