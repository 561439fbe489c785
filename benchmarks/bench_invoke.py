"""Benchmark: invoke a no-op handler through windtunnel, against calling it directly.

Measurements, all in this one process so their differences are meaningful:

1. ``direct``: the median time of ``handler(event, None)``, the floor.
2. ``warm``: the median time of ``stack.invoke`` on a warm execution environment, in each
   isolation mode (``thread`` and ``process``), over ``--invocations`` calls.
3. ``cold``: the median time of ``stack.invoke`` right after the function's environments
   were discarded, over ``--cold`` fresh environments, in each mode. It includes reading
   the function's configuration again. The handler module's own import time (the median
   of importing it afresh), which Lambda counts as initialization too, is measured
   separately and subtracted.

Usage: ``python benchmarks/bench_invoke.py [--invocations N] [--cold N]``; it prints the
results as JSON and as a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from windtunnel import Stack
from windtunnel.runtime.functions import Isolation

HANDLER = "def handler(event, context):\n    return None\n"
TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Noop:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, CodeUri: src/, Handler: bench_noop.handler}
"""
MODULE = "bench_noop"


def median_seconds(action: Callable[[], object], count: int) -> float:
    """Run ``action`` ``count`` times and return the median duration in seconds."""
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def write_application(root: Path) -> None:
    (root / "src").mkdir()
    (root / "src" / f"{MODULE}.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)


def measure_direct(root: Path, invocations: int) -> tuple[float, float]:
    """Return the median direct call and the median fresh import of the handler module."""
    sys.path.insert(0, str(root / "src"))
    try:
        def import_afresh() -> ModuleType:
            sys.modules.pop(MODULE, None)
            return importlib.import_module(MODULE)

        import_time = median_seconds(import_afresh, 50)
        handler = import_afresh().handler
        direct = median_seconds(lambda: handler({}, None), invocations)
    finally:
        sys.path.remove(str(root / "src"))
        sys.modules.pop(MODULE, None)
    return direct, import_time


def measure_mode(root: Path, isolation: Isolation, invocations: int,
                 cold: int) -> tuple[float, float]:
    """Return the median warm and cold invocation of the no-op function in one mode."""
    with Stack.local(root, stack_name=f"bench-{isolation}", isolation=isolation) as stack:
        function = stack.function_name("Noop")
        functions = stack.environment.functions

        def invoke() -> object:
            return stack.invoke(function, {}).raise_for_error()

        def invoke_cold() -> object:
            functions.discard(function)
            return invoke()

        # The first invocation also reads the function's configuration; leave it out.
        invoke()
        cold_time = median_seconds(invoke_cold, cold)
        invoke()
        warm_time = median_seconds(invoke, invocations)
    return warm_time, cold_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=2000,
                        help="warm invocations per mode (at least 500)")
    parser.add_argument("--cold", type=int, default=30,
                        help="fresh execution environments per mode (at least 20)")
    arguments = parser.parse_args()
    invocations = max(arguments.invocations, 500)
    cold = max(arguments.cold, 20)

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        write_application(root)
        direct, import_time = measure_direct(root, invocations)
        thread_warm, thread_cold = measure_mode(root, "thread", invocations, cold)
        process_warm, process_cold = measure_mode(root, "process", invocations, cold)

    results = {
        "invocations": invocations,
        "cold_environments": cold,
        "direct_call_us": direct * 1e6,
        "module_import_ms": import_time * 1000,
        "thread_warm_us": thread_warm * 1e6,
        "thread_warm_overhead_us": (thread_warm - direct) * 1e6,
        "thread_cold_ms": thread_cold * 1000,
        "thread_cold_without_import_ms": (thread_cold - import_time) * 1000,
        "process_warm_us": process_warm * 1e6,
        "process_warm_overhead_us": (process_warm - direct) * 1e6,
        "process_cold_ms": process_cold * 1000,
        "process_cold_without_import_ms": (process_cold - import_time) * 1000,
    }
    print(json.dumps(results, indent=2))
    print()
    print("| measurement | median | over the direct call | target |")
    print("|---|---|---|---|")
    print(f"| direct call of the handler | {direct * 1e6:.1f} µs | floor | - |")
    print(f"| warm invoke, thread | {thread_warm * 1e6:.0f} µs | "
          f"+{results['thread_warm_overhead_us']:.0f} µs | at most +100 µs |")
    print(f"| warm invoke, process | {process_warm * 1e6:.0f} µs | "
          f"+{results['process_warm_overhead_us']:.0f} µs | at most 2 ms |")
    print(f"| handler module import | {import_time * 1000:.3f} ms | - | - |")
    print(f"| cold start, thread, minus import | "
          f"{results['thread_cold_without_import_ms']:.2f} ms | - | at most 2 ms |")
    print(f"| cold start, process, minus import | "
          f"{results['process_cold_without_import_ms']:.1f} ms | - | - |")


if __name__ == "__main__":
    main()
