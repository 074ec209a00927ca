"""Generate the lake's TLS material and the issuer's token-signing key (only what is missing).

- ``DIR/tls/ca.pem``: a self-signed CA that clients trust (``REQUESTS_CA_BUNDLE``, ``ca_bundle``);
- ``DIR/tls/server.pem`` + ``server-key.pem``: the issuer's HTTPS certificate for 127.0.0.1/localhost;
- ``DIR/secrets/issuer-signing-key.pem``: the RSA key signing access tokens. It must persist
  across restarts, because the Rucio server caches the issuer's JWKS for hours.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(key: rsa.RSAPrivateKey, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(pem)


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def ensure(state_dir: Path) -> None:
    tls = state_dir / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_cert_path, ca_key_path = tls / "ca.pem", tls / "ca-key.pem"
    server_cert_path, server_key_path = tls / "server.pem", tls / "server-key.pem"
    signing_key_path = state_dir / "secrets" / "issuer-signing-key.pem"

    if not signing_key_path.exists():
        _write_key(_new_key(), signing_key_path)

    renew_server = False
    if not (ca_cert_path.exists() and ca_key_path.exists()):
        ca_key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "escape-dlaas local lake CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(ca_key, ca_key_path)
        ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        renew_server = True

    if renew_server or not (server_cert_path.exists() and server_key_path.exists()):
        ca_key = _load_key(ca_key_path)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        server_key = _new_key()
        server_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_cert.subject)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(server_key, server_key_path)
        server_cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))


if __name__ == "__main__":
    ensure(Path(sys.argv[1]))
