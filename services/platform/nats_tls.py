"""Development certificates for NATS TLS: a certificate authority of its own, and one certificate that
every node uses on its client port and on the routes between nodes (mutual TLS: a node accepts a route
only from a peer whose certificate this authority signed, so the routes are authenticated).

    python -m services.platform.nats_tls DIR [--host NAME ...]

writes DIR/ca.pem (what clients trust: POLKU_NATS_TLS_CA), DIR/node.pem and DIR/node-key.pem (the
nodes': POLKU_NATS_TLS_CERT, POLKU_NATS_TLS_KEY). docker-compose.yml runs it once into a volume
(service `nats-tls`); nothing of it is committed. For a laptop or a test cluster only: in production
the certificates come from the organisation's own authority, under the same three variables.
"""
import argparse
import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The compose nodes, their network alias, and a cluster on one host.
DEFAULT_HOSTS = ("nats", "nats-1", "nats-2", "nats-3", "localhost", "127.0.0.1")
VALID_DAYS = 365


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Polku development"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def write_certificates(directory: Path, hosts: tuple[str, ...] = DEFAULT_HOSTS) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Polku NATS development CA")).issuer_name(
        _name("Polku NATS development CA")).public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=VALID_DAYS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    node_key = ec.generate_private_key(ec.SECP256R1())
    node = (x509.CertificateBuilder().subject_name(_name("Polku NATS node")).issuer_name(ca.subject)
            .public_key(node_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(_subject_names(hosts)), critical=False)
            # A node is the server of its client port and of the routes it accepts, and the client of
            # the routes it makes.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = {"ca": directory / "ca.pem", "cert": directory / "node.pem", "key": directory / "node-key.pem"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(node.public_bytes(serialization.Encoding.PEM))
    key = node_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    descriptor = os.open(files["key"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", action="append", default=None,
                        help=f"a name or address the nodes are reached by (repeat; default {', '.join(DEFAULT_HOSTS)})")
    parser.add_argument("--keep", action="store_true", help="do nothing when DIR already holds certificates")
    args = parser.parse_args()
    if args.keep and (args.directory / "node.pem").exists():
        print(f"{args.directory}: certificates kept")
        return
    files = write_certificates(args.directory, tuple(args.host or DEFAULT_HOSTS))
    print(" ".join(f"{name}={path}" for name, path in files.items()))


if __name__ == "__main__":
    main()
