"""``windtunnel up``: load applications and serve them on a local endpoint."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from windtunnel.cli.common import (
    add_load_options,
    default_port,
    load_stacks,
    port_number,
    print_stack,
)
from windtunnel.clock import WallClockFollower
from windtunnel.cloud.server import EndpointServer, check_port_free
from windtunnel.constants import DEFAULT_HOST
from windtunnel.deploy.model import DeployedStack
from windtunnel.errors import WindtunnelError
from windtunnel.stack.environment import Environment

if TYPE_CHECKING:
    from windtunnel.cloud.tls import CertificateAuthority

__all__ = ["register"]

# The HTTPS port when --https is given without --https-port: the one after the HTTP default.
DEFAULT_HTTPS_PORT = 4567


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``up`` command."""
    parser = commands.add_parser(
        "up", help="load applications and serve them on a local endpoint",
        usage="windtunnel up [options] [PATH ...] [-- COMMAND ...]",
        description="Load each application into the embedded cloud and serve it on "
                    "127.0.0.1 until Ctrl-C. Point any AWS SDK at it with AWS_ENDPOINT_URL.",
        epilog="With '-- COMMAND', run COMMAND against the endpoint, then stop and exit with "
               "its status. COMMAND gets AWS_ENDPOINT_URL, AWS_REGION, AWS_SAM_STACK_NAME "
               "(when one stack is loaded) and test credentials unless they are set.")
    add_load_options(parser)
    parser.add_argument("--port", type=port_number, default=None,
                        help="the port to listen on (default: $WINDTUNNEL_PORT or 4566; "
                             "0 picks a free one)")
    parser.add_argument("--https-port", type=port_number, default=None,
                        help="also serve HTTPS on this port, with a certificate from the "
                             "local certificate authority (see 'windtunnel ca'); 0 picks a "
                             f"free one (default: no HTTPS, or {DEFAULT_HTTPS_PORT} with "
                             "--https)")
    parser.add_argument("--https", action="store_true",
                        help="serve HTTPS and give https:// URLs of it in outputs, to "
                             "handlers and to COMMAND, which trust the local certificate "
                             "authority through AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE, "
                             "SSL_CERT_FILE and NODE_EXTRA_CA_CERTS")
    parser.add_argument("--no-app", action="store_true",
                        help="serve an empty cloud without loading an application, for "
                             "clients that create their resources themselves")
    parser.add_argument("--sfn-mock-config", metavar="FILE", type=Path, default=None,
                        help="a Step Functions Local mock configuration file (default: "
                             "$SFN_MOCK_CONFIG); executions of 'ARN#TestCase' use its mocks")
    parser.add_argument("--time-scale", metavar="FACTOR", type=_time_scale, default=1.0,
                        help="how many seconds of emulated time pass per real second "
                             "(default: 1); 60 makes a one-minute Wait state last a second")
    parser.set_defaults(run=run)


def _time_scale(text: str) -> float:
    try:
        scale = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < scale <= 1_000_000:
        raise argparse.ArgumentTypeError(f"the time scale must be above 0 and at most "
                                         f"1000000, not {text}")
    return scale


def run(arguments: argparse.Namespace) -> int:
    """Load, serve until interrupted, and stop cleanly."""
    port = arguments.port if arguments.port is not None else default_port()
    https_port = arguments.https_port
    if https_port is None and arguments.https:
        https_port = DEFAULT_HTTPS_PORT
    # Check the ports first, so a busy port fails before anything is loaded.
    _check_port(port, "--port")
    if https_port is not None:
        _check_port(https_port, "--https-port")
    environment = Environment(region=arguments.region, strict=arguments.strict,
                              iam=arguments.iam or "enforce",
                              sfn_mock_config=arguments.sfn_mock_config)
    started = time.perf_counter()
    if arguments.no_app:
        if arguments.paths:
            raise WindtunnelError("--no-app serves an empty cloud: give no PATH with it")
        stacks = []
    else:
        stacks = load_stacks(environment, arguments)
    elapsed = time.perf_counter() - started
    try:
        server = EndpointServer(environment.cloud, port=port)
    except OSError as error:
        raise _port_error(port, "--port", error) from None
    https_server = None
    trust: dict[str, str] = {}
    if https_port is not None:
        try:
            https_server, authority = _https_server(environment, https_port)
        except WindtunnelError:
            server.stop()
            raise
        trust = authority.trust_variables()
    # Outputs were rendered for the default endpoint; render them for the one served.
    endpoint_url = https_server.url if https_server and arguments.https else server.url
    environment.set_endpoint_url(endpoint_url)

    print(f"windtunnel: serving on {server.url} (region {environment.cloud.region})")
    if https_server is not None:
        print(f"windtunnel: serving HTTPS on {https_server.url}")
    print(f"  export AWS_ENDPOINT_URL={endpoint_url}  (any credentials work, e.g. test/test)")
    if trust:
        print(f"  export AWS_CA_BUNDLE={trust['AWS_CA_BUNDLE']}  (trusts the HTTPS endpoint)")
    for stack in stacks:
        print_stack(stack, elapsed=elapsed / max(len(stacks), 1))
    # The server runs in real time: delays, retries and schedules fall due on the wall clock.
    follower = WallClockFollower(environment.clock, scale=arguments.time_scale).start()
    environment.stepfunctions.time_scale = arguments.time_scale
    try:
        if https_server is not None:
            https_server.start()
        return _serve(server, environment, stacks, arguments, trust=trust)
    finally:
        if https_server is not None:
            https_server.stop()
        follower.stop()

