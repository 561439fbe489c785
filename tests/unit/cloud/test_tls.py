"""The local certificate authority: files, certificate contents, names and renewal.

Certificate profile: RFC 5280 (https://www.rfc-editor.org/rfc/rfc5280), sections 4.2.1.3
(keyUsage), 4.2.1.6 (subjectAltName), 4.2.1.9 (basicConstraints) and 4.2.1.12
(extKeyUsage). Hostname matching: RFC 6125, section 6.4.3, as Python's ``ssl`` module
applies it (https://docs.python.org/3/library/ssl.html#ssl.SSLContext.check_hostname).
Variable names: AWS_CA_BUNDLE
(https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html),
REQUESTS_CA_BUNDLE (https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification),
SSL_CERT_FILE (https://docs.openssl.org/3.0/man3/SSL_CTX_load_verify_locations/) and
NODE_EXTRA_CA_CERTS (https://nodejs.org/api/cli.html#node_extra_ca_certsfile).
"""

from __future__ import annotations

import datetime
import re
import ssl
import stat
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from windtunnel.cloud.tls import CertificateAuthority, default_directory, server_names


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CertificateAuthority:
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)
    return CertificateAuthority(tmp_path / "ca").ensure()


def handshake(authority: CertificateAuthority, hostname: str,
              client: ssl.SSLContext | None = None) -> None:
    """Run a TLS handshake in memory between the endpoint's context and a client."""
    server_side = authority.server_context()
    client_side = client or authority.client_context()
    client_in, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_object = client_side.wrap_bio(client_in, client_out, server_hostname=hostname)
    server_object = server_side.wrap_bio(server_in, server_out, server_side=True)
    client_done = server_done = False
    for _ in range(10):
        for name, endpoint in (("client", client_object), ("server", server_object)):
            if (client_done if name == "client" else server_done):
                continue
            try:
                endpoint.do_handshake()
            except ssl.SSLWantReadError:
                pass
            else:
                if name == "client":
                    client_done = True
                else:
                    server_done = True
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if client_done and server_done:
            return
    raise AssertionError("the handshake did not complete")


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_private_keys_are_owner_only(authority: CertificateAuthority) -> None:
    """Both private keys have mode 0600 and their directory mode 0700."""
    assert stat.S_IMODE(authority.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(authority.server_key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(authority.directory.stat().st_mode) == 0o700


def test_default_directory_follows_xdg(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The authority lives under $XDG_DATA_HOME, else under ~/.local/share."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_directory() == tmp_path / "windtunnel" / "ca"

    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_directory() == tmp_path / "home" / ".local" / "share" / "windtunnel" / "ca"


def test_authority_certificate_profile(authority: CertificateAuthority) -> None:
    """The authority's certificate is a critical CA that signs certificates only."""
    certificate = load_certificate(authority.certificate_path)
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)

    assert constraints.critical
    assert constraints.value.ca
    assert usage.critical
    assert usage.value.key_cert_sign
    assert certificate.subject == certificate.issuer
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc > \
        datetime.timedelta(days=365 * 5)


def test_server_certificate_profile(authority: CertificateAuthority) -> None:
    """The server certificate is no CA, serves TLS servers and names its issuer's key."""
    chain = authority.server_certificate_path.read_bytes()
    certificate = x509.load_pem_x509_certificate(chain)
    issuer = load_certificate(authority.certificate_path)
    extensions = certificate.extensions

    assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert x509.ExtendedKeyUsageOID.SERVER_AUTH in \
        extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier \
        == issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    certificate.verify_directly_issued_by(issuer)
    # The chain file ends with the authority, so clients that lack it see whom to trust.
    assert chain.endswith(authority.certificate_path.read_bytes())


@pytest.mark.parametrize("hostname", [
    "localhost",
    "127.0.0.1",
    "::1",
    "a1b2c3d4e5.execute-api.localhost",
    "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
    "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
    "abcdefghijklmnopqrstuvwxyz.appsync-api.ap-southeast-2.amazonaws.com",
    "abcdefghijklmnopqrstuvwxyz0123.lambda-url.us-west-2.on.aws",
    "sqs.us-east-1.amazonaws.com",
    "cognito-idp.eu-central-1.amazonaws.com",
    "s3.amazonaws.com",
    "sts.amazonaws.com",
    "my-bucket.s3.us-east-1.amazonaws.com",
    "dynamodb.cn-north-1.amazonaws.com.cn",
])
def test_server_certificate_verifies_for(authority: CertificateAuthority,
                                         hostname: str) -> None:
    """A client that trusts the bundle accepts the certificate for each served name."""
    handshake(authority, hostname)


@pytest.mark.parametrize("hostname", ["example.com", "a.b.execute-api.us-east-1.amazonaws.com",
                                      "127.0.0.2"])
def test_server_certificate_rejected_for_other_names(authority: CertificateAuthority,
                                                     hostname: str) -> None:
    """Names the emulation does not serve fail hostname verification."""
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(authority, hostname)


def test_client_without_authority_rejects(authority: CertificateAuthority) -> None:
    """A client with the public roots only does not trust the endpoint."""
    public_only = ssl.create_default_context(cafile=certifi.where())

    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate"):
        handshake(authority, "localhost", public_only)


def pem_blocks(text: str) -> list[str]:
    # Compared as text: certifi contains a root with a negative serial number, which
    # cryptography parses only with a deprecation warning.
    return re.findall(r"-----BEGIN CERTIFICATE-----\n.+?\n-----END CERTIFICATE-----", text,
                      re.DOTALL)


def test_bundle_holds_authority_and_public_roots(authority: CertificateAuthority) -> None:
    """The bundle starts with the authority and keeps every certifi root."""
    bundle = pem_blocks(authority.bundle_path.read_text())
    own = authority.certificate_path.read_text().strip()
    public = pem_blocks(Path(certifi.where()).read_text())

    assert bundle[0] == own
    assert bundle[1:] == public
    assert len(public) > 100


def test_bundle_keeps_host_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Roots named by the host's SSL_CERT_FILE stay trusted through the bundle."""
    corporate = CertificateAuthority(tmp_path / "corporate").ensure()
    monkeypatch.setenv("SSL_CERT_FILE", str(corporate.certificate_path))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)

    local = CertificateAuthority(tmp_path / "local").ensure()
    bundle = local.bundle_path.read_text()

    assert corporate.certificate_path.read_text().strip() in bundle
    assert local.certificate_path.read_text().strip() in bundle
    # The bundle still verifies the other authority's server.
    handshake(corporate, "localhost", local.client_context())


def test_ensure_reuses_valid_files(authority: CertificateAuthority) -> None:
    """A second ensure keeps the authority and the server certificate."""
    authority_before = authority.certificate_path.read_bytes()
    server_before = authority.server_certificate_path.read_bytes()

    CertificateAuthority(authority.directory).ensure()

    assert authority.certificate_path.read_bytes() == authority_before
    assert authority.server_certificate_path.read_bytes() == server_before


def test_expiring_server_certificate_is_reissued(authority: CertificateAuthority) -> None:
    """A server certificate with ten days left is replaced by one valid for months."""
    issuer = load_certificate(authority.certificate_path)
    issuer_key = serialization.load_pem_private_key(authority.key_path.read_bytes(), None)
    assert isinstance(issuer_key, ec.EllipticCurvePrivateKey)
    current = load_certificate(authority.server_certificate_path)
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(current.subject).issuer_name(issuer.subject)
               .public_key(current.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=300))
               .not_valid_after(now + datetime.timedelta(days=10)))
    for extension in current.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    expiring = builder.sign(issuer_key, hashes.SHA256())
    authority.server_certificate_path.write_bytes(
        expiring.public_bytes(serialization.Encoding.PEM))

    authority.ensure()
    renewed = load_certificate(authority.server_certificate_path)

    assert renewed.serial_number != expiring.serial_number
    assert renewed.not_valid_after_utc - now > datetime.timedelta(days=300)
    handshake(authority, "localhost")


