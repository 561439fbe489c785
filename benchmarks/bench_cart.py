"""Benchmark: the cart example's integration test, through windtunnel and directly on moto.

The test invokes addItem with an API Gateway event. The handler reads and writes the cart
in DynamoDB (GetItem, PutItem) and puts an ItemAdded event on the bus (PutEvents). Both
variants run that 100 times in one process, after setup, and compare the totals:

1. ``windtunnel``: ``Stack.local("examples/cart")`` and ``stack.invoke("addItem", event)``,
   the handler running in its execution environment with its own credentials and logs.
2. ``baseline``: under moto's ``mock_aws``, the same table and bus created by hand, and the
   handler function called directly - the same AWS calls with nothing in between.

Usage: ``python benchmarks/bench_cart.py [--repeat N]``; it prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

CART = Path(__file__).resolve().parent.parent / "examples" / "cart"

EVENT = textwrap.dedent("""
    def event(index):
        import json
        body = {"sku": f"sku-{index % 10}", "quantity": 1, "price": 9.5}
        return {
            "resource": "/{userId}/items", "path": "/user-1/items", "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Content-Type": ["application/json"]},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": {"userId": "user-1"}, "stageVariables": None,
            "requestContext": {"requestId": f"request-{index}", "stage": "dev",
                               "resourcePath": "/{userId}/items", "httpMethod": "POST",
                               "identity": {"sourceIp": "127.0.0.1"}},
            "body": json.dumps(body), "isBase64Encoded": False,
        }
""")

WINDTUNNEL_SCRIPT = EVENT + textwrap.dedent(f"""
    import time
    from windtunnel import Stack
    stack = Stack.local({str(CART)!r})
    stack.invoke("addItem", event(-1)).raise_for_error()
    started = time.perf_counter()
    for index in range({{repeat}}):
        result = stack.invoke("addItem", event(index))
        assert result.function_error is None, result.payload
    print(time.perf_counter() - started)
""")

BASELINE_SCRIPT = EVENT + textwrap.dedent(f"""
    import os, sys, time
    import boto3
    from moto import mock_aws

    class Context:
        function_name = "cart-dev-addItem"
        memory_limit_in_mb = 1024
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cart"
        aws_request_id = "baseline"

    with mock_aws():
        # The same variables serverless.yml gives the function.
        os.environ.update({{"AWS_DEFAULT_REGION": "us-east-1", "CART_TABLE": "cart",
                           "CART_BUS": "cart-bus", "POWERTOOLS_SERVICE_NAME": "cart",
                           "POWERTOOLS_LOG_LEVEL": "INFO"}})
        boto3.client("dynamodb").create_table(
            TableName="cart", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{{"AttributeName": "userId", "KeyType": "HASH"}},
                       {{"AttributeName": "sku", "KeyType": "RANGE"}}],
            AttributeDefinitions=[{{"AttributeName": "userId", "AttributeType": "S"}},
                                  {{"AttributeName": "sku", "AttributeType": "S"}}])
        boto3.client("events").create_event_bus(Name="cart-bus")
        sys.path.insert(0, {str(CART)!r})
        from src.cart import handlers
        handlers.add_item(event(-1), Context())
        started = time.perf_counter()
        for index in range({{repeat}}):
            response = handlers.add_item(event(index), Context())
            assert response["statusCode"] in (200, 201), response
        print(time.perf_counter() - started)
""")


def run_python(script: str) -> float:
    """Run ``script`` in a fresh interpreter and return the seconds it prints."""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=600, check=False, cwd=CART.parent.parent)
    if result.returncode != 0:
        raise SystemExit(f"benchmark script failed:\n{result.stderr[-3000:]}")
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100, help="invocations per run")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per variant")
    arguments = parser.parse_args()

    windtunnel_times, baseline_times = [], []
    for _ in range(arguments.runs):
        windtunnel_times.append(run_python(WINDTUNNEL_SCRIPT.replace("{repeat}",
                                                                     str(arguments.repeat))))
        baseline_times.append(run_python(BASELINE_SCRIPT.replace("{repeat}",
                                                                 str(arguments.repeat))))
    windtunnel_total = statistics.median(windtunnel_times)
    baseline_total = statistics.median(baseline_times)
    ratio = windtunnel_total / baseline_total
    print(json.dumps({"repeat": arguments.repeat, "runs": arguments.runs,
                      "windtunnel_s": windtunnel_total, "baseline_s": baseline_total,
                      "ratio": ratio}, indent=2))
    print()
    print("| measurement | total (median of runs) | ratio | target |")
    print("|---|---|---|---|")
    print(f"| {arguments.repeat} x cart integration test, windtunnel "
          f"| {windtunnel_total * 1000:.0f} ms | {ratio:.2f}x direct | at most 1.5x |")
    print(f"| {arguments.repeat} x same calls, handler called directly under mock_aws "
          f"| {baseline_total * 1000:.0f} ms | 1.00x | baseline |")


if __name__ == "__main__":
    main()
