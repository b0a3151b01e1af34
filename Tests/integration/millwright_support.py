"""Shared helpers for the Millwright integration tests.

Everything here talks to a real `millwright` binary over HTTP on 127.0.0.1.
Only the Python standard library and `requests` are used.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
PROBLEM = "application/problem+json"

RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)

# Every request the tests make carries a timeout so that nothing can hang.
TIMEOUT = (3.0, 15.0)  # (connect, read) seconds


def binary_path() -> Path:
    """The server binary: $MILLWRIGHT_BIN, relative paths taken from the repo root."""
    raw = os.environ.get("MILLWRIGHT_BIN", ".build/debug/millwright")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def free_port() -> int:
    """Ask the kernel for a free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 200) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    parts = text.splitlines()
    if len(parts) > lines:
        parts = [f"... ({len(parts) - lines} earlier lines cut)"] + parts[-lines:]
    return "\n".join(parts) if parts else "<empty>"


class Server:
    """One `millwright serve` process at a time on a data directory.

    `start()` may be called again after `stop()` or `kill9()` to restart on the
    same data directory; each start picks a fresh free port and writes its own
    pair of log files into `log_dir`.
    """

    def __init__(self, data_dir: Path, log_dir: Path, token: str, binary: Optional[Path] = None):
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.token = token
        self.binary = Path(binary) if binary else binary_path()
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.starts = 0
        self.log_files: List[Path] = []
        self._handles: List[Any] = []
        # Set before start(): more `serve` arguments (e.g. --config), more environment, and for TLS the
        # scheme and the CA file that verifies the server's certificate.
        self.extra_args: List[str] = []
        self.extra_env: Dict[str, str] = {}
        self.scheme = "http"
        self.verify: Any = True

    # -- lifecycle -----------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.port is not None, "server was never started"
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, data_dir: Optional[Path] = None, wait: bool = True) -> "Server":
        assert not self.running, "server is already running"
        if not self.binary.exists():
            raise RuntimeError(
                f"millwright binary not found at {self.binary}; build it first "
                "(swift build) or set MILLWRIGHT_BIN"
            )
        if data_dir is not None:
            self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._close_handles()
        self.starts += 1
        self.port = free_port()
        out_path = self.log_dir / f"server-{self.starts}.stdout.log"
        err_path = self.log_dir / f"server-{self.starts}.stderr.log"
        self.log_files += [out_path, err_path]
        out = open(out_path, "wb")
        err = open(err_path, "wb")
        self._handles = [out, err]
        env = dict(os.environ)
        env["MILLWRIGHT_ADMIN_TOKEN"] = self.token
        env.setdefault("MILLWRIGHT_LOG_LEVEL", "warning")
        env.update(self.extra_env)
        cmd = [
            str(self.binary), "serve",
            "--data", str(self.data_dir),
            "--host", "127.0.0.1",
            "--port", str(self.port),
        ] + self.extra_args
        self.proc = subprocess.Popen(
            cmd,
            cwd=str(REPO_ROOT),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # our own process group: signals go to it alone
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise RuntimeError(
                    f"millwright exited with code {code} before it was ready\n{self.logs()}"
                )
            try:
                resp = requests.get(self.url + "/readyz", timeout=(1.0, 2.0), verify=self.verify)
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
            except requests.RequestException as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise RuntimeError(f"millwright not ready after {timeout}s ({last})\n{self.logs()}")

    def terminate(self) -> None:
        """Send SIGTERM and return at once."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_handles()
        return self.proc.returncode

    def kill9(self) -> None:
        """SIGKILL: no chance to flush or clean up."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_handles()

    def _close_handles(self) -> None:
        for handle in self._handles:
            try:
                handle.close()
            except OSError:
                pass
        self._handles = []

    def logs(self) -> str:
        chunks = []
        for path in self.log_files:
            chunks.append(f"----- {path.name} -----\n{_tail(path)}")
        return "\n".join(chunks) if chunks else "<no server logs>"

    # -- HTTP ----------------------------------------------------------------

    def auth(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def session(self) -> requests.Session:
        sess = requests.Session()
        sess.headers.update(self.auth())
        return sess

    def post_event(self, event: Dict[str, Any], session: Optional[requests.Session] = None,
                   timeout: Any = TIMEOUT) -> requests.Response:
        http = session or requests
        body = json.dumps(event).encode("utf-8")
        headers = {"Content-Type": STRUCTURED, **self.auth()}
        return http.post(self.url + "/v1/events", data=body, headers=headers, timeout=timeout)

    def post_batch(self, events: Iterable[Any]) -> requests.Response:
        body = json.dumps(list(events)).encode("utf-8")
        headers = {"Content-Type": BATCH, **self.auth()}
        return requests.post(self.url + "/v1/events", data=body, headers=headers, timeout=TIMEOUT)

    def get_events(self, **params: Any) -> requests.Response:
        params = {k: v for k, v in params.items() if v is not None}
        return requests.get(self.url + "/v1/events", params=params, headers=self.auth(),
                            timeout=TIMEOUT)

    def all_events(self, limit: int = 1000, max_pages: int = 10_000, **params: Any) -> List[Dict[str, Any]]:
        """Walk every page of GET /v1/events, following next_after until it is null."""
        items: List[Dict[str, Any]] = []
        after = None
        for _ in range(max_pages):
            resp = self.get_events(limit=limit, after=after, **params)
            assert resp.status_code == 200, f"GET /v1/events: {resp.status_code} {resp.text[:500]}"
            page = resp.json()
            assert isinstance(page.get("items"), list), page
            assert len(page["items"]) <= limit, f"page of {len(page['items'])} > limit {limit}"
            items.extend(page["items"])
            after = page.get("next_after")
            if after is None:
                return items
            if not page["items"]:
                # A non-null cursor with nothing behind it would loop forever.
                raise AssertionError(f"empty page but next_after={after!r}")
        raise AssertionError(f"more than {max_pages} pages; pagination does not terminate")


# -- events ----------------------------------------------------------------

def production_completed(event_id: str, *, source: str = "mes/plant-1",
                         order: str = "WH/MO/00042", product: str = "FURN_8522",
                         quantity: Any = 5, uom: str = "H87", final: bool = False,
                         sequence: str = "17") -> Dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "mfg.production.completed.v1",
        "subject": f"production-order/{order}",
        "time": "2026-11-22T10:15:00Z",
        "partitionkey": order,
        "sequence": sequence,
        "datacontenttype": "application/json",
        "data": {"order": order, "product": product, "quantity": quantity, "uom": uom,
                 "final": final},
    }


def inventory_counted(event_id: str, *, source: str = "wms/plant-1",
                      product: str = "FURN_7023", location: str = "WH/Stock",
                      quantity: Any = 12, uom: str = "H87") -> Dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "mfg.inventory.counted.v1",
        "time": "2026-11-22T10:15:00Z",
        "datacontenttype": "application/json",
        "data": {"product": product, "location": location, "quantity": quantity, "uom": uom},
    }