def test_new_authority_reissues_server_certificate(authority: CertificateAuthority) -> None:
    """A server certificate from a replaced authority is issued again by the new one."""
    authority.certificate_path.unlink()

    authority.ensure()
    issuer = load_certificate(authority.certificate_path)
    server = load_certificate(authority.server_certificate_path)

    server.verify_directly_issued_by(issuer)
    handshake(authority, "localhost")


def test_server_names_are_unique_and_single_wildcard() -> None:
    """Each DNS name appears once, with at most a leftmost wildcard label."""
    dns_names, addresses = server_names()

    assert len(dns_names) == len(set(dns_names))
    assert all("*" not in name.removeprefix("*.") for name in dns_names)
    assert addresses == ("127.0.0.1", "::1")


def test_trust_variables_name_the_bundle(authority: CertificateAuthority) -> None:
    """botocore, requests and OpenSSL get the bundle; Node.js gets the authority alone."""
    variables = authority.trust_variables()

    assert variables["AWS_CA_BUNDLE"] == str(authority.bundle_path)
    assert variables["REQUESTS_CA_BUNDLE"] == str(authority.bundle_path)
    assert variables["SSL_CERT_FILE"] == str(authority.bundle_path)
    assert variables["NODE_EXTRA_CA_CERTS"] == str(authority.certificate_path)


def test_server_key_mismatch_is_reissued(authority: CertificateAuthority) -> None:
    """A server key that does not match its certificate leads to a new pair."""
    other_key = ec.generate_private_key(ec.SECP256R1())
    authority.server_key_path.write_bytes(other_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))

    authority.ensure()
    certificate = load_certificate(authority.server_certificate_path)

    assert certificate.public_key() != other_key.public_key()
    handshake(authority, "localhost")
