"""The deployment package on identity-based storage, end to end: no account key anywhere
in the host's settings, only `AzureWebJobsStorage__blobServiceUri`/`__queueServiceUri`/
`__tableServiceUri` with `__credential=managedidentity` and `__clientId`, as infra/ sets
them in Azure. devhost's store, its queue and timer triggers and the app's blob
activities all sign in with tokens.

Offline, both ends of a sign-in are stand-ins that run the real protocol: Azurite with
`--oauth basic` over HTTPS (it checks a bearer token's issuer, audience and lifetime,
not its signature: Azurite README, "OAuth Configuration"), and a loopback server in the
place of App Service's managed identity endpoint (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER`,
which azure-identity's ManagedIdentityCredential calls in Azure Functions), handing out
unsigned tokens of the shape Entra ID issues.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from azure.storage.blob import BlobServiceClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteProcess, free_port
from scripts.package import build, unzip
from tests.support.processes import ROOT, DevhostProcess, call

CLIENT_ID = "5f1c0b8e-0000-4000-8000-00000000c11d"  # the user-assigned identity's client id
IDENTITY_HEADER = uuid.uuid4().hex


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: Azurite's HTTPS, which bearer tokens need."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert, private = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, private


def _unsigned_token(audience: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"aud": audience, "iss": "https://sts.windows.net/72f988bf-0000-4000-8000-000000000000/",
              "iat": now - 60, "nbf": now - 60, "exp": now + 3600, "appid": CLIENT_ID}  # fmt: skip
    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


class _IdentityEndpoint(BaseHTTPRequestHandler):
    """App Service's token endpoint, version 2019-08-01: a GET with the resource and the
    client id in the query and the secret header; the token's JSON back."""

    asked: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:  # noqa: N802 (the handler's name)
        query = parse_qs(urlparse(self.path).query)
        if self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
            self._reply(400, {"statusCode": 400, "message": "The X-IDENTITY-HEADER is not valid."})
            return
        self.asked.append(query)
        resource = query["resource"][0]
        self._reply(200, {
            "access_token": _unsigned_token(resource), "expires_on": str(int(time.time()) + 3600),
            "resource": resource, "token_type": "Bearer", "client_id": query.get("client_id", [""])[0],
        })  # fmt: skip

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def identity_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _IdentityEndpoint)
    thread = threading.Thread(target=server.serve_forever, name="identity-endpoint", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/msi/token"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AzuriteProcess, Path]]:
    folder = tmp_path_factory.mktemp("azurite-oauth")
    cert, key = _certificate(folder)
    options = ("--oauth", "basic", "--cert", str(cert), "--key", str(key))
    with AzuriteProcess.on_free_ports(folder / "data", options) as azurite:
        yield azurite, cert


def _identity_environ(azurite: AzuriteProcess, cert: Path, identity_endpoint: str) -> dict[str, str]:
    """The host's environment with the identity-based connection and no other."""
    blob, queue, table = (f"https://127.0.0.1:{port}/{ACCOUNT_NAME}" for port in azurite.ports)
    environ = {key: value for key, value in os.environ.items() if not key.lower().startswith("azurewebjobsstorage")}
    environ.update({
        "AzureWebJobsStorage__blobServiceUri": blob,
        "AzureWebJobsStorage__queueServiceUri": queue,
        "AzureWebJobsStorage__tableServiceUri": table,
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": CLIENT_ID,
        "IDENTITY_ENDPOINT": identity_endpoint,
        "IDENTITY_HEADER": IDENTITY_HEADER,
        "SSL_CERT_FILE": str(cert),  # trusted by the host's aiohttp and its token requests
        "NIGHTLY_SUMMARY_SCHEDULE": "0 0 2 * * *",
        "NIGHTLY_SUMMARY_CONTAINER": "docs",
    })  # fmt: skip
    return environ


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deployment package, unzipped: no local.settings.json, nothing but the app."""
    folder = tmp_path_factory.mktemp("identity-app")
    build(ROOT, folder / "functionapp.zip")
    return unzip(folder / "functionapp.zip", folder / "wwwroot")


def test_the_package_runs_on_identity_based_storage(
    oauth_azurite: tuple[AzuriteProcess, Path], identity_endpoint: str, app_dir: Path
) -> None:
    azurite, cert = oauth_azurite
    environ = _identity_environ(azurite, cert, identity_endpoint)
    blob = environ["AzureWebJobsStorage__blobServiceUri"]
    port = free_port()
    order_id = f"I-{uuid.uuid4().hex[:8]}"
    order = {
        "order_id": order_id,
        "customer": {"id": "c-1", "email": "ada@example.com"},
        "items": [{"sku": "BOOK-001", "quantity": 2, "unit_price": 12.5}],
        "payment": {"card": "4242424242424242", "simulate": "approve"},
    }
    hub = f"Identity{uuid.uuid4().hex[:8]}"
    with DevhostProcess(
        "--app-dir", str(app_dir), "--storage", "azurite", "--hub", hub, "--port", str(port), environ=environ
    ) as host:  # fmt: skip
        host.started()
        status, started = call("POST", f"http://127.0.0.1:{port}/api/orchestrators/process_order", order)
        assert status == 202, started
        host.read_until(f"{started['id']}: Function 'process_order (Orchestrator)' completed.")
        _, outcome = call("GET", started["statusQueryGetUri"])
    assert (outcome["runtimeStatus"], outcome["output"]["status"]) == ("Completed", "completed"), outcome
    # The app's reserve_stock wrote its blob through its own token-signed client.
    shared_key = (
        f"DefaultEndpointsProtocol=https;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};BlobEndpoint={blob};"
    )
    with BlobServiceClient.from_connection_string(shared_key, connection_verify=str(cert)) as service:
        reservation = service.get_blob_client("orders", f"reservations/{order_id}.json").download_blob().readall()
    assert json.loads(reservation)["order_id"] == order_id
    # Every sign-in asked for storage's audience as the user-assigned identity.
    assert {(q["resource"][0], q.get("client_id", [""])[0]) for q in _IdentityEndpoint.asked} == {
        ("https://storage.azure.com", CLIENT_ID)
    }


def test_an_identity_that_cannot_sign_in_stops_the_start_saying_why(
    oauth_azurite: tuple[AzuriteProcess, Path], identity_endpoint: str, app_dir: Path
) -> None:
    azurite, cert = oauth_azurite
    environ = {**_identity_environ(azurite, cert, identity_endpoint), "IDENTITY_HEADER": "not-the-secret"}
    with DevhostProcess("--app-dir", str(app_dir), "--storage", "azurite", "--port", "0", environ=environ) as host:
        code, console = host.finished()
    assert code == 1
    last = console.splitlines()[-1]
    assert last.startswith("error: No sign-in to Azure Storage (connection 'AzureWebJobsStorage'): "), console
    assert "The X-IDENTITY-HEADER is not valid." in last
