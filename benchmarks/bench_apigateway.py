"""Benchmark: API Gateway emulation overhead, served throughput and mapping templates.

Measurements:

1. ``overhead``: the median time of a GET through the local REST API to a no-op Lambda
   proxy handler, in process (``stack.http_client``) and over a loopback socket (one
   keep-alive connection to ``stack.serve``). The baseline is the median of
   ``stack.invoke`` of the same function with a proxy event. The virtual clock moves
   1 ms between requests, outside the timed calls, so the account-level throttle refills
   as it would in real time.
2. ``load``: ``windtunnel up`` serves the application in a subprocess, and
   ``--clients`` client processes send GETs over keep-alive connections on 127.0.0.1
   for ``--seconds`` seconds. It reports requests per second, the error count (any
   status but 200, or a failed connection) and the median latency.
3. ``vtl``: renders per second of a typical request mapping template (JSON body fields,
   a path parameter, a header, a stage variable and context values) with
   ``windtunnel.vtl.render_mapping_template``.

Usage: ``python benchmarks/bench_apigateway.py [--requests N] [--clients N]
[--seconds S] [--renders N]``. It prints the results as JSON and as a Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from windtunnel import Stack
from windtunnel.vtl import render_mapping_template

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Noop:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: bench_noop.handler
      Events:
        Get: {Type: Api, Properties: {Path: "/items/{id}", Method: GET}}
"""

MAPPING_TEMPLATE = """#set($inputRoot = $input.path('$'))
{
  "orderId": "$input.params('id')",
  "customer": "$util.escapeJavaScript($inputRoot.customer)",
  "quantity": $inputRoot.quantity,
  "items": [
#foreach($item in $inputRoot.items)
    {"sku": "$item.sku", "price": $item.price}#if($foreach.hasNext),#end
#end
  ],
  "traceHeader": "$input.params().header.get('X-Trace')",
  "table": "$stageVariables.table",
  "requestId": "$context.requestId",
  "sourceIp": "$context.identity.sourceIp"
}"""
MAPPING_BODY = json.dumps({"customer": "Ana \"A\" Lee", "quantity": 3,
                           "items": [{"sku": "PEN", "price": 1.5},
                                     {"sku": "INK", "price": 4.0}]})


def write_application(root: Path) -> None:
    (root / "src").mkdir()
    (root / "src" / "bench_noop.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure_overhead(root: Path, requests: int) -> dict[str, float]:
    """Return the medians, in milliseconds, of the API paths and of a direct invoke."""
    with Stack.local(root, stack_name="bench-apigateway") as stack:
        client = stack.http_client()
        url = stack.serve(0)
        port = int(url.rsplit(":", 1)[1])
        api_id = stack.physical_id("ServerlessRestApi")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        path = f"/_aws/execute-api/{api_id}/Prod/items/1"
        event = {"resource": "/items/{id}", "path": "/items/1", "httpMethod": "GET",
                 "pathParameters": {"id": "1"}, "headers": None, "body": None}

        def over_socket() -> None:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} returned {response.status}")

        def in_process() -> None:
            response = client.get("/items/1")
            if response.status_code != 200:
                raise RuntimeError(f"GET /items/1 returned {response.status_code}")

        def invoke() -> None:
            stack.invoke("Noop", event).raise_for_error()

        samples: dict[str, list[float]] = {"invoke": [], "in_process": [], "socket": []}
        actions = {"invoke": invoke, "in_process": in_process, "socket": over_socket}
        for action in actions.values():
            action()  # warm up
        # Interleaved, so that a change in machine load affects each path alike.
        for _ in range(requests):
            for name, action in actions.items():
                samples[name].append(timed(action))
                stack.clock.advance(0.001)
        connection.close()
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    medians["in_process_extra"] = medians["in_process"] - medians["invoke"]
    medians["socket_extra"] = medians["socket"] - medians["invoke"]
    return medians


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _client(port: int, path: str, start: float, deadline: float, results: Any) -> None:
    """Send GETs over one keep-alive connection from ``start`` to ``deadline``
    (``time.time()`` values), so that every client runs over the same interval."""
    time.sleep(max(start - time.time(), 0.0))
    ok = errors = 0
    latencies: list[float] = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.time() < deadline:
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                ok += 1
            else:
                errors += 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
        latencies.append(time.perf_counter() - started)
    connection.close()
    results.put((ok, errors, statistics.median(latencies) if latencies else 0.0))


