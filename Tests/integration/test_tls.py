"""`serve --tls-cert/--tls-key`: HTTPS with a self-signed certificate made here with the openssl CLI."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
import requests

from millwright_support import TIMEOUT, assert_stored, inventory_counted


def make_certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is not installed: it makes the test's self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=millwright-test",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


def test_https_with_flags(make_server, tmp_path):
    cert, key = make_certificate(tmp_path)
    server = make_server(start=False)
    server.extra_args = ["--tls-cert", str(cert), "--tls-key", str(key)]
    server.scheme = "https"
    server.verify = str(cert)
    server.start()

    health = requests.get(f"{server.url}/healthz", verify=str(cert), timeout=TIMEOUT)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    event = inventory_counted("tls-1")
    assert_stored(requests.post(f"{server.url}/v1/events", json=event, timeout=TIMEOUT, verify=str(cert),
                                headers={**server.auth(), "Content-Type": "application/cloudevents+json"}), 201)

    # The certificate is the one given, and plain HTTP on the TLS port gets nothing.
    served = ssl.get_server_certificate(("127.0.0.1", server.port))
    assert served.strip() == cert.read_text().strip()
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=TIMEOUT)
    # An unverified client is refused by its own TLS stack (self-signed, not in the system store).
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.url}/healthz", timeout=TIMEOUT)


def test_https_from_the_configuration_file(make_server, tmp_path):
    cert, key = make_certificate(tmp_path)
    config = tmp_path / "millwright.yaml"
    config.write_text(f"server:\n  tls:\n    cert: {cert}\n    key: {key}\n")
    server = make_server(start=False)
    server.extra_args = ["--config", str(config)]
    server.scheme = "https"
    server.verify = str(cert)
    server.start()
    assert requests.get(f"{server.url}/readyz", verify=str(cert), timeout=TIMEOUT).status_code == 200


def test_a_bad_key_stops_serve_with_exit_code_2(make_server, tmp_path):
    cert, _ = make_certificate(tmp_path)
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    server = make_server(start=False)
    server.extra_args = ["--tls-cert", str(cert), "--tls-key", str(bad_key)]
    server.start(wait=False)
    assert server.wait(timeout=30) == 2
    logs = server.logs()
    assert "cannot read the TLS private key" in logs and "not a key" not in logs


def test_a_key_of_another_certificate_stops_serve_before_it_opens_anything(make_server, tmp_path):
    cert, _ = make_certificate(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key = make_certificate(other)
    server = make_server(start=False)
    server.extra_args = ["--tls-cert", str(cert), "--tls-key", str(other_key)]
    server.start(wait=False)
    assert server.wait(timeout=30) == 2
    assert "cannot be used with the certificate" in server.logs()
    assert not (server.data_dir / "admin.token").exists()
