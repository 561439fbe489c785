"""A certificate authority on the developer's machine and the certificate of the HTTPS endpoint.

The authority is created once per user, under ``$XDG_DATA_HOME/windtunnel/ca`` (by default
``~/.local/share/windtunnel/ca``), and issues one server certificate for the names that the
emulation serves: ``localhost``, ``127.0.0.1``, ``::1`` and AWS hostnames such as
``{api id}.execute-api.{region}.amazonaws.com``. Certificate contents follow RFC 5280
(https://www.rfc-editor.org/rfc/rfc5280): the authority's certificate has critical
basicConstraints and keyUsage, and the server certificate has subjectAltName, key
identifiers and the serverAuth extended key usage, as Python's ``ssl`` module requires
with ``VERIFY_X509_STRICT`` (https://docs.python.org/3/library/ssl.html#ssl.VERIFY_X509_STRICT).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import ipaddress
import logging
import os
import re
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertificateAuthority", "default_directory", "server_names"]

logger = logging.getLogger(__name__)

_CA_VALIDITY = datetime.timedelta(days=3650)
_SERVER_VALIDITY = datetime.timedelta(days=365)
# A certificate is replaced once less than this remains of its validity, so that a
# running server never presents an expired one on the next start.
_RENEW_BEFORE = datetime.timedelta(days=30)
# Allows for clocks that run behind the one that issued the certificate.
_BACKDATE = datetime.timedelta(hours=1)
_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL)
# Variables of the host that name certificate files its TLS clients trust; their
# certificates are added to the bundle, so that handlers keep trusting them.
_HOST_BUNDLE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE")


def default_directory() -> Path:
    """Return the directory of the user's authority, following the XDG base directories."""
    data_home = os.environ.get("XDG_DATA_HOME")
    base = Path(data_home) if data_home else Path.home() / ".local" / "share"
    return base / "windtunnel" / "ca"