def measure_load(root: Path, clients: int, seconds: float) -> dict[str, float]:
    """Serve the application with ``windtunnel up`` and load it from client processes."""
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("windtunnel")), "up", str(root), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        api_id = _wait_for_api(port, timeout=60)
        path = f"/_aws/execute-api/{api_id}/Prod/items/1"
        results: Any = multiprocessing.Queue()
        start = time.time() + 2
        deadline = start + seconds
        workers = [multiprocessing.Process(target=_client,
                                           args=(port, path, start, deadline, results))
                   for _ in range(clients)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=seconds + 60) for _ in workers]
        for worker in workers:
            worker.join(timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=10)
    ok = sum(outcome[0] for outcome in outcomes)
    errors = sum(outcome[1] for outcome in outcomes)
    return {"clients": clients, "seconds": seconds, "requests": ok + errors,
            "requests_per_second": (ok + errors) / seconds, "errors": errors,
            "median_latency_ms": statistics.median(o[2] for o in outcomes) * 1000}


def _wait_for_api(port: int, timeout: float) -> str:
    """Wait until the endpoint is healthy and return the REST API's ID."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_windtunnel/health",
                                        timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    else:
        raise RuntimeError(f"windtunnel up did not respond on port {port} within {timeout} s")
    import boto3

    client = boto3.client("apigateway", endpoint_url=f"http://127.0.0.1:{port}",
                          region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    apis = client.get_rest_apis()["items"]
    return str(apis[0]["id"])


def measure_vtl(renders: int) -> dict[str, float]:
    """Return renders per second of the typical request mapping template."""
    params = {"path": {"id": "o-1"}, "querystring": {}, "header": {"X-Trace": "t-1"}}
    context = {"requestId": "r-1", "identity": {"sourceIp": "127.0.0.1"}}
    stage_variables = {"table": "orders"}

    def render() -> str:
        return render_mapping_template(MAPPING_TEMPLATE, body=MAPPING_BODY, params=params,
                                       context=context, stage_variables=stage_variables)

    rendered = json.loads(render())
    if rendered["items"][1]["sku"] != "INK" or rendered["table"] != "orders":
        raise RuntimeError(f"unexpected rendering: {rendered}")
    started = time.perf_counter()
    for _ in range(renders):
        render()
    elapsed = time.perf_counter() - started
    return {"renders": renders, "renders_per_second": renders / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests per path for the overhead medians (default 2000)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent client processes for the load test (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="duration of the load test in seconds (default 10)")
    parser.add_argument("--renders", type=int, default=20000,
                        help="mapping template renders to time (default 20000)")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        write_application(root)
        overhead = measure_overhead(root, arguments.requests)
        load = measure_load(root, arguments.clients, arguments.seconds)
    vtl = measure_vtl(arguments.renders)

    results = {"overhead_ms": overhead, "load": load, "vtl": vtl,
               "python": sys.version.split()[0], "cpus": os.cpu_count()}
    print(json.dumps(results, indent=2))
    print()
    print("| measurement | value | target |")
    print("|---|---|---|")
    print(f"| `stack.invoke` of the no-op handler, median | {overhead['invoke']:.3f} ms | - |")
    print(f"| GET in process (`http_client`), median | {overhead['in_process']:.3f} ms | - |")
    print(f"| GET over a loopback socket, median | {overhead['socket']:.3f} ms | - |")
    print(f"| extra for the API, in process | {overhead['in_process_extra']:.3f} ms "
          f"| at most 1 ms |")
    print(f"| extra for the API, socket | {overhead['socket_extra']:.3f} ms | at most 1 ms |")
    print(f"| {load['clients']} clients for {load['seconds']:.0f} s, requests/s "
          f"| {load['requests_per_second']:,.0f} | at least 1,000 |")
    print(f"| errors under load | {load['errors']} | 0 |")
    print(f"| mapping template renders/s | {vtl['renders_per_second']:,.0f} "
          f"| at least 10,000 |")


if __name__ == "__main__":
    main()