# -- assertions ------------------------------------------------------------

def content_type(resp: requests.Response) -> str:
    return resp.headers.get("Content-Type", "").split(";")[0].strip().lower()


def describe(resp: requests.Response) -> str:
    return f"HTTP {resp.status_code} {resp.headers.get('Content-Type')}: {resp.text[:1000]}"


def assert_problem(resp: requests.Response, status: int) -> Dict[str, Any]:
    """An RFC 9457 problem document with the given status."""
    assert resp.status_code == status, describe(resp)
    assert content_type(resp) == PROBLEM, describe(resp)
    problem = resp.json()
    check_problem_body(problem, status)
    return problem


def check_problem_body(problem: Any, status: Optional[int]) -> None:
    assert isinstance(problem, dict), problem
    for key in ("type", "title", "code"):
        assert isinstance(problem.get(key), str) and problem[key], f"problem lacks {key!r}: {problem}"
    if status is not None:
        assert problem.get("status") == status, f"problem status != {status}: {problem}"


def error_pointers(problem: Dict[str, Any]) -> List[str]:
    errors = problem.get("errors") or []
    assert isinstance(errors, list), problem
    return [e.get("pointer") for e in errors if isinstance(e, dict)]


def assert_stored(resp: requests.Response, status: int) -> Dict[str, Any]:
    """A 201/200 ingest answer: {"seq", "received_at", "event"}."""
    assert resp.status_code == status, describe(resp)
    body = resp.json()
    assert isinstance(body.get("seq"), int) and not isinstance(body["seq"], bool), body
    assert isinstance(body.get("received_at"), str) and RFC3339.match(body["received_at"]), body
    assert isinstance(body.get("event"), dict), body
    return body


# -- raw HTTP, for cases where the server may answer before reading the body

def raw_request(port: int, method: str, path: str, headers: Dict[str, str], body: bytes,
                timeout: float = 20.0) -> Tuple[int, Dict[str, str], bytes]:
    """Send a request over a plain socket, reading the answer while the body is still
    going out. A server may answer 413 and close without reading a large body; this
    keeps what it said instead of failing on a broken pipe.
    Returns (status, headers with lower-case names, body)."""
    deadline = time.monotonic() + timeout
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    for name, value in headers.items():
        head += f"{name}: {value}\r\n"
    out = memoryview(head.encode("latin-1") + b"\r\n" + body)
    received = bytearray()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setblocking(False)
        while time.monotonic() < deadline:
            want_write = [sock] if sent < len(out) and not received else []
            readable, writable, _ = select.select([sock], want_write, [], 0.5)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except (ConnectionResetError, BlockingIOError):
                    chunk = b""
                if not chunk:
                    break
                received += chunk
                parsed = _parse_response(bytes(received))
                if parsed is not None:
                    return parsed
            if writable:
                try:
                    sent += sock.send(out[sent:sent + 65536])
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    sent = len(out)  # stop writing; whatever answer there is, read it
    parsed = _parse_response(bytes(received), eof=True)
    if parsed is None:
        raise AssertionError(f"no complete HTTP response (sent {sent}/{len(out)} bytes, "
                             f"got {bytes(received[:500])!r})")
    return parsed


def _parse_response(data: bytes, eof: bool = False) -> Optional[Tuple[int, Dict[str, str], bytes]]:
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    rest = data[end + 4:]
    if status == 100:  # 100 Continue: the real answer follows
        return _parse_response(rest, eof)
    if "content-length" in headers:
        length = int(headers["content-length"])
        return (status, headers, rest[:length]) if len(rest) >= length else None
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        pos = 0
        while True:
            line_end = rest.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(rest[pos:line_end].split(b";")[0], 16)
            if size == 0:
                return status, headers, bytes(body)
            if len(rest) < line_end + 2 + size + 2:
                return None
            body += rest[line_end + 2:line_end + 2 + size]
            pos = line_end + 2 + size + 2
    return (status, headers, rest) if eof else None
