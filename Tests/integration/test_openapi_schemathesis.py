"""schemathesis (PyPI) against /openapi.yaml and a live server: no 5xx, every response as documented."""

from __future__ import annotations

import shutil
import subprocess
import sys

import requests


def test_openapi_document_is_served_and_valid(server):
    yaml_doc = requests.get(f"{server.url}/openapi.yaml", timeout=10)
    assert yaml_doc.status_code == 200 and yaml_doc.headers["content-type"].startswith("application/yaml")
    doc = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    assert doc["openapi"] == "3.1.0"
    for path in ("/v1/events", "/v1/schemas/{type}", "/v1/tokens/{id}/rotate", "/v1/audit/verify"):
        assert path in doc["paths"]
    assert "mfg.production.completed.v1" in doc["components"]["schemas"]


def test_schemathesis_finds_nothing(server):
    exe = shutil.which("schemathesis") or shutil.which("st")
    command = [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]
    result = subprocess.run(
        command + [
            "run", f"{server.url}/openapi.yaml",
            "-H", f"Authorization: Bearer {server.token}",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                        "response_schema_conformance,response_headers_conformance",
            # The coverage phase trips a recursion bug inside hypothesis on Python 3.11; the others run.
            "--phases", "examples,fuzzing,stateful",
            "--max-examples", "40",
            "--workers", "2",
            "--seed", "20261126",
        ],
        capture_output=True, text=True, timeout=600,
    )
    tail = "\n".join(result.stdout.splitlines()[-40:])
    assert result.returncode == 0, tail + result.stderr[-2000:]
    assert " passed" in tail