@functools.cache
def server_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the DNS names and IP addresses that the server certificate covers.

    A wildcard matches one label only (RFC 6125, section 6.4.3), so each AWS hostname
    pattern is listed per region, for every region in botocore's endpoint data.
    """
    from botocore.loaders import create_loader

    dns_names = ["localhost", "*.localhost", "*.execute-api.localhost",
                 "*.appsync-api.localhost", "*.lambda-url.localhost"]
    endpoints = create_loader().load_data("endpoints")
    for partition in endpoints["partitions"]:
        suffix = partition["dnsSuffix"]
        # Global endpoints (sts.amazonaws.com, s3.amazonaws.com) and path-style buckets.
        dns_names += [f"*.{suffix}", f"*.s3.{suffix}"]
        for region in sorted(partition["regions"]):
            dns_names += [
                f"*.{region}.{suffix}",
                f"*.execute-api.{region}.{suffix}",
                f"*.appsync-api.{region}.{suffix}",
                f"*.s3.{region}.{suffix}",
            ]
            if partition["partition"] == "aws":
                # Function URLs: https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
                dns_names.append(f"*.lambda-url.{region}.on.aws")
    unique = tuple(dict.fromkeys(dns_names))
    return unique, ("127.0.0.1", "::1")


class CertificateAuthority:
    """The user's local certificate authority and the server certificate it issued.

    :meth:`ensure` creates what is missing and renews what is about to expire. The other
    methods expect it to have run. The private keys are files of mode 0600 in a
    directory of mode 0700 that only this user can read.
    """

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()

    @property
    def certificate_path(self) -> Path:
        """The authority's certificate (PEM), alone: what ``NODE_EXTRA_CA_CERTS`` names."""
        return self.directory / "ca.pem"

    @property
    def key_path(self) -> Path:
        """The authority's private key (PEM, mode 0600)."""
        return self.directory / "ca-key.pem"

    @property
    def bundle_path(self) -> Path:
        """The authority's certificate followed by the public roots that clients trust."""
        return self.directory / "bundle.pem"

    @property
    def server_certificate_path(self) -> Path:
        """The endpoint's certificate followed by the authority's (PEM)."""
        return self.directory / "server.pem"

    @property
    def server_key_path(self) -> Path:
        """The endpoint's private key (PEM, mode 0600)."""
        return self.directory / "server-key.pem"

    def ensure(self) -> CertificateAuthority:
        """Create the authority, server certificate and bundle when missing or expiring.

        Processes that start at once take turns through a lock file, so that they end
        with one authority. Return self.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        # The directory contains private keys, so only its owner may list or enter it.
        os.chmod(self.directory, 0o700)
        with _locked(self.directory / ".lock"):
            now = datetime.datetime.now(datetime.UTC)
            authority = self._load_authority(now)
            if authority is None:
                authority = self._create_authority(now)
            certificate, key = authority
            if not self._server_certificate_valid(certificate, now):
                self._issue_server_certificate(certificate, key, now)
            self._write_bundle()
        return self

    def server_context(self) -> ssl.SSLContext:
        """Return a TLS server context that presents the server certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_certificate_path, self.server_key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a TLS client context that trusts the authority and the public roots."""
        return ssl.create_default_context(cafile=str(self.bundle_path))

    def trust_variables(self) -> dict[str, str]:
        """Return the environment variables that make TLS clients trust the authority.

        botocore reads ``AWS_CA_BUNDLE``, requests ``REQUESTS_CA_BUNDLE``, OpenSSL (so
        Python's ``ssl`` and httpx) ``SSL_CERT_FILE``, and Node.js adds
        ``NODE_EXTRA_CA_CERTS`` to its own roots.
        """
        bundle = str(self.bundle_path)
        return {
            "AWS_CA_BUNDLE": bundle,
            "REQUESTS_CA_BUNDLE": bundle,
            "SSL_CERT_FILE": bundle,
            "NODE_EXTRA_CA_CERTS": str(self.certificate_path),
        }

    def _load_authority(self, now: datetime.datetime
                        ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
        try:
            certificate = x509.load_pem_x509_certificate(self.certificate_path.read_bytes())
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
        except FileNotFoundError:
            return None
        except ValueError as error:
            logger.warning("replacing the unreadable certificate authority in %s: %s",
                           self.directory, error)
            return None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            logger.warning("replacing the certificate authority in %s: its key is not an "
                           "elliptic curve key", self.directory)
            return None
        if certificate.public_key() != key.public_key():
            # A process stopped between writing the key and the certificate.
            logger.warning("replacing the certificate authority in %s: its certificate "
                           "does not match its key", self.directory)
            return None
        if certificate.not_valid_after_utc - now < _RENEW_BEFORE:
            logger.info("renewing the certificate authority in %s, which expires on %s",
                        self.directory, certificate.not_valid_after_utc.date())
            return None
        return certificate, key

    def _create_authority(self, now: datetime.datetime
                          ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        name = _authority_name()
        public_key = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _CA_VALIDITY)
            # RFC 5280, 4.2.1.9: a CA certificate marks basicConstraints critical. Path
            # length 0 lets it sign server certificates but no intermediate authorities.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(self.key_path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        _write_atomically(self.certificate_path,
                          certificate.public_bytes(serialization.Encoding.PEM))
        logger.info("created a certificate authority in %s", self.directory)
        return certificate, key

    def _server_certificate_valid(self, authority: x509.Certificate,
                                  now: datetime.datetime) -> bool:
        """Tell whether the stored server certificate is usable for another month.

        It must be issued by the current authority and cover today's list of names.
        """
        try:
            certificates = _PEM_CERTIFICATE.findall(self.server_certificate_path.read_bytes())
            if not certificates:
                return False
            certificate = x509.load_pem_x509_certificate(certificates[0])
            key = serialization.load_pem_private_key(self.server_key_path.read_bytes(), None)
        except (FileNotFoundError, ValueError):
            return False
        if certificate.public_key() != key.public_key():
            return False
        if certificate.issuer != authority.subject:
            return False
        try:
            certificate.verify_directly_issued_by(authority)
        except (ValueError, TypeError, InvalidSignature):
            return False
        if certificate.not_valid_after_utc - now < _RENEW_BEFORE:
            return False
        dns_names, addresses = server_names()
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        covered = (tuple(names.value.get_values_for_type(x509.DNSName)),
                   tuple(str(address) for address
                         in names.value.get_values_for_type(x509.IPAddress)))
        return covered == (dns_names, addresses)

    def _issue_server_certificate(self, authority: x509.Certificate,
                                  authority_key: ec.EllipticCurvePrivateKey,
                                  now: datetime.datetime) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        dns_names, addresses = server_names()
        alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        alternative_names += [x509.IPAddress(ipaddress.ip_address(address))
                              for address in addresses]
        authority_key_identifier = authority.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(authority.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(min(now + _SERVER_VALIDITY, authority.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(key_cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            # RFC 5280, 4.2.1.6: with no name in the subject that identifies the server,
            # clients match the subjectAltName entries.
            .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                authority_key_identifier), critical=False)
            .sign(authority_key, hashes.SHA256())
        )
        _write_private(self.server_key_path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        chain = (certificate.public_bytes(serialization.Encoding.PEM)
                 + authority.public_bytes(serialization.Encoding.PEM))
        _write_atomically(self.server_certificate_path, chain)
        logger.info("issued the endpoint's certificate in %s, valid until %s",
                    self.directory, certificate.not_valid_after_utc.date())

    def _write_bundle(self) -> None:
        """Write the authority's certificate and every root the host trusts, once each."""
        sources = [self.certificate_path, _public_roots()]
        for variable in _HOST_BUNDLE_VARIABLES:
            value = os.environ.get(variable)
            if value and Path(value).is_file() and Path(value) != self.bundle_path:
                sources.append(Path(value))
        certificates: dict[bytes, None] = {}
        for source in sources:
            for certificate in _PEM_CERTIFICATE.findall(source.read_bytes()):
                certificates[certificate.replace(b"\r\n", b"\n")] = None
        content = b"\n".join(certificates) + b"\n"
        try:
            if self.bundle_path.read_bytes() == content:
                return
        except FileNotFoundError:
            pass
        _write_atomically(self.bundle_path, content)


def _authority_name() -> x509.Name:
    # The host name distinguishes the authorities of several machines in one trust store.
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "windtunnel"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"windtunnel local CA ({socket.gethostname()})"),
    ])


def _key_usage(*, key_cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign, encipher_only=False, decipher_only=False)


def _public_roots() -> Path:
    """Return certifi's bundle of public roots, or the system's where certifi is missing."""
    try:
        import certifi
    except ImportError:
        system = ssl.get_default_verify_paths().cafile
        if system is None:
            raise FileNotFoundError("no bundle of public root certificates: install "
                                    "certifi") from None
        return Path(system)
    return Path(certifi.where())


def _write_private(path: Path, content: bytes) -> None:
    """Write a private key so that no other user can read it, at any moment."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        # mkstemp creates the file with mode 0600 already; chmod states it.
        os.chmod(temporary, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _write_atomically(path: Path, content: bytes) -> None:
    """Replace ``path`` in one step, so that readers see the old or the new content."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".pem-")
    try:
        os.chmod(temporary, 0o644)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:
        # NOTE: without fcntl (Windows), two processes that create the authority at once
        # may each write one, and the server certificate of the first no longer verifies.
        yield
        return
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
