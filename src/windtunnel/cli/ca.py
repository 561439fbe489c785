"""``windtunnel ca``: locate the local certificate authority that the HTTPS endpoint uses."""

from __future__ import annotations

import argparse

from windtunnel.errors import WindtunnelError

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ca`` command."""
    parser = commands.add_parser(
        "ca", help="print the path of the CA bundle that trusts the HTTPS endpoint",
        description="Create the local certificate authority on first use, then print the "
                    "path of a PEM bundle with its certificate and the public root "
                    "certificates, for AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE or SSL_CERT_FILE. "
                    "The authority lives in $XDG_DATA_HOME/windtunnel/ca (default "
                    "~/.local/share/windtunnel/ca); its private key never leaves it.",
        epilog="Example: export AWS_CA_BUNDLE=$(windtunnel ca)")
    parser.add_argument("--print", dest="print_pem", action="store_true",
                        help="print the authority's certificate in PEM instead, to add it "
                             "to a trust store")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Create what is missing and print the bundle path or the certificate."""
    # Imported here, so that other commands do not pay for importing cryptography.
    from windtunnel.cloud.tls import CertificateAuthority

    authority = CertificateAuthority()
    try:
        authority.ensure()
    except OSError as error:
        raise WindtunnelError(
            f"cannot create the certificate authority in {authority.directory}: "
            f"{error.strerror or error}. Set XDG_DATA_HOME to a writable directory") from None
    if arguments.print_pem:
        print(authority.certificate_path.read_text(), end="")
    else:
        print(authority.bundle_path)
    return 0