def _https_server(environment: Environment,
                  port: int) -> tuple[EndpointServer, CertificateAuthority]:
    """Create the HTTPS listener with a certificate from the user's local authority."""
    # Imported here, so that runs without HTTPS do not pay for importing cryptography.
    from windtunnel.cloud.tls import CertificateAuthority

    authority = CertificateAuthority()
    try:
        authority.ensure()
    except OSError as error:
        raise WindtunnelError(
            f"cannot create the certificate authority in {authority.directory}: "
            f"{error.strerror or error}. Set XDG_DATA_HOME to a writable directory") from None
    try:
        server = EndpointServer(environment.cloud, port=port,
                                ssl_context=authority.server_context())
    except OSError as error:
        raise _port_error(port, "--https-port", error) from None
    return server, authority


def _serve(server: EndpointServer, environment: Environment, stacks: list[DeployedStack],
           arguments: argparse.Namespace, *, trust: dict[str, str]) -> int:
    command = getattr(arguments, "command", [])
    if command:
        if not getattr(arguments, "debug", False):
            # One line per request would mix with the command's own output.
            logging.getLogger("windtunnel.cloud.server").setLevel(logging.WARNING)
        return _run_command(server, environment, stacks, command, trust=trust)

    def stop_on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        # Set both explicitly, before saying how to stop: a process started in the
        # background inherits an ignored SIGINT.
        signal.signal(signal.SIGINT, stop_on_signal)
        signal.signal(signal.SIGTERM, stop_on_signal)
        print("Press Ctrl-C to stop.", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # serve_forever closed the socket if it ran; stop() covers an earlier interrupt.
        server.stop()
    print("windtunnel: stopped", flush=True)
    return 0


def _run_command(server: EndpointServer, environment: Environment,
                 stacks: list[DeployedStack], command: list[str], *,
                 trust: dict[str, str]) -> int:
    """Serve in the background while ``command`` runs; return its exit status.

    ``trust`` contains the variables that make the command trust the HTTPS endpoint, if any.
    """
    environ = dict(os.environ)
    environ["AWS_ENDPOINT_URL"] = environment.cloud.endpoint_url
    environ.update(trust)
    environ["AWS_REGION"] = environment.cloud.region
    environ["AWS_DEFAULT_REGION"] = environment.cloud.region
    environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    # StartSyncExecution and TestState would otherwise go to "sync-127.0.0.1", which no
    # resolver knows: botocore puts the operation's host prefix before the endpoint host.
    environ.setdefault("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    if len(stacks) == 1:
        environ["AWS_SAM_STACK_NAME"] = stacks[0].name
    print(f"windtunnel: running {shlex.join(command)}", flush=True)
    server.start()
    try:
        completed = subprocess.run(command, env=environ, check=False)
    except FileNotFoundError:
        raise WindtunnelError(f"command not found: {command[0]}") from None
    finally:
        server.stop()
    return completed.returncode


def _check_port(port: int, option: str) -> None:
    try:
        check_port_free(DEFAULT_HOST, port)
    except OSError as error:
        raise _port_error(port, option, error) from None


def _port_error(port: int, option: str, error: OSError) -> WindtunnelError:
    return WindtunnelError(
        f"cannot listen on {DEFAULT_HOST}:{port}: {error.strerror}. Pass {option} with a "
        f"free port (or 0 for any)")
