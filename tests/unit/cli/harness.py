"""Run one ``windtunnel`` command in a subprocess, as a user runs it.

The command is registered on its own, the way ``windtunnel.cli.main`` registers it, so a
test does not depend on the other commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["run_command"]

_HARNESS = """
import argparse
import importlib
import sys

from windtunnel.errors import WindtunnelError

module = importlib.import_module("windtunnel.cli." + sys.argv[1])
argv = sys.argv[2:]
command = []
if "--" in argv:
    split = argv.index("--")
    argv, command = argv[:split], argv[split + 1:]
parser = argparse.ArgumentParser(prog="windtunnel")
parser.add_argument("--debug", action="store_true")
module.register(parser.add_subparsers(required=True))
arguments = parser.parse_args(argv)
arguments.command = command
try:
    sys.exit(arguments.run(arguments))
except WindtunnelError as error:
    print(f"windtunnel: error: {error}", file=sys.stderr)
    sys.exit(2)
"""


def run_command(module: str, *arguments: str, cwd: Path,
                timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``windtunnel ARGUMENTS`` in ``cwd`` with only ``windtunnel.cli.<module>``'s
    commands registered; ``arguments`` start with the command (``"iam", "report"``)."""
    # The outer pytest's own settings must not reach a pytest that the command runs.
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-c", _HARNESS, module, *arguments],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=environment, check=False)
