"""The ``windtunnel`` entry point: parse arguments, run a command, report user errors."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from windtunnel import __version__
from windtunnel.cli import ca, env, generate_event, iam, invoke, sfn, test, up, validate
from windtunnel.constants import ENV_DEBUG
from windtunnel.errors import WindtunnelError

__all__ = ["main"]

# Exit status for errors in the user's input, as argparse uses for usage errors.
EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every command."""
    parser = argparse.ArgumentParser(
        prog="windtunnel",
        description="Test AWS serverless applications locally, with the fidelity of AWS.")
    parser.add_argument("--version", action="version", version=f"windtunnel {__version__}")
    parser.add_argument("--debug", action="store_true",
                        default=os.environ.get(ENV_DEBUG, "") not in ("", "0"),
                        help="show tracebacks and debug logs")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    up.register(commands)
    validate.register(commands)
    invoke.register(commands)
    test.register(commands)
    generate_event.register(commands)
    iam.register(commands)
    sfn.register(commands)
    env.register(commands)
    ca.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" belongs to another program: the command that 'up'
    # runs, or the pytest arguments of 'test'.
    command: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, command = argv[:split], argv[split + 1:]
    arguments = parser.parse_args(argv)
    arguments.command = command
    logging.basicConfig(
        level=logging.DEBUG if arguments.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not arguments.debug:
        # moto and botocore log internals at INFO; keep the output to windtunnel's own lines.
        for name in ("botocore", "moto", "werkzeug", "urllib3"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return int(arguments.run(arguments))
    except WindtunnelError as error:
        if arguments.debug:
            traceback.print_exc()
        print(f"windtunnel: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if arguments.debug:
            traceback.print_exc()
        print(f"windtunnel: internal error: {type(error).__name__}: {error}. Run with "
              f"--debug for the traceback, and please report it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
